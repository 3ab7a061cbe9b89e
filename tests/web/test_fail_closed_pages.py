"""Every page route fails closed: all but a short public list need a live session, and
without one every method answers the redirect to the login page and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from hub.app import create_app
from hub.settings import Settings
from hub.web.core import signed_in
from tests.conftest import RunningHub

#: the pages anyone may open: logging in, the accessibility statement, the way home
PUBLIC = {
    ("GET", "/"),
    ("GET", "/aanmelden"),
    ("POST", "/aanmelden/demo"),
    ("GET", "/aanmelden/via/{partner}"),
    ("GET", "/aanmelden/oidc/terug"),
    ("GET", "/toegankelijkheid"),
}


def _needs_login(dependant: Dependant) -> bool:
    return any(d.call is signed_in or _needs_login(d) for d in dependant.dependencies)


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every endpoint with its full path, through included routers (FastAPI keeps an
    included router as one entry holding the original and its prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes, prefix + route.include_context.prefix)


def _page_routes(settings: Settings) -> list[tuple[str, str, APIRoute]]:
    app = create_app(settings)
    return [
        (method, path, route)
        for path, route in _routes(app.routes)
        if not path.startswith("/api")
        for method in sorted(route.methods or ())
    ]


def test_every_page_route_but_the_public_ones_needs_a_session(initialised: Settings) -> None:
    routes = _page_routes(initialised)
    assert len(routes) > len(PUBLIC)
    open_ = {(m, p) for m, p, r in routes if not _needs_login(r.dependant)}
    assert open_ <= PUBLIC, f"page routes without a login: {sorted(open_ - PUBLIC)}"


def test_without_a_session_every_page_redirects_to_the_login(initialised: Settings) -> None:
    routes = [(m, p) for m, p, _ in _page_routes(initialised) if (m, p) not in PUBLIC]
    filler = "00000000-0000-0000-0000-000000000000"
    with RunningHub(initialised) as hub, httpx.Client(base_url=hub.base_url) as http:
        for method, path in routes:
            url = re.sub(r"\{[^}]+\}", filler, path)
            answer = http.request(
                method, url, data={"csrf_token": "x"} if method != "GET" else None
            )
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"] == "/aanmelden", (method, path)
