"""A partner's real callback on loopback, and a hub whose network file allows it.

The receiver is a real HTTP server (a ThreadingHTTPServer on a free port) that can be told to
fail (500), to be slow (answer after the hub's timeout) or to work; it keeps every request it
got: path, headers and body, as a partner's endpoint would see them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import RunningHub

#: partners that may subscribe in these tests (each gets the receiver's /<partner>/ prefix)
SUBSCRIBERS = ("politie", "woningcorporatie", "ggz", "maatschappelijk-werk")
TIMEOUT_S = 0.6


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def partner(self) -> str:
        return self.path.strip("/").split("/")[0]

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Receiver:
    """What the callback does now: "ok", "fail" (500) or "slow" (answers too late)."""

    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, partner: str) -> str:
        return f"http://127.0.0.1:{self.port}/{partner}/events"

    def got(self, partner: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if partner is None or r.partner == partner]

    def wait_for(self, count: int, timeout_s: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.got()) >= count:
                return self.got()
            time.sleep(0.05)
        return self.got()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            mode = state.mode
            with state.lock:
                # a slow or failing endpoint still got the request: count it as seen
                state.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            if mode == "slow":
                time.sleep(TIMEOUT_S * 3)
            status = 500 if mode == "fail" else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def network_with_callbacks(target: Path, port: int) -> Path:
    """The demo network file, with each subscriber's callback prefix on the receiver."""
    text = (PROJECT_ROOT / "network" / "demo.toml").read_text(encoding="utf-8")
    for partner in SUBSCRIBERS:
        pattern = re.compile(rf'(\nid = "{re.escape(partner)}"\n(?:.*\n)*?keys = "dev"\n)')
        allowed = f'notifications = {{ callbacks = ["http://127.0.0.1:{port}/{partner}/"] }}\n'
        text, n = pattern.subn(lambda m: m.group(1) + allowed, text, count=1)
        assert n == 1, partner
    target.write_text(text, encoding="utf-8")
    return target


@pytest.fixture
def settings(db_url: str, tmp_path: Path, receiver: Receiver) -> Settings:
    """The test's settings (overrides the shared fixture): the receiver allow-listed, short
    timeouts and backoff, and no deliverer inside the hub: each test runs the deliverer as
    a separate worker would (`vhhub notifications deliver`), so it decides when."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        network_file=network_with_callbacks(tmp_path / "network.toml", receiver.port),
        notification_deliverer=False,
        notification_timeout_s=TIMEOUT_S,
        notification_backoff_s=0.05,
        notification_backoff_max_s=0.2,
        notification_max_attempts=3,
        notification_workers=2,
        notification_source="urn:nld:oin:00000001234567890000:systeem:vhhub-test",
        public_url="https://vhhub.test",
    )


@pytest.fixture
def running(hub: RunningHub) -> RunningHub:
    return hub
