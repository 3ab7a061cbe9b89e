"""The intake form and the procesregisseur's regie pages, against the demo hub over real HTTP:
each step a person takes in the browser is checked against what the API says of the case,
and an outsider, a forged form and invalid input change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hub.audit.models import LogEntry
from hub.cases.notices import dutch_today
from hub.cases.schemas import TriageCriteria
from hub.web.intake import CRITERIA_NL
from tests.support import As, ok
from tests.web.conftest import Browser, DemoHub

PROCESREGISSEUR = ("zvh", "procesregisseur-1", ["procesregisseur"])
POLITIE = ("politie", "demo-politie", ["publisher", "participant"])
OM = ("om", "demo-om", ["publisher", "participant"])
UNKNOWN_CASE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def api(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=30) as http:
        yield http


def _as(api: httpx.Client, hub: DemoHub, who: tuple[str, str, list[str]], purpose: str) -> As:
    partner, user, roles = who
    return As(api, hub.settings, partner, user, roles, purpose)


def _log_count(hub: DemoHub, action: str) -> int:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            return int(
                s.scalar(
                    select(func.count()).select_from(LogEntry).where(LogEntry.action == action)
                )
                or 0
            )
    finally:
        engine.dispose()


def _logged_in(browser_for: Any, partner: str, user: str) -> Browser:
    b: Browser = browser_for()
    b.demo_login(partner, user)
    return b


def _intake(b: Browser, **fields: str) -> httpx.Response:
    page = b.get("/casussen/nieuw")
    assert page.status_code == 200
    return b.post("/casussen/nieuw", {"csrf_token": b.csrf(page), **fields})


def _register(b: Browser, reason: str = "Zorgen om overlast en schulden.") -> str:
    response = _intake(
        b,
        kind="person",
        proposed_table="adults",
        reason=reason,
        **{
            "subjects-0-role_in_case": "Betrokkene",
            "subjects-0-name": "Web Aanmelding",
            "subjects-0-date_of_birth": "1990-03-04",
            "subjects-0-address": "Webstraat 1, 1234 AB Voorbeeldstad",
        },
    )
    assert response.status_code == 303, response.text[:800]
    match = re.fullmatch(r"/casussen/([0-9a-f-]{36})\?doel=intake", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def _act(b: Browser, case_id: str, action: str, purpose: str, **fields: str) -> httpx.Response:
    page = b.get(f"/casussen/{case_id}/regie?doel={purpose}")
    assert page.status_code == 200, page.text[:800]
    return b.post(
        f"/casussen/{case_id}/regie/{action}",
        {"csrf_token": b.csrf(page), "doel": purpose, **fields},
    )


def test_the_intake_form_is_a_labelled_dutch_form(browser_for) -> None:
    b = _logged_in(browser_for, "politie", "demo-politie")
    page = b.get("/casussen/nieuw")
    assert page.status_code == 200
    # needs hub/web/routes.py to include intake.router before pages.router, or the case
    # page's /casussen/{case_id} answers /casussen/nieuw
    assert 'action="/casussen/nieuw"' in page.text, "the case page answered /casussen/nieuw"
    assert '<h1 class="utrecht-heading-1">Casus aanmelden</h1>' in page.text
    assert "Doel: aanmelding" in page.text
    for field in ("kind", "proposed_table", "reason", "subjects-0-bsn", "subjects-5-address"):
        assert f'<label class="utrecht-form-label" for="field-{field}">' in page.text
        assert f'id="field-{field}" name="{field}"' in page.text
    assert "Gezin of systeem" in page.text and "O3-tafel multiproblematiek" in page.text
    assert 'style="' not in page.text and "onclick" not in page.text


def test_a_registered_case_is_taken_screened_triaged_and_shared(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    case_id = _register(politie)
    intake = _as(api, demo_hub, PROCESREGISSEUR, "intake")
    queued = next(c for c in ok(intake.get("/api/v1/cases")) if c["id"] == case_id)
    assert queued["procesregisseur"] is None and queued["phase"] == "intake"

    # the procesregisseur finds it in the intake queue and takes it
    zvh = _logged_in(browser_for, "zvh", "procesregisseur-1")
    queue = zvh.get("/aanmeldingen")
    assert queue.status_code == 200
    assert f'data-case-id="{case_id}"' in queue.text and "Regie nemen" in queue.text
    taken = zvh.post(
        f"/casussen/{case_id}/regie/nemen", {"csrf_token": zvh.csrf(queue), "doel": "intake"}
    )
    assert taken.status_code == 303
    assert taken.headers["location"] == f"/casussen/{case_id}/regie?doel=intake&gedaan=regie"
    page = zvh.get(taken.headers["location"])
    assert page.status_code == 200
    assert "U hebt de regie op deze casus genomen." in page.text
    assert "Doel: aanmelding" in page.text
    case = ok(intake.get(f"/api/v1/cases/{case_id}"))
    assert case["procesregisseur"] == {"partner": "zvh", "user": "procesregisseur-1"}
    assert f'data-case-id="{case_id}"' not in zvh.get("/aanmeldingen").text

    # on to screening
    moved = _act(zvh, case_id, "fase", "intake", **{"phase.to": "screening"})
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/casussen/{case_id}/regie?doel=screening&gedaan=fase"
    screening = intake.with_purpose("screening")
    assert ok(screening.get(f"/api/v1/cases/{case_id}"))["phase"] == "screening"

    # screening: per subject hit or no hit, as the API answers it
    screened = _act(zvh, case_id, "screening", "screening")
    assert screened.status_code == 200
    assert "De screening is uitgevoerd." in screened.text
    answer = ok(screening.post(f"/api/v1/cases/{case_id}/screenings", json={}))
    assert len(answer["results"]) == 1
    for hit in answer["results"]:
        row = screened.text.split(f'data-subject-id="{hit["subject"]}"', 1)[1].split("</tr>")[0]
        assert ("ja, bekend" if hit["known"] else "nee, niet bekend") in row
        assert "betrokkene" in row

    # triage: accepted onto the multi-problem table, amber, reviewed in a week
    review = (dutch_today() + timedelta(days=7)).isoformat()
    triaged = _act(
        zvh,
        case_id,
        "triage",
        "screening",
        **{f"triage.criteria.{k}": "true" for k in list(CRITERIA_NL)[:4]},
        **{
            "triage.decision": "accept",
            "triage.table": "multi_problem",
            "triage.urgency": "amber",
            "triage.review_on": review,
        },
    )
    assert triaged.status_code == 303, triaged.text[:800]
    assert triaged.headers["location"].endswith("gedaan=triage")
    case = ok(screening.get(f"/api/v1/cases/{case_id}"))
    assert (case["table"], case["urgency"], case["review_on"]) == ("multi_problem", "amber", review)
    assert case["triage"]["decision"] == "accept"

    # invite a partner of the network
    invited = _act(zvh, case_id, "uitnodigingen", "screening", **{"invite.partner": "ggz"})
    assert invited.status_code == 303
    assert invited.headers["location"].endswith("gedaan=uitnodiging")
    case = ok(screening.get(f"/api/v1/cases/{case_id}"))
    # the registering partner takes part from the start; ggz now too
    assert [p["partner"] for p in case["participants"]] == ["politie", "ggz"]
    page = zvh.get(invited.headers["location"])
    assert "De partner is uitgenodigd voor deze casus." in page.text
    assert 'data-participant="ggz"' in page.text

    # the invited partner finds it in its caseload
    ggz = _logged_in(browser_for, "ggz", "demo-ggz")
    caseload = ggz.get("/casussen")
    assert caseload.status_code == 200
    assert f"/casussen/{case_id}?doel=screening" in caseload.text

    # withdrawing the invitation: the partner no longer has it
    participant = next(p["id"] for p in case["participants"] if p["partner"] == "ggz")
    withdrawn = _act(zvh, case_id, f"uitnodigingen/{participant}/intrekken", "screening")
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"].endswith("gedaan=intrekking")
    after = ok(screening.get(f"/api/v1/cases/{case_id}"))["participants"]
    assert [p["partner"] for p in after] == ["politie"]
    assert f"/casussen/{case_id}?" not in ggz.get("/casussen").text


def test_invalid_intake_is_told_in_dutch_and_stores_nothing(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    own = _as(api, demo_hub, POLITIE, "intake")
    cases_before = len(ok(own.get("/api/v1/cases")))
    logged_before = _log_count(demo_hub, "case.register")
    response = _intake(
        politie,
        kind="family",
        proposed_table="youth",
        reason="",
        **{"subjects-0-role_in_case": "ouder", "subjects-0-bsn": "123456789"},
    )
    assert response.status_code == 400
    text = response.text
    assert 'id="error-summary"' in text
    assert '<a class="utrecht-link utrecht-link--html-a" href="#field-reason">' in text
    reason_error = text.split('id="field-reason-error"', 1)[1].split("</p>")[0]
    assert "Vul Reden van aanmelding in." in reason_error
    bsn_error = text.split('id="field-subjects-0-bsn-error"', 1)[1].split("</p>")[0]
    assert "geldig BSN" in bsn_error and "elfproef" in bsn_error
    assert 'id="field-subjects-0-bsn" name="subjects-0-bsn" type="text" value="123456789"' in text
    assert 'aria-invalid="true"' in text
    # nothing stored, nothing logged as registered
    assert len(ok(own.get("/api/v1/cases"))) == cases_before
    assert _log_count(demo_hub, "case.register") == logged_before


def test_a_participant_gets_the_apis_refusal_on_screening(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    page = politie.get(f"/casussen/{demo_hub.case_id}/regie?doel=execution")
    assert page.status_code == 200  # a participant may read the case, as through the API
    logged_before = _log_count(demo_hub, "case.screen")
    response = politie.post(
        f"/casussen/{demo_hub.case_id}/regie/screening",
        {"csrf_token": politie.csrf(page), "doel": "screening"},
    )
    api_answer = _as(api, demo_hub, POLITIE, "screening").post(
        f"/api/v1/cases/{demo_hub.case_id}/screenings", json={}
    )
    assert api_answer.status_code in (403, 404)
    assert response.status_code == api_answer.status_code
    title = {403: "Dit mag u niet doen", 404: "Niet gevonden"}[response.status_code]
    assert f'<h1 class="utrecht-heading-1">{title}</h1>' in response.text
    assert _log_count(demo_hub, "case.screen") == logged_before


def test_an_outsider_gets_the_same_404_as_for_an_unknown_case(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    case_id = _register(politie, "Alleen de politie en de procesregisseur weten hiervan.")
    om = _logged_in(browser_for, "om", "demo-om")
    outsider = om.get(f"/casussen/{case_id}/regie?doel=intake")
    unknown = om.get(f"/casussen/{UNKNOWN_CASE}/regie?doel=intake")
    assert outsider.status_code == unknown.status_code == 404
    assert outsider.text == unknown.text
    assert "Alleen de politie" not in outsider.text
    assert _as(api, demo_hub, OM, "intake").get(f"/api/v1/cases/{case_id}").status_code == 404
    # nor may it act on the case
    forged = om.post(
        f"/casussen/{case_id}/regie/fase",
        {"csrf_token": om.csrf(om.get("/casussen")), "doel": "intake", "phase.to": "screening"},
    )
    assert forged.status_code == 404


def test_a_post_without_the_csrf_token_changes_nothing(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    case_id = _register(politie)
    zvh = _logged_in(browser_for, "zvh", "procesregisseur-1")
    refused = zvh.post(f"/casussen/{case_id}/regie/nemen", {"doel": "intake"})
    assert refused.status_code == 403
    assert "Het formulier is verlopen" in refused.text
    forged = zvh.post(
        f"/casussen/{case_id}/regie/nemen", {"doel": "intake", "csrf_token": "nagemaakt"}
    )
    assert forged.status_code == 403
    intake = _as(api, demo_hub, PROCESREGISSEUR, "intake")
    case = next(c for c in ok(intake.get("/api/v1/cases")) if c["id"] == case_id)
    assert case["procesregisseur"] is None
    # and an intake without the token registers nothing
    logged_before = _log_count(demo_hub, "case.register")
    no_token = politie.post(
        "/casussen/nieuw",
        {"kind": "person", "proposed_table": "adults", "reason": "x", "subjects-0-bsn": ""},
    )
    assert no_token.status_code == 403
    assert _log_count(demo_hub, "case.register") == logged_before


def test_invalid_triage_is_told_at_its_inputs_and_changes_nothing(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    case_id = _register(politie)
    zvh = _logged_in(browser_for, "zvh", "procesregisseur-1")
    queue = zvh.get("/aanmeldingen")
    taken = zvh.post(
        f"/casussen/{case_id}/regie/nemen", {"csrf_token": zvh.csrf(queue), "doel": "intake"}
    )
    assert taken.status_code == 303
    assert _act(zvh, case_id, "fase", "intake", **{"phase.to": "screening"}).status_code == 303
    # accepted without the criteria, dates without an urgency
    response = _act(
        zvh,
        case_id,
        "triage",
        "screening",
        **{
            "triage.criteria.multiple_life_domains": "true",
            "triage.decision": "accept",
            "triage.review_on": "31-02-2026",
        },
    )
    assert response.status_code == 400
    assert 'id="error-summary"' in response.text
    assert 'id="field-triage-criteria-multiple_life_domains-error"' in response.text
    assert 'id="field-triage-review_on-error"' in response.text
    # what was typed is kept
    assert 'name="triage.review_on" type="date" value="31-02-2026"' in response.text
    rejected = _act(zvh, case_id, "triage", "screening", **{"triage.decision": "reject"})
    assert rejected.status_code == 400
    assert "Kies bij een afwijzing de reden van afwijzing." in rejected.text
    case = ok(_as(api, demo_hub, PROCESREGISSEUR, "screening").get(f"/api/v1/cases/{case_id}"))
    assert case["triage"] is None and case["table"] is None


def test_the_triage_labels_cover_the_landelijk_kader_criteria() -> None:
    assert list(CRITERIA_NL) == list(TriageCriteria.model_fields)


def test_the_casusregisseur_is_assigned_and_the_case_closed_from_the_regie_page(
    browser_for, demo_hub: DemoHub, api: httpx.Client
) -> None:
    politie = _logged_in(browser_for, "politie", "demo-politie")
    case_id = _register(politie)
    zvh = _logged_in(browser_for, "zvh", "procesregisseur-1")
    queue = zvh.get("/aanmeldingen")
    zvh.post(f"/casussen/{case_id}/regie/nemen", {"csrf_token": zvh.csrf(queue), "doel": "intake"})
    assert _act(zvh, case_id, "fase", "intake", **{"phase.to": "screening"}).status_code == 303
    accepted = _act(
        zvh,
        case_id,
        "triage",
        "screening",
        **{"triage.criteria.area_bound_safety_problem": "true", "triage.decision": "accept"},
    )
    assert accepted.status_code == 303
    moved = _act(zvh, case_id, "fase", "screening", **{"phase.to": "preparation"})
    assert moved.headers["location"] == f"/casussen/{case_id}/regie?doel=preparation&gedaan=fase"
    preparation = _as(api, demo_hub, PROCESREGISSEUR, "preparation")
    case = ok(preparation.get(f"/api/v1/cases/{case_id}"))
    assert (case["phase"], case["table"]) == ("preparation", "adults")

    # a casusregisseur without a user name is told so, and nothing changes
    missing = _act(zvh, case_id, "casusregisseur", "preparation", **{"regisseur.partner": "om"})
    assert missing.status_code == 400
    assert 'id="field-regisseur-user-error"' in missing.text
    assert ok(preparation.get(f"/api/v1/cases/{case_id}"))["casusregisseur"] is None
    named = _act(
        zvh,
        case_id,
        "casusregisseur",
        "preparation",
        **{"regisseur.partner": "gemeente-wi", "regisseur.user": "demo-gemeente-wi"},
    )
    assert named.status_code == 303
    assert "De casusregisseur is aangewezen." in zvh.get(named.headers["location"]).text
    assert ok(preparation.get(f"/api/v1/cases/{case_id}"))["casusregisseur"] == {
        "partner": "gemeente-wi",
        "user": "demo-gemeente-wi",
    }

    # closing needs an outcome; then the case is closed
    unclosed = _act(zvh, case_id, "afsluiten", "preparation")
    assert unclosed.status_code == 400
    assert "Kies hoe de casus eindigt." in unclosed.text
    closed = _act(zvh, case_id, "afsluiten", "preparation", **{"closure.outcome": "handed_back"})
    assert closed.status_code == 303
    assert closed.headers["location"] == "/aanmeldingen?gedaan=afgesloten"
    assert "De casus is afgesloten." in zvh.get(closed.headers["location"]).text
    listed = ok(_as(api, demo_hub, POLITIE, "intake").get("/api/v1/cases"))
    assert case_id not in {c["id"] for c in listed if c["phase"] != "closed"}
