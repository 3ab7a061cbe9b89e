"""The network's protected policy tests: list, diff, load and approve a change (ADR 0103).

The protected suite is the set of `_test.rego` files every new policy version must carry
unchanged and pass (hub.policy_review.governance). At the first start it is the shipped
policy's tests (hub.policy_review.shipped); it lives in the database apart from any policy
upload, so an upload cannot remove or weaken it.

Changing it is a versioned act with the same rule as a policy version: a new suite is loaded
inactive (an upload of a tar.gz whose `_test.rego` files are the whole new suite, or `vhhub
policy suite load DIR`), privacy officers of the quorum of different partners other than the
loader's approve it, each quoting the digest of the suite diff against the active suite they
were shown, and the approval that completes the quorum activates it. A new suite must pass
against the ACTIVE policy version, so the active policy always passes the active suite; it
may add, change and remove tests - exactly what the approvers see, rule by rule, and sign.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, Actor, RequestInfo
from hub.db.base import utcnow
from hub.errors import Refusal
from hub.identity.viewer import Viewer
from hub.policy_review.errors import (
    ActivationRaced,
    ApprovalRefused,
    ApproverNotEligible,
    FourEyesRefused,
    StaleDiff,
    SuiteAlreadyLoaded,
    SuiteNotFound,
)
from hub.policy_review.governance import (
    ProtectedSuite,
    SuiteRun,
    diff_suites,
    ineligible_reason,
    run_suite,
)
from hub.policy_review.models import (
    ACTIVE,
    INACTIVE,
    RETIRED,
    ProtectedSuiteApproval,
    ProtectedTestSuite,
)
from hub.policy_review.presenters import suite_diff_out, suite_out
from hub.policy_review.recording import CLI_REQUEST, log_policy_act
from hub.policy_review.schemas import (
    ApprovalIn,
    ProtectedSuiteList,
    ProtectedSuiteOut,
    SuiteApprovalResult,
    SuiteDiffOut,
)
from hub.policy_review.store import (
    BundleRefused,
    BundleTooLarge,
    PolicyVersionRepository,
    ProtectedSuiteRepository,
    file_manifest,
    governance_lock,
    pack_files,
    read_bundle_bytes,
)
from hub.policy_review.usecase import ActiveSnapshot, PolicyReviewBase, log, suite_from_bundle
from hub.rego.bundle import load_bundle
from hub.rego.errors import PolicyError
from hub.rego.policy_tests import rule_sources


def prepare_suite(suite: ProtectedSuite) -> ProtectedSuite:
    """A suite the hub can store: at least one test module, and every module parses.
    BundleRefused (422) otherwise; never says what the content was."""
    if not suite.files:
        raise BundleRefused("The upload holds no _test.rego modules: a protected suite is tests.")
    problem: str | None = None
    try:
        rule_sources(suite.files)
    except PolicyError:
        problem = "A test module of the suite does not parse."
    if problem is not None:
        raise BundleRefused(problem)
    return suite


def suite_run_summary(run: SuiteRun | None, against: str | None) -> dict[str, object] | None:
    return None if run is None else {**run.summary(), "against": against}


class ProtectedSuiteUseCases(PolicyReviewBase):
    # -- reading ------------------------------------------------------------------------------

    def _suite_out(
        self,
        row: ProtectedTestSuite,
        approvals: list[ProtectedSuiteApproval],
        *,
        base: str | None,
    ) -> ProtectedSuiteOut:
        if row.status != INACTIVE and approvals:  # the approvals that activated it
            base = max(approvals, key=lambda a: a.approved_at).base_suite
        counted = self._counted(
            [(a.approver_partner, a.base_suite) for a in approvals],
            base=base,
            loader_partner=row.loaded_by_partner,
        )
        return suite_out(row, approvals, quorum=self.quorum, base=base, counted=counted)

    def _resolve_suite(
        self,
        session: Session,
        viewer: Viewer,
        ref: str,
        action: Action,
        version: str,
        *,
        for_update: bool = False,
    ) -> ProtectedTestSuite:
        row = ProtectedSuiteRepository(session).resolve(ref, for_update=for_update)
        if row is None:
            self._log(
                session,
                viewer,
                action,
                outcome=Outcome.DENIED,
                reason="no protected test suite matches the reference",
                policy_version=version,
            )
            raise SuiteNotFound()
        return row

    def list_suites(self, viewer: Viewer) -> ProtectedSuiteList:
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            repo = ProtectedSuiteRepository(session)
            rows = repo.list_newest_first()
            approvals = repo.approvals_by_suite()
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                reason=f"listed {len(rows)} protected test suites",
                policy_version=version,
            )
            active = next((r.suite for r in rows if r.status == ACTIVE), None)
            return ProtectedSuiteList(
                active=active,
                suites=[self._suite_out(r, approvals.get(r.suite, []), base=active) for r in rows],
            )

    def suite_diff(self, viewer: Viewer, old_ref: str, new_ref: str) -> SuiteDiffOut:
        """Rule by rule, with the digest an approval of `new` quotes (old = the active one)."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "read_policies")
            old = self._resolve_suite(session, viewer, old_ref, Action.POLICY_READ, version)
            new = self._resolve_suite(session, viewer, new_ref, Action.POLICY_READ, version)
            self._log(
                session,
                viewer,
                Action.POLICY_READ,
                object_ids=[old.suite, new.suite],
                reason="diff of two protected test suites",
                policy_version=version,
            )
            stored = ((old.suite, old.bundle), (new.suite, new.bundle))
        before = suite_from_bundle(*stored[0])
        after = suite_from_bundle(*stored[1])
        return suite_diff_out(diff_suites(before, after))

    # -- loading ------------------------------------------------------------------------------

    def load_suite_upload(self, viewer: Viewer, data: bytes) -> ProtectedSuiteOut:
        """A privacy officer's proposed suite (a tar.gz; its _test.rego files are the suite)."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "load_policy")
            snapshot = ActiveSnapshot.read(session)
        try:
            suite = prepare_suite(ProtectedSuite.of(read_bundle_bytes(data)))
        except (BundleRefused, BundleTooLarge) as exc:
            with self._unit_of_work() as session:
                self._log(
                    session,
                    viewer,
                    Action.POLICY_LOAD,
                    outcome=Outcome.DENIED,
                    reason=f"protected test suite refused: {exc.detail}",
                    policy_version=version,
                )
            raise
        return self._store_suite(
            suite,
            self._run_against_active(suite, snapshot),
            origin="upload",
            actor=viewer.actor,
            request=viewer.request,
            version=version,
        )

    def load_suite_directory(self, policy_dir: Path) -> ProtectedSuiteOut:
        """`vhhub policy suite load DIR`: the directory's _test.rego files, by the operator."""
        try:
            bundle = load_bundle(policy_dir)
        except PolicyError as exc:
            raise BundleRefused(f"The policy directory does not load: {exc.reason}") from None
        suite = prepare_suite(ProtectedSuite.of(bundle.test_modules))
        with self._unit_of_work() as session:
            snapshot = ActiveSnapshot.read(session)
        return self._store_suite(
            suite,
            self._run_against_active(suite, snapshot),
            origin="cli",
            actor=ANONYMOUS,
            request=CLI_REQUEST,
            version=self._gate.version,
        )

    def _run_against_active(
        self, suite: ProtectedSuite, snapshot: ActiveSnapshot
    ) -> tuple[SuiteRun | None, str | None]:
        """The suite against the active policy version: (run, version); run None when the
        active version's stored bytes are unusable or no version is active."""
        try:
            active = snapshot.policy()
        except PolicyError as exc:
            log.error("active_policy_unusable", reason=exc.reason)
            return None, snapshot.version
        if active is None:
            return None, None
        return run_suite(active.version, active.files, suite), active.version

    def _store_suite(
        self,
        suite: ProtectedSuite,
        run: tuple[SuiteRun | None, str | None],
        *,
        origin: str,
        actor: Actor,
        request: RequestInfo,
        version: str,
    ) -> ProtectedSuiteOut:
        outcome, against = run
        result = (
            "not run against the active version"
            if outcome is None
            else f"{outcome.total - len(outcome.failed)}/{outcome.total} pass against the "
            "active version" + ("" if outcome.passed else "; cannot be approved")
        )
        with self._unit_of_work() as session:
            repo = ProtectedSuiteRepository(session)
            row = repo.get(suite.suite, for_update=True)
            if row is not None and row.status != RETIRED:
                log_policy_act(
                    self._access_log,
                    session,
                    actor,
                    request,
                    Action.POLICY_LOAD,
                    outcome=Outcome.DENIED,
                    object_ids=[suite.suite],
                    reason=f"protected test suite already loaded ({row.status})",
                    policy_version=version,
                )
                raise SuiteAlreadyLoaded(extra={"suite": suite.suite})
            checks = suite_run_summary(outcome, against)
            if row is None:
                row = ProtectedTestSuite(
                    suite=suite.suite,
                    files=file_manifest(suite.files),
                    bundle=pack_files(suite.files),
                    status=INACTIVE,
                    origin=origin,
                    loaded_by_partner=actor.partner,
                    loaded_by_user=actor.user,
                    loaded_at=utcnow(),
                    checks=checks,
                )
                try:
                    with session.begin_nested():
                        repo.add(row)
                except IntegrityError:
                    raise SuiteAlreadyLoaded(extra={"suite": suite.suite}) from None
                again = ""
            else:
                repo.clear_approvals(row.suite)
                row.status, row.origin, row.retired_at = INACTIVE, origin, None
                row.loaded_by_partner, row.loaded_by_user = actor.partner, actor.user
                row.loaded_at, row.checks = utcnow(), checks
                again = "retired suite loaded again; "
            log_policy_act(
                self._access_log,
                session,
                actor,
                request,
                Action.POLICY_LOAD,
                object_ids=[suite.suite],
                reason=f"{again}protected test suite: {result}; inactive until "
                f"{self.quorum.describe()} approve",
                policy_version=version,
            )
            session.flush()
            active = repo.get_active()
            return self._suite_out(row, [], base=active.suite if active is not None else None)

    # -- approving ----------------------------------------------------------------------------

    def approve_suite(self, viewer: Viewer, ref: str, body: ApprovalIn) -> SuiteApprovalResult:
        """Record `viewer`'s approval of the suite `ref`; the one completing the quorum
        activates it. Refusals change nothing but the log."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "approve_policy")
            row = self._resolve_suite(session, viewer, ref, Action.POLICY_APPROVE, version)
            self._refuse_suite_unless_approvable(session, viewer, row, version)
            target = (row.suite, row.bundle)
            snapshot = ActiveSnapshot.read(session)
        expected: str | None = None
        outcome: SuiteRun | None = None
        try:
            proposed = suite_from_bundle(*target)
            current = snapshot.protected()
            if current is not None:
                expected = diff_suites(current, proposed).digest
            outcome, _ = self._run_against_active(proposed, snapshot)
        except PolicyError as exc:
            log.error("protected_suite_unusable", reason=exc.reason)

        activated = False
        with self._unit_of_work() as session:
            governance_lock(session)
            repo = ProtectedSuiteRepository(session)
            locked = repo.get(target[0], for_update=True)
            if locked is None:
                raise SuiteNotFound()
            row = locked
            self._refuse_suite_unless_approvable(session, viewer, row, version)
            active = repo.get_active(for_update=True)
            active_version = PolicyVersionRepository(session).get_active()

            def refuse(error: Refusal, reason: str) -> NoReturn:
                self._log(
                    session,
                    viewer,
                    Action.POLICY_APPROVE,
                    outcome=Outcome.DENIED,
                    object_ids=[row.suite],
                    reason=f"protected test suite {reason}",
                    policy_version=version,
                )
                raise error

            now_active = (
                active_version.version if active_version is not None else None,
                active.suite if active is not None else None,
            )
            if now_active != (snapshot.version, snapshot.suite):
                refuse(
                    StaleDiff(
                        "The active protected suite or policy version changed while you "
                        "approved: ask for the suite diff again and approve with its digest."
                    ),
                    "refused: the active suite or version changed meanwhile",
                )
            if active is None or expected is None:
                refuse(
                    ApprovalRefused(
                        "There is no usable active protected suite to compare with; run "
                        "`vhhub init`."
                    ),
                    "refused: no usable active suite",
                )
            if outcome is None or not outcome.passed:
                refuse(
                    ApprovalRefused(
                        "This protected test suite does not pass against the active policy "
                        "version; it can be neither approved nor activated.",
                        extra={
                            "failed_tests": list(outcome.failed[:50]) if outcome else [],
                            "checks": suite_run_summary(outcome, snapshot.version),
                        },
                    ),
                    "refused: it does not pass against the active version",
                )
            if body.diff_digest != expected:
                refuse(
                    StaleDiff(
                        "The digest is not that of the diff against the active protected "
                        "suite: ask for the suite diff again and approve with its digest."
                    ),
                    "refused: the digest is not that of the diff against the active suite",
                )
            approvals = repo.approvals_of(row.suite)
            if any(
                a.approver_partner == viewer.partner and a.base_suite == active.suite
                for a in approvals
            ):
                self._log(
                    session,
                    viewer,
                    Action.POLICY_APPROVE,
                    object_ids=[row.suite],
                    reason="protected test suite: repeat approval by the same partner: counts once",
                    policy_version=version,
                )
                return SuiteApprovalResult(
                    approval_recorded=False,
                    activated=False,
                    suite=self._suite_out(row, approvals, base=active.suite),
                )
            mine = repo.approval_of(row.suite, viewer.partner, viewer.user)
            if mine is None:
                repo.add_approval(
                    ProtectedSuiteApproval(
                        suite=row.suite,
                        approver_partner=viewer.partner,
                        approver_user=viewer.user,
                        approved_at=utcnow(),
                        base_suite=active.suite,
                        diff_digest=body.diff_digest,
                    )
                )
            else:
                mine.base_suite, mine.diff_digest = active.suite, body.diff_digest
                mine.approved_at = utcnow()
                session.flush()
            approvals = repo.approvals_of(row.suite)
            counted = self._counted(
                [(a.approver_partner, a.base_suite) for a in approvals],
                base=active.suite,
                loader_partner=row.loaded_by_partner,
            )
            self._log(
                session,
                viewer,
                Action.POLICY_APPROVE,
                object_ids=[row.suite],
                reason=f"protected test suite: approval {len(counted)} of {self.quorum.approvals}",
                policy_version=version,
            )
            if len(counted) >= self.quorum.approvals:
                now = utcnow()
                try:
                    with session.begin_nested():
                        active.status, active.retired_at = RETIRED, now
                        session.flush()
                        row.status, row.activated_at = ACTIVE, now
                        session.flush()
                except IntegrityError:
                    raise ActivationRaced() from None
                approvers = ", ".join(
                    sorted(
                        f"{a.approver_partner}/{a.approver_user}"
                        for a in approvals
                        if a.approver_partner in counted and a.base_suite == active.suite
                    )
                )
                self._log(
                    session,
                    viewer,
                    Action.POLICY_ACTIVATE,
                    object_ids=[row.suite, active.suite],
                    reason=f"protected test suite activated after approvals by {approvers}; "
                    f"replaces {active.suite[:12]}",
                    policy_version=version,
                )
                activated = True
            return SuiteApprovalResult(
                approval_recorded=True,
                activated=activated,
                suite=self._suite_out(row, approvals, base=active.suite),
            )

    def _refuse_suite_unless_approvable(
        self, session: Session, viewer: Viewer, row: ProtectedTestSuite, version: str
    ) -> None:
        def refuse(error: Refusal, reason: str) -> NoReturn:
            self._log(
                session,
                viewer,
                Action.POLICY_APPROVE,
                outcome=Outcome.DENIED,
                object_ids=[row.suite],
                reason=f"protected test suite {reason}",
                policy_version=version,
            )
            raise error

        if row.status == ACTIVE:
            refuse(ApprovalRefused("This protected test suite is already active."), "active")
        if row.status == RETIRED:
            refuse(
                ApprovalRefused(
                    "This protected test suite was retired; load it again to start a new "
                    "round of approvals."
                ),
                "retired",
            )
        why = ineligible_reason(
            viewer.partner, loader_partner=row.loaded_by_partner, registry=self._registry
        )
        if why == "loader's partner":
            refuse(FourEyesRefused(), "refused: the approver's partner loaded it")
        if why is not None:
            refuse(ApproverNotEligible(), f"refused: {why}")
