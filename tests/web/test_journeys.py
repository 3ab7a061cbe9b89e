"""The web application in a real browser (the distribution's Chromium, via Playwright) on the
demo's data: each role's main journey, and every page reachable from the caseload checked
with axe-core (no serious or critical WCAG 2.1 A/AA violation), under the strict
Content-Security-Policy (no violation reported), at 360 and at 1440 pixels wide (no
horizontal scrolling of the page). One browser for the whole module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hub.web.models import CaseVisit
from tests.web.browser import assert_accessible, chromium, skip_unless_chromium, watch_csp
from tests.web.conftest import DemoHub

WIDTHS = (360, 1440)
#: what a crawl does not open: downloads, and pages that act (they are forms, not links)
NOT_CRAWLED = re.compile(r"(\.ics$|/afmelden|/static/)")
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    skip_unless_chromium()
    with chromium() as b:
        yield b


def _login(browser: Browser, hub: DemoHub, user: str, width: int = 1440) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.base_url}/aanmelden")
    page.get_by_role("button", name=f"Aanmelden als {user}").click()
    page.wait_for_url(f"{hub.base_url}/casussen")
    return page


def _age_visits(hub: DemoHub, *, minutes: int) -> None:
    """Move every recorded case visit back in time, as if it were made a while ago."""
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s, s.begin():
            for visit in s.scalars(select(CaseVisit)):
                visit.seen_at -= timedelta(minutes=minutes)
    finally:
        engine.dispose()


def _check(page: Page, csp: list[str]) -> None:
    assert_accessible(page)
    assert csp == [], csp
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"{page.url} scrolls sideways"


def test_the_procesregisseur_sees_who_the_case_is_about_and_why(
    browser: Browser, demo_hub: DemoHub
) -> None:
    page = _login(browser, demo_hub, "procesregisseur-1")
    csp = watch_csp(page)
    assert page.get_by_text("Demo-omgeving").first.is_visible()
    row = page.locator("table.vhhub-caseload tbody tr").first
    assert "O3-tafel multiproblematiek" in row.inner_text()
    row.get_by_role("link").first.click()
    page.wait_for_load_state()
    assert "Doel: uitvoering van het plan van aanpak" in page.locator(".vhhub-purpose").inner_text()
    subjects = page.locator("[data-subject-id]")
    assert subjects.count() == 2
    # the names, not the BSN: the Veiligheidshuis has no legal basis for it (policy)
    assert "Demo Vader" in subjects.first.inner_text()
    assert "niet gedeeld" in subjects.first.inner_text()
    assert page.get_by_text("Waarom u dit ziet").is_visible()
    # the procesregisseur sees that partners hold information, not what it is
    assert page.locator("[data-existence]").count() >= 3
    assert page.locator("[data-fact-id]").count() == 0
    assert page.locator(".vhhub-phase-history li").count() >= 6
    # a visit a while later says what is new since the one before
    _age_visits(demo_hub, minutes=5)
    page.reload()
    assert page.get_by_text("Uw vorige bezoek").is_visible()
    _check(page, csp)
    # another purpose, chosen on the page: refused by the policy in this phase, and said so
    page.get_by_label("Ander doel kiezen").select_option("intake")
    page.get_by_role("button", name="Bekijken voor dit doel").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() in {
        "Dit mag u niet doen",
        "Niet gevonden",
    }
    page.context.close()


def test_a_participant_reads_the_briefing_by_life_domain(
    browser: Browser, demo_hub: DemoHub
) -> None:
    page = _login(browser, demo_hub, "demo-woningcorporatie", width=360)
    csp = watch_csp(page)
    page.locator("table.vhhub-caseload tbody tr").first.get_by_role("link").first.click()
    page.wait_for_load_state()
    facts = page.locator("[data-fact-id]")
    assert facts.count() >= 3
    assert page.get_by_role("heading", name="Wonen").is_visible()
    levels = {facts.nth(i).get_attribute("data-level") for i in range(facts.count())}
    assert "full" in levels  # its own facts
    assert page.get_by_text("Waarom:").first.is_visible()
    _check(page, csp)
    page.context.close()


def test_the_login_page_and_the_accessibility_statement(
    browser: Browser, demo_hub: DemoHub
) -> None:
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        csp = watch_csp(page)
        failed: list[str] = []
        page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
        page.goto(f"{demo_hub.base_url}/aanmelden")
        _check(page, csp)
        # every resource a page asks for is there: styles, script, the icon
        assert failed == []
        page.get_by_role("link", name="Toegankelijkheidsverklaring").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Toegankelijkheidsverklaring").is_visible()
        _check(page, csp)
        context.close()


def _pattern(url: str) -> str:
    parts = urlsplit(url)
    query = re.sub(r"=[^&]*", "=", parts.query)
    return _ID.sub("{id}", parts.path) + ("?" + query if query else "")


def _links(page: Page, base: str) -> list[str]:
    hrefs: list[Any] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    return [h for h in hrefs if h.startswith(base) and not NOT_CRAWLED.search(h)]


@pytest.mark.parametrize("user", ["procesregisseur-1", "demo-gemeente-wi", "demo-ggz"])
def test_every_page_two_clicks_from_the_caseload_is_accessible(
    browser: Browser, demo_hub: DemoHub, user: str
) -> None:
    """Crawl what the caseload links to, and what those pages link to (two clicks), once
    per kind of page, and check each at both widths."""
    base = demo_hub.base_url
    seen: dict[str, str] = {}
    frontier = [f"{base}/casussen"]
    for _ in range(3):  # the caseload, one click, two clicks
        following: list[str] = []
        for url in frontier:
            key = _pattern(url)
            if key in seen:
                continue
            seen[key] = url
            for width in WIDTHS:
                page = _login(browser, demo_hub, user, width)
                csp = watch_csp(page)
                response = page.goto(url)
                assert response is not None
                if response.status < 400:
                    _check(page, csp)
                    if width == WIDTHS[-1]:
                        following.extend(_links(page, base))
                page.context.close()
        frontier = following
    assert "/casussen/{id}?doel=" in seen


def test_the_caseload_filters_update_the_results_in_place(
    browser: Browser, demo_hub: DemoHub
) -> None:
    page = _login(browser, demo_hub, "procesregisseur-1")
    csp = watch_csp(page)
    assert page.locator("table.vhhub-caseload tbody tr").count() == 1
    page.evaluate("window.vhhubNoReload = true")
    # htmx: only the results are replaced, and the address follows the filters
    page.get_by_label("Fase").select_option("intake")
    expect(page).to_have_url(re.compile(r"/casussen\?.*fase=intake"))
    expect(page.locator("#caseload-results")).to_contain_text("Geen casussen met deze filters")
    assert page.evaluate("window.vhhubNoReload") is True
    page.get_by_label("Fase").select_option("")
    expect(page.locator("table.vhhub-caseload tbody tr")).to_have_count(1)
    assert page.evaluate("window.vhhubNoReload") is True
    _check(page, csp)
    page.context.close()
