"""The restore drill of docs/operations.md, run for real on PostgreSQL.

A live hub with a case and facts; an auditor keeps a signed checkpoint; `pg_dump` of the live
database; more work happens and a second checkpoint is kept; the dump is restored with
`pg_restore` into a new database and a hub is started on it with the same keys. Then:

- `vhhub audit verify --checkpoint KEPT-BEFORE-THE-DUMP` passes on the restored database, and
  a briefing answers exactly as before the dump;
- `vhhub audit verify --checkpoint KEPT-AFTER-THE-DUMP` fails and names the rollback: a
  restore is a rollback of the access log, and a checkpoint kept outside the hub shows it.

SQLite is the embedded single-process default (its backup is a file copy); the drill runs on
PostgreSQL only. `pg_dump`/`pg_restore` come from Debian's postgresql-client: without them
the test skips locally and fails in CI (`CI=true`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL, make_url

from hub.settings import Settings
from tests.cases.test_workflow import actor, new_case, publish
from tests.conftest import RunningHub, backend_url, empty_server_database
from tests.support import ok

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        backend_url() is None,
        reason="the restore drill uses pg_dump/pg_restore: set VHHUB_TEST_DATABASE_URL",
    ),
]


VHHUB = [sys.executable, "-m", "hub"]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} not installed (Debian: postgresql-client)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _libpq_args(url: URL) -> list[str]:
    """Connection options for the PostgreSQL client tools (never a password on argv)."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    return args


def _libpq_env(url: URL) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


@pytest.fixture
def restored_url() -> Iterator[URL]:
    """A new, empty database to restore into (unique name, dropped after)."""
    with empty_server_database("vhhub_restore") as url:
        yield url


def _keep_checkpoint(http: httpx.Client, settings: Settings, path: Path, *, sign: bool) -> int:
    """What an auditor (or a partner, or a witness) does: fetch a signed checkpoint and keep
    it outside the hub. Returns its tree size."""
    auditor = actor(http, settings, "zvh", "audit", ["auditor"], "auditor-1")
    if sign:
        checkpoint = ok(auditor.post("/api/v1/audit/checkpoints"))
    else:
        checkpoint = ok(auditor.get("/api/v1/audit/checkpoints/latest"))
    path.write_text(checkpoint["note"], encoding="utf-8")
    return int(checkpoint["tree_size"])


def _facts(briefing: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((d["life_domain"], f["id"]) for d in briefing["domains"] for f in d["facts"])


def _verify(data_dir: Path, url: URL, checkpoint: Path) -> subprocess.CompletedProcess[str]:
    """`vhhub audit verify --checkpoint FILE` against a database, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = url.render_as_string(hide_password=False)
    env["VHHUB_LOG_LEVEL"] = "WARNING"
    return subprocess.run(
        [*VHHUB, "--data-dir", str(data_dir), "audit", "verify", "--checkpoint", str(checkpoint)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_restored_dump_verifies_against_a_checkpoint_kept_before_it_and_shows_the_rollback(
    http: httpx.Client, hub: RunningHub, restored_url: URL, tmp_path: Path
) -> None:
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    settings = hub.settings
    live = make_url(settings.effective_database_url)

    # a live hub with a case and facts, read by a participant
    cid = new_case(http, settings)["id"]
    publish(http, settings, cid, "politie", "police.nuisance_report/1", "drill-1")
    housing = actor(http, settings, "woningcorporatie", "preparation")
    before = ok(housing.get(f"/api/v1/cases/{cid}/briefing"))
    assert _facts(before), "the drill needs a briefing with facts"
    kept_before = tmp_path / "kept-before-dump.note"
    _keep_checkpoint(http, settings, kept_before, sign=True)

    # the backup: a custom-format dump of the live database, the hub still serving
    dump = tmp_path / "vhhub.dump"
    db = [live.database or ""]
    subprocess.run(
        [pg_dump, *_libpq_args(live), "--format=custom", "--no-owner", "--file", str(dump), *db],
        env=_libpq_env(live),
        check=True,
        capture_output=True,
        timeout=120,
    )

    # work after the dump: a second fact and reads, and a checkpoint an auditor keeps
    publish(http, settings, cid, "politie", "police.nuisance_report/1", "drill-2")
    assert len(_facts(ok(housing.get(f"/api/v1/cases/{cid}/briefing")))) > len(_facts(before))
    kept_after = tmp_path / "kept-after-dump.note"
    size_after = _keep_checkpoint(http, settings, kept_after, sign=True)

    # the restore: into a new database, nothing but the dump
    into = ["--dbname", restored_url.database or ""]
    subprocess.run(
        [pg_restore, *_libpq_args(restored_url), "--no-owner", "--exit-on-error", *into, str(dump)],
        env=_libpq_env(restored_url),
        check=True,
        capture_output=True,
        timeout=120,
    )

    # the rollback a restore is: the checkpoint kept after the dump names it
    rolled_back = _verify(settings.data_dir, restored_url, kept_after)
    assert rolled_back.returncode == 1, rolled_back.stdout + rolled_back.stderr
    assert "rolled back" in rolled_back.stderr
    assert str(size_after) in rolled_back.stderr

    # a hub on the restored database, same keys (the data dir), answers as before the dump
    restored = Settings(
        data_dir=settings.data_dir,
        database_url=restored_url.render_as_string(hide_password=False),
    )
    with RunningHub(restored) as again, again.client() as client:
        assert ok(client.get("/api/v1/ready"))
        housing_again = actor(client, restored, "woningcorporatie", "preparation")
        after = ok(housing_again.get(f"/api/v1/cases/{cid}/briefing"))
        assert _facts(after) == _facts(before)
        assert after["domains"] == before["domains"]
        assert after["policy_version"] == before["policy_version"]
        assert after["log_seq"] > before["log_seq"]

    # and the restored log verifies against the checkpoint kept before the dump
    verified = _verify(settings.data_dir, restored_url, kept_before)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok:" in verified.stdout
