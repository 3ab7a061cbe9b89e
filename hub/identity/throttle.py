"""Rate limits and refusal counting, in memory, per hub process (ADR 0404).

Two problems with one cause -- a client that sends far more than any partner application
needs:

- Every refused request used to write one access-log entry, so anyone who can reach the
  hub could grow the log without bound (3,000 token-less requests: 3,000 entries in 11 s).
  `RefusalCounter` keeps every refusal accounted for while bounding the entries: the first
  refusals from a source in a minute are logged one by one, as before (a failed login is
  visible at once, with its request id); the rest are counted per source, action, reason
  and partner and written as one entry with a `count` when the minute ends.
- Nothing bounded the work one source or one partner could cause. `RateLimiter` is a token
  bucket per key: per source address before authentication (so a flood never reaches token
  verification or the replay store) and per partner after it (a forger cannot spend a
  partner's allowance: the partner is known only from a verified token).

Everything here is per process and in memory: with several replicas each applies its own
limits and counts its own refusals (deploy/, ADR 0404). The clock is injected (monotonic
seconds) so tests move time by hand instead of sleeping. The module knows no database: the
caller writes what `RefusalCounter` tells it to (hub.identity.service.Authenticator).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hub.audit.entry import Action
from hub.audit.log import Actor
from hub.errors import HubError
from hub.settings import Settings

#: Monotonic seconds (time.monotonic in production, a hand-moved clock in tests).
Clock = Callable[[], float]

#: Refusals are counted per minute: the window an auditor reads an aggregate against.
WINDOW_S: Final = 60.0

#: Stands for every source beyond the tracking cap. Not an address (it holds a NUL), so no
#: client can be mistaken for it; its aggregates are written without a source.
_OTHER_SOURCES: Final = "\x00other-sources"

#: Stands for a request without a client address (not a socket peer); logged without one.
_NO_SOURCE: Final = ""

#: How often, at most, a full limiter looks for idle buckets to drop (seconds).
_PURGE_EVERY_S: Final = 1.0

#: Reason codes of the refusals a rate limit answers (logged as `request.rejected`).
SOURCE_LIMITED: Final = "rate_limit:source"
PARTNER_LIMITED: Final = "rate_limit:partner"


def request_source(scope: Mapping[str, Any]) -> str | None:
    """The client address of an ASGI request, for rate limiting.

    Prefers the normalised address RequestContextMiddleware puts in the scope's state
    (which honours X-Forwarded-For only from trusted proxies); falls back to the peer of
    the connection, so this works whether or not that middleware sets it.
    """
    state = scope.get("state")
    if isinstance(state, Mapping):
        source = state.get("source")
        if isinstance(source, str) and source:
            return source
    client = scope.get("client")
    if client:
        return str(client[0])
    return None


class TooManyRequests(HubError):
    """A source or partner went over its rate limit; nothing was done."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"
    default_detail = "The request rate limit was exceeded; retry after the time in Retry-After."

    def __init__(self, retry_after_s: int) -> None:
        super().__init__()
        self.retry_after_s = retry_after_s

    def response_headers(self) -> dict[str, str]:
        """Retry-After in whole seconds (RFC 9110 10.2.3), never 0: a client that retries at
        once would only be refused again."""
        return {"Retry-After": str(max(1, self.retry_after_s))}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute, `burst` of them at once.

    A bucket holds at most `burst` tokens (a minute's allowance when burst is 0) and refills
    at per_minute / 60 a second; each request takes one. `per_minute` 0 disables the limit.
    Memory is bounded: at `max_keys` buckets, idle ones (refilled to full, which is the same
    as having none) are dropped; if none is idle, new keys share one extra bucket, so a
    flood from more keys than the cap is still limited, together.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int = 0,
        clock: Clock = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if per_minute < 0 or burst < 0 or max_keys < 1:
            raise ValueError("rate limits and the key cap must not be negative")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._capacity = float(burst or per_minute)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._purged_at = -math.inf

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def acquire(self, key: str | None) -> int:
        """Take one token for `key`: 0 when the request may go ahead, else the whole seconds
        until a token is available again (the Retry-After of the 429)."""
        if not self.enabled:
            return 0
        now = self._clock()
        with self._lock:
            bucket = self._bucket(_NO_SOURCE if key is None else key, now)
            # a clock that steps back (it should not: it is monotonic) never adds tokens
            elapsed = max(0.0, now - bucket.updated)
            tokens = min(self._capacity, bucket.tokens + elapsed * self._rate)
            bucket.updated = max(now, bucket.updated)
            if tokens >= 1.0:
                bucket.tokens = tokens - 1.0
                return 0
            bucket.tokens = tokens
            return max(1, math.ceil((1.0 - tokens) / self._rate))

    def tracked(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is not None:
            return bucket
        if len(self._buckets) >= self._max_keys and now - self._purged_at >= _PURGE_EVERY_S:
            self._purged_at = now
            full = self._capacity
            idle = [
                k
                for k, b in self._buckets.items()
                if k != _OTHER_SOURCES and b.tokens + (now - b.updated) * self._rate >= full
            ]
            for k in idle:
                del self._buckets[k]
        if len(self._buckets) >= self._max_keys:
            key = _OTHER_SOURCES
            bucket = self._buckets.get(key)
            if bucket is not None:
                return bucket
        bucket = _Bucket(tokens=self._capacity, updated=now)
        self._buckets[key] = bucket
        return bucket


@dataclass(frozen=True, slots=True)
class Tally:
    """Refusals counted and not yet logged: one entry with `count` when written."""

    action: Action
    reason: str
    #: None for refusals from sources beyond the tracking cap (and from no address at all)
    source: str | None
    #: anonymous, or for a partner over its limit only the partner (not user or roles), so
    #: the number of tallies per source stays bounded by reasons times partners
    actor: Actor
    count: int


_Key = tuple[Action, str, Actor]


@dataclass
class _SourceWindow:
    logged: int = 0
    counts: Counter[_Key] = field(default_factory=Counter)


class RefusalCounter:
    """Which refusals to log one by one, and the counts of the others, per source a minute.

    Per source and minute window, the first `log_first` refusals are logged individually
    (`record` answers True); later ones are counted per (action, reason, actor) and handed
    out as `Tally`s once their window has ended (`record`, `take_due`) or at shutdown
    (`take_all`). Windows are aligned on the clock (window n is [n * 60, (n + 1) * 60)), so
    one check tells whether every count held belongs to an ended window. At most
    `max_sources` sources are tracked per window; refusals from further sources are counted
    in one bucket without a source (never dropped, never logged one by one).

    Counts taken but not written (the database was down) come back through `put_back` and
    are handed out again with the next due tallies: nothing counted is lost while the
    process lives. Thread-safe: requests record from worker threads.
    """

    def __init__(
        self,
        *,
        log_first: int,
        max_sources: int = 10_000,
        window_s: float = WINDOW_S,
        clock: Clock = time.monotonic,
    ) -> None:
        if log_first < 0 or max_sources < 1 or window_s <= 0:
            raise ValueError("log_first >= 0, max_sources >= 1 and window_s > 0 are required")
        self.log_first = log_first
        self._max_sources = max_sources
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._window = self._window_at(clock())
        self._sources: dict[str, _SourceWindow] = {}
        self._pending: list[Tally] = []

    def record(
        self, action: Action, reason: str, source: str | None, actor: Actor
    ) -> tuple[bool, list[Tally]]:
        """Count one refusal. Answers whether to log it individually now, and the tallies of
        ended windows that the caller must write (possibly none)."""
        with self._lock:
            due = self._roll()
            key = _NO_SOURCE if source is None else source
            window = self._sources.get(key)
            if window is None:
                if len(self._sources) >= self._max_sources:
                    key = _OTHER_SOURCES
                    window = self._sources.get(key)
                if window is None:
                    window = self._sources[key] = _SourceWindow()
                    if key == _OTHER_SOURCES:
                        # beyond the cap nobody is logged one by one: that is what bounds it
                        window.logged = self.log_first
            if window.logged < self.log_first:
                window.logged += 1
                return True, due
            window.counts[(action, reason, actor)] += 1
            return False, due

    def take_due(self) -> list[Tally]:
        """The tallies of ended windows (and any put back), for the periodic flush."""
        with self._lock:
            return self._roll()

    def take_all(self) -> list[Tally]:
        """Every count held, ended window or not: at shutdown, so a clean stop loses none."""
        with self._lock:
            due = self._roll()
            due.extend(self._drain())
            return due

    def put_back(self, tallies: list[Tally]) -> None:
        """Tallies that could not be written: handed out again with the next due ones."""
        if tallies:
            with self._lock:
                self._pending.extend(tallies)

    def counted(self) -> int:
        """How many refusals are counted and not yet handed out (for tests and metrics)."""
        with self._lock:
            held = sum(sum(w.counts.values()) for w in self._sources.values())
            return held + sum(t.count for t in self._pending)

    def tracked_sources(self) -> int:
        with self._lock:
            return len(self._sources)

    def _window_at(self, now: float) -> int:
        return math.floor(now / self._window_s)

    def _roll(self) -> list[Tally]:
        """Hand out the pending tallies, and every count if the window has moved on."""
        current = self._window_at(self._clock())
        due, self._pending = self._pending, []
        if current != self._window:
            self._window = current
            due.extend(self._drain())
        return due

    def _drain(self) -> list[Tally]:
        tallies = [
            Tally(
                action=action,
                reason=reason,
                source=None if source in (_OTHER_SOURCES, _NO_SOURCE) else source,
                actor=actor,
                count=count,
            )
            for source, window in self._sources.items()
            for (action, reason, actor), count in window.counts.items()
        ]
        self._sources = {}
        return tallies


@dataclass
class Throttle:
    """The rate limits and the refusal counter of one hub process."""

    by_source: RateLimiter
    by_partner: RateLimiter
    refusals: RefusalCounter

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.monotonic) -> Throttle:
        cap = settings.refusal_tracked_sources
        return cls(
            by_source=RateLimiter(
                settings.rate_limit_per_source_per_minute,
                burst=settings.rate_limit_burst,
                clock=clock,
                max_keys=cap,
            ),
            by_partner=RateLimiter(
                settings.rate_limit_per_partner_per_minute,
                burst=settings.rate_limit_burst,
                clock=clock,
                max_keys=cap,
            ),
            refusals=RefusalCounter(
                log_first=settings.refusals_logged_per_source_per_minute,
                max_sources=cap,
                clock=clock,
            ),
        )

    @classmethod
    def unlimited(cls) -> Throttle:
        """No limits, every refusal logged one by one: the behaviour before ADR 0404."""
        return cls(
            by_source=RateLimiter(0),
            by_partner=RateLimiter(0),
            refusals=RefusalCounter(log_first=2**62),
        )
