"""The diff asks both versions' engines, so it sees data changes and logic changes alike,
and lists nothing that does not change what someone sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.facts.catalog import FactTypeCatalog
from hub.policy_review import diff as diffing
from hub.policy_review.cli import policy_app
from hub.policy_review.versions import ReviewedVersion
from hub.settings import PROJECT_ROOT
from tests.policy_review.conftest import POLICIES, policy_copy, set_cell

pytestmark = pytest.mark.slow

CATALOG = FactTypeCatalog.load(PROJECT_ROOT / "schemas")
#: criminal by type, or by the justice partner that publishes it (ADR 0104: a police
#: nuisance report is criminal-law data)
CRIMINAL_TYPES = {t.id for t in CATALOG.types() if t.sensitivity.value == "criminal"} | {
    "police.nuisance_report/1"
}
JUSTICE_KINDS = {"police", "prosecution", "probation", "custodial", "child_protection"}


def test_identical_versions_differ_in_nothing() -> None:
    shipped = ReviewedVersion.from_directory(POLICIES)
    result = diffing.diff_versions(shipped, shipped, CATALOG, table="youth")
    assert result.changes == [] and result.decisions > 10_000


def test_cli_diff_of_two_directories_lists_only_the_changed_cells_consequences(
    tmp_path: Path,
) -> None:
    changed = policy_copy(tmp_path)
    set_cell(
        changed, "multi_problem", "housing", "case_conference", "case_conference", "summary_all"
    )
    result = CliRunner().invoke(
        policy_app, ["diff", str(POLICIES), str(changed), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    cells = {(c["table"], c["phase"], c["purpose"], c["viewer"]) for c in diff["changes"]}
    assert cells == {("multi_problem", "case_conference", "case_conference", "housing")}
    # housing_needs gave full on housing, finances and safety; summary_all gives summary
    assert {(c["domain"], c["old_level"], c["new_level"]) for c in diff["changes"]} == {
        ("housing", "full", "summary"),
        ("finances", "full", "summary"),
        ("safety", "full", "summary"),
    }
    assert all(c["direction"] == "less" for c in diff["changes"])
    # one line per fact type, not per domain: the simulated involvement signal comes from a
    # publisher whose facts are special-category data (ADR 0104), so it was a summary for
    # housing already unless shareable, and the finances domain does not change as a whole
    finances = next(
        c
        for c in diff["changes"]
        if [t["type"] for t in c["fact_types"]] == ["municipality.income_debt/1"]
    )
    assert finances["scope"] == "fact_type"
    line = (
        "Tafel multi_problem, fase case_conference, Woningcorporatie (housing): "
        "municipality.income_debt/1 (finances) van full naar summary"
    )
    assert finances["text"] == line
    removed = {t["type"]: t["fields_removed"] for t in finances["fact_types"]}
    assert removed["municipality.income_debt/1"], "summary withholds the full-class fields"

    text = CliRunner().invoke(policy_app, ["diff", str(POLICIES), str(changed)])
    assert text.exit_code == 0
    assert f"- {line}" in text.output


def test_a_logic_change_shows_up_although_no_data_changed(tmp_path: Path) -> None:
    """Drop the AVG art. 10 cap in the Rego (not in the data): criminal-law data then reaches
    partners outside the justice chain in full wherever their profile says full."""
    changed = policy_copy(tmp_path)
    rego = changed / "disclosure.rego"
    original = "viewer_outside_justice_chain if not data.vhhub.network.justice_kinds"
    text = rego.read_text()
    assert original in text
    rego.write_text(
        text.replace(
            "viewer_outside_justice_chain if not data.vhhub.network.justice_kinds"
            "[input.viewer.partner_kind]",
            "viewer_outside_justice_chain if false",
        )
    )
    for path in (POLICIES / "data").rglob("*.json"):
        assert (changed / path.relative_to(POLICIES)).read_bytes() == path.read_bytes()

    before = ReviewedVersion.from_directory(POLICIES)
    after = ReviewedVersion.from_directory(changed)
    result = diffing.diff_versions(before, after, CATALOG, table="adults")
    assert result.changes
    for change in result.changes:
        assert change.direction == "more"
        assert change.old_rule == "criminal_data_outside_justice_chain"
        assert change.new_level == "full"
        assert {t.type for t in change.types} <= CRIMINAL_TYPES
        assert change.viewer not in JUSTICE_KINDS
    viewers = {c.viewer for c in result.changes}
    assert "housing" in viewers  # housing_needs: full on safety, where police incidents live


def test_the_grid_covers_every_kind_role_family_phase_and_catalog_type() -> None:
    shipped = ReviewedVersion.from_directory(POLICIES)
    grid = diffing.build_grid(CATALOG, [shipped])
    viewers = {v.key for v in grid.viewers}
    assert viewers >= {"housing", "police", "zvh_staff", "procesregisseur", "casusregisseur"}
    assert {"auditor", "outsider"} <= viewers
    assert {f.type for f in grid.facts} == set(CATALOG.ids())
    assert {f.variant for f in grid.facts} == {"plain", "shareable", "own"}
    phases = {c[1] for c in grid.contexts}
    assert phases == {
        "intake",
        "screening",
        "preparation",
        "case_conference",
        "plan",
        "execution",
        "closed",
    }
    purposes_at_conference = {c[2] for c in grid.contexts if c[1] == "case_conference"}
    # the phase's own purpose, audit, the caseload's overview purpose, and one sentinel for
    # the purposes none of them names
    sentinel = grid.sentinels[("multi_problem", "case_conference")]
    assert purposes_at_conference == {"case_conference", "audit", "case_management", sentinel}
    exhaustive = diffing.build_grid(CATALOG, [shipped], table="youth", exhaustive=True)
    # every purpose some phase admits, and the sentinels
    # (11 since management_information, ADR 0014)
    assert len({c[2] for c in exhaustive.contexts}) == 11
