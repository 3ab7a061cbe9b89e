"""The need-to-know briefing and the updates feed; both go through the one door."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.context import HubContext, get_context
from hub.disclosure.briefing import BriefingService
from hub.disclosure.schemas import Briefing, Updates
from hub.http import MAX_PARAM_INT, SafeJSONResponse, model_response
from hub.identity.dependencies import CurrentViewer

router = APIRouter(tags=["briefing"])


def briefing_service(ctx: Annotated[HubContext, Depends(get_context)]) -> BriefingService:
    return ctx.briefing


Door = Annotated[BriefingService, Depends(briefing_service)]


@router.get(
    "/cases/{case_id}/briefing",
    response_model=Briefing,
    summary="What you need to know about this case, for your stated purpose",
)
def briefing(case_id: str, viewer: CurrentViewer, door: Door) -> SafeJSONResponse:
    return model_response(door.briefing(viewer, case_id))


@router.get(
    "/cases/{case_id}/updates",
    response_model=Updates,
    summary="Facts released to you that changed after a cursor",
)
def updates(
    case_id: str,
    viewer: CurrentViewer,
    door: Door,
    cursor: Annotated[int, Query(ge=0, le=MAX_PARAM_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SafeJSONResponse:
    return model_response(door.updates(viewer, case_id, cursor, limit))
