"""Rate limits per source address and per partner: 429 with Retry-After, no effect, logged
(issue 15, ADR 0404).

The source limit is checked before authentication, the partner limit after it; an over-limit
request answers application/problem+json with an integer Retry-After, changes nothing, and
leaves an access-log entry (counted into one entry when it repeats). Time is a clock the
test moves by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.app import create_app
from hub.audit.models import LogEntry
from hub.cases.models import Case
from hub.context import HubContext
from hub.errors import PROBLEM_BASE
from hub.identity.throttle import WINDOW_S, RateLimiter, Throttle, request_source
from hub.settings import Settings
from tests.support import token_for

SOURCE_A = "192.0.2.10"
SOURCE_B = "198.51.100.7"
ME = "/api/v1/me"
CASE = {
    "kind": "person",
    "proposed_table": "adults",
    "reason": "Overlast in de buurt",
    "subjects": [{"role_in_case": "subject", "bsn": "123456782"}],
}


class FakeClock:
    def __init__(self, start: float = 10 * WINDOW_S + 1) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- the token bucket on its own -------------------------------------------------------------


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(6, clock=clock)  # 6 a minute: one token every 10 s, 6 at once
    assert [limiter.acquire(SOURCE_A) for _ in range(6)] == [0] * 6
    assert limiter.acquire(SOURCE_A) == 10
    clock.advance(4)
    assert limiter.acquire(SOURCE_A) == 6, "refused requests take no token"
    clock.advance(6)
    assert limiter.acquire(SOURCE_A) == 0
    assert limiter.acquire(SOURCE_A) == 10
    assert limiter.acquire(SOURCE_B) == 0, "every key has its own bucket"


def test_the_burst_setting_bounds_what_comes_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(600, burst=2, clock=clock)  # 10 a second, 2 at once
    assert [limiter.acquire("k") for _ in range(3)] == [0, 0, 1]
    clock.advance(0.1)
    assert limiter.acquire("k") == 0
    clock.advance(WINDOW_S)
    assert [limiter.acquire("k") for _ in range(3)] == [0, 0, 1], "never more than the burst"


def test_zero_disables_a_limit() -> None:
    limiter = RateLimiter(0, clock=FakeClock())
    assert not limiter.enabled
    assert all(limiter.acquire(SOURCE_A) == 0 for _ in range(10_000))
    assert limiter.tracked() == 0


def test_memory_is_bounded_idle_buckets_go_and_a_flood_beyond_the_cap_shares_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=1, clock=clock, max_keys=3)
    for n in range(3):
        assert limiter.acquire(f"203.0.113.{n}") == 0
    # the cap is reached and nobody is idle: new sources share one bucket, limited together
    assert limiter.acquire("203.0.113.50") == 0
    assert limiter.acquire("203.0.113.51") == 1
    assert limiter.tracked() == 4
    clock.advance(2)  # every bucket has refilled: idle, the same as no bucket at all
    assert limiter.acquire("203.0.113.60") == 0
    assert limiter.tracked() <= 2


def test_the_source_comes_from_the_request_context_or_else_the_peer() -> None:
    assert request_source({"state": {"source": "2001:db8::1"}, "client": ("::1", 1)}) == (
        "2001:db8::1"
    )
    assert request_source({"state": {}, "client": (SOURCE_A, 50000)}) == SOURCE_A
    assert request_source({"client": (SOURCE_B, 1)}) == SOURCE_B
    assert request_source({"state": {"source": None}, "client": None}) is None


# -- over HTTP -------------------------------------------------------------------------------


@dataclass
class Hub:
    ctx: HubContext
    app: FastAPI
    clock: FakeClock

    def client(self, source: str) -> TestClient:
        return TestClient(self.app, client=(source, 50000), raise_server_exceptions=False)

    def entries(self, action: str) -> list[LogEntry]:
        with self.ctx.db.transaction() as session:
            rows = session.scalars(
                select(LogEntry).where(LogEntry.action == action).order_by(LogEntry.seq)
            ).all()
            session.expunge_all()
            return list(rows)

    def cases(self) -> int:
        with self.ctx.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def _hub(settings: Settings, **limits: Any) -> Iterator[Hub]:
    settings = settings.model_copy(update=limits)
    ctx = HubContext.open(settings)
    clock = FakeClock()
    ctx.authenticator.throttle = Throttle.from_settings(settings, clock=clock)
    try:
        yield Hub(ctx, create_app(settings, context=ctx), clock)
    finally:
        ctx.close()


@pytest.fixture
def source_limited(initialised: Settings) -> Iterator[Hub]:
    yield from _hub(
        initialised,
        rate_limit_per_source_per_minute=3,
        rate_limit_per_partner_per_minute=0,
        refusals_logged_per_source_per_minute=1,
    )


@pytest.fixture
def partner_limited(initialised: Settings) -> Iterator[Hub]:
    yield from _hub(
        initialised,
        rate_limit_per_source_per_minute=0,
        rate_limit_per_partner_per_minute=2,
        refusals_logged_per_source_per_minute=1,
    )


def police(settings: Settings, purpose: str = "intake") -> dict[str, str]:
    token = token_for(settings, "politie", "agent-1", ["publisher", "participant"])
    return {"Authorization": f"Bearer {token}", "Purpose": purpose}


def assert_429(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == str(retry_after)
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "too-many-requests"
    assert body["status"] == 429
    assert body["title"] and body["detail"]


def test_a_source_over_its_limit_gets_429_and_its_request_has_no_effect(
    source_limited: Hub,
) -> None:
    hub = source_limited
    settings = hub.ctx.settings
    with hub.client(SOURCE_A) as http:
        for _ in range(3):
            assert http.get(ME, headers=police(settings, "preparation")).status_code == 200
        headers = police(settings)
        limited = http.post("/api/v1/cases", json=CASE, headers=headers)
        assert_429(limited, 20)  # 3 a minute: a token every 20 s
        assert hub.cases() == 0, "a rate-limited registration stored nothing"
        # refused before authentication: not even the token's jti was spent, so the very
        # same request goes through once the source has waited
        hub.clock.advance(20)
        assert http.post("/api/v1/cases", json=CASE, headers=headers).status_code == 201
        assert hub.cases() == 1
        # another source has its own allowance
        assert hub.client(SOURCE_B).get(ME, headers=police(settings, "prep")).status_code == 400
    logged = hub.entries("request.rejected")
    limits = [e for e in logged if e.reason == "rate_limit:source"]
    assert [(e.source, e.actor_partner, e.outcome, e.count) for e in limits] == [
        (SOURCE_A, None, "denied", None)
    ]


def test_a_flood_over_the_limit_is_counted_into_one_entry(source_limited: Hub) -> None:
    hub = source_limited
    with hub.client(SOURCE_A) as http:
        answers = [http.get(ME).status_code for _ in range(500)]
        assert answers[:3] == [401, 401, 401]
        assert set(answers[3:]) == {429}
        hub.clock.advance(WINDOW_S)
        hub.ctx.flush_refusals()
    # the source's one entry at once went to its first refusal (a 401); everything after
    # it, 401 or 429, was counted per action and reason
    failures = hub.entries("auth.failure")
    assert [e.count for e in failures] == [None, 2]
    limits = [e for e in hub.entries("request.rejected") if e.reason == "rate_limit:source"]
    assert [(e.count, e.source, e.actor_partner) for e in limits] == [(497, SOURCE_A, None)]
    assert len(answers) == 1 + 2 + 497
    assert hub.ctx.audit.verify_live().ok


def test_a_partner_over_its_limit_is_limited_and_another_partner_is_not(
    partner_limited: Hub,
) -> None:
    hub = partner_limited
    settings = hub.ctx.settings
    with hub.client(SOURCE_A) as http:
        assert http.post("/api/v1/cases", json=CASE, headers=police(settings)).status_code == 201
        assert http.get(ME, headers=police(settings, "preparation")).status_code == 200
        limited = http.post("/api/v1/cases", json=CASE, headers=police(settings))
        assert_429(limited, 30)  # 2 a minute
        assert hub.cases() == 1, "the limited registration stored nothing"
        # a municipality, from the same address, is not held to the police's limit
        token = token_for(settings, "gemeente-wi", "wijk-1", ["participant"])
        other = http.get(ME, headers={"Authorization": f"Bearer {token}", "Purpose": "intake"})
        assert other.status_code == 200
        assert other.json()["partner"] == "gemeente-wi"
        # every user of the partner shares the partner's allowance
        colleague = token_for(settings, "politie", "agent-2", ["participant"])
        assert_429(
            http.get(ME, headers={"Authorization": f"Bearer {colleague}", "Purpose": "intake"}),
            30,
        )
        hub.clock.advance(30)
        assert http.get(ME, headers=police(settings, "preparation")).status_code == 200
    limits = [e for e in hub.entries("request.rejected") if e.reason == "rate_limit:partner"]
    # the first one at once with the whole actor; the colleague's counted for the partner
    # and written when the hub stopped
    assert [(e.actor_partner, e.actor_user, e.purpose, e.count) for e in limits] == [
        ("politie", "agent-1", "intake", None),
        ("politie", None, None, 1),
    ]
    assert all(e.source == SOURCE_A and e.outcome == "denied" for e in limits)


def test_the_default_limits_are_generous_and_on(initialised: Settings) -> None:
    throttle = Throttle.from_settings(initialised)
    assert throttle.by_source.enabled and throttle.by_partner.enabled
    assert initialised.rate_limit_per_source_per_minute >= 6000
    assert initialised.rate_limit_per_partner_per_minute >= 6000
