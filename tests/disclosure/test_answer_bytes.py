"""The JSON a route answers is written once by pydantic-core (ADR 0020) and is exactly the
JSON the previous way wrote (`model_dump(mode="json")` and then the JSON response), so no
client sees a different byte; text no UTF-8 encoder takes still answers, escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.responses import JSONResponse

from hub.disclosure.schemas import Briefing, DomainSection, ExistenceNote, ReleasedFact
from hub.http import model_response
from hub.vocabulary import DisclosureLevel, Purpose


def _briefing(text: str) -> Briefing:
    fact = ReleasedFact.model_construct(
        id="0d6c2a8e-3f41-4b8e-9a31-5c7f2e1d9b40",
        type="police.incident/1",
        title="Politie: incident of strafbaar feit",
        life_domain="safety",
        sensitivity="criminal",
        publisher="politie",
        publisher_kind="police",
        subject_id=None,
        published_at=datetime(2026, 11, 14, 10, 2, 3, 4000, tzinfo=UTC),
        version=1,
        level=DisclosureLevel.SUMMARY,
        fields={"description": text, "count": 3, "ratio": 0.25, "flags": [True, None]},
        withheld_fields=["area"],
        reason="Omdat de matrix het zegt: “samenvatting”.",
        rule="matrix_grant",
    )
    note = ExistenceNote(publisher_kind="mental_health", life_domain="health", reason="r")
    return Briefing(
        case_id="c-1",
        table="multi_problem",
        phase="case_conference",
        purpose=Purpose.CASE_CONFERENCE,
        policy_version="v" * 64,
        log_seq=7,
        domains=[DomainSection(life_domain="safety", facts=[fact], existence=[note])],
    )


def test_the_answer_is_byte_for_byte_what_the_dict_path_wrote() -> None:
    briefing = _briefing('Melding in de Ĳsselstraat, één keer\n\t"geciteerd" \\ é 😀')
    before = JSONResponse(briefing.model_dump(mode="json", by_alias=True)).body
    answer = model_response(briefing)
    assert answer.body == before
    assert answer.media_type == "application/json"
    assert json.loads(answer.body)["domains"][0]["facts"][0]["published_at"] == (
        "2026-11-14T10:02:03.004000Z"
    )


def test_a_lone_surrogate_still_answers_escaped() -> None:
    answer = model_response(_briefing("kapot \udc00 teken"))
    assert answer.body.isascii()
    assert json.loads(answer.body)["domains"][0]["facts"][0]["fields"]["description"] == (
        "kapot \udc00 teken"
    )
