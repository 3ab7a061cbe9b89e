"""What a briefing costs over real HTTP, against a bare baseline in the same run, as the
database grows.

    .venv/bin/python bench/briefing_bench.py [--stored 0,10000,1000000] [--requests 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--viewer gemeente-wi] [--inprocess-requests 50] [--no-profile]
        [--profile-rounds 30] [--profile-top 12] [--profile-out briefing.prof]

A hub is started in a child process on a free loopback port, on a fresh temporary data dir
(SQLite in it by default; with ``--database-url`` a fresh database is created on that server
and dropped afterwards). Through the API a case is registered (a family of two), taken on,
screened, triaged onto the multi-problem table, eight partners are invited (politie, om,
reclassering, gemeente-wi, woningcorporatie, maatschappelijk-werk, ggz, jeugdzorg), it is put
on the table's agenda and moved to ``case_conference``. The eight partners then publish 200
facts into it (25 each, one batch request per partner), of every type their kind may publish
at that table (policies/data/publishing.json), with the example contents of schemas/examples
varied a little per fact.

Per level of ``--stored`` (total rows in the facts table; the case keeps its 200) one viewer
(``--viewer``, default the municipality) asks, one request after the other over keep-alive
HTTP, ``--requests`` times for:

- **briefing**: ``GET /api/v1/cases/{id}/briefing`` with purpose ``case_conference``: token
  verification with its replay-store insert, the case load and read check, one batch policy
  decision (regorus, deduplicated into classes), AES-256-GCM decryption of every released
  fact, and one access-log entry (Merkle append) committed before the answer;
- **baseline**: a bench-only route that this script mounts on the app object of the bench hub
  (never in the production app). Same headers, same worker threadpool, same engine and
  query (the case's current fact rows, in briefing order) -- and nothing else: no case or
  policy check, no decryption, no log entry. It answers each fact's metadata and its
  *ciphertext size* as JSON (no plaintext: nothing is decrypted or cached). Whether its
  token is checked depends on the hub: an app-wide authentication middleware checks it (and
  inserts it in the replay store) as for every API path; the bench probes and says which.

The two are interleaved request by request after a warm-up, so drift hits both alike; tokens
are single use, so every request gets its own, minted before the clock starts. Between
levels the extra facts are bulk-loaded straight into the facts table (SQLite: executemany;
PostgreSQL: COPY) for *other* cases (one ``cases`` row per 100 facts, FKs satisfied; no case
keys, as they are never read), with random blobs of the size the real ciphertext of that
type has; the load time is printed. The indexes the hub already has must keep the briefing
flat. PostgreSQL gets an ``ANALYZE`` after each load (autovacuum would do the same soon
after such a load); SQLite none (the hub never runs one).

Per level the same briefing also runs in this process, without HTTP (authentication of a
fresh token, the disclosure service, then the JSON answer as the router writes it): its
wall and *CPU* time, which other load on a shared machine hardly inflates, the SQL statements
per request, and the plan of the briefing's fact query (it must stay an index search). At the
end one briefing is broken down by stage (wall and CPU ms per stage, by wrapping the stage
functions for one run) and profiled with cProfile (top functions by own time).

What a 1,000,000-fact load costs (2 cores, shared with other work): SQLite ~2 min
(executemany, 20,000 rows per transaction), PostgreSQL ~2.5 min (COPY), both with every
index and foreign key in place; the whole default run takes 4-6 minutes.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import multiprocessing
import os
import platform
import pstats
import random
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Response
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from hub.db.session import SQLITE_SYNCHRONOUS
from hub.identity.partner_keys import load_private_jwk
from hub.identity.tokens import mint_token
from hub.settings import PROJECT_ROOT, Settings

API = "/api/v1"
BASELINE = "/bench/baseline"
TABLE = "multi_problem"
PHASE = "case_conference"
CASE_FACTS = 200
FACTS_PER_OTHER_CASE = 100
WARMUP = 20
LOAD_CHUNK = 20_000

#: The eight publishing participants and their kinds (network/demo.toml).
PARTNERS: dict[str, str] = {
    "politie": "police",
    "om": "prosecution",
    "reclassering": "probation",
    "gemeente-wi": "municipality",
    "woningcorporatie": "housing",
    "maatschappelijk-werk": "social_work",
    "ggz": "mental_health",
    "jeugdzorg": "youth_care",
}
ROLES = ["publisher", "participant"]
LEGAL_BASIS = {
    "police": "wpg_art_19",
    "prosecution": "wjsg_art_8",
    "probation": "wjsg_art_8",
    "municipality": "participatiewet_7",
    "housing": "avg_6_1_f",
    "social_work": "wmo_5_1_1",
    "mental_health": "avg_9_2_h",
    "youth_care": "jeugdwet_7_4_0",
}


# -- fact types and contents ---------------------------------------------------------------------


def publishable_types() -> dict[str, list[str]]:
    """Partner kind -> the fact types it may publish at the table in the phase."""
    rules = json.loads((PROJECT_ROOT / "policies/data/publishing.json").read_text())
    by_kind = rules["by_table"][TABLE]
    out: dict[str, list[str]] = {}
    for kind in PARTNERS.values():
        out[kind] = sorted(t for t, phases in by_kind.get(kind, {}).items() if phases.get(PHASE))
        if not out[kind]:
            raise SystemExit(f"bench setup: {kind} may publish nothing at {TABLE}/{PHASE}")
    return out


def example(type_id: str) -> dict[str, Any]:
    path = PROJECT_ROOT / "schemas" / "examples" / f"{type_id.replace('/', '.')}.json"
    content: dict[str, Any] = json.loads(path.read_text())
    return content


def _free_text_fields(type_id: str) -> list[str]:
    """Top-level string fields without enum/format/pattern: safe to vary."""
    schema = json.loads(
        (PROJECT_ROOT / "schemas" / f"{type_id.replace('/', '.')}.json").read_text()
    )
    return [
        name
        for name, spec in schema.get("properties", {}).items()
        if spec.get("type") == "string" and not {"enum", "format", "pattern", "const"} & set(spec)
    ]


def varied_content(type_id: str, n: int) -> dict[str, Any]:
    """The example content with its free-text fields varied (and numbers nudged) per fact."""
    content = example(type_id)
    for name in _free_text_fields(type_id):
        if isinstance(content.get(name), str):
            content[name] = f"{content[name][:40]} ({n})"
    for name, value in content.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > 1:
            content[name] = value + n % 3
    return content


def sealed_size(type_id: str) -> int:
    """Bytes of the real ciphertext of the example: version + nonce + plaintext + tag."""
    plain = json.dumps(example(type_id), separators=(",", ":"), sort_keys=True).encode()
    return 1 + 12 + len(plain) + 16


# -- the bench hub (child process) ---------------------------------------------------------------


def mount_baseline(app: FastAPI) -> None:
    """Add the bench-only baseline route to this app object (the bench hub's, only)."""
    from hub.facts.models import Fact

    engine = app.state.hub.db.engine  # the hub's own engine, pool and SQLite settings
    columns = (
        Fact.id,
        Fact.fact_type,
        Fact.life_domain,
        Fact.sensitivity,
        Fact.publisher_partner,
        Fact.publisher_kind,
        Fact.subject_id,
        Fact.published_at,
        Fact.version,
        Fact.content_ct,
    )

    @app.get(f"{BASELINE}/cases/{{case_id}}/facts", include_in_schema=False)
    def baseline_facts(case_id: str) -> Response:
        # serialised here with json.dumps: FastAPI's jsonable_encoder would cost ~18 ms for
        # these 200 rows and make the baseline look slower than a bare read is
        with engine.begin() as conn:
            rows = conn.execute(
                select(*columns)
                .where(Fact.case_id == case_id, Fact.status == "current")
                .order_by(Fact.published_at, Fact.id)
            ).all()
        body = {
            "case_id": case_id,
            "facts": [
                {
                    "id": r.id,
                    "type": r.fact_type,
                    "life_domain": r.life_domain,
                    "sensitivity": r.sensitivity,
                    "publisher": r.publisher_partner,
                    "publisher_kind": r.publisher_kind,
                    "subject_id": r.subject_id,
                    "published_at": r.published_at.isoformat(),
                    "version": r.version,
                    "ciphertext_bytes": len(r.content_ct or b""),
                }
                for r in rows
            ],
        }
        return Response(json.dumps(body), media_type="application/json")


def serve(data_dir: str, database_url: str | None, port: int) -> None:
    """Child process: the hub's app plus the baseline route, on a loopback port."""
    import uvicorn

    from hub.app import create_app

    settings = Settings(data_dir=Path(data_dir), database_url=database_url, log_level="WARNING")
    app = create_app(settings)
    mount_baseline(app)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


# -- the client (this process) -------------------------------------------------------------------


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


def play_case(http: httpx.Client, settings: Settings) -> tuple[str, list[str]]:
    """Intake -> screening -> triage -> invitations -> preparation -> case_conference."""
    police = Actor(settings, "politie", "wijkagent-1", ROLES)
    zvh = Actor(settings, "zvh", "procesregisseur-1", ["procesregisseur"])
    body = {
        "kind": "family",
        "proposed_table": TABLE,
        "reason": "Benchmark: gezin met overlast, schulden en dreigende huisuitzetting",
        "subjects": [
            {"role_in_case": "parent", "bsn": "111222333"},
            {"role_in_case": "child", "name": "Kind Bench", "date_of_birth": "2012-04-01"},
        ],
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
            json={"criteria": criteria, "decision": "accept", "table": TABLE},
            headers=zvh.headers("screening"),
        )
    )
    for partner in PARTNERS:
        if partner != "politie":  # the registering partner takes part already
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
    _ok(
        http.post(
            f"{API}/tables/{TABLE}/agenda",
            json={
                "case_id": cid,
                "meeting_date": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
            },
            headers=zvh.headers("preparation"),
        ),
        201,
    )
    # a case enters the case conference only with every subject informed (ADR 0012)
    bands = {"parent": ("adult", "subject"), "child": ("12_to_15", "both")}
    for subject in case["subjects"]:
        band, party = bands[subject["role_in_case"]]
        _ok(
            http.post(
                f"{API}/cases/{cid}/subjects/{subject['id']}/notices",
                json={
                    "state": "informed",
                    "informed_on": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
                    "channel": "in_person",
                    "informed_party": party,
                    "age_band": band,
                },
                headers=zvh.headers("preparation"),
            ),
            201,
        )
    _ok(
        http.post(
            f"{API}/cases/{cid}/phase-changes",
            json={"to": PHASE},
            headers=zvh.headers("preparation"),
        )
    )
    return cid, [s["id"] for s in case["subjects"]]


def seed_case(http: httpx.Client, settings: Settings, cid: str, subjects: list[str]) -> None:
    """200 facts from the eight partners, one batch request each, through the publish API."""
    types = publishable_types()
    per_partner = CASE_FACTS // len(PARTNERS)
    n = 0
    for partner, kind in PARTNERS.items():
        actor = Actor(settings, partner, f"{partner}-user", ROLES)
        facts = []
        for i in range(per_partner):
            type_id = types[kind][i % len(types[kind])]
            facts.append(
                {
                    "idempotency_key": f"bench-{partner}-{i}",
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


# -- bulk load of other cases' facts -------------------------------------------------------------


@dataclass
class Load:
    facts: int
    cases: int
    seconds: float


class BulkLoader:
    """Facts of other cases, straight into the tables (no API, no case keys)."""

    def __init__(self, database_url: str, seed: int = 11) -> None:
        self.url = database_url
        self.rng = random.Random(seed)
        self.serial = 0
        self._first, self._started = 0, 0.0
        kinds = publishable_types()
        self.choices: list[tuple[str, str, str, str, str, int]] = []
        from hub.facts.catalog import FactTypeCatalog

        catalog = FactTypeCatalog.load(PROJECT_ROOT / "schemas")
        for partner, kind in PARTNERS.items():
            for type_id in kinds[kind]:
                ft = catalog.get(type_id)
                self.choices.append(
                    (
                        partner,
                        kind,
                        type_id,
                        ft.life_domain.value,
                        ft.sensitivity.value,
                        sealed_size(type_id),
                    )
                )

    def _rows(self, n: int) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """Chunks of (case rows, fact rows); datetimes as aware UTC datetimes."""
        rng = self.rng
        now = datetime.now(UTC)
        remaining = n
        while remaining > 0:
            chunk = min(LOAD_CHUNK, remaining)
            remaining -= chunk
            cases: list[tuple[Any, ...]] = []
            facts: list[tuple[Any, ...]] = []
            case_id = ""
            for _ in range(chunk):
                if self.serial % FACTS_PER_OTHER_CASE == 0:
                    case_id = str(uuid.uuid4())
                    registered = now - timedelta(days=rng.randrange(1, 730))
                    cases.append(
                        (
                            case_id,
                            "family",
                            TABLE,
                            TABLE,
                            rng.choice(("case_conference", "plan", "execution")),
                            "open",
                            "politie",
                            "bulk-loader",
                            registered,
                            registered,
                            False,
                        )
                    )
                partner, kind, type_id, domain, sensitivity, size = rng.choice(self.choices)
                fact_id = str(uuid.uuid4())
                facts.append(
                    (
                        fact_id,
                        case_id,
                        None,
                        type_id,
                        domain,
                        sensitivity,
                        LEGAL_BASIS[kind],
                        False,
                        partner,
                        kind,
                        f"{partner}-bulk",
                        f"bulk-{self.serial}",
                        fact_id,
                        1,
                        "current",
                        os.urandom(size + rng.randrange(0, 64)),
                        now - timedelta(seconds=rng.randrange(60, 730 * 86400)),
                        0,
                    )
                )
                self.serial += 1
            yield cases, facts

    CASE_COLUMNS = (
        "id, kind, proposed_table, table_id, phase, status, registered_by_partner, "
        "registered_by_user, registered_at, updated_at, legal_hold"
    )
    FACT_COLUMNS = (
        "id, case_id, subject_id, fact_type, life_domain, sensitivity, legal_basis, shareable, "
        "publisher_partner, publisher_kind, publisher_user, idempotency_key, lineage_id, "
        "version, status, content_ct, published_at, change_seq"
    )

    def _progress(self, n: int) -> None:
        done = self.serial - self._first
        if n >= 200_000 and done and done % 200_000 == 0:
            elapsed = time.perf_counter() - self._started
            print(f"  ... {done:,} of {n:,} ({elapsed:.0f} s)", flush=True)

    def load(self, n: int) -> Load:
        self._first, self._started = self.serial, time.perf_counter()
        start = time.perf_counter()
        cases = 0
        if make_url(self.url).get_backend_name() == "sqlite":
            cases = self._load_sqlite(n)
        else:
            cases = self._load_postgres(n)
        return Load(n, cases, time.perf_counter() - start)

    def _load_sqlite(self, n: int) -> int:
        # SQLAlchemy's SQLite DateTime stores this text form; the hub reads it back as UTC
        def ts(value: datetime) -> str:
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")

        path = make_url(self.url).database
        conn = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        cases = 0
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for this loader connection
            conn.execute("PRAGMA synchronous=NORMAL")  # the bench's own bulk loader only
            c_marks = ", ".join("?" * 11)
            f_marks = ", ".join("?" * 18)
            for case_rows, fact_rows in self._rows(n):
                self._progress(n)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    f"INSERT INTO cases ({self.CASE_COLUMNS}) VALUES ({c_marks})",
                    [(*r[:8], ts(r[8]), ts(r[9]), int(r[10])) for r in case_rows],
                )
                conn.executemany(
                    f"INSERT INTO facts ({self.FACT_COLUMNS}) VALUES ({f_marks})",
                    [(*r[:7], int(r[7]), *r[8:16], ts(r[16]), r[17]) for r in fact_rows],
                )
                conn.execute("COMMIT")
                cases += len(case_rows)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return cases

    def _load_postgres(self, n: int) -> int:
        engine = create_engine(self.url)
        cases = 0
        try:
            raw = engine.raw_connection()
            try:
                pg = raw.driver_connection
                assert pg is not None
                for case_rows, fact_rows in self._rows(n):
                    self._progress(n)
                    with pg.cursor() as cur:
                        with cur.copy(f"COPY cases ({self.CASE_COLUMNS}) FROM STDIN") as copy:
                            for row in case_rows:
                                copy.write_row(row)
                        with cur.copy(f"COPY facts ({self.FACT_COLUMNS}) FROM STDIN") as copy:
                            for row in fact_rows:
                                copy.write_row(row)
                    pg.commit()
                    cases += len(case_rows)
                pg.autocommit = True
                pg.execute("ANALYZE cases")
                pg.execute("ANALYZE facts")
                pg.autocommit = False
            finally:
                raw.close()
        finally:
            engine.dispose()
        return cases


def count_facts(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM facts")).scalar_one())
    finally:
        engine.dispose()


# -- measuring -----------------------------------------------------------------------------------


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class Level:
    stored: int
    baseline_ms: list[float] = field(default_factory=list)
    briefing_ms: list[float] = field(default_factory=list)
    baseline_bytes: int = 0
    briefing_bytes: int = 0
    released: int = 0
    existence: int = 0
    fields: int = 0
    load: Load | None = None
    load_avg: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before, after
    inproc_wall_ms: list[float] = field(default_factory=list)
    inproc_cpu_ms: list[float] = field(default_factory=list)
    statements: float = 0.0
    plan: str = ""

    def row(self) -> str:
        b50, b95 = statistics.median(self.baseline_ms), pct(self.baseline_ms, 95)
        h50, h95 = statistics.median(self.briefing_ms), pct(self.briefing_ms, 95)
        bm, hm = statistics.fmean(self.baseline_ms), statistics.fmean(self.briefing_ms)
        return (
            f"{self.stored:>12,} {b50:>8.2f} {b95:>8.2f} {bm:>8.2f}   "
            f"{h50:>8.2f} {h95:>8.2f} {hm:>8.2f}   {h50 / b50:>6.1f}x {h95 / b95:>6.1f}x"
        )

    def detail_row(self) -> str:
        wall = statistics.median(self.inproc_wall_ms) if self.inproc_wall_ms else float("nan")
        cpu = statistics.median(self.inproc_cpu_ms) if self.inproc_cpu_ms else float("nan")
        return (
            f"{self.stored:>12,} {wall:>10.1f} {cpu:>10.1f} {self.statements:>8.0f}   "
            f"{self.load_avg[0]:>5.1f} -> {self.load_avg[1]:<5.1f}  {self.plan}"
        )


def measure(http: httpx.Client, viewer: Actor, cid: str, requests: int, stored: int) -> Level:
    """Baseline and briefing interleaved; only the requests are timed."""
    level = Level(stored)
    load_before = os.getloadavg()[0]
    n = requests + WARMUP
    tokens = viewer.tokens(2 * n)  # minted before the clock starts
    briefing_path = f"{API}/cases/{cid}/briefing"
    baseline_path = f"{BASELINE}/cases/{cid}/facts"
    for i in range(n):
        # the baseline gets the same headers, with a token of its own: whether the hub
        # verifies it there depends on where it authenticates (see baseline_authenticated)
        t0 = time.perf_counter()
        base = http.get(baseline_path, headers=viewer.headers(PHASE, tokens[2 * i]))
        t1 = time.perf_counter()
        brief = http.get(briefing_path, headers=viewer.headers(PHASE, tokens[2 * i + 1]))
        t2 = time.perf_counter()
        if base.status_code != 200 or brief.status_code != 200:
            raise SystemExit(
                f"request {i} failed: baseline {base.status_code}, briefing {brief.status_code} "
                f"{brief.text[:300]}"
            )
        if i >= WARMUP:
            level.baseline_ms.append((t1 - t0) * 1000)
            level.briefing_ms.append((t2 - t1) * 1000)
    level.load_avg = (load_before, os.getloadavg()[0])
    plain, briefing = base.json(), brief.json()
    if len(plain["facts"]) != CASE_FACTS:
        raise SystemExit(f"baseline returned {len(plain['facts'])} facts, not {CASE_FACTS}")
    level.baseline_bytes, level.briefing_bytes = len(base.content), len(brief.content)
    facts = [f for d in briefing["domains"] for f in d["facts"]]
    level.released = len(facts)
    level.existence = sum(len(d["existence"]) for d in briefing["domains"])
    level.fields = sum(len(f["fields"]) for f in facts)
    return level


def baseline_authenticated(http: httpx.Client, cid: str) -> bool:
    """Does the hub authenticate the bench route too (an app-wide authentication
    middleware does; a per-endpoint dependency does not)?"""
    response = http.get(f"{BASELINE}/cases/{cid}/facts", headers={"Purpose": PHASE})
    if response.status_code not in (200, 401):
        raise SystemExit(f"baseline probe: {response.status_code} {response.text[:200]}")
    return response.status_code == 401


FACT_QUERY = (
    "SELECT id, content_ct FROM facts WHERE case_id = :cid AND status = 'current' "
    "ORDER BY published_at, id"
)


def fact_query_plan(database_url: str, cid: str) -> str:
    """How the database runs the briefing's fact query (the hub's, in plain SQL)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text(f"EXPLAIN QUERY PLAN {FACT_QUERY}"), {"cid": cid})
                return "; ".join(str(r[-1]) for r in rows)
            rows = conn.execute(
                text(f"EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF) {FACT_QUERY}"), {"cid": cid}
            )
            lines = [str(r[0]).strip().removeprefix("-> ").strip() for r in rows]
            keep = [x for x in lines if "Scan" in x or "Sort Key" in x or "Execution" in x]
            return "; ".join(keep)
    finally:
        engine.dispose()


# -- profile -------------------------------------------------------------------------------------

#: Stages of one request, timed by wrapping these functions for one run in this process:
#: (label, "module:Class" or "module", attribute, indent). Inclusive times; nested stages are
#: indented under the stage that calls them. The last group cuts across the others.
STAGES: list[tuple[str, str, str, int]] = [
    ("authenticate", "hub.identity.service:Authenticator", "authenticate", 0),
    ("verify_token (signature, claims, replay claim)", "hub.identity.service", "verify_token", 1),
    ("replay-store INSERT + commit", "hub.identity.replay:DatabaseReplayGuard", "claim", 2),
    ("BriefingService.briefing", "hub.disclosure.briefing:BriefingService", "briefing", 0),
    (
        "case + invitations (one query)",
        "hub.cases.repository:CaseRepository",
        "get_with_invitations",
        1,
    ),
    ("page read (200 fact entities)", "hub.disclosure.briefing:_Page", "read", 1),
    ("read_case check (allow_action)", "hub.gate.gate:Gate", "authorize_on_case", 1),
    ("batch policy decision (release_facts)", "hub.gate.gate:Gate", "release_facts", 1),
    ("fact inputs (stored_fact_input, per fact)", "hub.gate.inputs", "stored_fact_input", 2),
    ("class deduplication", "hub.rego.batching", "deduplicate", 2),
    (
        "regorus evaluation (decisions + read_case)",
        "hub.rego.embedded:RegorusEngine",
        "evaluate_raw",
        2,
    ),
    ("answer checks + mapping", "hub.rego.batching", "parse_decisions", 2),
    ("assemble: release every fact", "hub.disclosure.briefing:BriefingService", "_assemble", 1),
    (
        "_release (decrypt + project, per fact)",
        "hub.disclosure.briefing:BriefingService",
        "_release",
        2,
    ),
    ("case data key", "hub.disclosure.vault:CaseVault", "_data_key", 3),
    ("AES-GCM open", "hub.disclosure.vault", "open_sealed", 3),
    (
        "fact subjects + pseudonyms (fact_pseudonyms)",
        "hub.disclosure.briefing",
        "fact_pseudonyms",
        1,
    ),
    (
        "pseudonyms by fact and case (one query)",
        "hub.facts.subjects",
        "pseudonyms_by_fact_and_case",
        2,
    ),
    ("access-log append (Merkle, rows)", "hub.audit.log:AccessLog", "append", 1),
    ("response: JSON (model_response)", "__main__:InProcess", "respond", 0),
    ("-- across: Session.get", "sqlalchemy.orm:Session", "get", 0),
    ("-- across: Session.execute", "sqlalchemy.orm:Session", "execute", 0),
    ("-- across: Session.commit (both transactions)", "sqlalchemy.orm:Session", "commit", 0),
]


class StageTimer:
    """Wall and CPU time (this thread) per stage, by wrapping functions for one run."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        #: stages whose code moved on: named in the table, so a stale list is seen, not hidden
        self.missing: list[str] = []
        self._undo: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> StageTimer:
        import importlib

        for label, target, attr, _indent in STAGES:
            module_name, _, cls_name = target.partition(":")
            try:
                owner: Any = sys.modules.get(module_name) or importlib.import_module(module_name)
                if cls_name:
                    owner = getattr(owner, cls_name)
                original = owner.__dict__[attr] if cls_name else getattr(owner, attr)
            except (ImportError, AttributeError, KeyError):
                self.missing.append(f"{label} ({target}.{attr})")
                continue
            if isinstance(original, staticmethod):  # keep it static: no self is passed
                setattr(owner, attr, staticmethod(self._timed(label, original.__func__)))
                self._undo.append((owner, attr, original))
                continue
            if not callable(original):
                self.missing.append(f"{label} ({target}.{attr})")
                continue
            setattr(owner, attr, self._timed(label, original))
            self._undo.append((owner, attr, original))
        return self

    def _timed(self, label: str, original: Any) -> Any:
        self.wall[label], self.cpu[label], self.calls[label] = 0.0, 0.0, 0

        def timed(*args: Any, **kwargs: Any) -> Any:
            w0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[label] += time.thread_time() - c0
                self.wall[label] += time.perf_counter() - w0
                self.calls[label] += 1

        return timed

    def __exit__(self, *exc: object) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)

    def lines(self, rounds: int) -> list[str]:
        out = [
            f"{'stage (inclusive; nested stages indented)':<56}{'wall ms':>9}{'CPU ms':>9}"
            f"{'calls/req':>10}"
        ]
        for label, _target, _attr, indent in STAGES:
            if self.calls.get(label):
                out.append(
                    f"{'  ' * indent + label:<56}{self.wall[label] * 1000 / rounds:>9.2f}"
                    f"{self.cpu[label] * 1000 / rounds:>9.2f}{self.calls[label] / rounds:>10.1f}"
                )
        out.extend(f"not timed, its code is gone: {stage}" for stage in self.missing)
        return out


class GcTimer:
    """CPU time of the cyclic garbage collector during a run, per generation: it runs inside
    whatever stage allocates when a threshold is passed, so cProfile charges a full
    collection to an innocent function (a `sorted` of two ids), and the stages include it."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {0: 0.0, 1: 0.0, 2: 0.0}
        self.count: dict[int, int] = {0: 0, 1: 0, 2: 0}
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            generation = int(info["generation"])
            self.cpu[generation] += time.thread_time() - self._started
            self.count[generation] += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def lines(self, rounds: int) -> list[str]:
        return [
            f"{'-- across: garbage collection, generation ' + str(g):<56}{'':>9}"
            f"{self.cpu[g] * 1000 / rounds:>9.2f}{self.count[g] / rounds:>10.2f}"
            for g in (0, 1, 2)
        ]


class InProcess:
    """Whole briefings in this process, without HTTP: authenticate a fresh token, run the
    disclosure service, then what FastAPI does with a response_model (dump, validate again,
    serialise). Timed per level; profiled once with cProfile."""

    def __init__(self, settings: Settings, cid: str, viewer: Actor) -> None:
        from hub.context import HubContext

        self.ctx = HubContext.open(settings)
        self.cid = cid
        self.viewer = viewer
        self.statements = 0

        @event.listens_for(self.ctx.db.engine, "before_cursor_execute")
        def _count(*_: Any) -> None:
            self.statements += 1

        for token in viewer.tokens(10):  # warm up: engine, pool, caches
            self.one(token)

    def respond(self, briefing: Any) -> bytes:
        """What the router answers: `hub.http.model_response` (the route returns a
        response, so FastAPI does not validate the model again)."""
        from hub.http import model_response

        return bytes(model_response(briefing).body)

    def one(self, token: str) -> bytes:
        from hub.audit.log import RequestInfo

        viewer = self.ctx.authenticator.authenticate(
            f"Bearer {token}", PHASE, RequestInfo(request_id=str(uuid.uuid4()), source="127.0.0.1")
        )
        return self.respond(self.ctx.briefing.briefing(viewer, self.cid))

    def timed(self, level: Level, rounds: int) -> None:
        """Wall and CPU time of this process per briefing: CPU time shows the work itself,
        however busy the machine is."""
        tokens = self.viewer.tokens(rounds)
        self.statements = 0
        for token in tokens:
            w0, c0 = time.perf_counter(), time.process_time()
            self.one(token)
            level.inproc_cpu_ms.append((time.process_time() - c0) * 1000)
            level.inproc_wall_ms.append((time.perf_counter() - w0) * 1000)
        level.statements = self.statements / rounds

    def profile(self, rounds: int, top: int, dump: Path | None = None) -> list[str]:
        tokens = self.viewer.tokens(rounds)
        with StageTimer() as stages, GcTimer() as collector:
            for token in tokens:
                self.one(token)
        out = [f"stages, timed by wrapping ({rounds} requests, about 1 us overhead per call):"]
        out += stages.lines(rounds)
        out += collector.lines(rounds)
        tokens = self.viewer.tokens(rounds)
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        with GcTimer() as profiled_collector:
            profiler.enable()
            for token in tokens:
                self.one(token)
            profiler.disable()
        profiled_ms = (time.perf_counter() - t0) * 1000 / rounds
        if dump is not None:
            profiler.dump_stats(dump)
        out += profile_lines(profiler, rounds, top, profiled_ms)
        # a collection inside the profiled run is charged to whatever function allocated
        out.append("garbage collections during the cProfile run (charged to the allocating code):")
        return out + profiled_collector.lines(rounds)

    def close(self) -> None:
        self.ctx.close()


def profile_lines(profiler: cProfile.Profile, rounds: int, top: int, ms: float) -> list[str]:
    """The functions with the most own time under cProfile (which inflates Python-heavy code
    several times over, so compare them with each other, not with the wall times)."""
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    out = [
        f"cProfile, {rounds} requests, {ms:.1f} ms per request under the profiler; "
        f"top {top} by own time:"
    ]
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (path, line, name), (_cc, nc, tt, ct, _callers) in rows:
        short = "/".join(Path(path).parts[-2:]) if path != "~" else "~"
        out.append(
            f"  {tt * 1000 / rounds:7.3f} ms own {ct * 1000 / rounds:7.3f} ms cum "
            f"{nc / rounds:7.1f} calls/req  {short}:{line}({name})"
        )
    return out


# -- running ------------------------------------------------------------------------------------


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
def bench_hub(data_dir: Path, database_url: str) -> Iterator[str]:
    """A hub with the baseline route in a child process; yields its base URL."""
    port = free_port()
    spawn = multiprocessing.get_context("spawn")
    process = spawn.Process(target=serve, args=(str(data_dir), database_url, port), daemon=True)
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


def machine_note(database_url: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if make_url(database_url).get_backend_name() == "sqlite":
        db = (
            f"SQLite {sqlite3.sqlite_version} (WAL, synchronous={SQLITE_SYNCHRONOUS}), "
            "file in a temp dir"
        )
    else:
        engine = create_engine(database_url)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        engine.dispose()
        db = f"PostgreSQL {version} on loopback (synchronous_commit={sync})"
    return (
        f"machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; "
        f"{db}; client and hub (uvicorn, one process) share the cores"
    )


def code_state() -> str:
    """Which code ran: the commit, and any uncommitted changes under hub/ (read-only git)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
        return done.stdout.rstrip() if done.returncode == 0 else ""

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = [line[3:] for line in git("status", "--porcelain", "--", "hub").splitlines()]
    except (OSError, subprocess.SubprocessError):
        return "code: unknown (no git)"
    if not head:
        return "code: unknown (no git)"
    extra = f" + uncommitted changes in {', '.join(changed)}" if changed else ""
    return f"code: {head}{extra}"


def parse_levels(text_: str) -> list[int]:
    try:
        levels = [int(x.replace("_", "")) for x in text_.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--stored takes numbers like 0,10000,1000000") from None
    if not levels or levels != sorted(levels) or any(x < 0 for x in levels):
        raise argparse.ArgumentTypeError("--stored levels must be ascending and >= 0")
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--stored",
        type=parse_levels,
        default=parse_levels("0,10000,1000000"),
        help="total facts in the database per level, ascending (default 0,10000,1000000; "
        "levels below what is stored measure what is there)",
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL (postgresql+psycopg://user@host:5432/postgres); "
        "a fresh database is created on it and dropped afterwards",
    )
    parser.add_argument("--viewer", choices=sorted(PARTNERS), default="gemeente-wi")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument(
        "--inprocess-requests", type=int, default=50, help="in-process briefings per level"
    )
    parser.add_argument("--profile-rounds", type=int, default=30)
    parser.add_argument("--profile-top", type=int, default=12)
    parser.add_argument(
        "--profile-out", type=Path, help="also write the cProfile stats here (for pstats)"
    )
    args = parser.parse_args(argv)
    if args.requests < 20:
        parser.error("--requests must be at least 20 (for a p95)")

    from hub.setup import initialise

    levels: list[Level] = []
    profile: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vhhub-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        with bench_database(args.database_url, data_dir) as database_url:
            settings = Settings(data_dir=data_dir, database_url=database_url, log_level="WARNING")
            initialise(settings)
            note, code = machine_note(database_url), code_state()
            backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
            loader = BulkLoader(database_url)
            viewer = Actor(settings, args.viewer, f"{args.viewer}-user", ROLES)
            with (
                bench_hub(data_dir, database_url) as base_url,
                httpx.Client(base_url=base_url, timeout=120) as http,
            ):
                t0 = time.perf_counter()
                cid, subjects = play_case(http, settings)
                seed_case(http, settings, cid, subjects)
                setup_s = time.perf_counter() - t0
                print(
                    f"case {cid}: played to {PHASE} and seeded with {CASE_FACTS} facts "
                    f"by {len(PARTNERS)} partners over the API in {setup_s:.1f} s",
                    flush=True,
                )
                authenticated = baseline_authenticated(http, cid)
                inproc = InProcess(settings, cid, viewer)
                for target in args.stored:
                    stored = count_facts(database_url)
                    load = None
                    if target > stored:
                        extra = target - stored
                        print(f"loading {extra:,} facts of other cases ...", flush=True)
                        load = loader.load(extra)
                        print(
                            f"  {load.facts:,} facts in {load.cases:,} cases: "
                            f"{load.seconds:.1f} s ({load.facts / load.seconds:,.0f} facts/s)",
                            flush=True,
                        )
                        stored = count_facts(database_url)
                    level = measure(http, viewer, cid, args.requests, stored)
                    level.load = load
                    inproc.timed(level, args.inprocess_requests)
                    level.plan = fact_query_plan(database_url, cid)
                    levels.append(level)
                    print(f"  measured at {stored:,} stored facts", flush=True)
                if not args.no_profile:
                    profile = inproc.profile(
                        args.profile_rounds, args.profile_top, args.profile_out
                    )
                inproc.close()

    last = levels[-1]
    print(
        f"\nbriefing latency, {backend}: one viewer ({args.viewer}, purpose {PHASE}), one "
        f"sequential client over loopback HTTP, {args.requests} requests per endpoint per "
        f"level after {WARMUP} warm-up, interleaved; the case holds {CASE_FACTS} facts"
    )
    print(
        f"{'stored facts':>12} {'--- baseline ms ---':>26}   {'--- briefing ms ---':>26}   "
        f"{'briefing/baseline':>14}"
    )
    print(
        f"{'':>12} {'p50':>8} {'p95':>8} {'mean':>8}   {'p50':>8} {'p95':>8} {'mean':>8}   "
        f"{'p50':>7} {'p95':>7}"
    )
    for level in levels:
        print(level.row())
    print(
        f"\n{'stored facts':>12} {'in-process briefing p50':>21} {'SQL/req':>8}   "
        f"{'load avg':<14} briefing fact query plan"
    )
    print(f"{'':>12} {'wall ms':>10} {'CPU ms':>10}")
    for level in levels:
        print(level.detail_row())
    print()
    for level in levels:
        if level.load is not None:
            print(
                f"load to {level.stored:,}: {level.load.facts:,} facts in {level.load.cases:,} "
                f"other cases in {level.load.seconds:.1f} s "
                f"({level.load.facts / level.load.seconds:,.0f} facts/s, indexes in place)"
            )
    print(
        f"briefing answer: {last.released} facts released ({last.fields} fields decrypted and "
        f"shown), {last.existence} existence notes, {last.briefing_bytes:,} bytes; "
        f"baseline answer: {CASE_FACTS} rows of metadata + ciphertext size, "
        f"{last.baseline_bytes:,} bytes"
    )
    print(
        "the briefing includes: token verification + replay-store insert (own commit), case "
        "load and read check (one allow_action), one batch policy decision (regorus, classes "
        "deduplicated), AES-256-GCM decryption of each released fact, one access-log entry "
        "(Merkle append) committed before the answer, one JSON serialisation (pydantic-core)."
    )
    auth = (
        "the hub's authentication middleware verifies its token and inserts it in the replay "
        "store, as for every API path"
        if authenticated
        else "no token check"
    )
    print(
        "the baseline includes: the same query over the same engine and threadpool, answering "
        "metadata and ciphertext sizes as JSON (nothing decrypted, no plaintext cached); no "
        f"case or policy check, no log entry; {auth}."
    )
    print(
        "in-process: the same briefing without HTTP, in the bench process (authentication, "
        "the disclosure service, the JSON answer); CPU ms is this process's CPU "
        "time, which the other load on the machine (load avg: 1-minute load average before "
        "and after the HTTP run) hardly inflates."
    )
    print(note)
    print(code)
    if profile:
        print(f"\nprofile of one briefing ({args.viewer}, at {last.stored:,} stored facts):")
        for line in profile:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
