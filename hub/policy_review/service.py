"""The privacy officer's use cases: versions, matrix, simulation, diff, load and approval,
and how every replica follows the active version.

Four eyes across organisations (ADR 0103): a loaded version stays inactive until privacy
officers of the network file's quorum of DIFFERENT partners approved it (by default two key
partners), none of them the partner that loaded it; the officers of one partner are one vote,
however many user ids that partner mints. Each approval quotes the digest of the diff against
the active version its approver was shown; once the active version changes, that digest is
refused (409) and approvals given on the old diff stop counting. A version must also carry
the network's protected tests unchanged, pass them in a run of their own, pass its own tests
and exercise no fewer policy rules than the active version (hub.policy_review.governance);
these checks run at load, for the list, and again on the stored bytes at every approval. The
approval that completes the quorum activates the version in the same transaction: there is
no separate activation step that could be forgotten or taken alone.

Why every request checks the active version (`follow_active`): replicas are stateless and
share one database; an activation on one replica must hold on all of them at once, or two
participants of one case could get briefings under two policies. The check is one indexed
read outside the request's unit of work; only when it differs is the bundle read and a new
engine built and swapped in.

Long computations (a diff asks ~100,000 decisions per version; the checks run test suites)
run *outside* the units of work that authorise, log and record, so they never hold the
database's write lock; the recording unit of work then verifies that what is active did not
change meanwhile, under one lock for every approval and activation (store.governance_lock).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, Actor, RequestInfo
from hub.db.base import utcnow
from hub.errors import Refusal
from hub.identity.viewer import Viewer
from hub.policy_review import diff as diffing
from hub.policy_review.errors import (
    ActivationRaced,
    ApprovalRefused,
    ApproverNotEligible,
    FourEyesRefused,
    PolicyVersionNotFound,
    StaleDiff,
    VersionAlreadyLoaded,
)
from hub.policy_review.governance import (
    StoredPolicy,
    VersionCheck,
    check_version,
    ineligible_reason,
)
from hub.policy_review.history import PolicyHistoryUseCases
from hub.policy_review.matrix import build_matrix, to_json
from hub.policy_review.models import ACTIVE, INACTIVE, RETIRED, PolicyApproval, PolicyVersion
from hub.policy_review.presenters import diff_out
from hub.policy_review.recording import (
    CLI_REQUEST,
    StoredBundle,
    log_policy_act,
    new_version_row,
    tests_text,
)
from hub.policy_review.schemas import (
    ApprovalIn,
    ApprovalResult,
    DiffOut,
    MatrixOut,
    PolicyVersionList,
    PolicyVersionOut,
)
from hub.policy_review.store import (
    BundleRefused,
    BundleTooLarge,
    PolicyVersionRepository,
    ProtectedSuiteRepository,
    files_of_bundle,
    governance_lock,
    read_bundle_bytes,
)
from hub.policy_review.suites import ProtectedSuiteUseCases
from hub.policy_review.usecase import ActiveSnapshot, log
from hub.policy_review.versions import (
    Candidate,
    files_from_stored_bundle,
    prepare_candidate,
)
from hub.rego.bundle import load_bundle
from hub.rego.errors import PolicyError

#: (old version, new version, table or None, exhaustive): versions are content hashes
DiffKey = tuple[str, str, str | None, bool]


class DiffCache:
    """The diffs this process computed, by (old, new, table, exhaustive).

    Why a cache is safe: versions are content-addressed (SHA-256 over their files) and the
    fact-type catalogue is fixed for the life of the process, so the diff of a pair never
    changes; it holds policy data only (decisions on synthetic facts), never case data. Why
    it is needed: a full diff takes 20-45 s, and the version page, the approvers and the API
    ask for the same pair again and again. The caller authorises and logs every read BEFORE
    asking the cache, so a cached answer is exactly as guarded and logged as a fresh one.
    One lock per key: a second request for a pair being computed waits for the first instead
    of computing it again."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._done: OrderedDict[DiffKey, DiffOut] = OrderedDict()
        self._locks: dict[DiffKey, threading.Lock] = {}
        self._guard = threading.Lock()

    def peek(self, key: DiffKey) -> DiffOut | None:
        with self._guard:
            return self._done.get(key)

    def get_or_compute(self, key: DiffKey, compute: Callable[[], DiffOut]) -> DiffOut:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self.peek(key)
            if found is not None:
                return found.model_copy(deep=True)
            out = compute()
            with self._guard:
                self._done[key] = out.model_copy(deep=True)
                while len(self._done) > self._size:
                    self._done.popitem(last=False)
                self._locks.pop(key, None)
            return out


class PolicyReviewService(PolicyHistoryUseCases, ProtectedSuiteUseCases):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.diffs = DiffCache()

    def known_diff_changes(self, old: str, new: str) -> int | None:
        """How many decisions the full diff old -> new changes, if this process computed it."""
        found = self.diffs.peek((old, new, None, False))
        return len(found.changes) if found is not None else None

    # -- reading ------------------------------------------------------------------------------

    def list_versions(self, viewer: Viewer) -> PolicyVersionList:
        with self._unit_of_work() as session:
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
                versions=[self._out(r, approvals.get(r.version, []), base=active) for r in rows],
            )

    def get_version(self, viewer: Viewer, ref: str) -> PolicyVersionOut:
        with self._unit_of_work() as session:
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
            repo = PolicyVersionRepository(session)
            active = repo.get_active()
            return self._out(
                row,
                repo.approvals_of(row.version),
                base=active.version if active is not None else None,
            )

    def _read_bundle(self, viewer: Viewer, ref: str, reason: str) -> StoredBundle:
        with self._unit_of_work() as session:
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
        """The diff, with its digest. The digest of a full diff (no table) is remembered, so
        an approval quoting it can be checked on any replica without a new diff."""
        with self._unit_of_work() as session:
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

        def compute() -> DiffOut:
            result = diffing.diff_versions(
                self._reviewed(stored[0]),
                self._reviewed(stored[1]),
                self._catalog,
                table=table,
                exhaustive=exhaustive,
            )
            return diff_out(result, table=table)

        out = self.diffs.get_or_compute((old.version, new.version, table, exhaustive), compute)
        if table is None:
            with self._unit_of_work() as session:
                PolicyVersionRepository(session).record_diff_digest(
                    out.digest, out.old, out.new, exhaustive=exhaustive, changes=len(out.changes)
                )
        return out

    # -- loading ------------------------------------------------------------------------------

    def load_upload(self, viewer: Viewer, data: bytes) -> PolicyVersionOut:
        """A privacy officer's upload (tar.gz): checked, tested, stored inactive, logged."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "load_policy")
            snapshot = ActiveSnapshot.read(session)
        try:
            candidate = prepare_candidate(read_bundle_bytes(data))
        except (BundleRefused, BundleTooLarge) as exc:
            with self._unit_of_work() as session:
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
            candidate,
            self._check(StoredPolicy(candidate.version, candidate.files), snapshot),
            origin="upload",
            actor=viewer.actor,
            request=viewer.request,
            version=version,
        )

    def load_directory(self, policy_dir: Path) -> PolicyVersionOut:
        """`vhhub policy load DIR`: the operator's load, logged without a person."""
        try:
            bundle = load_bundle(policy_dir)
        except PolicyError as exc:
            raise BundleRefused(f"The policy directory does not load: {exc.reason}") from None
        candidate = prepare_candidate(files_of_bundle(bundle))
        with self._unit_of_work() as session:
            snapshot = ActiveSnapshot.read(session)
        return self._store(
            candidate,
            self._check(StoredPolicy(candidate.version, candidate.files), snapshot),
            origin="cli",
            actor=ANONYMOUS,
            request=CLI_REQUEST,
            version=self._gate.version,
        )

    def _check(self, candidate: StoredPolicy, snapshot: ActiveSnapshot) -> VersionCheck | None:
        """The network's checks of `candidate` against what `snapshot` saw active; None when
        the active version's or the suite's stored bytes are unusable (fail closed)."""
        try:
            return check_version(candidate, snapshot.policy(), snapshot.protected())
        except PolicyError as exc:
            log.error(
                "policy_checks_unavailable", version=candidate.version[:12], reason=exc.reason
            )
            return None

    def _store(
        self,
        candidate: Candidate,
        check: VersionCheck | None,
        *,
        origin: str,
        actor: Actor,
        request: RequestInfo,
        version: str,
    ) -> PolicyVersionOut:
        checks_text = (
            "network checks unavailable"
            if check is None
            else "network checks passed"
            if check.passed
            else f"network checks fail ({len(check.problems)})"
        )
        with self._unit_of_work() as session:
            repo = PolicyVersionRepository(session)
            row = repo.get(candidate.version, for_update=True)
            if row is not None and row.status != RETIRED:
                log_policy_act(
                    self._access_log,
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
                row = new_version_row(candidate, origin=origin, loader=actor)
                row.checks = check.summary() if check is not None else None
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
                row.checks = check.summary() if check is not None else None
                again = "retired version loaded again; "
            log_policy_act(
                self._access_log,
                session,
                actor,
                request,
                Action.POLICY_LOAD,
                object_ids=[candidate.version],
                reason=f"{again}{tests_text(candidate)}; {checks_text}; inactive until "
                f"{self.quorum.describe()} approve",
                policy_version=version,
            )
            session.flush()
            active = repo.get_active()
            return self._out(row, [], base=active.version if active is not None else None)

    # -- approving ----------------------------------------------------------------------------

    def approve(self, viewer: Viewer, ref: str, body: ApprovalIn) -> ApprovalResult:
        """Record `viewer`'s approval of the version `ref`; the one that completes the
        quorum activates it. Refusals change nothing but the log."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "approve_policy")
            row = self._resolve(session, viewer, ref, Action.POLICY_APPROVE, version)
            self._refuse_unless_approvable(session, viewer, row, version)
            target = StoredBundle(row.version, row.bundle or b"")
            snapshot = ActiveSnapshot.read(session)
        check = self._check_stored(target, snapshot)

        activated = False
        with self._unit_of_work() as session:
            governance_lock(session)
            repo = PolicyVersionRepository(session)
            locked = repo.get(target.version, for_update=True)
            if locked is None:  # versions are never deleted; a row edited away
                raise PolicyVersionNotFound()
            row = locked
            self._refuse_unless_approvable(session, viewer, row, version)
            active = repo.get_active(for_update=True)
            suite = ProtectedSuiteRepository(session).get_active()

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

            now_active = (
                active.version if active is not None else None,
                suite.suite if suite is not None else None,
            )
            if now_active != (snapshot.version, snapshot.suite):
                refuse(
                    StaleDiff(
                        "The active version or the protected tests changed while you "
                        "approved: ask for the diff again and approve with its digest."
                    ),
                    "refused: the active version changed meanwhile",
                )
            if active is None:
                refuse(
                    ApprovalRefused("No policy version is active; run `vhhub init` first."),
                    "refused: no active version",
                )
            if check is None:
                refuse(
                    ApprovalRefused(
                        "The hub could not check this version against the active version and "
                        "the protected tests; it cannot be approved now."
                    ),
                    "refused: the network checks are unavailable",
                )
            if not check.passed:
                own_failed = list(check.own.failed) if check.own is not None else []
                refuse(
                    ApprovalRefused(
                        "This policy version does not meet the network's requirements; it can "
                        "be neither approved nor activated: " + "; ".join(check.problems) + ".",
                        extra={
                            "failed_tests": own_failed[:50],
                            "problems": list(check.problems),
                            "checks": check.summary(),
                        },
                    ),
                    "refused: " + "; ".join(_short_problems(check)),
                )
            shown = repo.diff_digest(body.diff_digest)
            if shown is None or (shown.old_version, shown.new_version) != (
                active.version,
                row.version,
            ):
                refuse(
                    StaleDiff(),
                    "refused: the digest is not that of the diff against the active version",
                )

            approvals = repo.approvals_of(row.version)
            if any(
                a.approver_partner == viewer.partner and a.base_version == active.version
                for a in approvals
            ):
                self._log(
                    session,
                    viewer,
                    Action.POLICY_APPROVE,
                    object_ids=[row.version],
                    reason="repeat approval by the same partner: counts once",
                    policy_version=version,
                )
                return ApprovalResult(
                    approval_recorded=False,
                    activated=False,
                    policy=self._out(row, approvals, base=active.version),
                )
            mine = repo.approval_of(row.version, viewer.partner, viewer.user)
            if mine is None:
                repo.add_approval(
                    PolicyApproval(
                        version=row.version,
                        approver_partner=viewer.partner,
                        approver_user=viewer.user,
                        approved_at=utcnow(),
                        base_version=active.version,
                        diff_digest=body.diff_digest,
                    )
                )
            else:  # given on a diff against an older active version: now on the current one
                mine.base_version, mine.diff_digest = active.version, body.diff_digest
                mine.approved_at = utcnow()
                session.flush()
            row.checks = check.summary()  # what this approval was checked against
            approvals = repo.approvals_of(row.version)
            counted = self._counted(
                [(a.approver_partner, a.base_version) for a in approvals],
                base=active.version,
                loader_partner=row.loaded_by_partner,
            )
            self._log(
                session,
                viewer,
                Action.POLICY_APPROVE,
                object_ids=[row.version],
                reason=f"approval {len(counted)} of {self.quorum.approvals}",
                policy_version=version,
            )
            if len(counted) >= self.quorum.approvals:
                self._activate(session, viewer, row, active, approvals, counted)
                activated = True
            out = ApprovalResult(
                approval_recorded=True,
                activated=activated,
                policy=self._out(row, approvals, base=active.version),
            )
        if activated:
            self._gate.follow_active(force=True)
        return out

    def _refuse_unless_approvable(
        self, session: Session, viewer: Viewer, row: PolicyVersion, version: str
    ) -> None:
        """The refusals that need no test run: the version's state and who approves."""

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
        why = ineligible_reason(
            viewer.partner, loader_partner=row.loaded_by_partner, registry=self._registry
        )
        if why == "loader's partner":
            refuse(FourEyesRefused(), "refused: the approver's partner loaded this version")
        if why is not None:
            refuse(ApproverNotEligible(), f"refused: {why}")

    def _check_stored(self, target: StoredBundle, snapshot: ActiveSnapshot) -> VersionCheck | None:
        try:
            files = files_from_stored_bundle(target.version, target.bundle)
        except PolicyError:
            return None
        return self._check(StoredPolicy(target.version, files), snapshot)

    def _activate(
        self,
        session: Session,
        viewer: Viewer,
        row: PolicyVersion,
        previous: PolicyVersion,
        approvals: list[PolicyApproval],
        counted: tuple[str, ...],
    ) -> None:
        """Make `row` the active version in the approving unit of work."""
        now = utcnow()
        try:
            with session.begin_nested():
                previous.status, previous.retired_at = RETIRED, now
                session.flush()
                row.status, row.activated_at = ACTIVE, now
                session.flush()
        except IntegrityError:
            raise ActivationRaced() from None
        approvers = ", ".join(
            sorted(
                f"{a.approver_partner}/{a.approver_user}"
                for a in approvals
                if a.approver_partner in counted and a.base_version == previous.version
            )
        )
        self._log(
            session,
            viewer,
            Action.POLICY_ACTIVATE,
            object_ids=[row.version, previous.version],
            reason=f"activated after approvals by {approvers}; replaces {previous.version[:12]}",
            policy_version=row.version,
        )


def _short_problems(check: VersionCheck) -> list[str]:
    """The check's problems as short log words (no file or test names in the log)."""
    out = []
    if check.own is None or not check.own.passed:
        out.append("the version's policy tests fail")
    if check.suite is None:
        out.append("no protected suite")
    if check.missing or check.changed:
        out.append("protected tests deleted or changed")
    if check.protected is not None and not check.protected.passed:
        out.append("protected tests fail")
    if check.no_longer_exercised or (
        check.own is not None
        and check.active_rules_exercised is not None
        and check.own.rules_exercised < check.active_rules_exercised
    ):
        out.append("fewer rules exercised")
    return out
