"""Case conference endpoints (HTTP only: parse, call the service, shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import AwareDatetime

from hub.context import HubContext, get_context
from hub.disclosure.minutes import MinutesDisclosure
from hub.identity.dependencies import CurrentViewer
from hub.meetings.schemas import (
    AttendanceIn,
    InviteeIn,
    ItemIn,
    ItemOut,
    MeetingIn,
    MeetingOut,
    MinutesIn,
    MinutesOut,
    MinutesRecorded,
)
from hub.meetings.service import MeetingService
from hub.openapi import problems

router = APIRouter(tags=["meetings"])


def meeting_service(ctx: Annotated[HubContext, Depends(get_context)]) -> MeetingService:
    return ctx.meetings


def minutes_door(ctx: Annotated[HubContext, Depends(get_context)]) -> MinutesDisclosure:
    return ctx.minutes


Meetings = Annotated[MeetingService, Depends(meeting_service)]
Minutes = Annotated[MinutesDisclosure, Depends(minutes_door)]
MeetingId = Annotated[str, Path(min_length=1, max_length=36)]
ItemId = Annotated[str, Path(min_length=1, max_length=36)]


@router.post(
    "/meetings",
    response_model=MeetingOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a case conference (casusoverleg) of a table",
    description=(
        "Schedules a case conference (casusoverleg) of a table, with its chair. A ZVH "
        "`procesregisseur`, purpose `case_conference`. The policy's decision, allowed or "
        "refused, is written to the access log."
    ),
    responses=problems(409),
)
def schedule_meeting(body: MeetingIn, viewer: CurrentViewer, meetings: Meetings) -> MeetingOut:
    return meetings.schedule(viewer, body)


@router.get(
    "/meetings",
    response_model=list[MeetingOut],
    summary="The scheduled case conferences from `since` on that you may see, earliest first",
    description=(
        "The scheduled case conferences from `since` on that the caller may see, earliest "
        "first. Members of a case on them, purpose `case_conference`. The policy's decision, "
        "allowed or refused, is written to the access log."
    ),
)
def list_meetings(
    viewer: CurrentViewer, meetings: Meetings, since: Annotated[AwareDatetime, Query()]
) -> list[MeetingOut]:
    return meetings.upcoming(viewer, since)


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingOut,
    summary="A case conference, with the cases on it that you may read",
    description=(
        "A case conference, with the cases on it that the caller may read. Purpose "
        "`case_conference`. The policy's decision, allowed or refused, is written to the "
        "access log."
    ),
    responses=problems(404),
)
def read_meeting(meeting_id: MeetingId, viewer: CurrentViewer, meetings: Meetings) -> MeetingOut:
    return meetings.read(viewer, meeting_id)


@router.get(
    "/meetings/{meeting_id}/calendar.ics",
    summary="The case conference as an iCalendar file (case references only)",
    response_class=Response,
    description=(
        "The case conference as an iCalendar file, with case references only (no names). The "
        "chair or the person who scheduled it (`procesregisseur` or `casusregisseur`), "
        "purpose `case_conference`. The policy's decision, allowed or refused, is written to "
        "the access log."
    ),
    responses={**problems(404), 200: {"content": {"text/calendar": {}}}},
)
def meeting_calendar(meeting_id: MeetingId, viewer: CurrentViewer, meetings: Meetings) -> Response:
    return Response(
        content=meetings.calendar(viewer, meeting_id),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="casusoverleg.ics"'},
    )


@router.post(
    "/meetings/{meeting_id}/items",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a case on the case conference (the case's procesregisseur)",
    description=(
        "Puts a case on the case conference. The case's `procesregisseur`, purpose "
        "`case_conference`. The policy's decision, allowed or refused, is written to the "
        "access log."
    ),
    responses=problems(404, 409),
)
def add_item(
    meeting_id: MeetingId, body: ItemIn, viewer: CurrentViewer, meetings: Meetings
) -> ItemOut:
    return meetings.add_item(viewer, meeting_id, body)


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/invitees",
    response_model=ItemOut,
    summary="Invite a partner of the case, or a named professional, to discuss it",
    description=(
        "Invites a partner of the case, or a named professional, to the discussion of the "
        "case. The case's `procesregisseur`. The policy's decision, allowed or refused, is "
        "written to the access log."
    ),
    responses=problems(404, 409),
)
def invite(
    meeting_id: MeetingId,
    item_id: ItemId,
    body: InviteeIn,
    viewer: CurrentViewer,
    meetings: Meetings,
) -> ItemOut:
    return meetings.invite(viewer, meeting_id, item_id, body)


@router.put(
    "/meetings/{meeting_id}/items/{item_id}/attendance",
    response_model=ItemOut,
    summary="Record who attended the discussion of the case",
    description=(
        "Records who attended the discussion of the case. The case's `procesregisseur` or "
        "`casusregisseur`, purpose `case_conference`. The policy's decision, allowed or "
        "refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def record_attendance(
    meeting_id: MeetingId,
    item_id: ItemId,
    body: AttendanceIn,
    viewer: CurrentViewer,
    meetings: Meetings,
) -> ItemOut:
    return meetings.record_attendance(viewer, meeting_id, item_id, body)


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/minutes",
    response_model=MinutesRecorded,
    status_code=status.HTTP_201_CREATED,
    summary="Record minutes (per life domain) and decisions of the case's discussion",
    description=(
        "Records the minutes (per life domain) and decisions of the case's discussion. The "
        "case's `procesregisseur` or `casusregisseur`, purpose `case_conference`. The "
        "policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404, 409),
)
def record_minutes(
    meeting_id: MeetingId,
    item_id: ItemId,
    body: MinutesIn,
    viewer: CurrentViewer,
    meetings: Meetings,
) -> MinutesRecorded:
    return meetings.record_minutes(viewer, meeting_id, item_id, body)


@router.get(
    "/meetings/{meeting_id}/items/{item_id}/minutes",
    response_model=MinutesOut,
    summary="The minutes of the case's discussion, each part's text as the policy releases it",
    description=(
        "The minutes of the case's discussion, each part's text as the policy releases it to "
        "the caller. Members of the case, purpose `case_conference`, `plan` or `execution`. "
        "The policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404),
)
def read_minutes(
    meeting_id: MeetingId, item_id: ItemId, viewer: CurrentViewer, minutes: Minutes
) -> MinutesOut:
    return minutes.read(viewer, meeting_id, item_id)
