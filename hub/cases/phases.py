"""Moving a case through its phases, and closing it (afschaling)."""

from __future__ import annotations

from datetime import timedelta

from hub.audit.entry import Action
from hub.audit.log import AccessLog
from hub.cases.history import record_phase
from hub.cases.notices import dutch_today, missing_notices, notices_missing_error
from hub.cases.schemas import CaseOut
from hub.cases.usecase import CaseUseCase
from hub.db.session import UnitOfWork
from hub.errors import Conflict, ValidationFailed
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.notifications.outbox import EventKind, record
from hub.plans.models import PlanRepository
from hub.plans.schemas import ENDED_STATUSES
from hub.vocabulary import PHASE_ORDER, CaseStatus, Phase


class InterventionsStillOpen(Conflict):
    slug = "interventions-still-open"
    title = "Interventions still open"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} intervention(s) of the plan are neither done, stopped nor handed over. "
            "Report each one's outcome first (a stopped or handed-over one with a note why)."
        )


class PhaseService(CaseUseCase):
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        registry: NetworkRegistry,
        *,
        retention_closed_days: int,
    ) -> None:
        super().__init__(unit_of_work, gate, access_log, registry)
        self._retention_closed = timedelta(days=retention_closed_days)

    def change_phase(self, viewer: Viewer, case_id: str, to: Phase) -> CaseOut:
        if to is Phase.CLOSED:
            raise ValidationFailed("Close a case through its closure, with an outcome.")
        with self._unit_of_work() as session:
            opened = self._gate.open_case(
                session, viewer, case_id, "change_phase", target={"phase": to.value}
            )
            case = opened.case
            current = Phase(case.phase)
            if PHASE_ORDER.index(to) != PHASE_ORDER.index(current) + 1:
                raise Conflict("A case moves one phase forward at a time.")
            if to is Phase.PREPARATION and case.table_id is None:
                raise Conflict("Triage the case onto a table before preparation.")
            if to is Phase.CASE_CONFERENCE:
                # the privacy protocols: every subject is informed that the case is
                # discussed, or informing is postponed for a reason until a review date
                missing, total = missing_notices(session, case.id, dutch_today())
                if missing:
                    raise notices_missing_error(missing, total)
            case.phase = to.value
            record_phase(session, case, to, viewer.partner)
            self._log_act(
                session,
                viewer,
                Action.CASE_CHANGE_PHASE,
                case,
                policy_version=opened.permit.policy_version,
                reason=f"{current.value} -> {to.value}",
            )
            record(session, EventKind.PHASE_CHANGED, case.id, actor_partner=viewer.partner)
            return self._out(session, case)

    def close(self, viewer: Viewer, case_id: str, outcome: str) -> CaseOut:
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "close")
            case = opened.case
            still_open = [
                i
                for i in PlanRepository.interventions(session, [case.id])
                if i.status not in ENDED_STATUSES
            ]
            if still_open:
                raise InterventionsStillOpen(len(still_open))
            previous = case.phase
            case.end(
                status=CaseStatus.CLOSED.value, outcome=outcome, keep_for=self._retention_closed
            )
            record_phase(session, case, Phase.CLOSED, viewer.partner, at=case.closed_at)
            self._log_act(
                session,
                viewer,
                Action.CASE_CLOSE,
                case,
                policy_version=opened.permit.policy_version,
                reason=f"{previous} -> closed: {outcome}",
            )
            record(session, EventKind.PHASE_CHANGED, case.id, actor_partner=viewer.partner)
            return self._out(session, case)
