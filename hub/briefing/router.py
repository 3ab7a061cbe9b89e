"""The need-to-know briefing and the updates feed; both go through the one door."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.context import HubContext, get_context
from hub.disclosure.briefing import BriefingService
from hub.disclosure.cursor import MAX_CURSOR_CHARS, MAX_PAGE
from hub.disclosure.schemas import Briefing, Updates
from hub.http import SafeJSONResponse, model_response
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems

router = APIRouter(tags=["briefing"])


def briefing_service(ctx: Annotated[HubContext, Depends(get_context)]) -> BriefingService:
    return ctx.briefing


Door = Annotated[BriefingService, Depends(briefing_service)]
#: a page is at most MAX_PAGE facts, so one answer and one access-log entry stay bounded
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Facts per page, at most {MAX_PAGE}.")]


@router.get(
    "/cases/{case_id}/briefing",
    response_model=Briefing,
    summary="What you need to know about this case, for your stated purpose",
    description=(
        "The need-to-know briefing: per life domain, the facts the policy releases to the "
        "caller for the stated purpose, each at its disclosure level (summary or full; fields "
        "the caller may not see are left out). Paged by cursor. Members of the case with a "
        "case-work purpose that fits the phase. Every fact disclosed or withheld is named in "
        "the access-log entry of the read."
    ),
    responses=problems(404),
)
def briefing(
    case_id: str,
    viewer: CurrentViewer,
    door: Door,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="The `next_cursor` of the previous page; absent for the first page.",
        ),
    ] = None,
    limit: Limit = MAX_PAGE,
) -> SafeJSONResponse:
    return model_response(door.briefing(viewer, case_id, cursor, limit))


@router.get(
    "/cases/{case_id}/updates",
    response_model=Updates,
    summary="Facts released to you that changed after a cursor",
    description=(
        "Facts released to the caller that were published, corrected or withdrawn after a "
        "cursor: poll with the `next_cursor` of the previous read. Same rules and logging as "
        "the briefing."
    ),
    responses=problems(404),
)
def updates(
    case_id: str,
    viewer: CurrentViewer,
    door: Door,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="The `next_cursor` of the previous read; absent or `0` for the start.",
        ),
    ] = None,
    limit: Limit = MAX_PAGE,
) -> SafeJSONResponse:
    return model_response(door.updates(viewer, case_id, cursor, limit))
