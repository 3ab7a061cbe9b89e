"""Logging in with one's organisation's identity provider, a real OpenID provider on loopback,
through the hub, in a real browser; and the attacker's callbacks refused and logged.

The network file gives the GGZ partner an IdP (`[partners.oidc]`); the other demo partners
keep their dev keys. A second network without dev keys shows the demo login does not exist.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hub.audit.models import LogEntry
from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import RunningHub
from tests.oidc_provider import LoopbackOP
from tests.web.browser import chromium, skip_unless_chromium, watch_csp
from tests.web.conftest import Browser

if TYPE_CHECKING:
    from tests.conftest import TestDatabase

SECRET_ENV = "VHHUB_TEST_OIDC_SECRET_GGZ"
USERS = {
    "j.jansen": {"name": "Jan Jansen", "roles": ["medewerker", "casusregie"]},
    "k.klant": {"name": "Kees Klant", "roles": ["onbekend"]},
}
OIDC_TABLE = """
[partners.oidc]
issuer = "{issuer}"
client_id = "vhhub"
client_secret_env = "{env}"
role_map = {{ "casusregie" = "casusregisseur", "medewerker" = "participant" }}
"""


def _network_with_ggz_idp(target: Path, issuer: str, *, dev_keys: bool = True) -> Path:
    text = (PROJECT_ROOT / "network" / "demo.toml").read_text(encoding="utf-8")
    entry = 'id = "ggz"\nname = "GGZ Demo"\nkind = "mental_health"\nkeys = "dev"\nalg = "EdDSA"\n'
    assert entry in text
    text = text.replace(entry, entry + OIDC_TABLE.format(issuer=issuer, env=SECRET_ENV))
    if not dev_keys:
        # no partner signs with generated dev keys: a production-like network
        text = re.sub(r'keys = "dev"', 'keys = "url:https://idp.invalid/jwks.json"', text)
    target.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def op() -> Iterator[LoopbackOP]:
    with LoopbackOP(users=USERS) as provider:
        yield provider


def _hub(
    test_database: TestDatabase, tmp: Path, op: LoopbackOP, *, dev_keys: bool = True
) -> RunningHub:
    from hub.setup import initialise

    settings = Settings(
        data_dir=tmp / "data",
        database_url=test_database.fresh(tmp),
        network_file=_network_with_ggz_idp(tmp / "network.toml", op.issuer, dev_keys=dev_keys),
        # every failed login its own entry here (by default repeats in a minute are counted)
        refusals_logged_per_source_per_minute=100,
    )
    initialise(settings)
    return RunningHub(settings)


@pytest.fixture(scope="module")
def hub(
    test_database: TestDatabase,
    tmp_path_factory: pytest.TempPathFactory,
    op: LoopbackOP,
) -> Iterator[RunningHub]:
    mp = pytest.MonkeyPatch()
    mp.setenv(SECRET_ENV, "loopback-client-secret")
    try:
        with _hub(test_database, tmp_path_factory.mktemp("oidc"), op) as running:
            op.register_redirect_uri(f"{running.base_url}/aanmelden/oidc/terug")
            yield running
    finally:
        mp.undo()


def _log(hub: RunningHub, action: str) -> list[LogEntry]:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            return list(
                s.scalars(select(LogEntry).where(LogEntry.action == action).order_by(LogEntry.seq))
            )
    finally:
        engine.dispose()


def test_a_person_logs_in_with_the_organisations_idp_in_a_browser(
    hub: RunningHub, op: LoopbackOP
) -> None:
    skip_unless_chromium()
    with chromium() as browser:
        page = browser.new_page()
        csp = watch_csp(page)
        page.goto(f"{hub.base_url}/aanmelden")
        page.get_by_role("link", name="Aanmelden via GGZ Demo").click()
        # the identity provider's own login form, on its own origin
        assert page.url.startswith(op.issuer)
        page.get_by_label("Gebruikersnaam").fill("j.jansen")
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(f"{hub.base_url}/casussen")
        assert page.get_by_role("heading", name="Mijn casussen").is_visible()
        header = page.locator(".vhhub-user").inner_text()
        assert "Jan Jansen" in header and "casusregisseur" in header
        # the session cookie is not readable by a script
        assert page.evaluate("document.cookie") == ""
        assert csp == []
    started = _log(hub, "session.start")[-1]
    assert (started.actor_partner, started.actor_user, started.reason) == (
        "ggz",
        "j.jansen",
        "oidc",
    )
    assert sorted(started.actor_roles) == ["casusregisseur", "participant"]


def test_an_idp_login_ends_the_session_the_browser_had(hub: RunningHub, op: LoopbackOP) -> None:
    """The callback is a cross-site redirect and carries no (Strict) session cookie: the
    session the browser had when the login started is remembered with the login under way
    and ended at the callback, with a `session.end` entry. The hub is visited as `localhost`
    and the IdP is on 127.0.0.1: another site, as a real IdP is."""
    skip_unless_chromium()
    site = f"http://localhost:{hub.port}"
    op.register_redirect_uri(f"{site}/aanmelden/oidc/terug")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{site}/aanmelden")
        page.get_by_role("button", name="Aanmelden als demo-politie").click()
        page.wait_for_url(f"{site}/casussen")
        old = next(c["value"] for c in page.context.cookies() if c["name"] == "__Host-vhhub")
        assert "politie" in page.locator(".vhhub-user").inner_text().lower()
        page.goto(f"{site}/aanmelden")
        page.get_by_role("link", name="Aanmelden via GGZ Demo").click()
        assert page.url.startswith(op.issuer)
        page.get_by_label("Gebruikersnaam").fill("j.jansen")
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(f"{site}/casussen")
        assert "Jan Jansen" in page.locator(".vhhub-user").inner_text()
        new = next(c["value"] for c in page.context.cookies() if c["name"] == "__Host-vhhub")
        assert new != old
    # the old cookie no longer opens anything
    stale = Browser(hub.base_url)
    try:
        stale.cookies["__Host-vhhub"] = old
        answer = stale.get("/casussen")
        assert answer.status_code in {303, 307}
        assert answer.headers["location"].startswith("/aanmelden")
    finally:
        stale.close()
    ended = _log(hub, "session.end")[-1]
    assert (ended.actor_partner, ended.actor_user, ended.reason) == (
        "politie",
        "demo-politie",
        "login",
    )


def _to_idp(b: Browser) -> tuple[str, dict[str, list[str]]]:
    response = b.get("/aanmelden/via/ggz")
    assert response.status_code == 303
    url = response.headers["location"]
    return url, parse_qs(urlsplit(url).query)


def _idp_login(url: str, user: str) -> dict[str, list[str]]:
    """Log in at the IdP's form (plain HTTP) and answer the callback's query."""
    with httpx.Client(timeout=30, follow_redirects=False) as idp:
        form = idp.get(url)
        fields = {
            k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.text)
        }
        fields["username"] = user
        action = re.search(r'action="([^"]+)"', form.text)
        target = action.group(1) if action else url
        if target.startswith("/"):
            parts = urlsplit(url)
            target = f"{parts.scheme}://{parts.netloc}{target}"
        answer = idp.post(target, data=fields)
        assert answer.status_code in {302, 303}, answer.text[:300]
        return parse_qs(urlsplit(answer.headers["location"]).query)


def test_a_tampered_or_replayed_callback_is_refused_and_logged(hub: RunningHub) -> None:
    b = Browser(hub.base_url)
    try:
        url, _ = _to_idp(b)
        callback = _idp_login(url, "j.jansen")
        forged = {k: v[0] for k, v in callback.items()} | {"state": "attacker-chosen"}
        refused = b.get("/aanmelden/oidc/terug?" + urlencode(forged))
        assert refused.status_code == 403
        assert "__Host-vhhub" not in b.cookies
        assert _log(hub, "auth.failure")[-1].reason == "oidc:state_mismatch"
        # the login under way was used up by that attempt: the real callback no longer works
        real = {k: v[0] for k, v in callback.items()}
        again = b.get("/aanmelden/oidc/terug?" + urlencode(real))
        assert again.status_code == 400
        assert _log(hub, "auth.failure")[-1].reason == "oidc:no_login"
        # a callback in another browser (no login cookie) is refused too
        stranger = Browser(hub.base_url)
        assert stranger.get("/aanmelden/oidc/terug?" + urlencode(real)).status_code == 400
        stranger.close()
    finally:
        b.close()


def test_a_person_without_a_mapped_role_cannot_log_in(hub: RunningHub) -> None:
    b = Browser(hub.base_url)
    try:
        url, _ = _to_idp(b)
        callback = _idp_login(url, "k.klant")
        answer = b.get("/aanmelden/oidc/terug?" + urlencode({k: v[0] for k, v in callback.items()}))
        assert answer.status_code == 403
        assert "__Host-vhhub" not in b.cookies
        assert _log(hub, "auth.failure")[-1].reason == "oidc:no_role"
    finally:
        b.close()


def test_a_partner_with_an_idp_is_never_reachable_through_the_demo_login(
    hub: RunningHub,
) -> None:
    """GGZ keeps its dev keys but has an IdP: its people log in there. The demo login stays
    for the other dev-key partners; for GGZ the page offers no persona and a crafted POST
    is refused."""
    b = Browser(hub.base_url)
    try:
        page = b.get("/aanmelden")
        assert page.status_code == 200
        assert 'value="demo-politie"' in page.text
        assert 'value="ggz"' not in page.text and 'value="demo-ggz"' not in page.text
        token = b.cookies["__Host-vhhub-csrf"]
        before = len(_log(hub, "session.start"))
        forged = b.post(
            "/aanmelden/demo", {"partner": "ggz", "user": "demo-ggz", "csrf_token": token}
        )
        assert forged.status_code == 404
        assert "__Host-vhhub" not in b.cookies
        assert len(_log(hub, "session.start")) == before
        # a dev-key partner without an IdP still logs in with the demo
        allowed = b.post(
            "/aanmelden/demo", {"partner": "politie", "user": "demo-politie", "csrf_token": token}
        )
        assert allowed.status_code == 303
        assert "__Host-vhhub" in b.cookies
    finally:
        b.close()


def test_without_dev_keys_there_is_no_demo_login(
    test_database: TestDatabase, tmp_path: Path, op: LoopbackOP
) -> None:
    with _hub(test_database, tmp_path, op, dev_keys=False) as running:
        b = Browser(running.base_url)
        try:
            page = b.get("/aanmelden")
            assert page.status_code == 200
            assert "Aanmelden via GGZ Demo" in page.text
            assert "Demo-omgeving" not in page.text and "/aanmelden/demo" not in page.text
            token = b.cookies["__Host-vhhub-csrf"]
            forged = b.post(
                "/aanmelden/demo",
                {"partner": "zvh", "user": "procesregisseur-1", "csrf_token": token},
            )
            assert forged.status_code in {404, 405}
            assert "__Host-vhhub" not in b.cookies
        finally:
            b.close()


def test_starting_logins_is_rate_limited_per_source(
    test_database: TestDatabase, tmp_path: Path, op: LoopbackOP
) -> None:
    """A login under way is a stored row and anyone may start one: the API's per-source
    limit holds here too, so a flood stores a bounded number."""
    from hub.setup import initialise
    from hub.web.models import PendingLogin

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=test_database.fresh(tmp_path),
        network_file=_network_with_ggz_idp(tmp_path / "network.toml", op.issuer),
        rate_limit_per_source_per_minute=3,
    )
    initialise(settings)
    with RunningHub(settings) as running, httpx.Client(base_url=running.base_url) as http:
        answers = [http.get("/aanmelden/via/ggz").status_code for _ in range(8)]
    assert answers.count(303) <= 3 and answers[-1] == 429, answers
    engine = create_engine(settings.effective_database_url)
    try:
        with Session(engine) as s:
            assert len(s.scalars(select(PendingLogin)).all()) <= 3
    finally:
        engine.dispose()
