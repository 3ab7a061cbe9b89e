"""Four eyes across organisations, over real HTTP: privacy officers of two different key
partners other than the loader's activate a version, each on the digest of the diff they were
shown; nobody alone does, one partner's officers are one vote, the loader's partner never
counts, and a version that fails its own tests never activates."""

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
    NO_DIGEST,
    POLICIES,
    approval,
    break_a_test,
    bundle_of,
    diff_digest,
    log_entries,
    officer,
    officer_of,
    policy_copy,
    set_cell,
    upload,
)
from tests.support import As, ok


def candidate(tmp_path: Path, name: str = "candidate") -> Path:
    """A valid new version: one cell the shipped tests do not pin."""
    target = policy_copy(tmp_path, name)
    set_cell(target, "youth", "housing", "execution", "execution", "summary_all")
    return target


def loaded_by(http: httpx.Client, settings: Settings, who: str, policy_dir: Path) -> str:
    body = ok(upload(officer(http, settings, who), bundle_of(policy_dir)), 201)
    return str(body["version"])


def digest_for(http: httpx.Client, settings: Settings, version: str) -> str:
    """The digest of the diff active -> version, as a privacy officer asks for it."""
    return diff_digest(officer(http, settings, "fg-leerplicht"), version)


def approve(
    http: httpx.Client, settings: Settings, who: str, version: str, digest: str
) -> httpx.Response:
    return approval(officer(http, settings, who), version, digest)


def status_of(http: httpx.Client, settings: Settings, version: str) -> dict[str, object]:
    body: dict[str, object] = ok(
        officer(http, settings, "fg-gemeente").get(f"/api/v1/policies/{version}")
    )
    return body


def test_a_single_privacy_officer_cannot_activate(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)
    first = ok(approve(http, settings, "fg-politie", version, digest), 201)
    assert first == {**first, "approval_recorded": True, "activated": False}
    assert first["policy"]["approvals_counted"] == ["politie"]
    assert first["policy"]["quorum"] == {"approvals": 2, "key_partners_only": True}
    assert status_of(http, settings, version)["status"] == "inactive"
    assert hub.context.gate.version == shipped


def test_two_approvals_by_the_same_person_count_once(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)
    ok(approve(http, settings, "fg-politie", version, digest), 201)
    again = ok(approve(http, settings, "fg-politie", version, digest), 200)
    assert again["approval_recorded"] is False and again["activated"] is False
    assert len(again["policy"]["approvals"]) == 1
    assert status_of(http, settings, version)["status"] == "inactive"
    reasons = [e.reason for e in log_entries(settings, "policy.approve")]
    assert reasons == ["approval 1 of 2", "repeat approval by the same partner: counts once"]


def test_officers_of_one_partner_are_one_vote_however_many_user_ids_it_mints(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    """A partner signs its own tokens and may put any `sub` in them: five "officers" of the
    police are still the police, once."""
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)
    first = approval(officer_of(http, settings, "politie", "po-1"), version, digest)
    assert ok(first, 201)["activated"] is False
    for user in ("po-2", "po-3", "po-4", "po-5"):
        again = ok(approval(officer_of(http, settings, "politie", user), version, digest), 200)
        assert again["approval_recorded"] is False and again["activated"] is False
        assert again["policy"]["approvals_counted"] == ["politie"]
    assert status_of(http, settings, version)["status"] == "inactive"
    # one officer of another key partner completes the quorum
    done = ok(approve(http, settings, "fg-ggz", version, digest), 201)
    assert done["activated"] is True
    assert done["policy"]["approvals_counted"] == ["ggz", "politie"]


def test_the_loaders_partner_cannot_approve_with_any_user_id(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)
    for who in ("fg-gemeente", "fg-gemeente-2"):
        refused = approve(http, settings, who, version, digest)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/four-eyes")
    ok(approve(http, settings, "fg-politie", version, digest), 201)
    assert status_of(http, settings, version)["status"] == "inactive"
    denied = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert [(e.actor_user, e.object_ids) for e in denied] == [
        ("fg-gemeente", [version]),
        ("fg-gemeente-2", [version]),
    ]
    assert status_of(http, settings, version)["approvals"] == [
        {**status_of(http, settings, version)["approvals"][0], "partner": "politie"}  # type: ignore[index]
    ]


def test_only_key_partners_count_when_the_network_says_so(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    """The kind of a partner comes from the network file, not from its token: a housing
    corporation and social work are not key partners in the demo network."""
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)
    for who in ("fg-woning", "fg-mw"):
        refused = approve(http, settings, who, version, digest)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith("/approver-not-eligible")
    assert status_of(http, settings, version)["approvals"] == []


def test_two_key_partners_activate_and_each_act_is_logged_with_the_hash(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)
    ok(approve(http, settings, "fg-politie", version, digest), 201)
    second = ok(approve(http, settings, "fg-ggz", version, digest), 201)
    assert second["activated"] is True
    assert second["policy"]["status"] == "active" and second["policy"]["activated_at"]
    assert {
        (a["partner"], a["against"], a["diff_digest"]) for a in second["policy"]["approvals"]
    } == {
        ("politie", shipped, digest),
        ("ggz", shipped, digest),
    }
    listing = ok(officer(http, settings, "fg-gemeente").get("/api/v1/policies"))
    assert listing["active"] == version
    statuses = {v["version"]: v["status"] for v in listing["versions"]}
    assert statuses == {version: "active", shipped: "retired"}
    assert hub.context.gate.version == version

    approvals = [e for e in log_entries(settings, "policy.approve") if e.outcome == "allowed"]
    assert [e.object_ids for e in approvals] == [[version], [version]]
    activation = log_entries(settings, "policy.activate")[-1]
    assert activation.object_ids == sorted([version, shipped])  # the log sorts ids
    assert activation.policy_version == version
    assert "ggz/fg-ggz" in activation.reason and "politie/fg-politie" in activation.reason

    # an activated version is not approved again; the retired one needs a new load
    assert approve(http, settings, "fg-om", version, digest).status_code == 409
    assert approve(http, settings, "fg-om", shipped, digest).status_code == 409


def test_an_approval_needs_the_digest_of_the_diff_against_the_active_version(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    fg = officer(http, settings, "fg-politie")
    missing = fg.post(f"/api/v1/policies/{version}/approvals")
    malformed = fg.post(f"/api/v1/policies/{version}/approvals", json={"diff_digest": "abc"})
    for response in (missing, malformed):
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
    unknown = approval(fg, version, NO_DIGEST)
    # the diff of one table is not what an approval signs
    one_table = ok(fg.get(f"/api/v1/policies/active/diff/{version}", params={"table": "youth"}))
    partial = approval(fg, version, one_table["digest"])
    for response in (unknown, partial):
        assert response.status_code == 409, response.text
        assert response.json()["type"].endswith("/stale-diff")
    assert status_of(http, settings, version)["approvals"] == []
    denied = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert len(denied) == 2


def test_a_version_whose_policy_tests_fail_cannot_be_approved_or_activated(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    broken = candidate(tmp_path)
    break_a_test(broken)
    loaded = ok(upload(officer(http, settings, "fg-gemeente"), bundle_of(broken)), 201)
    assert loaded["status"] == "inactive" and loaded["tests_passed"] is False
    assert loaded["tests"]["failed_count"] >= 1 and loaded["tests"]["failed"]
    assert loaded["checks"]["passed"] is False
    version = loaded["version"]
    for who in ("fg-politie", "fg-ggz"):
        refused = approve(http, settings, who, version, NO_DIGEST)
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/approval-refused")
        assert refused.json()["failed_tests"] == loaded["tests"]["failed"]
    assert status_of(http, settings, version)["status"] == "inactive"
    assert ok(officer(http, settings, "fg-gemeente").get("/api/v1/policies"))["active"] == shipped
    denied = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert len(denied) == 2
    assert not [e for e in log_entries(settings, "policy.activate") if version in e.object_ids]


def test_an_auditor_reads_but_may_not_load_or_approve(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    auditor = As(http, settings, "zvh", "auditor-1", ["auditor"], "policy_review")
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    assert approval(auditor, version, NO_DIGEST).status_code == 403
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


def test_a_version_loaded_by_the_operator_needs_two_key_partners_on_the_cli_diff(
    hub: RunningHub, http: httpx.Client, cli_env: Settings, tmp_path: Path
) -> None:
    """`vhhub policy diff` prints the digest (and remembers it): an approver who read the
    diff in a terminal approves with it."""
    policy_dir = candidate(tmp_path)
    result = CliRunner().invoke(policy_app, ["load", str(policy_dir)])
    assert result.exit_code == 0, result.output
    version = policy_version(policy_dir)
    assert f"loaded policy version {version} (inactive)" in result.output
    listed = CliRunner().invoke(policy_app, ["list"])
    assert f"{version[:12]}  inactive" in listed.output and "operator (cli)" in listed.output
    shown = CliRunner().invoke(policy_app, ["diff", "active", version[:12]])
    assert shown.exit_code == 0, shown.output
    (line,) = [x for x in shown.output.splitlines() if x.startswith("digest: ")]
    digest = line.removeprefix("digest: ")
    assert digest == digest_for(http, cli_env, version)  # the API shows the same diff
    ok(approve(http, cli_env, "fg-gemeente", version, digest), 201)
    assert status_of(http, cli_env, version)["status"] == "inactive"
    assert ok(approve(http, cli_env, "fg-gemeente-2", version, digest), 200)["activated"] is False
    assert ok(approve(http, cli_env, "fg-ggz", version, digest), 201)["activated"] is True
    (load,) = [e for e in log_entries(cli_env, "policy.load") if version in e.object_ids]
    assert load.actor_partner is None and load.source == "cli"

    failing = candidate(tmp_path, "failing")
    break_a_test(failing)
    refused = CliRunner().invoke(policy_app, ["load", str(failing)])
    assert refused.exit_code == 1
    assert "cannot be approved or activated" in refused.output
