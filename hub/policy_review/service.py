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

from pathlib import Path
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, Actor, RequestInfo
from hub.db.base import utcnow
from hub.errors import Refusal
from hub.identity.viewer import Viewer
from hub.policy_review import diff as diffing
from hub.policy_review.errors import ApprovalRefused, FourEyesRefused, VersionAlreadyLoaded
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
    files_of_bundle,
    read_bundle_bytes,
    unpacked,
)
from hub.policy_review.usecase import APPROVALS_NEEDED, PolicyReviewBase
from hub.policy_review.versions import (
    Candidate,
    files_from_stored_bundle,
    prepare_candidate,
    suite_outcome,
)
from hub.rego.bundle import load_bundle
from hub.rego.errors import PolicyError


class PolicyReviewService(PolicyReviewBase):
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
                versions=[self._out(r, approvals.get(r.version, [])) for r in rows],
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
            return self._out(row, PolicyVersionRepository(session).approvals_of(row.version))

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
        result = diffing.diff_versions(
            self._reviewed(stored[0]),
            self._reviewed(stored[1]),
            self._catalog,
            table=table,
            exhaustive=exhaustive,
        )
        return diff_out(result, table=table)

    # -- loading and approving ----------------------------------------------------------------

    def load_upload(self, viewer: Viewer, data: bytes) -> PolicyVersionOut:
        """A privacy officer's upload (tar.gz): checked, tested, stored inactive, logged."""
        with self._unit_of_work() as session:
            version = self._authorize(session, viewer, "load_policy")
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
            version=self._gate.version,
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
            log_policy_act(
                self._access_log,
                session,
                actor,
                request,
                Action.POLICY_LOAD,
                object_ids=[candidate.version],
                reason=f"{again}{tests_text(candidate)}; inactive until {APPROVALS_NEEDED} "
                "privacy officers approve",
                policy_version=version,
            )
            session.flush()
            return self._out(row, [])

    def approve(self, viewer: Viewer, ref: str) -> ApprovalResult:
        with self._unit_of_work() as session:
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
            self._gate.follow_active(force=True)
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
