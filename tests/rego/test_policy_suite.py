"""The policy's own Rego tests pass, cover every rule, table, role family and phase, and
`vhhub policy test` / `vhhub policy version` report them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.policy_review.cli import policy_app
from hub.rego.bundle import DEFAULT_POLICY_DIR, policy_version
from hub.rego.policy_tests import TestReport, run_policy_tests
from hub.vocabulary import Phase, Role, TableId

runner = CliRunner()


@pytest.fixture(scope="module")
def report() -> TestReport:
    return run_policy_tests(DEFAULT_POLICY_DIR)


def test_every_shipped_policy_test_passes(report: TestReport) -> None:
    assert report.passed, [f"{r.qualified_name}: {r.error}" for r in report.failures]


def test_there_are_at_least_sixty_policy_tests(report: TestReport) -> None:
    assert len(report.results) >= 60


def test_the_policy_tests_exercise_every_rule(report: TestReport) -> None:
    missed = [f"{c.package}.{c.name}" for c in report.coverage if not c.exercised]
    assert not missed, missed
    assert report.coverage_ratio == 1.0


def test_the_policy_tests_name_every_table_role_family_and_phase() -> None:
    sources = "\n".join(p.read_text() for p in DEFAULT_POLICY_DIR.glob("*_test.rego"))
    quoted = set(re.findall(r'"([a-z_]+)"', sources))
    assert {t.value for t in TableId} <= quoted
    assert {p.value for p in Phase} <= quoted
    role_families = {r.value for r in Role} - {"participant", "publisher"}
    assert role_families <= quoted | set(re.findall(r"fx\.([a-z_]+)", sources))
    assert {"participant", "publisher"} <= quoted


def test_the_report_is_for_the_tested_policy_version(report: TestReport) -> None:
    assert report.policy_version == policy_version(DEFAULT_POLICY_DIR)


def test_cli_prints_the_policy_version() -> None:
    result = runner.invoke(policy_app, ["version", "--policy-dir", str(DEFAULT_POLICY_DIR)])
    assert result.exit_code == 0
    assert result.stdout.strip() == policy_version(DEFAULT_POLICY_DIR)


def test_cli_runs_the_policy_tests_and_prints_results_and_coverage() -> None:
    result = runner.invoke(policy_app, ["test", "--policy-dir", str(DEFAULT_POLICY_DIR)])
    assert result.exit_code == 0, result.stdout
    assert "PASS vhhub.disclosure_test.test_police_never_sees_ggz_diagnosis" in result.stdout
    assert "rule coverage: " in result.stdout
    assert "policy tests passed" in result.stdout


def failing_copy(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, policies)
    (policies / "extra_test.rego").write_text(
        "package vhhub.extra_test\n\nimport rego.v1\n\n"
        "test_police_sees_everything if {\n"
        "\tdata.vhhub.network.justice_kinds.housing\n}\n"
    )
    return policies


def test_a_failing_policy_test_fails_the_run_and_the_cli(tmp_path: Path) -> None:
    policies = failing_copy(tmp_path)
    report = run_policy_tests(policies)
    assert not report.passed
    assert [r.name for r in report.failures] == ["test_police_sees_everything"]
    result = runner.invoke(policy_app, ["test", "--policy-dir", str(policies), "-q"])
    assert result.exit_code == 1
    assert "FAIL vhhub.extra_test.test_police_sees_everything" in result.stdout


def test_a_policy_without_tests_does_not_pass(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, policies, ignore=shutil.ignore_patterns("*_test.rego"))
    assert not run_policy_tests(policies).passed


def test_cli_reports_a_broken_policy_directory(tmp_path: Path) -> None:
    result = runner.invoke(policy_app, ["version", "--policy-dir", str(tmp_path)])
    assert result.exit_code == 2
