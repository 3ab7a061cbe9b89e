"""Each role's main journey, acted out in a real browser (the distribution's Chromium) on the
demo's data: a partner registers a case and the procesregisseur takes it through screening and
triage; the casusregisseur edits the plan while a stale second tab meets the conflict screen;
a participant without an application shares a fact by hand. Every step is checked against
what the API then returns; every page is checked for CSP violations. One browser per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import As, ok
from tests.web.browser import chromium, skip_unless_chromium, watch_csp
from tests.web.conftest import DemoHub


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    skip_unless_chromium()
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def api(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=30) as client:
        yield client


def _login(browser: Browser, hub: DemoHub, user: str) -> tuple[Page, list[str]]:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    csp = watch_csp(page)
    page.goto(f"{hub.base_url}/aanmelden")
    page.get_by_role("button", name=f"Aanmelden als {user}").click()
    page.wait_for_url(f"{hub.base_url}/casussen")
    return page, csp


def test_a_partner_registers_and_the_procesregisseur_takes_the_case_through_triage(
    browser: Browser, demo_hub: DemoHub, api: httpx.Client
) -> None:
    police, police_csp = _login(browser, demo_hub, "demo-politie")
    police.get_by_role("link", name="Casus aanmelden").click()
    # sent empty: an error summary on top, a message at each field, nothing stored
    police.get_by_role("button", name="Casus aanmelden").click()
    summary = police.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert police.locator("#field-reason[aria-invalid='true']").count() == 1
    police.locator("#field-kind").select_option("person")
    police.locator("#field-proposed_table").select_option("adults")
    police.locator("#field-reason").fill("Herhaalde overlast en verward gedrag in de wijk.")
    police.locator("#field-subjects-0-role_in_case").fill("bewoner")
    police.locator("#field-subjects-0-name").fill("Journey Bewoner")
    police.locator("#field-subjects-0-date_of_birth").fill("1979-03-02")
    police.get_by_role("button", name="Casus aanmelden").click()
    police.wait_for_url("**/casussen/*?doel=intake")
    case_id = police.url.split("/casussen/")[1].split("?")[0]
    assert police_csp == []

    zvh, zvh_csp = _login(browser, demo_hub, "procesregisseur-1")
    as_zvh = As(api, demo_hub.settings, "zvh", "procesregisseur-1", ["procesregisseur"], "intake")
    zvh.get_by_role("link", name="Nieuwe aanmeldingen").click()
    row = zvh.locator(f"tr[data-case-id='{case_id}']")
    row.get_by_role("button", name="Regie nemen").click()
    zvh.wait_for_url(f"**/casussen/{case_id}/regie**")
    assert ok(as_zvh.get(f"/api/v1/cases/{case_id}"))["procesregisseur"]["user"] == (
        "procesregisseur-1"
    )
    zvh.get_by_role("button", name="Doorzetten naar Screening").click()
    zvh.wait_for_load_state()
    zvh.get_by_role("button", name="Betrokkenen screenen").click()
    zvh.wait_for_load_state()
    assert "bekend" in zvh.locator("main").inner_text()
    for box in zvh.locator("input[name^='triage.criteria.']").all()[:4]:
        box.check()
    zvh.locator("input[name='triage.decision'][value='accept']").check()
    zvh.locator("#field-triage-table").select_option("adults")
    zvh.get_by_role("button", name="Triage vastleggen").click()
    zvh.wait_for_load_state()
    zvh.locator("#field-invite-partner").select_option("ggz")
    zvh.get_by_role("button", name="Uitnodigen").click()
    zvh.wait_for_load_state()
    case = ok(as_zvh.get(f"/api/v1/cases/{case_id}", purpose="screening"))
    assert case["table"] == "adults" and case["phase"] == "screening"
    assert "ggz" in {p["partner"] for p in case["participants"]}
    assert zvh_csp == []
    zvh.context.close()
    police.context.close()


def test_the_casusregisseur_edits_the_plan_and_a_stale_tab_meets_the_conflict_screen(
    browser: Browser, demo_hub: DemoHub, api: httpx.Client
) -> None:
    page, csp = _login(browser, demo_hub, "demo-gemeente-wi")
    plan_url = f"{demo_hub.base_url}/casussen/{demo_hub.case_id}/plan/bewerken?doel=execution"
    stale = page.context.new_page()
    stale.goto(plan_url)
    page.goto(plan_url)
    page.locator("#field-interventions-0-text").fill("Budgetcoach twee keer per week.")
    page.get_by_role("button", name="Plan opslaan").click()
    page.wait_for_url("**/plan?**")
    as_regisseur = As(
        api,
        demo_hub.settings,
        "gemeente-wi",
        "demo-gemeente-wi",
        ["publisher", "participant", "casusregisseur"],
        "execution",
    )
    saved = ok(as_regisseur.get(f"/api/v1/cases/{demo_hub.case_id}/plan"))
    texts: list[Any] = [i["text"] for i in saved["interventions"]]
    assert "Budgetcoach twee keer per week." in texts
    # the other tab still holds the old version: its save is refused, and said so
    stale.locator("#field-interventions-0-text").fill("Schuldhulp aanvragen.")
    stale.get_by_role("button", name="Plan opslaan").click()
    stale.wait_for_load_state()
    expect(stale.get_by_text("er is niets overschreven")).to_be_visible()
    again = ok(as_regisseur.get(f"/api/v1/cases/{demo_hub.case_id}/plan"))
    assert again["version"] == saved["version"]
    assert "Schuldhulp aanvragen." not in [i["text"] for i in again["interventions"]]
    assert csp == []
    page.context.close()


def test_a_participant_without_an_application_shares_a_fact_by_hand(
    browser: Browser, demo_hub: DemoHub, api: httpx.Client
) -> None:
    page, csp = _login(browser, demo_hub, "demo-woningcorporatie")
    page.goto(f"{demo_hub.base_url}/casussen/{demo_hub.case_id}?doel=execution")
    page.get_by_role("link", name="Informatie delen").click()
    page.locator("[data-fact-type='housing.rent_arrears/1']").click()
    page.wait_for_load_state()
    page.locator("#field-arrears_months").fill("drie")
    page.get_by_role("button", name="Informatie delen").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert "geheel getal" in page.locator("main").inner_text()
    before = len(_facts(api, demo_hub))
    page.locator("#field-reference_date").fill("2026-12-01")
    page.locator("#field-arrears_stage").select_option(index=1)
    page.locator("#field-arrears_months").fill("3")
    page.locator("#field-arrears_amount_eur").fill("1.234,50")
    page.locator("#field-legal_basis").select_option(index=1)
    page.get_by_role("button", name="Informatie delen").click()
    page.wait_for_url("**gedeeld=**")
    expect(page.get_by_text("De informatie is gedeeld.")).to_be_visible()
    facts = _facts(api, demo_hub)
    assert len(facts) == before + 1
    newest = max(facts, key=lambda f: f["published_at"])
    assert newest["fields"]["arrears_amount_eur"] == 1234.5
    assert csp == []
    page.context.close()


def _facts(api: httpx.Client, hub: DemoHub) -> list[dict[str, Any]]:
    as_ = As(
        api,
        hub.settings,
        "woningcorporatie",
        "demo-woningcorporatie",
        ["publisher", "participant"],
        "execution",
    )
    briefing = ok(as_.get(f"/api/v1/cases/{hub.case_id}/briefing"))
    return [
        f for d in briefing["domains"] for f in d["facts"] if f["type"] == "housing.rent_arrears/1"
    ]
