"""Browser test harness: the distribution's Chromium under Playwright, axe-core, CSP watching.

    from tests.web.browser import chromium, assert_accessible, watch_csp

    @pytest.fixture(scope="module")
    def browser():
        with chromium() as b:
            yield b

    def test_page(browser):
        page = browser.new_page(viewport={"width": 360, "height": 800})
        csp = watch_csp(page)
        page.goto(url)
        assert_accessible(page)
        assert csp == []

No `playwright install`: the browser is Debian's chromium (/usr/bin/chromium, or $VHHUB_CHROMIUM).
Without it the browser tests skip, except in CI (CI=true), where a missing browser is a failure.

axe-core is injected the way axe-playwright-python does it: `page.evaluate(<axe.min.js text>)`,
which Playwright runs through the DevTools protocol, outside the page's Content-Security-Policy,
so axe runs on pages served with "script-src 'self'" (no <script> element is added to the page).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from hub.web.security import CONTENT_SECURITY_POLICY

CHROMIUM_ENV: Final = "VHHUB_CHROMIUM"
DEFAULT_CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
AXE_TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
SERIOUS: Final = frozenset({"serious", "critical"})
#: the policy the web app is served with; test pages use it too
STRICT_CSP: Final = CONTENT_SECURITY_POLICY

STATIC_DIR: Final = Path(__file__).resolve().parents[2] / "hub" / "web" / "static"


def chromium_path() -> str:
    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def chromium_available() -> bool:
    path = chromium_path()
    return (Path(path).is_file() and os.access(path, os.X_OK)) or shutil.which(path) is not None


def skip_unless_chromium() -> None:
    """Skip the calling test (or fixture) without a browser; in CI, fail instead."""
    if chromium_available():
        return
    reason = (
        f"no Chromium at {chromium_path()} (install the distribution's chromium, "
        f"or point ${CHROMIUM_ENV} at one)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium(**launch_options: Any) -> Iterator[Browser]:
    """A headless Chromium (the distribution's), closed on exit. Skips when there is none."""
    skip_unless_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=list(CHROMIUM_ARGS),
            **launch_options,
        )
        try:
            yield browser
        finally:
            browser.close()


# ------------------------------------------------------------------------------ axe-core --


def axe_results(page: Page) -> dict[str, Any]:
    """axe-core's raw results for the page, WCAG 2.1 A and AA rules only."""
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    options = {"runOnly": {"type": "tag", "values": list(AXE_TAGS)}, "resultTypes": ["violations"]}
    # Axe.run does page.evaluate(axe_source) then page.evaluate("axe.run(...)"): no <script>
    # element, so the page's CSP does not get in the way.
    results: dict[str, Any] = Axe().run(page, options=options).response
    return results


def axe_serious(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.1 A/AA violations: id, impact, help, node targets."""
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [", ".join(map(str, node["target"])) for node in v["nodes"]],
        }
        for v in axe_results(page)["violations"]
        if v.get("impact") in SERIOUS
    ]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    at {target}" for target in v["targets"])
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    violations = axe_serious(page)
    if violations:
        pytest.fail(
            f"{len(violations)} serious/critical accessibility violation(s) on {page.url}:\n"
            + format_violations(violations),
            pytrace=False,
        )


# ------------------------------------------------------------------------------ CSP ------


def is_csp_violation(message: ConsoleMessage) -> bool:
    return message.type == "error" and "Content Security Policy" in message.text


def watch_csp(page: Page) -> list[str]:
    """Attach before goto: a live list of the CSP violation messages the page logs."""
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if is_csp_violation(message):
            seen.append(message.text)

    page.on("console", on_console)
    return seen


# ------------------------------------------------------------------------ test server -----


@contextmanager
def serve(
    pages: Mapping[str, str],
    *,
    static_dir: Path = STATIC_DIR,
    csp: str = STRICT_CSP,
) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 with the given HTML pages (path -> html) and the
    files under ``static_dir`` at /static/, every answer carrying ``csp``. Yields the base URL."""
    root = static_dir.resolve()
    types = {".css": "text/css", ".js": "text/javascript", ".html": "text/html"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in pages:
                self._answer(200, "text/html; charset=utf-8", pages[path].encode("utf-8"))
                return
            if path.startswith("/static/"):
                file = (root / path.removeprefix("/static/")).resolve()
                if file.is_relative_to(root) and file.is_file():
                    kind = types.get(file.suffix, "application/octet-stream")
                    self._answer(200, f"{kind}; charset=utf-8", file.read_bytes())
                    return
            self._answer(404, "text/plain; charset=utf-8", b"niet gevonden")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", csp)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="vhhub-test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
