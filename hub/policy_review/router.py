"""The privacy officer's endpoints (HTTP only: parse, call the service, shape the answer).

Every request states the purpose `policy_review`; the policy's action catalogue decides who
may read, simulate, load and approve (read_policies, simulate_policy, load_policy,
approve_policy), and the service logs each act. The protected test suite's routes
(`/policies/suites...`) use the same actions: changing it is a policy change.

The suite routes come first: `/policies/{version}` would otherwise take `suites` for a
version reference.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from hub.context import HubContext, get_context
from hub.errors import HubError
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems
from hub.policy_review.history import history_csv
from hub.policy_review.schemas import (
    ApprovalIn,
    ApprovalResult,
    DiffOut,
    MatrixOut,
    PolicyHistoryOut,
    PolicyVersionList,
    PolicyVersionOut,
    ProtectedSuiteList,
    ProtectedSuiteOut,
    SimulationIn,
    SimulationOut,
    SuiteApprovalResult,
    SuiteDiffOut,
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


BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _bundle_bytes(request: Request) -> bytes:
    # the raw body: a JSON parser must never see a bundle, and a wrong type is a 415
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in BUNDLE_TYPES:
        raise UnsupportedBundleType()
    return await request.body()


# --- the protected test suite (before /{version}) ---------------------------------------------


@router.get(
    "/suites",
    response_model=ProtectedSuiteList,
    summary="The protected test suite: the active one and proposed changes",
    description=(
        "The protected policy test suite: the active one and proposed changes. Who: a "
        "`privacy_officer` or `auditor`, purpose `policy_review`; the read is logged."
    ),
)
def list_suites(viewer: CurrentViewer, policies: Policies) -> ProtectedSuiteList:
    return policies.list_suites(viewer)


@router.post(
    "/suites",
    status_code=status.HTTP_201_CREATED,
    response_model=ProtectedSuiteOut,
    summary="Propose a new protected test suite (tar.gz; its _test.rego files are the suite)",
    openapi_extra=BUNDLE_BODY,
    description=(
        "Proposes a new protected test suite (a tar.gz whose `_test.rego` files are the "
        "suite); inactive until the network's quorum approves it. Who: a `privacy_officer`, "
        "purpose `policy_review`; logged."
    ),
    responses=problems(409, 415, 422),
)
async def load_suite(
    request: Request, viewer: CurrentViewer, policies: Policies
) -> ProtectedSuiteOut:
    data = await _bundle_bytes(request)
    return await run_in_threadpool(policies.load_suite_upload, viewer, data)


@router.get(
    "/suites/{old}/diff/{new}",
    response_model=SuiteDiffOut,
    summary="What a protected suite changes, rule by rule, with the digest an approval quotes",
    description=(
        "What a protected suite changes, rule by rule, with the digest an approval quotes. "
        "Who: a `privacy_officer` or `auditor`, purpose `policy_review`; the read is logged."
    ),
    responses=problems(404),
)
def suite_diff(
    old: VersionRef, new: VersionRef, viewer: CurrentViewer, policies: Policies
) -> SuiteDiffOut:
    return policies.suite_diff(viewer, old, new)


@router.post(
    "/suites/{suite}/approvals",
    response_model=SuiteApprovalResult,
    summary="Approve a protected suite change on its diff; the quorum's last approval activates it",
    description=(
        "Approves a protected suite change on the digest of its diff; the approval that "
        "completes the quorum activates it (201). Who: a `privacy_officer`, purpose "
        "`policy_review`; logged."
    ),
    responses={**problems(404, 409), 201: {"model": SuiteApprovalResult}},
)
def approve_suite(
    suite: VersionRef,
    body: ApprovalIn,
    viewer: CurrentViewer,
    policies: Policies,
    response: Response,
) -> SuiteApprovalResult:
    result = policies.approve_suite(viewer, suite, body)
    response.status_code = status.HTTP_201_CREATED if result.approval_recorded else 200
    return result


# --- policy versions ----------------------------------------------------------------------------


@router.get(
    "",
    response_model=PolicyVersionList,
    summary="Loaded policy versions",
    description=(
        "The loaded policy versions, the active one marked. Who: a `privacy_officer` or "
        "`auditor`, purpose `policy_review`; the read is logged."
    ),
)
def list_versions(viewer: CurrentViewer, policies: Policies) -> PolicyVersionList:
    return policies.list_versions(viewer)


@router.get(
    "/history",
    response_model=PolicyHistoryOut,
    summary="The history of policy changes: who loaded and approved each version, when it "
    "was active, what it changed (CSV with Accept: text/csv)",
    description=(
        "The history of policy changes: who loaded and approved each version, when it was "
        "active, what it changed; CSV with `Accept: text/csv`. Who: a `privacy_officer` or "
        "`auditor`, purpose `policy_review`; the read is logged."
    ),
    responses={200: {"content": {"text/csv": {}}}},
)
def history(request: Request, viewer: CurrentViewer, policies: Policies) -> Any:
    # before /{version}: that route matches any segment and would answer 422 for "history"
    out = policies.history(viewer)
    if "text/csv" in request.headers.get("accept", ""):
        return Response(
            history_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="beleidsgeschiedenis.csv"'},
        )
    return out


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PolicyVersionOut,
    summary="Load a policy version (tar.gz of the policy dir); inactive until approved",
    openapi_extra=BUNDLE_BODY,
    description=(
        "Loads a policy version (a tar.gz of the policy directory); it is tested against the "
        "protected suite and stays inactive until approved. Who: a `privacy_officer`, purpose "
        "`policy_review`; logged."
    ),
    responses=problems(409, 415, 422),
)
async def load_version(
    request: Request, viewer: CurrentViewer, policies: Policies
) -> PolicyVersionOut:
    data = await _bundle_bytes(request)
    return await run_in_threadpool(policies.load_upload, viewer, data)


@router.get(
    "/{version}",
    response_model=PolicyVersionOut,
    summary="One policy version",
    description=(
        "One policy version (`active` for the active one). Who: a `privacy_officer` or "
        "`auditor`, purpose `policy_review`; the read is logged."
    ),
    responses=problems(404),
)
def get_version(version: VersionRef, viewer: CurrentViewer, policies: Policies) -> PolicyVersionOut:
    return policies.get_version(viewer, version)


@router.get(
    "/{version}/matrix",
    response_model=MatrixOut,
    summary="The disclosure matrix of a version",
    description=(
        "The disclosure matrix of a version: per fact type, partner kind and purpose, what is "
        "disclosed. Who: a `privacy_officer` or `auditor`, purpose `policy_review`; the read "
        "is logged."
    ),
    responses=problems(404),
)
def matrix(version: VersionRef, viewer: CurrentViewer, policies: Policies) -> MatrixOut:
    return policies.matrix(viewer, version)


@router.get(
    "/{version}/bundle",
    response_class=Response,
    summary="The stored bundle of a version (canonical tar.gz)",
    description=(
        "The stored bundle of a version (canonical tar.gz), to review or reproduce it. Who: a "
        "`privacy_officer` or `auditor`, purpose `policy_review`; the read is logged."
    ),
    responses={**problems(404), 200: {"content": {"application/gzip": {}}}},
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
    description=(
        "Every decision that changes from one version to another (evaluated, not a text "
        "diff). Who: a `privacy_officer` or `auditor`, purpose `policy_review`; the read is "
        "logged."
    ),
    responses=problems(404),
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
    summary="Approve a version on the digest of its diff against the active version; the "
    "approval completing the network's quorum activates it",
    description=(
        "Approves a version on the digest of its diff against the active version (four eyes: "
        "not by the one who loaded it); the approval completing the network's quorum "
        "activates it (201). Who: a `privacy_officer`, purpose `policy_review`; logged."
    ),
    responses={**problems(404, 409), 201: {"model": ApprovalResult}},
)
def approve(
    version: VersionRef,
    body: ApprovalIn,
    viewer: CurrentViewer,
    policies: Policies,
    response: Response,
) -> ApprovalResult:
    result = policies.approve(viewer, version, body)
    response.status_code = status.HTTP_201_CREATED if result.approval_recorded else 200
    return result


@router.post(
    "/simulations",
    response_model=SimulationOut,
    summary="What would this viewer see, and why (synthetic facts or a real case's decisions)",
    description=(
        "What would a viewer see, and why: the policy's decisions on synthetic facts or on a "
        "real case's facts (then only a partner in the case). Who: a `privacy_officer` or "
        "`auditor`, purpose `policy_review`; the read is logged."
    ),
    responses=problems(404),
)
def simulate(body: SimulationIn, viewer: CurrentViewer, simulations: Simulations) -> SimulationOut:
    return simulations.simulate(viewer, body)
