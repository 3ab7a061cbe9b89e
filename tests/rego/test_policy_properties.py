"""Invariants of the shipped policy that must hold for every input, checked with hypothesis
on generated briefings (tests/rego/generators.py drives the same generators).

These are the network's promises stated independently of the matrix: whatever a privacy
officer changes in policies/data, these must keep holding.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.rego.decisions import FactDecision
from hub.rego.embedded import RegorusEngine
from hub.vocabulary import JUSTICE_KINDS, LEVEL_RANK, DisclosureLevel
from tests.rego import generators

ENGINE = RegorusEngine()
JUSTICE = {kind.value for kind in JUSTICE_KINDS}
#: Partner kinds with a care task (policies/data/network.json, ADR 0104).
CARE = {"mental_health", "youth_care", "veilig_thuis", "social_work"}
#: The category a publisher kind's facts carry whatever their type (ADR 0104).
PUBLISHER_CATEGORY = {
    **dict.fromkeys(("mental_health", "youth_care", "veilig_thuis", "child_protection"), "special"),
    **dict.fromkeys(("police", "prosecution", "probation", "custodial"), "criminal"),
}
SUMMARY = LEVEL_RANK[DisclosureLevel.SUMMARY]
EXISTENCE = LEVEL_RANK[DisclosureLevel.EXISTENCE]
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# A seed per example keeps generation cheap (st.randoms() records every draw) and still
# replays a failure exactly: hypothesis prints the seed.
seeds = st.integers(min_value=0, max_value=2**32 - 1)
briefings = seeds.map(lambda seed: generators.decision_input(random.Random(seed)))


def is_participant(inp: dict[str, Any]) -> bool:
    viewer, case = inp["viewer"], inp["case"]
    invitation = case["participants"].get(viewer["partner"])
    return (
        invitation is not None
        and viewer["partner_kind"] in generators.PARTNERS.values()
        and bool({"participant", "publisher"} & set(viewer["roles"]))
        and (not invitation["users"] or viewer["user"] in invitation["users"])
    )


def is_regisseur(inp: dict[str, Any]) -> bool:
    viewer, case = inp["viewer"], inp["case"]
    for role in ("procesregisseur", "casusregisseur"):
        named = case.get(role)
        if (
            role in viewer["roles"]
            and named
            and (named["partner"], named["user"]) == (viewer["partner"], viewer["user"])
        ):
            return True
    return False


def audits(inp: dict[str, Any]) -> bool:
    return "auditor" in inp["viewer"]["roles"] and inp["purpose"] == "audit"


def rank(decision: FactDecision) -> int:
    return LEVEL_RANK[decision.level]


def decided(inp: dict[str, Any]) -> list[tuple[dict[str, Any], FactDecision]]:
    decisions = ENGINE.decide_batch(inp)
    assert set(decisions) == set(inp["facts"])
    return [(inp["facts"][fact_id], decision) for fact_id, decision in decisions.items()]


def own(inp: dict[str, Any], fact: dict[str, Any]) -> bool:
    return bool(fact["publisher"] == inp["viewer"]["partner"])


def is_category(fact: dict[str, Any], category: str) -> bool:
    """Special or criminal by the fact's type, or by the kind of partner that published it
    (unless its type states its own sensitivity: plan notes), or by a fact it cites."""
    stated = generators.FACT_TYPES.get(fact["type"], {}).get("sensitivity_stated") is True
    by_publisher = None if stated else PUBLISHER_CATEGORY.get(fact["publisher_kind"])
    cited = {c["sensitivity"] for c in fact.get("cites", [])} | {
        PUBLISHER_CATEGORY.get(c["publisher_kind"]) for c in fact.get("cites", [])
    }
    return category in {fact["sensitivity"], by_publisher, *cited}


@PROPERTY_SETTINGS
@given(briefings)
def test_no_viewer_outside_participants_and_regisseurs_ever_gets_above_none(
    inp: dict[str, Any],
) -> None:
    if is_participant(inp) or is_regisseur(inp):
        return
    for _, decision in decided(inp):
        if audits(inp):
            assert rank(decision) <= EXISTENCE  # the audit exception: existence at most
        else:
            assert decision.level is DisclosureLevel.NONE


@PROPERTY_SETTINGS
@given(briefings)
def test_special_data_reaches_full_only_care_and_justice_but_never_police_or_om_unless_shareable(
    inp: dict[str, Any],
) -> None:
    kind = inp["viewer"]["partner_kind"]
    if kind in (CARE | JUSTICE) - {"police", "prosecution"}:
        return
    for fact, decision in decided(inp):
        if (
            is_category(fact, "special")
            and fact.get("shareable") is not True
            and not own(inp, fact)
        ):
            assert rank(decision) <= SUMMARY


@PROPERTY_SETTINGS
@given(briefings)
def test_partners_outside_the_justice_chain_never_get_criminal_data_above_summary(
    inp: dict[str, Any],
) -> None:
    if inp["viewer"]["partner_kind"] in JUSTICE:
        return
    for fact, decision in decided(inp):
        if is_category(fact, "criminal") and not own(inp, fact):
            assert rank(decision) <= SUMMARY


@PROPERTY_SETTINGS
@given(briefings)
def test_summaries_for_partners_without_care_or_justice_task_hold_no_revealing_field(
    inp: dict[str, Any],
) -> None:
    if inp["viewer"]["partner_kind"] in CARE | JUSTICE:
        return
    for fact, decision in decided(inp):
        if decision.level is DisclosureLevel.SUMMARY:
            reveals = generators.FACT_TYPES.get(fact["type"], {}).get("reveals", {})
            assert not set(decision.fields) & set(reveals)


@PROPERTY_SETTINGS
@given(briefings)
def test_a_closed_case_shows_nothing_except_existence_for_audit(inp: dict[str, Any]) -> None:
    inp["case"]["phase"] = "closed"
    for _, decision in decided(inp):
        if audits(inp):
            assert rank(decision) <= EXISTENCE and decision.fields == ()
        else:
            assert decision.level is DisclosureLevel.NONE


@PROPERTY_SETTINGS
@given(briefings)
def test_never_fields_are_never_released_to_anyone_but_the_publisher(inp: dict[str, Any]) -> None:
    for fact, decision in decided(inp):
        if own(inp, fact):
            continue
        never_shared = generators.FACT_TYPES.get(fact["type"], {}).get("never_shared", {})
        for field in decision.fields:
            assert fact["fields"][field] != "never"
            assert field not in never_shared


@PROPERTY_SETTINGS
@given(briefings)
def test_released_fields_match_the_level(inp: dict[str, Any]) -> None:
    for fact, decision in decided(inp):
        classes = {fact["fields"][f] for f in decision.fields}
        if decision.level in (DisclosureLevel.NONE, DisclosureLevel.EXISTENCE):
            assert decision.fields == ()
        elif decision.level is DisclosureLevel.SUMMARY:
            assert classes <= {"summary"}
        elif decision.rule != "publisher_sees_own":
            assert classes <= {"summary", "full"}


@PROPERTY_SETTINGS
@given(briefings)
def test_auditing_never_reveals_fact_content(inp: dict[str, Any]) -> None:
    inp["purpose"] = "audit"
    for _, decision in decided(inp):
        assert rank(decision) <= EXISTENCE and decision.fields == ()


@PROPERTY_SETTINGS
@given(briefings)
def test_privacy_officers_see_no_case_content(inp: dict[str, Any]) -> None:
    inp["viewer"]["roles"] = ["privacy_officer"]
    for _, decision in decided(inp):
        assert decision.level is DisclosureLevel.NONE


@PROPERTY_SETTINGS
@given(briefings)
def test_a_purpose_that_does_not_fit_the_phase_gets_none(inp: dict[str, Any]) -> None:
    phase = inp["case"]["phase"]
    if inp["purpose"] in (phase, "audit"):
        return
    for _, decision in decided(inp):
        assert decision.level is DisclosureLevel.NONE


@PROPERTY_SETTINGS
@given(briefings)
def test_the_publisher_sees_its_own_facts_in_full_with_every_field(inp: dict[str, Any]) -> None:
    case = inp["case"]
    working = (
        is_participant(inp)
        and case["table"] in generators.TABLES
        and case["phase"] in generators.PHASES[:-1]
        and inp["purpose"] == case["phase"]
    )
    if not working:
        return
    for fact, decision in decided(inp):
        entry = generators.FACT_TYPES.get(fact["type"])
        matches = (
            entry is not None
            and entry["sensitivity"] == fact["sensitivity"]
            and entry["domain"] in ("*", fact["domain"])
            and fact["domain"] in generators.DOMAINS
        )
        if own(inp, fact) and matches:
            assert decision.level is DisclosureLevel.FULL
            assert set(decision.fields) == set(fact["fields"])


@PROPERTY_SETTINGS
@given(seeds.map(lambda seed: generators.publish_input(random.Random(seed))))
def test_only_a_publisher_inside_the_case_may_publish(inp: dict[str, Any]) -> None:
    verdict = ENGINE.allow_publish(inp)
    if verdict.allowed:
        registering = (
            inp["case"]["phase"] == "intake"
            and inp["case"].get("registered_by") == inp["viewer"]["partner"]
        )
        assert "publisher" in inp["viewer"]["roles"]
        assert is_participant(inp) or registering
        assert inp["case"]["phase"] != "closed"


@PROPERTY_SETTINGS
@given(seeds.map(lambda seed: generators.action_input(random.Random(seed))))
def test_no_action_is_allowed_without_one_of_its_roles(inp: dict[str, Any]) -> None:
    rules = generators.ACTION_RULES
    verdict = ENGINE.allow_action(inp)
    if verdict.allowed:
        assert set(inp["viewer"]["roles"]) & set(rules[inp["action"]]["roles"])
        assert inp["purpose"] in rules[inp["action"]]["purposes"]


def test_hypothesis_inputs_are_reproducible_from_a_seed() -> None:
    assert generators.decision_input(random.Random(7)) == generators.decision_input(
        random.Random(7)
    )
