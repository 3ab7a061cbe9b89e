"""The history of policy changes (issue 18, item 5) over the API: who loaded a version, who
approved it on which diff, when it was active, and what its manifest changed; a logged read
for privacy officers only; a CSV export that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from hub.policy_review.history import CSV_COLUMNS, file_changes
from hub.policy_review.models import PolicyVersion
from hub.policy_review.store import PolicyVersionRepository
from tests.conftest import RunningHub
from tests.policy_review.conftest import (
    approval,
    bundle_of,
    diff_digest,
    log_entries,
    officer,
    policy_copy,
    set_cell,
    upload,
)
from tests.support import As, ok


def test_history_names_loader_approvers_digests_activation_and_changed_files(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    target = policy_copy(tmp_path)
    set_cell(target, "youth", "housing", "execution", "execution", "summary_all")
    version = ok(upload(officer(http, settings, "fg-gemeente"), bundle_of(target)), 201)["version"]
    digest = diff_digest(officer(http, settings, "fg-politie"), version)
    ok(approval(officer(http, settings, "fg-politie"), version, digest), 201)
    ok(approval(officer(http, settings, "fg-ggz"), version, digest), 201)

    before = len(log_entries(settings, "policy.read"))
    history = ok(officer(http, settings, "fg-om").get("/api/v1/policies/history"))
    assert len(log_entries(settings, "policy.read")) == before + 1
    assert history["active"] == version
    assert [v["version"] for v in history["versions"]] == [shipped, version]
    old, new = history["versions"]
    assert old["status"] == "retired" and old["retired_at"] == new["activated_at"]
    assert old["loaded_by"] is None  # the operator's `vhhub init`
    assert new["loaded_by"] == {"partner": "gemeente-wi", "user": "fg-gemeente"}
    given = [(a["partner"], a["user"], a["against"], a["diff_digest"]) for a in new["approvals"]]
    assert given == [
        ("politie", "fg-politie", shipped, digest),
        ("ggz", "fg-ggz", shipped, digest),
    ]
    assert new["files"] == {
        "against": shipped,
        "added": [],
        "removed": [],
        "changed": ["data/matrix/youth.json"],
    }
    # the size of the diff the approvers were shown is known ...
    assert isinstance(new["diff_changes"], int) and new["diff_changes"] >= 1
    # ... and kept with its digest, so every replica and the hub after a restart know it too
    engine = create_engine(settings.effective_database_url)
    try:
        with Session(engine) as session:
            stored = PolicyVersionRepository(session).diff_change_count(shipped, version)
    finally:
        engine.dispose()
    assert stored == new["diff_changes"]


def test_history_is_a_read_for_privacy_officers_only(hub: RunningHub, http: httpx.Client) -> None:
    settings = hub.settings
    participant = As(http, settings, "politie", "agent-1", ["participant"], "policy_review")
    assert participant.get("/api/v1/policies/history").status_code == 403
    auditor = As(http, settings, "zvh", "auditor-1", ["auditor"], "audit")
    assert auditor.get("/api/v1/policies/history").status_code == 403


def test_history_as_csv_has_one_row_per_version_and_no_formula(
    shipped: str, hub: RunningHub, http: httpx.Client
) -> None:
    fg = officer(http, hub.settings, "fg-om")
    answer = fg.http.get("/api/v1/policies/history", headers={**fg.headers(), "accept": "text/csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == list(CSV_COLUMNS)
    assert [r[0] for r in rows[1:]] == [shipped]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_file_changes_compare_with_the_version_loaded_before() -> None:
    before = PolicyVersion(
        version="a" * 64,
        files=[{"path": "x.rego", "sha256": "1"}, {"path": "gone.rego", "sha256": "2"}],
    )
    now = [{"path": "x.rego", "sha256": "9"}, {"path": "new.rego", "sha256": "3"}]
    changes = file_changes(now, before)
    assert (changes.added, changes.removed, changes.changed) == (
        ["new.rego"],
        ["gone.rego"],
        ["x.rego"],
    )
    assert file_changes(now, None).added == []  # the first version changes nothing
