"""Case workflow endpoints (HTTP only: parse, call the service, shape the answer)."""

from __future__ import annotations

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
from hub.openapi import problems
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
    description=(
        "Registers a case (aanmelding) with its subjects (identifiers are encrypted and "
        "blind-indexed, never answered back). Who: a `publisher` of a key partner or a "
        "`procesregisseur`, purpose `intake`. An existing open case of the same subject at "
        "the same table answers with that case (`known: true`). The policy's decision, "
        "allowed or refused, is written to the access log."
    ),
    responses=problems(409),
)
def register_case(body: CaseIn, viewer: CurrentViewer, cases: Intake) -> CaseOut:
    return cases.register(viewer, body)


@router.get(
    "/cases",
    response_model=list[CaseOut],
    summary="Cases you take part in",
    description=(
        "The cases the caller takes part in (as participant, regisseur or registrant), "
        "metadata only. Any role that reads cases, with a case-work purpose; the read is "
        "logged."
    ),
)
def list_cases(viewer: CurrentViewer, cases: Intake) -> list[CaseOut]:
    return cases.list_for(viewer)


@router.get(
    "/caseload",
    response_model=CaseloadOut,
    summary="Your caseload (mijn casussen): every case you work on (Purpose: case_management)",
    description=(
        "The caller's caseload (mijn casussen): every case the caller works on, with phase, "
        "table, deadlines and what is overdue; never fact content. Roles `publisher`, "
        "`participant`, `procesregisseur` or `casusregisseur`, purpose `case_management` only "
        "(any other purpose answers 400). The policy's decision, allowed or refused, is "
        "written to the access log."
    ),
)
def caseload(
    viewer: CurrentViewer,
    cases: Caseload,
    query: Annotated[CaseloadQuery, Query()],
) -> CaseloadOut:
    return cases.caseload(viewer, query, today=dutch_today())


@router.get(
    "/cases/{case_id}",
    response_model=CaseOut,
    summary="Case metadata",
    description=(
        "A case's metadata: table, phase, participants and regisseurs. Members of the case "
        "(participants, publishers, regisseurs) with a case-work purpose that fits the phase; "
        "an outsider gets the same 404 as for an unknown id. The policy's decision, allowed "
        "or refused, is written to the access log."
    ),
    responses=problems(404),
)
def get_case(case_id: str, viewer: CurrentViewer, cases: Intake) -> CaseOut:
    return cases.get(viewer, case_id)


@router.put(
    "/cases/{case_id}/subjects/{subject_id}",
    response_model=SubjectVersionOut,
    summary="Correct a subject's identifying data (registering partner only)",
    description=(
        "Corrects a subject's identifying data (a new version; the old one stays for the "
        "log). Only the registering partner (`publisher` or `procesregisseur` of a key "
        "partner), with the version it last read (409 when another correction came first). "
        "The policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
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
    description=(
        "A ZVH `procesregisseur` takes on the procesregie of a case at intake (purpose "
        "`intake` or `screening`); 409 when the case already has one. The policy's decision, "
        "allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def take_case(case_id: str, viewer: CurrentViewer, cases: Screening) -> CaseOut:
    return cases.take(viewer, case_id)


@router.post(
    "/cases/{case_id}/screenings",
    response_model=ScreeningOut,
    summary="Screen subjects: which partner kinds are involved (hit/no-hit)",
    description=(
        "Screening (hit/no-hit): which partner kinds are involved with the subjects, without "
        "disclosing anything else. The case's ZVH `procesregisseur`, purpose `screening`. The "
        "policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def screen_case(
    case_id: str, body: ScreeningIn, viewer: CurrentViewer, cases: Screening
) -> ScreeningOut:
    return cases.screen(viewer, case_id, body)


@router.post(
    "/cases/{case_id}/triage",
    response_model=CaseOut,
    summary="Record the Landelijk kader criteria and accept or reject the case",
    description=(
        "Records the Landelijk kader criteria and accepts or rejects the case. The case's ZVH "
        "`procesregisseur`, purpose `screening`; 409 when the case is not in screening. The "
        "policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def triage_case(case_id: str, body: TriageIn, viewer: CurrentViewer, cases: Screening) -> CaseOut:
    return cases.triage(viewer, case_id, body)


@router.post(
    "/cases/{case_id}/participants",
    response_model=CaseOut,
    summary="Invite a partner or a named professional",
    description=(
        "Invites a partner, or a named professional of a partner, to the case. The case's "
        "`procesregisseur`, with a purpose of the case's current phase. The policy's "
        "decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def invite(case_id: str, body: InvitationIn, viewer: CurrentViewer, cases: Participants) -> CaseOut:
    return cases.invite(viewer, case_id, body.partner, body.user)


@router.delete(
    "/cases/{case_id}/participants/{participant_id}",
    response_model=CaseOut,
    summary="Withdraw an invitation",
    description=(
        "Withdraws an invitation; the partner reads nothing of the case from then on. The "
        "case's `procesregisseur`. The policy's decision, allowed or refused, is written to "
        "the access log."
    ),
    responses=problems(404, 409),
)
def withdraw(
    case_id: str, participant_id: str, viewer: CurrentViewer, cases: Participants
) -> CaseOut:
    return cases.withdraw(viewer, case_id, participant_id)


@router.put(
    "/cases/{case_id}/casusregisseur",
    response_model=CaseOut,
    summary="Assign the casusregisseur",
    description=(
        "Assigns the casusregisseur (from preparation on). The case's `procesregisseur`, with "
        "a purpose of the case's phase. The policy's decision, allowed or refused, is written "
        "to the access log."
    ),
    responses=problems(404, 409),
)
def assign_casusregisseur(
    case_id: str, body: RegisseurIn, viewer: CurrentViewer, cases: Participants
) -> CaseOut:
    return cases.assign_casusregisseur(viewer, case_id, body.partner, body.user)


@router.post(
    "/cases/{case_id}/phase-changes",
    response_model=CaseOut,
    summary="Move the case one phase forward",
    description=(
        "Moves the case one phase forward (never back, never skipping). The case's "
        "`procesregisseur` or `casusregisseur`, as the phase allows; 409 when the case cannot "
        "move (open interventions, missing notices). The policy's decision, allowed or "
        "refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def change_phase(
    case_id: str, body: PhaseChangeIn, viewer: CurrentViewer, cases: Phases
) -> CaseOut:
    return cases.change_phase(viewer, case_id, body.to)


@router.post(
    "/cases/{case_id}/closure",
    response_model=CaseOut,
    summary="Close the case",
    description=(
        "Closes the case with its outcome; retention starts. The case's `procesregisseur` or "
        "`casusregisseur`. The policy's decision, allowed or refused, is written to the "
        "access log."
    ),
    responses=problems(404, 409),
)
def close_case(case_id: str, body: ClosureIn, viewer: CurrentViewer, cases: Phases) -> CaseOut:
    return cases.close(viewer, case_id, body.outcome)


@router.post(
    "/tables/{table}/agenda",
    response_model=AgendaItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a case on a meeting's agenda",
    description=(
        "Puts a case on a table's meeting agenda. The case's `procesregisseur`. The policy's "
        "decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def schedule(table: TableId, body: AgendaIn, viewer: CurrentViewer, cases: Agenda) -> AgendaItemOut:
    return cases.schedule(viewer, table, body.case_id, body.meeting_date)


@router.get(
    "/tables/{table}/agenda",
    response_model=list[AgendaItemOut],
    summary="A table's agenda (cases you may see)",
    description=(
        "A table's agenda from `since` on, listing only the cases the caller may see. Members "
        "of those cases, with a case-work purpose. The policy's decision, allowed or refused, "
        "is written to the access log."
    ),
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
    description=(
        "Records that a subject was informed about the case, or that informing is postponed "
        "(with the reason and a review date). The case's regisseur, or the registering "
        "partner. The policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
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
    description=(
        "Per subject: informed, postponed or missing, with the history. Members of the case. "
        "The policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404),
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
    description=(
        "Records who coordinates the case with another house or chain (regievoerder) and the "
        "status. The case's ZVH `procesregisseur`. The policy's decision, allowed or refused, "
        "is written to the access log."
    ),
    responses=problems(404),
)
def record_coordination(
    case_id: str, body: CoordinationIn, viewer: CurrentViewer, coordination: Coordination
) -> CaseCoordinationOut:
    return coordination.record(viewer, case_id, body)


@router.get(
    "/cases/{case_id}/coordination",
    response_model=CaseCoordinationOut,
    summary="Who coordinates the case with which other house or chain",
    description=(
        "Who coordinates the case with which other house or chain. Members of the case. The "
        "policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404),
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
    description=(
        "Management information for the annual report: counts and lead times per table and "
        "period, small counts suppressed, no case ids. `procesregisseur`, `privacy_officer` "
        "or `auditor`, purpose `management_information`. The policy's decision, allowed or "
        "refused, is written to the access log."
    ),
)
def read_statistics(
    viewer: CurrentViewer,
    statistics: Statistics,
    from_: Annotated[BoundedDate | None, Query(alias="from")] = None,
    to: Annotated[BoundedDate | None, Query()] = None,
) -> StatisticsOut:
    return statistics.read(viewer, from_, to, today=dutch_today())
