"""Every available engine gives identical decisions on the same generated inputs.

Engines: embedded regorus (the reference), the OPA-server path (OpaServerEngine over real HTTP
to the OPA test double), and regopy (rego-cpp, a second Rego implementation) when installed.
The inputs are seeded (tests/rego/generators.py), so a disagreement replays exactly; the
checks at the end prove the inputs reached every level and most rules, so agreement is not
just "none == none".
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest

from hub.rego.decisions import FactDecision
from hub.rego.embedded import RegorusEngine
from hub.rego.engine import PolicyEngine
from hub.rego.opa import OpaServerEngine
from hub.rego.regopy_engine import RegopyEngine, regopy_available
from tests.rego import generators
from tests.rego.opa_test_double import OpaTestDouble

SEED = 20_170_402  # Handvat gegevensdeling, 2017
N_BRIEFINGS = 1_000
N_PUBLISH = 400
N_ACTIONS = 400


@pytest.fixture(scope="module")
def embedded() -> RegorusEngine:
    return RegorusEngine()


@pytest.fixture(scope="module")
def opa_engine() -> Iterator[OpaServerEngine]:
    with OpaTestDouble() as double:
        engine = OpaServerEngine(url=double.url, timeout_s=10.0)
        yield engine
        engine.close()


@pytest.fixture(scope="module")
def regopy_engine() -> RegopyEngine:
    if not regopy_available():
        pytest.skip("regopy is not installed (optional cross-check engine)")
    return RegopyEngine(timeout_s=30.0)


@pytest.fixture(scope="module", params=["opa", "regopy"])
def other_engine(
    request: pytest.FixtureRequest,
) -> PolicyEngine:
    name = "opa_engine" if request.param == "opa" else "regopy_engine"
    engine: PolicyEngine = request.getfixturevalue(name)
    return engine


def briefings() -> Iterator[dict[str, object]]:
    rng = random.Random(SEED)
    for _ in range(N_BRIEFINGS):
        yield generators.decision_input(rng)


def test_engines_give_identical_decisions_on_1000_generated_briefings(
    embedded: RegorusEngine, other_engine: PolicyEngine
) -> None:
    for number, decision_input in enumerate(briefings()):
        expected = embedded.decide_batch(decision_input)
        assert other_engine.decide_batch(decision_input) == expected, f"briefing #{number}"


def test_engines_give_identical_publish_verdicts(
    embedded: RegorusEngine, other_engine: PolicyEngine
) -> None:
    rng = random.Random(SEED + 1)
    for number in range(N_PUBLISH):
        publish_input = generators.publish_input(rng)
        expected = embedded.allow_publish(publish_input)
        assert other_engine.allow_publish(publish_input) == expected, f"publish #{number}"


def test_engines_give_identical_action_verdicts(
    embedded: RegorusEngine, other_engine: PolicyEngine
) -> None:
    rng = random.Random(SEED + 2)
    for number in range(N_ACTIONS):
        action_input = generators.action_input(rng)
        expected = embedded.allow_action(action_input)
        assert other_engine.allow_action(action_input) == expected, f"action #{number}"


def test_engines_give_identical_identity_decisions(
    embedded: RegorusEngine, other_engine: PolicyEngine
) -> None:
    rng = random.Random(SEED + 3)
    rules: Counter[str] = Counter()
    for number in range(N_ACTIONS):
        identity_input = generators.identity_input(rng)
        expected = embedded.release_identity(identity_input)
        rules[expected.rule] += 1
        assert other_engine.release_identity(identity_input) == expected, f"identity #{number}"
    # the generated questions reach the grant, the BSN cap, nothing and the registrant
    assert {"identity_grant", "identity_grants_nothing", "registrant_sees_own_registration"} <= set(
        rules
    ), rules


def test_deciding_per_class_equals_deciding_per_fact(embedded: RegorusEngine) -> None:
    for number, decision_input in enumerate(briefings()):
        per_class = embedded.decide_batch(decision_input)
        per_fact = embedded.decide_batch(decision_input, deduplicate=False)
        assert per_class == per_fact, f"briefing #{number}"


def test_generated_briefings_reach_every_level_and_most_rules(embedded: RegorusEngine) -> None:
    decisions: list[FactDecision] = [
        d for decision_input in briefings() for d in embedded.decide_batch(decision_input).values()
    ]
    levels = Counter(d.level.value for d in decisions)
    rules = Counter(d.rule for d in decisions)
    assert all(levels[level] >= 50 for level in ("none", "existence", "summary", "full")), levels
    expected_rules = {
        "fact_not_in_catalogue",
        "unknown_case_context",
        "case_closed_withheld",
        "not_a_participant",
        "purpose_does_not_fit_phase",
        "publisher_sees_own",
        "matrix_grants_nothing",
        "special_category_withheld",
        "criminal_data_outside_justice_chain",
        "matrix_grant",
    }
    assert expected_rules <= set(rules), rules


def test_generated_verdicts_include_allows_and_denials(embedded: RegorusEngine) -> None:
    rng = random.Random(SEED + 1)
    publish = Counter(
        embedded.allow_publish(generators.publish_input(rng)).allowed for _ in range(N_PUBLISH)
    )
    rng = random.Random(SEED + 2)
    actions = Counter(
        embedded.allow_action(generators.action_input(rng)).allowed for _ in range(N_ACTIONS)
    )
    assert publish[True] >= 10 and publish[False] >= 10, publish
    assert actions[True] >= 10 and actions[False] >= 10, actions
