"""The interactive API docs work without internet (issue 20): `/api/v1/docs` and every file
it loads come from the hub itself (Swagger UI from the installed package), nothing on the page
points to another host, its Content-Security-Policy allows the hub only, and a real browser
that may reach nothing but the hub renders the document."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from hub.api_docs import DOCS_CONTENT_SECURITY_POLICY, asset_paths
from tests.conftest import RunningHub

DOCS = "/api/v1/docs"
#: a `url(...)` in a stylesheet
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


class _References(HTMLParser):
    """Every URL an HTML page makes the browser load or navigate to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "data", "poster"} and value:
                self.urls.append(value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def same_host(base: str, reference: str) -> str:
    """The absolute URL of a reference, which must be on the hub's own host."""
    absolute = urljoin(base, reference)
    assert urlsplit(absolute).netloc == urlsplit(base).netloc, reference
    assert urlsplit(absolute).scheme == urlsplit(base).scheme, reference
    return absolute


def test_the_docs_page_and_every_file_it_loads_come_from_the_hub(
    http: httpx.Client, hub: RunningHub
) -> None:
    page = http.get(DOCS)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    base = str(page.url)
    urls = references(page.text)
    # the page loads Swagger UI's script and stylesheet, its start script and an icon
    assert {urlsplit(same_host(base, u)).path for u in urls} == asset_paths(DOCS) - {DOCS}
    assert "<script>" not in page.text.replace(" ", "")  # no inline script: the CSP forbids it
    loaded: dict[str, httpx.Response] = {}
    for url in urls:
        # no token: the docs are public like the document they show
        response = http.get(same_host(base, url))
        assert response.status_code == 200, url
        assert response.content, url
        loaded[urlsplit(url).path.rsplit("/", 1)[-1]] = response
    assert loaded["swagger-ui-bundle.js"].headers["content-type"].startswith("text/javascript")
    assert loaded["swagger-ui.css"].headers["content-type"].startswith("text/css")
    init = loaded["swagger-ui-init.js"].text
    assert '"openapi.json"' in init and "validatorUrl: null" in init
    assert "http://" not in init and "https://" not in init
    # the stylesheet's own references: inline data or files of the hub
    css_base = same_host(base, next(u for u in urls if u.endswith(".css")))
    for reference in CSS_URL.findall(loaded["swagger-ui.css"].text):
        if not reference.startswith("data:"):
            assert http.get(same_host(css_base, reference)).status_code == 200, reference
    # the document the page shows is next to it
    assert http.get(urljoin(base, "openapi.json")).status_code == 200


def test_the_docs_page_may_load_and_fetch_from_the_hub_only(
    http: httpx.Client, hub: RunningHub
) -> None:
    page = http.get(DOCS)
    [csp] = page.headers.get_list("content-security-policy")
    assert csp == DOCS_CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no other host
    assert directives["connect-src"] == "'self'"  # "Try it out" sends a token to the hub only
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in csp and "unsafe" not in csp
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        f"{DOCS}/index.html",
        f"{DOCS}/redoc.standalone.js",  # in the package, but not part of the page
        f"{DOCS}/../openapi.json/x",
        f"{DOCS}/oauth2-redirect",
        f"{DOCS}/",
    ],
)
def test_nothing_else_below_the_docs_path_is_public(
    http: httpx.Client, hub: RunningHub, path: str
) -> None:
    response = http.get(path)
    assert response.status_code == 401, (path, response.status_code)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_browser_that_reaches_only_the_hub_renders_the_document(hub: RunningHub) -> None:
    from tests.web.browser import chromium, watch_csp

    with chromium() as browser:
        page = browser.new_page()
        elsewhere: list[str] = []
        hub_netloc = urlsplit(hub.base_url).netloc

        def only_the_hub(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if urlsplit(request.url).netloc == hub_netloc or request.url.startswith("data:"):
                route.continue_()  # type: ignore[attr-defined]
            else:  # no network beyond the hub: as on a machine without internet
                elsewhere.append(request.url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_the_hub)
        violations = watch_csp(page)
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(hub.base_url + DOCS)
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "vhhub" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock").count() > 10
        assert elsewhere == []
        assert failed == []
        assert violations == []
        page.close()
