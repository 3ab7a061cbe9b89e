"""What the hub's publish pipeline costs over real HTTP, against a bare baseline in the same run.

    .venv/bin/python bench/publish_bench.py [--facts 1000] [--batch 100]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--profile] [--profile-rounds 20] [--profile-top 25]

A hub is started in a child process on a free loopback port, on a fresh temporary data dir
(SQLite in it by default; with ``--database-url`` a fresh database is created on that server
and dropped afterwards). A case is brought to the preparation phase as in the smoke flow, then
the police publishes ``police.incident/1`` facts:

- **hub, single**: one fact per request (``POST /api/v1/cases/{id}/facts``);
- **hub, batched**: ``--batch`` facts per request (``POST /api/v1/cases/{id}/fact-batches``);
- **baseline, single / batched**: the same bodies and headers to a bench-only route that this
  script mounts on the app object of the bench hub (never in the production app). It inserts
  the same rows as plain JSON into a table it creates in the same database, in one
  transaction per request, through the hub's own engine settings -- and does nothing else:
  no token check (JWT verification and the replay-store insert), no schema validation, no
  policy decision, no encryption, no access-log entry.

The ratio hub/baseline is therefore the share of the throughput left after everything that
makes a publish trustworthy. Tokens are single use, so every request gets a fresh one, minted
in advance outside the timed loop. One client sends requests one after the other (keep-alive);
figures are wall-clock facts per second after a short warm-up, and the median request time.

On SQLite the whole run is repeated per durability level (``--synchronous``, default
``NORMAL,FULL``: the level before ADR 0010 and the hub's level since), each on its own fresh
data dir and hub process, in the same invocation, and the FULL/NORMAL ratios are printed for
the hub and the baseline alike (the baseline shares the hub's engine settings, so it pays the
same fsyncs). PostgreSQL has no such pragma and runs once.

With ``--profile`` the last run ends with the publish in this process, without HTTP, on the
same database: per request the authentication of a fresh token and `FactService.publish`,
for one fact and for a batch: wall and CPU ms per request and the cProfile top functions by
own time (what to attack next, ADR 0020).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import pstats
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Body, FastAPI
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, create_engine, text
from sqlalchemy.engine import make_url

from hub.identity.partner_keys import load_private_jwk
from hub.identity.tokens import mint_token
from hub.settings import PROJECT_ROOT, Settings

API = "/api/v1"
BASELINE = "/bench/baseline"
EXAMPLE = json.loads((PROJECT_ROOT / "schemas/examples/police.incident.1.json").read_text())
WARMUP_REQUESTS = 10

plain_metadata = MetaData()
#: The baseline's table: the same information a fact row carries, in clear, nothing else.
plain_facts = Table(
    "bench_plain_facts",
    plain_metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), index=True),
    Column("fact_type", String(64)),
    Column("subject_id", String(36)),
    Column("legal_basis", String(64)),
    Column("idempotency_key", String(128)),
    Column("content", Text),
    Column("published_at", DateTime(timezone=True)),
)


# -- the bench hub (child process) --------------------------------------------------------------


def mount_baseline(app: FastAPI, database_url: str) -> None:
    """Add the bench-only baseline routes to this app object (the bench hub's, only)."""
    from hub.db.session import make_engine

    engine = make_engine(database_url)

    def store(case_id: str, facts: list[dict[str, Any]]) -> dict[str, Any]:
        now = datetime.now(UTC)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "case_id": case_id,
                "fact_type": f.get("type"),
                "subject_id": f.get("subject_id"),
                "legal_basis": f.get("legal_basis"),
                "idempotency_key": f.get("idempotency_key"),
                "content": json.dumps(f.get("content")),
                "published_at": now,
            }
            for f in facts
        ]
        with engine.begin() as conn:
            conn.execute(plain_facts.insert(), rows)
        return {"case_id": case_id, "facts": [{"id": r["id"]} for r in rows]}

    @app.post(f"{BASELINE}/cases/{{case_id}}/facts", status_code=201, include_in_schema=False)
    def baseline_single(case_id: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return store(case_id, [body])

    @app.post(
        f"{BASELINE}/cases/{{case_id}}/fact-batches", status_code=201, include_in_schema=False
    )
    def baseline_batch(case_id: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return store(case_id, list(body.get("facts", [])))


def serve(data_dir: str, database_url: str | None, port: int, synchronous: str | None) -> None:
    """Child process: the hub's app plus the baseline routes, on a loopback port."""
    import uvicorn

    import hub.db.session
    from hub.app import create_app

    if synchronous is not None:
        # bench only: run the hub (and the baseline) at another SQLite durability level
        hub.db.session.SQLITE_SYNCHRONOUS = synchronous

    settings = Settings(data_dir=Path(data_dir), database_url=database_url, log_level="WARNING")
    app = create_app(settings)
    mount_baseline(app, settings.effective_database_url)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


# -- the client (this process) ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Actor:
    settings: Settings
    partner: str
    user: str
    roles: list[str]

    def tokens(self, n: int) -> list[str]:
        key = load_private_jwk(self.settings, self.partner)
        return [
            mint_token(
                partner_id=self.partner,
                user=self.user,
                roles=self.roles,
                private_jwk=key,
                audience=self.settings.audience,
                ttl_s=900,
            )
            for _ in range(n)
        ]

    def headers(self, purpose: str, token: str | None = None) -> dict[str, str]:
        token = token or self.tokens(1)[0]
        return {"Authorization": f"Bearer {token}", "Purpose": purpose}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise SystemExit(f"bench setup failed: {response.status_code} {response.text[:300]}")
    return response.json()


def prepare_case(http: httpx.Client, settings: Settings) -> tuple[str, str]:
    """Register, take, screen, triage, invite, move to preparation (as /tmp/smoke.py)."""
    police = Actor(settings, "politie", "agent-1", ["publisher", "participant"])
    zvh = Actor(settings, "zvh", "pr-1", ["procesregisseur"])
    body = {
        "kind": "family",
        "proposed_table": "multi_problem",
        "reason": "Benchmark",
        "subjects": [{"role_in_case": "parent", "bsn": "123456782"}],
    }
    case = _ok(http.post(f"{API}/cases", json=body, headers=police.headers("intake")), 201)
    cid = case["id"]
    _ok(http.post(f"{API}/cases/{cid}/procesregie", headers=zvh.headers("intake")))
    _ok(
        http.post(
            f"{API}/cases/{cid}/phase-changes",
            json={"to": "screening"},
            headers=zvh.headers("intake"),
        )
    )
    _ok(http.post(f"{API}/cases/{cid}/screenings", json={}, headers=zvh.headers("screening")))
    criteria = {
        "multiple_life_domains": True,
        "criminal_or_nuisance_behaviour": True,
        "multiple_chains_needed": True,
        "impact_on_system_or_environment": True,
    }
    _ok(
        http.post(
            f"{API}/cases/{cid}/triage",
            json={"criteria": criteria, "decision": "accept"},
            headers=zvh.headers("screening"),
        )
    )
    for partner in ("woningcorporatie", "gemeente-wi", "om"):
        _ok(
            http.post(
                f"{API}/cases/{cid}/participants",
                json={"partner": partner},
                headers=zvh.headers("screening"),
            )
        )
    _ok(
        http.post(
            f"{API}/cases/{cid}/phase-changes",
            json={"to": "preparation"},
            headers=zvh.headers("screening"),
        )
    )
    return cid, case["subjects"][0]["id"]


def fact(key: str, subject_id: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "type": "police.incident/1",
        "subject_id": subject_id,
        "legal_basis": "wpg_art_19",
        "content": EXAMPLE | {"description": f"Benchmarkmelding {key}"},
    }


@dataclass
class Result:
    label: str
    facts: int
    requests: int
    seconds: float
    request_ms: list[float]

    @property
    def rate(self) -> float:
        return self.facts / self.seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.request_ms)


def measure(
    label: str,
    http: httpx.Client,
    police: Actor,
    path: str,
    bodies: list[dict[str, Any]],
    facts_per_body: Callable[[dict[str, Any]], int],
) -> Result:
    """Send every body once with its own fresh token; time only the requests."""
    tokens = police.tokens(len(bodies))  # minted before the clock starts
    headers = [police.headers("preparation", t) for t in tokens]
    times: list[float] = []
    start = time.perf_counter()
    for body, header in zip(bodies, headers, strict=True):
        t0 = time.perf_counter()
        response = http.post(path, json=body, headers=header)
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 201:
            raise SystemExit(f"{label}: {response.status_code} {response.text[:300]}")
    seconds = time.perf_counter() - start
    return Result(label, sum(facts_per_body(b) for b in bodies), len(bodies), seconds, times)


def run(
    http: httpx.Client, settings: Settings, n: int, batch: int, database_url: str
) -> list[Result]:
    cid, sid = prepare_case(http, settings)
    police = Actor(settings, "politie", "agent-1", ["publisher", "participant"])
    one: Callable[[dict[str, Any]], int] = lambda _: 1  # noqa: E731
    many: Callable[[dict[str, Any]], int] = lambda b: len(b["facts"])  # noqa: E731

    def singles(prefix: str, count: int) -> list[dict[str, Any]]:
        return [fact(f"{prefix}-{i}", sid) for i in range(count)]

    def batches(prefix: str, count: int) -> list[dict[str, Any]]:
        facts = singles(prefix, count)
        return [{"facts": facts[i : i + batch]} for i in range(0, count, batch)]

    routes = {
        "hub": (f"{API}/cases/{cid}/facts", f"{API}/cases/{cid}/fact-batches"),
        "baseline": (f"{BASELINE}/cases/{cid}/facts", f"{BASELINE}/cases/{cid}/fact-batches"),
    }
    results = []
    for name, (single_path, batch_path) in routes.items():  # warm both paths up
        measure("warmup", http, police, single_path, singles(f"w{name}", WARMUP_REQUESTS), one)
        measure("warmup", http, police, batch_path, batches(f"wb{name}", batch * 2), many)
    for mode in ("single", "batched"):
        for name, (single_path, batch_path) in routes.items():
            if mode == "single":
                bodies, path, count = singles(f"{name}-s", n), single_path, one
            else:
                bodies, path, count = batches(f"{name}-b", n), batch_path, many
            results.append(measure(f"{name} {mode}", http, police, path, bodies, count))

    engine = create_engine(database_url)
    with engine.connect() as conn:  # sanity: everything arrived, in both places
        stored = conn.execute(
            text("SELECT count(*) FROM facts WHERE case_id = :c"), {"c": cid}
        ).scalar()
        plain = conn.execute(text("SELECT count(*) FROM bench_plain_facts")).scalar()
    engine.dispose()
    expected = 2 * n + WARMUP_REQUESTS + 2 * batch
    if stored != expected or plain != expected:
        raise SystemExit(f"row counts off: hub {stored}, baseline {plain}, expected {expected}")
    if PROFILE.get("on"):
        profile_in_process(settings, police, cid, sid, batch)
    return results


#: set by --profile (rounds, top)
PROFILE: dict[str, int] = {}


def profile_in_process(settings: Settings, police: Actor, cid: str, sid: str, batch: int) -> None:
    """The publish in this process: authentication of a fresh token plus the service call,
    timed (wall and CPU) and profiled, for one fact and for one batch per request."""
    from hub.audit.log import RequestInfo
    from hub.context import HubContext
    from hub.facts.schemas import FactIn

    ctx = HubContext.open(settings)
    rounds, top = PROFILE["rounds"], PROFILE["top"]
    try:
        validation_figures(ctx.catalog, fact("v", sid)["content"])
        for size in (1, batch):

            def one(token: str, i: int, size: int = size) -> None:
                viewer = ctx.authenticator.authenticate(
                    f"Bearer {token}",
                    "preparation",
                    RequestInfo(request_id=str(uuid.uuid4()), source="127.0.0.1"),
                )
                facts = [
                    FactIn.model_validate(fact(f"p{size}-{i}-{j}-{uuid.uuid4().hex[:6]}", sid))
                    for j in range(size)
                ]
                ctx.facts.publish(viewer, cid, facts)

            for i, token in enumerate(police.tokens(3)):  # warm up
                one(token, -1 - i)
            tokens = police.tokens(rounds)
            wall: list[float] = []
            cpu: list[float] = []
            for i, token in enumerate(tokens):
                w0, c0 = time.perf_counter(), time.process_time()
                one(token, i)
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            tokens = police.tokens(rounds)
            profiler = cProfile.Profile()
            profiler.enable()
            for i, token in enumerate(tokens):
                one(token, 10_000 + i)
            profiler.disable()
            print(
                f"\nin-process publish of {size} fact(s) per request ({rounds} requests): "
                f"p50 wall {statistics.median(wall):.2f} ms, CPU {statistics.median(cpu):.2f} ms"
                f" ({statistics.median(cpu) / size:.3f} ms CPU per fact); cProfile top {top}:"
            )
            stats = pstats.Stats(profiler)
            rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
            for (path, line, name), (_, calls, own, cum, _) in rows:
                where = "/".join(Path(path).parts[-2:]) if path != "~" else "~"
                print(
                    f"  {own * 1000 / rounds:7.3f} ms own {cum * 1000 / rounds:8.3f} ms cum"
                    f" {calls / rounds:8.1f} calls/req  {where}:{line}({name})"
                )
    finally:
        ctx.close()


def validation_figures(catalog: Any, content: dict[str, Any], calls: int = 2000) -> None:
    """CPU per content validation of the bench's fact, as `FactType.validate` does it (the
    compiled pre-check first) and through the jsonschema path alone (ADR 0020)."""
    from hub.facts.catalog import _collect_errors

    fact_type = catalog.get("police.incident/1")
    c0 = time.process_time()
    for _ in range(calls):
        fact_type.validate(content)
    both = (time.process_time() - c0) / calls * 1e6
    c0 = time.process_time()
    for _ in range(calls):
        assert not _collect_errors(fact_type._validator, content)
    alone = (time.process_time() - c0) / calls * 1e6
    covered = sum(1 for t in catalog if t._precheck is not None)
    print(
        f"\ncontent validation of one {fact_type.id} fact ({calls} calls, in-process): "
        f"{both:.1f} us CPU as published (compiled pre-check first), {alone:.1f} us through "
        f"jsonschema alone; {covered} of {len(catalog)} fact types have a compiled pre-check"
    )


@contextmanager
def bench_database(server_url: str | None, data_dir: Path) -> Iterator[str]:
    """SQLite in the data dir, or a fresh database on the given server, dropped afterwards."""
    if server_url is None:
        yield Settings(data_dir=data_dir).effective_database_url
        return
    base = make_url(server_url)
    name = f"vhhub_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bench_hub(data_dir: Path, database_url: str, synchronous: str | None = None) -> Iterator[str]:
    """A hub with the baseline routes in a child process; yields its base URL."""
    port = free_port()
    spawn = multiprocessing.get_context("spawn")
    process = spawn.Process(
        target=serve, args=(str(data_dir), database_url, port, synchronous), daemon=True
    )
    process.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(f"{base_url}{API}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not process.is_alive():
                raise SystemExit("the bench hub did not start")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.join(timeout=10)


def report(results: list[Result], n: int, batch: int, backend: str) -> None:
    by = {r.label: r for r in results}
    print(f"publish throughput: {n} facts per run, {backend}, one sequential client over")
    print("loopback HTTP, a fresh single-use token per request (minted before timing)\n")
    print(f"{'run':<20}{'requests':>9}{'facts/s':>11}{'median ms/req':>15}")
    for r in results:
        print(f"{r.label:<20}{r.requests:>9}{r.rate:>11.1f}{r.median_ms:>15.2f}")
    print()
    for mode, label in (("single", "single (1 fact/request)"), ("batched", f"batched ({batch})")):
        hub, base = by[f"hub {mode}"], by[f"baseline {mode}"]
        print(
            f"{label:<26} hub/baseline = {hub.rate / base.rate:6.1%}  "
            f"(baseline {base.rate / hub.rate:.1f}x faster)"
        )
    print(
        f"batching speeds up the hub {by['hub batched'].rate / by['hub single'].rate:.1f}x, "
        f"the baseline {by['baseline batched'].rate / by['baseline single'].rate:.1f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=1000, help="facts per run (default 1000)")
    parser.add_argument("--batch", type=int, default=100, help="facts per batch (max 500)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL (postgresql+psycopg://user@host:5432/postgres); "
        "a fresh database is created on it and dropped afterwards",
    )
    parser.add_argument(
        "--synchronous",
        default="NORMAL,FULL",
        help="SQLite only: the PRAGMA synchronous levels to run, comma-separated, each on a "
        "fresh data dir in this one invocation (default NORMAL,FULL; ratios to the first)",
    )
    parser.add_argument("--profile", action="store_true", help="profile the publish in-process")
    parser.add_argument("--profile-rounds", type=int, default=20)
    parser.add_argument("--profile-top", type=int, default=25)
    args = parser.parse_args(argv)
    if args.profile:
        PROFILE.update(on=1, rounds=args.profile_rounds, top=args.profile_top)
    if not 1 <= args.batch <= 500 or args.facts < args.batch:
        parser.error("need 1 <= --batch <= 500 and --facts >= --batch")
    levels: list[str | None] = [
        level.strip().upper() for level in args.synchronous.split(",") if level.strip()
    ]
    if any(level not in SYNCHRONOUS_LEVELS for level in levels) or not levels:
        parser.error(f"--synchronous takes levels of {', '.join(SYNCHRONOUS_LEVELS)}")
    if args.database_url is not None:
        levels = [None]  # PostgreSQL: no such pragma, one run

    runs: dict[str | None, list[Result]] = {}
    backend = ""
    for level in levels:
        runs[level], backend = one_run(args.facts, args.batch, args.database_url, level)
        name = backend if level is None else f"{backend}, synchronous={level}"
        report(runs[level], args.facts, args.batch, name)
        print()
    if len(runs) > 1:
        compare_levels(runs)
    return 0


#: SQLite's PRAGMA synchronous levels the bench accepts.
SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


def one_run(
    n: int, batch: int, server_url: str | None, synchronous: str | None
) -> tuple[list[Result], str]:
    """A fresh data dir and database, a hub process at `synchronous`, and the four runs."""
    from hub.setup import initialise

    with tempfile.TemporaryDirectory(prefix="vhhub-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        with bench_database(server_url, data_dir) as database_url:
            settings = Settings(data_dir=data_dir, database_url=database_url, log_level="WARNING")
            initialise(settings)
            engine = create_engine(database_url)
            plain_metadata.create_all(engine)
            engine.dispose()
            backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite (WAL)"
            with (
                bench_hub(data_dir, database_url, synchronous) as base_url,
                httpx.Client(base_url=base_url, timeout=120) as http,
            ):
                return run(http, settings, n, batch, database_url), backend


def compare_levels(runs: dict[str | None, list[Result]]) -> None:
    """Each level against the first, run by run: what the durability level costs."""
    levels = list(runs)
    first = {r.label: r for r in runs[levels[0]]}
    for level in levels[1:]:
        print(f"synchronous={level} against synchronous={levels[0]} (same invocation):")
        print(f"{'run':<20}{'facts/s':>20}{'ratio':>8}{'median ms/req':>20}{'ratio':>8}")
        for r in runs[level]:
            base = first[r.label]
            print(
                f"{r.label:<20}{base.rate:>9.1f} -> {r.rate:>7.1f}{r.rate / base.rate:>8.2f}"
                f"{base.median_ms:>9.2f} -> {r.median_ms:>7.2f}"
                f"{r.median_ms / base.median_ms:>8.2f}"
            )
        print()


if __name__ == "__main__":
    sys.exit(main())
