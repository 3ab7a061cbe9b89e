"""Logs are JSON lines with a request id, and never hold bodies, identifiers or queries."""

from __future__ import annotations

import io
import json
import logging
import re
import time

import httpx

from hub.logging import configure_logging
from tests.conftest import RunningHub

BSN = "123456782"
NAME = "Fatima-de-Vries-MARKER"


def test_request_bodies_and_identifiers_never_reach_the_log(hub: RunningHub) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        with hub.client() as http:
            response = http.post(
                f"/api/v1/cases/{BSN}?name={NAME}",
                json={"bsn": BSN, "name": NAME},
                headers={"x-request-id": "req-42", "x-subject": NAME},
            )
            http.get("/api/v1/health")
        # the server logs a request after its response has left: wait for both lines
        deadline = time.monotonic() + 5
        while stream.getvalue().count('"event": "request"') < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        configure_logging("INFO")
    assert response.headers["x-request-id"] == "req-42"
    output = stream.getvalue()
    assert BSN not in output
    assert NAME not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 2
    assert {line["request_id"] for line in requests} >= {"req-42"}
    assert all("status" in line and "route" in line for line in requests)


def test_a_bad_request_id_is_replaced_not_echoed(http: httpx.Client) -> None:
    response = http.get("/api/v1/health", headers={"x-request-id": "<script>" + NAME})
    assert NAME not in response.headers["x-request-id"]
    # replaced by the trace's id and the hub's span (W3C Trace Context): 32 and 16 hex
    assert re.fullmatch(r"[0-9a-f]{32}\.[0-9a-f]{16}", response.headers["x-request-id"])


def test_library_loggers_are_rendered_as_json() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("some.library").warning("plain message")
    finally:
        configure_logging("INFO")
    assert json.loads(stream.getvalue().strip())["event"] == "plain message"
