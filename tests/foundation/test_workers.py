"""`vhhub serve --workers 2`: every guarantee holds across worker processes (ADR 0017).

A real `python -m hub serve --workers 2` on PostgreSQL, driven over real HTTP. Which worker
answers a connection is the kernel's choice; the test finds out which one did from /proc
(the worker process that holds the server end of the connection), so it can send a token
through one worker and replay it through the other. Shown here: a token used through one
worker is refused through the other (single use), concurrent registrations through both give
one gap-free log that `vhhub audit verify` passes, and a checkpoint is signed once for a
tail, not once per worker. On SQLite `--workers 2` is refused (exit 2): SQLite is the
single-process database.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from hub.audit.models import Checkpoint, LogEntry, LogHead
from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import backend_url, free_port
from tests.support import token_for

CASE = {
    "kind": "person",
    "proposed_table": "adults",
    "reason": "Overlast in de buurt",
    "subjects": [{"role_in_case": "subject", "bsn": "123456782"}],
}
CHECKPOINT_INTERVAL_S = 1


def hub_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = settings.effective_database_url
    env["VHHUB_NETWORK_FILE"] = str(settings.network_file)
    env["VHHUB_CHECKPOINT_INTERVAL_S"] = str(CHECKPOINT_INTERVAL_S)
    env["VHHUB_LOG_LEVEL"] = "WARNING"
    env["VHHUB_REFUSALS_LOGGED_PER_SOURCE_PER_MINUTE"] = "100000"
    env.update(extra)
    return env


def vhhub(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), *args]


@dataclass
class ServedHub:
    """A `vhhub serve` process (a uvicorn supervisor when it has workers)."""

    process: subprocess.Popen[bytes]
    port: int
    output: IO[bytes]
    output_path: Path
    scheme: str = "http"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def tail(self) -> str:
        self.output.flush()
        return self.output_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the server and its workers: the process group the test started, so a worker
        still busy when its supervisor dies is not left behind."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker that outlived it
        if not self.output.closed:
            self.output.close()


def serve(
    settings: Settings,
    tmp_path: Path,
    *args: str,
    ready: Any = None,
    env: dict[str, str] | None = None,
    scheme: str = "http",
) -> ServedHub:
    """Start `vhhub serve ARGS` on a free port and wait until `ready(hub)` says it answers
    (default: GET /api/v1/ready is 200). A port taken meanwhile gets another try."""
    problem = ""
    for attempt in range(3):
        port = free_port()
        path = tmp_path / f"serve-{port}-{attempt}.log"
        output = path.open("wb")
        process = subprocess.Popen(
            vhhub(settings, "serve", "--port", str(port), *args),
            env=env or hub_env(settings),
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the workers too
        )
        hub = ServedHub(process, port, output, path, scheme)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                problem = f"serve exited with {process.returncode}:\n{hub.tail()}"
                break
            try:
                if (ready or _http_ready)(hub):
                    return hub
            except (httpx.TransportError, OSError):
                pass
            time.sleep(0.2)
        else:
            problem = f"serve not ready after 90 s:\n{hub.tail()}"
        hub.stop()
        if "address already in use" not in problem.lower():
            break
    pytest.fail(problem)


def _http_ready(hub: ServedHub) -> bool:
    return httpx.get(f"{hub.base_url}/api/v1/ready", timeout=2).status_code == 200


# -- which worker holds a connection ----------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command may hold spaces or parentheses: the fields after the last ")"
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except OSError:
        pass
    return inodes


def worker_of(hub: ServedHub, client_port: int) -> int | None:
    """The pid of the worker holding the server end of the connection from `client_port`."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == hub.port and remote_port == client_port:
                inode = fields[9]
    if inode is None:
        return None
    for child in _children(hub.process.pid):
        if inode in _socket_inodes(child):
            return child
    return None


@dataclass
class Connection:
    """One keep-alive HTTP connection and the worker that serves it."""

    conn: http.client.HTTPConnection
    worker: int

    def request(
        self, method: str, path: str, token: str, purpose: str, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", "Purpose": purpose}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def connect(hub: ServedHub) -> Connection:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
    conn.connect()
    assert conn.sock is not None
    client_port = conn.sock.getsockname()[1]
    # the worker accepts asynchronously: ask until the connection shows up in one of them
    deadline = time.monotonic() + 10
    while (worker := worker_of(hub, client_port)) is None:
        if time.monotonic() > deadline:
            raise AssertionError("no worker holds the connection")
        time.sleep(0.05)
    return Connection(conn, worker)


def one_per_worker(hub: ServedHub, tries: int = 60) -> tuple[Connection, Connection]:
    """Two connections served by different workers."""
    opened: list[Connection] = []
    for _ in range(tries):
        connection = connect(hub)
        other = next((c for c in opened if c.worker != connection.worker), None)
        if other is not None:
            for spare in opened:
                if spare is not other:
                    spare.conn.close()
            return other, connection
        opened.append(connection)
    raise AssertionError(f"{tries} connections all went to one worker")


# -- fixtures ---------------------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    backend_url() is None,
    reason="several workers need PostgreSQL (SQLite is the single-process database); "
    "set VHHUB_TEST_DATABASE_URL",
)


@pytest.fixture
def two_workers(initialised: Settings, tmp_path: Path) -> Iterator[ServedHub]:
    hub = serve(initialised, tmp_path, "--workers", "2")
    try:
        yield hub
    finally:
        hub.stop()


def rows(settings: Settings, statement: Any) -> list[Any]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement).all())
    finally:
        engine.dispose()


# -- the guarantees ---------------------------------------------------------------------------


@needs_postgres
def test_two_workers_are_two_processes_and_a_token_is_used_once_across_them(
    initialised: Settings, two_workers: ServedHub
) -> None:
    first, second = one_per_worker(two_workers)
    assert first.worker != second.worker
    assert {first.worker, second.worker} <= set(_children(two_workers.process.pid))
    for used, replayed in ((first, second), (second, first)):
        token = token_for(initialised, "politie", "agent-1", ["participant"])
        status, me = used.request("GET", "/api/v1/me", token, "intake")
        assert status == 200 and me["partner"] == "politie"
        status, problem = replayed.request("GET", "/api/v1/me", token, "intake")
        assert status == 401, problem
        # and through the worker that took it first, too
        assert used.request("GET", "/api/v1/me", token, "intake")[0] == 401
    replays = rows(
        initialised,
        select(func.count())
        .select_from(LogEntry)
        .where(LogEntry.action == "auth.failure", LogEntry.reason == "token:replayed"),
    )
    assert replays[0][0] == 4
    first.conn.close()
    second.conn.close()


@needs_postgres
def test_concurrent_registrations_through_both_workers_make_one_gap_free_log_signed_once(
    initialised: Settings, two_workers: ServedHub
) -> None:
    connections = [connect(two_workers) for _ in range(8)]
    while len({c.worker for c in connections}) < 2:  # the kernel chose one worker: more
        connections.append(connect(two_workers))

    def register(connection: Connection) -> int:
        done = 0
        for n in range(6):
            token = token_for(initialised, "politie", f"agent-{n}", ["publisher", "participant"])
            status, body = connection.request("POST", "/api/v1/cases", token, "intake", CASE)
            assert status == 201, body
            done += 1
        return done

    with ThreadPoolExecutor(len(connections)) as pool:
        registered = sum(pool.map(register, connections))
    workers = {c.worker for c in connections}
    for connection in connections:
        connection.conn.close()
    assert len(workers) == 2 and registered == 6 * len(connections)

    seqs = [r[0] for r in rows(initialised, select(LogEntry.seq).order_by(LogEntry.seq))]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the log has a gap"
    registrations = rows(
        initialised,
        select(func.count()).select_from(LogEntry).where(LogEntry.action == "case.register"),
    )
    assert registrations[0][0] == registered

    # quiet now: both workers' signers see the stale tail; exactly one checkpoint covers it
    size = rows(initialised, select(LogHead.size))[0][0]
    deadline = time.monotonic() + 30
    while not rows(initialised, select(Checkpoint.tree_size).where(Checkpoint.tree_size == size)):
        assert time.monotonic() < deadline, "no checkpoint over the tail"
        time.sleep(0.2)
    before = rows(initialised, select(Checkpoint.tree_size).order_by(Checkpoint.tree_size))
    time.sleep(4 * CHECKPOINT_INTERVAL_S)  # several rounds of both workers' signers
    after = rows(initialised, select(Checkpoint.tree_size).order_by(Checkpoint.tree_size))
    assert after == before, "a checkpoint was signed again over a log that did not grow"
    assert rows(initialised, select(LogHead.size))[0][0] == size
    assert "checkpoint_signer_failed" not in two_workers.tail()

    verify = subprocess.run(
        vhhub(initialised, "audit", "verify"),
        env=hub_env(initialised),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_several_workers_on_sqlite_are_refused(initialised: Settings, tmp_path: Path) -> None:
    if backend_url() is not None:
        pytest.skip("the refusal is SQLite's")
    result = subprocess.run(
        vhhub(initialised, "serve", "--workers", "2", "--port", str(free_port())),
        env=hub_env(initialised),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("vhhub: several workers need PostgreSQL")
    assert "Traceback" not in result.stderr


@needs_postgres
@pytest.mark.slow  # the approvals need the full diff of two policy versions (ADR 0103)
def test_a_policy_activation_through_one_worker_is_followed_by_both(
    initialised: Settings, two_workers: ServedHub, tmp_path: Path
) -> None:
    from tests.policy_review.conftest import approval, bundle_of, diff_digest, officer, upload
    from tests.policy_review.test_approval import candidate

    first, second = one_per_worker(two_workers)

    def registered_under(connection: Connection) -> str:
        token = token_for(initialised, "politie", "agent-1", ["publisher", "participant"])
        status, body = connection.request("POST", "/api/v1/cases", token, "intake", CASE)
        assert status == 201, body
        entry = rows(
            initialised,
            select(LogEntry.policy_version).where(
                LogEntry.action == "case.register", LogEntry.case_id == body["id"]
            ),
        )
        assert len(entry) == 1
        return str(entry[0].policy_version)

    shipped = registered_under(first)
    assert registered_under(second) == shipped
    workers = {first.worker, second.worker}
    first.conn.close()
    second.conn.close()

    # four eyes, through whichever worker one keep-alive connection lands on (one worker, so
    # its cache of the diff serves the approvals)
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=two_workers.base_url, timeout=300, limits=one_connection) as http:
        loaded = upload(officer(http, initialised, "fg-gemeente"), bundle_of(candidate(tmp_path)))
        assert loaded.status_code == 201, loaded.text
        version = str(loaded.json()["version"])
        digest = diff_digest(officer(http, initialised, "fg-leerplicht"), version)
        assert (
            approval(officer(http, initialised, "fg-politie"), version, digest).status_code == 201
        )
        activated = approval(officer(http, initialised, "fg-ggz"), version, digest)
        assert activated.status_code == 201 and activated.json()["activated"] is True
    assert version != shipped

    # the same two worker processes, which decided under the old version, now decide under
    # the new one: neither was restarted, each read the activation from the database
    first, second = one_per_worker(two_workers)
    assert {first.worker, second.worker} == workers
    assert registered_under(first) == version
    assert registered_under(second) == version
    first.conn.close()
    second.conn.close()
