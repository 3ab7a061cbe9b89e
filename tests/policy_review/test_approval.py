"""Four eyes over real HTTP: two different privacy officers activate a version, nobody alone
does, the uploader does not count, and a version that fails its own tests never activates."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hub.policy_review.cli import policy_app
from hub.rego.bundle import policy_version
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.policy_review.conftest import (
    POLICIES,
    break_a_test,
    bundle_of,
    log_entries,
    officer,
    policy_copy,
    set_cell,
    upload,
)
from tests.support import As, ok

SHIPPED = policy_version(POLICIES)


def candidate(tmp_path: Path, name: str = "candidate") -> Path:
    """A valid new version: one cell the shipped tests do not pin."""
    target = policy_copy(tmp_path, name)
    set_cell(target, "youth", "housing", "execution", "execution", "summary_all")
    return target


def loaded_by(http: httpx.Client, settings: Settings, who: str, policy_dir: Path) -> str:
    body = ok(upload(officer(http, settings, who), bundle_of(policy_dir)), 201)
    return str(body["version"])


def approve(http: httpx.Client, settings: Settings, who: str, version: str) -> httpx.Response:
    return officer(http, settings, who).post(f"/api/v1/policies/{version}/approvals")


def status_of(http: httpx.Client, settings: Settings, version: str) -> dict[str, object]:
    body: dict[str, object] = ok(
        officer(http, settings, "fg-gemeente").get(f"/api/v1/policies/{version}")
    )
    return body


def test_a_single_privacy_officer_cannot_activate(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    first = ok(approve(http, settings, "fg-politie", version), 201)
    assert first == {**first, "approval_recorded": True, "activated": False}
    assert status_of(http, settings, version)["status"] == "inactive"
    assert hub.server.config.app.state.hub.gate.version == SHIPPED


def test_two_approvals_by_the_same_person_count_once(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    ok(approve(http, settings, "fg-politie", version), 201)
    again = ok(approve(http, settings, "fg-politie", version), 200)
    assert again["approval_recorded"] is False and again["activated"] is False
    assert len(again["policy"]["approvals"]) == 1
    assert status_of(http, settings, version)["status"] == "inactive"
    reasons = [e.reason for e in log_entries(settings, "policy.approve")]
    assert reasons == ["approval 1 of 2", "repeat approval by the same person: counts once"]


def test_the_uploader_cannot_approve_its_own_version(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    refused = approve(http, settings, "fg-gemeente", version)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/four-eyes")
    ok(approve(http, settings, "fg-politie", version), 201)
    assert status_of(http, settings, version)["status"] == "inactive"
    (denied,) = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert denied.actor_user == "fg-gemeente" and denied.object_ids == [version]


def test_two_different_officers_activate_and_each_act_is_logged_with_the_hash(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    ok(approve(http, settings, "fg-politie", version), 201)
    second = ok(approve(http, settings, "fg-ggz", version), 201)
    assert second["activated"] is True
    assert second["policy"]["status"] == "active" and second["policy"]["activated_at"]
    listing = ok(officer(http, settings, "fg-gemeente").get("/api/v1/policies"))
    assert listing["active"] == version
    statuses = {v["version"]: v["status"] for v in listing["versions"]}
    assert statuses == {version: "active", SHIPPED: "retired"}
    assert hub.server.config.app.state.hub.gate.version == version

    approvals = [e for e in log_entries(settings, "policy.approve") if e.outcome == "allowed"]
    assert [e.object_ids for e in approvals] == [[version], [version]]
    activation = log_entries(settings, "policy.activate")[-1]
    assert activation.object_ids == sorted([version, SHIPPED])  # the log sorts ids
    assert activation.policy_version == version
    assert "ggz/fg-ggz" in activation.reason and "politie/fg-politie" in activation.reason

    # an activated version is not approved again; the retired one needs a new load
    assert approve(http, settings, "fg-gemeente-2", version).status_code == 409
    assert approve(http, settings, "fg-gemeente-2", SHIPPED).status_code == 409


def test_two_officers_of_one_partner_are_two_persons(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    """Four eyes means two persons (ADR 0103); they may work for the same partner."""
    settings = hub.settings
    version = loaded_by(http, settings, "fg-politie", candidate(tmp_path))
    ok(approve(http, settings, "fg-gemeente", version), 201)
    assert ok(approve(http, settings, "fg-gemeente-2", version), 201)["activated"] is True


def test_a_version_whose_policy_tests_fail_cannot_be_approved_or_activated(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    broken = candidate(tmp_path)
    break_a_test(broken)
    loaded = ok(upload(officer(http, settings, "fg-gemeente"), bundle_of(broken)), 201)
    assert loaded["status"] == "inactive" and loaded["tests_passed"] is False
    assert loaded["tests"]["failed_count"] >= 1 and loaded["tests"]["failed"]
    version = loaded["version"]
    for who in ("fg-politie", "fg-ggz"):
        refused = approve(http, settings, who, version)
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/approval-refused")
        assert refused.json()["failed_tests"] == loaded["tests"]["failed"]
    assert status_of(http, settings, version)["status"] == "inactive"
    assert ok(officer(http, settings, "fg-gemeente").get("/api/v1/policies"))["active"] == SHIPPED
    denied = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert len(denied) == 2
    assert not [e for e in log_entries(settings, "policy.activate") if version in e.object_ids]


def test_an_auditor_reads_but_may_not_load_or_approve(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    auditor = As(http, settings, "zvh", "auditor-1", ["auditor"], "policy_review")
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    assert auditor.post(f"/api/v1/policies/{version}/approvals").status_code == 403
    headers = {**auditor.headers(), "Content-Type": "application/gzip"}
    assert (
        http.post("/api/v1/policies", content=bundle_of(POLICIES), headers=headers).status_code
        == 403
    )


@pytest.fixture
def cli_env(hub: RunningHub, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = hub.settings
    monkeypatch.setenv("VHHUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", settings.effective_database_url)
    return settings


def test_a_version_loaded_by_the_operator_still_needs_two_officers(
    hub: RunningHub, http: httpx.Client, cli_env: Settings, tmp_path: Path
) -> None:
    policy_dir = candidate(tmp_path)
    result = CliRunner().invoke(policy_app, ["load", str(policy_dir)])
    assert result.exit_code == 0, result.output
    version = policy_version(policy_dir)
    assert f"loaded policy version {version} (inactive)" in result.output
    listed = CliRunner().invoke(policy_app, ["list"])
    assert f"{version[:12]}  inactive" in listed.output and "operator (cli)" in listed.output
    ok(approve(http, cli_env, "fg-gemeente", version), 201)
    assert status_of(http, cli_env, version)["status"] == "inactive"
    assert ok(approve(http, cli_env, "fg-ggz", version), 201)["activated"] is True
    (load,) = [e for e in log_entries(cli_env, "policy.load") if version in e.object_ids]
    assert load.actor_partner is None and load.source == "cli"

    failing = candidate(tmp_path, "failing")
    break_a_test(failing)
    refused = CliRunner().invoke(policy_app, ["load", str(failing)])
    assert refused.exit_code == 1
    assert "cannot be approved or activated" in refused.output
