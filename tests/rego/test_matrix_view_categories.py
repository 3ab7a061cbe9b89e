"""The matrix view tells a privacy officer what ADR 0104 added on top of the cells: which rows
the category caps and the revealing-field rule apply to, the category each publisher kind
gives its facts, and the summary fields left out for partners without a care or justice task.
Read from the shipped policy directory, as `vhhub policy matrix --policy-dir` does."""

from __future__ import annotations

import json

import pytest

from hub.policy_review.matrix import MatrixView, build_matrix, render_markdown, to_json
from hub.policy_review.versions import ReviewedVersion
from hub.rego.bundle import DEFAULT_POLICY_DIR

SPECIAL = "vhhub.disclosure.special_category_withheld"
OUTSIDE_TASK = "vhhub.disclosure.special_category_outside_care_and_justice"
CRIMINAL = "vhhub.disclosure.criminal_data_outside_justice_chain"
REVEALING = "vhhub.disclosure.revealing_field_withheld"


@pytest.fixture(scope="module")
def view() -> MatrixView:
    return build_matrix(ReviewedVersion.from_directory(DEFAULT_POLICY_DIR))


def rules_of(view: MatrixView, row: str) -> set[str]:
    table = next(t for t in view.tables if t.table == "multi_problem")
    return set(next(r for r in table.rows if r.row == row).rules)


def test_each_row_names_the_category_rules_its_partner_kind_falls_under(view: MatrixView) -> None:
    kind_rules = {SPECIAL, OUTSIDE_TASK, CRIMINAL, REVEALING}
    assert rules_of(view, "housing") & kind_rules == {OUTSIDE_TASK, CRIMINAL, REVEALING}
    assert rules_of(view, "municipality") & kind_rules == {OUTSIDE_TASK, CRIMINAL, REVEALING}
    assert rules_of(view, "police") & kind_rules == {SPECIAL}
    assert rules_of(view, "mental_health") & kind_rules == {CRIMINAL}  # a care task
    assert rules_of(view, "probation") & kind_rules == set()
    assert rules_of(view, "casusregisseur") >= kind_rules  # the regisseur's own kind decides
    for rule in (OUTSIDE_TASK, REVEALING, "vhhub.disclosure.fact_is_special"):
        assert "AVG art. 9" in view.rules[rule].source


def test_the_view_lists_the_category_per_publisher_and_the_revealing_fields(
    view: MatrixView,
) -> None:
    assert view.publisher_sensitivity["mental_health"] == "special"
    assert view.publisher_sensitivity["police"] == "criminal"
    assert "housing" not in view.publisher_sensitivity
    assert view.reveals["police.incident/1"] == {
        "incident_category": "offence_category",
        "subject_role": "procedural_role",
    }
    assert "mental_health.involvement/1" not in view.reveals

    text = render_markdown(view)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "## Category by publisher (besides the fact type's own)" in text
    assert "- mental_health: special" in text
    assert (
        "- police.incident/1: incident_category (offence_category), subject_role (procedural_role)"
    ) in text
    data = json.loads(json.dumps(to_json(view)))
    assert data["publisher_sensitivity"]["veilig_thuis"] == "special"
    assert data["reveals"]["veilig_thuis.report/1"] == {"report_type": "offence_category"}
