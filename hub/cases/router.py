"""Case workflow endpoints (HTTP only: parse, call the service, shape the answer)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from hub.cases.agenda import AgendaService
from hub.cases.caseload import CaseloadService
from hub.cases.coordination import CoordinationService
from hub.cases.intake import IntakeService
from hub.cases.notices import NoticeService, dutch_today
from hub.cases.participants import ParticipantService
from hub.cases.phases import PhaseService
from hub.cases.schemas import (
    AgendaIn,
    AgendaItemOut,
    CaseCoordinationOut,
    CaseIn,
    CaseloadOut,
    CaseloadQuery,
    CaseNoticesOut,
    CaseOut,
    ClosureIn,
    CoordinationIn,
    InvitationIn,
    NoticeIn,
    NoticeOut,
    PhaseChangeIn,
    RegisseurIn,
    ScreeningIn,
    ScreeningOut,
    StatisticsOut,
    SubjectCorrectionIn,
    SubjectVersionOut,
    TriageIn,
)
from hub.cases.screening import ScreeningService
from hub.cases.statistics import StatisticsService
from hub.context import HubContext, get_context
from hub.http import BoundedDate
from hub.identity.dependencies import CurrentViewer
from hub.vocabulary import TableId

router = APIRouter(tags=["cases"])
Hub = Annotated[HubContext, Depends(get_context)]


def _intake(ctx: Hub) -> IntakeService:
    return ctx.intake


def _screening(ctx: Hub) -> ScreeningService:
    return ctx.screening


def _participants(ctx: Hub) -> ParticipantService:
    return ctx.participants


def _phases(ctx: Hub) -> PhaseService:
    return ctx.phases


def _agenda(ctx: Hub) -> AgendaService:
    return ctx.agenda


Intake = Annotated[IntakeService, Depends(_intake)]
Screening = Annotated[ScreeningService, Depends(_screening)]
Participants = Annotated[ParticipantService, Depends(_participants)]
Phases = Annotated[PhaseService, Depends(_phases)]
Agenda = Annotated[AgendaService, Depends(_agenda)]


def _caseload(ctx: Hub) -> CaseloadService:
    return ctx.caseload


Caseload = Annotated[CaseloadService, Depends(_caseload)]


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
    summary="Register a case (aanmelding)",
)
def register_case(body: CaseIn, viewer: CurrentViewer, cases: Intake) -> CaseOut:
    return cases.register(viewer, body)


@router.get("/cases", response_model=list[CaseOut], summary="Cases you take part in")
def list_cases(viewer: CurrentViewer, cases: Intake) -> list[CaseOut]:
    return cases.list_for(viewer)


@router.get(
    "/caseload",
    response_model=CaseloadOut,
    summary="Your caseload (mijn casussen): every case you work on (Purpose: case_management)",
)
def caseload(
    viewer: CurrentViewer,
    cases: Caseload,
    query: Annotated[CaseloadQuery, Query()],
) -> CaseloadOut:
    return cases.caseload(viewer, query, today=date.today())


@router.get("/cases/{case_id}", response_model=CaseOut, summary="Case metadata")
def get_case(case_id: str, viewer: CurrentViewer, cases: Intake) -> CaseOut:
    return cases.get(viewer, case_id)


@router.put(
    "/cases/{case_id}/subjects/{subject_id}",
    response_model=SubjectVersionOut,
    summary="Correct a subject's identifying data (registering partner only)",
)
def correct_subject(
    case_id: str,
    subject_id: str,
    body: SubjectCorrectionIn,
    viewer: CurrentViewer,
    cases: Intake,
) -> SubjectVersionOut:
    return cases.correct_subject(viewer, case_id, subject_id, body)


@router.post(
    "/cases/{case_id}/procesregie",
    response_model=CaseOut,
    summary="Take on the procesregie of a case at intake",
)
def take_case(case_id: str, viewer: CurrentViewer, cases: Screening) -> CaseOut:
    return cases.take(viewer, case_id)


@router.post(
    "/cases/{case_id}/screenings",
    response_model=ScreeningOut,
    summary="Screen subjects: which partner kinds are involved (hit/no-hit)",
)
def screen_case(
    case_id: str, body: ScreeningIn, viewer: CurrentViewer, cases: Screening
) -> ScreeningOut:
    return cases.screen(viewer, case_id, body)


@router.post(
    "/cases/{case_id}/triage",
    response_model=CaseOut,
    summary="Record the Landelijk kader criteria and accept or reject the case",
)
def triage_case(case_id: str, body: TriageIn, viewer: CurrentViewer, cases: Screening) -> CaseOut:
    return cases.triage(viewer, case_id, body)


@router.post(
    "/cases/{case_id}/participants",
    response_model=CaseOut,
    summary="Invite a partner or a named professional",
)
def invite(case_id: str, body: InvitationIn, viewer: CurrentViewer, cases: Participants) -> CaseOut:
    return cases.invite(viewer, case_id, body.partner, body.user)


@router.delete(
    "/cases/{case_id}/participants/{participant_id}",
    response_model=CaseOut,
    summary="Withdraw an invitation",
)
def withdraw(
    case_id: str, participant_id: str, viewer: CurrentViewer, cases: Participants
) -> CaseOut:
    return cases.withdraw(viewer, case_id, participant_id)


@router.put(
    "/cases/{case_id}/casusregisseur", response_model=CaseOut, summary="Assign the casusregisseur"
)
def assign_casusregisseur(
    case_id: str, body: RegisseurIn, viewer: CurrentViewer, cases: Participants
) -> CaseOut:
    return cases.assign_casusregisseur(viewer, case_id, body.partner, body.user)


@router.post(
    "/cases/{case_id}/phase-changes",
    response_model=CaseOut,
    summary="Move the case one phase forward",
)
def change_phase(
    case_id: str, body: PhaseChangeIn, viewer: CurrentViewer, cases: Phases
) -> CaseOut:
    return cases.change_phase(viewer, case_id, body.to)


@router.post("/cases/{case_id}/closure", response_model=CaseOut, summary="Close the case")
def close_case(case_id: str, body: ClosureIn, viewer: CurrentViewer, cases: Phases) -> CaseOut:
    return cases.close(viewer, case_id, body.outcome)


@router.post(
    "/tables/{table}/agenda",
    response_model=AgendaItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a case on a meeting's agenda",
)
def schedule(table: TableId, body: AgendaIn, viewer: CurrentViewer, cases: Agenda) -> AgendaItemOut:
    return cases.schedule(viewer, table, body.case_id, body.meeting_date)


@router.get(
    "/tables/{table}/agenda",
    response_model=list[AgendaItemOut],
    summary="A table's agenda (cases you may see)",
)
def agenda(
    table: TableId,
    viewer: CurrentViewer,
    cases: Agenda,
    since: Annotated[BoundedDate | None, Query()] = None,
) -> list[AgendaItemOut]:
    return cases.agenda(viewer, table, since)


def _notices(ctx: Hub) -> NoticeService:
    return ctx.notices


Notices = Annotated[NoticeService, Depends(_notices)]


@router.post(
    "/cases/{case_id}/subjects/{subject_id}/notices",
    response_model=NoticeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record that a subject was informed, or that informing is postponed",
)
def record_notice(
    case_id: str,
    subject_id: str,
    body: NoticeIn,
    viewer: CurrentViewer,
    notices: Notices,
) -> NoticeOut:
    return notices.record(viewer, case_id, subject_id, body)


@router.get(
    "/cases/{case_id}/notices",
    response_model=CaseNoticesOut,
    summary="Per subject: informed, postponed or missing, with the history",
)
def read_notices(case_id: str, viewer: CurrentViewer, notices: Notices) -> CaseNoticesOut:
    return notices.read(viewer, case_id)


def _coordination(ctx: Hub) -> CoordinationService:
    return ctx.coordination


Coordination = Annotated[CoordinationService, Depends(_coordination)]


@router.put(
    "/cases/{case_id}/coordination",
    response_model=CaseCoordinationOut,
    summary="Record who coordinates the case with another house or chain, and the status",
)
def record_coordination(
    case_id: str, body: CoordinationIn, viewer: CurrentViewer, coordination: Coordination
) -> CaseCoordinationOut:
    return coordination.record(viewer, case_id, body)


@router.get(
    "/cases/{case_id}/coordination",
    response_model=CaseCoordinationOut,
    summary="Who coordinates the case with which other house or chain",
)
def read_coordination(
    case_id: str, viewer: CurrentViewer, coordination: Coordination
) -> CaseCoordinationOut:
    return coordination.read(viewer, case_id)


def _statistics(ctx: Hub) -> StatisticsService:
    return ctx.statistics


Statistics = Annotated[StatisticsService, Depends(_statistics)]


@router.get(
    "/statistics",
    response_model=StatisticsOut,
    tags=["statistics"],
    summary="Management information: counts and lead times, small counts suppressed "
    "(Purpose: management_information)",
)
def read_statistics(
    viewer: CurrentViewer,
    statistics: Statistics,
    from_: Annotated[BoundedDate | None, Query(alias="from")] = None,
    to: Annotated[BoundedDate | None, Query()] = None,
) -> StatisticsOut:
    return statistics.read(viewer, from_, to, today=dutch_today())
