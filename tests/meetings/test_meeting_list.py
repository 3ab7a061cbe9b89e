"""The list of case conferences (GET /meetings): the same visibility as reading each one."""

from __future__ import annotations

from datetime import timedelta

from tests.meetings.test_meetings import (
    MEETING,
    MEETING_DAY,
    _meeting_with_case,
    conference,  # noqa: F401 - the fixture
)
from tests.plans.conftest import PlanCase
from tests.support import ok

#: the start of the meeting's month, and the first moment after its day
SINCE = {"since": f"{MEETING_DAY.replace(day=1)}T00:00:00+01:00"}
LATER = {"since": f"{MEETING_DAY + timedelta(days=1)}T00:00:00Z"}


def test_the_list_shows_what_reading_each_meeting_shows(
    conference: PlanCase,  # noqa: F811
) -> None:
    c = conference
    meeting_id, item_id = _meeting_with_case(c)
    empty = ok(c.procesregisseur.post("/api/v1/meetings", json=MEETING), 201)["id"]
    ok(
        c.procesregisseur.post(
            f"/api/v1/meetings/{meeting_id}/items/{item_id}/invitees",
            json={"partner": "woningcorporatie"},
        )
    )
    listed = ok(c.procesregisseur.get("/api/v1/meetings", params=SINCE))
    assert {m["id"] for m in listed} == {meeting_id, empty}  # same start: ordered by id
    for who in (c.procesregisseur, c.woningcorporatie, c.outsider):
        shown = {m["id"]: m for m in ok(who.get("/api/v1/meetings", params=SINCE))}
        for mid in (meeting_id, empty):
            read = who.get(f"/api/v1/meetings/{mid}")
            if read.status_code == 404:
                assert mid not in shown
            else:
                assert shown[mid] == ok(read)
    assert meeting_id in {
        m["id"] for m in ok(c.woningcorporatie.get("/api/v1/meetings", params=SINCE))
    }
    assert ok(c.outsider.get("/api/v1/meetings", params=SINCE)) == []
    later = ok(c.procesregisseur.get("/api/v1/meetings", params=LATER))
    assert later == []
    naive = c.procesregisseur.get(
        "/api/v1/meetings", params={"since": f"{MEETING_DAY.replace(day=1)}T00:00:00"}
    )
    assert naive.status_code == 400
