"""An unexpected error is one 500 problem+json with the request id, and one log record with
its type, the request id and the route template: never the exception's text, whose DETAIL
line (psycopg) holds the statement's values, and never the server's own traceback log."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from hub.app import create_app
from hub.errors import PROBLEM_BASE, PROBLEM_JSON
from hub.logging import configure_logging
from hub.settings import Settings
from tests.foundation.edge_server import EdgeServer, ipv4_socket
from tests.support import token_for

SECRET_KEY = "idem-Jansen-0123456789"
SECRET_USER = "agent-Pietersen-42"
ROUTE = "/api/v1/test-only/{thing_id}/boom"


def integrity_error() -> IntegrityError:
    """What SQLAlchemy raises for a unique violation on PostgreSQL: the driver's message,
    DETAIL line and all, is part of the exception's text."""

    class UniqueViolation(Exception):
        pass

    message = (
        'duplicate key value violates unique constraint "uq_facts_publisher_key"\n'
        f"DETAIL:  Key (publisher_user, idempotency_key)=({SECRET_USER}, {SECRET_KEY}) "
        "already exists."
    )
    return IntegrityError(
        "INSERT INTO facts (publisher_user, idempotency_key) VALUES (%(u)s, %(k)s)",
        {"u": SECRET_USER, "k": SECRET_KEY},
        UniqueViolation(message),
    )


def app_with_failing_route(settings: Settings) -> FastAPI:
    """The real app plus one test-only route that fails as a constraint violation does."""
    app = create_app(settings)

    def boom(thing_id: str) -> dict[str, str]:
        try:
            raise integrity_error().orig  # type: ignore[misc]
        except Exception as driver_error:
            raise integrity_error() from driver_error

    app.add_api_route(ROUTE, boom, methods=["POST"])
    return app


def auth(settings: Settings) -> dict[str, str]:
    token = token_for(settings, "politie", SECRET_USER, ["participant"])
    return {"Authorization": f"Bearer {token}", "Purpose": "preparation"}


def records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_an_unexpected_error_is_one_500_and_one_log_record_without_values(
    initialised: Settings,
) -> None:
    stream = io.StringIO()
    server = EdgeServer(app_with_failing_route(initialised), initialised, ipv4_socket())
    # after create_app, which configures logging itself: every record, the server's too
    configure_logging("DEBUG", stream=stream)
    try:
        with server, server.client() as http:
            response = http.post(
                f"/api/v1/test-only/{SECRET_KEY}/boom",
                json={"key": SECRET_KEY},
                headers={**auth(initialised), "x-request-id": "boom-1"},
            )
            # the request line is logged after the answer has left: wait for it
            deadline = time.monotonic() + 5
            while '"event": "request"' not in stream.getvalue() and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        configure_logging("INFO")

    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "internal-error"
    assert body["request_id"] == response.headers["x-request-id"] == "boom-1"
    assert SECRET_KEY not in response.text and SECRET_USER not in response.text

    output = stream.getvalue()
    assert SECRET_KEY not in output and SECRET_USER not in output
    assert "DETAIL" not in output and "Traceback" not in output
    lines = records(output)
    errors = [line for line in lines if line.get("level") in {"error", "critical"}]
    # exactly one, ours: uvicorn's "Exception in ASGI application" would be a second
    assert len(errors) == 1, errors
    [error] = errors
    assert error["event"] == "unhandled_error"
    assert error["error_type"] == "sqlalchemy.exc.IntegrityError"
    assert error["request_id"] == "boom-1"
    assert error["route"] == ROUTE
    assert all(isinstance(frame, str) and ":" in frame for frame in error["frames"])
    [request] = [line for line in lines if line.get("event") == "request"]
    assert (request["status"], request["route"]) == (500, ROUTE)


@pytest.mark.parametrize("raise_server_exceptions", [True, False])
def test_an_unexpected_error_does_not_leave_the_app(
    initialised: Settings, raise_server_exceptions: bool
) -> None:
    """The server never sees the exception (so it cannot log its traceback): with a test
    client that re-raises whatever leaves the app, the answer is still the 500 problem."""
    app = app_with_failing_route(initialised)
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
            response = client.post("/api/v1/test-only/x/boom", headers=auth(initialised))
    finally:
        configure_logging("INFO")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["request_id"] == response.headers["x-request-id"]
    logged = [line for line in records(stream.getvalue()) if line["event"] == "unhandled_error"]
    assert len(logged) == 1
    assert SECRET_KEY not in stream.getvalue()
