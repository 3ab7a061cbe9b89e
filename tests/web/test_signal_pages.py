"""The misuse-signal pages (issue 18) against the API over real HTTP, on the demo's data: the
privacy officer of politie sees on /signalen exactly the users, counts and signals the API
gives the same viewer, and on /signalen/{gebruiker} exactly the entries behind each signal;
another organisation's user looks like a user without entries; nobody but a privacy officer
gets in (and the refusal is logged); a bad period is a 400 page that logs nothing; the pages
pass axe-core and the CSP at 360 and 1440 px. The pages are GET only: no form post, so no
CSRF token is involved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser as Chromium
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hub.audit.entry import utc_moment
from hub.audit.models import LogEntry
from hub.audit.signals import last_complete_week
from hub.demo.personas import persona
from tests.support import As, ok
from tests.web.browser import assert_accessible, chromium, skip_unless_chromium, watch_csp
from tests.web.conftest import Browser, DemoHub

OFFICER = ("politie", "fg-politie")
ROW = re.compile(r'<tr class="utrecht-table__row" data-user="([^"]+)">(.*?)</tr>', re.S)
COUNT = re.compile(r'data-count="(\w+)">(\d+)<')
BADGE = re.compile(r'data-kind="(\w+)"')
SEQ = re.compile(r'data-seq="(\d+)"')
SECTION = re.compile(r'<section class="vhhub-signal-section" data-kind="(\w+)"')


@pytest.fixture(scope="module")
def http(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module", autouse=True)
def period(demo_hub: DemoHub) -> str:
    """The week the demo wrote its entries in: that of demo-politie's last entry (the user the
    overview must list), read once the demo has played. Not the week of now at collection:
    a Monday 00:00 in Amsterdam between collection and the demo would put them in the next."""
    engine = create_engine(demo_hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            time_us = s.scalar(
                select(func.max(LogEntry.time_us)).where(LogEntry.actor_user == "demo-politie")
            )
    finally:
        engine.dispose()
    assert time_us, "the demo's politie user acted"
    written = utc_moment(time_us)
    return last_complete_week(written, ZoneInfo("Europe/Amsterdam")).shifted(1).label


def api(http: httpx.Client, demo_hub: DemoHub, who: tuple[str, str]) -> As:
    found = persona(*who)
    assert found is not None
    return As(http, demo_hub.settings, who[0], who[1], [r.value for r in found.roles], "audit")


def signed_in(browser_for: Any, who: tuple[str, str]) -> Browser:
    b: Browser = browser_for()
    b.demo_login(*who)
    return b


def log_tail(demo_hub: DemoHub) -> tuple[int, LogEntry]:
    engine = create_engine(demo_hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            size = s.scalar(select(func.count()).select_from(LogEntry)) or 0
            last = s.scalars(select(LogEntry).order_by(LogEntry.seq.desc()).limit(1)).one()
            s.expunge(last)
            return size, last
    finally:
        engine.dispose()


def test_the_overview_shows_what_the_api_gives_the_same_officer(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, period: str
) -> None:
    # the demo's people of politie acted this week (publish, read): entries of politie. The
    # page first: its own read makes the officer a user with an entry (a log query, no
    # read) before the API is asked, so both see the same users and counts
    page = signed_in(browser_for, OFFICER).get("/signalen", params={"periode": period})
    answer = ok(
        api(http, demo_hub, OFFICER).get("/api/v1/audit/signals", params={"period": period})
    )
    assert page.status_code == 200
    assert "Doel: controle van het logboek" in page.text
    rows = ROW.findall(page.text)
    assert [user for user, _ in rows] == [u["user"] for u in answer["users"]]
    assert "demo-politie" in [user for user, _ in rows]
    for (user, cells), expected in zip(rows, answer["users"], strict=True):
        assert {k: int(v) for k, v in COUNT.findall(cells)} == expected["counts"], user
        assert BADGE.findall(cells) == [s["kind"] for s in expected["signals"]], user
    # only politie's own people: none of another organisation's demo users
    for other in ("demo-om", "demo-ggz", "procesregisseur-1", "demo-woningcorporatie"):
        assert other not in page.text


def test_each_users_page_shows_the_entries_behind_each_signal(
    browser_for: Any, http: httpx.Client, demo_hub: DemoHub, period: str
) -> None:
    officer_api = api(http, demo_hub, OFFICER)
    browser = signed_in(browser_for, OFFICER)
    report = ok(officer_api.get("/api/v1/audit/signals", params={"period": period}))
    for user in [u["user"] for u in report["users"]]:
        answer = ok(officer_api.get(f"/api/v1/audit/signals/{user}", params={"period": period}))
        page = browser.get(f"/signalen/{user}", params={"periode": period})
        assert page.status_code == 200, user
        assert SECTION.findall(page.text) == [s["kind"] for s in answer["signals"]]
        expected = [e["seq"] for s in answer["signals"] for e in s["entries"]]
        assert [int(x) for x in SEQ.findall(page.text)] == expected, user
        if not answer["signals"]:
            assert "Geen signalen in deze periode." in page.text


def test_another_organisations_user_looks_like_a_user_without_entries(
    browser_for: Any, demo_hub: DemoHub, period: str
) -> None:
    browser = signed_in(browser_for, OFFICER)
    other = browser.get("/signalen/demo-om", params={"periode": period})
    nobody = browser.get("/signalen/niemand-1", params={"periode": period})
    assert other.status_code == nobody.status_code == 200
    assert other.text.replace("demo-om", "X") == nobody.text.replace("niemand-1", "X")
    assert "Geen signalen in deze periode." in other.text


def test_the_read_is_logged_naming_the_period(
    browser_for: Any, demo_hub: DemoHub, period: str
) -> None:
    signed_in(browser_for, OFFICER).get("/signalen", params={"periode": period})
    _, last = log_tail(demo_hub)
    assert (last.action, last.outcome, last.actor_user, last.purpose) == (
        "log.query",
        "allowed",
        "fg-politie",
        "audit",
    )
    assert last.reason == f"misuse signals {period}"


@pytest.mark.parametrize(
    "who", [("politie", "demo-politie"), ("zvh", "auditor-1"), ("zvh", "procesregisseur-1")]
)
def test_nobody_but_a_privacy_officer_gets_in(
    browser_for: Any, demo_hub: DemoHub, period: str, who: tuple[str, str]
) -> None:
    browser = signed_in(browser_for, who)
    for path in ("/signalen", "/signalen/demo-politie"):
        page = browser.get(path, params={"periode": period})
        assert page.status_code == 403, (who, path)
        assert 'data-user="' not in page.text and "data-seq" not in page.text
        _, last = log_tail(demo_hub)
        assert (last.action, last.outcome, last.actor_user) == ("log.query", "denied", who[1])


@pytest.mark.parametrize("periode", ["2026-W60", "volgende week", "2026-13"])
def test_a_bad_period_is_a_400_page_and_nothing_is_logged(
    browser_for: Any, demo_hub: DemoHub, periode: str
) -> None:
    browser = signed_in(browser_for, OFFICER)
    before, _ = log_tail(demo_hub)
    for path in ("/signalen", "/signalen/demo-politie"):
        page = browser.get(path, params={"periode": periode})
        assert page.status_code == 400
        assert "Dat ging niet goed" in page.text
    after, _ = log_tail(demo_hub)
    assert after == before


# -- in a browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Chromium]:
    skip_unless_chromium()
    with chromium() as b:
        yield b


@pytest.mark.parametrize("width", [360, 1440])
def test_the_pages_are_accessible_and_keep_the_csp(
    chromium_browser: Chromium, demo_hub: DemoHub, period: str, width: int
) -> None:
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        csp = watch_csp(page)
        page.goto(f"{demo_hub.base_url}/aanmelden")
        page.get_by_role("button", name="Aanmelden als fg-politie").click()
        page.wait_for_url(f"{demo_hub.base_url}/beleid")
        for path in (f"/signalen?periode={period}", f"/signalen/demo-politie?periode={period}"):
            page.goto(f"{demo_hub.base_url}{path}")
            assert_accessible(page)
            assert csp == [], csp
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= page.evaluate("window.innerWidth"), f"{path} scrolls sideways"
        # the chooser changes the period with a GET: to its first other option (the demo's
        # week is the chooser's first, this week, unless a Monday has passed since the demo)
        page.goto(f"{demo_hub.base_url}/signalen?periode={period}")
        chooser = page.get_by_label("Periode")
        offered = chooser.locator("option").evaluate_all("options => options.map(o => o.value)")
        other = next(value for value in offered if value != period)
        chooser.select_option(value=other)
        page.get_by_role("button", name="Toon signalen").click()
        page.wait_for_load_state()
        assert f"periode={other}" in page.url and period not in page.url
    finally:
        context.close()
