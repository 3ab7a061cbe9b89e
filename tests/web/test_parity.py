"""Every page shows each persona exactly what the API gives that viewer, and nothing more.

For every persona of `vhhub demo`, the caseload page lists the cases the API's caseload lists,
and for every case and every purpose the case page shows the same facts at the same levels
with the same field values, the same withheld fields and identity, and the same "partner X
has information on domain Y" notes as the API's case read and briefing; a page the API
refuses is refused with the same status. Then the converse: no value of any fact the demo
published appears on a page unless the API released it to that viewer for that purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hub.audit.models import LogEntry
from hub.demo.personas import PERSONAS
from hub.demo.scenario import FACTS, SUBJECTS
from hub.labels import CASE_PURPOSES
from hub.vocabulary import CaseKind, LifeDomain, PartnerKind, Phase, Purpose, Role, TableId
from hub.web.core import show_value
from tests.support import As
from tests.web.conftest import Browser, DemoHub

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


class PageFacts(HTMLParser):
    """What a case page shows, read from its markup (data-* attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[str, dict[str, Any]] = {}
        self.existence: set[str] = set()
        self.subjects: set[str] = set()
        self._fact: str | None = None
        self._field: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-fact-id" in a:
            self._fact = a["data-fact-id"]
            self.facts[self._fact or ""] = {"level": a.get("data-level"), "fields": {}}
        if "data-field" in a and self._fact:
            self._field = a["data-field"]
            self._text = []
        if "data-existence" in a:
            self.existence.add(a["data-existence"] or "")
        if "data-subject-id" in a:
            self.subjects.add(a["data-subject-id"] or "")

    def handle_data(self, data: str) -> None:
        if self._field is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "dd" and self._field is not None and self._fact is not None:
            self.facts[self._fact]["fields"][self._field] = "".join(self._text)
            self._field = None
        if tag == "article":
            self._fact = None


def _read(html: str) -> PageFacts:
    parser = PageFacts()
    parser.feed(html)
    return parser


def _secret_strings() -> set[str]:
    """Every string a demo fact or subject holds that is long enough to be recognisable."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str) and len(value) >= 8:
            found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for _, fact_type, _, _ in FACTS:
        walk(json.loads((EXAMPLES / f"{fact_type.replace('/', '.')}.json").read_text()))
    for subject in SUBJECTS:
        walk({k: v for k, v in subject.items() if k != "role_in_case"})
    # the hub's own codes (a table's id in a filter) are no content of a fact
    codes = {
        str(c)
        for vocabulary in (TableId, Phase, LifeDomain, CaseKind, PartnerKind, Role, Purpose)
        for c in vocabulary
    }
    return found - codes


def _api_strings(*answers: Any) -> set[str]:
    """Every string in the API's answers (what the viewer was given)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                found.add(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for answer in answers:
        walk(answer)
    return found


def _field_titles() -> list[str]:
    """The Dutch labels of every fact field (the schemas' titles), longest first."""
    titles: set[str] = set()

    def walk(schema: object) -> None:
        if isinstance(schema, dict):
            title = schema.get("title")
            if isinstance(title, str):
                titles.add(title)
            for v in schema.values():
                walk(v)
        elif isinstance(schema, list):
            for v in schema:
                walk(v)

    for path in EXAMPLES.parent.glob("*.json"):
        walk(json.loads(path.read_text()))
    return sorted(titles, key=len, reverse=True)


TITLES = re.compile("|".join(re.escape(escape(t)) for t in _field_titles()), re.IGNORECASE)


def _shows(html: str, value: str) -> bool:
    """Whether a page shows a value as a whole word (escaped as the template escapes it), not
    as part of a longer one (`contact_ban` inside the field name `contact_ban_details`)."""
    needle = re.escape(escape(value))
    # a label names a field ("Contactpunt toezichthouder"), it shows no value of it
    text = TITLES.sub(" ", html)
    return re.search(rf"(?<![\w]){needle}(?![\w])", text) is not None


def _log_size(hub: DemoHub) -> int:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(LogEntry)) or 0)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def api(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url + "/api/v1", timeout=30) as client:
        yield client


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: f"{p.partner}:{p.user}")
def test_every_page_shows_what_the_api_gives_that_viewer(
    persona: Any, demo_hub: DemoHub, api: httpx.Client, browser_for: Any
) -> None:
    b: Browser = browser_for()
    b.demo_login(persona.partner, persona.user)
    as_ = As(api, demo_hub.settings, persona.partner, persona.user, list(persona.roles), "")
    secrets = _secret_strings()

    caseload_api = as_.get("/caseload", purpose="case_management").json()
    page = b.get("/casussen")
    assert page.status_code == 200
    listed = {c["id"] for c in caseload_api["cases"]}
    for case_id in listed:
        assert f"/casussen/{case_id}?doel=" in page.text
    # the caseload is an overview: no fact content, whatever the persona may read elsewhere
    assert not [s for s in secrets - _api_strings(caseload_api) if _shows(page.text, s)]

    for purpose in CASE_PURPOSES:
        case_api = as_.get(f"/cases/{demo_hub.case_id}", purpose=purpose)
        briefing_api = as_.get(f"/cases/{demo_hub.case_id}/briefing", purpose=purpose)
        before = _log_size(demo_hub)
        page = b.get(f"/casussen/{demo_hub.case_id}?doel={purpose}")
        if case_api.status_code != 200:
            assert page.status_code == case_api.status_code, (purpose, page.status_code)
            assert not [s for s in secrets if _shows(page.text, s)]
            continue
        assert page.status_code == briefing_api.status_code == 200, purpose
        # one page view is the case read and the briefing read, as the two API calls are
        assert _log_size(demo_hub) - before == 2
        shown = _read(page.text)
        case = case_api.json()
        briefing = briefing_api.json()
        assert shown.subjects == {s["id"] for s in case["subjects"]}
        api_facts = {f["id"]: f for d in briefing["domains"] for f in d["facts"]}
        assert set(shown.facts) == set(api_facts), purpose
        for fact_id, fact in api_facts.items():
            assert shown.facts[fact_id]["level"] == fact["level"]
            assert shown.facts[fact_id]["fields"] == {
                k: show_value(v) for k, v in fact["fields"].items()
            }
        assert shown.existence == {
            f"{n['publisher_kind']}:{n['life_domain']}"
            for d in briefing["domains"]
            for n in d["existence"]
        }
        for subject in case["subjects"]:
            for withheld in subject["withheld"]:
                assert subject.get(withheld) is None
        # and nothing more: no demo value the API did not release shows on the page
        leaked = [s for s in secrets - _api_strings(case, briefing) if _shows(page.text, s)]
        assert not leaked, (purpose, leaked[:3])


# -- every other page of a case: nothing beyond what the API gives the same viewer ----------

SINCE = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def demo_texts(demo_hub: DemoHub, api: httpx.Client) -> set[str]:
    """Every text of the demo's plan and minutes, as their writers read them: with the
    facts' and subjects' values, what no page may show a viewer the API does not give it."""
    writer = As(
        api,
        demo_hub.settings,
        "gemeente-wi",
        "demo-gemeente-wi",
        ["publisher", "participant", "casusregisseur"],
        "execution",
    )
    plan = writer.get(f"/cases/{demo_hub.case_id}/plan").json()
    texts = {s for s in _api_strings(plan) if isinstance(s, str) and len(s) >= 12 and " " in s}
    for meeting in writer.get("/meetings", params={"since": SINCE}).json():
        for item in meeting["items"]:
            minutes = writer.get(f"/meetings/{meeting['id']}/items/{item['id']}/minutes")
            texts |= {s for s in _api_strings(minutes.json()) if len(s) >= 12 and " " in s}
    return texts | _secret_strings()


def _pages(case_id: str, meetings: list[str]) -> list[tuple[str, str | None]]:
    """Each page with the API path that reads the same (None: a composite page)."""
    pages: list[tuple[str, str | None]] = [
        (f"/casussen/{case_id}/plan?doel=execution", f"/cases/{case_id}/plan"),
        (f"/casussen/{case_id}/regie?doel=execution", f"/cases/{case_id}"),
        (f"/casussen/{case_id}/publiceren?doel=execution", f"/cases/{case_id}"),
        ("/overleggen", None),
    ]
    pages += [(f"/overleggen/{m}?doel=execution", f"/meetings/{m}") for m in meetings]
    return pages


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: f"{p.partner}:{p.user}")
def test_no_page_of_a_case_shows_what_the_api_withholds_from_that_viewer(
    persona: Any,
    demo_hub: DemoHub,
    api: httpx.Client,
    browser_for: Any,
    demo_texts: set[str],
) -> None:
    b: Browser = browser_for()
    b.demo_login(persona.partner, persona.user)
    as_ = As(api, demo_hub.settings, persona.partner, persona.user, list(persona.roles), "")
    # everything the API gives this viewer, for any purpose, about the demo case
    given: set[str] = set()
    for purpose in CASE_PURPOSES:
        for path in (f"/cases/{demo_hub.case_id}", f"/cases/{demo_hub.case_id}/briefing"):
            answer = as_.get(path, purpose=purpose)
            if answer.status_code == 200:
                given |= _api_strings(answer.json())
        plan = as_.get(f"/cases/{demo_hub.case_id}/plan", purpose=purpose)
        if plan.status_code == 200:
            given |= _api_strings(plan.json())
    meetings = as_.get("/meetings", params={"since": SINCE}, purpose="case_conference")
    listed = meetings.json() if meetings.status_code == 200 else []
    for meeting in listed:
        given |= _api_strings(meeting)
        for item in meeting["items"]:
            for purpose in ("case_conference", "plan", "execution"):
                minutes = as_.get(
                    f"/meetings/{meeting['id']}/items/{item['id']}/minutes", purpose=purpose
                )
                if minutes.status_code == 200:
                    given |= _api_strings(minutes.json())
    withheld = demo_texts - given
    for page_path, api_path in _pages(demo_hub.case_id, [m["id"] for m in listed]):
        page = b.get(page_path)
        if api_path is not None:
            purpose = "case_conference" if api_path.startswith("/meetings") else "execution"
            answer = as_.get(api_path, purpose=purpose)
            # the page refuses what the API refuses (a page may refuse more: a form it
            # cannot offer), and shows nothing then
            if answer.status_code != 200:
                assert page.status_code == answer.status_code, (page_path, page.status_code)
        leaked = [s for s in withheld if _shows(page.text, s)]
        assert not leaked, (page_path, leaked[:3])
