"""A TEST DOUBLE of an OPA server: OPA's REST Data API, answered by the embedded engine.

The real OPA binary is not available here, so the OPA engine's tests (and the differential
test and the bench) talk real HTTP on a loopback port to this stand-in. It implements only
what the hub uses - `POST /v1/data/<path>` with `{"input": ...}`, answering
`{"result": ...}` (no `result` when undefined) and, with `?provenance=true`, the bundle
revision - plus `GET /health`. It is not OPA and proves nothing about OPA's Rego semantics;
the differential test's regopy leg does that job for a second implementation.

Faults can be injected to prove the OPA engine fails closed: set `double.fault` to one of
FAULTS before a request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.rego.bundle import DEFAULT_POLICY_DIR
from hub.rego.embedded import RegorusEngine
from hub.rego.errors import PolicyError

FAULTS = (
    "http_500",  # OPA internal error
    "slow",  # answers after `delay_s`
    "garbage",  # a body that is not JSON
    "undefined",  # no result
    "drop_fact",  # decisions miss one fact id
    "bad_level",  # a decision with an unknown level
    "fields_not_list",  # fields is a string
    "foreign_field",  # releases a field the fact does not have
    "wrong_revision",  # provenance names another bundle revision
    "no_provenance",  # provenance left out
    "allowed_as_string",  # a verdict whose allowed is "true"
)


class OpaTestDouble:
    """An OPA-REST-compatible HTTP server on 127.0.0.1, backed by `RegorusEngine`."""

    def __init__(self, policy_dir: Path = DEFAULT_POLICY_DIR, *, delay_s: float = 0.5) -> None:
        self.engine = RegorusEngine(policy_dir, timeout_s=30.0)
        self.revision = self.engine.version
        self.fault: str | None = None
        self.delay_s = delay_s
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OpaTestDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                if urlsplit(self.path).path == "/health":
                    self._send(200, b"{}")
                else:
                    self._send(404, b'{"code": "resource_not_found"}')

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                if not parts.path.startswith("/v1/data/"):
                    self._send(404, b'{"code": "resource_not_found"}')
                    return
                rule = "data." + parts.path.removeprefix("/v1/data/").strip("/").replace("/", ".")
                provenance = parse_qs(parts.query).get("provenance", ["false"])[0].lower()
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    value = double.engine.evaluate_raw(rule, body.get("input"))
                except (ValueError, PolicyError) as exc:
                    message = json.dumps({"code": "invalid_parameter", "message": str(exc)})
                    self._send(400, message.encode())
                    return
                status, payload = double.respond(value, provenance == "true")
                self._send(status, payload)

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        # single-threaded on purpose: one regorus engine, built on the serving thread
        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OpaTestDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, value: Any, with_provenance: bool) -> tuple[int, bytes]:
        """The HTTP status and body OPA would send, bent by the injected fault if any."""
        fault = self.fault
        if fault == "http_500":
            return 500, b'{"code": "internal_error", "message": "injected"}'
        if fault == "garbage":
            return 200, b"<html>not json"
        if fault == "slow":
            time.sleep(self.delay_s)
        answer: dict[str, Any] = {}
        if value is not None and fault != "undefined":
            answer["result"] = _bend(value, fault)
        if with_provenance and fault != "no_provenance":
            revision = "0" * 64 if fault == "wrong_revision" else self.revision
            answer["provenance"] = {
                "version": "test-double",
                "bundles": {"vhhub": {"revision": revision}},
            }
        return 200, json.dumps(answer).encode()


def _bend(value: Any, fault: str | None) -> Any:
    if not isinstance(value, dict) or not value:
        return value
    if fault == "allowed_as_string" and "allowed" in value:
        return {**value, "allowed": "true"}
    first = sorted(value)[0]
    if fault == "drop_fact":
        return {k: v for k, v in value.items() if k != first}
    if not isinstance(value[first], dict):
        return value
    if fault == "bad_level":
        return {**value, first: {**value[first], "level": "everything"}}
    if fault == "fields_not_list":
        return {**value, first: {**value[first], "fields": "all"}}
    if fault == "foreign_field":
        bent = {**value[first], "level": "full", "fields": ["not_in_the_fact"]}
        return {**value, first: bent}
    return value


@contextmanager
def running_double(policy_dir: Path = DEFAULT_POLICY_DIR) -> Iterator[OpaTestDouble]:
    """A started double, stopped afterwards."""
    double = OpaTestDouble(policy_dir)
    with double:
        yield double
