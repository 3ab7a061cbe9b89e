"""`vhhub policy matrix | simulate | list` as a privacy officer uses them in a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.policy_review.cli import policy_app
from hub.rego.bundle import policy_version
from hub.settings import Settings
from tests.policy_review.conftest import POLICIES, policy_copy

SHIPPED = policy_version(POLICIES)


def run(*args: str) -> str:
    result = CliRunner().invoke(policy_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def cli_env(initialised: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    return initialised


def test_the_matrix_reads_in_a_100_column_terminal(cli_env: Settings) -> None:
    text = run("matrix")
    assert SHIPPED[:12] in text  # the active version, from the database
    assert max(len(line) for line in text.splitlines()) <= 100
    for table in ("youth", "adults", "domestic_violence", "multi_problem"):
        assert f"## Tafel {table}:" in text
    housing = next(
        line
        for line in run("matrix", "--table", "multi_problem").splitlines()
        if line.startswith("| housing ")
    )
    assert "s; F ho fi sa" in housing  # case conference: full on housing, finances, safety
    assert "AVG art. 10" in text and "diagnosis" in text  # sources and never-shared fields
    assert "municipality.school_attendance/1 F" in text  # a fact-type exception


def test_the_matrix_as_json_and_as_html(cli_env: Settings) -> None:
    data = json.loads(run("matrix", "--format", "json", "--table", "youth"))
    assert data["version"] == SHIPPED
    assert [t["table"] for t in data["tables"]] == ["youth"]
    page = run("matrix", "--format", "html", "--version", SHIPPED[:10])
    assert page.startswith("<!doctype html>") and "Jeugdtafel" in page


def test_the_matrix_of_a_directory_needs_no_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    text = run("matrix", "--policy-dir", str(POLICIES), "--table", "adults", "--width", "80")
    assert max(len(line) for line in text.splitlines() if line.startswith("|")) <= 80


def test_simulate_prints_level_fields_rule_and_source(cli_env: Settings) -> None:
    text = run(
        "simulate",
        "--kind",
        "police",
        "--table",
        "domestic_violence",
        "--phase",
        "case_conference",
        "--type",
        "veilig_thuis.report/1",
    )
    assert "SUMMARY" in text and "special_category_withheld" in text and "AVG art. 9" in text
    shared = json.loads(
        run(
            "simulate",
            "--partner",
            "politie",
            "--table",
            "domestic_violence",
            "--phase",
            "case_conference",
            "--type",
            "veilig_thuis.report/1",
            "--shareable",
            "--format",
            "json",
        )
    )
    assert shared["facts"][0]["level"] == "full"


def test_list_shows_the_active_shipped_version(cli_env: Settings) -> None:
    text = run("list")
    assert text.startswith(f"{SHIPPED[:12]}  active") and "operator (shipped)" in text


def test_the_protected_suite_from_the_terminal_list_propose_diff(
    cli_env: Settings, tmp_path: Path
) -> None:
    listed = run("suite", "list")
    assert " active " in listed and "operator (shipped)" in listed
    active = listed.split()[0]
    proposal = policy_copy(tmp_path)
    path = proposal / "publish_test.rego"
    text = path.read_text()
    name = next(line.split(" if", 1)[0] for line in text.splitlines() if line.startswith("test_"))
    path.write_text(text + f"\n{name}_again if {{\n\t{name}\n}}\n")
    loaded = run("suite", "load", str(proposal))
    assert "(inactive)" in loaded and "it passes against the active version" in loaded
    suite = loaded.split("loaded protected test suite ", 1)[1].split()[0]
    assert f"{suite[:12]}  inactive" in run("suite", "list")
    shown = run("suite", "diff", "active", suite[:12])
    assert f"protected suite diff {active} -> {suite[:12]}: 1 rules change" in shown
    assert f"+ test vhhub.publish_test.{name}_again (added)" in shown
    (line,) = [x for x in shown.splitlines() if x.startswith("digest: ")]
    as_json = json.loads(run("suite", "diff", "active", suite[:12], "--format", "json"))
    assert as_json["digest"] == line.removeprefix("digest: ")
    # a suite that fails against the active policy is refused approval already at load
    path.write_text(text.replace("\tallowed(", "\tnot allowed(", 1))
    result = CliRunner().invoke(policy_app, ["suite", "load", str(proposal)])
    assert result.exit_code == 1 and "cannot be approved or activated" in result.output
