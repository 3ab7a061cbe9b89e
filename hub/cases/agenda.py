"""The tables' agenda: which case is discussed at which meeting."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from hub.audit.entry import Action, Outcome
from hub.audit.log import Event
from hub.cases.models import AgendaItem, Case
from hub.cases.schemas import AgendaItemOut
from hub.cases.usecase import CaseUseCase
from hub.errors import Conflict
from hub.identity.viewer import Viewer
from hub.vocabulary import Phase, TableId

#: Most case ids one agenda read's log entry names.
MAX_LOGGED_IDS = 200


class AgendaService(CaseUseCase):
    def schedule(
        self, viewer: Viewer, table: TableId, case_id: str, meeting: date
    ) -> AgendaItemOut:
        with self._unit_of_work() as session:
            opened = self._gate.open_case(
                session, viewer, case_id, "schedule", target={"table": table.value}
            )
            case = opened.case
            if case.table_id != table.value:
                raise Conflict("The case is not on this table.")
            exists = session.scalars(
                select(AgendaItem).where(
                    AgendaItem.table_id == table.value,
                    AgendaItem.case_id == case.id,
                    AgendaItem.meeting_date == meeting,
                )
            ).one_or_none()
            if exists is None:
                session.add(
                    AgendaItem(
                        id=str(uuid.uuid4()),
                        table_id=table.value,
                        case_id=case.id,
                        meeting_date=meeting,
                    )
                )
            self._log_act(
                session,
                viewer,
                Action.CASE_SCHEDULE,
                case,
                policy_version=opened.permit.policy_version,
                reason=f"agenda {table.value} {meeting.isoformat()}",
            )
            return AgendaItemOut(
                case_id=case.id, table=table, meeting_date=meeting, phase=Phase(case.phase)
            )

    def agenda(self, viewer: Viewer, table: TableId, since: date | None) -> list[AgendaItemOut]:
        """The table's agenda, limited to cases the viewer may read."""
        with self._unit_of_work() as session:
            query = select(AgendaItem).where(AgendaItem.table_id == table.value)
            if since is not None:
                query = query.where(AgendaItem.meeting_date >= since)
            items = session.scalars(query.order_by(AgendaItem.meeting_date)).all()
            visible: list[AgendaItemOut] = []
            for item in items:
                case = session.get(Case, item.case_id)
                if case is None:
                    continue
                policy_case = self._gate.case_input(session, case)
                if self._gate.allows(session, viewer, "read_case", policy_case):
                    visible.append(
                        AgendaItemOut(
                            case_id=case.id,
                            table=table,
                            meeting_date=item.meeting_date,
                            phase=Phase(case.phase),
                        )
                    )
            self._log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.ALLOWED,
                    object_ids=[i.case_id for i in visible][:MAX_LOGGED_IDS],
                    reason=f"agenda {table.value}",
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return visible
