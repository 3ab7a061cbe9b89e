"""The engine a hub process serves, and how it follows the version active in the database.

Why every request checks the active version (`ServingEngine.follow`): replicas are stateless
and share one database; an activation on one replica must hold on all of them at once, or two
participants of one case could get briefings under two policies (ADR 0103). The check is one
cheap read through an `ActiveVersionSource`; only when the answer differs is the bundle read
and a new engine built and swapped in.

When the active version cannot be loaded here, a `FailingEngine` stands in: serving the
previous version instead would break the promise that every replica decides under the one
active version; failing makes every decision a logged `policy.error` (fail closed).

Only the gate (hub.gate) holds a `ServingEngine`; nothing else asks it for decisions.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from hub.logging import get_logger
from hub.rego.decisions import FactDecision, IdentityDecision, Verdict
from hub.rego.engine import PolicyEngine
from hub.rego.errors import PolicyError

log = get_logger("hub.policy")

#: How long a request waits for another request's active-version check before going on.
PROBE_WAIT_S: Final = 1.0


class _NoAnswer(enum.Enum):
    NO_ANSWER = "no answer"


#: a probe of the active version that could not read the source, or was not waited for
NO_ANSWER: Final = _NoAnswer.NO_ANSWER


class SourceUnavailable(Exception):
    """The active-version source could not be read (the database is briefly unreachable)."""


class ActiveVersionSource(Protocol):
    """Where the active version lives (the policy_versions table); raises SourceUnavailable."""

    def active_version(self) -> str | None: ...

    def active_bundle(self, version: str) -> bytes | None: ...

    def dispose(self) -> None: ...


#: Builds the serving engine of a stored version from its bundle bytes (raises PolicyError).
EngineLoader = Callable[[str, bytes], PolicyEngine]


class FailingEngine:
    """Stands in, failing closed, when the active version cannot be served by this replica."""

    def __init__(self, version: str, *, failed_at: float) -> None:
        self._version = version
        self.failed_at = failed_at

    @property
    def version(self) -> str:
        return self._version

    def decide_batch(
        self, input: Mapping[str, Any], *, deduplicate: bool = True
    ) -> dict[str, FactDecision]:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def release_identity(self, input: Mapping[str, Any]) -> IdentityDecision:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def allow_publish(self, input: Mapping[str, Any]) -> Verdict:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def allow_action(self, input: Mapping[str, Any]) -> Verdict:
        raise PolicyError("the active policy version could not be loaded on this replica")

    def close(self) -> None:
        """Nothing to release."""


class ServingEngine:
    """The policy engine of this process, swapped when another version becomes active.

    `current` is read without a lock (an attribute read is atomic); `swap` installs a new
    engine under a lock, so two threads that notice an activation at once install one after
    the other. The old engine is not closed: requests in flight may still use it.
    """

    def __init__(
        self,
        engine: PolicyEngine,
        *,
        source: ActiveVersionSource | None = None,
        loader: EngineLoader | None = None,
        follow_interval_s: float = 0.0,
        retry_failed_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._swap_lock = threading.Lock()
        self._source = source
        self._loader = loader
        #: 0: check on every request (one indexed read); raise to check less often
        self.follow_interval_s = follow_interval_s
        #: how long a replica that failed to load the active version waits to retry
        self.retry_failed_s = retry_failed_s
        self._checked_at = float("-inf")
        self._follow_lock = threading.Lock()
        #: the source is read by one thread at a time (its active version, or a bundle)
        self._probe_lock = threading.Lock()
        #: probes of the active version: how many began and which ended last, with its answer
        self._probes = threading.Condition(threading.Lock())
        self._probes_begun = 0
        self._probes_ended = 0
        self._probing = False
        self._last_answer: str | _NoAnswer | None = NO_ANSWER

    @classmethod
    def open(
        cls,
        source: ActiveVersionSource,
        loader: EngineLoader,
        fallback: Callable[[], PolicyEngine],
    ) -> ServingEngine:
        """Serve the version active in `source`; `fallback()` (the policy directory) if none.

        The fallback serves a database that `vhhub init` has not registered a version in yet;
        `vhhub init` registers the directory, and `follow` then switches to it.
        """
        active = source.active_version()
        bundle = source.active_bundle(active) if active is not None else None
        if active is None or bundle is None:
            log.warning("no_active_policy_version", fallback="policy_dir")
            engine = fallback()
        else:
            engine = loader(active, bundle)
        return cls(engine, source=source, loader=loader)

    @property
    def current(self) -> PolicyEngine:
        return self._engine

    @property
    def version(self) -> str:
        return self._engine.version

    def swap(self, engine: PolicyEngine) -> PolicyEngine:
        """Serve `engine` from now on; return the engine it replaces."""
        with self._swap_lock:
            previous, self._engine = self._engine, engine
        return previous

    def follow(self, *, force: bool = False) -> None:
        """Serve the version active in the source; called before each request's work."""
        source, loader = self._source, self._loader
        if source is None or loader is None:
            return
        now = time.monotonic()
        if not force and now - self._checked_at < self.follow_interval_s:
            return
        self._checked_at = now
        active = self._active_version(source)
        if isinstance(active, _NoAnswer) or active is None or self._serves(active):
            return
        with self._follow_lock:
            current = self._engine
            if self._serves(active):
                return
            if (
                isinstance(current, FailingEngine)
                and active == current.version
                and now - current.failed_at < self.retry_failed_s
            ):
                return
            try:
                with self._probe_lock:
                    data = source.active_bundle(active)
                if data is None:
                    return  # another activation happened meanwhile; the next check follows
                engine = loader(active, data)
            except (PolicyError, SourceUnavailable) as exc:
                log.error(
                    "policy_follow_failed", version=active[:12], error_type=type(exc).__name__
                )
                self.swap(FailingEngine(active, failed_at=now))
                return
            previous = self.swap(engine)
            log.info("policy_version_followed", version=active[:12], previous=previous.version[:12])

    def _active_version(self, source: ActiveVersionSource) -> str | _NoAnswer | None:
        """The version active in `source`, read by a probe that began after this call did.

        A call that arrives while a probe is under way waits for the next one, which serves
        every call that arrived meanwhile: under load one read answers all the requests that
        came in during the read before it, instead of one read per request taking turns
        (ADR 0020), and no call is answered by a read that began before it (an activation
        committed before a request arrived is followed by that request). NO_ANSWER when the
        source could not be read, or the probe did not end within PROBE_WAIT_S: a request
        never waits long for another request's probe."""
        deadline = time.monotonic() + PROBE_WAIT_S
        with self._probes:
            # the first probe to begin from now on; a probe under way began before this call
            wanted = self._probes_begun + 1
            while self._probes_ended < wanted:
                if not self._probing:
                    self._probing = True
                    self._probes_begun += 1
                    mine = self._probes_begun
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return NO_ANSWER
                self._probes.wait(remaining)
            else:
                # a probe that began after this call has ended: the latest answer is as fresh
                return self._last_answer
        answer: str | _NoAnswer | None = NO_ANSWER
        try:
            if self._probe_lock.acquire(timeout=PROBE_WAIT_S):
                try:
                    answer = source.active_version()
                except SourceUnavailable as exc:
                    log.warning(
                        "policy_follow_probe_failed", error_type=type(exc.__cause__).__name__
                    )
                finally:
                    self._probe_lock.release()
        finally:
            with self._probes:
                self._probing = False
                self._probes_ended = mine
                self._last_answer = answer
                self._probes.notify_all()
        return answer

    def _serves(self, version: str) -> bool:
        engine = self._engine
        return engine.version == version and not isinstance(engine, FailingEngine)

    def close(self) -> None:
        if self._source is not None:
            self._source.dispose()
            self._source = None
