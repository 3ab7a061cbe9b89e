"""Informing the subject (issue 16 item 5, ADR 0012), over real HTTP: recording that a subject
was informed or that informing is postponed, the age rule, the phase gate before the case
conference, who may record and read, the log entries and the art. 15 report."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, update

from hub.cases.models import SubjectNotice
from hub.cases.notices import dutch_today
from tests.cases.test_workflow import actor, log_rows, new_case
from tests.conftest import RunningHub
from tests.support import As, inform_all, ok

UNKNOWN = "00000000-0000-4000-8000-000000000000"
BSN = "111222333"


def informed(
    party: str = "subject", band: str = "adult", day: date | None = None, **kw: Any
) -> dict[str, Any]:
    return {
        "state": "informed",
        "informed_on": (day or dutch_today()).isoformat(),
        "channel": "in_person",
        "informed_party": party,
        "age_band": band,
        **kw,
    }


def postponed(review_on: date, reason: str = "risk_to_safety") -> dict[str, Any]:
    return {"state": "postponed", "reason": reason, "review_on": review_on.isoformat()}


def procesregisseur(http: httpx.Client, hub: RunningHub, purpose: str = "preparation") -> As:
    return actor(http, hub.settings, "zvh", purpose, ["procesregisseur"], "pr-1")


def subject_of(http: httpx.Client, hub: RunningHub, cid: str) -> str:
    case = ok(procesregisseur(http, hub).get(f"/api/v1/cases/{cid}"))
    return str(case["subjects"][0]["id"])


def notices_path(cid: str, sid: str) -> str:
    return f"/api/v1/cases/{cid}/subjects/{sid}/notices"


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    if slug is not None:
        assert problem["type"].endswith("/" + slug), problem
    return problem


def test_informed_and_postponed_are_recorded_and_kept_as_history(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    review = dutch_today() + timedelta(days=14)
    first = ok(zvh.post(notices_path(cid, sid), json=postponed(review)), 201)
    assert first["state"] == "postponed" and first["reason"] == "risk_to_safety"
    assert first["review_on"] == review.isoformat() and first["version"] == 1
    read = ok(zvh.get(f"/api/v1/cases/{cid}/notices"))
    assert read["missing"] == 0
    assert [s["status"] for s in read["subjects"]] == ["postponed"]

    body = informed(informed_by={"partner": "politie", "user": "agent-7"}, channel="letter")
    second = ok(zvh.post(notices_path(cid, sid), json=body), 201)
    assert second["version"] == 2
    assert second["informed_by"] == {"partner": "politie", "user": "agent-7"}
    assert second["recorded_by"] == {"partner": "zvh", "user": "pr-1"}
    assert second["channel"] == "letter" and second["informed_party"] == "subject"

    # a member of the table reads the current state and the whole history
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    read = ok(housing.get(f"/api/v1/cases/{cid}/notices"))
    (subject,) = read["subjects"]
    assert subject["subject_id"] == sid and subject["status"] == "informed"
    assert subject["current"]["id"] == second["id"]
    assert [n["state"] for n in subject["history"]] == ["postponed", "informed"]
    assert BSN not in json.dumps(read)

    # the recorder is the informer when none is named
    third = ok(zvh.post(notices_path(cid, sid), json=informed()), 201)
    assert third["informed_by"] == {"partner": "zvh", "user": "pr-1"}


def test_the_age_rule_decides_who_must_be_informed(http: httpx.Client, hub: RunningHub) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    refused = [
        ("subject", "under_12"),  # under 12: the parents or guardians instead of the child
        ("both", "under_12"),
        ("subject", "12_to_15"),  # 12 to 15: the child and the parents or guardians
        ("parents_or_guardians", "12_to_15"),
        ("parents_or_guardians", "16_plus"),  # from 16: the young person themself
        ("both", "16_plus"),
        ("parents_or_guardians", "adult"),
    ]
    for party, band in refused:
        response = zvh.post(notices_path(cid, sid), json=informed(party, band))
        problem = assert_problem(response, 400, "notice-age-rule")
        assert "12" in problem["detail"] and "16" in problem["detail"]
    assert not log_rows(hub.settings, action="case.record_notice")
    assert ok(zvh.get(f"/api/v1/cases/{cid}/notices"))["subjects"][0]["history"] == []

    for party, band in [
        ("parents_or_guardians", "under_12"),
        ("both", "12_to_15"),
        ("subject", "16_plus"),
        ("subject", "adult"),
    ]:
        ok(zvh.post(notices_path(cid, sid), json=informed(party, band)), 201)
    history = ok(zvh.get(f"/api/v1/cases/{cid}/notices"))["subjects"][0]["history"]
    assert [(n["informed_party"], n["age_band"]) for n in history] == [
        ("parents_or_guardians", "under_12"),
        ("both", "12_to_15"),
        ("subject", "16_plus"),
        ("subject", "adult"),
    ]


def test_a_notice_holds_codes_and_dates_only(http: httpx.Client, hub: RunningHub) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    today = dutch_today()
    bad: list[dict[str, Any]] = [
        informed(day=today + timedelta(days=2)),  # informed in the future
        postponed(today - timedelta(days=1)),  # a review date already passed
        postponed(today + timedelta(days=400)),  # reviewed later than a year from now
        postponed(today, reason="he would be angry"),  # not a code of the list
        {**postponed(today + timedelta(days=3)), "note": "vader is agressief"},  # free text
        informed(channel="carrier_pigeon"),
        informed(informed_by={"partner": "nobody-knows", "user": "x"}),
        {"state": "forgotten"},
    ]
    for body in bad:
        response = zvh.post(notices_path(cid, sid), json=body)
        assert_problem(response, 400)
        assert "agressief" not in response.text and "angry" not in response.text
    assert not log_rows(hub.settings, action="case.record_notice")


def test_the_case_conference_waits_until_every_subject_is_informed_or_postponed(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    to_conference = {"to": "case_conference"}
    problem = assert_problem(
        zvh.post(f"/api/v1/cases/{cid}/phase-changes", json=to_conference),
        409,
        "subjects-not-informed",
    )
    assert problem["detail"].startswith("1 van de 1 betrokkene heeft")
    assert problem["subjects_without_notice"] == 1
    assert BSN not in json.dumps(problem) and "resident" not in json.dumps(problem)
    assert ok(zvh.get(f"/api/v1/cases/{cid}"))["phase"] == "preparation"

    ok(zvh.post(notices_path(cid, sid), json=postponed(dutch_today())), 201)
    moved = ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json=to_conference))
    assert moved["phase"] == "case_conference"


def _expire_postponements(hub: RunningHub, cid: str) -> None:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(SubjectNotice)
                .where(SubjectNotice.case_id == cid)
                .values(review_on=dutch_today() - timedelta(days=1))
            )
    finally:
        engine.dispose()


def test_a_postponement_whose_review_date_passed_counts_as_missing(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    ok(zvh.post(notices_path(cid, sid), json=postponed(dutch_today() + timedelta(days=7))), 201)
    _expire_postponements(hub, cid)
    read = ok(zvh.get(f"/api/v1/cases/{cid}/notices"))
    assert read["missing"] == 1 and read["subjects"][0]["status"] == "missing"
    assert read["subjects"][0]["current"]["state"] == "postponed"
    assert_problem(
        zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}),
        409,
        "subjects-not-informed",
    )
    inform_all(zvh, cid)
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))


def test_who_may_record_and_read_notices(http: httpx.Client, hub: RunningHub) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    path = notices_path(cid, sid)
    # the registering partner (it often informs the subject at registration)
    police = actor(http, hub.settings, "politie", "preparation")
    assert ok(police.post(path, json=informed()), 201)["recorded_by"]["partner"] == "politie"
    # another member: a logged 403 with the policy's reason
    housing = actor(http, hub.settings, "woningcorporatie", "preparation")
    assert_problem(housing.post(path, json=informed()), 403)
    denied = log_rows(hub.settings, action="case.record_notice", outcome="denied")
    assert [(e.actor_partner, e.case_id) for e in denied] == [("woningcorporatie", cid)]
    # a partner outside the case gets exactly what an unknown case gets, logged
    ggz = actor(http, hub.settings, "ggz", "preparation")
    for response in (
        ggz.post(path, json=informed()),
        ggz.post(notices_path(UNKNOWN, sid), json=informed()),
        ggz.get(f"/api/v1/cases/{cid}/notices"),
        ggz.get(f"/api/v1/cases/{UNKNOWN}/notices"),
    ):
        assert_problem(response, 404, "not-found")
    hidden = log_rows(hub.settings, action="case.denied", actor_partner="ggz")
    assert len(hidden) == 4
    # a subject of another case is the 404 of an unknown subject
    zvh = procesregisseur(http, hub)
    other = new_case(http, hub.settings, bsn="123456782")["id"]
    other_subject = subject_of(http, hub, other)
    assert_problem(zvh.post(notices_path(cid, other_subject), json=informed()), 404)
    assert_problem(zvh.post(notices_path(cid, UNKNOWN), json=informed()), 404)
    # members read; the read is logged without naming the subjects' pseudonyms
    ok(housing.get(f"/api/v1/cases/{cid}/notices"))
    (read,) = log_rows(hub.settings, action="case.read_notices", actor_partner="woningcorporatie")
    assert read.outcome == "allowed" and read.object_ids == [sid]
    assert read.subject_pseudonyms == []


def test_the_log_names_the_subject_and_the_codes(http: httpx.Client, hub: RunningHub) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    day = dutch_today() - timedelta(days=1)
    out = ok(zvh.post(notices_path(cid, sid), json=informed(day=day)), 201)
    review = dutch_today() + timedelta(days=30)
    later = ok(
        zvh.post(notices_path(cid, sid), json=postponed(review, "risk_to_investigation")), 201
    )
    entries = log_rows(hub.settings, action="case.record_notice", outcome="allowed")
    assert [e.reason for e in entries] == [
        f"informed:in_person:subject:{day.isoformat()}:zvh",
        f"postponed:risk_to_investigation:{review.isoformat()}",
    ]
    assert [sorted(e.object_ids) for e in entries] == [
        sorted([sid, out["id"]]),
        sorted([sid, later["id"]]),
    ]
    (registered,) = log_rows(hub.settings, action="case.register", case_id=cid)
    for entry in entries:
        assert entry.case_id == cid and entry.actor_partner == "zvh"
        assert entry.subject_pseudonyms and set(entry.subject_pseudonyms) <= set(
            registered.subject_pseudonyms
        )


def test_the_art_15_report_tells_the_subject_when_and_how_they_were_informed(
    http: httpx.Client, hub: RunningHub
) -> None:
    cid = new_case(http, hub.settings)["id"]
    sid = subject_of(http, hub, cid)
    zvh = procesregisseur(http, hub)
    ok(
        zvh.post(
            notices_path(cid, sid),
            json=informed(day=date(2025, 12, 3), informed_by={"partner": "politie", "user": "a"}),
        ),
        201,
    )
    review = dutch_today() + timedelta(days=20)
    ok(zvh.post(notices_path(cid, sid), json=postponed(review, "risk_to_investigation")), 201)
    auditor = As(http, hub.settings, "zvh", "aud-1", ["auditor"], "subject_access")
    response = auditor.post("/api/v1/audit/subject-access-reports", json={"bsn": BSN})
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    texts = [t["text"] for act in lines if act["type"] == "act" for t in act["lines"]]
    informed_lines = [t for t in texts if "geïnformeerd dat uw situatie" in t]
    assert len(informed_lines) == 1, texts
    assert "3 december 2025" in informed_lines[0]
    assert "in een persoonlijk gesprek" in informed_lines[0]
    assert "dat u op 3 december 2025" in informed_lines[0]
    postponed_lines = [t for t in texts if "is uitgesteld" in t]
    assert len(postponed_lines) == 1, texts
    months = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus")
    months += ("september", "oktober", "november", "december")
    assert f"{review.day} {months[review.month - 1]} {review.year}" in postponed_lines[0]
    # the reason of a postponement is not told to the person it concerns
    for word in ("onderzoek", "veiligheid", "risk", "investigation"):
        assert word not in postponed_lines[0]

    html = auditor.post("/api/v1/audit/subject-access-reports/html", json={"bsn": BSN})
    assert html.status_code == 200 and "is uitgesteld" in html.text
