"""The auditor's endpoints. Subject identifiers travel in request bodies, never in URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from hub.audit.report import render_report_html
from hub.audit.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    EntryPage,
    InclusionProofOut,
    SubjectAccessReport,
    SubjectIdentifiers,
    SubjectQuery,
)
from hub.audit.service import AuditService, EntryFilter
from hub.context import HubContext, get_context
from hub.identity.dependencies import CurrentViewer

router = APIRouter(prefix="/audit", tags=["audit"])


def audit_service(ctx: Annotated[HubContext, Depends(get_context)]) -> AuditService:
    return ctx.audit


Audit = Annotated[AuditService, Depends(audit_service)]
_ID = r"^[A-Za-z0-9._:-]{1,64}$"


def entry_filter(
    case_id: Annotated[str | None, Query(pattern=_ID)] = None,
    partner: Annotated[str | None, Query(pattern=_ID)] = None,
    user: Annotated[str | None, Query(pattern=_ID)] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,48}$")] = None,
    outcome: Annotated[Literal["allowed", "denied", "error"] | None, Query()] = None,
    purpose: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> EntryFilter:
    return EntryFilter(case_id, partner, user, action, outcome, purpose, since, until)


Filter = Annotated[EntryFilter, Depends(entry_filter)]


@router.get(
    "/checkpoints/latest",
    response_model=CheckpointOut,
    summary="The newest signed checkpoint of the access log",
)
def latest_checkpoint(viewer: CurrentViewer, audit: Audit) -> CheckpointOut:
    return audit.latest_checkpoint()


@router.post("/checkpoints", response_model=CheckpointOut, summary="Sign a checkpoint now")
def sign_checkpoint(viewer: CurrentViewer, audit: Audit) -> CheckpointOut:
    return audit.sign_checkpoint(viewer)


@router.get("/entries", response_model=EntryPage, summary="Query the access log")
def entries(
    viewer: CurrentViewer,
    audit: Audit,
    where: Filter,
    cursor: Annotated[int | None, Query(ge=-1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntryPage:
    return audit.entries(viewer, where, cursor, limit)


@router.post(
    "/subject-queries",
    response_model=EntryPage,
    summary="Entries about one person (identifiers -> blind index)",
)
def subject_entries(body: SubjectQuery, viewer: CurrentViewer, audit: Audit) -> EntryPage:
    identifiers = SubjectIdentifiers(bsn=body.bsn, name=body.name, date_of_birth=body.date_of_birth)
    return audit.subject_entries(viewer, identifiers, body.cursor, body.limit)


@router.get(
    "/entries/{seq}/inclusion-proof",
    response_model=InclusionProofOut,
    summary="Inclusion proof of one entry in a signed checkpoint",
)
def inclusion_proof(
    seq: int,
    viewer: CurrentViewer,
    audit: Audit,
    tree_size: Annotated[int | None, Query(ge=1)] = None,
) -> InclusionProofOut:
    return audit.inclusion(viewer, seq, tree_size)


@router.get(
    "/consistency-proof",
    response_model=ConsistencyProofOut,
    summary="Consistency proof between two tree sizes",
)
def consistency_proof(
    viewer: CurrentViewer,
    audit: Audit,
    old_size: Annotated[int, Query(alias="from", ge=0)],
    new_size: Annotated[int, Query(alias="to", ge=0)],
) -> ConsistencyProofOut:
    return audit.consistency(viewer, old_size, new_size)


@router.get(
    "/export",
    summary="Export the log: the verifiable JSON Lines format, or query "
    "results as JSON Lines or CSV",
)
def export(
    viewer: CurrentViewer,
    audit: Audit,
    where: Filter,
    format: Annotated[Literal["verifiable", "jsonl", "csv"], Query()] = "verifiable",
) -> StreamingResponse:
    if format == "verifiable":
        return StreamingResponse(audit.export_full(viewer), media_type="application/jsonl")
    media = "text/csv" if format == "csv" else "application/jsonl"
    return StreamingResponse(audit.export_entries(viewer, where, format), media_type=media)


@router.post(
    "/subject-access-reports",
    response_model=SubjectAccessReport,
    summary="Data-subject access report (AVG art. 15)",
)
def subject_access_report(
    body: SubjectIdentifiers, viewer: CurrentViewer, audit: Audit
) -> SubjectAccessReport:
    return audit.subject_report(viewer, body)


@router.post(
    "/subject-access-reports/html",
    response_class=HTMLResponse,
    summary="The same report as a printable HTML page",
)
def subject_access_report_html(
    body: SubjectIdentifiers, viewer: CurrentViewer, audit: Audit
) -> HTMLResponse:
    return HTMLResponse(render_report_html(audit.subject_report(viewer, body)))
