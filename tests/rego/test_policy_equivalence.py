"""The shipped disclosure policy decides exactly as the policy before its rewrite for speed.

ADR 0020 (issue 22, target 3) restructured policies/disclosure.rego so that what depends on a
few fact attributes is decided once per distinct value in the request instead of once per
fact. That is only acceptable if no decision changes: the level, the released fields, the
reason text and the rule name must be identical for every input. This test evaluates the
shipped policy and a stored copy of the policy as it was before
(tests/rego/reference/disclosure_before_0020.rego) on the same inputs, in two regorus
engines that are otherwise the same bundle, and compares the raw answers of
`data.vhhub.disclosure.decisions` (no class deduplication in between, so every fact of every
input reaches both policies).

The inputs span every table, phase and purpose of the network data (and an unknown table and
phase, a closed case, a purpose that fits no phase), every viewer kind as an invited
participant, both regisseurs, a regisseur who is also a participant, auditors, a privacy
officer, strangers and an unknown kind; and facts of every catalogue type from a publisher of
every kind and from the viewer itself, shareable or not or unmarked, citing special, criminal
or ordinary facts, relabelled, in a wrong or unknown domain, of an unknown type, with odd
field classes and without fields. Each request carries a rotating slice of all those facts,
so the whole set meets many contexts while the test stays within a few seconds. A second
pair of engines runs on a rearranged matrix (every cell naming another profile), where
auditors are granted content and a viewer's rows disagree, so the rewrite is held to the old
behaviour on other data too. The checks at the end prove that the inputs reached every rule
a decision can name, every level and the revealing-fields note, so agreement is not
"none == none".
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.rego.bundle import DEFAULT_POLICY_DIR, PolicyFile, load_bundle
from hub.rego.embedded import new_regorus_engine
from hub.rego.engine import DECISIONS_RULE, encode_input
from tests.rego import generators

REFERENCE = Path(__file__).parent / "reference" / "disclosure_before_0020.rego"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

BUNDLE = load_bundle(DEFAULT_POLICY_DIR)
NETWORK: dict[str, Any] = BUNDLE.data["vhhub"]["network"]
FACT_TYPES: dict[str, Any] = BUNDLE.data["vhhub"]["fact_types"]
TABLES = [*sorted(BUNDLE.data["vhhub"]["matrix"]), "cooking"]
PHASES = [*sorted(NETWORK["phases"]), "limbo"]
PURPOSES = sorted({p for purposes in NETWORK["phase_purposes"].values() for p in purposes})
KINDS = sorted(NETWORK["partner_kinds"])
DOMAINS = sorted(NETWORK["life_domains"])
#: one partner per kind; the partner id names its kind so a failure reads plainly
PARTNER_OF = {kind: f"p-{kind}" for kind in KINDS}
VIEWER_PARTNER = "p-viewer"  # stands for "the viewer's own partner" in the fact universe

#: Every rule a decision can name: the comparison must have reached each of them.
DECISION_RULES = {
    "fact_not_in_catalogue",
    "unknown_case_context",
    "case_closed_withheld",
    "not_a_participant",
    "purpose_does_not_fit_phase",
    "publisher_sees_own",
    "matrix_grants_nothing",
    "auditor_sees_existence_only",
    "special_category_withheld",
    "special_category_outside_care_and_justice",
    "criminal_data_outside_justice_chain",
    "matrix_grant",
}


def _schema_fields() -> dict[str, dict[str, str]]:
    """Field name -> disclosure class per fact type, as the gate passes them."""
    fields: dict[str, dict[str, str]] = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text())
        properties = schema.get("properties", {})
        fields[schema["x-fact-type"]] = {
            name: spec.get("x-disclosure", "full") for name, spec in properties.items()
        }
    return fields


def fact_universe() -> list[dict[str, Any]]:
    """Facts of every type from every publisher kind and from the viewer, in every
    shareable state, plus cited, relabelled, misplaced, unknown and incomplete facts."""
    schema_fields = _schema_fields()
    publishers = [*((PARTNER_OF[kind], kind) for kind in KINDS), (VIEWER_PARTNER, None)]
    facts: list[dict[str, Any]] = []
    for type_, entry in sorted(FACT_TYPES.items()):
        domains = DOMAINS if entry["domain"] == "*" else [entry["domain"]]
        fields = schema_fields[type_]
        for (publisher, kind), shareable in itertools.product(publishers, (True, False, None)):
            domain = domains[len(facts) % len(domains)]
            fact: dict[str, Any] = {
                "type": type_,
                "domain": domain,
                "sensitivity": entry["sensitivity"],
                "publisher": publisher,
                "publisher_kind": kind,
                "fields": fields,
            }
            if shareable is not None:
                fact["shareable"] = shareable
            facts.append(fact)
        # plan notes (and, as the generators do, any fact) may cite facts: by sensitivity
        # and by the kind that published them
        for cites in (
            [],
            [{"sensitivity": "special", "publisher_kind": "housing"}],
            [{"sensitivity": "ordinary", "publisher_kind": "mental_health"}],
            [{"sensitivity": "criminal", "publisher_kind": "housing"}],
            [{"sensitivity": "ordinary", "publisher_kind": "police"}],
            [
                {"sensitivity": "ordinary", "publisher_kind": "housing"},
                {"sensitivity": "ordinary", "publisher_kind": "social_work"},
            ],
        ):
            for publisher, kind in (("p-social_work", "social_work"), (VIEWER_PARTNER, None)):
                facts.append(
                    {
                        "type": type_,
                        "domain": domains[-1],
                        "sensitivity": entry["sensitivity"],
                        "publisher": publisher,
                        "publisher_kind": kind,
                        "shareable": len(facts) % 2 == 0,
                        "fields": fields,
                        "cites": cites,
                    }
                )
        # relabelled sensitivity, a wrong and an unknown domain: not in the catalogue
        for change in (
            {"sensitivity": "ordinary" if entry["sensitivity"] != "ordinary" else "special"},
            {"domain": "astrology"},
            {"domain": "housing" if entry["domain"] != "housing" else "finances"},
        ):
            facts.append(
                {
                    "type": type_,
                    "domain": domains[0],
                    "sensitivity": entry["sensitivity"],
                    "publisher": "p-housing",
                    "publisher_kind": "housing",
                    "fields": fields,
                    **change,
                }
            )
        # odd and missing fields, and the same fields as another object (one per fact)
        for odd_fields in (
            {**fields, "extra": "odd", "secret": "never"},
            {},
            dict(fields),
        ):
            facts.append(
                {
                    "type": type_,
                    "domain": domains[0],
                    "sensitivity": entry["sensitivity"],
                    "publisher": "p-mental_health",
                    "publisher_kind": "mental_health",
                    "fields": odd_fields,
                }
            )
        no_fields = {
            "type": type_,
            "domain": domains[0],
            "sensitivity": entry["sensitivity"],
            "publisher": "p-police",
            "publisher_kind": "police",
        }
        facts.append(no_fields)
        facts.append({k: v for k, v in no_fields.items() if k != "publisher_kind"})
    facts.append(
        {
            "type": "unknown.type/1",
            "domain": "housing",
            "sensitivity": "ordinary",
            "publisher": "p-housing",
            "publisher_kind": "housing",
            "fields": {"since": "summary"},
        }
    )
    facts.append({"type": "housing.eviction/1", "sensitivity": "ordinary", "fields": {}})
    return facts


def viewers() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(viewer, invitations) pairs: who asks and which partners the case invites for them."""
    invite_all: dict[str, Any] = {partner: {"users": []} for partner in PARTNER_OF.values()}
    result: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for kind in KINDS:
        viewer = {
            "partner": VIEWER_PARTNER,
            "partner_kind": kind,
            "user": "u-1",
            "roles": ["participant", "publisher"],
        }
        result.append((viewer, {**invite_all, VIEWER_PARTNER: {"users": []}}))
    participant = {"partner": VIEWER_PARTNER, "partner_kind": "housing", "user": "u-1"}
    result += [
        # invited, but the invitation names other users only
        ({**participant, "roles": ["participant"]}, {VIEWER_PARTNER: {"users": ["u-2"]}}),
        # invited and named
        ({**participant, "roles": ["publisher"]}, {VIEWER_PARTNER: {"users": ["u-1", "u-3"]}}),
        # not invited at all
        ({**participant, "roles": ["participant", "publisher"]}, invite_all),
        # the case's regisseurs, and a casusregisseur who is also an invited participant
        (
            {"partner": "p-zvh", "partner_kind": "zvh_staff", "user": "u-1"}
            | {"roles": ["procesregisseur"]},
            invite_all,
        ),
        (
            {"partner": "p-regie", "partner_kind": "municipality", "user": "u-2"}
            | {"roles": ["casusregisseur"]},
            invite_all,
        ),
        (
            {"partner": "p-regie", "partner_kind": "municipality", "user": "u-2"}
            | {"roles": ["casusregisseur", "participant"]},
            {**invite_all, "p-regie": {"users": []}},
        ),
        # auditors (with and without a participant role), a privacy officer, a stranger
        # holding a regisseur role of another case, an unknown partner kind
        (
            {"partner": "p-audit", "partner_kind": "zvh_staff", "user": "u-1"}
            | {"roles": ["auditor"]},
            invite_all,
        ),
        (
            {**participant, "partner_kind": "police", "roles": ["auditor", "participant"]},
            {
                **invite_all,
                VIEWER_PARTNER: {"users": []},
            },
        ),
        (
            {"partner": "p-po", "partner_kind": "zvh_staff", "user": "u-1"}
            | {"roles": ["privacy_officer"]},
            invite_all,
        ),
        ({**participant, "roles": ["procesregisseur", "casusregisseur"]}, invite_all),
        (
            {**participant, "partner_kind": "alien", "roles": ["participant"]},
            {VIEWER_PARTNER: {"users": []}},
        ),
    ]
    return result


def case(table: str, phase: str, invitations: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "c-1",
        "table": table,
        "phase": phase,
        "kind": "family",
        "participants": invitations,
        "procesregisseur": {"partner": "p-zvh", "user": "u-1"},
        "casusregisseur": {"partner": "p-regie", "user": "u-2"},
    }


def _facts_for(viewer: dict[str, Any], chosen: list[dict[str, Any]]) -> dict[str, Any]:
    """The chosen facts with the viewer's own partner and kind filled in."""
    facts = {}
    for number, fact in enumerate(chosen):
        if fact.get("publisher") == VIEWER_PARTNER:
            fact = {**fact, "publisher": viewer["partner"]}
            if "publisher_kind" in fact:
                fact["publisher_kind"] = viewer["partner_kind"]
        facts[f"f-{number:03d}"] = fact
    return facts


def systematic_inputs(per_request: int) -> Iterator[dict[str, Any]]:
    """Every table x phase x purpose (those that fit the phase, audit, overview and one that
    fits no phase) x viewer, each with the next `per_request` facts of the universe."""
    universe = fact_universe()
    rotation = itertools.cycle(range(len(universe)))
    known = list(itertools.product(TABLES[:-1], PHASES[:-1]))
    for table, phase in [*known, (TABLES[-1], "case_conference"), (TABLES[0], PHASES[-1])]:
        fitting = sorted(NETWORK["phase_purposes"].get(phase, {}))
        purposes = [*fitting, "bogus"] if fitting else ["case_conference", "audit"]
        for purpose, (viewer, invitations) in itertools.product(purposes, viewers()):
            chosen = [universe[next(rotation)] for _ in range(per_request)]
            yield {
                "viewer": viewer,
                "purpose": purpose,
                "case": case(table, phase, invitations),
                "facts": _facts_for(viewer, chosen),
            }


def rearranged_matrix_data() -> str:
    """The network data with every matrix cell naming another profile (the auditor rows
    then grant content, several rows of one viewer grant different levels): the rewrite
    must decide as before on any matrix, not only on the shipped one."""
    data = json.loads(BUNDLE.data_json())
    profiles = sorted(data["vhhub"]["profiles"])
    cells = itertools.count()
    for table in data["vhhub"]["matrix"].values():
        for row in table.values():
            for phase_cells in row.values():
                for purpose in phase_cells:
                    phase_cells[purpose] = profiles[next(cells) % len(profiles)]
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def dense_inputs() -> Iterator[dict[str, Any]]:
    """The whole universe at once, for the viewers whose caps differ most, at the multi
    problem case conference (one request each: the rules over distinct values see many)."""
    universe = fact_universe()
    for viewer, invitations in viewers():
        if viewer["partner_kind"] in {"housing", "police"} and (
            "participant" in viewer["roles"] and VIEWER_PARTNER in invitations
        ):
            yield {
                "viewer": viewer,
                "purpose": "case_conference",
                "case": case("multi_problem", "case_conference", invitations),
                "facts": _facts_for(viewer, universe),
            }


@pytest.fixture(scope="module")
def engines() -> tuple[Any, Any]:
    """(shipped, reference): the same bundle, but for disclosure.rego."""
    assert any(m.path == "disclosure.rego" for m in BUNDLE.policy_modules)
    reference_text = REFERENCE.read_text()
    reference_modules = tuple(
        PolicyFile(m.path, reference_text) if m.path == "disclosure.rego" else m
        for m in BUNDLE.policy_modules
    )
    data_json = BUNDLE.data_json()
    return (
        new_regorus_engine(BUNDLE.policy_modules, data_json),
        new_regorus_engine(reference_modules, data_json),
    )


@pytest.fixture(scope="module")
def rearranged_engines() -> tuple[Any, Any]:
    """(shipped, reference) on the rearranged matrix."""
    reference_text = REFERENCE.read_text()
    reference_modules = tuple(
        PolicyFile(m.path, reference_text) if m.path == "disclosure.rego" else m
        for m in BUNDLE.policy_modules
    )
    data_json = rearranged_matrix_data()
    return (
        new_regorus_engine(BUNDLE.policy_modules, data_json),
        new_regorus_engine(reference_modules, data_json),
    )


def _decide(engine: Any, decision_input: dict[str, Any]) -> Any:
    engine.set_input_json(encode_input(decision_input))
    return engine.eval_rule(DECISIONS_RULE)


def _compare(engines: tuple[Any, Any], inputs: Iterator[dict[str, Any]]) -> list[Any]:
    shipped, reference = engines
    answers = []
    for number, decision_input in enumerate(inputs):
        expected = _decide(reference, decision_input)
        actual = _decide(shipped, decision_input)
        assert isinstance(expected, dict) and len(expected) == len(decision_input["facts"])
        if actual != expected:
            differing = sorted(k for k in expected if actual.get(k) != expected[k])[:3]
            detail = {
                k: {"fact": decision_input["facts"][k], "was": expected[k], "is": actual.get(k)}
                for k in differing
            }
            context = {k: decision_input[k] for k in ("viewer", "purpose")}
            context["case"] = {k: decision_input["case"][k] for k in ("table", "phase")}
            pytest.fail(f"input #{number} {context}: {json.dumps(detail, indent=1)}")
        answers.append(actual)
    return answers


def test_the_reference_is_the_policy_before_the_rewrite() -> None:
    """The reference is a verbatim copy, below its own header comment."""
    text = REFERENCE.read_text()
    policy = text[text.index("# METADATA") :]
    assert policy.startswith("# METADATA\n# title: Purpose-limited disclosure of case facts")
    assert 'decision(fact) := withheld("fact_not_in_catalogue"' in policy
    assert 'fact_not_in_catalogue(fact) if catalogue_fit(fact) == "does_not_fit"' in policy


def test_every_table_phase_purpose_and_viewer_gets_the_same_decisions(
    engines: tuple[Any, Any],
) -> None:
    answers = _compare(engines, systematic_inputs(per_request=3))
    answers += _compare(engines, dense_inputs())
    decisions = [d for answer in answers for d in answer.values()]
    rules = Counter(d["rule"] for d in decisions)
    levels = Counter(d["level"] for d in decisions)
    # the shipped matrix grants auditors existence only, so their cap never lowers anything
    assert DECISION_RULES - {"auditor_sees_existence_only"} <= set(rules), rules
    assert all(levels[level] >= 50 for level in ("none", "existence", "summary", "full")), levels
    notes = [d for d in decisions if "Left out of this summary" in d["reason"]]
    assert len(notes) >= 20 and any(d["rule"] == "matrix_grant" for d in notes)
    assert any(d["fields"] for d in decisions if d["rule"] == "special_category_withheld")


def test_a_rearranged_matrix_gets_the_same_decisions(
    rearranged_engines: tuple[Any, Any],
) -> None:
    universe = fact_universe()
    rotation = itertools.cycle(range(len(universe)))
    inputs = (
        {
            "viewer": viewer,
            "purpose": purpose,
            "case": case(table, phase, invitations),
            "facts": _facts_for(viewer, [universe[next(rotation)] for _ in range(12)]),
        }
        for table, phase in itertools.product(TABLES[:-1], ("preparation", "case_conference"))
        for purpose in (phase, "audit", "case_management")
        for viewer, invitations in viewers()
    )
    decisions = [d for answer in _compare(rearranged_engines, inputs) for d in answer.values()]
    rules = Counter(d["rule"] for d in decisions)
    assert {
        "auditor_sees_existence_only",
        "matrix_grant",
        "matrix_grants_nothing",
        "special_category_withheld",
        "special_category_outside_care_and_justice",
        "criminal_data_outside_justice_chain",
    } <= set(rules), rules


def test_generated_briefings_get_the_same_decisions(engines: tuple[Any, Any]) -> None:
    rng = random.Random(20_261_206)
    inputs = (generators.decision_input(rng, max_facts=20) for _ in range(300))
    decisions = [d for answer in _compare(engines, inputs) for d in answer.values()]
    assert len({d["rule"] for d in decisions}) >= 10
