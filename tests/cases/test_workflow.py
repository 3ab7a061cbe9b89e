"""The case workflow over real HTTP: intake, screening, triage, participants, phases,
agenda, updates and closing, each allowed by the policy and logged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from hub.audit.models import LogEntry
from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import RunningHub
from tests.support import As, inform_all, ok

EXAMPLES = PROJECT_ROOT / "schemas" / "examples"
CRITERIA = {
    "multiple_life_domains": True,
    "criminal_or_nuisance_behaviour": True,
    "multiple_chains_needed": True,
    "impact_on_system_or_environment": True,
}


def example(fact_type: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{fact_type.replace('/', '.')}.json").read_text())


def actor(
    http: httpx.Client,
    settings: Settings,
    partner: str,
    purpose: str,
    roles: list[str] | None = None,
    user: str | None = None,
) -> As:
    return As(
        http,
        settings,
        partner,
        user or f"{partner}-user",
        roles or ["publisher", "participant"],
        purpose,
    )


def log_rows(settings: Settings, **where: str) -> list[Any]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            query = select(LogEntry).order_by(LogEntry.seq)
            for column, value in where.items():
                query = query.where(getattr(LogEntry, column) == value)
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def new_case(
    http: httpx.Client,
    settings: Settings,
    *,
    bsn: str = "111222333",
    to: str = "preparation",
    invite: tuple[str, ...] = ("woningcorporatie",),
) -> dict[str, Any]:
    police = actor(http, settings, "politie", "intake")
    case = ok(
        police.post(
            "/api/v1/cases",
            json={
                "kind": "person",
                "proposed_table": "multi_problem",
                "reason": "overlast",
                "subjects": [{"role_in_case": "resident", "bsn": bsn}],
            },
        ),
        201,
    )
    cid = case["id"]
    zvh = actor(http, settings, "zvh", "intake", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
    if to == "screening":
        return case
    zvh = zvh.with_purpose("screening")
    ok(zvh.post(f"/api/v1/cases/{cid}/triage", json={"criteria": CRITERIA, "decision": "accept"}))
    for partner in invite:
        ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": partner}))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))
    return case


def publish(
    http: httpx.Client,
    settings: Settings,
    cid: str,
    partner: str,
    fact_type: str,
    key: str,
    subject: str | None = None,
    purpose: str = "preparation",
) -> str:
    out = ok(
        actor(http, settings, partner, purpose).post(
            f"/api/v1/cases/{cid}/facts",
            json={
                "idempotency_key": key,
                "type": fact_type,
                "subject_id": subject,
                "legal_basis": "convenant_zvh",
                "content": example(fact_type),
            },
        ),
        201,
    )
    return str(out["facts"][0]["id"])


def test_only_key_partners_register_cases_and_identifiers_never_come_back(
    http: httpx.Client, hub: RunningHub
) -> None:
    housing = actor(http, hub.settings, "woningcorporatie", "intake")
    body = {
        "kind": "person",
        "proposed_table": "adults",
        "reason": "x",
        "subjects": [{"role_in_case": "resident", "bsn": "111222333"}],
    }
    assert housing.post("/api/v1/cases", json=body).status_code == 403
    case = ok(actor(http, hub.settings, "politie", "intake").post("/api/v1/cases", json=body), 201)
    assert case["phase"] == "intake"
    assert "111222333" not in json.dumps(case)
    registered = log_rows(hub.settings, action="case.register", outcome="allowed")
    assert len(registered[0].subject_pseudonyms) == 1
    assert "111222333" not in json.dumps(registered[0].subject_pseudonyms)
    denied = log_rows(hub.settings, action="case.register", outcome="denied")
    assert [r.actor_partner for r in denied] == ["woningcorporatie"]


def test_an_invalid_bsn_is_refused_without_echo(http: httpx.Client, hub: RunningHub) -> None:
    response = actor(http, hub.settings, "politie", "intake").post(
        "/api/v1/cases",
        json={
            "kind": "person",
            "proposed_table": "adults",
            "reason": "x",
            "subjects": [{"role_in_case": "resident", "bsn": "123456789"}],
        },
    )
    assert response.status_code == 400
    assert "123456789" not in response.text


def test_screening_tells_hit_or_no_hit_and_logs_each_hit_for_the_partners_concerned(
    http: httpx.Client, hub: RunningHub
) -> None:
    first = new_case(http, hub.settings)
    publish(
        http,
        hub.settings,
        first["id"],
        "woningcorporatie",
        "housing.rent_arrears/1",
        "arrears-1",
        subject=first["subjects"][0]["id"],
    )
    second = new_case(http, hub.settings, to="screening")
    zvh = actor(http, hub.settings, "zvh", "screening", ["procesregisseur"], "pr-1")
    screening = ok(zvh.post(f"/api/v1/cases/{second['id']}/screenings", json={}))
    [result] = screening["results"]
    assert result["known"] is True
    assert result["partner_kinds"] == ["housing"]
    assert result["open_case_elsewhere"] is True
    assert set(result) == {"subject", "known", "partner_kinds", "open_case_elsewhere"}
    stranger = ok(
        zvh.post(
            f"/api/v1/cases/{second['id']}/screenings",
            json={"subjects": [{"role_in_case": "x", "bsn": "123456782"}]},
        )
    )
    assert stranger["results"][0]["known"] is False
    hits = log_rows(hub.settings, action="screening.hit")
    assert len(hits) == 1 and hits[0].object_ids == ["woningcorporatie"]
    # a participant that is not the procesregisseur may not screen
    police = actor(http, hub.settings, "politie", "screening")
    assert police.post(f"/api/v1/cases/{second['id']}/screenings", json={}).status_code == 403


def test_triage_checks_the_criteria_and_a_rejection_closes_with_short_retention(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings, to="screening")
    zvh = actor(http, hub.settings, "zvh", "screening", ["procesregisseur"], "pr-1")
    not_complex = {**CRITERIA, "multiple_chains_needed": False}
    refused = zvh.post(
        f"/api/v1/cases/{case['id']}/triage", json={"criteria": not_complex, "decision": "accept"}
    )
    assert refused.status_code == 409
    rejected = ok(
        zvh.post(
            f"/api/v1/cases/{case['id']}/triage",
            json={
                "criteria": not_complex,
                "decision": "reject",
                "reason_code": "regular_care_suffices",
            },
        )
    )
    assert rejected["status"] == "rejected" and rejected["phase"] == "closed"
    until = datetime.fromisoformat(rejected["retention_until"])
    expected = datetime.now(UTC) + timedelta(days=hub.settings.retention_rejected_days)
    assert abs((until - expected).total_seconds()) < 120


def test_a_withdrawn_participant_sees_nothing_further(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    cid = case["id"]
    publish(http, hub.settings, cid, "politie", "police.nuisance_report/1", "n-1")
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    assert ok(housing.get(f"/api/v1/cases/{cid}/briefing"))["domains"]
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    participant = next(
        p
        for p in ok(zvh.get(f"/api/v1/cases/{cid}"))["participants"]
        if p["partner"] == "woningcorporatie"
    )
    ok(zvh.delete(f"/api/v1/cases/{cid}/participants/{participant['id']}"))
    assert housing.get(f"/api/v1/cases/{cid}/briefing").status_code == 404
    assert housing.get(f"/api/v1/cases/{cid}/updates").status_code == 404


def test_a_named_professional_is_invited_not_the_whole_partner(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings, invite=())
    cid = case["id"]
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    ok(
        zvh.post(
            f"/api/v1/cases/{cid}/participants",
            json={"partner": "maatschappelijk-werk", "user": "mw-anna"},
        )
    )
    anna = actor(http, hub.settings, "maatschappelijk-werk", "preparation", user="mw-anna")
    colleague = actor(http, hub.settings, "maatschappelijk-werk", "preparation", user="mw-bob")
    assert anna.get(f"/api/v1/cases/{cid}/briefing").status_code == 200
    assert colleague.get(f"/api/v1/cases/{cid}/briefing").status_code == 404


def test_phases_move_one_step_and_only_by_a_regisseur(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    cid = case["id"]
    police = actor(http, hub.settings, "politie", "preparation")
    assert (
        police.post(
            f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}
        ).status_code
        == 403
    )
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    assert zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "plan"}).status_code in (
        403,
        409,
    )
    inform_all(zvh, cid)
    moved = ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
    assert moved["phase"] == "case_conference"
    changes = [
        r.reason for r in log_rows(hub.settings, action="case.change_phase", outcome="allowed")
    ]
    assert changes[-1] == "preparation -> case_conference"
    assert log_rows(hub.settings, action="case.change_phase", outcome="denied")


def test_the_agenda_lists_cases_per_meeting(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    ok(
        zvh.post(
            "/api/v1/tables/multi_problem/agenda",
            json={"case_id": case["id"], "meeting_date": "2026-12-01"},
        ),
        201,
    )
    agenda = ok(zvh.get("/api/v1/tables/multi_problem/agenda"))
    assert [(a["case_id"], a["meeting_date"]) for a in agenda] == [(case["id"], "2026-12-01")]
    outsider = actor(http, hub.settings, "ggz", "preparation")
    assert ok(outsider.get("/api/v1/tables/multi_problem/agenda")) == []


def test_updates_follow_a_cursor_and_show_corrections(http: httpx.Client, hub: RunningHub) -> None:
    case = new_case(http, hub.settings)
    cid = case["id"]
    ids = [
        publish(http, hub.settings, cid, "politie", "police.nuisance_report/1", f"u-{n}")
        for n in range(3)
    ]
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    first = ok(housing.get(f"/api/v1/cases/{cid}/updates", params={"cursor": 0, "limit": 2}))
    assert first["has_more"] is True and len(first["facts"]) == 2
    rest = ok(
        housing.get(
            f"/api/v1/cases/{cid}/updates", params={"cursor": first["next_cursor"], "limit": 2}
        )
    )
    assert rest["has_more"] is False
    assert [f["id"] for f in first["facts"] + rest["facts"]] == ids
    police = actor(http, hub.settings, "politie", "preparation")
    content = example("police.nuisance_report/1")
    corrected = ok(
        police.post(f"/api/v1/facts/{ids[0]}/corrections", json={"content": content}), 201
    )
    after = ok(housing.get(f"/api/v1/cases/{cid}/updates", params={"cursor": rest["next_cursor"]}))
    assert [f["id"] for f in after["facts"]] == [corrected["id"]]
    assert after["removed"] == [ids[0]]
    briefing = ok(housing.get(f"/api/v1/cases/{cid}/briefing"))
    shown = {f["id"] for d in briefing["domains"] for f in d["facts"]}
    assert shown == {corrected["id"], ids[1], ids[2]}


def test_closing_starts_the_retention_clock_and_ends_disclosure(
    http: httpx.Client, hub: RunningHub
) -> None:
    case = new_case(http, hub.settings)
    cid = case["id"]
    publish(http, hub.settings, cid, "politie", "police.nuisance_report/1", "c-1")
    zvh = actor(http, hub.settings, "zvh", "preparation", ["procesregisseur"], "pr-1")
    closed = ok(zvh.post(f"/api/v1/cases/{cid}/closure", json={"outcome": "handed_back"}))
    assert closed["phase"] == "closed" and closed["retention_until"]
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    assert housing.get(f"/api/v1/cases/{cid}/briefing").status_code == 404
    assert log_rows(hub.settings, action="case.close")[0].case_id == cid


def test_in_screening_the_procesregisseur_learns_only_which_partner_kinds_are_involved(
    http: httpx.Client, hub: RunningHub
) -> None:
    police = actor(http, hub.settings, "politie", "intake")
    case = ok(
        police.post(
            "/api/v1/cases",
            json={
                "kind": "person",
                "proposed_table": "multi_problem",
                "reason": "overlast",
                "subjects": [{"role_in_case": "resident", "bsn": "111222333"}],
            },
        ),
        201,
    )
    cid = case["id"]
    publish(http, hub.settings, cid, "politie", "police.incident/1", "i-1", purpose="intake")
    zvh = actor(http, hub.settings, "zvh", "intake", ["procesregisseur"], "pr-1")
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
    briefing = ok(zvh.with_purpose("screening").get(f"/api/v1/cases/{cid}/briefing"))
    assert [f for d in briefing["domains"] for f in d["facts"]] == []
    notes = [n for d in briefing["domains"] for n in d["existence"]]
    assert notes == [
        {"publisher_kind": "police", "life_domain": "safety", "reason": notes[0]["reason"]}
    ]
    [entry] = [r for r in log_rows(hub.settings, action="briefing.read")]
    assert all(fields == [] for fields in entry.disclosed.values())
