"""Publishing through the API: validated, minimised by the policy, idempotent, all or nothing,
corrected and withdrawn with history kept."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, func, select

from hub.facts.models import Fact
from hub.settings import Settings
from tests.cases.test_workflow import actor, example, log_rows, new_case
from tests.conftest import RunningHub
from tests.support import ok

MARKER = "Pietje-Puk-0612345678"


def fact_count(settings: Settings) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Fact)) or 0)
    finally:
        engine.dispose()


def body(fact_type: str, key: str, **content: object) -> dict[str, object]:
    return {
        "idempotency_key": key,
        "type": fact_type,
        "legal_basis": "convenant_zvh",
        "content": {**example(fact_type), **content},
    }


def test_a_partner_kind_may_not_publish_another_kinds_fact_type(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    response = housing.post(
        f"/api/v1/cases/{case['id']}/facts", json=body("police.incident/1", "forged-1")
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fact_count(hub.settings) == 0
    [denied] = log_rows(hub.settings, action="fact.publish_denied")
    assert denied.actor_partner == "woningcorporatie" and denied.outcome == "denied"


def test_invalid_content_names_pointers_and_never_echoes_values(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    bad = body("police.nuisance_report/1", "bad-1")
    bad["content"] = {**example("police.nuisance_report/1"), "report_date": MARKER, MARKER: MARKER}
    response = police.post(f"/api/v1/cases/{case['id']}/facts", json=bad)
    assert response.status_code == 422
    assert MARKER not in response.text
    pointers = [e["pointer"] for e in response.json()["errors"]]
    assert pointers and all(p.startswith("/content") for p in pointers)
    assert fact_count(hub.settings) == 0


def test_a_batch_is_all_or_nothing_and_at_most_500(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    facts = [body("police.nuisance_report/1", f"b-{n}") for n in range(20)]
    facts[13]["content"] = {"report_date": "not a date"}
    response = police.post(f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": facts})
    assert response.status_code == 422
    assert all(e["pointer"].startswith("/facts/13/") for e in response.json()["errors"])
    assert fact_count(hub.settings) == 0
    too_many = [body("police.nuisance_report/1", f"m-{n}") for n in range(501)]
    assert (
        police.post(
            f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": too_many}
        ).status_code
        == 422
    )
    facts[13] = body("police.nuisance_report/1", "b-13")
    published = ok(
        police.post(f"/api/v1/cases/{case['id']}/fact-batches", json={"facts": facts}), 201
    )
    assert len(published["facts"]) == 20 and fact_count(hub.settings) == 20
    [entry] = log_rows(hub.settings, action="fact.publish")
    assert sorted(entry.object_ids) == sorted(f["id"] for f in published["facts"])


def test_a_retried_publish_creates_nothing_twice(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    fact = body("police.nuisance_report/1", "retry-1")
    first = ok(police.post(f"/api/v1/cases/{case['id']}/facts", json=fact), 201)
    second = ok(police.post(f"/api/v1/cases/{case['id']}/facts", json=fact), 201)
    assert first["facts"][0]["id"] == second["facts"][0]["id"]
    assert (first["facts"][0]["created"], second["facts"][0]["created"]) == (True, False)
    assert fact_count(hub.settings) == 1
    other = body("police.incident/1", "retry-1")
    assert police.post(f"/api/v1/cases/{case['id']}/facts", json=other).status_code == 409


def test_corrections_and_withdrawals_keep_history_and_only_the_publisher_may(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    fact_id = ok(
        police.post(
            f"/api/v1/cases/{case['id']}/facts", json=body("police.nuisance_report/1", "h-1")
        ),
        201,
    )["facts"][0]["id"]
    content = example("police.nuisance_report/1")
    assert (
        housing.post(f"/api/v1/facts/{fact_id}/corrections", json={"content": content}).status_code
        == 404
    )
    corrected = ok(
        police.post(f"/api/v1/facts/{fact_id}/corrections", json={"content": content}), 201
    )
    assert corrected["version"] == 2
    assert (
        police.post(f"/api/v1/facts/{fact_id}/corrections", json={"content": content}).status_code
        == 409
    )
    ok(
        police.post(
            f"/api/v1/facts/{corrected['id']}/withdrawal",
            json={"reason_code": "published_in_error"},
        )
    )
    briefing = ok(housing.get(f"/api/v1/cases/{case['id']}/briefing"))
    assert briefing["domains"] == []
    assert fact_count(hub.settings) == 2  # both versions kept
    actions = [r.action for r in log_rows(hub.settings, case_id=case["id"])]
    assert {"fact.publish", "fact.correct", "fact.withdraw"} <= set(actions)
