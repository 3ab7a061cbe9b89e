"""Publishing endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from hub.context import HubContext, get_context
from hub.facts.schemas import (
    CorrectionIn,
    FactBatchIn,
    FactIn,
    PublishedFact,
    PublishOut,
    WithdrawalIn,
)
from hub.facts.service import FactService
from hub.identity.dependencies import CurrentViewer
from hub.openapi import problems

router = APIRouter(tags=["facts"])


def fact_service(ctx: Annotated[HubContext, Depends(get_context)]) -> FactService:
    return ctx.facts


Facts = Annotated[FactService, Depends(fact_service)]

#: how the OpenAPI document describes the answer to a publish that created nothing
_REPLAY: dict[int | str, dict[str, Any]] = {
    status.HTTP_200_OK: {
        "model": PublishOut,
        "description": "A retry: every fact was created by an earlier request with the same "
        "idempotency keys; the answer is what that request stored (each `created` is false).",
    }
}


def _answered(out: PublishOut, response: Response) -> PublishOut:
    """201 when this request created a fact, 200 when it only repeated earlier publishes
    (the service marks every fact it did not create with `created: false`)."""
    if not any(fact.created for fact in out.facts):
        response.status_code = status.HTTP_200_OK
    return out


@router.post(
    "/cases/{case_id}/facts",
    response_model=PublishOut,
    status_code=status.HTTP_201_CREATED,
    summary="Publish one fact",
    description=(
        "Publishes one fact about the case (or about some of its subjects, `subject_ids`). "
        "201 when created; a retry with the same `idempotency_key` creates nothing and "
        "answers 200 with what the first request stored. Who: a `publisher` of a partner kind "
        "the fact type lists (see `GET /api/v1/fact-types`), taking part in the case, in a "
        "phase the type allows, with a case-work purpose. The content must match the fact "
        "type's JSON Schema (all errors answered at once, 400). Every publish is an "
        "access-log entry, and the answer is the receipt of what was stored."
    ),
    responses={**_REPLAY, **problems(404, 409)},
)
def publish_fact(
    case_id: str, body: FactIn, viewer: CurrentViewer, facts: Facts, response: Response
) -> PublishOut:
    return _answered(facts.publish(viewer, case_id, [body]), response)


@router.post(
    "/cases/{case_id}/fact-batches",
    response_model=PublishOut,
    status_code=status.HTTP_201_CREATED,
    summary="Publish up to 500 facts, all or nothing",
    description=(
        "Publishes up to 500 facts at once, all or nothing (one invalid fact refuses the "
        "batch, with every error). Who: a `publisher` of a partner kind the fact type lists "
        "(see `GET /api/v1/fact-types`), taking part in the case, in a phase the type allows, "
        "with a case-work purpose. The content must match the fact type's JSON Schema (all "
        "errors answered at once, 400). Every publish is an access-log entry, and the answer "
        "is the receipt of what was stored."
    ),
    responses={**_REPLAY, **problems(404, 409)},
)
def publish_batch(
    case_id: str, body: FactBatchIn, viewer: CurrentViewer, facts: Facts, response: Response
) -> PublishOut:
    return _answered(facts.publish(viewer, case_id, body.facts), response)


@router.post(
    "/facts/{fact_id}/corrections",
    response_model=PublishedFact,
    status_code=status.HTTP_201_CREATED,
    summary="Correct your fact (new version)",
    description=(
        "Corrects one of your own facts: a new version with new content; readers see the "
        "correction in their updates. Only the publishing partner (`publisher`), with a "
        "case-work purpose. The policy's decision, allowed or refused, is written to the "
        "access log."
    ),
    responses=problems(404, 409),
)
def correct_fact(
    fact_id: str, body: CorrectionIn, viewer: CurrentViewer, facts: Facts
) -> PublishedFact:
    return facts.correct(viewer, fact_id, body)


@router.post(
    "/facts/{fact_id}/withdrawal",
    response_model=PublishedFact,
    summary="Withdraw your fact",
    description=(
        "Withdraws one of your own facts with a reason code; it is disclosed to nobody from "
        "then on and readers see the withdrawal in their updates. Only the publishing partner "
        "(`publisher`). The policy's decision, allowed or refused, is written to the access "
        "log."
    ),
    responses=problems(404, 409),
)
def withdraw_fact(
    fact_id: str, body: WithdrawalIn, viewer: CurrentViewer, facts: Facts
) -> PublishedFact:
    return facts.withdraw(viewer, fact_id, body)
