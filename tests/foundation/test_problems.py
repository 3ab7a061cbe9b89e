"""Every error answer is RFC 9457 problem+json with a stable type, and echoes nothing sent."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from hub.app import create_app
from hub.errors import PROBLEM_BASE
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.support import token_for

MARKER = "Jansen-0123456789-MARKER"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert MARKER not in response.text
    return body  # type: ignore[no-any-return]


def auth(settings: Settings) -> dict[str, str]:
    token = token_for(settings, "politie", "agent-1", ["participant"])
    return {"Authorization": f"Bearer {token}", "Purpose": "preparation"}


def test_unknown_path_is_a_problem_404(http: httpx.Client, hub: RunningHub) -> None:
    assert_problem(http.get(f"/api/v1/{MARKER}", headers=auth(hub.settings)), 404, "not-found")


def test_without_a_token_every_api_path_answers_the_same_401(http: httpx.Client) -> None:
    unknown = assert_problem(http.get(f"/api/v1/{MARKER}"), 401, "unauthenticated")
    bad_body = assert_problem(
        http.post(
            "/api/v1/cases",
            content=b"{not json " + MARKER.encode(),
            headers={"Authorization": "Bearer " + MARKER},
        ),
        401,
        "unauthenticated",
    )
    assert unknown == bad_body


def test_wrong_method_is_a_problem_405(http: httpx.Client) -> None:
    assert_problem(http.delete("/api/v1/health"), 405, "method-not-allowed")


def test_oversized_body_is_refused(http: httpx.Client, hub: RunningHub) -> None:
    too_big = b"x" * (hub.settings.max_body_bytes + 1)
    assert_problem(http.post("/api/v1/health", content=too_big), 413, "payload-too-large")


def test_oversized_chunked_body_is_refused_while_streaming(
    app_with_probe: FastAPI, initialised: Settings
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(initialised.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    client = TestClient(app_with_probe, raise_server_exceptions=False)
    response = client.post(
        "/api/v1/probe",
        content=chunks(),
        headers={"content-type": "application/json", **auth(initialised)},
    )
    assert_problem(response, 413, "payload-too-large")


class _Probe(BaseModel):
    amount: int
    name: str = Field(max_length=5)


@pytest.fixture
def app_with_probe(initialised: Settings) -> FastAPI:
    """The real app plus one body-validating route, to exercise the validation handler
    before the feature routers exist; the handler is the same for every route."""
    app = create_app(initialised)

    @app.post("/api/v1/probe")
    def probe(body: _Probe) -> dict[str, str]:
        raise RuntimeError(f"boom {MARKER}")

    return app


def test_request_validation_errors_name_pointers_without_values(
    app_with_probe: FastAPI, initialised: Settings
) -> None:
    client = TestClient(app_with_probe, raise_server_exceptions=False)
    response = client.post(
        "/api/v1/probe", json={"amount": MARKER, "name": MARKER}, headers=auth(initialised)
    )
    body = assert_problem(response, 400, "validation-failed")
    pointers = {e["pointer"] for e in body["errors"]}  # type: ignore[index, union-attr]
    assert pointers == {"body:/amount", "body:/name"}


def test_malformed_json_is_a_problem_400(app_with_probe: FastAPI, initialised: Settings) -> None:
    client = TestClient(app_with_probe, raise_server_exceptions=False)
    response = client.post(
        "/api/v1/probe",
        content=b'{"amount": ' + MARKER.encode(),
        headers={"content-type": "application/json", **auth(initialised)},
    )
    assert_problem(response, 400, "validation-failed")


def test_unexpected_errors_are_a_generic_500(
    app_with_probe: FastAPI, initialised: Settings
) -> None:
    client = TestClient(app_with_probe, raise_server_exceptions=False)
    response = client.post(
        "/api/v1/probe", json={"amount": 1, "name": "ok"}, headers=auth(initialised)
    )
    assert_problem(response, 500, "internal-error")
