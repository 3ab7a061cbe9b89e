"""Each partner's own access log (issue 20, ADR 0405), over real HTTP: a partner gets every
entry in which it acted or whose facts it published, each with a proof that verifies
against a signed checkpoint, paged completely by cursor -- and never another partner's facts
or users; the LDV export carries the trace context the caller sent."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from hub.audit.checkpoints import open_checkpoint, parse_verifier_key
from hub.audit.entry import entry_and_leaf_from_json
from hub.audit.merkle import verify_inclusion
from tests.cases.test_workflow import actor, example, log_rows, new_case
from tests.conftest import RunningHub
from tests.support import As, ok

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
FSC_ID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"


def _publish(as_: As, cid: str, fact_type: str, key: str) -> str:
    body = {
        "idempotency_key": key,
        "type": fact_type,
        "legal_basis": "convenant_zvh",
        "content": example(fact_type),
    }
    return str(ok(as_.post(f"/api/v1/cases/{cid}/facts", json=body), 201)["facts"][0]["id"])


def _all_records(as_: As, limit: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor: int | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = ok(as_.get("/api/v1/partner-log/entries", params=params))
        _check_page_proofs(page)
        records.extend(page["records"])
        cursor = page["next_cursor"]
        if cursor is None:
            return records
    raise AssertionError("the cursor never ended")


def _check_page_proofs(page: dict[str, Any]) -> None:
    """Every record's proof leads to the page's checkpoint, signed by the hub's key; an
    unredacted record hashes to its leaf."""
    checkpoint = page["checkpoint"]
    verifier = parse_verifier_key(checkpoint["verifier_key"])
    signed, _ = open_checkpoint(checkpoint["note"], verifier)
    for record in page["records"]:
        assert record["tree_size"] == signed.tree_size
        leaf = bytes.fromhex(record["leaf_hash"])
        path = [bytes.fromhex(h) for h in record["proof"]]
        verify_inclusion(record["seq"], signed.tree_size, leaf, path, signed.root)
        if not record["redacted"]:
            _, recomputed = entry_and_leaf_from_json(record["entry"])
            assert recomputed == leaf


@pytest.fixture
def scene(http: httpx.Client, hub: RunningHub) -> dict[str, Any]:
    """Police and the housing corporation publish on one case; housing reads the briefing,
    which names police facts; police corrects one of its facts."""
    case = new_case(http, hub.settings)
    cid = case["id"]
    police = actor(http, hub.settings, "politie", "preparation")
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    police_facts = [
        _publish(police, cid, "police.nuisance_report/1", "pl-1"),
        _publish(police, cid, "police.incident/1", "pl-2"),
    ]
    housing_fact = _publish(housing, cid, "housing.rent_arrears/1", "hs-1")
    headers = housing.headers() | {
        "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01",
        "Fsc-Transaction-Id": FSC_ID,
    }
    ok(http.get(f"/api/v1/cases/{cid}/briefing", headers=headers))
    return {
        "cid": cid,
        "police": police.with_purpose("audit"),
        "housing": housing.with_purpose("audit"),
        "police_facts": police_facts,
        "housing_fact": housing_fact,
    }


def test_a_partner_sees_its_acts_and_its_facts_and_nothing_of_others(
    scene: dict[str, Any], hub: RunningHub
) -> None:
    police_log = _all_records(scene["police"], 500)
    housing_log = _all_records(scene["housing"], 500)
    police_text, housing_text = json.dumps(police_log), json.dumps(housing_log)
    # never another partner's facts or users
    assert scene["housing_fact"] not in police_text
    assert "woningcorporatie-user" not in police_text
    assert not any(f in housing_text for f in scene["police_facts"])
    assert "politie-user" not in housing_text

    # exactly the entries where the partner acted or that name its facts
    rows = {r.seq: r for r in log_rows(hub.settings)}
    police_facts = set(scene["police_facts"])
    expected = {
        seq
        for seq, r in rows.items()
        if r.actor_partner == "politie" or police_facts & (set(r.object_ids) | set(r.disclosed))
    }
    seen = {r["seq"] for r in police_log}
    # (the log's own record of that read comes after it)
    assert {s for s in expected if s <= max(seen)} == seen

    # housing's briefing read is in police's log as "source", narrowed
    [read] = [
        r
        for r in police_log
        if r["entry"]["action"] == "briefing.read"
        and r["entry"]["actor_partner"] == "woningcorporatie"
    ]
    assert read["role"] == ["source"] and read["redacted"] is True
    assert read["entry"]["actor_user"] is None and read["entry"]["source"] is None
    assert set(read["entry"]["object_ids"]) <= police_facts
    assert "actor_user" in read["redacted_fields"]
    # and in housing's own log as "actor", without the police facts
    [own_read] = [r for r in housing_log if r["seq"] == read["seq"]]
    assert own_read["role"][0] == "actor"
    assert own_read["entry"]["actor_user"] == "woningcorporatie-user"
    # police's publish entries are not in housing's log
    police_publishes = {
        s for s, r in rows.items() if r.action == "fact.publish" and r.actor_partner == "politie"
    }
    assert police_publishes and not police_publishes & {r["seq"] for r in housing_log}


def test_cursor_paging_is_complete_and_in_log_order(scene: dict[str, Any]) -> None:
    whole = _all_records(scene["police"], 500)
    paged = _all_records(scene["police"], 2)
    seqs = [r["seq"] for r in paged]
    assert seqs == sorted(set(seqs))
    # reading the log is itself logged: the paged read sees the first read's entries too
    assert [r["seq"] for r in whole] == seqs[: len(whole)]
    assert all(r["entry"]["action"] == "log.query" for r in paged[len(whole) :])


def test_one_record_is_404_for_anyone_else_and_the_read_is_logged(
    scene: dict[str, Any], hub: RunningHub
) -> None:
    police_seqs = [r["seq"] for r in _all_records(scene["police"], 500)]
    housing_seqs = {r["seq"] for r in _all_records(scene["housing"], 500)}
    only_police = [s for s in police_seqs if s not in housing_seqs]
    one = ok(scene["police"].get(f"/api/v1/partner-log/entries/{only_police[0]}"))
    assert one["seq"] == only_police[0] and one["checkpoint"]["tree_size"] > one["seq"]
    refused = scene["housing"].get(f"/api/v1/partner-log/entries/{only_police[0]}")
    unknown = scene["housing"].get("/api/v1/partner-log/entries/987654")
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"] == unknown.json()["detail"]
    queries = log_rows(hub.settings, action="log.query")
    mine = [q for q in queries if q.actor_partner == "woningcorporatie"]
    assert [q.reason for q in mine].count("partner log entry") >= 2


@pytest.mark.parametrize(
    ("roles", "purpose"), [(["participant"], "audit"), (["publisher"], "preparation")]
)
def test_other_roles_and_purposes_are_refused_and_logged(
    http: httpx.Client, hub: RunningHub, roles: list[str], purpose: str
) -> None:
    viewer = actor(http, hub.settings, "politie", purpose, roles, "someone")
    refused = viewer.get("/api/v1/partner-log/entries")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    [denied] = [
        r
        for r in log_rows(hub.settings, action="log.query")
        if r.outcome == "denied" and r.actor_user == "someone"
    ]
    assert denied.actor_partner == "politie"


def test_the_ldv_export_has_the_standards_fields_and_the_callers_trace(
    scene: dict[str, Any],
) -> None:
    response = scene["police"].get("/api/v1/partner-log/ldv-records", params={"limit": 500})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jsonl")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert records and scene["housing_fact"] not in response.text
    for record in records:
        assert re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
        assert re.fullmatch(r"[0-9a-f]{16}", record["span_id"])
        assert record["status_code"] in ("STATUS_CODE_OK", "STATUS_CODE_ERROR")
        assert record["start_time"] == record["end_time"] > 1_700_000_000_000
        activity = record["attributes"]["dpl.core.processing_activity_id"]
        assert activity.startswith("https://") and "/verwerkingsactiviteiten/va-" in activity
    [read, *_more_subjects] = [
        r
        for r in records
        if r["name"] == "briefing.read" and r["attributes"]["vhhub.actor_partner"] != "politie"
    ]
    assert read["trace_id"] == TRACE_ID
    assert read["foreign_operation"] == {
        "trace_id": TRACE_ID,
        "span_id": CALLER_SPAN,
        "entity": "urn:vhhub:partner:woningcorporatie",
    }
    assert read["attributes"]["fsc.transaction_id"] == FSC_ID
    assert read["attributes"]["dpl.core.data_subject_id"]
    assert read["attributes"]["dpl.core.processing_activity_id"].endswith("va-05-casusoverleg")
    # paged by cursor in a header
    first = scene["police"].get("/api/v1/partner-log/ldv-records", params={"limit": 1})
    assert int(first.headers["Next-Cursor"]) >= 0


def test_a_clients_own_request_id_keeps_the_trace_beside_the_entry(
    http: httpx.Client, hub: RunningHub
) -> None:
    """With its own X-Request-Id the entry's request id holds no trace: the trace and the
    hub's span are kept beside the entry, and the LDV record still carries them."""
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    trace = "0af7651916cd43dd8448eb211c80319c"
    body = {
        "idempotency_key": "traced-1",
        "type": "police.incident/1",
        "legal_basis": "convenant_zvh",
        "content": example("police.incident/1"),
    }
    headers = police.headers() | {
        "X-Request-Id": "client-req-0001",
        "traceparent": f"00-{trace}-b7ad6b7169203331-01",
    }
    response = http.post(f"/api/v1/cases/{case['id']}/facts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    [entry] = [r for r in log_rows(hub.settings, action="fact.publish")]
    assert entry.request_id == "client-req-0001"
    ldv = police.with_purpose("audit").get("/api/v1/partner-log/ldv-records", params={"limit": 500})
    [record, *_] = [
        json.loads(line)
        for line in ldv.text.splitlines()
        if json.loads(line)["attributes"]["vhhub.seq"] == entry.seq
    ]
    assert record["trace_id"] == trace
    assert record["foreign_operation"]["span_id"] == "b7ad6b7169203331"
    assert re.fullmatch(r"[0-9a-f]{16}", record["span_id"]) and record["span_id"] != (
        "b7ad6b7169203331"
    )
