"""The privacy officers' journey in a real browser (the distribution's Chromium, Playwright) on
the demo: fg-politie reviews a matrix and opens a cell, simulates, and uploads a change;
fg-om approves it on the diff page; fg-gemeente-wi approves and the version becomes active;
the overview shows it active and the history lists both approvals. Every page is checked
with axe-core (no serious or critical violation), under the strict CSP (no violation) and
without sideways scrolling, at 360 and 1440 pixels. One browser for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.policy_review.conftest import bundle_of, policy_copy, set_cell
from tests.web.browser import assert_accessible, chromium, skip_unless_chromium, watch_csp
from tests.web.conftest import DemoHub

WIDTHS = (360, 1440)
#: a diff takes 20-45 s the first time (ADR 0103)
DIFF_MS = 240_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    skip_unless_chromium()
    with chromium() as b:
        yield b


def login(browser: Browser, hub: DemoHub, user: str, width: int = 1440) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.base_url}/aanmelden")
    page.get_by_role("button", name=f"Aanmelden als {user}").click()
    page.wait_for_url(f"{hub.base_url}/beleid")
    return page


def check(page: Page, csp: list[str]) -> None:
    assert_accessible(page)
    assert csp == [], csp
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"{page.url} scrolls sideways"


def wait_for_diff(page: Page) -> None:
    page.locator("section.vhhub-policy-diff").wait_for(timeout=DIFF_MS)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_policy_page_is_accessible_and_stays_within_the_screen(
    browser: Browser, demo_hub: DemoHub, width: int
) -> None:
    page = login(browser, demo_hub, "fg-om", width)
    csp = watch_csp(page)
    for path in (
        "/beleid",
        "/beleid/matrix",
        "/beleid/matrix/multi_problem",
        "/beleid/matrix/youth/cel?rij=auditor&fase=closed&doel=audit",
        "/beleid/simulatie",
        "/beleid/versies/nieuw",
        "/beleid/geschiedenis",
    ):
        page.goto(f"{demo_hub.base_url}{path}")
        check(page, csp)
    # the matrix: all seven phases visible at 1440, closed included
    page.goto(f"{demo_hub.base_url}/beleid/matrix/multi_problem")
    if width == 1440:
        closed = page.get_by_role("columnheader", name="Afgesloten")
        assert closed.is_visible()
        box = closed.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
    # an invalid simulation: the error summary, still accessible
    page.goto(f"{demo_hub.base_url}/beleid/simulatie")
    page.get_by_role("button", name="Simuleer").click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").is_visible()
    check(page, csp)
    page.context.close()


def test_two_officers_of_other_partners_activate_what_a_third_uploaded(
    browser: Browser, demo_hub: DemoHub, tmp_path: Path
) -> None:
    # fg-politie reviews the matrix, opens a cell, simulates and uploads a change
    page = login(browser, demo_hub, "fg-politie")
    csp = watch_csp(page)
    page.get_by_role("link", name="Deelmatrix bekijken").click()
    page.get_by_role("link", name="O3-tafel multiproblematiek").click()
    page.locator('[data-cell="housing/case_conference/case_conference"]').click()
    page.wait_for_load_state()
    assert page.locator("[data-domain]").count() == 11
    assert "Grondslag" in page.content()
    check(page, csp)
    page.goto(f"{demo_hub.base_url}/beleid/simulatie")
    page.get_by_label("Soort organisatie").select_option("housing")
    page.get_by_label("Rol").select_option("participant")
    page.get_by_label("Tafel").select_option("multi_problem")
    page.get_by_label("Fase", exact=True).select_option("case_conference")
    page.get_by_role("button", name="Simuleer").click()
    page.wait_for_load_state()
    assert page.locator("[data-fact]").count() > 5
    check(page, csp)
    target = policy_copy(tmp_path)
    set_cell(target, "youth", "housing", "execution", "execution", "summary_all")
    bundle = tmp_path / "beleid.tar.gz"
    bundle.write_bytes(bundle_of(target))
    page.goto(f"{demo_hub.base_url}/beleid/versies/nieuw")
    page.get_by_label("Beleidsbundel (tar.gz)").set_input_files(str(bundle))
    page.get_by_role("button", name="Uploaden").click()
    page.wait_for_url("**/beleid/versies/*?geladen=1")
    version = page.url.split("/")[-1].split("?")[0]
    wait_for_diff(page)
    assert page.locator("[data-no-approve]").is_visible()  # four eyes: not the loader
    check(page, csp)
    page.context.close()

    # fg-om approves on the diff page
    page = login(browser, demo_hub, "fg-om")
    csp = watch_csp(page)
    page.goto(f"{demo_hub.base_url}/beleid/versies/{version}")
    wait_for_diff(page)
    check(page, csp)
    page.get_by_role("button", name="Goedkeuren").click()
    page.wait_for_url(f"**/beleid/versies/{version}?goedgekeurd=ja")
    page.context.close()

    # fg-gemeente-wi approves: the version becomes active
    page = login(browser, demo_hub, "fg-gemeente-wi", width=360)
    csp = watch_csp(page)
    page.goto(f"{demo_hub.base_url}/beleid/versies/{version}")
    wait_for_diff(page)
    check(page, csp)
    page.get_by_role("button", name="Goedkeuren").click()
    page.wait_for_url(f"**/beleid/versies/{version}?goedgekeurd=actief")
    page.goto(f"{demo_hub.base_url}/beleid")
    assert page.locator(f'[data-version="{version}"][data-status="active"]').count() == 1
    page.goto(f"{demo_hub.base_url}/beleid/geschiedenis")
    entry = page.locator(f'section[data-version="{version}"]')
    assert entry.locator("[data-approval]").count() == 2
    assert "om" in entry.inner_text() and "gemeente-wi" in entry.inner_text()
    check(page, csp)
    page.context.close()
