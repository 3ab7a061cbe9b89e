"""Fixtures for the token core tests: a corpus world on a fixed clock, and a JWKS server.

Names start with ``token_`` or ``jwks_`` so they do not collide with other packages' fixtures.
The corpus itself lives in corpus.py (plain data, importable by HTTP-level tests).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

try:  # tests/ importable as a package (rootdir on sys.path)
    from tests.identity.corpus import (
        BadTokenCase,
        CorpusWorld,
        bad_token_corpus,
        good_token_cases,
        make_world,
    )
except ModuleNotFoundError:  # pytest's default "prepend" import mode: this directory is on sys.path
    from corpus import BadTokenCase, CorpusWorld, bad_token_corpus, good_token_cases, make_world

from hub.identity.keysets import StaticKeyResolver
from hub.identity.tokens import InMemoryReplayGuard, VerifiedToken, verify_token

#: A fixed clock for unit tests; the corpus itself defaults to the real clock.
TOKEN_TEST_NOW = 1_767_225_600  # 2026-01-01T00:00:00Z

_world: CorpusWorld | None = None


def _token_world() -> CorpusWorld:
    """One world per session: keys are generated once (RSA takes a moment), collection included."""
    global _world
    if _world is None:
        _world = make_world(now=TOKEN_TEST_NOW)
    return _world


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "token_bad_case" in metafunc.fixturenames:
        cases = bad_token_corpus(_token_world())
        metafunc.parametrize("token_bad_case", cases, ids=[c.name for c in cases])
    if "token_good_case" in metafunc.fixturenames:
        goods = good_token_cases(_token_world())
        metafunc.parametrize("token_good_case", goods, ids=[c.name for c in goods])


@pytest.fixture
def token_world() -> CorpusWorld:
    return _token_world()


@pytest.fixture
def token_bad_corpus(token_world: CorpusWorld) -> list[BadTokenCase]:
    return bad_token_corpus(token_world)


@pytest.fixture
def token_resolver(token_world: CorpusWorld) -> StaticKeyResolver:
    return StaticKeyResolver(token_world.partners_config())


@pytest.fixture
def token_replay(token_world: CorpusWorld) -> InMemoryReplayGuard:
    return InMemoryReplayGuard(clock=lambda: float(token_world.now))


@pytest.fixture
def token_verify(
    token_world: CorpusWorld, token_resolver: StaticKeyResolver, token_replay: InMemoryReplayGuard
) -> Callable[..., VerifiedToken]:
    """verify_token with the world's audience, keys, replay guard and clock; override by kw."""

    def verify(raw: str, **overrides: Any) -> VerifiedToken:
        kwargs: dict[str, Any] = {
            "audience": token_world.audience,
            "keys": token_resolver,
            "replay": token_replay,
            "now": token_world.now,
            **overrides,
        }
        return verify_token(raw, **kwargs)

    return verify


# --------------------------------------------------------------------------------------------
# A real JWKS endpoint on a loopback port


@dataclass
class JwksServer:
    """Serves ``jwks`` at ``url``; counts every request; ``status`` != 200 simulates an outage."""

    url: str = ""
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    status: int = 200
    fetches: int = 0
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return self.fetches


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.fetches += 1
                status, body = state.status, json.dumps(state.jwks).encode()
            if state.delay_s:
                threading.Event().wait(state.delay_s)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/realms/partner/certs"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def jwks_clock() -> FakeClock:
    return FakeClock()
