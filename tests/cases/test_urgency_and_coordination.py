"""Urgency at triage, the phase history and coordination with another house or chain (issue 16
item 6, ADR 0014), over real HTTP: triage sets an urgency, a review date and due dates; the
caseload shows what is due and overdue; every phase change is in the phase history; the
procesregisseur records the regievoerder and the coordination status, logged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, select, update

from hub.cases.models import Case, CasePhaseHistory
from hub.cases.notices import dutch_today
from tests.cases.test_subject_notices import assert_problem
from tests.cases.test_workflow import CRITERIA, actor, log_rows, new_case
from tests.conftest import RunningHub
from tests.support import As, inform_all, ok

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def zvh(http: httpx.Client, hub: RunningHub, purpose: str = "screening") -> As:
    return actor(http, hub.settings, "zvh", purpose, ["procesregisseur"], "pr-1")


def planning(days_review: int = 14, days_prep: int = 7, days_conf: int = 21) -> dict[str, Any]:
    today = dutch_today()
    return {
        "urgency": "red",
        "review_on": (today + timedelta(days=days_review)).isoformat(),
        "preparation_due": (today + timedelta(days=days_prep)).isoformat(),
        "case_conference_due": (today + timedelta(days=days_conf)).isoformat(),
    }


def triage(as_: As, cid: str, **extra: Any) -> httpx.Response:
    return as_.post(
        f"/api/v1/cases/{cid}/triage", json={"criteria": CRITERIA, "decision": "accept", **extra}
    )


def history(hub: RunningHub, cid: str) -> list[tuple[str, str]]:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(CasePhaseHistory.phase, CasePhaseHistory.entered_by_partner)
                .where(CasePhaseHistory.case_id == cid)
                .order_by(CasePhaseHistory.id)
            )
            return [(p, by) for p, by in rows]
    finally:
        engine.dispose()


def set_case(hub: RunningHub, cid: str, **values: Any) -> None:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(Case).where(Case.id == cid).values(**values))
    finally:
        engine.dispose()


def test_triage_sets_urgency_review_and_due_dates(http: httpx.Client, hub: RunningHub) -> None:
    cid = new_case(http, hub.settings, to="screening")["id"]
    body = planning()
    case = ok(triage(zvh(http, hub), cid, **body))
    assert case["urgency"] == "red"
    assert case["review_on"] == body["review_on"]
    assert case["preparation_due"] == body["preparation_due"]
    assert case["case_conference_due"] == body["case_conference_due"]
    entry = log_rows(hub.settings, action="case.triage", outcome="allowed")[-1]
    assert "urgency red" in entry.reason and body["case_conference_due"] in entry.reason
    read = ok(zvh(http, hub).get(f"/api/v1/cases/{cid}"))
    assert read["urgency"] == "red"


def test_triage_planning_is_checked_before_the_case_is_looked_at(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings, to="screening")["id"]
    today = dutch_today()
    pr = zvh(http, hub)
    bad: list[dict[str, Any]] = [
        {"urgency": "purple"},
        {"review_on": (today + timedelta(days=3)).isoformat()},  # a date needs an urgency
        {"urgency": "amber", "review_on": (today - timedelta(days=1)).isoformat()},
        {"urgency": "amber", "review_on": (today + timedelta(days=400)).isoformat()},
        {**planning(days_prep=20, days_conf=10)},  # preparation after the case conference
        {"urgency": "green", "note": "free text"},
    ]
    for extra in bad:
        assert_problem(triage(pr, cid, **extra), 400)
        assert_problem(triage(pr, UNKNOWN, **extra), 400)  # the same answer, nothing logged
    rejected = pr.post(
        f"/api/v1/cases/{cid}/triage",
        json={"criteria": CRITERIA, "decision": "reject", "reason_code": "x", "urgency": "red"},
    )
    assert_problem(rejected, 400, "invalid-triage-planning")
    assert not log_rows(hub.settings, action="case.triage")
    # a triage without urgency is still possible (and shows none)
    assert ok(triage(pr, cid))["urgency"] is None


def test_the_caseload_shows_urgency_and_what_is_due_and_overdue(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings, to="screening")["id"]
    ok(triage(zvh(http, hub), cid, **planning()))
    caseload = zvh(http, hub, "case_management")
    item = ok(caseload.get("/api/v1/caseload"))["cases"][0]
    assert item["urgency"] == "red"
    assert [d["step"] for d in item["due"]] == ["preparation", "review", "case_conference"]
    assert item["overdue_steps"] == 0 and not any(d["overdue"] for d in item["due"])
    # time passes: the preparation date is behind us while the case is still in screening
    today = dutch_today()
    set_case(hub, cid, preparation_due=today - timedelta(days=2))
    item = ok(caseload.get("/api/v1/caseload"))["cases"][0]
    due = {d["step"]: d for d in item["due"]}
    assert due["preparation"]["overdue"] is True and due["review"]["overdue"] is False
    assert item["overdue_steps"] == 1
    # reaching preparation takes that step off the list
    pr = zvh(http, hub)
    ok(pr.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))
    item = ok(caseload.get("/api/v1/caseload"))["cases"][0]
    assert [d["step"] for d in item["due"]] == ["review", "case_conference"]
    assert item["overdue_steps"] == 0
    # the existing fields are still there
    assert {"open_interventions", "next_case_conference", "my_roles"} <= set(item)


def test_every_phase_change_registration_and_closing_is_in_the_phase_history(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]  # intake -> screening -> triage -> preparation
    pr = zvh(http, hub, "preparation")
    inform_all(pr, cid)
    ok(pr.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
    ok(
        pr.with_purpose("case_conference").post(
            f"/api/v1/cases/{cid}/closure", json={"outcome": "handed_back"}
        )
    )
    assert history(hub, cid) == [
        ("intake", "politie"),
        ("screening", "zvh"),
        ("preparation", "zvh"),
        ("case_conference", "zvh"),
        ("closed", "zvh"),
    ]
    rejected = new_case(http, hub.settings, bsn="123456782", to="screening")["id"]
    ok(
        zvh(http, hub).post(
            f"/api/v1/cases/{rejected}/triage",
            json={"criteria": CRITERIA, "decision": "reject", "reason_code": "no_complex_case"},
        )
    )
    assert history(hub, rejected) == [
        ("intake", "politie"),
        ("screening", "zvh"),
        ("closed", "zvh"),
    ]


def coordination(counterpart: str = "other_zvh", status: str = "to_coordinate") -> dict[str, Any]:
    return {
        "counterpart": counterpart,
        "regievoerder": {"partner": "zvh", "user": "pr-1"},
        "status": status,
    }


def test_the_procesregisseur_records_who_coordinates_and_the_status(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings, to="screening")["id"]
    pr = zvh(http, hub)
    path = f"/api/v1/cases/{cid}/coordination"
    out = ok(pr.put(path, json=coordination()))
    assert out["case_id"] == cid
    [first] = out["coordination"]
    assert first["counterpart"] == "other_zvh" and first["status"] == "to_coordinate"
    assert first["regievoerder"] == {"partner": "zvh", "user": "pr-1"}
    # a partner kind as counterpart, and the status changes in place
    ok(pr.put(path, json=coordination("probation", "not_needed")))
    out = ok(pr.put(path, json=coordination("other_zvh", "coordinated")))
    assert [(c["counterpart"], c["status"]) for c in out["coordination"]] == [
        ("other_zvh", "coordinated"),
        ("probation", "not_needed"),
    ]
    entries = log_rows(hub.settings, action="case.record_coordination", outcome="allowed")
    assert [e.reason for e in entries] == [
        "other_zvh:to_coordinate:zvh",
        "probation:not_needed:zvh",
        "other_zvh:coordinated:zvh",
    ]
    assert all(e.case_id == cid and e.purpose == "screening" for e in entries)
    # members read it (logged as a case read); the registering partner is a member
    police = actor(http, hub.settings, "politie", "screening")
    read = ok(police.get(path))
    assert len(read["coordination"]) == 2
    reads = log_rows(hub.settings, action="case.read", reason="coordination")
    assert reads and reads[-1].actor_partner == "politie"


def test_coordination_holds_codes_only_and_only_the_procesregisseur_records_it(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]  # in preparation, woningcorporatie invited
    path = f"/api/v1/cases/{cid}/coordination"
    pr = zvh(http, hub, "preparation")
    for body in [
        {**coordination(), "counterpart": "Jan Jansen"},
        {**coordination(), "status": "afgestemd door Piet"},
        {**coordination(), "note": "free text"},
        {**coordination(), "regievoerder": {"partner": "nobody", "user": "x"}},
    ]:
        assert_problem(pr.put(path, json=body), 400)
        assert_problem(pr.put(f"/api/v1/cases/{UNKNOWN}/coordination", json=body), 400)
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    assert_problem(housing.put(path, json=coordination()), 403)
    outsider = actor(http, hub.settings, "ggz", "preparation")
    assert_problem(outsider.put(path, json=coordination()), 404, "not-found")
    assert_problem(outsider.get(path), 404, "not-found")
    assert not log_rows(hub.settings, action="case.record_coordination", outcome="allowed")
    denied = log_rows(hub.settings, action="case.record_coordination", outcome="denied")
    assert [d.actor_partner for d in denied] == ["woningcorporatie"]
    assert "Jan" not in json.dumps([d.reason for d in denied])
