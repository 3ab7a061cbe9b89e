"""Mixed load on a hub of several worker processes: publish, briefing and updates from many
clients at once, for a bounded time; throughput, latency percentiles, errors and the RSS of
every hub process, and afterwards a verification of the access log.

    .venv/bin/python bench/load_bench.py
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--clients 16] [--workers 2] [--duration 60] [--warmup 5]
        [--mix briefing=2,updates=2,publish=1] [--cases 4] [--rss-every 1]

A fresh database is created on the PostgreSQL server (dropped afterwards) with a fresh
temporary data dir; ``vhhub init`` prepares it and ``vhhub serve --workers N`` serves it on a
free loopback port, as an operator runs it (ADR 0017). Through the API ``--cases`` cases are
played to ``case_conference`` with eight participants and seeded with 200 facts each
(25 per partner, every publishable type, as bench/briefing_bench.py does), and as many other
cases are played the same way to receive the publishes of the load (so a briefed case keeps
its 200 facts however long the run).

Then ``--clients`` threads in this process (one keep-alive httpx client each) send requests
one after the other for ``--duration`` seconds after ``--warmup`` seconds that are not
counted. Each request picks, by the weights of ``--mix``:

- **briefing**: the municipality (``gemeente-wi``) reads the briefing of one of the seeded
  200-fact cases (``GET /cases/{id}/briefing``, purpose case_conference);
- **updates**: the municipality polls one of the publish cases from its own last
  ``next_cursor`` (``GET /cases/{id}/updates``): what other clients published since;
- **publish**: the police publishes one fact into one of the publish cases
  (``POST /cases/{id}/facts``).

Every request carries its own single-use token, minted before the clock starts (the run
mints more on the fly should the pool run dry, and says so). Any answer but 200/201, and any
transport error, is an error. Printed: requests/s over the measured window, per kind the
count, rate and p50/p95/p99/max ms, the errors by status, and per hub process (the serving
parent and each worker, found under /proc) its RSS at the start, the peak and at the end.
Then the CPU each successful request cost the hub, PostgreSQL (its processes on this
machine, when it runs here) and the clients, and the rate the machine's cores could carry at
that cost: when the machine is busy throughout, that is the bound the load meets.

When the server has autovacuum off (the development machine's does, for repeatable tests),
the bench does the daemon's work by its rules (`AutovacuumStandIn`), so the load meets a
database the planner has statistics for, as a production server's; it prints what it did.

Afterwards the bench checks what the load left: every successful request appended at least
one access-log entry (the log grew by at least the number of successful requests; each
answer came only after its entry committed), every acknowledged publish is stored, and
``vhhub audit verify`` passes over the whole log (hashes, order, Merkle proofs, checkpoint
signatures). A failed check makes the bench exit 1.

The client threads share the machine's cores with the hub (on the 2-core development box,
with the hub's two workers): the figures are what the hub holds with its own load generator
beside it, not its capacity on a dedicated host.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from briefing_bench import (
    LEGAL_BASIS,
    PARTNERS,
    PHASE,
    ROLES,
    Actor,
    _ok,
    play_case,
    publishable_types,
    varied_content,
)

from hub.settings import PROJECT_ROOT, Settings

API = "/api/v1"
KINDS = ("briefing", "updates", "publish")
VIEWER = ("gemeente-wi", "gemeente-wi-user")
PUBLISHER = ("politie", "politie-user")
PUBLISH_TYPE = "police.incident/1"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# -- setup ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    base = make_url(server_url)
    name = f"vhhub_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class AutovacuumStandIn:
    """PostgreSQL's autovacuum daemon, by its own rules, for a server that has it turned off.

    A production server runs autovacuum (PostgreSQL's default); the development machine's
    server has it off, so that tests see the same plans every run. Under a load that starts
    from empty tables that matters: no table of the bench's fresh database is ever analysed,
    the planner works from default selectivities, and it goes on scanning `fact_subjects`
    and the outbox whole as they grow -- PostgreSQL's CPU per request then doubled over a
    run (ADR 0020, section 20). Every `autovacuum_naptime` the stand-in asks
    `pg_stat_user_tables` which tables the daemon would vacuum or analyse, with the server's
    own thresholds and scale factors, and runs that VACUUM or ANALYZE on a connection of its
    own. Its work is done by a PostgreSQL backend, so it is counted in PostgreSQL's CPU as the
    daemon's would be."""

    CHECK = text(
        "SELECT s.schemaname, s.relname, greatest(c.reltuples, 0), s.n_dead_tup, "
        "s.n_ins_since_vacuum, s.n_mod_since_analyze "
        "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    )

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with self._engine.connect() as conn:
            self.server_on = conn.execute(text("SHOW autovacuum")).scalar_one() == "on"
            self._setting = {
                name: float(value)
                for name, value in conn.execute(
                    text("SELECT name, setting FROM pg_settings WHERE name LIKE 'autovacuum_%'")
                )
                if value.lstrip("-").replace(".", "", 1).isdigit()
            }
        self.naptime = self._setting["autovacuum_naptime"]
        self.vacuums = 0
        self.analyzes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autovacuum", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.ident is not None:
            self._stop.set()
            self._thread.join()
        self._engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.naptime):
            self.visit()

    def visit(self) -> None:
        """What one visit of the daemon to the database does (relation_needs_vacanalyze)."""
        get = self._setting.get
        with self._engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for schema, table, tuples, dead, inserted, modified in conn.execute(self.CHECK).all():
                vacuum = dead > get("autovacuum_vacuum_threshold", 50) + get(
                    "autovacuum_vacuum_scale_factor", 0.2
                ) * tuples or (
                    get("autovacuum_vacuum_insert_threshold", 1000) >= 0
                    and inserted
                    > get("autovacuum_vacuum_insert_threshold", 1000)
                    + get("autovacuum_vacuum_insert_scale_factor", 0.2) * tuples
                )
                analyze = (
                    modified
                    > get("autovacuum_analyze_threshold", 50)
                    + get("autovacuum_analyze_scale_factor", 0.1) * tuples
                )
                if not (vacuum or analyze):
                    continue
                name = f"{quote(schema)}.{quote(table)}"
                if vacuum:
                    conn.execute(text(f"VACUUM {'(ANALYZE) ' if analyze else ''}{name}"))
                    self.vacuums += 1
                else:
                    conn.execute(text(f"ANALYZE {name}"))
                self.analyzes += analyze

    def describe(self) -> str:
        if self.server_on:
            return "PostgreSQL's autovacuum: on (the server's own)"
        if self._thread.ident is None:
            return (
                "PostgreSQL's autovacuum: off on the server, and no stand-in "
                "(--no-autovacuum-stand-in): no table was vacuumed or analysed"
            )
        return (
            f"PostgreSQL's autovacuum: off on the server; the bench stood in for it by its "
            f"rules every {self.naptime:g} s: {self.vacuums} VACUUM, {self.analyzes} ANALYZE"
        )


def hub_env(data_dir: Path, database_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VHHUB_DATA_DIR=str(data_dir),
        VHHUB_DATABASE_URL=database_url,
        VHHUB_LOG_LEVEL="WARNING",
        VHHUB_METRICS_TOKEN=METRICS_TOKEN,
    )
    env.update(extra)
    return env


def vhhub(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "vhhub"), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


@contextmanager
def serving_hub(env: dict[str, str], workers: int) -> Iterator[tuple[str, int]]:
    """`vhhub serve --workers N` on a free port; yields its base URL and the parent's pid."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "vhhub"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                if httpx.get(f"{base_url}{API}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise SystemExit(f"the hub did not start: {err[-2000:]}")
            time.sleep(0.2)
        # wait until every worker process exists (one answering health is not all of them)
        expected = 1 if workers == 1 else workers + 2  # parent, resource tracker, workers
        while len(hub_processes(process.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        yield base_url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving_hubs(
    env: dict[str, str], workers: int, processes: int
) -> Iterator[tuple[list[str], list[int]]]:
    """`processes` separate `vhhub serve` commands (each with `workers` workers) on the same
    database; yields their base URLs and parent pids."""
    with ExitStack() as stack:
        started = [stack.enter_context(serving_hub(env, workers)) for _ in range(processes)]
        yield [url for url, _ in started], [pid for _, pid in started]


def seed(http: httpx.Client, settings: Settings, cid: str, subjects: list[str], tag: str) -> None:
    """200 facts from the eight partners (25 each, one batch request per partner)."""
    types = publishable_types()
    n = 0
    for partner, kind in PARTNERS.items():
        actor = Actor(settings, partner, f"{partner}-user", ROLES)
        facts = []
        for i in range(25):
            type_id = types[kind][i % len(types[kind])]
            facts.append(
                {
                    "idempotency_key": f"load-{tag}-{partner}-{i}",
                    "type": type_id,
                    "subject_id": subjects[i % len(subjects)] if i % 5 else None,
                    "legal_basis": LEGAL_BASIS[kind],
                    "shareable": kind == "mental_health" and i % 4 == 0,
                    "content": varied_content(type_id, n),
                }
            )
            n += 1
        _ok(
            http.post(
                f"{API}/cases/{cid}/fact-batches",
                json={"facts": facts},
                headers=actor.headers(PHASE),
            ),
            201,
        )


# -- hub processes and their memory ---------------------------------------------------------------


def hub_processes(parent: int) -> list[int]:
    """The serving parent and its descendants (uvicorn's workers), from /proc."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry.name))
    found, todo = [], [parent]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (none when it runs elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def machine_ticks() -> tuple[int, int]:
    """All cores' busy and total clock ticks so far (/proc/stat; idle and iowait are not
    busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user time
    return total - values[3] - values[4], total


def command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    if "resource_tracker" in raw:
        return "tracker"
    return "worker" if "multiprocessing" in raw else "parent" if "serve" in raw else raw[:8]


@dataclass
class Memory:
    start: dict[int, float] = field(default_factory=dict)
    peak: dict[int, float] = field(default_factory=dict)
    end: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    #: CPU seconds at the start and the end of the measured window
    cpu_start: dict[int, float] = field(default_factory=dict)
    cpu_end: dict[int, float] = field(default_factory=dict)
    #: the same for PostgreSQL's processes, and the machine's busy and total ticks
    postgres_start: dict[int, float] = field(default_factory=dict)
    postgres_end: dict[int, float] = field(default_factory=dict)
    ticks_start: tuple[int, int] = (0, 0)
    ticks_end: tuple[int, int] = (0, 0)

    def sample(self, pids: list[int], into: dict[int, float] | None = None) -> None:
        for pid in pids:
            self.names.setdefault(pid, command_of(pid))
            value = rss_mb(pid)
            if value is None:
                continue
            self.peak[pid] = max(self.peak.get(pid, 0.0), value)
            if into is not None:
                into[pid] = value

    def cpu(self, pids: list[int], *, end: bool) -> None:
        """The CPU seconds so far of the hub's processes, this process, PostgreSQL's and the
        machine, as the start of the measured window or as its end."""
        into = self.cpu_end if end else self.cpu_start
        for pid in [*pids, os.getpid()]:
            value = cpu_s(pid)
            if value is not None:
                into[pid] = value
        postgres = self.postgres_end if end else self.postgres_start
        for pid in postgres_pids():
            value = cpu_s(pid)
            if value is not None:
                postgres[pid] = value
        if end:
            self.ticks_end = machine_ticks()
        else:
            self.ticks_start = machine_ticks()


# -- the load -------------------------------------------------------------------------------------


class TokenPool:
    """Single-use tokens minted before the clock starts; more on the fly if it runs dry."""

    def __init__(self, actor: Actor, n: int) -> None:
        self.actor = actor
        self.tokens: collections.deque[str] = collections.deque(actor.tokens(n))
        self.minted_late = 0

    def take(self) -> str:
        try:
            return self.tokens.popleft()
        except IndexError:
            self.minted_late += 1
            return self.actor.tokens(1)[0]


@dataclass
class Outcome:
    kind: str
    started: float
    ms: float
    status: int  # 0: transport error


@dataclass
class Shared:
    base_urls: list[str]
    deadline: float
    briefing_cases: list[str]
    publish_cases: list[str]
    cursors: dict[str, str]
    weights: dict[str, float]
    viewer: TokenPool
    publisher: TokenPool
    subject_of: dict[str, str]
    outcomes: list[Outcome] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(shared: Shared, number: int) -> None:
    rng = random.Random(number)
    kinds = list(shared.weights)
    weights = [shared.weights[k] for k in kinds]
    cursors = dict(shared.cursors)  # this client's own position per publish case
    mine: list[Outcome] = []
    published: list[str] = []
    sequence = 0
    # client i talks to hub process i mod n (a load balancer's round robin by connection)
    base_url = shared.base_urls[number % len(shared.base_urls)]
    with httpx.Client(base_url=base_url, timeout=60) as http:
        while time.perf_counter() < shared.deadline:
            kind = rng.choices(kinds, weights)[0]
            if kind == "publish":
                cid = rng.choice(shared.publish_cases)
                sequence += 1
                key = f"c{number}-{sequence}-{uuid.uuid4().hex[:8]}"
                body = {
                    "idempotency_key": key,
                    "type": PUBLISH_TYPE,
                    "subject_id": shared.subject_of[cid],
                    "legal_basis": LEGAL_BASIS["police"],
                    "content": varied_content(PUBLISH_TYPE, sequence),
                }
                headers = {
                    "Authorization": f"Bearer {shared.publisher.take()}",
                    "Purpose": PHASE,
                }
                t0 = time.perf_counter()
                try:
                    response = http.post(f"{API}/cases/{cid}/facts", json=body, headers=headers)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                ms = (time.perf_counter() - t0) * 1000
                if status == 201:
                    published.append(response.json()["facts"][0]["id"])
            else:
                headers = {"Authorization": f"Bearer {shared.viewer.take()}", "Purpose": PHASE}
                if kind == "briefing":
                    cid = rng.choice(shared.briefing_cases)
                    url, params = f"{API}/cases/{cid}/briefing", {}
                else:
                    cid = rng.choice(shared.publish_cases)
                    url, params = f"{API}/cases/{cid}/updates", {"cursor": cursors[cid]}
                t0 = time.perf_counter()
                try:
                    response = http.get(url, params=params, headers=headers)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                ms = (time.perf_counter() - t0) * 1000
                if kind == "updates" and status == 200:
                    cursors[cid] = response.json()["next_cursor"]
            mine.append(Outcome(kind, t0, ms, status))
    with shared.lock:
        shared.outcomes.extend(mine)
        shared.published.extend(published)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def parse_mix(text_: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text_.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise SystemExit(f"--mix: unknown kind {name!r} (one of {', '.join(KINDS)})")
        weights[name] = float(value)
    if not weights or sum(weights.values()) <= 0:
        raise SystemExit("--mix needs at least one positive weight")
    return weights


def log_size(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT size FROM access_log_head WHERE id = 1")).scalar_one()
            )
    finally:
        engine.dispose()


def stored_facts(database_url: str, ids: list[str]) -> int:
    engine = create_engine(database_url)
    found = 0
    try:
        with engine.connect() as conn:
            for i in range(0, len(ids), 1000):
                chunk = ids[i : i + 1000]
                found += int(
                    conn.execute(
                        text("SELECT count(*) FROM facts WHERE id = ANY(:ids)"), {"ids": chunk}
                    ).scalar_one()
                )
    finally:
        engine.dispose()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="a PostgreSQL server")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="--workers of each vhhub serve")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="separate vhhub serve commands on their own ports, clients spread round robin "
        "(--processes 2 --workers 1: two hub processes, evenly loaded)",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted")
    parser.add_argument("--mix", default="briefing=2,updates=2,publish=1")
    parser.add_argument("--cases", type=int, default=4, help="briefed cases (and publish cases)")
    parser.add_argument("--rss-every", type=float, default=1.0, help="RSS sampling interval (s)")
    parser.add_argument(
        "--token-rate",
        type=float,
        default=350.0,
        help="requests/s to mint tokens for in advance (more are minted on the fly)",
    )
    parser.add_argument(
        "--hub-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the hub processes (repeatable), e.g. "
        "VHHUB_WORKER_THREADS=8 or MALLOC_ARENA_MAX=2",
    )
    parser.add_argument(
        "--no-autovacuum-stand-in",
        action="store_true",
        help="when the server's autovacuum is off, leave it off (the bench otherwise does "
        "the daemon's work by its rules; see AutovacuumStandIn)",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("the mixed load runs on PostgreSQL (several workers need it, ADR 0017)")
    weights = parse_mix(args.mix)

    with (
        tempfile.TemporaryDirectory(prefix="vhhub-load-") as tmp,
        scratch_database(args.database_url) as database_url,
    ):
        data_dir = Path(tmp) / "data"
        extra = dict(item.split("=", 1) for item in args.hub_env)
        env = hub_env(data_dir, database_url, extra)
        init = vhhub("init", env=env)
        if init.returncode != 0:
            raise SystemExit(f"vhhub init failed: {init.stderr[-2000:]}")
        settings = Settings(data_dir=data_dir, database_url=database_url, log_level="WARNING")
        autovacuum = AutovacuumStandIn(database_url)
        stand_in = not autovacuum.server_on and not args.no_autovacuum_stand_in
        if stand_in:
            autovacuum.start()
        with serving_hubs(env, args.workers, args.processes) as (base_urls, parents):
            base_url = base_urls[0]
            t0 = time.perf_counter()
            briefing_cases: list[str] = []
            publish_cases: list[str] = []
            subject_of: dict[str, str] = {}
            with httpx.Client(base_url=base_url, timeout=120) as http:
                for n in range(args.cases):
                    cid, subjects = play_case(http, settings)
                    seed(http, settings, cid, subjects, f"b{n}")
                    briefing_cases.append(cid)
                    cid, subjects = play_case(http, settings)
                    publish_cases.append(cid)
                    subject_of[cid] = subjects[0]
                viewer_actor = Actor(settings, *VIEWER, ROLES)
                cursors = {}
                for cid in publish_cases:
                    cursors[cid] = _ok(
                        http.get(f"{API}/cases/{cid}/updates", headers=viewer_actor.headers(PHASE))
                    )["next_cursor"]
            setup_s = time.perf_counter() - t0
            total = (args.duration + args.warmup) * args.token_rate
            share = {k: w / sum(weights.values()) for k, w in weights.items()}
            t0 = time.perf_counter()
            viewer = TokenPool(
                viewer_actor,
                int(total * (share.get("briefing", 0) + share.get("updates", 0))) + 100,
            )
            publisher = TokenPool(
                Actor(settings, *PUBLISHER, ROLES), int(total * share.get("publish", 0)) + 100
            )
            mint_s = time.perf_counter() - t0
            print(
                f"setup: {args.cases} briefed cases of 200 facts and {args.cases} publish "
                f"cases in {setup_s:.1f} s; {len(viewer.tokens) + len(publisher.tokens)} "
                f"tokens minted in {mint_s:.1f} s"
            )

            pids = sorted(p for parent in parents for p in hub_processes(parent))
            memory = Memory()
            memory.sample(pids, memory.start)
            size_before = log_size(database_url)
            log_before = scrape_log_histograms(base_urls)
            start = time.perf_counter()
            shared = Shared(
                base_urls=base_urls,
                deadline=start + args.warmup + args.duration,
                briefing_cases=briefing_cases,
                publish_cases=publish_cases,
                cursors=cursors,
                weights=weights,
                viewer=viewer,
                publisher=publisher,
                subject_of=subject_of,
            )
            threads = [
                threading.Thread(target=client, args=(shared, i), daemon=True)
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            warm_until = start + args.warmup
            while any(t.is_alive() for t in threads):
                memory.sample(pids)
                if not memory.cpu_start and time.perf_counter() >= warm_until:
                    memory.cpu(pids, end=False)
                time.sleep(args.rss_every)
            memory.cpu(pids, end=True)
            for thread in threads:
                thread.join()
            memory.sample(pids, memory.end)
            # let the workers finish what they answered, then read the log
            time.sleep(0.5)
            size_after = log_size(database_url)
            log_after = scrape_log_histograms(base_urls)
        autovacuum.stop()
        # the hub has stopped (and signed what it owed); now check what it left
        verify = vhhub("audit", "verify", env=env, timeout=1800)
        measured_from = start + args.warmup
        window = [o for o in shared.outcomes if o.started >= measured_from]
        report(args, window, shared, memory, pids, weights)
        print(autovacuum.describe())
        report_log(log_before, log_after)
        ok_all = [o for o in shared.outcomes if o.status in (200, 201)]
        grown = size_after - size_before
        found = stored_facts(database_url, shared.published)
        print()
        print("after the load:")
        checks = [
            (
                grown >= len(ok_all),
                f"access log grew by {grown:,} entries for {len(ok_all):,} successful "
                "requests (each needs at least one, committed before its answer)",
            ),
            (
                found == len(shared.published),
                f"{found:,} of {len(shared.published):,} acknowledged publishes are stored",
            ),
            (
                verify.returncode == 0,
                f"vhhub audit verify: exit {verify.returncode}: "
                + (verify.stdout.strip() or verify.stderr.strip()).splitlines()[-1][:200],
            ),
        ]
        for good, line in checks:
            print(f"  {'ok  ' if good else 'FAIL'} {line}")
        return 0 if all(good for good, _ in checks) else 1


#: the bench's hubs serve /metrics to this token, to show the access log under the load
METRICS_TOKEN = secrets.token_urlsafe(32)
#: histograms of the access log's serialisation point (hub/metrics.py, ADR 0020)
LOG_HISTOGRAMS = {
    "vhhub_access_log_lock_wait_seconds": "head lock: wait",
    "vhhub_access_log_lock_hold_seconds": "head lock: hold",
    "vhhub_access_log_batch_entries": "group commit: entries per batch",
}


@dataclass
class Histogram:
    """One histogram, summed over the hub processes: cumulative bucket counts, sum, count."""

    buckets: dict[float, float] = field(default_factory=dict)
    total: float = 0.0
    count: float = 0.0

    def minus(self, before: Histogram) -> Histogram:
        return Histogram(
            {le: n - before.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.total - before.total,
            self.count - before.count,
        )

    def upper_bound(self, q: float) -> float | None:
        """The smallest bucket bound that at least `q` of the observations stay within."""
        for le in sorted(self.buckets):
            if self.count and self.buckets[le] >= q * self.count:
                return le
        return None


def scrape_log_histograms(base_urls: list[str]) -> dict[str, Histogram]:
    """The access-log histograms of every hub process (one per URL with --processes; with
    --workers N behind one URL, whichever worker answers)."""
    found = {name: Histogram() for name in LOG_HISTOGRAMS}
    for base_url in base_urls:
        response = httpx.get(
            f"{base_url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=30,
        )
        response.raise_for_status()
        for family in text_string_to_metric_families(response.text):
            histogram = found.get(family.name)
            if histogram is None:
                continue
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    histogram.buckets[le] = histogram.buckets.get(le, 0.0) + sample.value
                elif sample.name.endswith("_sum"):
                    histogram.total += sample.value
                elif sample.name.endswith("_count"):
                    histogram.count += sample.value
    return found


def report_log(before: dict[str, Histogram], after: dict[str, Histogram]) -> None:
    """What the access log's one serialisation point did in the measured window."""
    print()
    print("the access log under the load (hub metrics, measured window, all processes):")
    for name, title in LOG_HISTOGRAMS.items():
        h = after[name].minus(before[name])
        if not h.count:
            print(f"  {title:34} none")
            continue
        mean = h.total / h.count
        p50, p95 = h.upper_bound(0.5), h.upper_bound(0.95)
        if name.endswith("_seconds"):
            print(
                f"  {title:34} {h.count:8,.0f} times, mean {mean * 1000:7.1f} ms, "
                f"p50 <= {_ms(p50)}, p95 <= {_ms(p95)}"
            )
        else:
            print(
                f"  {title:34} {h.count:8,.0f} batches, {h.total:,.0f} entries, "
                f"mean {mean:.1f}, p50 <= {p50:g}, p95 <= {p95:g}"
            )


def _ms(bound: float | None) -> str:
    return "?" if bound is None else ("inf" if bound == float("inf") else f"{bound * 1000:g} ms")


def capacity(memory: Memory, hub_cpu: float, client_cpu: float, ok: int, seconds: float) -> None:
    """CPU per request of everything the load runs on this machine -- the hub, PostgreSQL
    (when it runs here) and the clients -- and the rate the machine's cores could carry at
    that cost: the bound the load meets when the machine is busy throughout."""
    if not ok:
        return
    # a backend that started in the window counts from zero; one that ended is lost
    postgres = sum(
        end - memory.postgres_start.get(pid, 0.0) for pid, end in memory.postgres_end.items()
    )
    busy = memory.ticks_end[0] - memory.ticks_start[0]
    total = memory.ticks_end[1] - memory.ticks_start[1]
    cores = os.cpu_count() or 1
    per_request = 1000 * (hub_cpu + postgres + client_cpu) / ok
    where = (
        f"PostgreSQL {1000 * postgres / ok:.1f} ms"
        if memory.postgres_end
        else "PostgreSQL not on this machine"
    )
    print(
        f"CPU per successful request: hub {1000 * hub_cpu / ok:.1f} ms, {where}, clients "
        f"{1000 * client_cpu / ok:.1f} ms; together {per_request:.1f} ms"
    )
    busy_s = busy / os.sysconf("SC_CLK_TCK")
    print(
        f"the machine's {cores} cores were {100 * busy / max(total, 1):.0f}% busy; at "
        f"{per_request:.1f} ms of CPU per request they carry at most "
        f"{cores * 1000 / per_request:,.0f} requests/s"
    )
    # what a process that ended in the window used (a connection the pool closed) and the
    # kernel's own work are in the machine's busy time, not in the processes counted
    print(
        f"the processes counted account for "
        f"{100 * (hub_cpu + postgres + client_cpu) / max(busy_s, 1e-9):.0f}% of the machine's "
        f"busy time"
    )


def report(
    args: argparse.Namespace,
    window: list[Outcome],
    shared: Shared,
    memory: Memory,
    pids: list[int],
    weights: dict[str, float],
) -> None:
    seconds = args.duration
    ok = [o for o in window if o.status in (200, 201)]
    errors = collections.Counter(o.status for o in window if o.status not in (200, 201))
    mix = ", ".join(f"{k} {w:g}" for k, w in weights.items())
    print()
    print(
        f"mixed load, PostgreSQL, {args.processes} x vhhub serve --workers {args.workers}, "
        f"{args.clients} "
        f"clients (threads of this process, keep-alive), {seconds:g} s measured after "
        f"{args.warmup:g} s warm-up; mix by weight: {mix}"
        + (f"; hub environment: {' '.join(args.hub_env)}" if args.hub_env else "")
    )
    listed = ", ".join(f"{status or 'transport'}: {n}" for status, n in sorted(errors.items()))
    print(
        f"throughput: {len(window) / seconds:,.1f} requests/s ({len(ok) / seconds:,.1f} "
        f"successful), errors: {sum(errors.values())}" + (f" ({listed})" if listed else "")
    )
    print(
        f"{'kind':<10}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for kind in KINDS:
        times = [o.ms for o in ok if o.kind == kind]
        if not times:
            continue
        print(
            f"{kind:<10}{len(times):>8}{len(times) / seconds:>9.1f}{pct(times, 50):>9.1f}"
            f"{pct(times, 95):>9.1f}{pct(times, 99):>9.1f}{max(times):>9.1f}"
        )
    all_times = [o.ms for o in ok]
    if all_times:
        print(
            f"{'all':<10}{len(all_times):>8}{len(all_times) / seconds:>9.1f}"
            f"{pct(all_times, 50):>9.1f}{pct(all_times, 95):>9.1f}{pct(all_times, 99):>9.1f}"
            f"{max(all_times):>9.1f}"
        )
    late = shared.viewer.minted_late + shared.publisher.minted_late
    if late:
        print(f"note: {late} tokens were minted during the run (the pool ran dry)")
    print()
    print("hub processes: RSS MB (VmRSS) and CPU over the measured window (% of one core)")
    print(f"{'pid':>8} {'process':<8}{'start':>9}{'peak':>9}{'end':>9}{'CPU %':>8}")
    nan = float("nan")
    for pid in pids:
        used = memory.cpu_end.get(pid, nan) - memory.cpu_start.get(pid, nan)
        print(
            f"{pid:>8} {memory.names.get(pid, '?'):<8}{memory.start.get(pid, nan):>9.1f}"
            f"{memory.peak.get(pid, nan):>9.1f}{memory.end.get(pid, nan):>9.1f}"
            f"{100 * used / seconds:>8.0f}"
        )
    me = os.getpid()
    client_cpu = memory.cpu_end.get(me, nan) - memory.cpu_start.get(me, nan)
    hub_cpu = sum(memory.cpu_end.get(p, 0) - memory.cpu_start.get(p, 0) for p in pids)
    print(
        f"the clients (this process) used {100 * client_cpu / seconds:.0f}% of one core; the "
        f"hub {1000 * hub_cpu / max(len(ok), 1):.1f} ms of CPU per successful request"
    )
    capacity(memory, hub_cpu, client_cpu, len(ok), seconds)
    if shared.outcomes:
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
