"""A person's caseload (mijn casussen): every case they work on, whatever its phase.

An overview has its own purpose, ``case_management`` (ADR 0011): the policy's
``list_caseload`` action decides per case whether it is listed, and the identity decision
for that purpose releases at most the subjects' names. No fact content, no plan text: the
interventions come from their clear index (owner, deadline, status), the next case
conference from the agenda. One access-log entry names the cases listed and, per subject,
what left of its identity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import AgendaItem, Case
from hub.cases.notices import ZONE
from hub.cases.repository import CaseRepository
from hub.cases.schemas import (
    CaseloadItem,
    CaseloadOut,
    CaseloadQuery,
    CaseloadSubject,
    DueStep,
)
from hub.cases.usecase import CaseUseCase
from hub.db.session import UnitOfWork
from hub.disclosure.identity import IdentityReader, subject_pseudonyms_by_id
from hub.disclosure.vault import CaseVault
from hub.errors import ValidationFailed
from hub.gate.gate import Gate
from hub.gate.inputs import CaseInput
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.meetings.models import MeetingRepository
from hub.plans.models import InterventionIndex, PlanRepository
from hub.plans.schemas import ENDED_STATUSES
from hub.vocabulary import PHASE_ORDER, Phase, Purpose

#: the most cases one caseload answer lists (and its log entry names)
MAX_CASELOAD = 200


class CaseloadNeedsItsPurpose(ValidationFailed):
    slug = "caseload-purpose"
    title = "The caseload has its own purpose"
    default_detail = (
        "The caseload is an overview of your cases: send it with Purpose: case_management. "
        "Work on one case with the purpose of its phase."
    )


class CaseloadService(CaseUseCase):
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        registry: NetworkRegistry,
        vault: CaseVault,
    ) -> None:
        super().__init__(unit_of_work, gate, access_log, registry)
        self._identity = IdentityReader(gate, vault)

    def caseload(self, viewer: Viewer, query: CaseloadQuery, *, today: date) -> CaseloadOut:
        if viewer.purpose is not Purpose.CASE_MANAGEMENT:
            raise CaseloadNeedsItsPurpose()
        with self._unit_of_work() as session:
            repo = CaseRepository(session)
            candidates = repo.cases_by_ids(
                repo.candidate_ids_for(viewer.partner, viewer.user, intake_queue=False)
            )
            listed: list[tuple[Case, CaseInput, list[str]]] = []
            for case in candidates:
                if query.phase is not None and case.phase != query.phase.value:
                    continue
                if query.table is not None and case.table_id != query.table.value:
                    continue
                policy_case = self._gate.case_input(session, case)
                roles = _roles(viewer, policy_case)
                if query.role is not None and query.role not in roles:
                    continue
                if self._gate.allows(session, viewer, "list_caseload", policy_case):
                    listed.append((case, policy_case, roles))
            interventions = _by_case(
                PlanRepository.interventions(session, [c.id for c, _, _ in listed])
            )
            meetings = _next_meetings(session, [c.id for c, _, _ in listed], today)
            items: list[CaseloadItem] = []
            disclosed: dict[str, tuple[str, ...]] = {}
            subject_ids: dict[str, list[str]] = {}
            for case, policy_case, roles in listed:
                mine = [i for i in interventions.get(case.id, []) if _owned_by(i, viewer)]
                open_ = [
                    i for i in interventions.get(case.id, []) if i.status not in ENDED_STATUSES
                ]
                overdue = [i for i in open_ if i.deadline < today]
                if query.overdue_only and not overdue:
                    continue
                view = self._identity.read(session, viewer, case, policy_case)
                disclosed.update({k: v for k, v in view.disclosed(case.id).items() if k != case.id})
                subject_ids[case.id] = [v.subject.id for v in view.subjects]
                due = due_steps(case, today)
                items.append(
                    CaseloadItem(
                        id=case.id,
                        kind=case.kind,
                        table=case.table_id,
                        phase=case.phase,
                        my_roles=roles,
                        registered_at=case.registered_at,
                        next_case_conference=meetings.get(case.id),
                        subjects=[
                            CaseloadSubject(
                                id=v.subject.id,
                                role_in_case=v.subject.role_in_case,
                                name=v.released.get("name"),
                            )
                            for v in view.subjects
                        ],
                        open_interventions=len(open_),
                        overdue_interventions=len(overdue),
                        my_open_interventions=sum(1 for i in mine if i in open_),
                        my_overdue_interventions=sum(1 for i in mine if i in overdue),
                        next_deadline=min((i.deadline for i in open_), default=None),
                        urgency=case.urgency,
                        review_on=case.review_on,
                        due=due,
                        overdue_steps=sum(1 for d in due if d.overdue),
                    )
                )
            items.sort(key=_sort_key(query.sort))
            more = len(items) > MAX_CASELOAD
            items = items[:MAX_CASELOAD]
            kept = {item.id for item in items}
            kept_subjects = {s for cid in kept for s in subject_ids.get(cid, [])}
            logged = {k: v for k, v in disclosed.items() if k in kept_subjects}
            pseudonyms = {}
            for cid in kept:
                names = subject_pseudonyms_by_id(session, subject_ids.get(cid, []), cid)
                pseudonyms.update({k: v for k, v in names.items() if k in logged})
            self._log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.ALLOWED,
                    object_ids=[item.id for item in items],
                    disclosed=logged,
                    fact_subjects=pseudonyms,
                    reason="caseload",
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return CaseloadOut(cases=items, more=more, today=today)


def due_steps(case: Case, today: date) -> list[DueStep]:
    """The steps triage set a date for that the case has not taken yet (ADR 0014): the
    review while the case is open, preparation and the case conference until it reaches
    them; overdue when the date has passed."""
    reached = PHASE_ORDER.index(Phase(case.phase))
    steps: list[
        tuple[Literal["review", "preparation", "case_conference"], date | None, Phase | None]
    ] = [
        ("review", case.review_on, None),
        ("preparation", case.preparation_due, Phase.PREPARATION),
        ("case_conference", case.case_conference_due, Phase.CASE_CONFERENCE),
    ]
    out: list[DueStep] = []
    for step, day, phase in steps:
        if day is None or case.phase == Phase.CLOSED.value:
            continue
        if phase is not None and reached >= PHASE_ORDER.index(phase):
            continue
        out.append(DueStep(step=step, due_on=day, overdue=day < today))
    return sorted(out, key=lambda d: (d.due_on, d.step))


def _roles(viewer: Viewer, case: CaseInput) -> list[str]:
    """How the viewer takes part, read from the case as the policy sees it (the same
    invitations, withdrawn ones left out): procesregisseur, casusregisseur, participant."""
    me = {"partner": viewer.partner, "user": viewer.user}
    roles = [r for r in ("procesregisseur", "casusregisseur") if case[r] == me]
    invitation = case["participants"].get(viewer.partner)
    # an invitation without users is one of the whole partner
    if invitation is not None and (not invitation["users"] or viewer.user in invitation["users"]):
        roles.append("participant")
    return roles


def _owned_by(intervention: InterventionIndex, viewer: Viewer) -> bool:
    return intervention.owner_partner == viewer.partner and intervention.owner_user in (
        None,
        viewer.user,
    )


def _by_case(rows: Sequence[InterventionIndex]) -> dict[str, list[InterventionIndex]]:
    out: dict[str, list[InterventionIndex]] = defaultdict(list)
    for row in rows:
        out[row.case_id].append(row)
    return out


def _next_meetings(session: Session, case_ids: Sequence[str], today: date) -> dict[str, date]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(AgendaItem.case_id, func.min(AgendaItem.meeting_date))
        .where(AgendaItem.case_id.in_(sorted(set(case_ids))), AgendaItem.meeting_date >= today)
        .group_by(AgendaItem.case_id)
    )
    found: dict[str, date] = {case_id: meeting for case_id, meeting in rows}
    # case conferences (ADR 0013) count as well as the old agenda items, on the Dutch date
    since = datetime.combine(today, time.min, ZONE)
    for case_id, starts_at in MeetingRepository.next_starts(session, case_ids, since).items():
        day = starts_at.astimezone(ZONE).date()
        found[case_id] = min(found.get(case_id, day), day)
    return found


def _sort_key(sort: str) -> Callable[[CaseloadItem], tuple[object, ...]]:
    far = date.max
    if sort == "next_case_conference":
        return lambda i: (i.next_case_conference or far, i.id)
    if sort == "next_deadline":
        return lambda i: (i.next_deadline or far, i.id)
    if sort == "phase":
        return lambda i: (PHASE_ORDER.index(Phase(i.phase)), i.id)
    return lambda i: (i.registered_at, i.id)  # "registered_at"
