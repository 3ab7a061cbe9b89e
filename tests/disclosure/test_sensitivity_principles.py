"""What a fact reveals decides its category, not the life domain its publisher files it under
(issue 14, item 5; ADR 0104), through the real HTTP API and the access log:

- a care partner's facts are special-category data (AVG art. 9), a justice partner's are
  criminal-law data (AVG art. 10), whatever their type says and whatever domain they name;
- special-category data reaches partners with neither a care nor a justice task (housing,
  the municipality) as a summary at most, unless the publisher marked it shareable;
- a summary for such a partner holds no diagnosis, offence category or procedural role.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import World, case_in_preparation, example, rows
from tests.support import As, inform_all, ok

pytestmark = pytest.mark.e2e

PARTICIPANT = ["publisher", "participant"]


def invite_and_act(world: World, partner: str, user: str) -> As:
    """Invite `partner` to the case (in preparation) and act as one of its users."""
    ok(world.zvh.post(f"/api/v1/cases/{world.case_id}/participants", json={"partner": partner}))
    return As(world.http, world.settings, partner, user, PARTICIPANT, "preparation")


def move_to(world: World, phase: str, current: str) -> None:
    path = f"/api/v1/cases/{world.case_id}/phase-changes"
    if phase == "case_conference":
        inform_all(world.zvh.with_purpose(current), world.case_id)
    ok(world.zvh.post(path, purpose=current, json={"to": phase}))


def signal(world: World, who: As, label: str, domain: str) -> str:
    content = example("network.involvement_signal.1") | {"domain": domain}
    return world.publish(who, label, "network.involvement_signal/1", content, "convenant_zvh")


def facts_of(world: World, who: As, purpose: str) -> tuple[dict[str, dict[str, Any]], int]:
    """fact id -> the released fact as the viewer got it, and the briefing's log position."""
    briefing = ok(who.get(f"/api/v1/cases/{world.case_id}/briefing", purpose=purpose))
    facts = {fact["id"]: fact for section in briefing["domains"] for fact in section["facts"]}
    return facts, briefing["log_seq"]


def logged_fields(settings: Settings, seq: int) -> dict[str, list[str]]:
    """What the access log says the briefing at `seq` disclosed, per fact id."""
    (disclosed,) = rows(settings, "SELECT disclosed FROM access_log WHERE seq = :seq", seq=seq)[0]
    if isinstance(disclosed, str):  # SQLite hands JSON back as text
        disclosed = json.loads(disclosed)
    loaded: dict[str, list[str]] = disclosed
    return loaded


def test_a_ggz_involvement_signal_on_safety_reaches_police_and_om_as_summary_only(
    hub: RunningHub, initialised: Settings
) -> None:
    with hub.client() as http:
        world = case_in_preparation(http, initialised)
        ggz = invite_and_act(world, "ggz", "behandelaar-1")
        municipality = As(http, initialised, "gemeente-wi", "wi-1", PARTICIPANT, "preparation")
        from_care = signal(world, ggz, "ggz-safety", "safety")
        # the same type on the same domain, from a partner whose facts are ordinary data
        from_municipality = signal(world, municipality, "wi-safety", "safety")
        move_to(world, "case_conference", "preparation")
        om = As(http, initialised, "om", "officier-1", PARTICIPANT, "case_conference")

        for viewer in (world.police.with_purpose("case_conference"), om):
            facts, seq = facts_of(world, viewer, "case_conference")
            care = facts[from_care]
            assert care["level"] == "summary", viewer.partner
            assert care["rule"] == "special_category_withheld"
            assert set(care["fields"]) <= {"since", "domain"}
            assert "contact_point" in care["withheld_fields"]
            assert set(logged_fields(initialised, seq)[from_care]) == set(care["fields"])
            # safety is a police and OM need: the matrix gives the ordinary signal in full
            assert facts[from_municipality]["level"] == "full", viewer.partner
            assert "contact_point" in facts[from_municipality]["fields"]


def test_housing_s_summary_of_a_police_incident_names_no_offence_category_or_role(
    hub: RunningHub, initialised: Settings
) -> None:
    with hub.client() as http:
        world = case_in_preparation(http, initialised)
        social_work = invite_and_act(world, "maatschappelijk-werk", "mw-1")
        incident = world.publish_incident("incident")  # domestic_violence, suspect

        def housing_sees_date_only(purpose: str) -> None:
            facts, seq = facts_of(world, world.housing.with_purpose(purpose), purpose)
            shown = facts[incident]
            assert shown["level"] == "summary", purpose
            assert shown["fields"] == {"incident_date": "2025-03-14"}
            assert {"incident_category", "subject_role"} <= set(shown["withheld_fields"])
            assert "incident_category, subject_role" in shown["reason"]
            text = json.dumps(shown)
            assert "domestic_violence" not in text and "suspect" not in text
            assert logged_fields(initialised, seq)[incident] == ["incident_date"]

        housing_sees_date_only("preparation")  # summaries for every table member
        move_to(world, "case_conference", "preparation")
        housing_sees_date_only("case_conference")  # criminal data: summary at most

        # the municipality has no care or justice task either
        municipality = As(http, initialised, "gemeente-wi", "wi-1", ["participant"], "plan")
        facts, _ = facts_of(world, municipality, "case_conference")
        assert set(facts[incident]["fields"]) == {"incident_date"}

        # social work has a care task: its summary keeps what it needs for the family
        facts, _ = facts_of(world, social_work, "case_conference")
        assert facts[incident]["level"] == "summary"
        assert facts[incident]["fields"] == {
            "incident_date": "2025-03-14",
            "incident_category": "domestic_violence",
            "subject_role": "suspect",
        }


def test_a_veilig_thuis_report_reaches_housing_as_summary_in_the_plan_phase(
    hub: RunningHub, initialised: Settings
) -> None:
    with hub.client() as http:
        world = case_in_preparation(http, initialised)
        veilig_thuis = invite_and_act(world, "veilig-thuis", "vt-1")
        report = example("veilig_thuis.report.1")
        held = world.publish(veilig_thuis, "vt", "veilig_thuis.report/1", report, "wmo_5_2_6")
        body = {
            "idempotency_key": "vt-shared",
            "type": "veilig_thuis.report/1",
            "subject_id": world.subject_id,
            "legal_basis": "wmo_5_2_6",
            "shareable": True,
            "content": report,
        }
        path = f"/api/v1/cases/{world.case_id}/facts"
        shared = ok(veilig_thuis.post(path, json=body), 201)["facts"][0]["id"]
        move_to(world, "case_conference", "preparation")
        move_to(world, "plan", "case_conference")

        facts, seq = facts_of(world, world.housing.with_purpose("plan"), "plan")
        shown = facts[held]
        assert shown["level"] == "summary"
        assert shown["rule"] == "special_category_outside_care_and_justice"
        assert shown["fields"] == {
            "report_date": "2025-03-15",
            "risk_assessment": "structurally_unsafe",
        }
        assert "partner_violence" not in json.dumps(shown)
        assert sorted(logged_fields(initialised, seq)[held]) == ["report_date", "risk_assessment"]
        # the publisher's own release still works: a shareable report reaches housing in full
        assert facts[shared]["level"] == "full"
        assert facts[shared]["fields"]["report_type"] == "partner_violence"
