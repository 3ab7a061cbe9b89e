"""Every answer carries `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`; every
API answer also the other security headers of the NL API Design Rules
(`/core/transport/security-headers`) and `API-Version` (`/core/version-header`), while the web
pages keep their own policy; request headers beyond `max_header_bytes` are refused before
anything reads them."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
from fastapi.testclient import TestClient

from hub import __version__
from hub.app import create_app
from hub.errors import PROBLEM_BASE, PROBLEM_JSON
from hub.settings import Settings
from hub.web.security import CONTENT_SECURITY_POLICY
from tests.cases.test_workflow import actor, log_rows
from tests.conftest import RunningHub
from tests.foundation.edge_server import EdgeServer, ipv4_socket
from tests.support import token_for

MARKER = "Jansen-0123456789-MARKER"


def auth(settings: Settings) -> dict[str, str]:
    token = token_for(settings, "politie", "agent-1", ["participant"])
    return {"Authorization": f"Bearer {token}", "Purpose": "preparation"}


def assert_edge_headers(response: httpx.Response) -> None:
    assert response.headers.get_list("cache-control") == ["no-store"], response.headers
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], response.headers


def with_header_limit(settings: Settings, limit: int) -> Settings:
    return Settings(
        data_dir=settings.data_dir, database_url=settings.database_url, max_header_bytes=limit
    )


def test_every_answer_carries_no_store_and_nosniff(http: httpx.Client, hub: RunningHub) -> None:
    answers = {
        "ok": http.get("/api/v1/health"),
        "docs": http.get("/api/v1/docs"),
        "unauthenticated": http.get("/api/v1/cases"),
        "not found": http.get(f"/api/v1/{MARKER}", headers=auth(hub.settings)),
        "method": http.delete("/api/v1/health"),
        "too large": http.post("/api/v1/health", content=b"x" * (hub.settings.max_body_bytes + 1)),
        "invalid": http.post("/api/v1/cases", json={"kind": MARKER}, headers=auth(hub.settings)),
        "malformed": http.post(
            "/api/v1/cases",
            content=b"{" + MARKER.encode(),
            headers={"content-type": "application/json", **auth(hub.settings)},
        ),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "ok": 200,
        "docs": 200,
        "unauthenticated": 401,
        "not found": 404,
        "method": 405,
        "too large": 413,
        "invalid": 400,
        "malformed": 400,
    }
    for response in answers.values():
        assert_edge_headers(response)
        assert_api_headers(response, hub)


def assert_api_headers(response: httpx.Response, hub: RunningHub) -> None:
    """/core/transport/security-headers and /core/version-header, on one API answer."""
    headers = response.headers
    [csp] = headers.get_list("content-security-policy")
    assert "frame-ancestors 'none'" in csp, csp
    assert "default-src 'none'" in csp, csp
    assert headers.get_list("x-frame-options") == ["DENY"]
    assert headers.get_list("referrer-policy") == ["no-referrer"]
    [hsts] = headers.get_list("strict-transport-security")
    assert hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 31536000
    assert headers.get_list("api-version") == [__version__]


def test_api_version_is_the_documents_full_version(http: httpx.Client, hub: RunningHub) -> None:
    """/core/version-header: the header matches `info.version` of the OpenAPI document."""
    document = http.get("/api/v1/openapi.json")
    assert document.status_code == 200
    version = document.json()["info"]["version"]
    assert document.headers["api-version"] == version == __version__
    assert len(version.split(".")) == 3


def test_web_pages_keep_their_own_policy_and_carry_no_api_version(
    http: httpx.Client, hub: RunningHub
) -> None:
    page = http.get("/aanmelden")
    assert page.status_code == 200, page.text
    assert_edge_headers(page)
    [csp] = page.headers.get_list("content-security-policy")
    assert csp == CONTENT_SECURITY_POLICY
    assert page.headers.get_list("x-frame-options") == ["DENY"]
    assert "api-version" not in page.headers


REGISTRATION = {
    "kind": "person",
    "proposed_table": "multi_problem",
    "reason": "overlast",
    "subjects": [{"role_in_case": "resident", "bsn": "111222333"}],
}


def test_headers_beyond_the_limit_are_a_431_problem_that_changes_nothing(
    initialised: Settings,
) -> None:
    settings = with_header_limit(initialised, 2048)
    before = len(log_rows(settings))
    with (
        EdgeServer(create_app(settings), settings, ipv4_socket()) as server,
        server.client() as http,
    ):
        # a registration that would succeed, but for its headers
        intake = actor(http, settings, "politie", "intake")
        refused = http.post(
            "/api/v1/cases",
            json=REGISTRATION,
            headers={**intake.headers(), "x-padding": MARKER + "x" * 3000},
        )
        refused_count = len(log_rows(settings))
        fits = http.post(
            "/api/v1/cases",
            json=REGISTRATION,
            headers={**intake.headers(), "x-padding": "x" * 1000},
        )
    assert refused.status_code == 431, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["type"] == PROBLEM_BASE + "headers-too-large"
    assert MARKER not in refused.text
    assert_edge_headers(refused)
    # refused before authentication: no case, not even a log entry
    assert refused_count == before
    assert fits.status_code == 201, fits.text


def test_the_limit_holds_under_any_server(initialised: Settings) -> None:
    """The ASGI app itself refuses, whatever server parsed the request."""
    app = create_app(with_header_limit(initialised, 4096))
    with TestClient(app, raise_server_exceptions=False) as client:
        many = {f"x-pad-{n}": "y" * 100 for n in range(60)}  # many small headers add up
        response = client.get("/api/v1/health", headers=many)
    assert response.status_code == 431
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert_edge_headers(response)


def test_serve_stops_buffering_a_request_head_at_the_limit(initialised: Settings) -> None:
    """A client that sends its headers slowly never completes the head: the server's parser
    gives up at `max_header_bytes` instead of buffering whatever arrives."""
    settings = with_header_limit(initialised, 4096)
    with (
        EdgeServer(create_app(settings), settings, ipv4_socket()) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn,
    ):
        conn.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\nX-Padding: ")
        conn.sendall(b"x" * 3000)
        time.sleep(0.2)
        conn.sendall(b"x" * 3000)  # past the limit, the head still not complete
        time.sleep(0.2)
        with contextlib.suppress(OSError):  # the server may have closed already
            conn.sendall(b"\r\n\r\n")
        answer = conn.recv(65536)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1] in {b"400", b"431"}, status_line


def test_max_header_bytes_defaults_to_16_kib_and_reaches_the_server() -> None:
    from tests.foundation.edge_server import serve_options

    settings = Settings()
    assert settings.max_header_bytes == 16 * 1024
    assert serve_options(settings)["h11_max_incomplete_event_size"] == 16 * 1024
