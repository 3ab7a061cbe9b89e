"""What every case use case shares: its collaborators, the act's log entry, the answer.

Every use case is one unit of work: the gate authorises (denials logged and committed),
the use case changes state, logs the act, and the unit of work commits before it returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Case
from hub.cases.presenters import case_out
from hub.cases.schemas import CaseOut
from hub.db.session import UnitOfWork
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer


class CaseUseCase:
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        registry: NetworkRegistry,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._log = access_log
        self._registry = registry

    def _log_act(
        self,
        session: Session,
        viewer: Viewer,
        action: Action,
        case: Case,
        *,
        policy_version: str | None,
        object_ids: Sequence[str] = (),
        pseudonyms: Sequence[str] = (),
        reason: str | None = None,
    ) -> None:
        self._log.append(
            session,
            Event(
                action=action,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                object_ids=object_ids,
                subject_pseudonyms=pseudonyms,
                reason=reason,
                policy_version=policy_version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )

    def _out(self, session: Session, case: Case) -> CaseOut:
        return case_out(session, self._registry, case)
