"""Coverage of the live log by checkpoints (issue 15, ADR 0401 "Coverage").

An honest hub signs a checkpoint at its first append and then at least every N entries or T
seconds, and signs its last entries when it stops. So `vhhub audit verify` fails a database
whose checkpoints were removed and one whose entries were left uncovered for longer than the
interval (unless `--allow-unsigned-tail`); a checkpoint row must say what its note says;
`GET /audit/checkpoints/latest` is never older than the interval and is logged; an export is
readable by its owner only. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import Engine, Table, create_engine, select, text, update

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, Event, RequestInfo
from hub.audit.models import Checkpoint, LogHead
from hub.context import HubContext
from hub.settings import PROJECT_ROOT, Settings
from tests.audit.test_tamper_db import rehash, stored_range
from tests.conftest import RunningHub
from tests.support import As, ok

pytestmark = pytest.mark.slow  # the command line runs in its own processes

HOUR_US = 3600 * 1_000_000
HEAD = cast(Table, LogHead.__table__)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        checkpoint_every=8,
        checkpoint_interval_s=60,
    )


@pytest.fixture
def ctx(initialised: Settings) -> Iterator[HubContext]:
    context = HubContext.open(initialised)
    yield context
    context.close()


@pytest.fixture
def raw(initialised: Settings) -> Iterator[Engine]:
    engine = create_engine(initialised.effective_database_url)
    yield engine
    engine.dispose()


def append(ctx: HubContext, count: int) -> None:
    for n in range(count):
        event = Event(Action.CASE_READ, Outcome.ALLOWED, object_ids=(f"obj-{n}",))
        request = RequestInfo(request_id=uuid.uuid4().hex, source="10.0.0.1")
        with ctx.db.transaction() as session:
            ctx.log.append(session, event, actor=ANONYMOUS, request=request)


def checkpoint_sizes(raw: Engine) -> list[int]:
    with raw.connect() as conn:
        return list(conn.execute(select(Checkpoint.tree_size).order_by("tree_size")).scalars())


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m hub --data-dir D ...` in its own process, on this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = settings.effective_database_url
    return subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def past_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The appender's clock an hour behind: entries as a hub wrote them an hour ago."""
    real = time.time_ns
    monkeypatch.setattr(
        "hub.audit.log.time", SimpleNamespace(time_ns=lambda: real() - HOUR_US * 1000)
    )
    yield
    monkeypatch.undo()


# -- the hub's side: it signs at its first entry, and when it stops -------------------------------


def test_the_first_append_is_signed_even_after_an_empty_trees_checkpoint(
    ctx: HubContext, raw: Engine
) -> None:
    """A checkpoint of the empty log (an auditor asked before anything happened) sets the
    checkpoint time; the first entry is still signed at once, not an interval later."""
    with ctx.db.transaction() as session:
        assert ctx.log.sign_checkpoint_now(session).tree_size == 0
    append(ctx, 3)
    assert checkpoint_sizes(raw) == [0, 1]
    assert ctx.audit.verify_live().ok


def test_a_process_that_stops_signs_its_last_entries(
    initialised: Settings, raw: Engine, past_clock: None
) -> None:
    context = HubContext.open(initialised)
    append(context, 5)  # an hour ago: 1 is signed, 2..5 wait for the interval
    assert checkpoint_sizes(raw) == [1]
    stale = context.audit.verify_live()
    assert not stale.ok and stale.first_broken_seq == 1
    context.close()  # an honest hub signs its tail on the way out
    assert checkpoint_sizes(raw) == [1, 5]
    reader = HubContext.open(initialised)
    try:
        assert reader.audit.verify_live().ok
    finally:
        reader.close()
    assert checkpoint_sizes(raw) == [1, 5]  # a process that only read signs nothing


# -- the verifier's side: live and on the command line --------------------------------------------


def test_a_database_stripped_of_its_checkpoints_fails_unless_explicitly_allowed(
    ctx: HubContext, initialised: Settings, raw: Engine
) -> None:
    """Issue 15: edit an entry, rehash it, rewrite the head's frontier and delete every
    checkpoint -- nothing is left to contradict the edit but the rule that an honest hub
    signs at its first entry."""
    append(ctx, 20)
    with raw.begin() as conn:
        conn.execute(text("UPDATE access_log SET reason = 'edited' WHERE seq = 4"))
        rehash(conn, 4)
        conn.execute(update(HEAD).values(frontier=stored_range(conn).hex_hashes()))
        conn.execute(text("DELETE FROM checkpoints"))
    live = ctx.audit.verify_live()
    assert not live.ok and live.first_broken_seq == 0
    assert "no signed checkpoint covers any of the 20 entries" in (live.problem or "")
    assert ctx.audit.verify_live(allow_unsigned_tail=True).ok
    refused = cli(initialised, "audit", "verify")
    assert refused.returncode == 1, refused.stderr
    assert "FAILED at entry 0" in refused.stderr and "0 checkpoints" not in refused.stdout
    # a failed verdict is not appended: that would make the CLI sign a checkpoint over the
    # edited log and so cover the evidence (ADR 0016); the log stays exactly as found
    with raw.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM checkpoints")).scalar_one() == 0
        assert conn.execute(select(HEAD.c.size)).scalar_one() == 20
    assert cli(initialised, "audit", "verify").returncode == 1  # and a second run still fails
    allowed = cli(initialised, "audit", "verify", "--allow-unsigned-tail")
    assert allowed.returncode == 0, allowed.stderr
    assert "accepted (--allow-unsigned-tail)" in allowed.stdout


def test_entries_left_uncovered_longer_than_the_interval_fail_live(
    ctx: HubContext, initialised: Settings, raw: Engine, past_clock: None
) -> None:
    append(ctx, 5)
    live = ctx.audit.verify_live()
    assert not live.ok and live.first_broken_seq == 1
    assert "entries from seq 1 to 4 (4) are not covered" in (live.problem or "")
    assert "older than now" in (live.problem or "")
    assert ctx.audit.verify_live(allow_unsigned_tail=True).ok
    refused = cli(initialised, "audit", "verify")
    assert refused.returncode == 1 and "FAILED at entry 1" in refused.stderr
    assert cli(initialised, "audit", "verify", "--allow-unsigned-tail").returncode == 0


@pytest.mark.parametrize("column", ["tree_size", "root_hash"])
def test_a_checkpoint_row_that_disagrees_with_its_signed_note_fails(
    ctx: HubContext, initialised: Settings, raw: Engine, column: str
) -> None:
    """Proofs and `latest` look checkpoints up by the row's columns, which are not signed."""
    append(ctx, 12)
    assert checkpoint_sizes(raw) == [1, 9]
    with raw.begin() as conn:
        if column == "tree_size":
            conn.execute(text("UPDATE checkpoints SET tree_size = 11 WHERE tree_size = 9"))
        else:
            other = conn.execute(text("SELECT root_hash FROM checkpoints WHERE tree_size = 1"))
            conn.execute(
                text("UPDATE checkpoints SET root_hash = :r WHERE tree_size = 9"),
                {"r": other.scalar_one()},
            )
    live = ctx.audit.verify_live()
    assert not live.ok and live.first_broken_seq == 1, live.problem
    expected = (
        "the checkpoint row for size 11 holds a signed note for size 9"
        if column == "tree_size"
        else "the checkpoint row for size 9 records another root than its signed note"
    )
    assert expected in (live.problem or "")
    result = cli(initialised, "audit", "verify")
    assert result.returncode == 1 and expected in result.stdout


# -- GET /audit/checkpoints/latest ----------------------------------------------------------------


def test_the_latest_checkpoint_is_never_older_than_the_interval_and_its_read_is_logged(
    db_url: str, tmp_path: Path
) -> None:
    from hub.setup import initialise

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        checkpoint_every=1000,
        checkpoint_interval_s=1,
    )
    initialise(settings)
    with RunningHub(settings) as running, running.client() as http:
        auditor = As(http, settings, "zvh", "aud-1", ["auditor"], "audit")
        partner = As(http, settings, "politie", "agent-1", ["participant"], "preparation")
        first = auditor.get("/api/v1/audit/checkpoints/latest")
        old = ok(first)
        time.sleep(1.3)  # the newest checkpoint is now older than the interval
        second = partner.get("/api/v1/audit/checkpoints/latest")
        new = ok(second)
        received = datetime.now(UTC)
    assert new["tree_size"] > old["tree_size"]
    assert (received - datetime.fromisoformat(new["signed_at"])).total_seconds() < 1
    signed = parse_and_verify_checkpoint(new["note"], new["verifier_key"])
    assert signed.tree_size == new["tree_size"] and signed.root.hex() == new["root_hash"]
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            logged = conn.execute(
                text(
                    "SELECT seq, action, outcome, actor_partner, request_id, reason "
                    "FROM access_log WHERE reason = 'latest checkpoint' ORDER BY seq"
                )
            ).all()
    finally:
        engine.dispose()
    assert [(r.action, r.outcome, r.actor_partner) for r in logged] == [
        ("log.query", "allowed", "zvh"),
        ("log.query", "allowed", "politie"),
    ]
    assert [r.request_id for r in logged] == [
        first.headers["x-request-id"],
        second.headers["x-request-id"],
    ]
    assert logged[1].seq < new["tree_size"]  # the fresh checkpoint covers the read itself


# -- the export file -----------------------------------------------------------------------------


def test_the_export_file_is_created_readable_by_its_owner_only(
    ctx: HubContext, initialised: Settings, tmp_path: Path
) -> None:
    append(ctx, 3)
    path = tmp_path / "log.jsonl"
    old_umask = os.umask(0)  # even a permissive umask cannot widen it
    try:
        result = cli(initialised, "audit", "export", str(path))
    finally:
        os.umask(old_umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # an existing file is never written over (it would keep its mode and its readers)
    before = path.read_bytes()
    again = cli(initialised, "audit", "export", str(path))
    assert again.returncode == 2 and "never overwrites" in again.stderr
    assert path.read_bytes() == before
    key = ctx.log.signer.verifier_key
    assert cli(initialised, "audit", "verify", str(path), "--public-key", key).returncode == 0


def test_a_clean_live_verification_is_recorded_for_the_status_page(
    ctx: HubContext, initialised: Settings, raw: Engine
) -> None:
    """`vhhub audit verify` on an intact database leaves a `log.verify` entry with its counts,
    which the auditor's status page reads as the last verification (ADR 0016)."""
    append(ctx, 3)
    done = cli(initialised, "audit", "verify")
    assert done.returncode == 0, done.stderr
    with raw.connect() as conn:
        action, reason = conn.execute(
            text("SELECT action, reason FROM access_log ORDER BY seq DESC LIMIT 1")
        ).one()
    assert action == Action.LOG_VERIFY
    assert reason.startswith("live verification: ok; ")
