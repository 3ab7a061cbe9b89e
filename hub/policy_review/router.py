"""The privacy officer's endpoints (HTTP only: parse, call the service, shape the answer).

Every request states the purpose `policy_review`; the policy's action catalogue decides who
may read, simulate, load and approve (read_policies, simulate_policy, load_policy,
approve_policy), and the service logs each act.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from hub.context import HubContext, get_context
from hub.errors import HubError
from hub.identity.dependencies import CurrentViewer
from hub.policy_review.schemas import (
    ApprovalResult,
    DiffOut,
    MatrixOut,
    PolicyVersionList,
    PolicyVersionOut,
    SimulationIn,
    SimulationOut,
)
from hub.policy_review.service import PolicyReviewService
from hub.policy_review.simulation import SimulationService
from hub.vocabulary import TableId

router = APIRouter(prefix="/policies", tags=["policies"])

BUNDLE_TYPES = frozenset(
    {"application/gzip", "application/x-gzip", "application/octet-stream", "application/x-tar+gzip"}
)
VersionRef = Annotated[
    str,
    Path(
        pattern=r"^([0-9a-f]{8,64}|active)$",
        description="A version hash, a unique prefix of at least 8 hex digits, or `active`.",
    ),
]


class UnsupportedBundleType(HubError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
    default_detail = "Upload a policy bundle as application/gzip (a tar.gz of the policy dir)."


def policy_review_service(ctx: Annotated[HubContext, Depends(get_context)]) -> PolicyReviewService:
    return ctx.policy_review


Policies = Annotated[PolicyReviewService, Depends(policy_review_service)]


def simulation_service(ctx: Annotated[HubContext, Depends(get_context)]) -> SimulationService:
    return ctx.simulation


Simulations = Annotated[SimulationService, Depends(simulation_service)]


@router.get("", response_model=PolicyVersionList, summary="Loaded policy versions")
def list_versions(viewer: CurrentViewer, policies: Policies) -> PolicyVersionList:
    return policies.list_versions(viewer)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PolicyVersionOut,
    summary="Load a policy version (tar.gz of the policy dir); inactive until approved",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def load_version(
    request: Request, viewer: CurrentViewer, policies: Policies
) -> PolicyVersionOut:
    # the raw body: a JSON parser must never see a bundle, and a wrong type is a 415
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in BUNDLE_TYPES:
        raise UnsupportedBundleType()
    data = await request.body()
    return await run_in_threadpool(policies.load_upload, viewer, data)


@router.get("/{version}", response_model=PolicyVersionOut, summary="One policy version")
def get_version(version: VersionRef, viewer: CurrentViewer, policies: Policies) -> PolicyVersionOut:
    return policies.get_version(viewer, version)


@router.get(
    "/{version}/matrix", response_model=MatrixOut, summary="The disclosure matrix of a version"
)
def matrix(version: VersionRef, viewer: CurrentViewer, policies: Policies) -> MatrixOut:
    return policies.matrix(viewer, version)


@router.get(
    "/{version}/bundle",
    response_class=Response,
    responses={200: {"content": {"application/gzip": {}}}},
    summary="The stored bundle of a version (canonical tar.gz)",
)
def bundle(version: VersionRef, viewer: CurrentViewer, policies: Policies) -> Response:
    full, data = policies.bundle(viewer, version)
    return Response(
        data,
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="policy-{full[:12]}.tar.gz"'},
    )


@router.get(
    "/{old}/diff/{new}",
    response_model=DiffOut,
    summary="Every decision that changes from one version to another (evaluated, not text)",
)
def diff(
    old: VersionRef,
    new: VersionRef,
    viewer: CurrentViewer,
    policies: Policies,
    table: Annotated[TableId | None, Query(description="Only this table.")] = None,
    exhaustive: Annotated[
        bool, Query(description="Ask all nine purposes instead of a sentinel for the rest.")
    ] = False,
) -> DiffOut:
    return policies.diff(
        viewer, old, new, table=table.value if table else None, exhaustive=exhaustive
    )


@router.post(
    "/{version}/approvals",
    response_model=ApprovalResult,
    summary="Approve a version; the second privacy officer's approval activates it",
    responses={201: {"model": ApprovalResult}},
)
def approve(
    version: VersionRef, viewer: CurrentViewer, policies: Policies, response: Response
) -> ApprovalResult:
    result = policies.approve(viewer, version)
    response.status_code = status.HTTP_201_CREATED if result.approval_recorded else 200
    return result


@router.post(
    "/simulations",
    response_model=SimulationOut,
    summary="What would this viewer see, and why (synthetic facts or a real case's decisions)",
)
def simulate(body: SimulationIn, viewer: CurrentViewer, simulations: Simulations) -> SimulationOut:
    return simulations.simulate(viewer, body)
