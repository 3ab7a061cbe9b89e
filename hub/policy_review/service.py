"""The privacy officer's use cases: versions, matrix, simulation, diff, load and approval,
and how every replica follows the active version.

Four eyes (ADR 0103): a loaded version stays inactive until two different privacy officers
approved it. A person is a (partner, user) pair; the two may belong to the same partner (two
officers of one municipality are two persons), but the person who uploaded a version cannot
approve it (the action catalogue's promise for `approve_policy`), and a version whose own
`_test.rego` suite fails can be neither approved nor activated. The second valid approval
activates the version in the same transaction: there is no separate activation step that
could be forgotten or done by one person alone.

Why every request checks the active version (`follow_active`): replicas are stateless and
share one database; an activation on one replica must hold on all of them at once, or two
participants of one case could get briefings under two policies. The check is one indexed
read outside the request's unit of work; only when it differs is the bundle read and a new
engine built and swapped in.

Long computations (a diff asks ~100,000 decisions per version) run *after* the unit of work
that authorised and logged them has committed, so they never hold the database's write lock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, AccessLog, Actor, Event, RequestInfo
from hub.audit.models import LogEntry
from hub.cases.models import Case
from hub.db.base import utcnow
from hub.db.session import Database
from hub.errors import Forbidden, NotFound, Refusal, ValidationFailed
from hub.facts.catalog import FactTypeCatalog, UnknownFactType
from hub.facts.models import Fact
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.policy_review import diff as diffing
from hub.policy_review.matrix import build_matrix, to_json
from hub.policy_review.models import ACTIVE, INACTIVE, RETIRED, PolicyApproval, PolicyVersion
from hub.policy_review.schemas import (
    ApprovalOut,
    ApprovalResult,
    ChangeOut,
    DiffOut,
    MatrixOut,
    PersonOut,
    PolicyFileOut,
    PolicyVersionList,
    PolicyVersionOut,
    SimulatedFactOut,
    SimulatedViewerOut,
    SimulationIn,
    SimulationOut,
    TestSummaryOut,
    TypeChangeOut,
)
from hub.policy_review.simulate import (
    DescribedViewer,
    FactMeta,
    FactSpec,
    SimulatedFact,
    Simulation,
    decide,
    never_shared_of,
    simulate_synthetic,
)
from hub.policy_review.store import (
    ActiveVersionProbe,
    BundleRefused,
    BundleTooLarge,
    PolicyVersionRepository,
    file_manifest,
    files_of_bundle,
    pack_files,
    read_bundle_bytes,
    unpacked,
)
from hub.policy_review.versions import (
    Candidate,
    ReviewedVersion,
    ReviewedVersions,
    engine_for_stored_version,
    files_from_stored_bundle,
    prepare_candidate,
    suite_outcome,
)
from hub.rego.bundle import load_bundle
from hub.rego.decisions import FactDecision, Verdict
from hub.rego.engine import PolicyEngine
from hub.rego.errors import PolicyError
from hub.vocabulary import DisclosureClass, Purpose, Role

if TYPE_CHECKING:
    from hub.context import HubContext
    from hub.settings import Settings

log = get_logger("hub.policy_review")

#: Distinct privacy officers whose approval activates a version (four eyes).
APPROVALS_NEEDED: Final = 2
CLI_REQUEST: Final = RequestInfo(source="cli", purpose=Purpose.POLICY_REVIEW)
INIT_REQUEST: Final = RequestInfo(source="init", purpose=Purpose.POLICY_REVIEW)
#: How long a request waits for another request's active-version check before going on.
PROBE_WAIT_S: Final = 1.0


class PolicyVersionNotFound(NotFound):
    slug = "policy-version-not-found"
    title = "Policy version not found"
    default_detail = "No loaded policy version has this hash (or this prefix is ambiguous)."


class ApprovalRefused(Refusal):
    """The version cannot be approved in its current state; the refusal is logged."""

    status = 409
    slug = "approval-refused"
    title = "Approval refused"
    default_detail = "This policy version cannot be approved."


class FourEyesRefused(Forbidden):
    slug = "four-eyes"
    title = "Four-eyes principle"
    default_detail = "You loaded this policy version; two other privacy officers must approve it."


class VersionAlreadyLoaded(Refusal):
    status = 409
    slug = "policy-version-exists"
    title = "Policy version already loaded"
    default_detail = "This policy version is already loaded; approve it instead."


class ShippedPolicyFails(RuntimeError):
    """`vhhub init` will not make a policy whose own tests fail the active one."""


class InvalidSimulation(ValidationFailed):
    slug = "invalid-simulation"
    title = "Invalid simulation"


class FailingEngine:
    """Stands in, failing closed, when the active version cannot be served by this replica.

    Serving the previous version instead would break the promise that every replica decides
    under the one active version; failing makes every decision a logged `policy.error`.
    """

    def __init__(self, version: str, *, failed_at: float) -> None:
        self._version = version
        self.failed_at = failed_at

    @property
    def version(self) -> str:
        return self._version

    def decide_batch(self, input: Any, *, deduplicate: bool = True) -> dict[str, FactDecision]:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def allow_publish(self, input: Any) -> Verdict:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def allow_action(self, input: Any) -> Verdict:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class StoredBundle:
    version: str
    bundle: bytes


# --- outside a request: init, CLI, start-up -----------------------------------------------


def open_active_engine(settings: Settings, db: Database) -> PolicyEngine:
    """The engine for the version active in the database; the policy directory if none is.

    The fallback serves a database that `vhhub init` has not seen since policy versions were
    introduced; `vhhub init` registers the directory, and `follow_active` then switches.
    """
    from hub.rego.engine import load_engine

    with db.transaction() as session:
        row = PolicyVersionRepository(session).get_active()
        stored = StoredBundle(row.version, row.bundle) if row and row.bundle else None
    if stored is None:
        log.warning("no_active_policy_version", fallback="policy_dir")
        return load_engine(
            settings.policy_engine,
            settings.policy_dir,
            opa_url=settings.opa_url,
            timeout_s=settings.policy_timeout_s,
        )
    return engine_for_stored_version(
        stored.version,
        stored.bundle,
        kind=settings.policy_engine,
        opa_url=settings.opa_url,
        timeout_s=settings.policy_timeout_s,
    )


def register_shipped_policy(
    settings: Settings, db: Database, access_log: AccessLog
) -> tuple[bool, str]:
    """`vhhub init`: make the shipped policy directory the active version if none is.

    Returns whether a version was registered, and the line for init's report. Raises
    ShippedPolicyFails when the directory's own tests fail: init does not start a hub on a
    policy that fails its tests.
    """
    bundle = load_bundle(settings.policy_dir)
    with db.transaction() as session:
        active = PolicyVersionRepository(session).get_active()
        if active is not None:
            if active.version == bundle.version:
                return False, f"policy version {active.version[:12]} (active)"
            return False, (
                f"policy version {active.version[:12]} (active); the policy directory is "
                f"{bundle.version[:12]}: propose it with `vhhub policy load`"
            )
    candidate = prepare_candidate(files_of_bundle(bundle))
    if not candidate.tests.passed:
        raise ShippedPolicyFails(
            f"the policy directory's own tests fail ({len(candidate.tests.failed)} of "
            f"{candidate.tests.total}); run `vhhub policy test`"
        )
    try:
        with db.transaction() as session:
            repo = PolicyVersionRepository(session)
            if repo.get_active(for_update=True) is not None:
                return False, "the active policy version (registered meanwhile)"
            # On a new hub (an empty log) the first version is part of creating the hub, like
            # its keys and registry; in a hub already in use, registering it is an act.
            in_use = session.scalar(select(LogEntry.seq).limit(1)) is not None
            row = repo.get(candidate.version, for_update=True)
            if row is None:
                row = _new_row(candidate, origin="shipped", loader=ANONYMOUS)
                repo.add(row)
            else:
                repo.clear_approvals(row.version)
            row.status, row.activated_at, row.retired_at = ACTIVE, utcnow(), None
            session.flush()
            if in_use:
                for action, reason in (
                    (
                        Action.POLICY_LOAD,
                        f"shipped policy loaded by vhhub init; {_tests_text(candidate)}",
                    ),
                    (
                        Action.POLICY_ACTIVATE,
                        "no version was active: vhhub init activated the shipped policy",
                    ),
                ):
                    _log(
                        access_log,
                        session,
                        ANONYMOUS,
                        INIT_REQUEST,
                        action,
                        object_ids=[candidate.version],
                        reason=reason,
                        policy_version=candidate.version,
                    )
    except IntegrityError:
        # another process ran init at the same moment and registered it first
        return False, "the active policy version (registered by another process meanwhile)"
    return True, f"policy version {candidate.version[:12]} (shipped, active)"


def _tests_text(candidate: Candidate) -> str:
    tests = candidate.tests
    return f"policy tests {tests.total - len(tests.failed)}/{tests.total} passed"


def _new_row(candidate: Candidate, *, origin: str, loader: Actor) -> PolicyVersion:
    return PolicyVersion(
        version=candidate.version,
        files=file_manifest(candidate.files),
        bundle=pack_files(candidate.files),
        status=INACTIVE,
        tests_passed=candidate.tests.passed,
        test_summary=candidate.tests.summary(),
        origin=origin,
        loaded_by_partner=loader.partner,
        loaded_by_user=loader.user,
        loaded_at=utcnow(),
    )


def _log(
    access_log: AccessLog,
    session: Session,
    actor: Actor,
    request: RequestInfo,
    action: Action,
    *,
    reason: str,
    policy_version: str | None,
    outcome: Outcome = Outcome.ALLOWED,
    object_ids: Sequence[str] = (),
    case_id: str | None = None,
    pseudonyms: Sequence[str] = (),
) -> None:
    access_log.append(
        session,
        Event(
            action=action,
            outcome=outcome,
            case_id=case_id,
            object_ids=list(object_ids),
            subject_pseudonyms=list(pseudonyms),
            reason=reason if len(reason) <= 200 else reason[:197] + "...",
            policy_version=policy_version,
        ),
        actor=actor,
        request=request,
    )


# --- the service --------------------------------------------------------------------------


class PolicyReviewService:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.reviewed = ReviewedVersions()
        #: 0: check on every request (one indexed read); raise to check less often
        self.follow_interval_s = 0.0
        #: how long a replica that failed to load the active version waits to retry
        self.retry_failed_s = 5.0
        self._checked_at = float("-inf")
        self._follow_lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._probe: ActiveVersionProbe | None = None

    # -- helpers ------------------------------------------------------------------------------

    def _authorize(self, session: Session, viewer: Viewer, action: str) -> str:
        return self.ctx.gate.authorize(session, viewer, action).policy_version

    def _log(self, session: Session, viewer: Viewer, action: Action, **kw: Any) -> None:
        _log(self.ctx.log, session, viewer.actor, viewer.request, action, **kw)

    def _resolve(
        self,
        session: Session,
        viewer: Viewer,
        ref: str,
        action: Action,
        version: str,
        *,
        for_update: bool = False,
    ) -> PolicyVersion:
        row = PolicyVersionRepository(session).resolve(ref, for_update=for_update)
        if row is None:
            self._log(
                session,
                viewer,
                action,
                outcome=Outcome.DENIED,
                reason="no loaded policy version matches the reference",
                policy_version=version,
            )
            raise PolicyVersionNotFound()
        return row

    def _reviewed(self, stored: StoredBundle) -> ReviewedVersion:
        try:
            return self.reviewed.from_bundle_bytes(stored.version, stored.bundle)
        except PolicyError as exc:
            log.error("stored_policy_unusable", version=stored.version[:12], reason=exc.reason)
            raise

    def _out(self, row: PolicyVersion, approvals: Sequence[PolicyApproval]) -> PolicyVersionOut:
        loaded_by = (
            PersonOut(partner=row.loaded_by_partner, user=row.loaded_by_user)
            if row.loaded_by_partner and row.loaded_by_user
            else None
        )
        return PolicyVersionOut(
            version=row.version,
            status=row.status,
            active=row.status == ACTIVE,
            origin=row.origin,
            files=[PolicyFileOut.model_validate(f) for f in row.files],
            loaded_at=row.loaded_at,
            loaded_by=loaded_by,
            approvals=[
                ApprovalOut(
                    partner=a.approver_partner, user=a.approver_user, approved_at=a.approved_at
                )
                for a in approvals
            ],
            approvals_needed=APPROVALS_NEEDED,
            tests_passed=row.tests_passed,
            tests=TestSummaryOut.model_validate(row.test_summary) if row.test_summary else None,
            activated_at=row.activated_at,
            retired_at=row.retired_at,
        )

    def _never_class_fields(self) -> dict[str, list[str]]:
        return {
            t.id: [n for n, spec in t.fields.items() if spec.disclosure is DisclosureClass.NEVER]
            for t in self.ctx.catalog.types()
        }

    # -- reading ------------------------------------------------------------------------------

    def list_versions(self, viewer: Viewer) -> PolicyVersionList:
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            repo = PolicyVersionRepository(session)
            rows = repo.list_newest_first()
            approvals = repo.approvals_by_version()
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                reason=f"listed {len(rows)} policy versions",
                policy_version=version,
            )
            active = next((r.version for r in rows if r.status == ACTIVE), None)
            return PolicyVersionList(
                active=active,
                versions=[self._out(r, approvals.get(r.version, [])) for r in rows],
            )

    def get_version(self, viewer: Viewer, ref: str) -> PolicyVersionOut:
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            row = self._resolve(session, viewer, ref, Action.POLICY_READ, version)
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                object_ids=[row.version],
                reason="read a policy version",
                policy_version=version,
            )
            return self._out(row, PolicyVersionRepository(session).approvals_of(row.version))

    def _read_bundle(self, viewer: Viewer, ref: str, reason: str) -> StoredBundle:
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            row = self._resolve(session, viewer, ref, Action.POLICY_READ, version)
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                object_ids=[row.version],
                reason=reason,
                policy_version=version,
            )
            return StoredBundle(row.version, row.bundle or b"")

    def matrix(self, viewer: Viewer, ref: str) -> MatrixOut:
        stored = self._read_bundle(viewer, ref, "read the disclosure matrix")
        view = build_matrix(self._reviewed(stored), never_class_fields=self._never_class_fields())
        return MatrixOut.model_validate(to_json(view))

    def bundle(self, viewer: Viewer, ref: str) -> tuple[str, bytes]:
        stored = self._read_bundle(viewer, ref, "downloaded the policy bundle")
        return stored.version, stored.bundle

    def diff(
        self,
        viewer: Viewer,
        old_ref: str,
        new_ref: str,
        *,
        table: str | None = None,
        exhaustive: bool = False,
    ) -> DiffOut:
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            old = self._resolve(session, viewer, old_ref, Action.POLICY_READ, version)
            new = self._resolve(session, viewer, new_ref, Action.POLICY_READ, version)
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                object_ids=[old.version, new.version],
                reason="diff of two policy versions over the decision grid",
                policy_version=version,
            )
            stored = (
                StoredBundle(old.version, old.bundle or b""),
                StoredBundle(new.version, new.bundle or b""),
            )
        result = diffing.diff_versions(
            self._reviewed(stored[0]),
            self._reviewed(stored[1]),
            self.ctx.catalog,
            table=table,
            exhaustive=exhaustive,
        )
        return diff_out(result, table=table)

    # -- simulation ---------------------------------------------------------------------------

    def simulate(self, viewer: Viewer, body: SimulationIn) -> SimulationOut:
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "simulate_policy")
            described = self._described_viewer(body)
            specs = self._specs(body) if body.case_id is None else []
            row = self._resolve(
                session, viewer, body.version or ACTIVE, Action.POLICY_SIMULATE, version
            )
            stored = StoredBundle(row.version, row.bundle or b"")
            case_part: _CaseSnapshot | None = None
            if body.case_id is not None:
                case_part = self._case_snapshot(session, viewer, body.case_id, version)
            reason = f"simulated {described.partner_kind} as {'/'.join(described.roles)}" + (
                " on a real case: decisions and field names only" if case_part else ""
            )
            self._log(
                session,
                viewer,
                Action.POLICY_SIMULATE,
                case_id=case_part.case_id if case_part else None,
                object_ids=[row.version, *(case_part.facts if case_part else {})],
                pseudonyms=case_part.pseudonyms if case_part else (),
                reason=reason,
                policy_version=row.version,
            )
        reviewed = self._reviewed(stored)
        simulation: Simulation | None = None
        try:
            if case_part is None:
                simulation = self._simulate_synthetic(reviewed, described, body, specs)
            else:
                simulation = self._simulate_case(reviewed, described, body, case_part)
        except PolicyError as exc:
            log.error("simulation_failed", reason=exc.reason[:200])
        if simulation is None:  # raised here, not in the except: see versions.prepare_candidate
            raise InvalidSimulation(
                "The policy version could not decide this simulation (it fails closed)."
            )
        return simulation_out(simulation)

    def _described_viewer(self, body: SimulationIn) -> DescribedViewer:
        given = body.viewer
        kind = given.partner_kind.value if given.partner_kind else None
        if given.partner is not None:
            partner = self.ctx.registry.partners.get(given.partner)
            if partner is None:
                raise InvalidSimulation("The viewer's partner is not in the network registry.")
            if kind is not None and kind != partner.kind.value:
                raise InvalidSimulation("The viewer's partner is of another kind than given.")
            kind = partner.kind.value
        assert kind is not None  # the schema demands a kind or a partner
        roles = tuple(sorted({r.value for r in given.roles}))
        return DescribedViewer(
            partner_kind=kind,
            roles=roles,
            partner=given.partner or "simulated-viewer",
            user=given.user or "simulated-user",
            invited=True if given.invited is None else given.invited,
        )

    def _specs(self, body: SimulationIn) -> list[FactSpec]:
        catalog: FactTypeCatalog = self.ctx.catalog
        specs = [
            FactSpec(
                type=t,
                publisher_kind=body.publisher_kind.value if body.publisher_kind else None,
                shareable=body.shareable,
            )
            for t in body.fact_types
        ]
        specs += [
            FactSpec(
                type=f.type,
                domain=f.domain,
                publisher_kind=f.publisher_kind.value if f.publisher_kind else None,
                shareable=f.shareable,
                published_by_viewer=f.published_by_viewer,
            )
            for f in body.facts
        ]
        if not specs:
            specs = [
                FactSpec(
                    type=t.id,
                    publisher_kind=body.publisher_kind.value if body.publisher_kind else None,
                    shareable=body.shareable,
                )
                for t in catalog.types()
            ]
        for spec in specs:
            if spec.type not in catalog:
                raise UnknownFactType(spec.type)
        return specs

    def _simulate_synthetic(
        self,
        reviewed: ReviewedVersion,
        described: DescribedViewer,
        body: SimulationIn,
        specs: list[FactSpec],
    ) -> Simulation:
        assert body.table is not None and body.phase is not None  # the schema demands them
        purpose = body.purpose.value if body.purpose else phase_purpose(body.phase.value)
        return simulate_synthetic(
            reviewed,
            self.ctx.catalog,
            viewer=described,
            table=body.table.value,
            phase=body.phase.value,
            purpose=purpose,
            specs=specs,
        )

    def _case_snapshot(
        self, session: Session, viewer: Viewer, case_id: str, version: str
    ) -> _CaseSnapshot:
        """The case's policy metadata and its current facts' metadata: clear columns only."""
        if viewer.purpose is not Purpose.POLICY_REVIEW:
            self._log(
                session,
                viewer,
                Action.POLICY_SIMULATE,
                outcome=Outcome.DENIED,
                reason="a simulation on a real case needs the purpose policy_review",
                policy_version=version,
            )
            raise Forbidden("A simulation on a real case needs the purpose policy_review.")
        case: Case = self.ctx.cases.load(session, viewer, case_id)
        columns = (
            Fact.id,
            Fact.fact_type,
            Fact.life_domain,
            Fact.sensitivity,
            Fact.publisher_partner,
            Fact.publisher_kind,
            Fact.shareable,
        )
        rows = session.execute(
            select(*columns)
            .where(Fact.case_id == case.id, Fact.status == "current")
            .order_by(Fact.published_at, Fact.id)
        ).all()
        facts: dict[str, tuple[str, str, str, str, str, bool]] = {
            r.id: (
                r.fact_type,
                r.life_domain,
                r.sensitivity,
                r.publisher_partner,
                r.publisher_kind,
                r.shareable,
            )
            for r in rows
        }
        return _CaseSnapshot(
            case_id=case.id,
            policy_case=self.ctx.cases.policy_case(session, case),
            facts=facts,
            pseudonyms=self.ctx.cases.case_pseudonyms(session, case.id),
        )

    def _simulate_case(
        self,
        reviewed: ReviewedVersion,
        described: DescribedViewer,
        body: SimulationIn,
        snapshot: _CaseSnapshot,
    ) -> Simulation:
        case = dict(snapshot.policy_case)
        if body.phase is not None:
            case["phase"] = body.phase.value
        real_partner = body.viewer.partner is not None
        if not real_partner:
            case = _place_simulated_viewer(case, described)
        invited = described.partner in case.get("participants", {})
        described = DescribedViewer(
            described.partner_kind, described.roles, described.partner, described.user, invited
        )
        facts: dict[str, FactMeta] = {}
        for fact_id, (
            type_id,
            domain,
            sensitivity,
            publisher,
            kind,
            shareable,
        ) in snapshot.facts.items():
            try:
                fact_type = self.ctx.catalog.get(type_id)
            except UnknownFactType:
                continue
            facts[fact_id] = FactMeta(
                type=type_id,
                title=fact_type.title,
                domain=domain,
                sensitivity=sensitivity,
                publisher=publisher,
                publisher_kind=kind,
                shareable=shareable,
                published_by_viewer=publisher == described.partner,
                fields=fact_type.disclosure_classes(),
                never_shared=never_shared_of(reviewed, type_id),
            )
        phase = str(case.get("phase"))
        purpose = body.purpose.value if body.purpose else phase_purpose(phase)
        answers = decide(
            reviewed, viewer=described.policy_input(), purpose=purpose, case=case, facts=facts
        )
        return Simulation(
            version=reviewed.version,
            viewer=described,
            table=str(case.get("table")),
            phase=phase,
            purpose=purpose,
            case_id=snapshot.case_id,
            facts=tuple(SimulatedFact(i, facts[i], answers[i]) for i in facts),
        )

    # -- loading and approving ----------------------------------------------------------------

    def load_upload(self, viewer: Viewer, data: bytes) -> PolicyVersionOut:
        """A privacy officer's upload (tar.gz): checked, tested, stored inactive, logged."""
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "load_policy")
        try:
            candidate = prepare_candidate(read_bundle_bytes(data))
        except (BundleRefused, BundleTooLarge) as exc:
            with self.ctx.unit_of_work() as session:
                self._log(
                    session,
                    viewer,
                    Action.POLICY_LOAD,
                    outcome=Outcome.DENIED,
                    reason=f"bundle refused: {exc.detail}",
                    policy_version=version,
                )
            raise
        return self._store(
            candidate, origin="upload", actor=viewer.actor, request=viewer.request, version=version
        )

    def load_directory(self, policy_dir: Path) -> PolicyVersionOut:
        """`vhhub policy load DIR`: the operator's load, logged without a person."""
        try:
            bundle = load_bundle(policy_dir)
        except PolicyError as exc:
            raise BundleRefused(f"The policy directory does not load: {exc.reason}") from None
        candidate = prepare_candidate(files_of_bundle(bundle))
        return self._store(
            candidate,
            origin="cli",
            actor=ANONYMOUS,
            request=CLI_REQUEST,
            version=self.ctx.gate.version,
        )

    def _store(
        self,
        candidate: Candidate,
        *,
        origin: str,
        actor: Actor,
        request: RequestInfo,
        version: str,
    ) -> PolicyVersionOut:
        with self.ctx.unit_of_work() as session:
            repo = PolicyVersionRepository(session)
            row = repo.get(candidate.version, for_update=True)
            if row is not None and row.status != RETIRED:
                _log(
                    self.ctx.log,
                    session,
                    actor,
                    request,
                    Action.POLICY_LOAD,
                    outcome=Outcome.DENIED,
                    object_ids=[candidate.version],
                    reason=f"already loaded ({row.status})",
                    policy_version=version,
                )
                raise VersionAlreadyLoaded(extra={"version": candidate.version})
            if row is None:
                row = _new_row(candidate, origin=origin, loader=actor)
                try:
                    with session.begin_nested():
                        repo.add(row)
                except IntegrityError:
                    raise VersionAlreadyLoaded(extra={"version": candidate.version}) from None
                again = ""
            else:
                # a retired version loaded again starts a new round of approvals
                repo.clear_approvals(row.version)
                row.status, row.origin, row.retired_at = INACTIVE, origin, None
                row.loaded_by_partner, row.loaded_by_user = actor.partner, actor.user
                row.loaded_at = utcnow()
                row.tests_passed, row.test_summary = (
                    candidate.tests.passed,
                    candidate.tests.summary(),
                )
                again = "retired version loaded again; "
            _log(
                self.ctx.log,
                session,
                actor,
                request,
                Action.POLICY_LOAD,
                object_ids=[candidate.version],
                reason=f"{again}{_tests_text(candidate)}; inactive until {APPROVALS_NEEDED} "
                "privacy officers approve",
                policy_version=version,
            )
            session.flush()
            return self._out(row, [])

    def approve(self, viewer: Viewer, ref: str) -> ApprovalResult:
        with self.ctx.unit_of_work() as session:
            version = self._authorize(session, viewer, "approve_policy")
            row = self._resolve(
                session, viewer, ref, Action.POLICY_APPROVE, version, for_update=True
            )
            repo = PolicyVersionRepository(session)

            def refuse(error: Refusal, reason: str) -> NoReturn:
                self._log(
                    session,
                    viewer,
                    Action.POLICY_APPROVE,
                    outcome=Outcome.DENIED,
                    object_ids=[row.version],
                    reason=reason,
                    policy_version=version,
                )
                raise error

            if row.status == ACTIVE:
                refuse(ApprovalRefused("This policy version is already active."), "already active")
            if row.status == RETIRED:
                refuse(
                    ApprovalRefused(
                        "This policy version was retired; load it again to start a new round "
                        "of approvals."
                    ),
                    "retired",
                )
            if row.tests_passed is not True:
                refuse(
                    ApprovalRefused(
                        "This policy version fails its own tests (_test.rego); it can be "
                        "neither approved nor activated.",
                        extra={"failed_tests": (row.test_summary or {}).get("failed", [])},
                    ),
                    "refused: the version's policy tests fail",
                )
            if (row.loaded_by_partner, row.loaded_by_user) == (viewer.partner, viewer.user):
                refuse(FourEyesRefused(), "refused: the approver loaded this version")
            approvals = repo.approvals_of(row.version)
            mine = any(
                (a.approver_partner, a.approver_user) == (viewer.partner, viewer.user)
                for a in approvals
            )
            if mine:
                self._log(
                    session,
                    viewer,
                    Action.POLICY_APPROVE,
                    object_ids=[row.version],
                    reason="repeat approval by the same person: counts once",
                    policy_version=version,
                )
                return ApprovalResult(
                    approval_recorded=False, activated=False, policy=self._out(row, approvals)
                )
            repo.add_approval(
                PolicyApproval(
                    version=row.version,
                    approver_partner=viewer.partner,
                    approver_user=viewer.user,
                    approved_at=utcnow(),
                )
            )
            approvals = repo.approvals_of(row.version)
            persons = {(a.approver_partner, a.approver_user) for a in approvals}
            self._log(
                session,
                viewer,
                Action.POLICY_APPROVE,
                object_ids=[row.version],
                reason=f"approval {len(persons)} of {APPROVALS_NEEDED}",
                policy_version=version,
            )
            activated = False
            if len(persons) >= APPROVALS_NEEDED:
                self._activate(session, viewer, row, persons)
                activated = True
            out = ApprovalResult(
                approval_recorded=True, activated=activated, policy=self._out(row, approvals)
            )
        if activated:
            self.follow_active(force=True)
        return out

    def _activate(
        self,
        session: Session,
        viewer: Viewer,
        row: PolicyVersion,
        persons: set[tuple[str, str]],
    ) -> None:
        """Make `row` the active version, in the approving unit of work; the suite runs again
        on the stored bytes first (the row's `tests_passed` could have been edited)."""
        try:
            files = files_from_stored_bundle(row.version, row.bundle or b"")
            with unpacked(files) as root:
                outcome = suite_outcome(root, row.version)
        except PolicyError:
            outcome = None
        if outcome is None or not outcome.passed:
            self._log(
                session,
                viewer,
                Action.POLICY_ACTIVATE,
                outcome=Outcome.DENIED,
                object_ids=[row.version],
                reason="activation refused: the stored bundle fails its policy tests",
                policy_version=row.version,
            )
            raise ApprovalRefused(
                "The stored bundle of this version fails its policy tests; not activated."
            )
        repo = PolicyVersionRepository(session)
        previous = repo.get_active(for_update=True)
        now = utcnow()
        try:
            with session.begin_nested():
                if previous is not None:
                    previous.status, previous.retired_at = RETIRED, now
                    session.flush()
                row.status, row.activated_at = ACTIVE, now
                session.flush()
        except IntegrityError:
            raise ApprovalRefused(
                "Another policy version was activated at the same moment; approve again."
            ) from None
        approvers = ", ".join(f"{p}/{u}" for p, u in sorted(persons))
        self._log(
            session,
            viewer,
            Action.POLICY_ACTIVATE,
            object_ids=[row.version, *([previous.version] if previous else [])],
            reason=f"activated after approvals by {approvers}"
            + (f"; replaces {previous.version[:12]}" if previous else ""),
            policy_version=row.version,
        )

    # -- every replica follows the active version ---------------------------------------------

    def follow_active(self, *, force: bool = False) -> None:
        """Serve the version active in the database; called before each request's work."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.follow_interval_s:
            return
        self._checked_at = now
        # one probe at a time; a request never waits long for another request's probe
        if not self._probe_lock.acquire(timeout=PROBE_WAIT_S):
            return
        try:
            probe = self._active_probe()
            active = probe.active_version()
        except SQLAlchemyError as exc:
            log.warning("policy_follow_probe_failed", error_type=type(exc).__name__)
            return
        finally:
            self._probe_lock.release()
        gate = self.ctx.gate
        if active is None or (
            active == gate.version and not isinstance(gate.engine, FailingEngine)
        ):
            return
        with self._follow_lock:
            current = gate.engine
            if active == current.version and not isinstance(current, FailingEngine):
                return
            if (
                isinstance(current, FailingEngine)
                and active == current.version
                and now - current.failed_at < self.retry_failed_s
            ):
                return
            settings = self.ctx.settings
            try:
                with self._probe_lock:
                    data = probe.active_bundle(active)
                if data is None:
                    return  # another activation happened meanwhile; the next check follows
                engine: PolicyEngine = engine_for_stored_version(
                    active,
                    data,
                    kind=settings.policy_engine,
                    opa_url=settings.opa_url,
                    timeout_s=settings.policy_timeout_s,
                )
            except (PolicyError, SQLAlchemyError) as exc:
                log.error(
                    "policy_follow_failed", version=active[:12], error_type=type(exc).__name__
                )
                gate.swap(FailingEngine(active, failed_at=now))
                return
            previous = gate.swap(engine)
            log.info("policy_version_followed", version=active[:12], previous=previous.version[:12])

    def _active_probe(self) -> ActiveVersionProbe:
        """Created on first use (under the probe lock), so contexts that serve no request
        (the CLI, tests) open no extra connection."""
        if self._probe is None:
            self._probe = ActiveVersionProbe(self.ctx.settings.effective_database_url)
        return self._probe

    def close(self) -> None:
        if self._probe is not None:
            self._probe.dispose()
            self._probe = None


@dataclass(frozen=True)
class _CaseSnapshot:
    case_id: str
    policy_case: dict[str, Any]
    #: fact id -> (type, domain, sensitivity, publisher, publisher kind, shareable)
    facts: dict[str, tuple[str, str, str, str, str, bool]]
    pseudonyms: list[str]


def phase_purpose(phase: str) -> str:
    """The purpose that fits a phase by default (the phase's own name, audit once closed)."""
    values = {p.value for p in Purpose}
    return phase if phase in values else Purpose.AUDIT.value


def _place_simulated_viewer(case: dict[str, Any], viewer: DescribedViewer) -> dict[str, Any]:
    """A real case with the described (simulated) viewer standing in it as described."""
    out = dict(case)
    participants = dict(out.get("participants") or {})
    if viewer.invited and {"participant", "publisher"} & set(viewer.roles):
        participants[viewer.partner] = {"users": []}
    out["participants"] = participants
    me = {"partner": viewer.partner, "user": viewer.user}
    if Role.PROCESREGISSEUR.value in viewer.roles:
        out["procesregisseur"] = me
    if Role.CASUSREGISSEUR.value in viewer.roles:
        out["casusregisseur"] = me
    return out


def simulation_out(simulation: Simulation) -> SimulationOut:
    facts = [
        SimulatedFactOut(
            id=f.id,
            type=f.meta.type,
            title=f.meta.title,
            domain=f.meta.domain,
            sensitivity=f.meta.sensitivity,
            publisher_kind=f.meta.publisher_kind,
            shareable=f.meta.shareable,
            published_by_viewer=f.meta.published_by_viewer,
            level=f.decision.level,
            released_fields=list(f.decision.fields),
            withheld_fields=list(f.decision.withheld_fields),
            never_shared=list(f.meta.never_shared),
            rule=f.decision.rule,
            rule_title=f.decision.rule_title,
            source=f.decision.source,
            reason=f.decision.reason,
        )
        for f in simulation.facts
    ]
    viewer = simulation.viewer
    return SimulationOut(
        version=simulation.version,
        table=simulation.table,
        phase=simulation.phase,
        purpose=simulation.purpose,
        case_id=simulation.case_id,
        viewer=SimulatedViewerOut(
            partner_kind=viewer.partner_kind,
            roles=list(viewer.roles),
            partner=viewer.partner,
            invited=viewer.invited,
        ),
        facts=facts,
        levels=dict(Counter(f.level for f in facts)),
    )


def diff_out(result: diffing.DiffResult, *, table: str | None) -> DiffOut:
    changes = [
        ChangeOut(
            table=c.table,
            phase=c.phase,
            purpose=c.purpose,
            viewer=c.viewer,
            viewer_label=c.viewer_label,
            scope=c.scope,
            domain=c.domain,
            fact_type=c.fact_type,
            variants=list(c.variants),
            old_level=c.old_level,
            new_level=c.new_level,
            old_rule=c.old_rule,
            new_rule=c.new_rule,
            direction=c.direction,
            fact_types=[
                TypeChangeOut(
                    type=t.type,
                    fields_added=list(t.fields_added),
                    fields_removed=list(t.fields_removed),
                )
                for t in c.types
            ],
            text=c.text,
        )
        for c in result.changes
    ]
    return DiffOut(
        old=result.old,
        new=result.new,
        table=table,
        exhaustive=result.exhaustive,
        contexts=result.contexts,
        decisions=result.decisions,
        reason_only=result.reason_only,
        sentinels={f"{t}/{p}": s for (t, p), s in result.sentinels.items()},
        changes=changes,
        summary=dict(Counter(c.direction for c in changes)),
    )
