"""Web sessions as an attacker meets them: cookies no script or other site can use, a new
token at every login, CSRF on every form, timeouts, and every login and logout logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from hub.audit.models import LogEntry
from hub.web.models import WebSession
from hub.web.sessions import token_id
from tests.web.conftest import Browser, DemoHub

SESSION = "__Host-vhhub"


def _entries(hub: DemoHub, action: str) -> list[LogEntry]:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            return list(
                s.scalars(select(LogEntry).where(LogEntry.action == action).order_by(LogEntry.seq))
            )
    finally:
        engine.dispose()


def _age_session(hub: DemoHub, token: str, **shift: timedelta) -> None:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s, s.begin():
            row = s.get(WebSession, token_id(token))
            assert row is not None
            values = {k: getattr(row, k) - v for k, v in shift.items()}
            s.execute(update(WebSession).where(WebSession.id == row.id).values(**values))
    finally:
        engine.dispose()


def test_pages_behind_the_login_redirect_to_it(browser_for) -> None:
    anonymous: Browser = browser_for()
    for path in ("/", "/casussen", "/casussen/00000000-0000-0000-0000-000000000000?doel=intake"):
        response = anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"] in {"/aanmelden", "/casussen"}
    # the login page itself is public and carries the page headers
    page = anonymous.get("/aanmelden")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"


def test_the_session_cookie_is_host_only_httponly_secure_and_strict(
    browser_for, demo_hub: DemoHub
) -> None:
    b: Browser = browser_for()
    response = b.demo_login("zvh", "procesregisseur-1")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION + "="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path=/", "samesite=strict"} <= flags
    assert not any(f.startswith("domain=") for f in flags)
    assert b.get("/casussen").status_code == 200
    started = _entries(demo_hub, "session.start")[-1]
    assert (started.actor_partner, started.actor_user, started.reason) == (
        "zvh",
        "procesregisseur-1",
        "demo",
    )


def test_login_rotates_the_token_so_a_planted_one_is_worthless(browser_for) -> None:
    victim: Browser = browser_for()
    victim.demo_login("politie", "demo-politie")
    first = victim.cookies[SESSION]
    # the same browser logs in again (as someone else): the old token is ended, not reused
    victim.demo_login("ggz", "demo-ggz")
    second = victim.cookies[SESSION]
    assert first != second
    replay: Browser = browser_for()
    replay.cookies[SESSION] = first
    assert replay.get("/casussen").status_code == 303


def test_forms_need_the_session_csrf_token_and_this_origin(browser_for, demo_hub) -> None:
    b: Browser = browser_for()
    b.demo_login("zvh", "procesregisseur-1")
    token = b.csrf(b.get("/casussen"))
    refused_before = len(_entries(demo_hub, "request.rejected"))
    # no token, a wrong token, another site's origin: refused, and the session lives on
    assert b.post("/afmelden", {}).status_code == 403
    assert b.post("/afmelden", {"csrf_token": "x" * 43}).status_code == 403
    assert (
        b.post(
            "/afmelden",
            {"csrf_token": token},
            headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
        ).status_code
        == 403
    )
    assert b.get("/casussen").status_code == 200
    refusals = _entries(demo_hub, "request.rejected")[refused_before:]
    assert refusals and all(r.reason == "csrf:refused" for r in refusals)
    # another session's token does not work either
    other: Browser = browser_for()
    other.demo_login("politie", "demo-politie")
    assert (
        b.post("/afmelden", {"csrf_token": other.csrf(other.get("/casussen"))}).status_code == 403
    )
    # with its own token, from its own origin: logged out, and the cookie is worthless
    stolen = b.cookies[SESSION]
    response = b.post("/afmelden", {"csrf_token": token})
    assert response.status_code == 303
    assert SESSION not in b.cookies
    replay: Browser = browser_for()
    replay.cookies[SESSION] = stolen
    assert replay.get("/casussen").status_code == 303
    assert _entries(demo_hub, "session.end")[-1].reason == "logout"


def test_the_demo_login_refuses_a_forged_form(browser_for) -> None:
    b: Browser = browser_for()
    page = b.get("/aanmelden")
    token = b.csrf(page)
    # the double-submit token must match the cookie
    forged = b.post(
        "/aanmelden/demo", {"partner": "zvh", "user": "procesregisseur-1", "csrf_token": "x"}
    )
    assert forged.status_code == 403
    # only the demo's personas: not any user id of a partner, nor roles of one's choosing
    unknown = b.post(
        "/aanmelden/demo", {"partner": "zvh", "user": "auditor-2", "csrf_token": token}
    )
    assert unknown.status_code == 404
    assert SESSION not in b.cookies


@pytest.mark.parametrize(
    ("shift", "reason"),
    [
        ({"last_seen_at": timedelta(minutes=16)}, "idle"),
        ({"expires_at": timedelta(hours=9)}, "absolute"),
    ],
)
def test_sessions_end_when_idle_or_at_their_absolute_end(
    browser_for, demo_hub: DemoHub, shift: dict[str, timedelta], reason: str
) -> None:
    b: Browser = browser_for()
    b.demo_login("om", "demo-om")
    assert b.get("/casussen").status_code == 200
    _age_session(demo_hub, b.cookies[SESSION], **shift)
    assert b.get("/casussen").status_code == 303
    ended = _entries(demo_hub, "session.end")[-1]
    assert (ended.actor_partner, ended.reason) == ("om", reason)
