"""The web application's fixtures: the demo's data served over real HTTP, and a browser-like
client that keeps the session cookie (httpx keeps no Secure cookie over http, a browser on
loopback does; so this client carries the cookies itself)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.settings import Settings
from tests.conftest import RunningHub, TestDatabase

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class DemoHub:
    hub: RunningHub
    settings: Settings
    case_id: str

    @property
    def base_url(self) -> str:
        return self.hub.base_url


@pytest.fixture(scope="module")
def demo_hub(
    test_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoHub]:
    """`vhhub demo` played on a fresh database, then served (one per test module)."""
    from hub.context import HubContext
    from hub.demo.scenario import play
    from hub.setup import initialise

    tmp = tmp_path_factory.mktemp("web")
    settings = Settings(data_dir=tmp / "data", database_url=test_database.fresh(tmp))
    initialise(settings)
    ctx = HubContext.open(settings)
    try:
        case_id = play(ctx).case_id
    finally:
        ctx.close()
    assert case_id
    with RunningHub(settings) as running:
        yield DemoHub(running, settings, case_id)


@dataclass
class Browser:
    """A client that behaves like a browser on loopback: it keeps the __Host- cookies, and
    sends Origin and Sec-Fetch-Site on form posts as a browser does."""

    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or value in {"", '""'}:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def get(self, path: str, **kw: Any) -> httpx.Response:
        headers = self._headers(kw.pop("headers", None))
        return self._keep(self.http.get(path, headers=headers, **kw))

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> httpx.Response:
        extra = {"origin": self.base_url, "sec-fetch-site": "same-origin"}
        extra.update(kw.pop("headers", None) or {})
        headers = self._headers(extra)
        return self._keep(self.http.post(path, data=data, headers=headers, **kw))

    def csrf(self, page: httpx.Response) -> str:
        match = CSRF_INPUT.search(page.text)
        assert match, "no CSRF field on the page"
        return match.group(1)

    def demo_login(self, partner: str, user: str) -> httpx.Response:
        page = self.get("/aanmelden")
        assert page.status_code == 200
        response = self.post(
            "/aanmelden/demo",
            {"partner": partner, "user": user, "csrf_token": self.csrf(page)},
        )
        assert response.status_code == 303, response.text[:500]
        return response


@pytest.fixture
def browser_for(demo_hub: DemoHub) -> Iterator[Any]:
    made: list[Browser] = []

    def make() -> Browser:
        b = Browser(demo_hub.base_url)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
