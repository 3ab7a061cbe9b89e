"""Case conferences over real HTTP (ADR 0013): scheduling, the ordered cases, invitees,
attendance, minutes sealed and released per life domain like plan notes, the calendar file,
outsiders and the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import text

from hub.cases.notices import dutch_today
from tests.cases.test_workflow import log_rows, new_case
from tests.conftest import RunningHub
from tests.plans.conftest import PlanCase, _build
from tests.support import As, inform_all, ok

UNKNOWN = "00000000-0000-4000-8000-000000000000"
HOUSING_MINUTES = "Huurachterstand besproken; betalingsregeling volgt."
GGZ_MINUTES = "Moeder in behandeling bij de GGZ; behandelaar sluit aan."
DECISION_TEXT = "Plan van aanpak binnen twee weken."
#: 12 January of next year: always ahead of today (the caseload lists meetings from today on),
#: and always winter time in Amsterdam, so 09:00+01:00 is 08:00 UTC
MEETING_DAY = date(dutch_today().year + 1, 1, 12)
MEETING = {
    "table": "multi_problem",
    "starts_at": f"{MEETING_DAY}T09:00:00+01:00",
    "ends_at": f"{MEETING_DAY}T10:30:00+01:00",
    "location": "Veiligheidshuis, zaal 2",
    "chair": {"partner": "zvh", "user": "pr-1", "role": "procesregisseur"},
}


@pytest.fixture
def conference(hub: RunningHub, http: httpx.Client, db_url: str) -> Iterator[PlanCase]:
    """tests/plans' case in the case conference, casusregisseur cr-1 of gemeente-wi."""
    yield from _build(hub, http, db_url, to_plan=False)


def _meeting_with_case(c: PlanCase) -> tuple[str, str]:
    meeting = ok(c.procesregisseur.post("/api/v1/meetings", json=MEETING), 201)
    item = ok(
        c.procesregisseur.post(
            f"/api/v1/meetings/{meeting['id']}/items", json={"case_id": c.case_id}
        ),
        201,
    )
    return meeting["id"], item["id"]


def _minutes(c: PlanCase, meeting_id: str, item_id: str) -> dict[str, Any]:
    return ok(
        c.casusregisseur.post(
            f"/api/v1/meetings/{meeting_id}/items/{item_id}/minutes",
            json={
                "parts": [
                    {"life_domain": "housing", "text": HOUSING_MINUTES},
                    {
                        "life_domain": "mental_health",
                        "sensitivity": "special",
                        "text": GGZ_MINUTES,
                    },
                ],
                "decisions": [
                    {"code": "draw_up_plan", "life_domain": "housing", "text": DECISION_TEXT}
                ],
            },
        ),
        201,
    )


def test_scheduling_ordering_invitees_and_attendance(conference: PlanCase) -> None:
    c = conference
    meeting = ok(c.procesregisseur.post("/api/v1/meetings", json=MEETING), 201)
    assert meeting["starts_at"].startswith(f"{MEETING_DAY}T08:00:00")  # stored in UTC
    assert meeting["items"] == []
    base = f"/api/v1/meetings/{meeting['id']}"
    # its scheduler (and chair) sees the empty meeting's frame: the policy's
    # read_meeting_frame; another member of the case does not, until the case is on it
    assert ok(c.procesregisseur.get(base))["items"] == []
    assert c.woningcorporatie.with_purpose("case_conference").get(base).status_code == 404
    item = ok(c.procesregisseur.post(f"{base}/items", json={"case_id": c.case_id}), 201)
    assert item["position"] == 1
    assert item["case_reference"] == c.case_id[:8]
    # twice is a conflict; only the case's procesregisseur adds it
    assert c.procesregisseur.post(f"{base}/items", json={"case_id": c.case_id}).status_code == 409
    assert c.casusregisseur.post(f"{base}/items", json={"case_id": c.case_id}).status_code == 403
    items = f"{base}/items/{item['id']}"
    for invitee in (
        {"partner": "woningcorporatie"},
        {"partner": "om"},
        {"partner": "gemeente-wi", "user": "cr-1"},
    ):
        ok(c.procesregisseur.post(f"{items}/invitees", json=invitee))
    # a partner that takes no part in the case cannot be invited to discuss it
    refused = c.procesregisseur.post(f"{items}/invitees", json={"partner": "ggz"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    out = ok(
        c.casusregisseur.put(
            f"{items}/attendance",
            json={
                "attendance": [
                    {"partner": "woningcorporatie", "status": "present"},
                    {"partner": "om", "status": "excused"},
                    {"partner": "gemeente-wi", "user": "cr-1", "status": "present"},
                ]
            },
        )
    )
    assert {(i["partner"], i["user"], i["attendance"]) for i in out["invitees"]} == {
        ("woningcorporatie", None, "present"),
        ("om", None, "excused"),
        ("gemeente-wi", "cr-1", "present"),
    }
    # a member that is no regisseur records no attendance
    assert (
        c.om.put(
            f"{items}/attendance", json={"attendance": [{"partner": "om", "status": "present"}]}
        ).status_code
        == 403
    )
    # an attendance entry must name an invitee
    assert (
        c.casusregisseur.put(
            f"{items}/attendance",
            json={"attendance": [{"partner": "politie", "status": "present"}]},
        ).status_code
        == 400
    )
    read = ok(c.woningcorporatie.get(base))
    assert [i["case_id"] for i in read["items"]] == [c.case_id]
    # the caseload takes the next case conference from the meetings
    caseload = ok(c.casusregisseur.get("/api/v1/caseload", purpose="case_management"))
    [listed] = [x for x in caseload["cases"] if x["id"] == c.case_id]
    assert listed["next_case_conference"] == MEETING_DAY.isoformat()
    actions = [r.action for r in log_rows(c.settings)]
    for action in ("meeting.schedule", "meeting.plan", "meeting.attendance", "meeting.read"):
        assert action in actions


def test_a_meeting_needs_one_place_an_https_link_and_a_procesregisseur(
    conference: PlanCase,
) -> None:
    c = conference
    both = {**MEETING, "video_link": "https://meet.example.nl/abc"}
    assert c.procesregisseur.post("/api/v1/meetings", json=both).status_code == 400
    plain = {k: v for k, v in MEETING.items() if k != "location"}
    http_link = {**plain, "video_link": "http://meet.example.nl/abc"}
    assert c.procesregisseur.post("/api/v1/meetings", json=http_link).status_code == 400
    naive = {**MEETING, "starts_at": f"{MEETING_DAY}T09:00:00"}
    assert c.procesregisseur.post("/api/v1/meetings", json=naive).status_code == 400
    video = ok(
        c.procesregisseur.post(
            "/api/v1/meetings", json={**plain, "video_link": "https://meet.example.nl/abc"}
        ),
        201,
    )
    assert video["location"] is None
    assert c.casusregisseur.post("/api/v1/meetings", json=MEETING).status_code == 403


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("0001-01-01T09:00:00+01:00", "0001-01-01T10:00:00+01:00"),
        ("9999-12-31T22:00:00-01:00", "9999-12-31T23:00:00-01:00"),
        ("1999-12-31T09:00:00+01:00", f"{MEETING_DAY}T10:30:00+01:00"),
        (f"{MEETING_DAY}T09:00:00+01:00", "2101-01-01T10:00:00+01:00"),
    ],
)
def test_a_meeting_outside_the_plausible_years_is_a_400_and_stores_nothing(
    conference: PlanCase, starts_at: str, ends_at: str
) -> None:
    """The ends of the calendar overflow when moved to UTC: refused at the schema, with a
    clear message, before anything is stored."""
    c = conference
    with c.engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM meetings")).scalar_one()
    answer = c.procesregisseur.post(
        "/api/v1/meetings", json={**MEETING, "starts_at": starts_at, "ends_at": ends_at}
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problems = [e["problem"] for e in answer.json()["errors"]]
    assert "a meeting must be between the years 2000 and 2100" in problems
    with c.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM meetings")).scalar_one() == before


def test_minutes_are_sealed_and_released_per_life_domain(conference: PlanCase) -> None:
    c = conference
    meeting_id, item_id = _meeting_with_case(c)
    recorded = _minutes(c, meeting_id, item_id)
    housing_id, ggz_id = recorded["part_ids"]
    [decision_id] = recorded["decision_ids"]
    # sealed: the text is in no raw row
    with c.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM meeting_minutes")).all()
    raw = repr(rows).encode() + b"".join(bytes(r.text_ct) for r in rows if r.text_ct)
    for plain in (HOUSING_MINUTES, GGZ_MINUTES, DECISION_TEXT):
        assert plain.encode() not in raw
        assert plain.split(";")[0].encode() not in raw

    path = f"/api/v1/meetings/{meeting_id}/items/{item_id}/minutes"
    # the housing corporation does not read the GGZ part in full
    housing = ok(c.woningcorporatie.get(path))
    parts = {p["id"]: p for p in housing["parts"]}
    assert parts[ggz_id]["released"] is False
    assert parts[ggz_id]["text"] == "verslag van leefgebied geestelijke gezondheid niet gedeeld"
    assert parts[ggz_id]["sensitivity"] is None
    assert GGZ_MINUTES not in json.dumps(housing)
    assert parts[decision_id]["decision_code"] == "draw_up_plan"
    # ... but reads the housing part, as the matrix gives it housing facts in full
    assert parts[housing_id]["released"] is True
    assert parts[housing_id]["text"] == HOUSING_MINUTES
    # the recorder reads its own text
    own = {p["id"]: p for p in ok(c.casusregisseur.get(path))["parts"]}
    assert own[ggz_id]["text"] == GGZ_MINUTES
    assert own[housing_id]["text"] == HOUSING_MINUTES
    assert own[decision_id]["text"] == DECISION_TEXT
    assert own[ggz_id]["sensitivity"] == "special"
    # the log names per part what left
    reads = [r for r in log_rows(c.settings, action="minutes.read")]
    by_actor = {r.actor_partner: r for r in reads}
    housing_entry = by_actor["woningcorporatie"]
    assert housing_entry.case_id == c.case_id
    assert housing_entry.disclosed[ggz_id] == []
    assert housing_entry.disclosed[housing_id] == ["text"]
    assert housing_entry.disclosed[item_id] == ["structure"]
    assert by_actor["gemeente-wi"].disclosed[ggz_id] == ["text"]
    recorded_entries = log_rows(c.settings, action="minutes.record")
    assert recorded_entries and ggz_id in recorded_entries[-1].object_ids
    for entry in [*reads, *recorded_entries]:
        assert GGZ_MINUTES not in json.dumps(
            {"reason": entry.reason, "disclosed": entry.disclosed, "ids": entry.object_ids}
        )
    # only the regisseurs record minutes
    assert (
        c.om.post(path, json={"parts": [{"life_domain": "housing", "text": "x"}]}).status_code
        == 403
    )


def test_the_calendar_holds_only_readable_case_references(conference: PlanCase) -> None:
    c = conference
    meeting_id, item_id = _meeting_with_case(c)
    _minutes(c, meeting_id, item_id)
    # a second case on the same table, without the housing corporation
    other_id = _second_case(c)
    ok(
        c.procesregisseur.post(f"/api/v1/meetings/{meeting_id}/items", json={"case_id": other_id}),
        201,
    )

    response = c.woningcorporatie.get(f"/api/v1/meetings/{meeting_id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.content
    calendar = Calendar.from_ical(body)
    [event] = calendar.walk("VEVENT")
    assert str(event["summary"]) == "Casusoverleg O3-tafel multiproblematiek"
    assert event.decoded("dtstart").isoformat() == f"{MEETING_DAY}T08:00:00+00:00"
    assert str(event["location"]) == "Veiligheidshuis, zaal 2"
    assert str(event["uid"]).startswith(f"meeting-{meeting_id}@")
    description = str(event["description"])
    assert c.case_id[:8] in description
    assert other_id[:8] not in description
    text_ = body.decode()
    for secret in (
        other_id,
        other_id[:8],
        "123456782",
        "111222333",
        "overlast",
        "Overlast en schulden",
        HOUSING_MINUTES,
        GGZ_MINUTES,
        "parent",
    ):
        assert secret not in text_
    # the same meeting read: the other case is left out, not even counted
    read = ok(c.woningcorporatie.get(f"/api/v1/meetings/{meeting_id}"))
    assert [i["case_id"] for i in read["items"]] == [c.case_id]
    assert other_id not in json.dumps(read)
    # the procesregisseur of both sees both, in order
    both = ok(c.procesregisseur.get(f"/api/v1/meetings/{meeting_id}"))
    assert [(i["position"], i["case_id"]) for i in both["items"]] == [
        (1, c.case_id),
        (2, other_id),
    ]
    uid_again = Calendar.from_ical(
        c.procesregisseur.get(f"/api/v1/meetings/{meeting_id}/calendar.ics").content
    ).walk("VEVENT")[0]["uid"]
    assert uid_again == event["uid"]
    entries = [r for r in log_rows(c.settings, action="meeting.read")]
    assert any(r.reason == "calendar: 1 cases" for r in entries)


def _second_case(c: PlanCase) -> str:
    """A case of the same table in the case conference, with om only (no housing)."""
    case = new_case(c.http, c.settings, invite=("om",))
    cid = str(case["id"])
    zvh = c.procesregisseur.with_purpose("preparation")
    inform_all(zvh, cid)
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
    return cid


def test_outsiders_get_what_an_unknown_meeting_gets(conference: PlanCase) -> None:
    c = conference
    meeting_id, item_id = _meeting_with_case(c)
    _minutes(c, meeting_id, item_id)
    outsiders = [
        c.outsider,
        As(c.http, c.settings, "zvh", "pr-2", ["procesregisseur"], "case_conference"),
    ]
    for who in outsiders:
        for real, fake in (
            (f"/api/v1/meetings/{meeting_id}", f"/api/v1/meetings/{UNKNOWN}"),
            (
                f"/api/v1/meetings/{meeting_id}/calendar.ics",
                f"/api/v1/meetings/{UNKNOWN}/calendar.ics",
            ),
            (
                f"/api/v1/meetings/{meeting_id}/items/{item_id}/minutes",
                f"/api/v1/meetings/{meeting_id}/items/{UNKNOWN}/minutes",
            ),
        ):
            a, b = who.get(real), who.get(fake)
            assert a.status_code == b.status_code == 404, (who.partner, real)
            assert a.json() == b.json()
        a = who.post(
            f"/api/v1/meetings/{meeting_id}/items/{item_id}/minutes",
            json={"parts": [{"life_domain": "housing", "text": "x"}]},
        )
        assert a.status_code == 404
    denied = log_rows(c.settings, action="case.denied")
    assert any(r.reason == "unknown meeting" for r in denied)


@pytest.mark.parametrize("strange", ["%00", "a%00b", "%C3%A9%00", "a%01b", "a%20b", "a.b"])
def test_an_implausible_meeting_or_item_id_gets_what_an_unknown_one_gets(
    conference: PlanCase, strange: str
) -> None:
    """An id with a NUL byte or other strange characters is never looked up (PostgreSQL
    refuses a NUL in a query parameter): the answer and the log entry are an unknown id's."""
    c = conference
    meeting_id, _item_id = _meeting_with_case(c)
    who = c.procesregisseur
    unknown = who.get(f"/api/v1/meetings/{UNKNOWN}")
    assert unknown.status_code == 404
    for path in (
        f"/api/v1/meetings/{strange}",
        f"/api/v1/meetings/{strange}/calendar.ics",
        f"/api/v1/meetings/{strange}/items/{UNKNOWN}/minutes",
        f"/api/v1/meetings/{meeting_id}/items/{strange}/minutes",
    ):
        before = len(log_rows(c.settings, action="case.denied", reason="unknown meeting"))
        answer = who.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json() == unknown.json()
        after = len(log_rows(c.settings, action="case.denied", reason="unknown meeting"))
        assert after == before + 1, path
    posted = who.post(
        f"/api/v1/meetings/{meeting_id}/items/{strange}/minutes",
        json={"parts": [{"life_domain": "housing", "text": "x"}]},
    )
    assert posted.status_code == 404 and posted.json() == unknown.json()
