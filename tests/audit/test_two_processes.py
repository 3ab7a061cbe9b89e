"""Two hub processes appending to one PostgreSQL log under load still make one log: seq is
gap-free and unique, every leaf hash recomputes, every checkpoint either of them signed
verifies and matches the Merkle root of its prefix, and the live verification passes.

This is the deployment of DESIGN.md ("several stateless hub replicas ... against one
PostgreSQL"): real `python -m hub serve` processes sharing a data dir's keys and a database,
driven concurrently over HTTP. SQLite is the single-process embedded default, so the test
runs on PostgreSQL only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import create_engine, insert, select

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import entry_from_json, entry_leaf_hash
from hub.audit.merkle import CompactRange, root
from hub.audit.models import Checkpoint, LogEntry, LogHead
from hub.audit.store import row_json
from hub.context import HubContext
from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import backend_url, free_port
from tests.support import token_for

if TYPE_CHECKING:
    from tests.conftest import TestDatabase

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        backend_url() is None,
        reason="needs PostgreSQL: several hub processes share one database only there "
        "(SQLite is the single-process embedded default); set VHHUB_TEST_DATABASE_URL",
    ),
]

REQUESTS = 300
THREADS = 8
#: Small, so both processes sign many checkpoints while the other one is appending.
CHECKPOINT_EVERY = 16


@pytest.fixture
def db_url(test_database: TestDatabase, tmp_path: Path) -> str:
    """This test's empty database, with the log head row the migration creates (the shared
    fixture empties every table between PostgreSQL tests, the head included)."""
    url = test_database.fresh(tmp_path)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.execute(select(LogHead.id)).first() is None:
                conn.execute(
                    insert(LogHead).values(
                        id=1, size=0, frontier=[], checkpoint_size=0, checkpoint_time_us=0
                    )
                )
    finally:
        engine.dispose()
    return url


def hub_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = settings.effective_database_url
    env["VHHUB_CHECKPOINT_EVERY"] = str(CHECKPOINT_EVERY)
    env["VHHUB_CHECKPOINT_INTERVAL_S"] = "1"
    env["VHHUB_LOG_LEVEL"] = "WARNING"
    return env


def vhhub(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), *args]


@dataclass
class HubProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    output: IO[bytes]
    output_path: Path

    def tail(self) -> str:
        self.output.flush()
        return self.output_path.read_text(errors="replace")[-3000:]


def start_hub(settings: Settings, name: str, tmp_path: Path) -> HubProcess:
    port = free_port()
    path = tmp_path / f"{name}.log"
    output = path.open("wb")
    process = subprocess.Popen(
        vhhub(settings, "serve", "--port", str(port)),
        env=hub_env(settings),
        cwd=PROJECT_ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    return HubProcess(process, f"http://127.0.0.1:{port}", output, path)


def wait_ready(hub: HubProcess, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            pytest.fail(f"hub process exited with {hub.process.returncode}:\n{hub.tail()}")
        try:
            if httpx.get(f"{hub.base_url}/api/v1/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"hub at {hub.base_url} not ready after {timeout_s}s:\n{hub.tail()}")


def stop(hub: HubProcess) -> None:
    if hub.process.poll() is None:
        hub.process.terminate()
        try:
            hub.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait(timeout=15)
    hub.output.close()


@pytest.fixture
def two_hubs(settings: Settings, tmp_path: Path) -> Iterator[list[HubProcess]]:
    """`vhhub init`, then two `vhhub serve` processes on one database and one data dir."""
    init = subprocess.run(
        vhhub(settings, "init"),
        env=hub_env(settings),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    hubs: list[HubProcess] = []
    try:
        hubs.append(start_hub(settings, "hub-a", tmp_path))
        hubs.append(start_hub(settings, "hub-b", tmp_path))
        for hub in hubs:
            wait_ready(hub)
        yield hubs
    finally:
        for hub in hubs:
            stop(hub)


# -- the load --------------------------------------------------------------------------------

CASE = {
    "kind": "person",
    "proposed_table": "adults",
    "reason": "Overlast in de buurt",
    "subjects": [{"role_in_case": "subject", "bsn": "123456782"}],
}


def one_request(settings: Settings, hub: HubProcess, client: httpx.Client, n: int) -> str:
    """Request `n` of the load; every one writes exactly one access-log entry.

    Mostly failed authentications (the cheapest logged act), mixed with real work: an
    auditor's query and a police officer registering a case, with freshly minted tokens.
    """
    kind = n % 5
    if kind in (0, 1, 2):
        token = "not-a-token" if kind else "eyJhbGciOiJFZERTQSJ9.e30.AAAA"
        response = client.get(
            f"{hub.base_url}/api/v1/me",
            headers={"Authorization": f"Bearer {token}", "Purpose": "intake"},
        )
        assert response.status_code == 401, response.text
        return "auth.failure"
    if kind == 3:
        token = token_for(settings, "zvh", f"aud-{n % 3}", ["auditor"])
        response = client.get(
            f"{hub.base_url}/api/v1/audit/entries",
            params={"limit": 1, "action": "auth.failure"},
            headers={"Authorization": f"Bearer {token}", "Purpose": "audit"},
        )
        assert response.status_code == 200, response.text
        return "log.query"
    token = token_for(settings, "politie", f"agent-{n % 7}", ["publisher", "participant"])
    response = client.post(
        f"{hub.base_url}/api/v1/cases",
        json=CASE,
        headers={"Authorization": f"Bearer {token}", "Purpose": "intake"},
    )
    assert response.status_code == 201, response.text
    return "case.register"


def drive(settings: Settings, hubs: list[HubProcess]) -> Counter[str]:
    """REQUESTS requests from THREADS threads, alternating between the two processes."""

    def worker(start: int) -> Counter[str]:
        done: Counter[str] = Counter()
        with httpx.Client(timeout=60) as client:
            for n in range(start, REQUESTS, THREADS):
                done[one_request(settings, hubs[n % 2], client, n)] += 1
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    return sum(results, Counter())


def test_two_processes_under_load_append_one_gap_free_verifiable_log(
    settings: Settings, two_hubs: list[HubProcess]
) -> None:
    sent = drive(settings, two_hubs)
    assert sum(sent.values()) == REQUESTS
    for hub in two_hubs:
        assert hub.process.poll() is None, hub.tail()

    ctx = HubContext.open(settings)
    try:
        with ctx.db.transaction() as session:
            rows = session.scalars(select(LogEntry).order_by(LogEntry.seq)).all()
            checkpoints = session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)).all()
            head = session.get(LogHead, 1)
        assert head is not None

        # one gap-free sequence without duplicates, and nothing lost: one entry per request
        seqs = [row.seq for row in rows]
        assert seqs == list(range(len(rows)))
        assert head.size == len(rows)
        logged = Counter(row.action for row in rows)
        for action, count in sent.items():
            assert logged[action] == count, (action, logged[action], count)
        assert len(rows) == REQUESTS
        # each entry is its own request (no entry written twice)
        assert len({row.request_id for row in rows}) == len(rows)

        # every leaf hash recomputes from its row
        leaves = [row.leaf_hash for row in rows]
        for row in rows:
            assert entry_leaf_hash(entry_from_json(row_json(row))) == row.leaf_hash, row.seq
        # the head's frontier is the tree of all the leaves
        assert CompactRange.from_hex(head.size, head.frontier).root() == root(leaves)

        # every checkpoint, whichever process signed it, verifies and matches its prefix
        assert len(checkpoints) >= REQUESTS // CHECKPOINT_EVERY
        verifier_key = ctx.log.signer.verifier_key
        for checkpoint in checkpoints:
            note = parse_and_verify_checkpoint(
                checkpoint.note, verifier_key, expected_origin=ctx.log.signer.origin
            )
            assert note.tree_size == checkpoint.tree_size
            assert note.root == checkpoint.root_hash == root(leaves[: checkpoint.tree_size])

        report = ctx.audit.verify_live()
        assert report.ok, report.problem
        assert report.entries_checked == len(rows)
        assert report.checkpoints_checked == len(checkpoints)
    finally:
        ctx.close()
