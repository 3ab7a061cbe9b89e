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
from tests.support import As

POLICIES = PROJECT_ROOT / "policies"
#: Privacy officers of three partners (every partner kind may claim the role).
OFFICERS = {
    "fg-gemeente": ("gemeente-wi", "fg-gemeente"),
    "fg-politie": ("politie", "fg-politie"),
    "fg-ggz": ("ggz", "fg-ggz"),
    "fg-gemeente-2": ("gemeente-wi", "fg-gemeente-2"),
}


def officer(http: httpx.Client, settings: Settings, name: str) -> As:
    partner, user = OFFICERS[name]
    return As(http, settings, partner, user, ["privacy_officer"], "policy_review")


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
    path = policy_dir / "disclosure_test.rego"
    path.write_text(path.read_text() + "\n" + text.strip() + "\n")


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


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Reviewed versions hold embedded engines; free them here, not in a server thread."""
    yield
    gc.collect()
