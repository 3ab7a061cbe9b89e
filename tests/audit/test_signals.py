"""Misuse signals over real HTTP (issue 18): each kind is raised when it should be and not when
it should not, only the officer's own organisation's users are counted (another's user
answers like a user without entries), only a privacy officer with the audit purpose gets in,
every read is logged naming the period, and a bad period is a 400 that logs nothing.

History is made through the real access log (hash chain and all) by injecting its clock: the
appender takes its time from `hub.audit.log.time.time_ns`, replaced here by a settable clock
that only moves forward, starting after the real "now" (the appender never lets time go
backwards, and `vhhub init` may have written entries at the real time).

Runs on SQLite and on PostgreSQL (VHHUB_TEST_DATABASE_URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.audit.entry import utc_micros
from hub.audit.signals import KINDS, Period, last_complete_week, parse_period
from hub.errors import BadRequest
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import World, case_in_preparation, log_size, rows
from tests.support import As, ok

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo("Europe/Amsterdam")
#: the asked period: week 20 of next year (mid-May), so that it, the 8 weeks before it
#: (W12-W19) and W11, when the case is made, are all after the real "now" on any day
MONDAY = date.fromisocalendar(datetime.now(ZONE).year + 1, 20, 1)
PERIOD = Period("week", MONDAY).label
WEEK_BEFORE = Period("week", MONDAY).shifted(-1).label
#: agent-1's history: one read a week, on the Tuesday of W12-W19
HISTORY = [MONDAY - timedelta(weeks=week) + timedelta(days=1) for week in range(8, 0, -1)]
SIGNALS = "/api/v1/audit/signals"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


class Clock:
    """Stands in for the `time` module of hub/audit/log.py: the entries' time."""

    def __init__(self) -> None:
        self.now_us = 0

    def at(self, moment: datetime) -> None:
        self.now_us = utc_micros(moment)

    def time_ns(self) -> int:
        return self.now_us * 1000


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """A low volume minimum, so a handful of reads is enough to show the rule."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        signal_volume_minimum=5,
        signal_volume_factor=3,
    )


@dataclass
class Scene:
    settings: Settings
    http: httpx.Client
    world: World
    clock: Clock
    officer: As
    agent: As  # politie, registered the case: works at its table
    colleague: As  # politie, only reads

    def as_(self, partner: str, user: str, roles: list[str], purpose: str) -> As:
        return As(self.http, self.settings, partner, user, roles, purpose)

    def read(self, who: As, moment: datetime, times: int = 1) -> None:
        self.clock.at(moment)
        for _ in range(times):
            ok(self.world.briefing(who))


@pytest.fixture
def scene(
    hub: RunningHub, initialised: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scene]:
    clock = Clock()
    monkeypatch.setattr("hub.audit.log.time", clock)
    with hub.client() as http:
        clock.at(local(MONDAY - timedelta(weeks=9), 10))  # W11: the case is made
        world = case_in_preparation(http, initialised)
        police = ["publisher", "participant"]
        scene = Scene(
            settings=initialised,
            http=http,
            world=world,
            clock=clock,
            officer=As(http, initialised, "politie", "fg-1", ["privacy_officer"], "audit"),
            agent=world.police,
            colleague=As(http, initialised, "politie", "agent-2", police, "preparation"),
        )
        # history: agent-1 reads once a week, on Tuesday morning (W12-W19)
        for tuesday in HISTORY:
            scene.read(scene.agent, local(tuesday, 10))
        # the period, in time order (the log's time never goes back): agent-1 reads 6 times
        # on Tuesday; agent-2 reads the case twice on Wednesday and is refused the access
        # log; another organisation's user reads a lot in the night to Thursday; agent-1
        # reads once late on Saturday night
        scene.read(scene.agent, local(MONDAY + timedelta(days=1), 10), times=6)
        scene.read(scene.colleague, local(MONDAY + timedelta(days=2), 10), times=2)
        denied = scene.colleague.get("/api/v1/audit/entries", purpose="audit")
        assert denied.status_code == 403
        scene.read(world.housing, local(MONDAY + timedelta(days=3), 2), times=8)
        scene.read(scene.agent, local(MONDAY + timedelta(days=5), 23))
        clock.at(local(MONDAY + timedelta(weeks=1), 9))  # the officer looks on Monday after
        yield scene


def user_of(report: dict[str, Any], user: str) -> dict[str, Any]:
    found = [u for u in report["users"] if u["user"] == user]
    assert len(found) == 1, [u["user"] for u in report["users"]]
    return found[0]


def kinds(user: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["kind"]: s for s in user["signals"]}


def last_entry(settings: Settings) -> tuple[Any, ...]:
    return rows(
        settings,
        "SELECT action, outcome, actor_partner, actor_user, reason, purpose FROM access_log "
        "ORDER BY seq DESC LIMIT 1",
    )[0]


# -- the signals ---------------------------------------------------------------------------------


def test_each_kind_is_raised_when_it_should_be_and_only_then(scene: Scene) -> None:
    report = ok(scene.officer.get(SIGNALS, params={"period": PERIOD}))
    assert report["period"] == PERIOD and report["partner"] == "politie"
    assert report["thresholds"]["volume_minimum"] == 5
    agent, colleague = user_of(report, "agent-1"), user_of(report, "agent-2")

    # agent-1: 7 reads against a median of 1 -> volume; one on Saturday night -> off hours;
    # registered the case, so works at its table; never refused
    assert agent["reads"] == 7
    signals = kinds(agent)
    assert set(signals) == {"volume", "off_hours"}
    assert signals["volume"]["count"] == 7 and signals["volume"]["baseline"] == 1.0
    assert len(signals["volume"]["seqs"]) == 7 and not signals["volume"]["truncated"]
    assert signals["off_hours"]["count"] == 1
    assert agent["counts"] == {"volume": 7, "off_hours": 1, "outside_tables": 0, "refusals": 0}

    # agent-2: 2 reads (below the minimum) in office hours, of a case at a table it never
    # worked at, and one refusal
    signals = kinds(colleague)
    assert set(signals) == {"outside_tables", "refusals"}
    assert signals["outside_tables"]["count"] == 2
    assert signals["outside_tables"]["tables"] == ["multi_problem"]
    assert signals["refusals"]["count"] == 1
    assert colleague["counts"] == {"volume": 2, "off_hours": 0, "outside_tables": 2, "refusals": 1}

    # users with signals first; nobody of another organisation
    assert all(u["signals"] for u in report["users"][:2])
    assert {u["user"] for u in report["users"]} <= {"agent-1", "agent-2", "fg-1"}


def test_the_entries_behind_each_signal_are_the_ones_that_raised_it(scene: Scene) -> None:
    agent = ok(scene.officer.get(f"{SIGNALS}/agent-1", params={"period": PERIOD}))
    signals = kinds(agent)
    volume = signals["volume"]["entries"]
    assert [e["seq"] for e in volume] == signals["volume"]["seqs"]
    assert {(e["action"], e["outcome"], e["purpose"]) for e in volume} == {
        ("briefing.read", "allowed", "preparation")
    }
    assert {e["case_id"] for e in volume} == {scene.world.case_id}
    assert {e["table"] for e in volume} == {"multi_problem"}
    (night,) = signals["off_hours"]["entries"]
    assert datetime.fromisoformat(night["time"]).astimezone(ZONE) == local(
        MONDAY + timedelta(days=5), 23
    )

    colleague = kinds(ok(scene.officer.get(f"{SIGNALS}/agent-2", params={"period": PERIOD})))
    (refusal,) = colleague["refusals"]["entries"]
    assert (refusal["action"], refusal["outcome"], refusal["case_id"]) == (
        "log.query",
        "denied",
        None,
    )
    assert len(colleague["outside_tables"]["entries"]) == 2


def test_the_week_before_is_quiet(scene: Scene) -> None:
    """W19: one read against a median of 1 (W11 had none): no signal of any kind."""
    report = ok(scene.officer.get(SIGNALS, params={"period": WEEK_BEFORE}))
    agent = user_of(report, "agent-1")
    assert agent["signals"] == [] and agent["reads"] == 1
    assert "agent-2" not in {u["user"] for u in report["users"]}


def test_a_month_holds_its_weeks(scene: Scene) -> None:
    # W20's Monday falls on May 10-17, so its Tuesday to Saturday (agent-1's 7 reads) lie in
    # May; so do the history's Tuesdays of W19 and perhaps W18 (in 2027: May 4 and 11)
    assert MONDAY.month == (MONDAY + timedelta(days=5)).month == 5
    in_may = [day for day in HISTORY if day.month == 5]
    assert len(in_may) in (1, 2)
    report = ok(scene.officer.get(SIGNALS, params={"period": f"{MONDAY.year}-05"}))
    agent = user_of(report, "agent-1")
    # the 8 months before: none until March and April (the other 6 Tuesdays): a median of
    # 0, so 8 or 9 reads >= the minimum is unusual
    assert agent["reads"] == len(in_may) + 7
    assert "volume" in kinds(agent)


# -- own organisation only -------------------------------------------------------------------


def test_another_organisations_user_answers_like_a_user_without_entries(scene: Scene) -> None:
    report = ok(scene.officer.get(SIGNALS, params={"period": PERIOD}))
    assert "w-1" not in {u["user"] for u in report["users"]}
    other = ok(scene.officer.get(f"{SIGNALS}/w-1", params={"period": PERIOD}))
    nobody = ok(scene.officer.get(f"{SIGNALS}/nobody-7", params={"period": PERIOD}))
    assert other | {"user": "x"} == nobody | {"user": "x"}
    assert other == {
        "user": "w-1",
        "reads": 0,
        "counts": dict.fromkeys(KINDS, 0),
        "signals": [],
    }
    # and the other organisation's own officer does see its user
    housing_officer = scene.as_("woningcorporatie", "fg-w", ["privacy_officer"], "audit")
    theirs = ok(housing_officer.get(SIGNALS, params={"period": PERIOD}))
    assert {u["user"] for u in theirs["users"]} >= {"w-1"}
    assert not {"agent-1", "agent-2"} & {u["user"] for u in theirs["users"]}
    assert "off_hours" in kinds(user_of(theirs, "w-1"))


# -- who may read it, and the log ---------------------------------------------------------------


def test_the_read_is_logged_naming_the_period_not_the_signals(scene: Scene) -> None:
    ok(scene.officer.get(SIGNALS, params={"period": PERIOD}))
    action, outcome, partner, user, reason, purpose = last_entry(scene.settings)
    assert (action, outcome, partner, user, purpose) == (
        "log.query",
        "allowed",
        "politie",
        "fg-1",
        "audit",
    )
    assert reason == f"misuse signals {PERIOD}"
    ok(scene.officer.get(f"{SIGNALS}/agent-2", params={"period": PERIOD}))
    assert last_entry(scene.settings)[4] == f"misuse signals {PERIOD} of user agent-2"


@pytest.mark.parametrize(
    ("partner", "user", "roles", "purpose"),
    [
        ("politie", "agent-1", ["publisher", "participant"], "audit"),
        ("zvh", "auditor-1", ["auditor"], "audit"),
        ("zvh", "pr-1", ["procesregisseur"], "audit"),
        ("politie", "fg-1", ["privacy_officer"], "policy_review"),
    ],
)
def test_only_a_privacy_officer_with_the_audit_purpose_gets_in(
    scene: Scene, partner: str, user: str, roles: list[str], purpose: str
) -> None:
    who = scene.as_(partner, user, roles, purpose)
    for path in (SIGNALS, f"{SIGNALS}/agent-1"):
        before = log_size(scene.settings)
        answer = who.get(path, params={"period": PERIOD})
        assert answer.status_code == 403, answer.text
        assert "agent-1" not in answer.text
        assert log_size(scene.settings) == before + 1
        action, outcome, actor_partner, actor_user, reason, _ = last_entry(scene.settings)
        assert (action, outcome, actor_partner, actor_user) == (
            "log.query",
            "denied",
            partner,
            user,
        )
        assert reason.startswith("read_misuse_signals:")


@pytest.mark.parametrize("period", ["2027-W54", "2027-13", "2027-00", "W20", "2027-W1", "1999-W10"])
def test_a_bad_period_is_a_400_and_nothing_is_read_or_logged(scene: Scene, period: str) -> None:
    before = log_size(scene.settings)
    for path in (SIGNALS, f"{SIGNALS}/agent-1"):
        answer = scene.officer.get(path, params={"period": period})
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert log_size(scene.settings) == before


# -- periods ---------------------------------------------------------------------------------


def test_periods_parse_and_step() -> None:
    week = parse_period("2026-W53")
    assert (week.first_day, week.end_day, week.label) == (
        date(2026, 12, 28),
        date(2027, 1, 4),
        "2026-W53",
    )
    assert week.shifted(-8).label == "2026-W45"
    month = parse_period("2026-01")
    assert (month.end_day, month.shifted(-2).label) == (date(2026, 2, 1), "2025-11")
    with pytest.raises(BadRequest):
        parse_period("2027-W53")  # 2027 has 52 ISO weeks


def test_the_default_period_is_the_last_complete_week_in_local_time() -> None:
    # Monday 00:30 in Amsterdam is still Sunday in UTC: the week that ended is W49
    monday_night = local(date(2026, 12, 7), 0, 30).astimezone(UTC)
    assert last_complete_week(monday_night, ZONE) == Period("week", date(2026, 11, 30))
    sunday = local(date(2026, 12, 6), 23)
    assert last_complete_week(sunday, ZONE).label == "2026-W48"


def test_a_user_id_the_log_could_not_hold_is_a_400_and_nothing_is_logged(scene: Scene) -> None:
    before = log_size(scene.settings)
    for user in ("a b", "-x", "agent-1;drop"):
        answer = scene.officer.get(f"{SIGNALS}/{user}", params={"period": PERIOD})
        assert answer.status_code == 400, (user, answer.text)
    assert log_size(scene.settings) == before
