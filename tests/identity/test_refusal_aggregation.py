"""Repeated anonymous refusals are counted, not logged one by one, and none is lost (issue 15).

3,000 token-less requests used to add 3,000 access-log entries. Now the first refusals from a
source in a minute are logged as before and the rest are counted into one entry with a
`count` per source, action and reason, written when the minute ends (on the next refusal
after it, by the periodic flush) or when the hub stops. The counts add up to exactly the
refusals sent, sources are kept apart, and the log still verifies, live and exported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.app import create_app
from hub.audit.entry import Action
from hub.audit.log import ANONYMOUS, Actor
from hub.audit.models import LogEntry
from hub.audit.verify import verify_export_file
from hub.context import HubContext
from hub.identity.throttle import WINDOW_S, RefusalCounter, Tally, Throttle
from hub.settings import Settings
from hub.vocabulary import PartnerKind
from tests.support import token_for

SOURCE_A = "192.0.2.10"
SOURCE_B = "198.51.100.7"
ME = "/api/v1/me"


class FakeClock:
    """Monotonic seconds the test moves by hand: no test sleeps through a minute."""

    def __init__(self, start: float = 10 * WINDOW_S + 1) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- the counter on its own ------------------------------------------------------------------


def test_the_first_refusals_of_a_source_are_logged_the_rest_counted_per_window() -> None:
    clock = FakeClock()
    counter = RefusalCounter(log_first=2, clock=clock)
    decisions = [
        counter.record(Action.AUTH_FAILURE, "token:expired", SOURCE_A, ANONYMOUS) for _ in range(5)
    ]
    assert [log_now for log_now, _ in decisions] == [True, True, False, False, False]
    assert all(due == [] for _, due in decisions)
    assert counter.counted() == 3
    assert counter.take_due() == []  # the minute has not ended

    clock.advance(WINDOW_S)
    log_now, due = counter.record(Action.AUTH_FAILURE, "token:expired", SOURCE_A, ANONYMOUS)
    assert log_now, "a new minute: the first refusal is logged at once again"
    assert due == [Tally(Action.AUTH_FAILURE, "token:expired", SOURCE_A, ANONYMOUS, 3)]
    assert counter.counted() == 0


def test_counts_are_kept_per_source_action_reason_and_partner() -> None:
    clock = FakeClock()
    counter = RefusalCounter(log_first=0, clock=clock)
    police = Actor(partner="politie", partner_kind=PartnerKind.POLICE)
    for source, reason, actor, times in [
        (SOURCE_A, "token:missing_bearer", ANONYMOUS, 4),
        (SOURCE_A, "token:expired", ANONYMOUS, 2),
        (SOURCE_B, "token:missing_bearer", ANONYMOUS, 3),
        (SOURCE_B, "rate_limit:partner", police, 1),
    ]:
        action = Action.REQUEST_REJECTED if actor is police else Action.AUTH_FAILURE
        for _ in range(times):
            assert counter.record(action, reason, source, actor) == (False, [])
    clock.advance(WINDOW_S)
    assert sorted(counter.take_due(), key=repr) == sorted(
        [
            Tally(Action.AUTH_FAILURE, "token:missing_bearer", SOURCE_A, ANONYMOUS, 4),
            Tally(Action.AUTH_FAILURE, "token:expired", SOURCE_A, ANONYMOUS, 2),
            Tally(Action.AUTH_FAILURE, "token:missing_bearer", SOURCE_B, ANONYMOUS, 3),
            Tally(Action.REQUEST_REJECTED, "rate_limit:partner", SOURCE_B, police, 1),
        ],
        key=repr,
    )
    assert counter.take_due() == []


def test_sources_beyond_the_cap_share_one_count_and_nothing_is_dropped() -> None:
    clock = FakeClock()
    counter = RefusalCounter(log_first=1, max_sources=3, clock=clock)
    logged = 0
    for n in range(10):
        for _ in range(2):
            log_now, _ = counter.record(
                Action.AUTH_FAILURE, "token:malformed", f"203.0.113.{n}", ANONYMOUS
            )
            logged += log_now
    assert counter.tracked_sources() == 4  # three sources and the shared bucket
    assert logged == 3, "only tracked sources get an entry at once"
    tallies = counter.take_all()
    assert logged + sum(t.count for t in tallies) == 20
    shared = [t for t in tallies if t.source is None]
    assert [t.count for t in shared] == [14]
    assert counter.tracked_sources() == 0


def test_counts_that_could_not_be_written_are_handed_out_again() -> None:
    clock = FakeClock()
    counter = RefusalCounter(log_first=0, clock=clock)
    counter.record(Action.AUTH_FAILURE, "token:expired", SOURCE_A, ANONYMOUS)
    tallies = counter.take_all()
    counter.put_back(tallies)
    assert counter.counted() == 1
    assert counter.take_due() == tallies


def test_a_request_without_an_address_is_logged_and_counted_without_one() -> None:
    counter = RefusalCounter(log_first=1, clock=FakeClock())
    assert counter.record(Action.AUTH_FAILURE, "token:expired", None, ANONYMOUS)[0]
    assert not counter.record(Action.AUTH_FAILURE, "token:expired", None, ANONYMOUS)[0]
    assert [(t.source, t.count) for t in counter.take_all()] == [(None, 1)]


# -- over HTTP, against the real log ---------------------------------------------------------


@dataclass
class Hub:
    ctx: HubContext
    app: FastAPI
    clock: FakeClock

    def client(self, source: str) -> TestClient:
        """A client whose requests come from `source` (the ASGI scope's client address)."""
        return TestClient(self.app, client=(source, 50000), raise_server_exceptions=False)

    def entries(self) -> list[LogEntry]:
        with self.ctx.db.transaction() as session:
            rows = session.scalars(select(LogEntry).order_by(LogEntry.seq)).all()
            session.expunge_all()
            return list(rows)


def _hub(settings: Settings) -> Iterator[Hub]:
    ctx = HubContext.open(settings)
    clock = FakeClock()
    ctx.authenticator.throttle = Throttle.from_settings(settings, clock=clock)
    try:
        yield Hub(ctx, create_app(settings, context=ctx), clock)
    finally:
        ctx.close()


@pytest.fixture
def hub_log_first_one(initialised: Settings) -> Iterator[Hub]:
    """The design point of issue 15: only the first refusal of a source-minute is logged."""
    yield from _hub(initialised.model_copy(update={"refusals_logged_per_source_per_minute": 1}))


def refusals(entries: list[LogEntry], source: str | None = None) -> list[LogEntry]:
    return [
        e for e in entries if e.action == "auth.failure" and (source is None or e.source == source)
    ]


def accounted(entries: list[LogEntry]) -> int:
    """How many refusals the entries stand for: one each, or their count."""
    return sum(1 if e.count is None else e.count for e in entries)


def test_3000_token_less_requests_add_a_handful_of_entries_that_account_for_all(
    hub_log_first_one: Hub, tmp_path: Path
) -> None:
    hub = hub_log_first_one
    with hub.client(SOURCE_A) as http:  # `with`: the lifespan runs, and stops at the end
        for _ in range(3000):
            assert http.get(ME).status_code == 401
        during = refusals(hub.entries())
        assert len(during) == 1, "one entry at once, the rest counted in memory"
        assert during[0].count is None and during[0].reason == "token:missing_bearer"
        assert hub.ctx.authenticator.throttle.refusals.counted() == 2999
        hub.clock.advance(WINDOW_S)
        assert hub.ctx.flush_refusals() == 1  # what the periodic flush does
    logged = refusals(hub.entries())
    assert len(logged) == 2
    aggregate = logged[1]
    assert (aggregate.count, aggregate.source, aggregate.reason) == (
        2999,
        SOURCE_A,
        "token:missing_bearer",
    )
    assert aggregate.outcome == "denied" and aggregate.actor_partner is None
    assert accounted(logged) == 3000

    # the log verifies, live and as an offline export (`vhhub audit verify` logic)
    report = hub.ctx.audit.verify_live()
    assert report.ok, report.problem
    export = tmp_path / "log.jsonl"
    with export.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(hub.ctx.audit.export_full(None))
    offline = verify_export_file(export, hub.ctx.log.signer.verifier_key)
    assert offline.ok, offline.problem
    assert offline.entries_checked == len(hub.entries())


def test_refusals_from_two_sources_are_kept_apart(hub_log_first_one: Hub) -> None:
    hub = hub_log_first_one
    with hub.client(SOURCE_A) as a:
        b = hub.client(SOURCE_B)
        for _ in range(30):
            assert a.get(ME).status_code == 401
        for _ in range(12):
            assert b.get(ME, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        assert len(refusals(hub.entries())) == 2  # the first of each source, at once
        hub.clock.advance(WINDOW_S)
        # the first refusal after the minute writes the minute's counts, then its own entry
        assert a.get(ME).status_code == 401
    entries = refusals(hub.entries())
    by_source = {
        source: Counter(
            (e.reason, e.count) for e in entries if e.source == source and e.count is not None
        )
        for source in (SOURCE_A, SOURCE_B)
    }
    assert by_source[SOURCE_A] == Counter({("token:missing_bearer", 29): 1})
    assert by_source[SOURCE_B] == Counter({("token:malformed", 11): 1})
    assert accounted(refusals(entries, SOURCE_A)) == 31
    assert accounted(refusals(entries, SOURCE_B)) == 12
    assert hub.ctx.audit.verify_live().ok


def test_a_clean_stop_writes_the_counts_of_the_current_minute(hub_log_first_one: Hub) -> None:
    hub = hub_log_first_one
    with hub.client(SOURCE_A) as http:
        for _ in range(5):
            assert http.get(ME).status_code == 401
    # the minute has not ended, but the lifespan's shutdown wrote what it counted
    logged = refusals(hub.entries())
    assert [e.count for e in logged] == [None, 4]
    assert hub.ctx.authenticator.throttle.refusals.counted() == 0


def test_authenticated_refusals_and_successes_are_still_logged_one_by_one(
    hub_log_first_one: Hub,
) -> None:
    hub = hub_log_first_one
    settings = hub.ctx.settings
    with hub.client(SOURCE_A) as http:
        for _ in range(3):
            token = token_for(settings, "politie", "agent-1", ["participant"])
            missing = http.get(ME, headers={"Authorization": f"Bearer {token}"})
            assert missing.status_code == 400
    rejected = [e for e in hub.entries() if e.action == "request.rejected"]
    assert [(e.reason, e.count) for e in rejected] == [("purpose:missing", None)] * 3


def test_the_default_keeps_a_burst_of_refusals_visible_and_bounds_a_flood(
    initialised: Settings,
) -> None:
    """By default the first refusal of a source-minute gets an entry at once (a failed
    login is visible immediately); the repeats are counted into one entry."""
    assert initialised.refusals_logged_per_source_per_minute == 1
    for hub in _hub(initialised):
        with hub.client(SOURCE_A) as http:
            for _ in range(400):
                assert http.get(ME).status_code == 401
        logged = refusals(hub.entries())
        assert len(logged) == 2
        assert [e.count for e in logged[-1:]] == [399]
        assert accounted(logged) == 400


def test_counts_survive_a_log_that_cannot_be_written(
    hub_log_first_one: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_log_first_one
    http = hub.client(SOURCE_A)
    for _ in range(10):
        assert http.get(ME).status_code == 401

    def database_down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(hub.ctx.log, "append", database_down)
    hub.clock.advance(WINDOW_S)
    with pytest.raises(RuntimeError):
        hub.ctx.flush_refusals()
    # a refusal that cannot be logged fails the request, as before, but it is still counted
    assert http.get(ME).status_code == 500
    monkeypatch.undo()
    assert hub.ctx.flush_refusals(final=True) == 2
    logged = refusals(hub.entries())
    assert [e.count for e in logged] == [None, 9, 1]
    assert accounted(logged) == 11
    assert hub.ctx.audit.verify_live().ok
