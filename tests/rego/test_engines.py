"""The engines keep their interface promises: one decision per fact, stamped with the policy
version, deduplicated evaluation, thread safety, and fail closed on every kind of failure."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from hub.rego.bundle import DEFAULT_POLICY_DIR, policy_version
from hub.rego.decisions import FactDecision, Verdict
from hub.rego.embedded import POLICY_THREADS, RegorusEngine, engines_held
from hub.rego.engine import BatchingEngine, PolicyEngine
from hub.rego.errors import PolicyError
from hub.rego.factory import load_engine
from hub.rego.opa import OpaServerEngine
from hub.vocabulary import DisclosureLevel
from tests.rego.opa_test_double import FAULTS, OpaTestDouble


def briefing_input(facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The issue's example input: housing corporation at the multi-problem conference."""
    default = {
        "f-1": {
            "type": "police.incident/1",
            "domain": "safety",
            "sensitivity": "criminal",
            "publisher": "politie",
            "publisher_kind": "police",
            "shareable": False,
            "fields": {
                "occurred_on": "summary",
                "category": "summary",
                "narrative": "full",
                "investigation_ref": "never",
            },
        },
        "f-2": {
            "type": "housing.rent_arrears/1",
            "domain": "finances",
            "sensitivity": "ordinary",
            "publisher": "gemeente-wi",
            "publisher_kind": "municipality",
            "shareable": False,
            "fields": {"reference_date": "summary", "arrears_amount_eur": "full", "ref": "never"},
        },
    }
    return {
        "viewer": {
            "partner": "woonstede",
            "partner_kind": "housing",
            "user": "u-9",
            "roles": ["participant", "publisher"],
        },
        "purpose": "case_conference",
        "case": {
            "id": "c-1",
            "table": "multi_problem",
            "phase": "case_conference",
            "kind": "family",
            "participants": {"politie": {"users": []}, "woonstede": {"users": ["u-9"]}},
            "procesregisseur": {"partner": "zvh", "user": "u-1"},
            "casusregisseur": {"partner": "gemeente-wi", "user": "u-4"},
        },
        "facts": dict(default if facts is None else facts),
    }


@pytest.fixture(scope="module")
def embedded() -> RegorusEngine:
    return RegorusEngine()


@pytest.fixture(scope="module")
def double() -> Iterator[OpaTestDouble]:
    with OpaTestDouble(delay_s=0.6) as running:
        yield running


@pytest.fixture
def opa(double: OpaTestDouble) -> Iterator[OpaServerEngine]:
    double.fault = None
    engine = OpaServerEngine(url=double.url, timeout_s=0.3)
    yield engine
    engine.close()
    if double.fault == "slow":
        time.sleep(double.delay_s)  # the single-threaded double is still answering the slow call
    double.fault = None


# --- the interface ------------------------------------------------------------------------


def test_every_engine_satisfies_the_policy_engine_protocol(
    embedded: RegorusEngine, opa: OpaServerEngine
) -> None:
    assert isinstance(embedded, PolicyEngine)
    assert isinstance(opa, PolicyEngine)


def test_housing_corporation_sees_the_example_briefing_as_the_issue_describes(
    embedded: RegorusEngine,
) -> None:
    decisions = embedded.decide_batch(briefing_input())
    incident, arrears = decisions["f-1"], decisions["f-2"]
    assert incident.level is DisclosureLevel.SUMMARY
    assert incident.fields == ("category", "occurred_on")
    assert incident.rule == "criminal_data_outside_justice_chain"
    assert arrears.level is DisclosureLevel.FULL
    assert arrears.fields == ("arrears_amount_eur", "reference_date")
    assert "housing_needs" in arrears.reason


def test_every_decision_and_verdict_carries_the_policy_version(embedded: RegorusEngine) -> None:
    version = policy_version(DEFAULT_POLICY_DIR)
    assert embedded.version == version
    assert all(
        d.policy_version == version for d in embedded.decide_batch(briefing_input()).values()
    )
    inp = briefing_input()
    publish = {
        **inp,
        "fact": {"type": "housing.eviction/1", "domain": "housing", "sensitivity": "ordinary"},
    }
    action = {**inp, "action": "read_case", "target": None}
    assert embedded.allow_publish(publish) == Verdict(
        True, embedded.allow_publish(publish).reason, version
    )
    assert embedded.allow_action(action).policy_version == version


def test_an_empty_batch_needs_no_evaluation(embedded: RegorusEngine) -> None:
    assert embedded.decide_batch(briefing_input({})) == {}


def test_load_engine_builds_each_kind_and_refuses_unknown_ones(double: OpaTestDouble) -> None:
    assert isinstance(load_engine("embedded", DEFAULT_POLICY_DIR), RegorusEngine)
    engine = load_engine("opa", DEFAULT_POLICY_DIR, opa_url=double.url, timeout_s=1.0)
    assert isinstance(engine, OpaServerEngine)
    engine.close()
    with pytest.raises(PolicyError):
        load_engine("opa", DEFAULT_POLICY_DIR)  # no URL
    with pytest.raises(PolicyError):
        load_engine("magic", DEFAULT_POLICY_DIR)
    with pytest.raises(PolicyError):
        load_engine("embedded", DEFAULT_POLICY_DIR, timeout_s=0)


# --- deduplication ------------------------------------------------------------------------


class CountingEngine(RegorusEngine):
    """The embedded engine, recording how many facts each evaluation was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        if "facts" in input:
            self.asked.append(len(input["facts"]))
        return super()._evaluate(rule, input)


def test_five_hundred_facts_of_few_kinds_are_decided_in_one_small_evaluation() -> None:
    engine = CountingEngine()
    template = briefing_input()["facts"]
    facts = {
        f"f-{i}": {
            **template["f-1" if i % 2 else "f-2"],
            "publisher": ("politie", "om", "gemeente-wi")[i % 3],
        }
        for i in range(500)
    }
    decisions = engine.decide_batch(briefing_input(facts))
    assert len(decisions) == 500
    assert engine.asked == [2]
    assert decisions["f-1"] == decisions["f-3"]


def test_the_engine_never_sees_fact_attributes_outside_the_class_attributes() -> None:
    engine = CountingEngine()
    seen: list[Mapping[str, Any]] = []
    original = engine._evaluate

    def spy(rule: str, input: Mapping[str, Any]) -> Any:
        seen.append(input)
        return original(rule, input)

    engine._evaluate = spy  # type: ignore[method-assign]
    facts = {"f-1": {**briefing_input()["facts"]["f-1"], "subject_name": "J. Jansen", "notes": "x"}}
    engine.decide_batch(briefing_input(facts))
    (fact,) = seen[0]["facts"].values()
    assert "subject_name" not in fact and "notes" not in fact


# --- threads ------------------------------------------------------------------------------


def decide_from_threads(
    engine: RegorusEngine, threads: int, rounds: int
) -> list[dict[str, FactDecision] | BaseException]:
    """Every thread asks `rounds` times, all starting together; every answer or error."""
    start = threading.Barrier(threads)
    results: list[dict[str, FactDecision] | BaseException] = []

    def ask() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                results.append(engine.decide_batch(briefing_input()))
        except BaseException as exc:
            results.append(exc)

    running = [threading.Thread(target=ask) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return results


def test_one_engine_answers_from_many_threads_at_once(embedded: RegorusEngine) -> None:
    expected = embedded.decide_batch(briefing_input())
    assert decide_from_threads(embedded, 8, 20) == [expected] * 160


def test_many_request_threads_share_a_bounded_number_of_engines(tmp_path: Path) -> None:
    """An engine costs about 4 MB: a process with dozens of request threads must not build
    one per thread. A policy version of its own, so no other test's engines count."""
    policies = copy_policies(tmp_path)
    (policies / "marker.rego").write_text("package vhhub.marker\n\nimport rego.v1\n\nx := 1\n")
    engine = RegorusEngine(policies)
    expected = engine.decide_batch(briefing_input())
    assert decide_from_threads(engine, 16, 5) == [expected] * 80
    assert 1 <= engines_held(engine.version) <= POLICY_THREADS < 16


_ASK_AT_EXIT = """
import atexit, sys
from hub.rego.embedded import RegorusEngine
from hub.rego.errors import PolicyError
from tests.rego.test_engines import briefing_input

def ask() -> None:
    # registered before the engine starts its threads, so it runs after their stop
    try:
        engine.decide_batch(briefing_input())
    except PolicyError as exc:
        print("refused:", exc.reason, flush=True)
    else:
        print("answered after the stop", flush=True)

atexit.register(ask)
engine = RegorusEngine()
print("answered before the stop:", sorted(engine.decide_batch(briefing_input())), flush=True)
"""


def test_a_decision_asked_after_the_policy_threads_stopped_fails_closed() -> None:
    """An exit handler that runs after the policy threads were stopped gets a PolicyError
    (deny), neither an answer nor a wait without end for a thread that is gone."""
    done = subprocess.run(
        [sys.executable, "-c", _ASK_AT_EXIT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "answered before the stop: ['f-1', 'f-2']",
        "refused: the policy threads have stopped: the process is exiting",
    ]


# --- fail closed: malformed answers -------------------------------------------------------


class ScriptedEngine(BatchingEngine):
    """An engine whose answer is whatever the test says, to check the answer checks."""

    def __init__(self, answer: Any) -> None:
        super().__init__("test-version")
        self.answer = answer

    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        return self.answer(input) if callable(self.answer) else self.answer


def good_answer(input: Mapping[str, Any]) -> dict[str, Any]:
    return {
        fact_id: {"level": "summary", "fields": [], "reason": "r", "rule": "matrix_grant"}
        for fact_id in input["facts"]
    }


def bent(**change: Any) -> Any:
    def answer(input: Mapping[str, Any]) -> dict[str, Any]:
        return {k: {**v, **change} for k, v in good_answer(input).items()}

    return answer


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(None, id="undefined-as-null"),
        pytest.param([], id="not-an-object"),
        pytest.param(lambda i: dict(list(good_answer(i).items())[:1]), id="missing-fact-id"),
        pytest.param(lambda i: {**good_answer(i), "k99": good_answer(i)["k0"]}, id="extra-fact-id"),
        pytest.param(bent(level="secret"), id="unknown-level"),
        pytest.param(bent(level=3), id="level-not-a-string"),
        pytest.param(bent(fields="occurred_on"), id="fields-not-a-list"),
        pytest.param(bent(fields=[1]), id="fields-not-strings"),
        pytest.param(bent(fields=["not_a_field"]), id="field-outside-the-input"),
        pytest.param(bent(fields=["category", "category"]), id="duplicate-field"),
        pytest.param(bent(level="existence", fields=["category"]), id="fields-at-existence"),
        pytest.param(
            bent(level="full", fields=["investigation_ref"]), id="never-field-to-non-publisher"
        ),
        pytest.param(bent(reason=None), id="no-reason"),
        pytest.param(bent(rule=""), id="no-rule"),
    ],
)
def test_a_malformed_decision_answer_raises_policy_error_not_a_partial_allow(answer: Any) -> None:
    facts = {"f-1": briefing_input()["facts"]["f-1"], "f-2": briefing_input()["facts"]["f-2"]}
    with pytest.raises(PolicyError):
        ScriptedEngine(answer).decide_batch(briefing_input(facts))


def test_a_scripted_well_formed_answer_passes_the_checks() -> None:
    decisions = ScriptedEngine(good_answer).decide_batch(briefing_input())
    assert {d.level for d in decisions.values()} == {DisclosureLevel.SUMMARY}


@pytest.mark.parametrize(
    "answer",
    [None, {"allowed": "true", "reason": "r"}, {"allowed": True}, {"reason": "r"}, [True]],
)
def test_a_malformed_verdict_raises_policy_error(answer: Any) -> None:
    engine = ScriptedEngine(answer)
    with pytest.raises(PolicyError):
        engine.allow_action({"action": "read_case"})
    with pytest.raises(PolicyError):
        engine.allow_publish({"fact": {}})


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param("not an object", id="facts-not-an-object"),
        pytest.param({"f-1": "not an object"}, id="fact-not-an-object"),
        pytest.param({"f-1": {"type": "police.incident/1", "fields": ["a"]}}, id="fields-a-list"),
        pytest.param(
            {"f-1": {"type": "police.incident/1", "fields": {"a": 1}}}, id="class-not-a-string"
        ),
    ],
)
def test_malformed_input_raises_policy_error(embedded: RegorusEngine, facts: Any) -> None:
    with pytest.raises(PolicyError):
        embedded.decide_batch({**briefing_input(), "facts": facts})


def test_input_that_is_not_json_raises_policy_error(embedded: RegorusEngine) -> None:
    with pytest.raises(PolicyError):
        embedded.allow_action({"action": "read_case", "when": object()})


# --- fail closed: engine failures ---------------------------------------------------------


def test_an_undefined_rule_raises_policy_error(embedded: RegorusEngine) -> None:
    with pytest.raises(PolicyError):
        embedded._evaluate("data.vhhub.disclosure.no_such_rule", briefing_input())


def test_a_slow_embedded_answer_is_discarded() -> None:
    engine = RegorusEngine(timeout_s=1e-9)
    with pytest.raises(PolicyError, match="timeout"):
        engine.decide_batch(briefing_input())


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def test_a_policy_with_a_syntax_error_does_not_load(tmp_path: Path) -> None:
    policies = copy_policies(tmp_path)
    (policies / "broken.rego").write_text("package vhhub.broken\n\nimport rego.v1\n\nallow if {\n")
    with pytest.raises(PolicyError, match="does not load"):
        RegorusEngine(policies)


def test_data_that_would_shadow_a_package_does_not_load(tmp_path: Path) -> None:
    policies = copy_policies(tmp_path)
    (policies / "data" / "disclosure.json").write_text("{}")
    with pytest.raises(PolicyError, match="shadow"):
        RegorusEngine(policies)


def test_invalid_data_json_does_not_load(tmp_path: Path) -> None:
    policies = copy_policies(tmp_path)
    (policies / "data" / "network.json").write_text("{not json")
    with pytest.raises(PolicyError, match="not valid JSON"):
        RegorusEngine(policies)


def test_a_missing_policy_directory_does_not_load(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        RegorusEngine(tmp_path / "nowhere")


def test_a_policy_that_answers_without_an_entry_per_fact_fails_closed(tmp_path: Path) -> None:
    policies = copy_policies(tmp_path)
    source = (policies / "disclosure.rego").read_text()
    rule = "decisions := {fact_id: decision(fact) | some fact_id; fact := input.facts[fact_id]"
    skip_incidents = '; fact.type != "police.incident/1"'
    broken = source.replace(f"{rule}}}", f"{rule}{skip_incidents}}}")
    assert broken != source
    (policies / "disclosure.rego").write_text(broken)
    with pytest.raises(PolicyError, match="covers"):
        RegorusEngine(policies).decide_batch(briefing_input())


# --- the OPA path, over real HTTP to the test double ---------------------------------------


def test_opa_engine_over_http_answers_like_the_embedded_engine(
    embedded: RegorusEngine, opa: OpaServerEngine
) -> None:
    assert opa.version == embedded.version
    assert opa.decide_batch(briefing_input()) == embedded.decide_batch(briefing_input())


@pytest.mark.parametrize("fault", FAULTS)
def test_opa_engine_fails_closed_on_every_injected_fault(
    double: OpaTestDouble, opa: OpaServerEngine, fault: str
) -> None:
    double.fault = fault
    inp = briefing_input()
    ask_verdict = fault == "allowed_as_string"
    with pytest.raises(PolicyError):
        if ask_verdict:
            opa.allow_action({**inp, "action": "read_case", "target": None})
        else:
            opa.decide_batch(inp)


def test_opa_engine_fails_closed_when_the_server_is_down() -> None:
    with OpaTestDouble() as gone:
        url = gone.url
    engine = OpaServerEngine(url=url, timeout_s=0.5)
    with pytest.raises(PolicyError):
        engine.decide_batch(briefing_input())


def test_opa_engine_refuses_a_url_without_host() -> None:
    with pytest.raises(PolicyError):
        OpaServerEngine(url="opa:8181")


def test_a_never_class_field_released_to_a_non_publisher_is_refused() -> None:
    only_incident = {"f-1": briefing_input()["facts"]["f-1"]}
    engine = ScriptedEngine(bent(level="full", fields=["investigation_ref"]))
    with pytest.raises(PolicyError, match="never-shared"):
        engine.decide_batch(briefing_input(only_incident))


def test_a_never_class_field_may_go_back_to_its_own_publisher() -> None:
    own = {"f-1": {**briefing_input()["facts"]["f-1"], "publisher": "woonstede"}}
    engine = ScriptedEngine(bent(level="full", fields=["investigation_ref"]))
    assert engine.decide_batch(briefing_input(own))["f-1"].fields == ("investigation_ref",)
