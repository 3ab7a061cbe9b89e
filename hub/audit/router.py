"""The auditor's endpoints. Subject identifiers travel in request bodies, never in URLs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse

from hub.audit.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    CosignatureIn,
    CosignedCheckpointOut,
    EntryDetailOut,
    EntryPage,
    InclusionProofOut,
    LogKeysOut,
    LogStatusOut,
    SubjectIdentifiers,
    SubjectQuery,
    VerificationOut,
    WitnessKeyRotationIn,
    WitnessKeyRotationOut,
    WitnessViewOut,
)
from hub.audit.service import AuditService, EntryFilter
from hub.context import HubContext, get_context
from hub.errors import ValidationFailed
from hub.http import MAX_PARAM_INT, BoundedDatetime
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems

router = APIRouter(prefix="/audit", tags=["audit"])


def audit_service(ctx: Annotated[HubContext, Depends(get_context)]) -> AuditService:
    return ctx.audit


Audit = Annotated[AuditService, Depends(audit_service)]
#: an id as the access log stores one (hub/audit/entry.py): it starts with a letter or digit,
#: so the query's own log entry can always name the filter it was asked with
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def entry_filter(
    case_id: Annotated[str | None, Query(pattern=_ID)] = None,
    partner: Annotated[str | None, Query(pattern=_ID)] = None,
    user: Annotated[str | None, Query(pattern=_ID)] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,48}$")] = None,
    outcome: Annotated[Literal["allowed", "denied", "error"] | None, Query()] = None,
    purpose: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    since: Annotated[BoundedDatetime | None, Query()] = None,
    until: Annotated[BoundedDatetime | None, Query()] = None,
) -> EntryFilter:
    return EntryFilter(case_id, partner, user, action, outcome, purpose, since, until)


Filter = Annotated[EntryFilter, Depends(entry_filter)]


@router.get(
    "/checkpoints/latest",
    response_model=CheckpointOut,
    summary="The newest signed checkpoint of the access log",
    description="At most `VHHUB_CHECKPOINT_INTERVAL_S` old: when the newest is older, one is "
    "signed for this request. Any authenticated partner may read it (to keep it, or to check "
    "consistency with the next); the read is logged.",
)
def latest_checkpoint(viewer: CurrentViewer, audit: Audit) -> CheckpointOut:
    return audit.latest_checkpoint(viewer)


@router.get(
    "/witness/checkpoints/latest",
    response_model=WitnessViewOut,
    summary="For a witness: the newest checkpoint and a consistency proof from its last size",
    description="The newest checkpoint (at most one interval old, with the cosignatures so "
    "far), a consistency proof from `from` (the size of the checkpoint the witness saw last; "
    "0 the first time) and the log's signed key lists. Who: a partner with a registered "
    "witness key (`vhhub audit witnesses add`). Logged. ADR 0406; docs/partner-witness.md.",
    responses=problems(400, 403),
)
def witness_checkpoint(
    viewer: CurrentViewer,
    audit: Audit,
    old_size: Annotated[int, Query(alias="from", ge=0, le=MAX_PARAM_INT)] = 0,
) -> WitnessViewOut:
    view = audit.witnesses.view(viewer, old_size)
    return WitnessViewOut(
        tree_size=view.tree_size,
        note=view.note,
        old_size=view.old_size,
        proof=view.proof,
        key_lists=view.key_lists,
    )


@router.post(
    "/checkpoints/{tree_size}/cosignatures",
    response_model=CosignedCheckpointOut,
    summary="Return a witness's cosignature (C2SP tlog-cosignature) on a checkpoint",
    description="Verified against the calling partner's registered witness keys over the "
    "stored checkpoint; stored and served appended to the checkpoint's note from then on. "
    "Idempotent per witness key. Who: a partner with a registered witness key. Logged.",
    responses=problems(400, 403, 404),
)
def add_cosignature(
    tree_size: Annotated[int, Path(ge=0, le=MAX_PARAM_INT)],
    body: CosignatureIn,
    viewer: CurrentViewer,
    audit: Audit,
) -> CosignedCheckpointOut:
    note = audit.witnesses.add_cosignature(viewer, tree_size, body.cosignature)
    return CosignedCheckpointOut(tree_size=tree_size, note=note)


@router.post(
    "/witness/key-rotations",
    response_model=WitnessKeyRotationOut,
    status_code=201,
    summary="A witness hands over to a new key",
    description="The statement names the old and the new witness key and is signed by both; "
    "the old key must be the calling partner's registered key. From then on only the new "
    "key's cosignatures are accepted. Logged.",
    responses=problems(400, 403, 409),
)
def rotate_witness_key(
    body: WitnessKeyRotationIn, viewer: CurrentViewer, audit: Audit
) -> WitnessKeyRotationOut:
    audit.witnesses.rotate_key(viewer, body.statement)
    return WitnessKeyRotationOut(accepted=True)


@router.get(
    "/log-keys",
    response_model=LogKeysOut,
    summary="The log's checkpoint keys (signed key lists) and the witnesses' keys",
    description="Public key material only: the current verifier key, the signed key lists "
    "of every rotation (each signed by the outgoing and incoming key), the registered "
    "witness keys and their rotation statements. Any authenticated partner.",
)
def log_keys(viewer: CurrentViewer, audit: Audit) -> LogKeysOut:
    return audit.log_keys()


@router.post(
    "/checkpoints",
    response_model=CheckpointOut,
    summary="Sign a checkpoint now",
    description=(
        "Signs a checkpoint (tree size, root hash) of the access log now, with the hub's log "
        "key. Who: an `auditor`, purpose `audit` (or `subject_access` for a data subject's "
        "request). Logged."
    ),
)
def sign_checkpoint(viewer: CurrentViewer, audit: Audit) -> CheckpointOut:
    return audit.sign_checkpoint(viewer)


@router.get(
    "/entries",
    response_model=EntryPage,
    summary="Query the access log",
    description=(
        "Queries the access log by case, partner, user, action, outcome, purpose and time, "
        "paged by `cursor`. Who: an `auditor`, purpose `audit` (or `subject_access` for a "
        "data subject's request). The query itself is logged."
    ),
)
def entries(
    viewer: CurrentViewer,
    audit: Audit,
    where: Filter,
    cursor: Annotated[int | None, Query(ge=-1, le=MAX_PARAM_INT)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntryPage:
    return audit.entries(viewer, where, cursor, limit)


@router.post(
    "/subject-queries",
    response_model=EntryPage,
    summary="Entries about one person (identifiers -> blind index)",
    description=(
        "The access-log entries about one person, named by identifiers in the body (turned "
        "into the blind index; never in a URL). Who: an `auditor`, purpose `audit` (or "
        "`subject_access` for a data subject's request). The query is logged."
    ),
)
def subject_entries(body: SubjectQuery, viewer: CurrentViewer, audit: Audit) -> EntryPage:
    if body.cursor is not None and body.cursor > MAX_PARAM_INT:
        raise ValidationFailed(
            extra={
                "errors": [
                    {"pointer": "body:/cursor", "problem": f"must be at most {MAX_PARAM_INT}"}
                ]
            }
        )
    identifiers = SubjectIdentifiers(bsn=body.bsn, name=body.name, date_of_birth=body.date_of_birth)
    return audit.subject_entries(viewer, identifiers, body.cursor, body.limit)


@router.get(
    "/entries/{seq}",
    response_model=EntryDetailOut,
    summary="One entry, its inclusion proof and the hub's check of that proof",
    description="The entry, its inclusion proof in the smallest signed checkpoint that "
    "covers it, and the result of checking both as an auditor would: the leaf hash "
    "recomputed from the entry's fields, the checkpoint's signature under the hub's verifier "
    "key, and the Merkle path to the root the signed note states. Logged as a query. "
    "Who: an `auditor`, purpose `audit` or `subject_access`.",
    responses=problems(404),
)
def entry_detail(
    seq: Annotated[int, Path(ge=0, le=MAX_PARAM_INT)], viewer: CurrentViewer, audit: Audit
) -> EntryDetailOut:
    return audit.entry_detail(viewer, seq)


@router.get(
    "/status",
    response_model=LogStatusOut,
    summary="Verification status of the log",
    description="Size, newest signed checkpoint and its age, the newest recorded live "
    "verification, and the witnesses that cosigned the newest checkpoint. Logged as a query. "
    "Who: an `auditor`, purpose `audit` or `subject_access`.",
)
def status(viewer: CurrentViewer, audit: Audit) -> LogStatusOut:
    return audit.status(viewer)


@router.post(
    "/verifications",
    response_model=VerificationOut,
    summary="Verify the whole live log now, and record the verdict in the log",
    description=(
        "Verifies the whole live log now (every leaf, every checkpoint signature, "
        "consistency) and records the verdict in the log. Who: an `auditor`, purpose `audit` "
        "(or `subject_access` for a data subject's request)."
    ),
)
def verify(viewer: CurrentViewer, audit: Audit) -> VerificationOut:
    return audit.verify_recorded(viewer)


@router.get(
    "/entries/{seq}/inclusion-proof",
    response_model=InclusionProofOut,
    summary="Inclusion proof of one entry in a signed checkpoint",
    description=(
        "The inclusion proof of one entry in a signed checkpoint (of `tree_size`, or the "
        "newest). Who: an `auditor`, purpose `audit` (or `subject_access` for a data "
        "subject's request). Logged as a query."
    ),
    responses=problems(404),
)
def inclusion_proof(
    seq: Annotated[int, Path(ge=-MAX_PARAM_INT, le=MAX_PARAM_INT)],
    viewer: CurrentViewer,
    audit: Audit,
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_PARAM_INT)] = None,
) -> InclusionProofOut:
    return audit.inclusion(viewer, seq, tree_size)


@router.get(
    "/consistency-proof",
    response_model=ConsistencyProofOut,
    summary="Consistency proof between two tree sizes",
    description=(
        "The consistency proof between two tree sizes (`from`, `to`): the log only grew. Who: "
        "an `auditor`, purpose `audit` (or `subject_access` for a data subject's request). "
        "Logged as a query."
    ),
)
def consistency_proof(
    viewer: CurrentViewer,
    audit: Audit,
    old_size: Annotated[int, Query(alias="from", ge=0, le=MAX_PARAM_INT)],
    new_size: Annotated[int, Query(alias="to", ge=0, le=MAX_PARAM_INT)],
) -> ConsistencyProofOut:
    return audit.consistency(viewer, old_size, new_size)


@router.get(
    "/export",
    summary="Export the log: the verifiable JSON Lines format, or query "
    "results as JSON Lines or CSV",
    description=(
        "Exports the log: the verifiable JSON Lines format (entries with the checkpoints to "
        "verify them offline with `vhhub log verify`), or query results as JSON Lines or CSV. "
        "Who: an `auditor`, purpose `audit` (or `subject_access` for a data subject's "
        "request). The export is logged."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`format=verifiable` and `jsonl`: JSON Lines; `csv`: CSV.",
            "content": {
                "application/jsonl": {
                    "schema": {"type": "string"},
                    "example": '{"format":"vhhub-access-log-export/1","origin":"vhhub.local/'
                    'access-log","verifier_key":"vhhub.local/access-log+e56fb8d8+AU..."}\n'
                    '{"entry":{"seq":1,"action":"case.register","outcome":"allowed"},'
                    '"leaf_hash":"..."}\n',
                },
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "seq,time,action,outcome\r\n"
                    "1,2026-11-30T09:15:00Z,case.register,allowed\r\n",
                },
            },
        }
    },
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


#: Personal data: no shared cache may keep a report.
_NO_STORE = {"Cache-Control": "no-store"}

_REPORT_EXAMPLE = "\n".join(
    [
        '{"checkpoint":{"tree_size":1234,"root_hash":"…","note":"…"},"explanation":'
        '{"doelen":"…","bewaartermijn":"…","rechten":"…","klacht":"…"},'
        '"title":"Inzageoverzicht persoonsgegevens (artikel 15 AVG)","type":"header",…}',
        '{"type":"act","seq":17,"when":"3 december 2026 om 14:05",'
        '"organisation":"Politie, basisteam Demo-Centrum","purpose":"voor het casusoverleg",'
        '"lines":[{"text":"De politie heeft een samenvatting van een overlastmelding over u '
        'ingezien voor het casusoverleg.","level":"samenvatting",'
        '"information":"Politie: overlastmelding","source":"Woonstichting Demo"}],'
        '"leaf_hash":"…","inclusion_proof":["…"],"time":"2026-12-03T13:05:00Z"}',
        '{"type":"summary","acts":1,"lines":1,"recipients":["…"],"sources":["…"],'
        '"purposes":["…"],"categories":["…"],"cases":["…"]}',
        '{"type":"end","acts":1,"lines":1}',
    ]
)


@router.post(
    "/subject-access-reports",
    summary="Data-subject access report (AVG art. 15), streamed as JSON Lines",
    response_class=StreamingResponse,
    description=(
        "Everything the access log holds about acts on data about one person, in plain "
        "Dutch, with an inclusion proof of every act against one signed checkpoint. The "
        "person is named by BSN, or by name and date of birth, in the body (never in a "
        "URL). Acts on facts list only the facts that concern this person (a fact names one, "
        "several or all subjects of its case, see `subject_ids` on publishing); case-level "
        "acts (registration, screening, the plan of approach, which concerns the whole "
        "case) are listed for every subject of the case.\n\n"
        "JSON Lines, one object per line: a `header` (the checkpoint the proofs lead to, the "
        "verifier key, and the fixed information of art. 15(1): purposes, recipients, "
        "retention period, source, the rights to rectification, erasure, restriction and "
        "objection, the right to complain to the Autoriteit Persoonsgegevens), one `act` per "
        "logged act in log order (its sentences, each with the disclosure level, the kind "
        "of information and its source, plus the entry's leaf hash and inclusion proof), a "
        "`summary` (recipients, sources, purposes, kinds of information, the cases' "
        "retention) and an `end` line with the counts; a stream without `end` is "
        "incomplete. The request is logged and a checkpoint signed before the stream "
        "starts; the report is then read from one snapshot without holding any lock."
        " Who: an `auditor`, purpose `subject_access`."
    ),
    responses={
        200: {
            "description": "The report as JSON Lines.",
            "content": {"application/jsonl": {"example": _REPORT_EXAMPLE}},
        }
    },
)
def subject_access_report(
    body: SubjectIdentifiers, viewer: CurrentViewer, audit: Audit
) -> StreamingResponse:
    return StreamingResponse(
        audit.subject_report(viewer, body, fmt="jsonl"),
        media_type="application/jsonl",
        headers=_NO_STORE,
    )


@router.post(
    "/subject-access-reports/html",
    summary="The same report as a printable HTML page (Dutch), streamed",
    response_class=StreamingResponse,
    description=(
        "The same report for the person to read and print; without the proofs, "
        "which the JSON Lines version carries."
        " Who: an `auditor`, purpose `subject_access`; logged."
    ),
    responses={200: {"description": "A printable HTML page.", "content": {"text/html": {}}}},
)
def subject_access_report_html(
    body: SubjectIdentifiers, viewer: CurrentViewer, audit: Audit
) -> StreamingResponse:
    return StreamingResponse(
        audit.subject_report(viewer, body, fmt="html"),
        media_type="text/html; charset=utf-8",
        headers=_NO_STORE,
    )


@router.post(
    "/subject-access-reports/pdf",
    summary="The same report as a PDF (Dutch), to send to the person",
    response_class=Response,
    description=(
        "The printable HTML report rendered by WeasyPrint, which fetches nothing. "
        "Checked and logged exactly like the other report routes."
        " Who: an `auditor`, purpose `subject_access`."
    ),
    responses={200: {"description": "A PDF.", "content": {"application/pdf": {}}}},
)
def subject_access_report_pdf(
    body: SubjectIdentifiers, viewer: CurrentViewer, audit: Audit
) -> Response:
    return Response(
        audit.subject_report_pdf(viewer, body),
        media_type="application/pdf",
        headers={**_NO_STORE, "Content-Disposition": 'attachment; filename="inzage.pdf"'},
    )
