"""Bad input from issue 15: every one is a 4xx problem+json that changes nothing, echoes no
client value, and never a 500 (SQLite and PostgreSQL, over real HTTP)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from hub.audit.models import LogEntry
from hub.errors import PROBLEM_BASE
from hub.facts.models import Fact
from hub.settings import Settings
from tests.cases.test_workflow import actor, example, new_case
from tests.conftest import RunningHub
from tests.support import As, ok

NAME = "Jan Jansen BSN 123456782"
HUGE = [2**63, 2**64, 2**63 - 1, -(2**63) - 1]
EXTREME_TIMES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]


def assert_problem(response: httpx.Response, status: int, *hidden: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_BASE)
    for value in hidden:
        assert value not in response.text
    return body


def count(settings: Settings, model: Any) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


# -- 1. validation pointers name only the API's own members -----------------------------------


def test_an_invented_member_name_is_not_echoed_in_the_pointer(
    http: httpx.Client, hub: RunningHub
) -> None:
    police = actor(http, hub.settings, "politie", "intake")
    before = count(hub.settings, LogEntry)
    body = {
        "kind": "person",
        "proposed_table": "multi_problem",
        "reason": "overlast",
        "subjects": [
            {"role_in_case": "resident", "bsn": "111222333", NAME: "x"},
            {"role_in_case": 7},
        ],
        NAME: "x",
    }
    problem = assert_problem(police.post("/api/v1/cases", json=body), 400, NAME, "123456782")
    pointers = {e["pointer"] for e in problem["errors"]}
    # where is kept (schema names and indexes), what the client called it is not
    assert pointers == {"body:/*", "body:/subjects/0/*", "body:/subjects/1/role_in_case"}
    assert count(hub.settings, LogEntry) == before


# -- 2. a lone surrogate is refused where the body is read, and never breaks a briefing --------

LONE = [
    rb'"\ud800"',  # a lone high half
    rb'"x\udfffy"',  # a lone low half
    rb'"\ud83d\u0041"',  # a high half followed by something else
]


@pytest.mark.parametrize("bad", LONE)
def test_a_lone_surrogate_in_fact_content_is_refused_at_publish(
    http: httpx.Client, hub: RunningHub, bad: bytes
) -> None:
    cid = new_case(http, hub.settings)["id"]
    content = example("housing.rent_arrears/1")
    content["housing_contact"]["team"] = "@@"  # free text of at most 120 characters
    raw = json.dumps(
        {
            "idempotency_key": "k-1",
            "type": "housing.rent_arrears/1",
            "legal_basis": "convenant_zvh",
            "content": content,
        }
    ).encode()
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    before = count(hub.settings, LogEntry)
    in_key = raw.replace(b'"housing_contact": {', b'"housing_contact": {' + bad + b": 1, ")
    for body in (raw.replace(b'"@@"', bad), in_key):
        response = http.post(
            f"/api/v1/cases/{cid}/facts",
            content=body,
            headers={**housing.headers(), "content-type": "application/json"},
        )
        assert_problem(response, 400, "ud8", "udf")
        assert response.json()["type"] == PROBLEM_BASE + "validation-failed"
    assert count(hub.settings, Fact) == 0
    assert count(hub.settings, LogEntry) == before
    # a pair is a character, and welcome
    good = raw.replace(b'"@@"', rb'"\ud83d\ude00"')
    headers = {**housing.headers(), "content-type": "application/json"}
    ok(http.post(f"/api/v1/cases/{cid}/facts", content=good, headers=headers), 201)
    assert count(hub.settings, Fact) == 1


# -- 3. integers and times beyond what the database holds are a 400 ----------------------------


def auditor(http: httpx.Client, settings: Settings) -> As:
    return As(http, settings, "zvh", "aud-1", ["auditor"], "audit")


def test_huge_integers_on_audit_endpoints_are_400(http: httpx.Client, hub: RunningHub) -> None:
    audit = auditor(http, hub.settings)
    ok(audit.post("/api/v1/audit/checkpoints"))
    for n in HUGE:
        for path, params in [
            ("/api/v1/audit/entries", {"cursor": n}),
            (f"/api/v1/audit/entries/{n}/inclusion-proof", {}),
            ("/api/v1/audit/entries/1/inclusion-proof", {"tree_size": n}),
            ("/api/v1/audit/consistency-proof", {"from": n, "to": 1}),
            ("/api/v1/audit/consistency-proof", {"from": 1, "to": n}),
        ]:
            assert_problem(audit.get(path, params=params), 400, str(n))
        subject = {"bsn": "111222333", "cursor": n}
        assert_problem(audit.post("/api/v1/audit/subject-queries", json=subject), 400, str(n))


@pytest.mark.parametrize("when", EXTREME_TIMES)
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("path", ["/api/v1/audit/entries", "/api/v1/audit/export"])
def test_extreme_times_on_audit_filters_are_400(
    http: httpx.Client, hub: RunningHub, when: str, name: str, path: str
) -> None:
    params = {name: when} if path.endswith("entries") else {name: when, "format": "jsonl"}
    assert_problem(auditor(http, hub.settings).get(path, params=params), 400, when[:4])


def test_huge_cursor_on_updates_and_extreme_agenda_date_are_400(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    for n in HUGE[:3]:
        answer = housing.get(f"/api/v1/cases/{cid}/updates", params={"cursor": n})
        assert_problem(answer, 400, str(n))
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    for day in ["9999-12-31", "0001-01-01"]:
        answer = zvh.get("/api/v1/tables/multi_problem/agenda", params={"since": day})
        assert_problem(answer, 400, day)


def test_a_lone_surrogate_stored_before_the_check_never_breaks_a_briefing(
    http: httpx.Client, hub: RunningHub
) -> None:
    """A fact stored before publish refused lone surrogates (written here past the HTTP
    check, through the service itself) must not turn its readers' briefings into a 500."""
    from hub.audit.log import RequestInfo
    from hub.context import HubContext
    from hub.facts.schemas import FactIn
    from hub.identity.viewer import Viewer
    from hub.vocabulary import PartnerKind, Purpose, Role

    cid = new_case(http, hub.settings)["id"]
    content = example("housing.rent_arrears/1")
    content["housing_contact"]["team"] = "team \ud800"
    publisher = Viewer(
        partner="woningcorporatie",
        partner_kind=PartnerKind.HOUSING,
        user="woningcorporatie-user",
        roles=frozenset({Role.PUBLISHER, Role.PARTICIPANT}),
        purpose=Purpose.PREPARATION,
        request=RequestInfo(source="test", purpose=Purpose.PREPARATION),
    )
    fact = FactIn(
        idempotency_key="old-1",
        type="housing.rent_arrears/1",
        legal_basis="convenant_zvh",
        content=content,
    )
    ctx = HubContext.open(hub.settings)
    try:
        ctx.facts.publish(publisher, cid, [fact])
    finally:
        ctx.close()
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    for path in (f"/api/v1/cases/{cid}/briefing", f"/api/v1/cases/{cid}/updates"):
        answer = housing.get(path)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()  # valid JSON: the half pair travels as the escape \ud800


# -- 4. invalid input is one 400 that lists every error (NL API Design Rules) ---------------


def test_invalid_input_is_one_400_with_every_error_at_once(
    http: httpx.Client, hub: RunningHub
) -> None:
    """/core/error-handling/invalid-input and /core/error-handling/all-errors: every invalid
    query parameter in one answer, each named by its place, none by its value."""
    audit = auditor(http, hub.settings)
    params = {
        "outcome": NAME,
        "since": NAME,
        "until": "9999-01-01T00:00:00Z",
        "limit": "0",
        "cursor": "x",
        "case_id": NAME,
    }
    problem = assert_problem(audit.get("/api/v1/audit/entries", params=params), 400, NAME)
    assert problem["type"] == PROBLEM_BASE + "validation-failed"
    assert {e["pointer"] for e in problem["errors"]} == {f"query:/{name}" for name in params}
    assert all(e["problem"] and NAME not in e["problem"] for e in problem["errors"])
