"""Helpers for the privacy officer's tools: officers over real HTTP, policy copies, bundles."""

from __future__ import annotations

import gc
import io
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from hub.audit.models import LogEntry
from hub.settings import PROJECT_ROOT, Settings
from tests.support import As, ok

POLICIES = PROJECT_ROOT / "policies"
#: Privacy officers (every partner kind may claim the role). In network/demo.toml the
#: municipality's two departments, police, prosecution and GGZ are key partners; housing and
#: social work are not.
OFFICERS = {
    "fg-gemeente": ("gemeente-wi", "fg-gemeente"),
    "fg-gemeente-2": ("gemeente-wi", "fg-gemeente-2"),
    "fg-politie": ("politie", "fg-politie"),
    "fg-ggz": ("ggz", "fg-ggz"),
    "fg-om": ("om", "fg-om"),
    "fg-leerplicht": ("gemeente-leerplicht", "fg-leerplicht"),
    "fg-woning": ("woningcorporatie", "fg-woning"),
    "fg-mw": ("maatschappelijk-werk", "fg-mw"),
}
#: A full diff takes ~20 s per new version on two cores (ADR 0103).
DIFF_TIMEOUT = 300


def officer(http: httpx.Client, settings: Settings, name: str) -> As:
    partner, user = OFFICERS[name]
    return As(http, settings, partner, user, ["privacy_officer"], "policy_review")


def officer_of(http: httpx.Client, settings: Settings, partner: str, user: str) -> As:
    """Any user id a partner cares to mint: the hub only checks the partner's signature."""
    return As(http, settings, partner, user, ["privacy_officer"], "policy_review")


def diff_digest(actor: As, version: str, *, old: str = "active") -> str:
    """The digest of the full diff old -> version, as the approver is shown it."""
    body = ok(actor.get(f"/api/v1/policies/{old}/diff/{version}", timeout=DIFF_TIMEOUT))
    assert re.fullmatch(r"[0-9a-f]{64}", body["digest"])
    return str(body["digest"])


def approval(actor: As, version: str, digest: str) -> httpx.Response:
    return actor.post(f"/api/v1/policies/{version}/approvals", json={"diff_digest": digest})


def suite_digest(actor: As, suite: str) -> str:
    return str(ok(actor.get(f"/api/v1/policies/suites/active/diff/{suite}"))["digest"])


def suite_approval(actor: As, suite: str, digest: str) -> httpx.Response:
    return actor.post(f"/api/v1/policies/suites/{suite}/approvals", json={"diff_digest": digest})


def upload_suite(actor: As, data: bytes) -> httpx.Response:
    headers = {**actor.headers(), "Content-Type": "application/gzip"}
    return actor.http.post("/api/v1/policies/suites", content=data, headers=headers)


#: A syntactically valid digest of no diff the hub ever showed.
NO_DIGEST = "0" * 64


def policy_copy(tmp_path: Path, name: str = "policies") -> Path:
    target = tmp_path / name
    shutil.copytree(POLICIES, target)
    return target


def set_cell(
    policy_dir: Path, table: str, row: str, phase: str, purpose: str, profile: str
) -> None:
    """Change ONE matrix cell of a policy copy."""
    path = policy_dir / "data" / "matrix" / f"{table}.json"
    matrix = json.loads(path.read_text())
    matrix[row][phase][purpose] = profile
    path.write_text(json.dumps(matrix, indent=2) + "\n")


def drop_failing_tests(policy_dir: Path) -> list[str]:
    """Remove the tests a data change made fail, as a privacy officer adjusts them; returns
    their names. (Each test is a rule `test_x if { ... }` ending in a line "}".)"""
    from hub.rego.policy_tests import run_policy_tests

    failing = [r for r in run_policy_tests(policy_dir).results if not r.passed]
    for result in failing:
        for path in policy_dir.rglob("*_test.rego"):
            text = path.read_text()
            if f"package {result.package}\n" not in text:
                continue
            pattern = re.compile(rf"^{result.name} if \{{\n.*?^\}}\n", re.DOTALL | re.MULTILINE)
            path.write_text(pattern.sub("", text, count=1))
    return [r.qualified_name for r in failing]


def add_test(policy_dir: Path, text: str) -> None:
    """Add tests in a file of their own: the protected test files travel unchanged."""
    path = policy_dir / "added_test.rego"
    head = (
        "package vhhub.added_test\n\nimport rego.v1\n\n"
        "import data.vhhub.disclosure\nimport data.vhhub.fixtures_test as fx\n\n"
        "conference(partner, table) := d if {\n"
        "\td := disclosure.decisions with input as "
        'fx.decision_input(fx.participant(partner), "case_conference", table, '
        '"case_conference")\n}\n'
    )
    body = path.read_text() if path.exists() else head
    path.write_text(body + "\n" + text.strip() + "\n")


def break_a_test(policy_dir: Path) -> None:
    """Flip one expectation of the policy's own tests: the suite then fails."""
    path = policy_dir / "disclosure_test.rego"
    text = path.read_text()
    assert '"full"' in text
    path.write_text(text.replace('"full"', '"existence"', 1))


def bundle_of(policy_dir: Path, *, prefix: str = "policies") -> bytes:
    """A tar.gz of a policy directory, as a privacy officer would make it by hand."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        archive.add(policy_dir, arcname=prefix)
    return raw.getvalue()


def upload(actor: As, data: bytes, *, content_type: str = "application/gzip") -> httpx.Response:
    headers = {**actor.headers(), "Content-Type": content_type}
    return actor.http.post("/api/v1/policies", content=data, headers=headers)


def log_entries(settings: Settings, action_prefix: str) -> list[Any]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(LogEntry)
                    .where(LogEntry.action.startswith(action_prefix))
                    .order_by(LogEntry.seq)
                ).all()
            )
    finally:
        engine.dispose()


@pytest.fixture
def shipped(hub: Any) -> str:
    """The version `vhhub init` made active for this test (read from the running hub, as
    policies/ may change between the import of a test module and the test)."""
    return str(hub.context.gate.version)


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Reviewed versions hold embedded engines; free them here, not in a server thread."""
    yield
    gc.collect()
