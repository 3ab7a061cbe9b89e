"""Plan endpoints (HTTP only: parse, call the service, shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from hub.context import HubContext, get_context
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems
from hub.plans.schemas import (
    PlanIn,
    PlanOut,
    PlanRecorded,
    PlanVersionList,
    StatusChangeIn,
    StatusChangeOut,
)
from hub.plans.service import PlanService

router = APIRouter(tags=["plans"])


def plan_service(ctx: Annotated[HubContext, Depends(get_context)]) -> PlanService:
    return ctx.plans


Plans = Annotated[PlanService, Depends(plan_service)]
InterventionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]


@router.put(
    "/cases/{case_id}/plan",
    response_model=PlanRecorded,
    summary="Record a new version of the integral analysis and plan of approach",
    description=(
        "Records a new version of the integral analysis and plan of approach (per life "
        "domain, with interventions and their owners). The case's `casusregisseur`, purpose "
        "`plan` or `execution`; 201 for the first version, 200 for later ones. The policy's "
        "decision, allowed or refused, is written to the access log."
    ),
    responses={**problems(404, 409), 201: {"description": "The first version was recorded."}},
)
def record_plan(
    case_id: str, body: PlanIn, viewer: CurrentViewer, plans: Plans, response: Response
) -> PlanRecorded:
    recorded, first = plans.record(viewer, case_id, body)
    if first:
        response.status_code = status.HTTP_201_CREATED
    return recorded


@router.get(
    "/cases/{case_id}/plan",
    response_model=PlanOut,
    summary="The plan of approach (current version, or ?version=N)",
    description=(
        "The plan of approach, current version or `?version=N`, each part as the policy "
        "releases it to the caller. Members of the case, purpose `case_conference`, `plan` or "
        "`execution`. The policy's decision, allowed or refused, is written to the access "
        "log."
    ),
    responses=problems(404),
)
def read_plan(
    case_id: str,
    viewer: CurrentViewer,
    plans: Plans,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> PlanOut:
    return plans.read(viewer, case_id, version)


@router.get(
    "/cases/{case_id}/plan/versions",
    response_model=PlanVersionList,
    summary="The plan's versions: who recorded them and when (no content)",
    description=(
        "The plan's versions: who recorded them and when, no content. Members of the case. "
        "The policy's decision, allowed or refused, is written to the access log."
    ),
    responses=problems(404),
)
def list_plan_versions(case_id: str, viewer: CurrentViewer, plans: Plans) -> PlanVersionList:
    return plans.versions(viewer, case_id)


@router.post(
    "/cases/{case_id}/plan/interventions/{intervention_id}/status-changes",
    response_model=StatusChangeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Report an intervention's status with a monitoring note",
    description=(
        "Reports an intervention's status with a monitoring note. The case's "
        "`casusregisseur`, or the partner that owns the intervention, purpose `plan` or "
        "`execution`. The policy's decision, allowed or refused, is written to the access "
        "log."
    ),
    responses=problems(404, 409),
)
def change_intervention_status(
    case_id: str,
    intervention_id: InterventionId,
    body: StatusChangeIn,
    viewer: CurrentViewer,
    plans: Plans,
) -> StatusChangeOut:
    return plans.change_status(viewer, case_id, intervention_id, body)
