"""Policy versions over real HTTP: what is loaded and active, the matrix, uploads, refusals."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import httpx
from sqlalchemy import create_engine, delete, select

from hub.policy_review.models import PolicyVersion, ProtectedTestSuite
from hub.rego.bundle import policy_version
from hub.setup import initialise
from tests.conftest import RunningHub
from tests.policy_review.conftest import (
    POLICIES,
    bundle_of,
    log_entries,
    officer,
    policy_copy,
    set_cell,
    upload,
)
from tests.support import As, ok

SHIPPED = policy_version(POLICIES)


def test_init_registers_the_shipped_policy_as_the_active_version(
    hub: RunningHub, http: httpx.Client
) -> None:
    listing = ok(officer(http, hub.settings, "fg-gemeente").get("/api/v1/policies"))
    assert listing["active"] == SHIPPED
    (only,) = listing["versions"]
    assert (only["version"], only["status"], only["origin"]) == (SHIPPED, "active", "shipped")
    assert only["tests_passed"] is True and only["tests"]["failed"] == []
    assert only["loaded_by"] is None  # the operator, through `vhhub init`
    paths = {f["path"] for f in only["files"]}
    assert {"disclosure.rego", "data/matrix/multi_problem.json"} <= paths
    assert any(f["test"] for f in only["files"]) and all(
        len(f["sha256"]) == 64 for f in only["files"]
    )
    # on a new hub the first version is part of its creation (like keys and registry)
    assert not log_entries(hub.settings, "policy.load")
    assert not log_entries(hub.settings, "policy.activate")


def test_init_on_a_hub_in_use_without_policy_versions_registers_and_logs_the_shipped_one(
    hub: RunningHub, http: httpx.Client
) -> None:
    ok(officer(http, hub.settings, "fg-gemeente").get("/api/v1/policies"))  # the log is in use
    engine = create_engine(hub.settings.effective_database_url)
    with engine.begin() as conn:  # as before policy versions existed (migration 0003)
        conn.execute(delete(PolicyVersion))
    engine.dispose()
    report = initialise(hub.settings)
    assert any(
        line.startswith(f"created  policy version {SHIPPED[:12]} (shipped, active); ")
        for line in report.lines()
    )
    load, activation = log_entries(hub.settings, "policy.load") + log_entries(
        hub.settings, "policy.activate"
    )
    for entry in (load, activation):
        assert entry.object_ids == [SHIPPED] and entry.source == "init"
        assert entry.actor_partner is None
    assert "kept" in " ".join(initialise(hub.settings).lines())


def test_init_on_a_hub_without_a_protected_suite_registers_the_shipped_tests_and_logs_it(
    hub: RunningHub, http: httpx.Client
) -> None:
    """A hub from before protected suites (migration 0005) gets the shipped tests at init."""
    fg = officer(http, hub.settings, "fg-gemeente")
    (suite,) = ok(fg.get("/api/v1/policies/suites"))["suites"]
    engine = create_engine(hub.settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(delete(ProtectedTestSuite))
    engine.dispose()
    report = " ".join(initialise(hub.settings).lines())
    assert f"protected tests {suite['suite'][:12]} (shipped, active)" in report
    load, activation = [
        e
        for e in log_entries(hub.settings, "policy.")
        if e.action in ("policy.load", "policy.activate")
    ]
    for entry in (load, activation):
        assert entry.object_ids == [suite["suite"]] and entry.source == "init"
        assert "protected test suite" in entry.reason
    assert ok(fg.get("/api/v1/policies/suites"))["active"] == suite["suite"]
    assert f"protected tests {suite['suite'][:12]} (active)" in " ".join(
        initialise(hub.settings).lines()
    )


def test_every_replica_serves_the_version_stored_as_active(hub: RunningHub) -> None:
    ctx = hub.context
    assert ctx.gate.version == SHIPPED
    engine = create_engine(hub.settings.effective_database_url)
    with engine.connect() as conn:
        stored = conn.scalar(select(PolicyVersion.version).where(PolicyVersion.status == "active"))
    engine.dispose()
    assert stored == ctx.gate.version


def test_privacy_officers_and_auditors_read_policies_participants_do_not(
    hub: RunningHub, http: httpx.Client
) -> None:
    auditor = As(http, hub.settings, "zvh", "auditor-1", ["auditor"], "policy_review")
    assert ok(auditor.get("/api/v1/policies"))["active"] == SHIPPED
    participant = As(http, hub.settings, "politie", "agent", ["participant"], "policy_review")
    assert participant.get("/api/v1/policies").status_code == 403
    wrong_purpose = officer(http, hub.settings, "fg-gemeente").with_purpose("case_conference")
    assert wrong_purpose.get("/api/v1/policies").status_code == 403
    denied = [e for e in log_entries(hub.settings, "policy.read") if e.outcome == "denied"]
    assert {e.actor_user for e in denied} == {"agent", "fg-gemeente"}


def test_the_matrix_comes_as_json_with_levels_never_shared_fields_and_sources(
    hub: RunningHub, http: httpx.Client
) -> None:
    matrix = ok(
        officer(http, hub.settings, "fg-gemeente").get(f"/api/v1/policies/{SHIPPED[:12]}/matrix")
    )
    assert matrix["version"] == SHIPPED
    table = next(t for t in matrix["tables"] if t["table"] == "multi_problem")
    housing = next(r for r in table["rows"] if r["row"] == "housing")
    cell = next(c for c in housing["cells"] if c["phase"] == "case_conference")
    assert (cell["purpose"], cell["profile"]) == ("case_conference", "housing_needs")
    assert cell["domains"]["finances"] == "full" and cell["domains"]["parenting"] == "summary"
    assert "vhhub.disclosure.criminal_data_outside_justice_chain" in housing["rules"]
    assert (
        "AVG art. 10"
        in matrix["rules"]["vhhub.disclosure.criminal_data_outside_justice_chain"]["source"]
    )
    assert "diagnosis" in matrix["never_shared"]["mental_health.involvement/1"]
    assert {r["family"] for r in table["rows"]} == {
        "participant",
        "procesregisseur",
        "casusregisseur",
        "auditor",
    }
    assert len(log_entries(hub.settings, "policy.read")) == 1


def test_an_upload_is_stored_inactive_with_its_bundle_and_logged(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    changed = policy_copy(tmp_path)
    set_cell(changed, "youth", "housing", "execution", "execution", "summary_all")
    fg = officer(http, hub.settings, "fg-politie")
    loaded = ok(upload(fg, bundle_of(changed)), 201)
    version = policy_version(changed)
    assert (loaded["version"], loaded["status"], loaded["active"]) == (version, "inactive", False)
    assert loaded["loaded_by"] == {"partner": "politie", "user": "fg-politie"}
    assert loaded["origin"] == "upload" and loaded["approvals"] == []
    listing = ok(fg.get("/api/v1/policies"))
    assert listing["active"] == SHIPPED and {v["version"] for v in listing["versions"]} == {
        SHIPPED,
        version,
    }
    # the stored bundle is canonical: only the versioned files, and it hashes to the version
    download = fg.get(f"/api/v1/policies/{version}/bundle")
    assert download.status_code == 200 and download.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(download.content), mode="r:gz") as archive:
        names = set(archive.getnames())
    assert "README.md" not in names and "disclosure.rego" in names
    again = tmp_path / "again"
    again.mkdir()
    with tarfile.open(fileobj=io.BytesIO(download.content), mode="r:gz") as archive:
        archive.extractall(again, filter="data")
    assert policy_version(again) == version
    (entry,) = [e for e in log_entries(hub.settings, "policy.load") if e.actor_user == "fg-politie"]
    assert entry.object_ids == [version] and entry.outcome == "allowed"
    assert entry.policy_version == SHIPPED  # decided under the active version


def test_loading_the_same_version_twice_is_a_conflict(hub: RunningHub, http: httpx.Client) -> None:
    response = upload(officer(http, hub.settings, "fg-ggz"), bundle_of(POLICIES))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["version"] == SHIPPED


def test_a_bad_bundle_is_refused_with_422_and_never_echoed(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    secret = "Jansen-BSN-123456782"

    not_gzip = upload(fg, f"just text {secret}".encode())
    broken = policy_copy(tmp_path)
    (broken / "secret.rego").write_text(f'package vhhub.secret\n\nx := "{secret}" if {{ ((( }}\n')
    not_compiling = upload(fg, bundle_of(broken))
    bad_json = policy_copy(tmp_path, "bad-json")
    (bad_json / "data" / "extra.json").write_text(f'{{"{secret}": ')
    not_loading = upload(fg, bundle_of(bad_json))

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        link = tarfile.TarInfo("policies/link.rego")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    symlink = upload(fg, raw.getvalue())

    for response in (not_gzip, not_compiling, not_loading, symlink):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/invalid-policy-bundle")
        assert secret not in response.text
    refused = [e for e in log_entries(hub.settings, "policy.load") if e.outcome == "denied"]
    assert len(refused) == 4
    assert all(secret not in (e.reason or "") for e in refused)
    assert ok(fg.get("/api/v1/policies"))["versions"][0]["version"] == SHIPPED


def test_an_oversized_bundle_is_refused_with_413(hub: RunningHub, http: httpx.Client) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    too_big = upload(fg, b"\0" * (3 * 1024 * 1024))
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    # a small archive that would unpack to too much is refused before it is read
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for index in range(10):
            info = tarfile.TarInfo(f"data/filler{index}.json")
            payload = b" " * (1024 * 1024)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    assert len(raw.getvalue()) < 200_000
    bomb = upload(fg, raw.getvalue())
    assert bomb.status_code == 413, bomb.text


def test_an_upload_must_be_gzip(hub: RunningHub, http: httpx.Client) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    response = upload(fg, gzip.compress(b"{}"), content_type="application/json")
    assert response.status_code == 415
    assert upload(fg, bundle_of(POLICIES), content_type="text/plain").status_code == 415


def test_an_unknown_version_is_a_logged_404(hub: RunningHub, http: httpx.Client) -> None:
    fg = officer(http, hub.settings, "fg-gemeente")
    assert fg.get("/api/v1/policies/0123456789abcdef/matrix").status_code == 404
    assert fg.get("/api/v1/policies/not-a-version").status_code == 400
    denied = [e for e in log_entries(hub.settings, "policy.read") if e.outcome == "denied"]
    assert len(denied) == 1
