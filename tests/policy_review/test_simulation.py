"""Simulation over real HTTP: what a described viewer would see and why; on a real case the
decisions and field names only, never content, and never through the vault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.rego.bundle import policy_version
from tests.conftest import RunningHub
from tests.e2e.test_role_play import EXAMPLES, FACTS, briefing_facts, run_scenario
from tests.policy_review.conftest import (
    POLICIES,
    bundle_of,
    log_entries,
    officer,
    policy_copy,
    set_cell,
    upload,
)
from tests.support import As, ok

SHIPPED = policy_version(POLICIES)


def simulate(actor: As, body: dict[str, Any]) -> httpx.Response:
    return actor.post("/api/v1/policies/simulations", json=body)


def test_special_category_data_reaches_police_as_summary_unless_marked_shareable(
    hub: RunningHub, http: httpx.Client
) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    body = {
        "viewer": {"partner_kind": "police", "roles": ["participant"]},
        "table": "domestic_violence",
        "phase": "case_conference",
        "facts": [
            {"type": "veilig_thuis.report/1"},
            {"type": "veilig_thuis.report/1", "shareable": True},
        ],
    }
    result = ok(simulate(fg, body))
    assert result["version"] == SHIPPED and result["purpose"] == "case_conference"
    capped, shared = result["facts"]
    assert (capped["level"], capped["rule"]) == ("summary", "special_category_withheld")
    assert "AVG art. 9" in capped["source"] and capped["rule_title"]
    assert (shared["level"], shared["rule"]) == ("full", "matrix_grant")
    # field names only; never-shared fields stay withheld even at full
    assert set(shared["never_shared"]) <= set(shared["withheld_fields"])
    assert not set(shared["never_shared"]) & set(shared["released_fields"])
    assert len(shared["released_fields"]) > len(capped["released_fields"])
    assert result["levels"] == {"summary": 1, "full": 1}
    (entry,) = log_entries(hub.settings, "policy.simulate")
    assert entry.outcome == "allowed" and entry.case_id is None
    assert entry.policy_version == SHIPPED


def test_every_catalog_type_is_simulated_when_none_is_named(
    hub: RunningHub, http: httpx.Client
) -> None:
    fg = officer(http, hub.settings, "fg-ggz")
    body = {
        "viewer": {"partner_kind": "housing", "roles": ["participant"], "invited": False},
        "table": "multi_problem",
        "phase": "case_conference",
    }
    result = ok(simulate(fg, body))
    assert len({f["type"] for f in result["facts"]}) == 19
    assert {f["level"] for f in result["facts"]} == {"none"}
    assert {f["rule"] for f in result["facts"]} == {"not_a_participant"}


def test_a_version_not_yet_active_can_be_simulated(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    changed = policy_copy(tmp_path)
    set_cell(changed, "youth", "housing", "execution", "execution", "summary_all")
    fg = officer(http, hub.settings, "fg-gemeente")
    version = ok(upload(fg, bundle_of(changed)), 201)["version"]
    body = {
        "viewer": {"partner": "woningcorporatie", "roles": ["participant"]},
        "table": "youth",
        "phase": "execution",
        "fact_types": ["housing.eviction/1"],
        "publisher_kind": "municipality",
    }
    now = ok(simulate(fg, body))
    later = ok(simulate(fg, {**body, "version": version[:16]}))
    now, later = {**now, **now["facts"][0]}, {**later, **later["facts"][0]}
    assert (now["version"], later["version"]) == (SHIPPED, version)
    assert (now["level"], now["released_fields"]) == ("existence", [])
    assert later["level"] == "summary" and later["released_fields"]


def test_bad_simulations_are_refused_with_problem_details(
    hub: RunningHub, http: httpx.Client
) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    base = {"viewer": {"partner_kind": "police", "roles": ["participant"]}, "table": "youth"}
    assert simulate(fg, base).status_code == 400  # no phase
    unknown = simulate(fg, {**base, "phase": "plan", "fact_types": ["police.unknown/9"]})
    assert unknown.status_code == 400 and unknown.json()["type"].endswith("/unknown-fact-type")
    stranger = simulate(
        fg, {**base, "phase": "plan", "viewer": {"partner": "nobody", "roles": ["participant"]}}
    )
    assert stranger.status_code == 400
    participant = As(http, hub.settings, "politie", "agent", ["participant"], "policy_review")
    assert simulate(participant, {**base, "phase": "plan"}).status_code == 403


@pytest.fixture
def played(hub: RunningHub) -> dict[str, Any]:
    return run_scenario(hub)


def _content_strings() -> set[str]:
    """Free-text and number values of the example facts: none may appear in an answer."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and (" " in value or any(c.isdigit() for c in value)):
            found.add(value)

    for _, type_id in FACTS.values():
        walk(json.loads((EXAMPLES / f"{type_id.replace('/', '.')}.json").read_text()))
    return found


def test_a_case_simulation_shows_decisions_and_field_names_never_content(
    hub: RunningHub, http: httpx.Client, played: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoVault:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"a simulation touched the vault ({name})")

    ctx = hub.context
    monkeypatch.setattr(ctx, "vault", NoVault())
    fg = officer(http, hub.settings, "fg-gemeente")
    response = simulate(
        fg,
        {
            "viewer": {"partner": "woningcorporatie", "roles": ["publisher", "participant"]},
            "case_id": played["case"],
        },
    )
    result = ok(response)
    assert result["case_id"] == played["case"] and result["phase"] == "case_conference"
    # the same decisions the real briefing got, per fact id
    briefing = briefing_facts(played["conference"]["woningcorporatie"])
    simulated = {f["id"]: f for f in result["facts"]}
    assert set(simulated) == set(played["ids"].values())
    for fact_id, fact in briefing.items():
        assert simulated[fact_id]["level"] == fact["level"]
        assert set(simulated[fact_id]["released_fields"]) >= set(fact["fields"])
        assert simulated[fact_id]["type"] == fact["type"]
        assert simulated[fact_id]["domain"] == fact["life_domain"]
    own = {
        played["ids"][k] for k, (publisher, _) in FACTS.items() if publisher == "woningcorporatie"
    }
    assert {i for i, f in simulated.items() if f["published_by_viewer"]} == own
    for value in _content_strings():
        assert value not in response.text, "a simulation never shows content"

    (entry,) = log_entries(hub.settings, "policy.simulate")
    assert entry.case_id == played["case"] and entry.subject_pseudonyms
    assert set(entry.object_ids) == {SHIPPED, *played["ids"].values()}
    assert entry.disclosed == {}


def test_a_case_simulation_stands_a_described_viewer_in_the_real_case(
    hub: RunningHub, http: httpx.Client, played: dict[str, Any]
) -> None:
    fg = officer(http, hub.settings, "fg-politie")
    outsider = ok(
        simulate(
            fg,
            {
                "viewer": {
                    "partner_kind": "mental_health",
                    "roles": ["participant"],
                    "invited": False,
                },
                "case_id": played["case"],
            },
        )
    )
    assert {f["level"] for f in outsider["facts"]} == {"none"}
    invited = ok(
        simulate(
            fg,
            {
                "viewer": {"partner_kind": "mental_health", "roles": ["participant"]},
                "case_id": played["case"],
                "phase": "preparation",
            },
        )
    )
    assert invited["phase"] == "preparation" and invited["purpose"] == "preparation"
    assert {f["level"] for f in invited["facts"]} == {"summary"}


def test_a_case_simulation_needs_the_purpose_policy_review(
    hub: RunningHub, http: httpx.Client, played: dict[str, Any]
) -> None:
    fg = officer(http, hub.settings, "fg-gemeente").with_purpose("case_conference")
    body = {
        "viewer": {"partner_kind": "police", "roles": ["participant"]},
        "case_id": played["case"],
    }
    assert simulate(fg, body).status_code == 403
    missing = simulate(
        officer(http, hub.settings, "fg-gemeente"),
        {**body, "case_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert missing.status_code == 404
    assert all(e.case_id != played["case"] for e in log_entries(hub.settings, "policy.simulate"))


def test_an_outside_partners_privacy_officer_learns_nothing_of_a_case(
    hub: RunningHub, http: httpx.Client, played: dict[str, Any]
) -> None:
    """GGZ takes no part in the played case: its privacy officer gets exactly what an unknown
    case id gets (404, same body), and the refusal is logged with the case it was about."""
    fg_ggz = officer(http, hub.settings, "fg-ggz")
    body = {"viewer": {"partner": "woningcorporatie", "roles": ["participant"]}}
    real = simulate(fg_ggz, {**body, "case_id": played["case"]})
    unknown = simulate(fg_ggz, {**body, "case_id": "00000000-0000-0000-0000-000000000000"})
    assert real.status_code == unknown.status_code == 404
    assert real.headers["content-type"] == unknown.headers["content-type"]
    assert {k: v for k, v in real.json().items() if k != "instance"} == {
        k: v for k, v in unknown.json().items() if k != "instance"
    }
    for fact_id in played["ids"].values():
        assert fact_id not in real.text
    assert not [
        e for e in log_entries(hub.settings, "policy.simulate") if e.case_id == played["case"]
    ]
    # both are logged; the auditor sees which one was about the case
    denied = [e for e in log_entries(hub.settings, "case.denied") if e.actor_partner == "ggz"]
    assert [(e.case_id, e.outcome) for e in denied] == [
        (played["case"], "denied"),
        (None, "denied"),
    ]
    assert denied[0].reason.startswith("simulate_on_case:")


def test_the_veiligheidshuis_auditor_simulates_on_any_case(
    hub: RunningHub, http: httpx.Client, played: dict[str, Any]
) -> None:
    auditor = As(http, hub.settings, "zvh", "aud-1", ["auditor"], "policy_review")
    result = ok(
        simulate(
            auditor,
            {
                "viewer": {"partner": "woningcorporatie", "roles": ["participant"]},
                "case_id": played["case"],
            },
        )
    )
    assert set(f["id"] for f in result["facts"]) == set(played["ids"].values())
