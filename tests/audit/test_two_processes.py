"""Two hub processes appending to one PostgreSQL log under load still make one log: seq is
gap-free and unique, every leaf hash recomputes, every checkpoint either of them signed
verifies and matches the Merkle root of its prefix, and the live verification passes.

This is the deployment of docs/principles.md, section 12
("several stateless hub replicas ... against one
PostgreSQL"): real `python -m hub serve` processes sharing a data dir's keys and a database,
driven concurrently over HTTP. SQLite is the single-process embedded default, so the test
runs on PostgreSQL only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import select

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import entry_from_json, entry_leaf_hash
from hub.audit.merkle import CompactRange, root
from hub.audit.models import Checkpoint, LogEntry, LogHead
from hub.audit.store import row_json
from hub.audit.verify import VerifyReport
from hub.context import HubContext
from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import backend_url, free_port
from tests.support import token_for

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


def hub_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = settings.effective_database_url
    env["VHHUB_CHECKPOINT_EVERY"] = str(CHECKPOINT_EVERY)
    env["VHHUB_CHECKPOINT_INTERVAL_S"] = "1"
    env["VHHUB_LOG_LEVEL"] = "WARNING"
    # this test counts one entry per request, refusals included
    env["VHHUB_REFUSALS_LOGGED_PER_SOURCE_PER_MINUTE"] = "100000"
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


def wait_ready(hub: HubProcess, timeout_s: float = 90) -> str | None:
    """None once /api/v1/ready answers 200; else what went wrong."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            return f"hub process exited with {hub.process.returncode}:\n{hub.tail()}"
        try:
            if httpx.get(f"{hub.base_url}/api/v1/ready", timeout=2).status_code == 200:
                return None
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return f"hub at {hub.base_url} not ready after {timeout_s}s:\n{hub.tail()}"


def start_ready_hub(
    settings: Settings, name: str, tmp_path: Path, started: list[HubProcess]
) -> HubProcess:
    """Start a hub and wait for it; a port taken meanwhile (free_port's race) gets a retry.
    Every process started is put in `started`, so the caller can always stop it."""
    problem = ""
    for attempt in range(3):
        hub = start_hub(settings, f"{name}-{attempt}", tmp_path)
        started.append(hub)
        problem = wait_ready(hub) or ""
        if not problem:
            return hub
        stop(hub)
        if "address already in use" not in problem.lower():
            break
    pytest.fail(problem)


def stop(hub: HubProcess) -> None:
    if hub.process.poll() is None:
        hub.process.terminate()
        try:
            hub.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait(timeout=15)
    if not hub.output.closed:
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
    started: list[HubProcess] = []
    try:
        yield [start_ready_hub(settings, name, tmp_path, started) for name in ("a", "b")]
    finally:
        for hub in started:
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
    ctx = HubContext.open(settings)
    try:
        # the live verification, run again and again while both processes append
        loaded = threading.Event()
        during: list[VerifyReport] = []

        failures: list[BaseException] = []

        def verify_meanwhile() -> None:
            try:
                while not loaded.is_set():
                    during.append(ctx.audit.verify_live())
            except BaseException as exc:  # reported by the test thread below
                failures.append(exc)

        verifier = threading.Thread(target=verify_meanwhile)
        verifier.start()
        try:
            sent = drive(settings, two_hubs)
        finally:
            loaded.set()
            verifier.join()
        assert sum(sent.values()) == REQUESTS
        for hub in two_hubs:
            assert hub.process.poll() is None, hub.tail()
        assert not failures, failures
        assert all(r.ok for r in during), [r.problem for r in during if not r.ok]
        assert any(0 < r.entries_checked < REQUESTS for r in during)

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
