"""What the privacy officer's use cases share: collaborators, authorisation, logging, and
resolving a version reference to a stored, reviewable version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog
from hub.db.session import UnitOfWork
from hub.facts.catalog import FactTypeCatalog
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.policy_review.errors import PolicyVersionNotFound
from hub.policy_review.models import PolicyApproval, PolicyVersion
from hub.policy_review.presenters import version_out
from hub.policy_review.recording import StoredBundle, log_policy_act
from hub.policy_review.schemas import PolicyVersionOut
from hub.policy_review.store import PolicyVersionRepository
from hub.policy_review.versions import ReviewedVersion, ReviewedVersions
from hub.rego.errors import PolicyError
from hub.vocabulary import DisclosureClass

log = get_logger("hub.policy_review")

#: Distinct privacy officers whose approval activates a version (four eyes).
APPROVALS_NEEDED: Final = 2


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

    def _out(self, row: PolicyVersion, approvals: Sequence[PolicyApproval]) -> PolicyVersionOut:
        return version_out(row, approvals, approvals_needed=APPROVALS_NEEDED)

    def _never_class_fields(self) -> dict[str, list[str]]:
        return {
            t.id: [n for n, spec in t.fields.items() if spec.disclosure is DisclosureClass.NEVER]
            for t in self._catalog.types()
        }
