"""The case conference pages (ADR 0013, ADR 0015) against the API over real HTTP: each persona
sees on the meeting page exactly the minutes parts the API's minutes read releases to it,
and nothing of a part it withholds; the calendar download is the API's file; an outsider
gets the 404 of an unknown meeting; the chair records minutes through the form; a form post
without the CSRF token, or with invalid input, changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hub import labels
from hub.audit.models import LogEntry
from hub.demo.personas import PERSONAS, persona
from tests.support import As, ok
from tests.web.conftest import Browser, DemoHub

PURPOSE = "case_conference"
SINCE = "2000-01-01T00:00:00+00:00"
CHAIR = ("zvh", "procesregisseur-1")
RECORDER = ("gemeente-wi", "demo-gemeente-wi")
INVITED = (("woningcorporatie", "demo-woningcorporatie"), ("ggz", "demo-ggz"), RECORDER)
UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def http(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=30) as client:
        yield client


def api(http: httpx.Client, demo_hub: DemoHub, who: tuple[str, str]) -> As:
    found = persona(*who)
    assert found is not None
    return As(http, demo_hub.settings, who[0], who[1], [r.value for r in found.roles], PURPOSE)


def signed_in(browser_for: Any, who: tuple[str, str]) -> Browser:
    b: Browser = browser_for()
    b.demo_login(*who)
    return b


@pytest.fixture(scope="module")
def demo_meeting(http: httpx.Client, demo_hub: DemoHub) -> dict[str, Any]:
    """The demo's case conference, as its chair reads it from the API."""
    listed = ok(api(http, demo_hub, CHAIR).get("/api/v1/meetings", params={"since": SINCE}))
    with_case = [m for m in listed if any(i["case_id"] == demo_hub.case_id for i in m["items"])]
    assert len(with_case) == 1
    meeting: dict[str, Any] = with_case[0]
    return meeting


def minutes_of(as_: As, meeting: dict[str, Any], item_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(
        as_.get(f"/api/v1/meetings/{meeting['id']}/items/{item_id}/minutes")
    )
    return answer


def test_the_demo_meeting_is_listed_for_an_invitee_and_the_procesregisseur(
    browser_for: Any, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    # the demo schedules it on 12 January of the year after it is played, at 09:00+01:00
    year = datetime.fromisoformat(demo_meeting["starts_at"]).year
    for who in (CHAIR, ("ggz", "demo-ggz")):
        page = signed_in(browser_for, who).get("/overleggen")
        assert page.status_code == 200
        assert f'href="/overleggen/{demo_meeting["id"]}"' in page.text
        assert f"12 januari {year}, 09:00" in page.text  # Europe/Amsterdam, Dutch
        assert "Veiligheidshuis, zaal 2" in page.text
        assert f"/casussen/{demo_hub.case_id}?doel=case_conference" in page.text
        assert "Doel: casusoverleg" in page.text


@pytest.mark.parametrize("purpose", ["case_conference", "execution"])
def test_each_persona_sees_exactly_the_minutes_parts_the_api_releases(
    browser_for: Any,
    http: httpx.Client,
    demo_hub: DemoHub,
    demo_meeting: dict[str, Any],
    purpose: str,
) -> None:
    item_id = demo_meeting["items"][0]["id"]
    # each recorder reads the parts it wrote (the demo's casusregisseur, and the chair in the
    # test below): the full texts, to look for in the pages of those they are withheld from
    full = {
        p["id"]: p["text"]
        for who in (RECORDER, CHAIR)
        for p in minutes_of(api(http, demo_hub, who), demo_meeting, item_id)["parts"]
        if p["released"]
    }
    assert len(full) >= 2
    released, withheld = 0, 0
    for who in (CHAIR, *INVITED):
        answer = minutes_of(api(http, demo_hub, who).with_purpose(purpose), demo_meeting, item_id)
        page = signed_in(browser_for, who).get(
            f"/overleggen/{demo_meeting['id']}", params={"doel": purpose}
        )
        assert page.status_code == 200, who
        assert f"Doel: {labels.PURPOSE[purpose]}" in page.text
        for part in answer["parts"]:
            if part["kind"] == "decision":
                continue
            assert f'data-part="{part["id"]}"' in page.text
            if part["released"]:
                released += 1
                assert str(escape(part["text"])) in page.text, (who, part["life_domain"])
            else:
                withheld += 1
                assert "niet gedeeld" in part["text"]
                assert str(escape(part["text"])) in page.text  # the door's placeholder
                assert str(escape(part["reason"])) in page.text
                assert str(escape(full[part["id"]])) not in page.text, (who, part["life_domain"])
                assert full[part["id"]] not in page.text
    assert released and withheld, "the demo releases some parts and withholds others"


def test_the_page_reads_the_minutes_as_the_api_would_and_the_log_says_so(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    for who in (("woningcorporatie", "demo-woningcorporatie"), RECORDER):
        before = _last_seq(demo_hub)
        signed_in(browser_for, who).get(f"/overleggen/{demo_meeting['id']}")
        middle = _last_seq(demo_hub)
        minutes_of(api(http, demo_hub, who), demo_meeting, demo_meeting["items"][0]["id"])
        from_page = [e for e in _entries(demo_hub, "minutes.read", before, middle)]
        from_api = [e for e in _entries(demo_hub, "minutes.read", middle, None)]
        assert len(from_page) == len(from_api) == 1
        page_entry, api_entry = from_page[0], from_api[0]
        assert (page_entry.actor_partner, page_entry.actor_user) == who
        assert page_entry.purpose == api_entry.purpose == PURPOSE
        assert page_entry.disclosed == api_entry.disclosed
        assert page_entry.object_ids == api_entry.object_ids


def test_the_calendar_download_is_the_apis_file_and_names_no_subject(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    chair = api(http, demo_hub, CHAIR)
    names = [
        s["name"]
        for c in ok(chair.get("/api/v1/caseload", purpose="case_management"))["cases"]
        for s in c["subjects"]
        if s.get("name")
    ]
    assert names, "the procesregisseur's caseload names the subjects"
    for who in (CHAIR, ("ggz", "demo-ggz")):
        path = f"/meetings/{demo_meeting['id']}/calendar.ics"
        from_api = api(http, demo_hub, who).get(f"/api/v1{path}")
        assert from_api.status_code == 200
        download = signed_in(browser_for, who).get(f"/overleggen/{demo_meeting['id']}/agenda.ics")
        assert download.status_code == 200
        assert download.content == from_api.content  # DTSTAMP is the meeting's creation
        assert download.headers["content-type"] == "text/calendar; charset=utf-8"
        assert download.headers["content-disposition"].startswith("attachment; filename=")
        text = download.content.decode()
        assert demo_hub.case_id[:8] in text and demo_hub.case_id not in text
        for name in names:
            assert name not in text


def test_an_outsider_gets_the_404_of_an_unknown_meeting(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    # the people of the demo whom the API answers 404 for this meeting
    outsiders = [
        (p.partner, p.user)
        for p in PERSONAS
        if api(http, demo_hub, (p.partner, p.user))
        .get(f"/api/v1/meetings/{demo_meeting['id']}")
        .status_code
        == 404
    ]
    assert outsiders, "someone in the demo takes no part in the case"
    b = signed_in(browser_for, outsiders[0])
    foreign = b.get(f"/overleggen/{demo_meeting['id']}")
    unknown = b.get(f"/overleggen/{UNKNOWN}")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.text == unknown.text
    assert b.get(f"/overleggen/{demo_meeting['id']}/agenda.ics").status_code == 404
    listing = b.get("/overleggen")
    assert listing.status_code == 200 and demo_meeting["id"] not in listing.text


def test_the_chair_records_minutes_through_the_form(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    item_id = demo_meeting["items"][0]["id"]
    chair = api(http, demo_hub, CHAIR)
    before = len(minutes_of(chair, demo_meeting, item_id)["parts"])
    b = signed_in(browser_for, CHAIR)
    page = b.get(f"/overleggen/{demo_meeting['id']}")
    action = f"/overleggen/{demo_meeting['id']}/casussen/{item_id}/verslag"
    assert f'action="{action}"' in page.text
    text = "Schuldhulp: aanmelding bij de gemeente is gedaan."
    form = {
        "csrf_token": b.csrf(page),
        f"{item_id}.leefgebied": "finances",
        f"{item_id}.gevoeligheid": "ordinary",
        f"{item_id}.verslag": text,
        f"{item_id}.besluit": "",
    }
    # invalid input: no life domain for a text -> 400, the form again, nothing stored
    bad = b.post(action, {**form, f"{item_id}.leefgebied": ""})
    assert bad.status_code == 400
    assert 'id="error-summary"' in bad.text and "Kies het leefgebied" in bad.text
    assert str(escape(text)) in bad.text  # what was typed is kept
    assert len(minutes_of(chair, demo_meeting, item_id)["parts"]) == before
    # the form posted well: Post/Redirect/Get, and the API's read holds the new part
    done = b.post(action, form)
    assert done.status_code == 303
    assert done.headers["location"] == f"/overleggen/{demo_meeting['id']}"
    parts = minutes_of(chair, demo_meeting, item_id)["parts"]
    assert len(parts) == before + 1
    new = [p for p in parts if p["text"] == text]
    assert len(new) == 1 and new[0]["life_domain"] == "finances" and new[0]["released"]
    assert str(escape(text)) in b.get(done.headers["location"]).text


def test_a_post_without_csrf_changes_nothing(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    item_id = demo_meeting["items"][0]["id"]
    chair = api(http, demo_hub, CHAIR)
    before = minutes_of(chair, demo_meeting, item_id)["parts"]
    meetings = ok(chair.get("/api/v1/meetings", params={"since": SINCE}))
    b = signed_in(browser_for, CHAIR)
    form = {
        f"{item_id}.leefgebied": "housing",
        f"{item_id}.gevoeligheid": "ordinary",
        f"{item_id}.verslag": "Dit mag niet worden opgeslagen.",
    }
    action = f"/overleggen/{demo_meeting['id']}/casussen/{item_id}/verslag"
    for extra in ({}, {"csrf_token": "forged"}):
        refused = b.post(action, {**form, **extra})
        assert refused.status_code == 403
    schedule = {
        "tafel": "multi_problem",
        "datum": "2027-02-01",
        "begintijd": "09:00",
        "eindtijd": "10:00",
        "plaats": "Zaal 1",
        "voorzitter_organisatie": "zvh",
        "voorzitter_gebruiker": "procesregisseur-1",
        "voorzitter_rol": "procesregisseur",
    }
    assert b.post("/overleggen", schedule).status_code == 403
    assert minutes_of(chair, demo_meeting, item_id)["parts"] == before
    assert ok(chair.get("/api/v1/meetings", params={"since": SINCE})) == meetings


def test_the_procesregisseur_schedules_a_meeting_through_the_form(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub
) -> None:
    chair = api(http, demo_hub, CHAIR)
    count = len(ok(chair.get("/api/v1/meetings", params={"since": SINCE})))
    b = signed_in(browser_for, CHAIR)
    page = b.get("/overleggen")
    form = {
        "csrf_token": b.csrf(page),
        "tafel": "multi_problem",
        "datum": "2027-02-01",
        "begintijd": "10:00",
        "eindtijd": "09:00",
        "plaats": "Zaal 1",
        "videolink": "",
        "voorzitter_organisatie": "zvh",
        "voorzitter_gebruiker": "procesregisseur-1",
        "voorzitter_rol": "procesregisseur",
    }
    bad = b.post("/overleggen", form)
    assert bad.status_code == 400 and "De eindtijd moet na de begintijd liggen" in bad.text
    assert len(ok(chair.get("/api/v1/meetings", params={"since": SINCE}))) == count
    # the ends of the calendar (which overflow in UTC) and other implausible years
    for day in ("0001-01-01", "9999-12-31", "31-12-1999", "2101-01-01"):
        far = b.post("/overleggen", {**form, "datum": day, "begintijd": "09:00"})
        assert far.status_code == 400, day
        assert "Kies een datum tussen het jaar 2000 en 2100" in far.text
    assert len(ok(chair.get("/api/v1/meetings", params={"since": SINCE}))) == count
    done = b.post("/overleggen", {**form, "begintijd": "09:00", "eindtijd": "10:30"})
    assert done.status_code == 303
    meeting_id = done.headers["location"].rsplit("/", 1)[1]
    created = ok(chair.get(f"/api/v1/meetings/{meeting_id}"))
    assert created["starts_at"].startswith("2027-02-01T08:00:00")  # 09:00 in Amsterdam (CET)
    assert datetime.fromisoformat(created["ends_at"]).hour == 9
    assert created["location"] == "Zaal 1" and created["items"] == []
    assert b.get(done.headers["location"]).status_code == 200


def test_the_procesregisseur_invites_and_records_attendance_through_the_forms(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    meeting_id = demo_meeting["id"]
    item_id = demo_meeting["items"][0]["id"]
    chair = api(http, demo_hub, CHAIR)

    def invitees() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = ok(chair.get(f"/api/v1/meetings/{meeting_id}"))["items"][0][
            "invitees"
        ]
        return found

    before = invitees()
    b = signed_in(browser_for, CHAIR)
    token = b.csrf(b.get(f"/overleggen/{meeting_id}"))
    base = f"/overleggen/{meeting_id}/casussen/{item_id}"
    # a partner that takes no part in the case: the service's 400, as a Dutch form error
    refused = b.post(
        f"{base}/genodigden",
        {"csrf_token": token, f"{item_id}.organisatie": "onbekend", f"{item_id}.professional": ""},
    )
    assert refused.status_code == 400
    assert "Alleen een organisatie (of professional) die aan deze casus deelneemt" in refused.text
    assert 'value="onbekend"' in refused.text
    bad = b.post(f"{base}/genodigden", {"csrf_token": token, f"{item_id}.organisatie": "a b"})
    assert bad.status_code == 400 and "Vul de code van een organisatie in" in bad.text
    assert invitees() == before
    # a partner of the case: invited, then its attendance recorded
    done = b.post(
        f"{base}/genodigden",
        {"csrf_token": token, f"{item_id}.organisatie": "om", f"{item_id}.professional": ""},
    )
    assert done.status_code == 303 and done.headers["location"] == f"/overleggen/{meeting_id}"
    after = invitees()
    assert {"partner": "om", "user": None, "attendance": None} in after
    page = b.get(f"/overleggen/{meeting_id}")
    n = [i["partner"] for i in after].index("om")
    assert f'name="{item_id}.organisatie-{n}" value="om"' in page.text
    form = {"csrf_token": token}
    for k, invitee in enumerate(after):
        form[f"{item_id}.organisatie-{k}"] = invitee["partner"]
        form[f"{item_id}.professional-{k}"] = invitee["user"] or ""
        form[f"{item_id}.aanwezig-{k}"] = invitee["attendance"] or ""
    wrong = b.post(f"{base}/aanwezigheid", {**form, f"{item_id}.aanwezig-{n}": "misschien"})
    assert wrong.status_code == 400 and "Kies aanwezig, afwezig of afgemeld" in wrong.text
    assert invitees() == after
    recorded = b.post(f"{base}/aanwezigheid", {**form, f"{item_id}.aanwezig-{n}": "excused"})
    assert recorded.status_code == 303
    assert {"partner": "om", "user": None, "attendance": "excused"} in invitees()
    assert "om: afgemeld" in b.get(f"/overleggen/{meeting_id}").text


def test_putting_a_case_on_a_meeting_twice_gets_the_apis_conflict(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, demo_meeting: dict[str, Any]
) -> None:
    meeting_id = demo_meeting["id"]
    chair = api(http, demo_hub, CHAIR)
    twice = chair.post(f"/api/v1/meetings/{meeting_id}/items", json={"case_id": demo_hub.case_id})
    b = signed_in(browser_for, CHAIR)
    token = b.csrf(b.get(f"/overleggen/{meeting_id}"))
    page = b.post(f"/overleggen/{meeting_id}/casussen", {"csrf_token": token, "casus": ""})
    assert page.status_code == 400 and "Kies een casus" in page.text
    again = b.post(
        f"/overleggen/{meeting_id}/casussen", {"csrf_token": token, "casus": demo_hub.case_id}
    )
    assert again.status_code == twice.status_code == 409
    assert len(ok(chair.get(f"/api/v1/meetings/{meeting_id}"))["items"]) == 1


def _last_seq(hub: DemoHub) -> int:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            return max(s.scalars(select(LogEntry.seq)).all() or [0])
    finally:
        engine.dispose()


def _entries(hub: DemoHub, action: str, after: int, upto: int | None) -> list[LogEntry]:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            query = select(LogEntry).where(LogEntry.action == action, LogEntry.seq > after)
            if upto is not None:
                query = query.where(LogEntry.seq <= upto)
            return list(s.scalars(query.order_by(LogEntry.seq)))
    finally:
        engine.dispose()
