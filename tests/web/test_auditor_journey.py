"""The auditor's journey in a real browser (Chromium via Playwright) on the demo's data:
search the log with filters, page on with the cursor, open an entry and see its proof check
pass, open the verification status, run a verification, produce the art. 15 report of a
parent of the demo (as hub/demo/scenario.py asks for it) and download its PDF. Every page
the auditor gets is checked with axe-core, under the strict CSP, at 360 and 1440 pixels
wide without sideways scrolling. One browser for the whole module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from hub.demo.scenario import REPORT_IDENTIFIERS
from tests.web.browser import assert_accessible, chromium, skip_unless_chromium, watch_csp
from tests.web.conftest import DemoHub

WIDTHS = (360, 1440)
MOTHER = REPORT_IDENTIFIERS["moeder"]
FATHER = REPORT_IDENTIFIERS["vader"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    skip_unless_chromium()
    with chromium() as b:
        yield b


def _login(browser: Browser, hub: DemoHub, width: int = 1440) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{hub.base_url}/aanmelden")
    page.get_by_role("button", name="Aanmelden als auditor-1").click()
    page.wait_for_url(f"{hub.base_url}/logboek")
    return page


def _check(page: Page, csp: list[str]) -> None:
    assert_accessible(page)
    assert csp == [], csp
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"{page.url} scrolls sideways"


def test_the_auditor_searches_opens_an_entry_verifies_and_reports(
    browser: Browser, demo_hub: DemoHub
) -> None:
    page = _login(browser, demo_hub)
    csp = watch_csp(page)
    _check(page, csp)
    # search with filters
    page.get_by_label("Casus (nummer)").fill(demo_hub.case_id)
    page.get_by_label("Handeling").select_option(label="Briefing ingezien")
    page.get_by_role("button", name="Zoeken", exact=True).click()
    page.wait_for_load_state()
    assert f"casus={demo_hub.case_id}" in page.url and "handeling=briefing.read" in page.url
    rows = page.locator("table.vhhub-log-table tbody tr")
    assert rows.count() > 0
    assert all("Briefing ingezien" in t for t in rows.all_inner_texts())
    _check(page, csp)
    # ... narrowed to one organisation, chosen by its name
    page.get_by_label("Organisatie").select_option("politie")
    page.get_by_role("button", name="Zoeken", exact=True).click()
    page.wait_for_load_state()
    assert "organisatie=politie" in page.url
    assert rows.count() > 0
    assert all("Politie" in t for t in rows.all_inner_texts())
    # page on with the cursor, through the whole case
    page.get_by_label("Organisatie").select_option("")
    page.get_by_label("Handeling").select_option(label="Alle handelingen")
    page.get_by_role("button", name="Zoeken", exact=True).click()
    page.wait_for_load_state()
    first_seq = rows.first.get_attribute("data-seq")
    page.get_by_role("link", name="Volgende").click()
    page.wait_for_load_state()
    assert "na=" in page.url and f"casus={demo_hub.case_id}" in page.url
    assert int(rows.first.get_attribute("data-seq") or 0) > int(first_seq or 0)
    # open an entry: the check passes, in words
    rows.first.get_by_role("link").first.click()
    page.wait_for_load_state()
    verdict = page.locator("#controle").inner_text()
    assert "Deze regel staat onveranderd in het logboek" in verdict
    assert "ondertekend door de hub; de controle klopt." in verdict
    _check(page, csp)
    # the verification status, and a verification run
    page.get_by_role("link", name="Verificatie").click()
    page.wait_for_load_state()
    assert "geen getuigen ingesteld" in page.locator("#status-witnesses").inner_text()
    _check(page, csp)
    page.get_by_role("button", name="Logboek nu controleren").click()
    page.wait_for_url("**/logboek/status?gecontroleerd=1")
    assert "in orde" in page.locator("#status-verified").inner_text()
    _check(page, csp)
    # the art. 15 report of the mother, as the demo's auditor asks for it
    page.get_by_role("link", name="Inzageverzoek").click()
    page.wait_for_load_state()
    _check(page, csp)
    page.get_by_label("Naam").fill(MOTHER["name"])
    page.get_by_label("Geboortedatum").fill(MOTHER["date_of_birth"])
    page.get_by_role("button", name="Overzicht tonen").click()
    page.wait_for_load_state()
    report = page.locator(".vhhub-report")
    assert "Inzageoverzicht persoonsgegevens" in report.inner_text()
    assert "Autoriteit Persoonsgegevens" in report.inner_text()
    assert page.url.endswith("/inzage")  # the identifiers went in the body
    _check(page, csp)
    with page.expect_download() as download:
        page.get_by_role("button", name="Als PDF downloaden").click()
    path = download.value.path()
    assert path is not None
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_auditor_page_is_accessible_at_each_width(
    browser: Browser, demo_hub: DemoHub, width: int
) -> None:
    page = _login(browser, demo_hub, width)
    csp = watch_csp(page)
    base = demo_hub.base_url
    for path in (
        f"/logboek?casus={demo_hub.case_id}",
        "/logboek?handeling=drop",  # the form with its error summary
        "/logboek/3",
        "/logboek/status",
        "/inzage",
    ):
        page.goto(base + path)
        _check(page, csp)
    # the subject search and the report page with a report
    page.goto(base + "/logboek")
    page.locator("#field-bsn").fill(FATHER["bsn"])
    page.get_by_role("button", name="Zoeken op persoon").click()
    page.wait_for_load_state()
    assert page.locator("table.vhhub-log-table tbody tr").count() > 0
    _check(page, csp)
    page.goto(base + "/inzage")
    page.locator("#field-bsn").fill(FATHER["bsn"])
    page.get_by_role("button", name="Overzicht tonen").click()
    page.wait_for_load_state()
    assert page.locator(".vhhub-report").count() == 1
    _check(page, csp)
    page.context.close()
