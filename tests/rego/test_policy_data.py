"""The matrix and network data are complete and consistent, and the logic stays readable:
every rule is annotated with its source, and no rule searches the data."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from hub.rego.annotations import rule_annotations
from hub.rego.bundle import DEFAULT_POLICY_DIR, load_bundle
from hub.rego.embedded import new_regorus_engine
from hub.rego.policy_tests import parse_rules
from hub.vocabulary import (
    JUSTICE_KINDS,
    DisclosureLevel,
    LifeDomain,
    PartnerKind,
    Phase,
    Purpose,
    Role,
    TableId,
)

BUNDLE = load_bundle(DEFAULT_POLICY_DIR)
DATA: dict[str, Any] = BUNDLE.data["vhhub"]
NETWORK, MATRIX, PROFILES = DATA["network"], DATA["matrix"], DATA["profiles"]
FACT_TYPES, PUBLISHING, ACTION_RULES = DATA["fact_types"], DATA["publishing"], DATA["action_rules"]
SCHEMA_DIR = DEFAULT_POLICY_DIR.parent / "schemas"
KINDS = {k.value for k in PartnerKind}
CASE_ROLE_ROWS = {"procesregisseur", "casusregisseur", "auditor"}
LEVELS = {level.value for level in DisclosureLevel}
OPEN_PHASES = [p.value for p in Phase if p is not Phase.CLOSED]

#: Fact types the issue requires, with their primary domain and sensitivity.
REQUIRED_FACT_TYPES = {
    "police.incident/1": ("safety", "criminal"),
    "police.nuisance_report/1": ("safety", "ordinary"),
    "prosecution.case_status/1": ("justice", "criminal"),
    "probation.supervision/1": ("justice", "criminal"),
    "child_protection.investigation/1": ("parenting", "special"),
    "municipality.income_debt/1": ("finances", "ordinary"),
    "municipality.school_attendance/1": ("work_daytime", "ordinary"),
    "housing.rent_arrears/1": ("finances", "ordinary"),
    "housing.nuisance_complaint/1": ("housing", "ordinary"),
    "housing.eviction/1": ("housing", "ordinary"),
    "mental_health.involvement/1": ("mental_health", "special"),
    "youth_care.involvement/1": ("parenting", "special"),
    "social_work.involvement/1": ("social_network", "ordinary"),
    "veilig_thuis.report/1": ("safety", "special"),
    "custodial.detention/1": ("justice", "criminal"),
    "network.involvement_signal/1": ("*", "ordinary"),
    "plan.note/1": ("*", "ordinary"),
    "plan.note_special/1": ("*", "special"),
    "plan.note_criminal/1": ("*", "criminal"),
}

#: What a custom.source must name: one of the network's documents or an AVG article.
RECOGNISED_SOURCES = re.compile(
    r"Landelijk kader Veiligheidshuizen 2013|Privacyconvenant|Handvat gegevensdeling ZVH 2017"
    r"|AVG art\. \d+"
)


def cells() -> list[tuple[str, str, str, str, str]]:
    return [
        (table, row, phase, purpose, profile)
        for table, rows in MATRIX.items()
        for row, phases in rows.items()
        for phase, purposes in phases.items()
        for purpose, profile in purposes.items()
    ]


# --- the network data speaks the hub's vocabulary -------------------------------------------


def test_network_data_uses_exactly_the_shared_vocabulary() -> None:
    assert set(NETWORK["partner_kinds"]) == KINDS
    assert set(NETWORK["justice_kinds"]) == {k.value for k in JUSTICE_KINDS}
    assert set(NETWORK["tables"]) == {t.value for t in TableId}
    assert set(NETWORK["phases"]) == {p.value for p in Phase}
    assert set(NETWORK["life_domains"]) == {d.value for d in LifeDomain}
    assert set(NETWORK["level_rank"]) == LEVELS
    assert NETWORK["level_names"] == [level.value for level in DisclosureLevel]
    purposes = {p.value for p in Purpose}
    assert all(set(fits) <= purposes for fits in NETWORK["phase_purposes"].values())
    assert set(NETWORK["kind_sets"]["key_partners"]) == KINDS - {"housing", "social_work"}


def test_care_kinds_and_publisher_categories_name_known_kinds_and_categories() -> None:
    """ADR 0104: who has a care task, and which kinds' facts are special or criminal whatever
    their type. A kind with a care task is never capped for special-category data."""
    assert set(NETWORK["care_kinds"]) == {
        "mental_health",
        "youth_care",
        "veilig_thuis",
        "social_work",
    }
    assert all(flag is True for flag in NETWORK["care_kinds"].values())
    assert not set(NETWORK["care_kinds"]) & set(NETWORK["special_category_capped_kinds"])
    defaults = NETWORK["publisher_default_sensitivity"]
    assert set(defaults) <= KINDS
    assert set(defaults.values()) <= {"special", "criminal"}
    # care partners publish health data; the justice chain publishes criminal-law data,
    # except the child protection board, whose facts concern a family (special, not criminal)
    assert {k for k, v in defaults.items() if v == "special"} == {
        "mental_health",
        "youth_care",
        "veilig_thuis",
        "child_protection",
    }
    assert {k for k, v in defaults.items() if v == "criminal"} == set(NETWORK["justice_kinds"]) - {
        "child_protection"
    }


def test_the_policy_test_fixtures_carry_each_type_s_fields_as_its_schema_classes_them() -> None:
    """The principle tests (policies/principles_test.rego) decide on the fixtures' fields; they
    must be the schemas' fields and classes, and hold every field a type reveals."""
    engine = new_regorus_engine(BUNDLE.modules, BUNDLE.data_json())
    facts = engine.eval_rule("data.vhhub.fixtures_test.facts_by_type")
    by_type = schemas()
    published = set(PUBLISHING["any_partner_kind"]) | {
        fact_type
        for kinds in PUBLISHING["by_table"].values()
        for types in kinds.values()
        for fact_type in types
    }
    assert published <= set(facts) <= set(FACT_TYPES)
    for type_id, fact in facts.items():
        properties = by_type[type_id]["properties"]
        for name, field_class in fact["fields"].items():
            assert properties[name]["x-disclosure"] == field_class, (type_id, name)
        assert set(FACT_TYPES[type_id]["reveals"]) <= set(fact["fields"]), type_id


def test_the_phase_order_is_the_vocabulary_order() -> None:
    order = [p.value for p in Phase]
    for current, following in itertools.pairwise(order[:5]):
        assert NETWORK["phases"][current]["next"] == following
    assert NETWORK["phases"]["execution"]["next"] is None


# --- the disclosure matrix ------------------------------------------------------------------


def test_every_table_has_a_row_per_partner_kind_and_case_role_with_every_phase() -> None:
    assert set(MATRIX) == {t.value for t in TableId}
    for table, rows in MATRIX.items():
        assert set(rows) == KINDS | CASE_ROLE_ROWS, table
        for row, phases in rows.items():
            assert set(phases) == {p.value for p in Phase}, (table, row)


def test_matrix_cells_name_existing_profiles_for_purposes_that_fit_the_phase() -> None:
    for table, row, phase, purpose, profile in cells():
        assert profile in PROFILES, (table, row, phase, profile)
        assert NETWORK["phase_purposes"][phase].get(purpose) is True, (table, row, phase, purpose)


def test_only_auditors_have_a_closed_phase_cell_and_only_for_audit() -> None:
    for table, row, phase, purpose, profile in cells():
        if phase == "closed" or purpose == "audit":
            assert (row, purpose) == ("auditor", "audit"), (table, row, phase)
            assert PROFILES[profile]["other_domains"] == "existence"
            assert not PROFILES[profile]["domains"] and not PROFILES[profile]["fact_types"]


def test_screening_gives_participants_nothing_and_the_procesregisseur_existence_only() -> None:
    for table, rows in MATRIX.items():
        for kind in KINDS:
            assert rows[kind]["screening"] == {}, (table, kind)
        (profile,) = rows["procesregisseur"]["screening"].values()
        assert PROFILES[profile] == PROFILES["existence_all"]


def test_housing_gets_housing_finances_and_safety_in_full_at_the_multi_problem_conference() -> None:
    profile = PROFILES[MATRIX["multi_problem"]["housing"]["case_conference"]["case_conference"]]
    assert profile["domains"] == {"housing": "full", "finances": "full", "safety": "full"}
    assert profile["other_domains"] == "summary"


def test_profiles_use_only_known_levels_domains_and_fact_types() -> None:
    for name, profile in PROFILES.items():
        assert profile["other_domains"] in LEVELS, name
        assert set(profile["domains"]) <= set(NETWORK["life_domains"]), name
        assert set(profile["domains"].values()) <= LEVELS, name
        assert set(profile["fact_types"]) <= set(FACT_TYPES), name
        assert set(profile["fact_types"].values()) <= LEVELS, name
        assert profile.get("description"), name


def test_every_profile_is_used_by_some_cell() -> None:
    assert {profile for *_, profile in cells()} == set(PROFILES)


def test_the_data_holds_no_arrays_for_the_policy_to_search() -> None:
    def arrays(node: Any, path: str) -> list[str]:
        if isinstance(node, list):
            return [path]
        if isinstance(node, dict):
            return [p for key, value in node.items() for p in arrays(value, f"{path}.{key}")]
        return []

    assert arrays(DATA, "data.vhhub") == ["data.vhhub.network.level_names"]  # indexed by rank


# --- the fact-type catalogue and publishing -------------------------------------------------


def test_the_catalogue_holds_every_required_fact_type_with_its_domain_and_sensitivity() -> None:
    assert set(FACT_TYPES) == set(REQUIRED_FACT_TYPES)
    for fact_type, (domain, sensitivity) in REQUIRED_FACT_TYPES.items():
        assert (FACT_TYPES[fact_type]["domain"], FACT_TYPES[fact_type]["sensitivity"]) == (
            domain,
            sensitivity,
        )


def test_the_ggz_diagnosis_is_never_shared() -> None:
    assert FACT_TYPES["mental_health.involvement/1"]["never_shared"]["diagnosis"] is True


def schemas() -> dict[str, Any]:
    if not SCHEMA_DIR.is_dir():
        pytest.skip("no schemas/ directory beside the policies")
    loaded = [json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))]
    return {s["x-fact-type"]: s for s in loaded if "x-fact-type" in s}


def test_the_catalogue_agrees_with_the_fact_type_schemas() -> None:
    by_type = schemas()
    for fact_type, entry in FACT_TYPES.items():
        schema = by_type.get(fact_type)
        assert schema is not None, f"{fact_type} has no schema"
        assert entry["sensitivity"] == schema["x-sensitivity"], fact_type
        if entry["domain"] != "*":
            assert entry["domain"] == schema["x-life-domain"], fact_type
        assert set(entry["never_shared"]) <= set(schema["properties"]), fact_type
        assert entry["reveals"] == {
            name: field["x-reveals"]
            for name, field in schema["properties"].items()
            if "x-reveals" in field
        }, fact_type


def test_partner_kinds_publish_only_fact_types_their_schema_allows() -> None:
    by_type = schemas()
    for table, kinds in PUBLISHING["by_table"].items():
        assert table in NETWORK["tables"]
        for kind, types in kinds.items():
            for fact_type, phases in types.items():
                assert kind in by_type[fact_type]["x-publisher-kinds"], (table, kind, fact_type)
                assert set(phases) <= set(OPEN_PHASES), (table, kind, fact_type)
                assert "screening" not in phases, "only signals are published in screening"
    assert set(PUBLISHING["any_partner_kind"]) == {"network.involvement_signal/1"}


# --- actions --------------------------------------------------------------------------------


def test_action_rules_use_known_roles_purposes_phases_relations_and_kind_sets() -> None:
    roles, purposes = {r.value for r in Role}, {p.value for p in Purpose}
    # every relation an action names must have a rule in actions.rego, or it would never hold
    actions_rego = (DEFAULT_POLICY_DIR / "actions.rego").read_text()
    relations = set(re.findall(r'action_rule\.relation == "(\w+)"', actions_rego))
    assert {"none", "member", "unassigned", "casusregisseur_or_owner"} <= relations
    for name, rule in ACTION_RULES.items():
        assert rule["roles"] and set(rule["roles"]) <= roles, name
        assert rule["purposes"] and set(rule["purposes"]) <= purposes, name
        assert set(rule["phases"]) <= {p.value for p in Phase}, name
        assert rule["relation"] in relations, name
        assert rule["partner_kinds"] == "any" or rule["partner_kinds"] in NETWORK["kind_sets"]
        # a case relation is only checked with a case: an action on no case names none, or
        # one that actions.rego checks on its target ("meeting_holder")
        assert rule["needs_case"] or rule["relation"] in {"none", "meeting_holder"}, name


# --- the logic: annotated, linear -----------------------------------------------------------


def deciding_rules() -> set[str]:
    engine = new_regorus_engine(BUNDLE.policy_modules, BUNDLE.data_json())
    return {f"{r.package.removeprefix('data.')}.{r.name}" for r in parse_rules(engine)}


def test_every_rule_has_a_title_a_description_and_a_recognised_source() -> None:
    annotations = rule_annotations(DEFAULT_POLICY_DIR)
    for rule in sorted(deciding_rules()):
        annotation = annotations.get(rule)
        assert annotation is not None, f"{rule} has no METADATA block"
        assert annotation.title and annotation.description, rule
        assert RECOGNISED_SOURCES.search(annotation.source), f"{rule}: {annotation.source!r}"


def test_every_rule_a_decision_can_name_is_an_annotated_disclosure_rule() -> None:
    source = (DEFAULT_POLICY_DIR / "disclosure.rego").read_text()
    stage_chain = source[
        source.index("case_stage := ") : source.index("# METADATA", source.index("case_stage := "))
    ]
    named = (
        set(re.findall(r'"rule": "([a-z_]+)"', source))
        | set(re.findall(r'withheld\("([a-z_]+)"', source))
        | set(re.findall(r'shown\(fact, \w+, "([a-z_]+)"', source))
        | set(re.findall(r'"([a-z_]+)" if \{', stage_chain))
    )
    annotated = {name.removeprefix("vhhub.disclosure.") for name in rule_annotations()}
    assert {"publisher_sees_own", "special_category_withheld", "not_a_participant"} <= named
    assert named <= annotated, named - annotated


def test_annotations_are_plain_yaml_that_opa_can_read() -> None:
    for module in BUNDLE.policy_modules:
        in_block = False
        for number, line in enumerate(module.text.splitlines(), 1):
            if line.strip() == "# METADATA":
                in_block = True
                continue
            if not line.startswith("#"):
                in_block = False
            if in_block:
                _, _, value = line.lstrip("# ").partition(": ")
                where = f"{module.path}:{number}"
                assert "\t" not in line, where
                assert ": " not in value and " #" not in value, where
                assert value[:1] not in set("[{*&!%@`'\""), where


def test_the_policy_logic_never_iterates_over_data() -> None:
    for module in BUNDLE.policy_modules:
        for number, line in enumerate(module.text.splitlines(), 1):
            code = line.split("#", 1)[0]
            assert "[_]" not in code, f"{module.path}:{number}"
            assert not re.search(r"some \w+(, \w+)? in data\.", code), f"{module.path}:{number}"
            assert not re.search(r"walk\(", code), f"{module.path}:{number}"


def test_data_paths_follow_the_file_layout(tmp_path: Path) -> None:
    assert set(DATA) == {
        "network",
        "matrix",
        "profiles",
        "fact_types",
        "publishing",
        "action_rules",
        "subject_identity",
    }
    assert set(DATA["matrix"]) == {
        p.stem for p in (DEFAULT_POLICY_DIR / "data" / "matrix").glob("*.json")
    }


def test_the_annotation_parser_reads_folded_descriptions_and_the_custom_source() -> None:
    from hub.rego.annotations import parse_annotations

    text = (
        "package vhhub.example\n\n# METADATA\n# title: Example\n#\n# description: >-\n"
        "#   first line\n#   second line\n# custom:\n#   source: AVG art. 9 (health)\n"
        "example_rule if true\n"
    )
    (annotation,) = parse_annotations("example.rego", text)
    assert (annotation.package, annotation.name, annotation.line) == (
        "vhhub.example",
        "example_rule",
        11,
    )
    assert annotation.title == "Example"
    assert annotation.description == "first line second line"
    assert annotation.source == "AVG art. 9 (health)"
