"""What the privacy officer's use cases share: collaborators, authorisation, logging, and
resolving a version reference to a stored, reviewable version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog
from hub.db.session import UnitOfWork
from hub.facts.catalog import FactTypeCatalog
from hub.gate.gate import Gate
from hub.identity.registry import ApprovalQuorum, NetworkRegistry
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.policy_review.errors import PolicyVersionNotFound
from hub.policy_review.governance import ProtectedSuite, StoredPolicy, counted_partners
from hub.policy_review.models import INACTIVE, PolicyApproval, PolicyVersion
from hub.policy_review.presenters import version_out
from hub.policy_review.recording import StoredBundle, log_policy_act
from hub.policy_review.schemas import PolicyVersionOut
from hub.policy_review.store import (
    BundleRefused,
    PolicyVersionRepository,
    ProtectedSuiteRepository,
    read_bundle_bytes,
)
from hub.policy_review.versions import ReviewedVersion, ReviewedVersions, files_from_stored_bundle
from hub.rego.errors import PolicyError
from hub.vocabulary import DisclosureClass

log = get_logger("hub.policy_review")


@dataclass(frozen=True)
class ActiveSnapshot:
    """What is active, as bytes read inside a unit of work (parsed after it)."""

    version: str | None
    bundle: bytes | None
    suite: str | None
    suite_bundle: bytes | None

    @classmethod
    def read(cls, session: Session) -> ActiveSnapshot:
        active = PolicyVersionRepository(session).get_active()
        suite = ProtectedSuiteRepository(session).get_active()
        return cls(
            active.version if active is not None else None,
            active.bundle if active is not None else None,
            suite.suite if suite is not None else None,
            suite.bundle if suite is not None else None,
        )

    def policy(self) -> StoredPolicy | None:
        """The active version's files; PolicyError when its stored bundle is unusable."""
        if self.version is None or not self.bundle:
            return None
        return StoredPolicy(self.version, files_from_stored_bundle(self.version, self.bundle))

    def protected(self) -> ProtectedSuite | None:
        if self.suite is None or self.suite_bundle is None:
            return None
        return suite_from_bundle(self.suite, self.suite_bundle)


def suite_from_bundle(suite: str, data: bytes) -> ProtectedSuite:
    """A stored suite, refused (PolicyError) unless its files hash to `suite`."""
    try:
        files = read_bundle_bytes(data, strip_root=False)
    except BundleRefused as exc:
        raise PolicyError(f"stored protected suite {suite[:12]} is unreadable") from exc
    protected = ProtectedSuite.of(files)
    if protected.suite != suite:
        raise PolicyError(f"stored protected suite does not hash to {suite[:12]}")
    return protected


class PolicyReviewBase:
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        catalog: FactTypeCatalog,
        registry: NetworkRegistry,
        reviewed: ReviewedVersions,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._access_log = access_log
        self._catalog = catalog
        self._registry = registry
        #: reviewed versions (engines, annotations) shared by the use cases of this process
        self.reviewed = reviewed

    # -- helpers ------------------------------------------------------------------------------

    def _authorize(self, session: Session, viewer: Viewer, action: str) -> str:
        return self._gate.authorize(session, viewer, action).policy_version

    def _log(self, session: Session, viewer: Viewer, action: Action, **kw: Any) -> None:
        log_policy_act(self._access_log, session, viewer.actor, viewer.request, action, **kw)

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

    @property
    def quorum(self) -> ApprovalQuorum:
        """The network file's rule for who activates a change."""
        return self._registry.policy_approval

    def _counted(
        self,
        approvals: Sequence[tuple[str, str | None]],
        *,
        base: str | None,
        loader_partner: str | None,
    ) -> tuple[str, ...]:
        if base is None:
            return ()
        return counted_partners(
            approvals, base=base, loader_partner=loader_partner, registry=self._registry
        )

    def _out(
        self, row: PolicyVersion, approvals: Sequence[PolicyApproval], *, base: str | None
    ) -> PolicyVersionOut:
        """`base`: the version active now (approvals on a diff against another do not count).
        Of a version no longer inactive, the approvals that activated it count: those on the
        diff of the last approval (the one that completed the quorum)."""
        if row.status != INACTIVE and approvals:
            base = max(approvals, key=lambda a: a.approved_at).base_version
        counted = self._counted(
            [(a.approver_partner, a.base_version) for a in approvals],
            base=base,
            loader_partner=row.loaded_by_partner,
        )
        return version_out(row, approvals, quorum=self.quorum, base=base, counted=counted)

    def _never_class_fields(self) -> dict[str, list[str]]:
        return {
            t.id: [n for n, spec in t.fields.items() if spec.disclosure is DisclosureClass.NEVER]
            for t in self._catalog.types()
        }
