"""The client address the access log records: every IP address is served and logged in one
spelling, a client without one is logged as absent, and X-Forwarded-For counts only when a
trusted proxy sent it.

Real servers on real sockets where the address comes from the socket (IPv6, IPv4-mapped, the
proxy header handling of `vhhub serve`); the ASGI test client only where the address must be
one no socket here can have (a zone id, a long or upper-case spelling, no IP at all).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network
from socket import socket

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.errors import PROBLEM_JSON
from hub.settings import Settings
from tests.cases.test_workflow import log_rows, new_case
from tests.foundation.edge_server import EdgeServer, ipv4_socket, ipv6_socket, mapped_socket

AUTH_FAILURE = "auth.failure"


def refused_source(settings: Settings, request_id: str) -> str | None:
    """The source of the one auth-failure entry the request with this id left."""
    [entry] = log_rows(settings, action=AUTH_FAILURE, request_id=request_id)
    source: str | None = entry.source
    return source


@pytest.mark.parametrize(
    ("make_socket", "expected"),
    [(ipv6_socket, "::1"), (mapped_socket, "127.0.0.1"), (ipv4_socket, "127.0.0.1")],
    ids=["ipv6", "ipv4-mapped", "ipv4"],
)
def test_every_client_address_is_served_and_logged_in_one_spelling(
    initialised: Settings, make_socket: Callable[[], socket], expected: str
) -> None:
    with (
        EdgeServer(create_app(initialised), initialised, make_socket()) as server,
        server.client() as http,
    ):
        refused = http.get("/api/v1/cases", headers={"x-request-id": "no-token-1"})
        case = new_case(http, initialised, to="screening")
    # an authentication failure is a logged 401, not a 500 with nothing logged
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused_source(initialised, "no-token-1") == expected
    # and every entry an authenticated request writes names the same address
    entries = log_rows(initialised, case_id=case["id"])
    assert entries and {e.source for e in entries} == {expected}


@pytest.mark.parametrize(
    ("client_host", "expected"),
    [
        # a zone id names an interface of the server's host: dropped, however long
        ("fe80::1%" + "x" * 80, "fe80::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("0000:0000:0000:0000:0000:ffff:192.168.100.200", "192.168.100.200"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        # no IP address (a unix socket, the test client): absent, never the text
        ("testclient", None),
        ("Jan Jansen 123456782", None),
        ("/run/vhhub.sock", None),
    ],
)
def test_addresses_are_normalised_and_anything_else_is_absent(
    initialised: Settings, client_host: str, expected: str | None
) -> None:
    app = create_app(initialised)
    with TestClient(app, client=(client_host, 4711), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/cases", headers={"x-request-id": "odd-client"})
    assert response.status_code == 401, response.text
    assert refused_source(initialised, "odd-client") == expected


def test_forwarded_for_from_an_untrusted_peer_is_ignored(initialised: Settings) -> None:
    """By default no proxy is trusted: a local process that sets X-Forwarded-For (which
    uvicorn would believe from 127.0.0.1) still gets its own address logged."""
    with (
        EdgeServer(create_app(initialised), initialised, ipv4_socket()) as server,
        server.client() as http,
    ):
        response = http.get(
            "/api/v1/cases",
            headers={
                "x-request-id": "spoofed-1",
                "x-forwarded-for": "203.0.113.66",
                "x-real-ip": "203.0.113.67",
                "forwarded": "for=203.0.113.68",
            },
        )
    assert response.status_code == 401
    assert refused_source(initialised, "spoofed-1") == "127.0.0.1"


def test_forwarded_for_from_a_trusted_proxy_is_honoured(initialised: Settings) -> None:
    """The right-most address that is not itself a trusted proxy: the proxies' own entries are
    skipped, and whatever the client wrote to the left of its own address is not believed."""
    settings = Settings(
        data_dir=initialised.data_dir,
        database_url=initialised.database_url,
        trusted_proxies=["127.0.0.1", "10.0.0.0/8"],
    )
    assert settings.trusted_proxies == (ip_network("127.0.0.1"), ip_network("10.0.0.0/8"))
    with (
        EdgeServer(create_app(settings), settings, ipv4_socket()) as server,
        server.client() as http,
    ):
        chained = http.get(
            "/api/v1/cases",
            headers=[
                ("x-request-id", "proxied-1"),
                # the client's own forgery, then what two proxies of ours appended
                ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
                ("x-forwarded-for", "10.2.3.4"),
            ],
        )
        mapped = http.get(
            "/api/v1/cases",
            headers={"x-request-id": "proxied-2", "x-forwarded-for": "::ffff:203.0.113.8"},
        )
        v6 = http.get(
            "/api/v1/cases",
            headers={"x-request-id": "proxied-3", "x-forwarded-for": "[2001:DB8::5]:4711"},
        )
    assert (chained.status_code, mapped.status_code, v6.status_code) == (401, 401, 401)
    assert refused_source(settings, "proxied-1") == "203.0.113.7"
    assert refused_source(settings, "proxied-2") == "203.0.113.8"
    assert refused_source(settings, "proxied-3") == "2001:db8::5"


def test_serve_leaves_forwarded_headers_to_the_hub() -> None:
    from tests.foundation.edge_server import serve_options

    options = serve_options(Settings())
    assert options["proxy_headers"] is False


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", [], "127.0.0.1"),  # a trusted proxy without the header: the proxy
        ("127.0.0.1", ["10.0.0.2, 10.0.0.3"], "10.0.0.2"),  # all trusted: the left-most
        ("127.0.0.1", ["203.0.113.1, unknown, 10.0.0.3"], "10.0.0.3"),  # stop at garbage
        ("127.0.0.1", ["Jan Jansen"], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9:80"], "203.0.113.9"),
        ("::ffff:127.0.0.1", ["203.0.113.9"], "203.0.113.9"),  # a mapped peer is trusted too
        ("192.0.2.50", ["203.0.113.9"], "192.0.2.50"),  # not a proxy of ours
        ("testclient", ["203.0.113.9"], None),
    ],
)
def test_resolve_source(peer: str, forwarded: list[str], expected: str | None) -> None:
    from hub.http import resolve_source

    trusted = (ip_network("127.0.0.1"), ip_network("10.0.0.0/8"))
    assert resolve_source((peer, 1), forwarded, trusted) == expected
