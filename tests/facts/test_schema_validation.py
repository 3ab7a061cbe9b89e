"""Validating fact content: every example passes, and a bad document gets a pointer list.

The problems are our own sentences: where (an RFC 6901 pointer) and what the schema wanted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.facts.catalog import (
    MAX_REPORTED_ERRORS,
    FactType,
    FactTypeCatalog,
    FactValidationError,
    FieldError,
    schema_regex,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = SCHEMA_DIR / "examples"


@pytest.fixture(scope="module")
def catalog() -> FactTypeCatalog:
    return FactTypeCatalog.load(SCHEMA_DIR)


def example(fact_type: FactType) -> dict[str, Any]:
    path = EXAMPLES / f"{fact_type.name}.{fact_type.version}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def errors_of(fact_type: FactType, content: object) -> list[FieldError]:
    with pytest.raises(FactValidationError) as raised:
        fact_type.validate(content)
    return raised.value.errors


def test_there_is_one_example_per_type_and_no_stray_ones(catalog: FactTypeCatalog) -> None:
    expected = {f"{t.name}.{t.version}.json" for t in catalog.types()}
    assert {p.name for p in EXAMPLES.glob("*.json")} == expected


def test_every_example_validates_and_uses_every_field_of_its_type(
    catalog: FactTypeCatalog,
) -> None:
    for fact_type in catalog.types():
        content = example(fact_type)
        fact_type.validate(content)
        unused = set(fact_type.fields) - set(content)
        # Optional fields an example may leave out, because they depend on the situation.
        assert unused <= {"sentence_types", "until", "eviction_date"}, (fact_type.id, unused)


def test_only_required_fields_are_enough(catalog: FactTypeCatalog) -> None:
    for fact_type in catalog.types():
        full = example(fact_type)
        fact_type.validate({n: full[n] for n, s in fact_type.fields.items() if s.required})


def test_wrong_type_names_the_field_and_the_expected_type(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("housing.rent_arrears/1")
    content = example(fact_type) | {"arrears_amount_eur": "veel"}
    assert errors_of(fact_type, content) == [
        {"pointer": "/arrears_amount_eur", "problem": "must be a number"}
    ]


def test_missing_required_fields_point_at_the_missing_field(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("police.incident/1")
    assert errors_of(fact_type, {"incident_category": "threat"}) == [
        {"pointer": "/incident_date", "problem": "is required"},
        {"pointer": "/registration_kind", "problem": "is required"},
        {"pointer": "/subject_role", "problem": "is required"},
    ]


def test_enum_problem_lists_the_allowed_values(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("police.incident/1")
    content = example(fact_type) | {"subject_role": "bystander"}
    assert errors_of(fact_type, content) == [
        {
            "pointer": "/subject_role",
            "problem": "must be one of: suspect, victim, witness, involved_other",
        }
    ]


def test_too_long_text_names_the_limit(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("mental_health.involvement/1")
    content = example(fact_type) | {"crisis_plan": "x" * 2001}
    assert errors_of(fact_type, content) == [
        {"pointer": "/crisis_plan", "problem": "must be at most 2000 characters long"}
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-30",
        "2025-13-01",
        "20250314",
        "2025-3-14",
        "14-03-2025",
        "2025-03-14T10:00:00",
        "2025-W11-5",
        "\uff12\uff10\uff12\uff15-03-14",  # full-width digits
        "",
    ],
)
def test_dates_are_enforced_strictly(catalog: FactTypeCatalog, value: str) -> None:
    fact_type = catalog.get("housing.eviction/1")
    content = example(fact_type) | {"court_date": value}
    problems = errors_of(fact_type, content)
    assert {
        "pointer": "/court_date",
        "problem": "must be a date in the form YYYY-MM-DD",
    } in problems


def test_a_leap_day_is_a_date(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("housing.eviction/1")
    fact_type.validate(example(fact_type) | {"court_date": "2024-02-29"})


def test_nested_and_array_problems_point_inside(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("probation.supervision/1")
    content = example(fact_type) | {
        "special_conditions": ["contact_ban", "curfew", "contact_ban"],
        "supervisor_contact": {"phone": "call me"},
    }
    assert errors_of(fact_type, content) == [
        {"pointer": "/special_conditions", "problem": "must not contain duplicate items"},
        {
            "pointer": "/special_conditions/1",
            "problem": "must be one of: contact_ban, location_ban, reporting_duty, "
            "treatment_obligation, electronic_monitoring, alcohol_ban, drug_ban, "
            "day_programme, residence_obligation",
        },
        {
            "pointer": "/supervisor_contact/phone",
            "problem": "must match the pattern ^\\+?[0-9][0-9 -]{5,18}$",
        },
        {"pointer": "/supervisor_contact/role", "problem": "is required"},
    ]


@pytest.mark.parametrize("phone", ["0612345678\n", "+31 6 1234 5678\n", "06\n12345678"])
def test_a_pattern_ends_at_the_end_of_the_text_as_json_schema_reads_it(
    catalog: FactTypeCatalog, phone: str
) -> None:
    """JSON Schema's ``$`` (ECMA-262) is the end of the text; Python's also matches before a
    final newline, which let a phone number with a newline through."""
    fact_type = catalog.get("probation.supervision/1")
    contact = example(fact_type)["supervisor_contact"]
    accepted = example(fact_type) | {"supervisor_contact": contact | {"phone": "0612345678"}}
    fact_type.validate(accepted)
    content = example(fact_type) | {"supervisor_contact": contact | {"phone": phone}}
    assert errors_of(fact_type, content) == [
        {
            "pointer": "/supervisor_contact/phone",
            "problem": "must match the pattern ^\\+?[0-9][0-9 -]{5,18}$",
        }
    ]


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^a$", "a", True),
        ("^a$", "a\n", False),
        ("a$|^b", "a\n", False),
        ("^a\\$$", "a$", True),  # an escaped $ is a literal
        ("^a\\$$", "a$\n", False),
        ("^[$]$", "$", True),  # so is a $ in a class
        ("^[]$]+$", "]$", True),  # a ] first in a class does not end it
        ("^[^]$]+$", "ab", True),
        ("^[^]$]+$", "a$", False),
        ("^a\\\\$", "a\\", True),  # an escaped backslash before an anchor
        ("^a\\\\$", "a\\\n", False),
    ],
)
def test_schema_regex_reads_dollar_as_the_end_of_the_text(
    pattern: str, text: str, matches: bool
) -> None:
    assert (schema_regex(pattern).search(text) is not None) is matches


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (-1, "must be at least 0"),
        (121, "must be at most 120"),
        (1.5, "must be an integer"),
        (True, "must be an integer"),
        (float("nan"), "must be an integer"),
    ],
)
def test_numbers_are_bounded(catalog: FactTypeCatalog, value: object, problem: str) -> None:
    fact_type = catalog.get("housing.rent_arrears/1")
    content = example(fact_type) | {"arrears_months": value}
    assert errors_of(fact_type, content) == [{"pointer": "/arrears_months", "problem": problem}]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(catalog: FactTypeCatalog, value: float) -> None:
    # NaN compares false with every bound, so without this it would pass minimum and maximum.
    fact_type = catalog.get("housing.rent_arrears/1")
    content = example(fact_type) | {"arrears_amount_eur": value}
    assert errors_of(fact_type, content) == [
        {"pointer": "/arrears_amount_eur", "problem": "must be a finite number"}
    ]


def test_a_whole_float_is_an_integer_as_json_schema_says(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("housing.rent_arrears/1")
    fact_type.validate(example(fact_type) | {"arrears_months": 4.0})


@pytest.mark.parametrize("content", [None, [], "text", 3, ("a",)])
def test_content_must_be_an_object(catalog: FactTypeCatalog, content: object) -> None:
    fact_type = catalog.get("social_work.involvement/1")
    assert errors_of(fact_type, content) == [{"pointer": "", "problem": "must be an object"}]


def test_a_plain_unknown_field_is_named_so_a_typo_is_easy_to_fix(
    catalog: FactTypeCatalog,
) -> None:
    fact_type = catalog.get("housing.eviction/1")
    content = example(fact_type) | {"court_dat": "2025-05-08"}
    assert errors_of(fact_type, content) == [
        {"pointer": "/court_dat", "problem": "is not an allowed property"}
    ]


def test_an_unknown_field_name_that_could_be_personal_data_is_withheld(
    catalog: FactTypeCatalog,
) -> None:
    fact_type = catalog.get("housing.eviction/1")
    content = example(fact_type) | {
        "Jan Jansen": "x",
        "123456782": "x",
        "jan@example.org": "x",
        "a" * 65: "x",
    }
    content["housing_contact"] = {"role": "wijkconsulent", "Piet Pietersen": "y"}
    assert errors_of(fact_type, content) == [
        {
            "pointer": "",
            "problem": "has 4 unexpected properties (name withheld: not a plain snake_case "
            "field name)",
        },
        {
            "pointer": "/housing_contact",
            "problem": "has 1 unexpected property (name withheld: not a plain snake_case "
            "field name)",
        },
    ]


def test_a_flood_of_problems_is_capped(catalog: FactTypeCatalog) -> None:
    # 500 wrong values (unknown member names collapse into one problem, so they cannot flood)
    fact_type = catalog.get("municipality.income_debt/1")
    content = example(fact_type) | {"benefits": [f"b{i}" for i in range(500)]}
    problems = errors_of(fact_type, content)
    assert len(problems) == MAX_REPORTED_ERRORS + 1
    assert problems[-1] == {
        "pointer": "",
        "problem": f"more problems were found; only {MAX_REPORTED_ERRORS} are listed",
    }


def test_the_error_is_a_problem_answer_with_the_pointer_list(catalog: FactTypeCatalog) -> None:
    fact_type = catalog.get("housing.rent_arrears/1")
    with pytest.raises(FactValidationError) as raised:
        fact_type.validate(example(fact_type) | {"arrears_months": -3})
    body = raised.value.to_problem()
    assert body["status"] == 400
    assert body["type"].endswith("/invalid-fact-content")
    assert body["fact_type"] == "housing.rent_arrears/1"
    assert body["errors"] == [{"pointer": "/arrears_months", "problem": "must be at least 0"}]
    assert json.loads(json.dumps(body)) == body
