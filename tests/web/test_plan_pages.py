"""The analysis and plan of approach in the web application, as its users rely on it: each
person sees exactly what the API's plan read gives them (never a withheld part's text), the
casusregisseur edits the plan, concurrent edits end in a conflict screen and never in a silent
overwrite, owners report progress, and nothing changes without a valid form and the right."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hub.audit.models import LogEntry
from hub.demo.personas import PERSONAS
from tests.support import As, ok
from tests.web.conftest import Browser, DemoHub

PURPOSE = "execution"
REGISSEUR = ("gemeente-wi", "demo-gemeente-wi")


@pytest.fixture(scope="module")
def api(demo_hub: DemoHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_hub.base_url, timeout=30) as client:
        yield client


def _as(api: httpx.Client, hub: DemoHub, partner: str, user: str) -> As:
    persona = next(p for p in PERSONAS if (p.partner, p.user) == (partner, user))
    return As(api, hub.settings, partner, user, [r.value for r in persona.roles], PURPOSE)


def _plan(api: httpx.Client, hub: DemoHub, who: tuple[str, str] = REGISSEUR) -> dict[str, Any]:
    plan: dict[str, Any] = ok(_as(api, hub, *who).get(f"/api/v1/cases/{hub.case_id}/plan"))
    return plan


def _login(browser_for: Any, partner: str, user: str) -> Browser:
    b: Browser = browser_for()
    b.demo_login(partner, user)
    return b


class _FormReader(HTMLParser):
    """The fields of the form whose action contains `action`, as a browser would post them."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action in a.get("action", ""):
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in {"checkbox", "radio"}:
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self._first_option = None
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
                self.fields.setdefault(self._select, self._first_option)
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
            self.action = "\0"  # only the first matching form
        elif tag == "textarea" and self._textarea is not None:
            value = self.fields[self._textarea]
            self.fields[self._textarea] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def _form(page: httpx.Response, action: str) -> dict[str, str]:
    reader = _FormReader(action)
    reader.feed(page.text)
    assert reader.fields, f"no form {action} on the page"
    return reader.fields


def _row(form: dict[str, str], section: str, identifier: str) -> str:
    """The input prefix of the goal or intervention row with this id (e.g. interventions-2)."""
    for name, value in form.items():
        match = re.fullmatch(rf"({section}-\d+)-id", name)
        if match and value == identifier:
            return match.group(1)
    raise AssertionError(f"no {section} row {identifier}")


def _part_texts(part: dict[str, Any]) -> list[str]:
    return [part[k] for k in ("assessment", "text", "note") if part.get(k)]


def _parts(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every text-bearing part of a plan read, by a stable key."""
    out: list[tuple[str, dict[str, Any]]] = [("risk", plan["risk"])]
    out += [(f"analysis/{a['life_domain']}", a) for a in plan["analysis"]]
    out += [(f"goal/{g['id']}", g) for g in plan["goals"]]
    for i in plan["interventions"]:
        out.append((f"intervention/{i['id']}", i))
        out += [(f"note/{n['id']}", n) for n in i["monitoring"]]
    return out


def test_the_plan_page_shows_each_persona_what_the_api_gives_them(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    everything = dict(_parts(_plan(api, demo_hub)))
    assert all(p["released"] for p in everything.values())  # the casusregisseur reads it all
    withheld_somewhere = False
    for persona in PERSONAS:
        who = _as(api, demo_hub, persona.partner, persona.user)
        answer = who.get(f"/api/v1/cases/{demo_hub.case_id}/plan")
        b = _login(browser_for, persona.partner, persona.user)
        page = b.get(f"/casussen/{demo_hub.case_id}/plan?doel={PURPOSE}")
        assert page.status_code == answer.status_code, persona
        if answer.status_code != 200:
            for text in (t for p in everything.values() for t in _part_texts(p)):
                assert html.escape(text) not in page.text
            continue
        plan = answer.json()
        body = page.text
        assert "Doel: uitvoering van het plan van aanpak" in body
        assert f"Versie {plan['version']}" in body
        for intervention in plan["interventions"]:
            article = body.split(f'id="interventie-{intervention["id"]}"', 1)[1].split(
                "</article>", 1
            )[0]
            assert html.escape(intervention["text"]) in article
            assert f'data-owner="{intervention["owner"]}"' in article
            assert f'data-status="{intervention["status"]}"' in article
        for key, part in _parts(plan):
            if part["released"]:
                for text in _part_texts(part):
                    assert html.escape(text) in body, (persona, key)
            else:
                withheld_somewhere = True
                assert "niet gedeeld" in body
                for text in _part_texts(everything[key]):
                    assert html.escape(text) not in body, (persona, key)
    assert withheld_somewhere  # the demo's matrix withholds some text from someone


def test_the_casusregisseur_edits_the_plan_and_the_api_returns_the_new_version(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    before = _plan(api, demo_hub)
    b = _login(browser_for, *REGISSEUR)
    editor = b.get(f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}")
    assert editor.status_code == 200
    form = _form(editor, "/plan/bewerken")
    assert form["based_on_revision"] == str(before["revision"])
    row = _row(form, "interventions", "i1")
    form[f"{row}-text"] = "Schuldhulp met budgetbeheer (regie bij W&I)"
    saved = b.post(f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}", form)
    assert saved.status_code == 303, saved.text[:2000]
    after = _plan(api, demo_hub)
    assert saved.headers["location"].endswith(f"opgeslagen={after['version']}")
    assert after["version"] == before["version"] + 1
    changed = {i["id"]: i for i in after["interventions"]}
    assert changed["i1"]["text"] == "Schuldhulp met budgetbeheer (regie bij W&I)"
    # everything else came through as it was
    old = {i["id"]: i for i in before["interventions"]}
    for iid, item in old.items():
        for key in ("owner", "deadline", "status", "goal_id", "life_domain"):
            assert changed[iid][key] == item[key], (iid, key)
    assert [g["text"] for g in after["goals"]] == [g["text"] for g in before["goals"]]
    assert {a["life_domain"]: a["assessment"] for a in after["analysis"]} == {
        a["life_domain"]: a["assessment"] for a in before["analysis"]
    }
    page = b.get(saved.headers["location"])
    assert f"Versie {after['version']} van het plan is opgeslagen" in page.text
    assert "Schuldhulp met budgetbeheer (regie bij W&amp;I)" in page.text


def test_concurrent_edits_end_in_a_conflict_screen_and_nothing_is_overwritten(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    path = f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}"
    first, second = _login(browser_for, *REGISSEUR), _login(browser_for, *REGISSEUR)
    start = _plan(api, demo_hub)
    form_1 = _form(first.get(path), "/plan/bewerken")
    form_2 = _form(second.get(path), "/plan/bewerken")
    assert form_1["based_on_revision"] == form_2["based_on_revision"]

    form_1[f"{_row(form_1, 'goals', 'g1')}-text"] = "Ontruiming voorkomen en huur betalen"
    assert first.post(path, form_1).status_code == 303
    saved = _plan(api, demo_hub)
    assert saved["version"] == start["version"] + 1

    form_2[f"{_row(form_2, 'interventions', 'i4')}-text"] = "Gezinsbegeleiding twee keer per week"
    conflict = second.post(path, form_2)
    assert conflict.status_code == 409
    body = conflict.text
    assert "Uw versie" in body and "De nieuwste versie" in body
    assert f"U werkte op versie {start['version']}" in body
    assert f"Intussen is versie {saved['version']} opgeslagen door" in body
    assert "Gezinsbegeleiding twee keer per week" in body  # what was typed is kept
    assert "Ontruiming voorkomen en huur betalen" in body  # and the newest version shown
    assert "weggooien" in body
    # nothing was silently overwritten
    now = _plan(api, demo_hub)
    assert now["version"] == saved["version"]
    assert now["revision"] == saved["revision"]
    by_id = {i["id"]: i["text"] for i in now["interventions"]}
    assert by_id["i4"] == "Gezinsbegeleiding thuis"

    # re-apply: the form is the newest version with the second person's edit on top
    again = _form(conflict, "/plan/bewerken")
    assert again["based_on_revision"] == str(saved["revision"])
    assert again[f"{_row(again, 'goals', 'g1')}-text"] == "Ontruiming voorkomen en huur betalen"
    assert (
        again[f"{_row(again, 'interventions', 'i4')}-text"]
        == "Gezinsbegeleiding twee keer per week"
    )
    assert second.post(path, again).status_code == 303
    final = _plan(api, demo_hub)
    assert final["version"] == saved["version"] + 1
    assert {g["id"]: g["text"] for g in final["goals"]}["g1"] == (
        "Ontruiming voorkomen en huur betalen"
    )
    assert {i["id"]: i["text"] for i in final["interventions"]}["i4"] == (
        "Gezinsbegeleiding twee keer per week"
    )


def test_a_stale_form_does_not_overwrite_an_owners_status_report(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    regisseur = _login(browser_for, *REGISSEUR)
    path = f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}"
    form = _form(regisseur.get(path), "/plan/bewerken")
    owner = _as(api, demo_hub, "maatschappelijk-werk", "demo-maatschappelijk-werk")
    ok(
        owner.post(
            f"/api/v1/cases/{demo_hub.case_id}/plan/interventions/i4/status-changes",
            json={"status": "in_progress", "note": "Eerste huisbezoek gedaan."},
        ),
        201,
    )
    form[f"{_row(form, 'goals', 'g2')}-text"] = "Geen nieuwe overlast"
    conflict = regisseur.post(path, form)
    assert conflict.status_code == 409
    assert "voortgangsmelding vastgelegd door" in conflict.text
    again = _form(conflict, "/plan/bewerken")
    # the untouched status takes the owner's report, the edit is kept
    assert again[f"{_row(again, 'interventions', 'i4')}-status"] == "in_progress"
    assert again[f"{_row(again, 'goals', 'g2')}-text"] == "Geen nieuwe overlast"


def test_an_owner_records_a_status_change_and_a_stop_needs_a_note(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    b = _login(browser_for, "woningcorporatie", "demo-woningcorporatie")
    page = b.get(f"/casussen/{demo_hub.case_id}/plan?doel={PURPOSE}")
    assert page.status_code == 200
    assert "/plan/interventies/i2/status" in page.text  # its own intervention
    assert "/plan/interventies/i1/status" not in page.text  # not another partner's
    action = f"/casussen/{demo_hub.case_id}/plan/interventies/i2/status?doel={PURPOSE}"
    before = _plan(api, demo_hub)

    refused = b.post(action, {"csrf_token": b.csrf(page), "status-i2": "stopped", "note-i2": ""})
    assert refused.status_code == 400
    assert "Schrijf in de notitie waarom de interventie is gestopt" in refused.text
    assert _plan(api, demo_hub)["revision"] == before["revision"]

    done = b.post(
        action,
        {"csrf_token": b.csrf(page), "status-i2": "done", "note-i2": "Regeling nagekomen."},
    )
    assert done.status_code == 303
    after = _plan(api, demo_hub, ("woningcorporatie", "demo-woningcorporatie"))
    i2 = next(i for i in after["interventions"] if i["id"] == "i2")
    assert i2["status"] == "done"
    assert i2["monitoring"][-1]["note"] == "Regeling nagekomen."
    recorded = _log(demo_hub, "plan.record", "woningcorporatie")[-1]
    assert recorded.actor_user == "demo-woningcorporatie"
    assert recorded.reason.startswith("monitoring note on plan version")
    shown = b.get(done.headers["location"].split("#")[0])
    assert "Regeling nagekomen." in shown.text
    assert "De nieuwe status van interventie i2 is vastgelegd" in shown.text


def test_a_participant_that_may_not_edit_gets_the_apis_refusal(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    regisseur = _login(browser_for, *REGISSEUR)
    path = f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}"
    form = _form(regisseur.get(path), "/plan/bewerken")
    before = _plan(api, demo_hub)

    police = _login(browser_for, "politie", "demo-politie")
    editor = police.get(path)
    assert editor.status_code == 200
    assert 'name="based_on_revision"' not in editor.text  # no form to fill in
    form["csrf_token"] = police.csrf(editor)
    answer = police.post(path, form)
    body = {
        "based_on_revision": before["revision"],
        "risk": {"level": "high", "assessment": "x", "life_domain": "housing"},
    }
    api_answer = _as(api, demo_hub, "politie", "demo-politie").put(
        f"/api/v1/cases/{demo_hub.case_id}/plan", json=body
    )
    assert api_answer.status_code in {403, 404}
    assert answer.status_code == api_answer.status_code
    assert _plan(api, demo_hub)["revision"] == before["revision"]


def test_a_post_without_or_with_a_forged_csrf_token_changes_nothing(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    b = _login(browser_for, *REGISSEUR)
    path = f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}"
    form = _form(b.get(path), "/plan/bewerken")
    form[f"{_row(form, 'goals', 'g1')}-text"] = "Door een aanvaller"
    before = _plan(api, demo_hub)
    missing = {k: v for k, v in form.items() if k != "csrf_token"}
    assert b.post(path, missing).status_code == 403
    assert b.post(path, {**form, "csrf_token": "x" * 43}).status_code == 403
    status = b.post(
        f"/casussen/{demo_hub.case_id}/plan/interventies/i1/status?doel={PURPOSE}",
        {"status-i1": "stopped", "note-i1": "Door een aanvaller"},
    )
    assert status.status_code == 403
    after = _plan(api, demo_hub)
    assert after["revision"] == before["revision"]
    assert "Door een aanvaller" not in str(after)


def test_invalid_input_is_answered_in_dutch_at_the_field_and_stores_nothing(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    b = _login(browser_for, *REGISSEUR)
    path = f"/casussen/{demo_hub.case_id}/plan/bewerken?doel={PURPOSE}"
    form = _form(b.get(path), "/plan/bewerken")
    row = _row(form, "interventions", "i1")
    form[f"{row}-deadline"] = "morgen"
    form[f"{row}-text"] = "Getypt en bewaard"
    before = _plan(api, demo_hub)
    answer = b.post(path, form)
    assert answer.status_code == 400
    assert 'id="error-summary"' in answer.text
    assert "Vul een termijn in als datum" in answer.text
    assert f'href="#field-{row}-deadline"' in answer.text
    assert "Getypt en bewaard" in answer.text
    assert _plan(api, demo_hub)["revision"] == before["revision"]


def test_an_outsider_gets_the_same_answer_as_for_an_unknown_case(
    browser_for: Any, demo_hub: DemoHub, api: httpx.Client
) -> None:
    unknown_id = "00000000-0000-0000-0000-000000000000"
    b = _login(browser_for, "zvh", "auditor-1")
    real = b.get(f"/casussen/{demo_hub.case_id}/plan?doel={PURPOSE}")
    unknown = b.get(f"/casussen/{unknown_id}/plan?doel={PURPOSE}")
    assert real.status_code == unknown.status_code == 404
    api_answer = _as(api, demo_hub, "zvh", "auditor-1").get(
        f"/api/v1/cases/{demo_hub.case_id}/plan"
    )
    assert api_answer.status_code == 404
    token = b.csrf(b.get("/casussen"))
    for case_id in (demo_hub.case_id, unknown_id):
        answer = b.post(
            f"/casussen/{case_id}/plan/interventies/i1/status?doel={PURPOSE}",
            {"csrf_token": token, "status-i1": "done", "note-i1": "x"},
        )
        assert answer.status_code == 404


def test_without_a_stated_purpose_the_plan_is_read_for_the_phase_purpose(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b = _login(browser_for, "woningcorporatie", "demo-woningcorporatie")
    page = b.get(f"/casussen/{demo_hub.case_id}/plan")
    assert page.status_code == 200
    assert "Doel: uitvoering van het plan van aanpak" in page.text
    assert b.get(f"/casussen/{demo_hub.case_id}/plan?doel=onzin").status_code == 400


def _log(hub: DemoHub, action: str, partner: str) -> list[LogEntry]:
    engine = create_engine(hub.settings.effective_database_url)
    try:
        with Session(engine) as s:
            query = select(LogEntry).where(
                LogEntry.action == action, LogEntry.actor_partner == partner
            )
            return list(s.scalars(query.order_by(LogEntry.seq)))
    finally:
        engine.dispose()


def test_the_log_holds_each_read_and_write_as_the_api_would_log_it(
    browser_for: Any, demo_hub: DemoHub
) -> None:
    b = _login(browser_for, "ggz", "demo-ggz")
    reads = len(_log(demo_hub, "plan.read", "ggz"))
    assert b.get(f"/casussen/{demo_hub.case_id}/plan?doel={PURPOSE}").status_code == 200
    entries = _log(demo_hub, "plan.read", "ggz")
    assert len(entries) == reads + 1
    assert entries[-1].actor_user == "demo-ggz"
    assert entries[-1].purpose == PURPOSE
    assert entries[-1].reason.startswith("plan version ")
