"""Each partner's own access log (issue 20, ADR 0405): its records, their inclusion proofs,
and the Logboek Dataverwerkingen export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from hub.audit.partner_log import MAX_PAGE, PartnerLogService
from hub.audit.partner_log_schemas import PartnerLogEntryOut, PartnerLogPage
from hub.context import HubContext, get_context
from hub.http import MAX_PARAM_INT
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems

router = APIRouter(prefix="/partner-log", tags=["partner-log"])


def partner_log_service(ctx: Annotated[HubContext, Depends(get_context)]) -> PartnerLogService:
    return ctx.partner_log


PartnerLog = Annotated[PartnerLogService, Depends(partner_log_service)]
Cursor = Annotated[
    int | None,
    Query(
        ge=-1,
        le=MAX_PARAM_INT,
        description="The `next_cursor` of the previous page (a log position); absent: from "
        "the start. To follow the log later, pass the last record's `seq`.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Records per page.")]

_WHO = (
    "Called by the partner application (role `publisher`), the partner's privacy officer or "
    "auditor, with `Purpose: audit`; any other role or purpose is refused (403, logged). "
)
_WHAT = (
    "Your records are the access-log entries in which your partner is the **actor** (your "
    "users acted) or the **source** (the entry names a fact you published: disclosed, "
    "refused, corrected or withdrawn, to whom and for which purpose). Nothing about other "
    "partners' facts and users: an entry that also names other publishers' facts, or "
    "another partner's act on your facts, comes narrowed (`redacted`), with the leaf hash "
    "and inclusion proof of the full entry (ADR 0405). "
)

_LDV_EXAMPLE = (
    '{"attributes":{"dpl.core.data_subject_id":"b1x5K3…","dpl.core.data_subject_id_type":'
    '"urn:vhhub:pseudonym:blind-index","dpl.core.processing_activity_id":'
    '"https://vhhub.local/register/verwerkingsactiviteiten/va-05-casusoverleg",'
    '"vhhub.actor_partner":"gemeente","vhhub.seq":41,…},"end_time":1764945900000,'
    '"foreign_operation":{"entity":"urn:vhhub:partner:gemeente","span_id":"00f067aa0ba902b7",'
    '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"},"name":"briefing.read",'
    '"parent_span_id":null,"resource":{"attributes":{"service.name":"vhhub"}},'
    '"span_id":"a3ce929d0e0e4736","start_time":1764945900000,"status_code":"STATUS_CODE_OK",'
    '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}\n'
)


@router.get(
    "/entries",
    response_model=PartnerLogPage,
    summary="Your own access log, with inclusion proofs",
    description=_WHAT
    + "In log order, paged by cursor; every proof of a page leads to the one signed "
    "checkpoint the page carries. " + _WHO + "The read is logged as a query.",
)
def partner_log_entries(
    viewer: CurrentViewer, log: PartnerLog, cursor: Cursor = None, limit: Limit = 100
) -> PartnerLogPage:
    return log.page(viewer, cursor, limit)


@router.get(
    "/entries/{seq}",
    response_model=PartnerLogEntryOut,
    summary="One record of your own log, its inclusion proof and signed checkpoint",
    description="The proof of a publish receipt: save the answer as JSON and pass it to "
    "`vhhub receipt verify RECEIPT --public-key KEY --proof FILE`. Any position that is not "
    "one of your records (another partner's, or none at all) answers 404 alike. "
    + _WHO
    + "The read is logged as a query.",
    responses=problems(404),
)
def partner_log_entry(
    seq: Annotated[int, Path(ge=0, le=MAX_PARAM_INT)], viewer: CurrentViewer, log: PartnerLog
) -> PartnerLogEntryOut:
    return log.entry(viewer, seq)


_LDV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON Lines, one Logboek Dataverwerkingen record per data subject of "
        "each of your records (one without a subject when it names none). The header "
        "`Next-Cursor` is present when there is a next page.",
        "content": {"application/jsonl": {"example": _LDV_EXAMPLE}},
        "headers": {
            "Next-Cursor": {
                "description": "Pass as `cursor` for the next page (absent on the last page).",
                "schema": {"type": "string", "pattern": "^-?[0-9]+$"},
            }
        },
    }
}


@router.get(
    "/ldv-records",
    summary="Your own access log as Logboek Dataverwerkingen records (JSON Lines)",
    description=_WHAT
    + "Each record has `trace_id`, `span_id`, `parent_span_id`, `name` (the action), "
    "`start_time`/`end_time` (ms), `status_code`, `foreign_operation` (the caller's span "
    "when it sent a W3C `traceparent`), `resource` and `attributes`: "
    "`dpl.core.processing_activity_id` (a URI into the register of processing activities), "
    "`dpl.core.data_subject_id` (the subject's pseudonym, never an identifier), "
    "`fsc.transaction_id` when the caller sent `Fsc-Transaction-Id`, and the entry's "
    "`vhhub.seq` and `vhhub.leaf_hash` to fetch its proof. "
    + _WHO
    + "The read is logged as a query.",
    response_class=Response,
    responses=_LDV_RESPONSES,
)
def partner_log_ldv(
    viewer: CurrentViewer, log: PartnerLog, cursor: Cursor = None, limit: Limit = 100
) -> Response:
    lines, next_cursor = log.ldv(viewer, cursor, limit)
    headers = {"Next-Cursor": str(next_cursor)} if next_cursor is not None else {}
    return Response("".join(lines), media_type="application/jsonl", headers=headers)
