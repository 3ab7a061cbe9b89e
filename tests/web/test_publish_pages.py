"""Publishing a fact by hand (screen 6): the form a partner without an application fills in,
generated from the fact type's schema, publishes through the same service as the API, with
the same validation, the same policy, the same idempotency and the same access-log entry."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hub.audit.models import LogEntry
from hub.facts.catalog import FactType, FactTypeCatalog
from hub.facts.models import Fact
from hub.web.forms import FormField, form_values, input_id, schema_form
from tests.support import As
from tests.web.conftest import Browser, DemoHub, repo_root

ROOT: Path = repo_root()
CATALOG = FactTypeCatalog.load(ROOT / "schemas")
PURPOSE = "execution"
#: the demo partners that publish, and their kind (hub.demo.scenario.PARTNERS)
PUBLISHERS: dict[str, str] = {
    "politie": "police",
    "om": "prosecution",
    "reclassering": "probation",
    "gemeente-wi": "municipality",
    "woningcorporatie": "housing",
    "maatschappelijk-werk": "social_work",
    "ggz": "mental_health",
}
ROLES = ["publisher", "participant"]
RENT = CATALOG.get("housing.rent_arrears/1")
KEY_INPUT = re.compile(r'name="idempotency_key" value="([^"]+)"')


def example(fact_type: FactType) -> dict[str, Any]:
    path = ROOT / "schemas" / "examples" / f"{fact_type.name}.{fact_type.version}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def leaves(fields: list[FormField] | tuple[FormField, ...]) -> list[FormField]:
    out: list[FormField] = []
    for f in fields:
        out.extend(leaves(f.children) if f.widget == "fieldset" else [f])
    return out


def form_url(case_id: str, fact_type: FactType, purpose: str = PURPOSE) -> str:
    return f"/casussen/{case_id}/publiceren/{fact_type.name}/{fact_type.version}?doel={purpose}"


def api(hub: DemoHub, http: httpx.Client, partner: str, roles: list[str] | None = None) -> As:
    user = {"zvh": "procesregisseur-1"}.get(partner, f"demo-{partner}")
    return As(http, hub.settings, partner, user, roles or ROLES, PURPOSE)


def publisher_for(fact_type: FactType) -> str:
    for partner, kind in PUBLISHERS.items():
        if kind in {k.value for k in fact_type.publisher_kinds}:
            return partner
    return "gemeente-wi"  # no demo partner of this kind: the form still renders


def filled(
    page: httpx.Response,
    fact_type: FactType,
    content: dict[str, Any],
    b: Browser,
    **extra: Any,
) -> dict[str, Any]:
    """The form of ``page`` filled with ``content`` as a person would (form_values)."""
    key = KEY_INPUT.search(page.text)
    assert key, "no idempotency key on the form"
    data: dict[str, Any] = dict(form_values(fact_type, content))
    data.update(
        csrf_token=b.csrf(page),
        idempotency_key=key.group(1),
        legal_basis="convenant_zvh",
    )
    data.update(extra)
    return data


@contextmanager
def db_session(hub: DemoHub) -> Iterator[Session]:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def facts_under(hub: DemoHub, partner: str, key: str) -> int:
    with db_session(hub) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Fact)
                .where(Fact.publisher_partner == partner, Fact.idempotency_key == key)
            )
            or 0
        )


def fact_count(hub: DemoHub) -> int:
    with db_session(hub) as s:
        return int(s.scalar(select(func.count()).select_from(Fact)) or 0)


def entries_of(hub: DemoHub, action: str) -> list[LogEntry]:
    with db_session(hub) as s:
        return list(s.scalars(select(LogEntry).where(LogEntry.action == action)).all())


def publish_entries(hub: DemoHub, fact_id: str) -> list[LogEntry]:
    with db_session(hub) as s:
        rows = s.scalars(select(LogEntry).where(LogEntry.action == "fact.publish")).all()
        return [r for r in rows if fact_id in (r.object_ids or [])]


def subject_ids(hub: DemoHub, http: httpx.Client, partner: str) -> dict[str, str]:
    """role in the case -> subject id, from the API's case read of this partner."""
    case = api(hub, http, partner).get(f"/api/v1/cases/{hub.case_id}")
    assert case.status_code == 200, case.text
    return {s["role_in_case"]: s["id"] for s in case.json()["subjects"]}


@pytest.fixture(scope="module")
def http(demo_hub: DemoHub) -> Any:
    with httpx.Client(base_url=demo_hub.base_url, timeout=30) as client:
        yield client


# --- the pages --------------------------------------------------------------------------------


def test_every_shipped_fact_type_has_a_form_for_a_publisher_in_the_demo_case(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    browsers: dict[str, Browser] = {}
    for fact_type in CATALOG.types():
        partner = publisher_for(fact_type)
        if partner not in browsers:
            browsers[partner] = browser_for()
            browsers[partner].demo_login(partner, f"demo-{partner}")
        page = browsers[partner].get(form_url(demo_hub.case_id, fact_type))
        assert page.status_code == 200, (fact_type.id, page.text[:300])
        assert "Doel: uitvoering van het plan van aanpak" in page.text
        assert html.escape(fact_type.title) in page.text
        for f in leaves(schema_form(fact_type)):
            assert f'id="{f.id}"' in page.text, (fact_type.id, f.name)
            assert f'name="{f.name}"' in page.text
            assert f"{html.escape(f.label)}" in page.text
        assert 'name="idempotency_key"' in page.text and 'name="csrf_token"' in page.text


def test_the_labels_are_dutch_titles_from_the_schema(browser_for: Any, demo_hub: DemoHub) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    page = b.get(form_url(demo_hub.case_id, RENT))
    assert page.status_code == 200
    for label in ("Peildatum", "Bedrag huurachterstand (EUR)", "Stand van de incasso"):
        assert f">{label}" in html.unescape(page.text)
    assert "Arrears amount eur" not in page.text and "Reference date" not in page.text


def test_the_choice_lists_the_types_of_this_partner_kind_and_the_subjects_as_released(
    browser_for: Any, demo_hub: DemoHub, http: httpx.Client
) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    page = b.get(f"/casussen/{demo_hub.case_id}/publiceren?doel={PURPOSE}")
    assert page.status_code == 200, page.text[:300]
    listed = set(re.findall(r'name="soort" value="([^"]+)"', page.text))
    assert listed == {t.id for t in CATALOG.types() if "housing" in t.publisher_kinds}
    assert "police.incident/1" not in listed
    text = html.unescape(page.text)
    assert "Woningcorporatie: huurachterstand" in text and "Financiën" in text
    case = api(demo_hub, http, "woningcorporatie").get(f"/api/v1/cases/{demo_hub.case_id}")
    for s in case.json()["subjects"]:
        assert f'value="{s["id"]}"' in page.text
        # by name when the identity decision released it, else by role in the case
        assert (s["name"] or s["role_in_case"]) in text
        if s["name"] is None:
            assert "naam niet gedeeld met u" in text
    # the choice leads to the form, with the subjects ticked
    first = case.json()["subjects"][0]["id"]
    chosen = b.get(
        f"/casussen/{demo_hub.case_id}/publiceren",
        params={"doel": PURPOSE, "soort": RENT.id, "betrokkene": first},
    )
    assert chosen.status_code == 303
    form = b.get(chosen.headers["location"])
    assert form.status_code == 200
    assert re.search(rf'value="{first}"\s+checked', form.text)


def test_without_a_purpose_the_phase_purpose_applies(browser_for: Any, demo_hub: DemoHub) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    page = b.get(f"/casussen/{demo_hub.case_id}/publiceren")
    assert page.status_code == 200
    assert "Doel: uitvoering van het plan van aanpak" in page.text
    assert b.get(f"/casussen/{demo_hub.case_id}/publiceren?doel=nonsense").status_code == 400


def test_an_unknown_case_or_type_is_not_found(browser_for: Any, demo_hub: DemoHub) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    unknown = str(uuid.uuid4())
    assert b.get(f"/casussen/{unknown}/publiceren?doel={PURPOSE}").status_code == 404
    assert b.get(form_url(unknown, RENT)).status_code == 404
    missing = f"/casussen/{demo_hub.case_id}/publiceren/housing.nothing/1?doel={PURPOSE}"
    assert b.get(missing).status_code == 404


# --- publishing -------------------------------------------------------------------------------


def test_a_fact_published_by_hand_is_the_fact_the_api_briefs_and_logs(
    browser_for: Any, demo_hub: DemoHub, http: httpx.Client
) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    subjects = subject_ids(demo_hub, http, "woningcorporatie")
    page = b.get(form_url(demo_hub.case_id, RENT))
    content = example(RENT)
    data = filled(page, RENT, content, b, subject_ids=[subjects["vader"]])
    response = b.post(form_url(demo_hub.case_id, RENT), data)
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert location.startswith(f"/casussen/{demo_hub.case_id}?doel={PURPOSE}&gedeeld=")
    fact_id = re.search(r"gedeeld=([0-9a-f-]+)", location).group(1)  # type: ignore[union-attr]
    assert facts_under(demo_hub, "woningcorporatie", data["idempotency_key"]) == 1

    briefing = api(demo_hub, http, "woningcorporatie").get(
        f"/api/v1/cases/{demo_hub.case_id}/briefing"
    )
    assert briefing.status_code == 200, briefing.text
    facts = [f for d in briefing.json()["domains"] for f in d["facts"] if f["id"] == fact_id]
    assert len(facts) == 1
    fact = facts[0]
    assert fact["type"] == RENT.id and fact["publisher"] == "woningcorporatie"
    # exactly what was published: the publisher always sees its own facts in full
    assert fact["withheld_fields"] == []
    assert fact["fields"] == content
    assert fact["subject_id"] == subjects["vader"]

    entries = publish_entries(demo_hub, fact_id)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_partner == "woningcorporatie" and entry.purpose == PURPOSE
    assert entry.outcome == "allowed" and entry.case_id == demo_hub.case_id


def test_a_double_submit_of_the_same_form_stores_one_fact(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    page = b.get(form_url(demo_hub.case_id, RENT))
    data = filled(page, RENT, example(RENT), b)
    first = b.post(form_url(demo_hub.case_id, RENT), data)
    second = b.post(form_url(demo_hub.case_id, RENT), data)
    assert first.status_code == second.status_code == 303
    ids = [re.search(r"gedeeld=([0-9a-f-]+)", r.headers["location"]) for r in (first, second)]
    assert ids[0] and ids[1] and ids[0].group(1) == ids[1].group(1)
    assert "nieuw=1" in first.headers["location"] and "nieuw=0" in second.headers["location"]
    assert facts_under(demo_hub, "woningcorporatie", data["idempotency_key"]) == 1
    assert len(publish_entries(demo_hub, ids[0].group(1))) == 1
    # a new visit to the form is a new fact
    again = b.get(form_url(demo_hub.case_id, RENT))
    assert KEY_INPUT.search(again.text).group(1) != data["idempotency_key"]  # type: ignore[union-attr]


def test_invalid_input_stores_nothing_and_is_told_in_dutch_at_each_input(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    page = b.get(form_url(demo_hub.case_id, RENT))
    data = filled(
        page,
        RENT,
        example(RENT),
        b,
        reference_date="",
        arrears_months="veel",
        **{"housing_contact.phone": "bel de balie"},
        legal_basis="",
    )
    before = fact_count(demo_hub)
    response = b.post(form_url(demo_hub.case_id, RENT), data)
    assert response.status_code == 400
    assert fact_count(demo_hub) == before
    assert facts_under(demo_hub, "woningcorporatie", data["idempotency_key"]) == 0
    text = html.unescape(response.text)
    assert 'id="error-summary"' in response.text
    expected = {
        input_id("reference_date"): "Vul Peildatum in.",
        input_id("arrears_months"): "Vul bij Achterstand (maanden huur) een geheel getal in.",
        input_id("housing_contact.phone"): "Vul bij Telefoonnummer (Contactpunt corporatie)",
        input_id("legal_basis"): "Maak een keuze bij Grondslag voor het delen.",
    }
    for field_id, message in expected.items():
        assert f'href="#{field_id}"' in response.text  # the summary links to the input
        at_field = re.search(rf'id="{field_id}-error">(.*?)</p>', text, re.S)
        assert at_field and message in at_field.group(1), field_id
    # what was typed is kept (and never repeated in a message)
    assert 'value="veel"' in response.text and "bel de balie" in text
    assert "veel" not in text.split('id="error-summary"')[1].split("</div>")[0]
    # the same form, corrected, then goes through once
    fixed = filled(response, RENT, example(RENT), b)
    assert fixed["idempotency_key"] == data["idempotency_key"]
    assert b.post(form_url(demo_hub.case_id, RENT), fixed).status_code == 303
    assert facts_under(demo_hub, "woningcorporatie", data["idempotency_key"]) == 1


@pytest.mark.parametrize(
    ("partner", "user", "roles"),
    [
        ("zvh", "procesregisseur-1", ["procesregisseur"]),
        ("zvh", "auditor-1", ["auditor"]),
        # a publisher of another kind: the policy refuses a type that is not its own
        ("politie", "demo-politie", ROLES),
    ],
)
def test_who_may_not_publish_gets_the_apis_refusal(
    browser_for: Any,
    demo_hub: DemoHub,
    http: httpx.Client,
    partner: str,
    user: str,
    roles: list[str],
) -> None:
    content = example(RENT)
    denied_before = len(entries_of(demo_hub, "fact.publish_denied"))
    as_api = As(http, demo_hub.settings, partner, user, roles, PURPOSE)
    refused = as_api.post(
        f"/api/v1/cases/{demo_hub.case_id}/facts",
        json={
            "idempotency_key": f"api-{uuid.uuid4().hex}",
            "type": RENT.id,
            "legal_basis": "convenant_zvh",
            "content": content,
        },
    )
    assert refused.status_code in (403, 404), refused.text
    denied_by_api = len(entries_of(demo_hub, "fact.publish_denied")) - denied_before
    b: Browser = browser_for()
    b.demo_login(partner, user)
    start = b.get("/casussen")  # any page carries this session's CSRF token
    key = f"web-{uuid.uuid4().hex}"
    data: dict[str, Any] = dict(form_values(RENT, content))
    data.update(csrf_token=b.csrf(start), idempotency_key=key, legal_basis="convenant_zvh")
    before = fact_count(demo_hub)
    response = b.post(form_url(demo_hub.case_id, RENT), data)
    assert response.status_code == refused.status_code
    assert "vhhub" in response.text and "<h1" in response.text  # the Dutch error page
    assert fact_count(demo_hub) == before
    assert facts_under(demo_hub, partner, key) == 0
    # the refusal is logged as the API's is
    denied = len(entries_of(demo_hub, "fact.publish_denied")) - denied_before
    assert denied == 2 * denied_by_api


def test_a_forged_form_without_the_csrf_token_changes_nothing(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")
    page = b.get(form_url(demo_hub.case_id, RENT))
    data = filled(page, RENT, example(RENT), b)
    before = fact_count(demo_hub)
    forged = {k: v for k, v in data.items() if k != "csrf_token"}
    assert b.post(form_url(demo_hub.case_id, RENT), forged).status_code == 403
    wrong = {**data, "csrf_token": "x" * 43}
    assert b.post(form_url(demo_hub.case_id, RENT), wrong).status_code == 403
    other_site = b.post(
        form_url(demo_hub.case_id, RENT), data, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert fact_count(demo_hub) == before
    assert facts_under(demo_hub, "woningcorporatie", data["idempotency_key"]) == 0


# --- the form and the API agree ---------------------------------------------------------------


def test_what_the_form_accepts_the_api_accepts_and_what_it_refuses_the_api_refuses(
    browser_for: Any, demo_hub: DemoHub, http: httpx.Client
) -> None:
    nuisance = CATALOG.get("housing.nuisance_complaint/1")
    as_api = api(demo_hub, http, "woningcorporatie")
    b: Browser = browser_for()
    b.demo_login("woningcorporatie", "demo-woningcorporatie")

    def by_api(fact_type: FactType, content: dict[str, Any]) -> int:
        return as_api.post(
            f"/api/v1/cases/{demo_hub.case_id}/facts",
            json={
                "idempotency_key": f"api-{uuid.uuid4().hex}",
                "type": fact_type.id,
                "legal_basis": "convenant_zvh",
                "content": content,
            },
        ).status_code

    def by_form(fact_type: FactType, content: dict[str, Any]) -> int:
        page = b.get(form_url(demo_hub.case_id, fact_type))
        return b.post(
            form_url(demo_hub.case_id, fact_type), filled(page, fact_type, content, b)
        ).status_code

    accepted = example(nuisance)
    accepted["measures_taken"] = ["conversation", "warning_letter"]
    assert by_form(nuisance, accepted) == 303
    assert by_api(nuisance, accepted) == 201

    too_many_months = {**example(RENT), "arrears_months": 121}
    assert by_api(RENT, too_many_months) == 400
    assert by_form(RENT, too_many_months) == 400
    required_missing = {k: v for k, v in example(RENT).items() if k != "arrears_stage"}
    assert by_api(RENT, required_missing) == 400
    assert by_form(RENT, required_missing) == 400
