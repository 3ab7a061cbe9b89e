"""Deduplication into classes stays exact with the tuple class key (ADR 0020): facts that
differ in anything the policy may read are never merged, facts that agree always are, and a
fields mapping shared by many facts is still refused when malformed."""

from __future__ import annotations

from typing import Any

import pytest

from hub.rego import batching
from hub.rego.errors import PolicyError


def _input(facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "viewer": {"partner": "woonstede", "partner_kind": "housing", "user": "u", "roles": []},
        "purpose": "case_conference",
        "case": {"id": "c"},
        "facts": facts,
    }


def _fact(**changes: Any) -> dict[str, Any]:
    fact: dict[str, Any] = {
        "type": "police.incident/1",
        "domain": "safety",
        "sensitivity": "criminal",
        "publisher": "politie",
        "publisher_kind": "police",
        "shareable": False,
        "fields": {"occurred_on": "summary", "narrative": "full"},
    }
    fact.update(changes)
    return fact


def test_facts_that_agree_on_every_class_attribute_share_one_class() -> None:
    shared = {"occurred_on": "summary", "narrative": "full"}
    facts = {
        "a": _fact(fields=shared),
        "b": _fact(fields=shared),
        # an equal mapping that is another object, keys in another order
        "c": _fact(fields={"narrative": "full", "occurred_on": "summary"}),
        # the publisher is reduced to "is it the viewer's": two other partners are one class
        "d": _fact(publisher="om"),
    }
    classes = batching.deduplicate(_input(facts))
    assert classes.class_count == 1
    assert len(set(classes.class_of.values())) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "police.incident/2"},
        {"domain": "housing"},
        {"sensitivity": "ordinary"},
        {"publisher_kind": "prosecution"},
        {"publisher": "woonstede"},  # the viewer's own fact
        {"shareable": True},
        {"shareable": 0},  # 0 is not False to the policy's JSON
        {"fields": {"occurred_on": "summary"}},
        {"fields": {"occurred_on": "summary", "narrative": "summary"}},
        {"cites": [{"sensitivity": "special", "publisher_kind": "mental_health"}]},
    ],
)
def test_facts_that_differ_in_a_class_attribute_are_decided_apart(changes: dict[str, Any]) -> None:
    classes = batching.deduplicate(_input({"a": _fact(), "b": _fact(**changes)}))
    assert classes.class_count == 2
    assert classes.class_of["a"] != classes.class_of["b"]


def test_an_integer_and_a_float_of_equal_value_stay_apart() -> None:
    one = _fact(cites=[{"sensitivity": "special", "publisher_kind": "x", "weight": 1}])
    other = _fact(cites=[{"sensitivity": "special", "publisher_kind": "x", "weight": 1.0}])
    assert batching.deduplicate(_input({"a": one, "b": other})).class_count == 2


def test_a_shared_malformed_fields_mapping_is_refused_for_every_fact() -> None:
    bad = {"occurred_on": 1}
    with pytest.raises(PolicyError):
        batching.deduplicate(_input({"a": _fact(fields=bad), "b": _fact(fields=bad)}))


def test_the_representative_holds_only_the_class_attributes() -> None:
    classes = batching.deduplicate(_input({"a": _fact(id="a", secret="x")}))
    (representative,) = classes.engine_input["facts"].values()
    assert set(representative) <= set(batching.CLASS_ATTRIBUTES)
