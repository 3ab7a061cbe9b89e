"""Access-log bench: append throughput, verification throughput and auditor query latency,
on SQLite and on PostgreSQL, at a realistic log size.

    python bench/audit_bench.py [--entries N] [--database-url URL] [--appends N]
                                [--queries N] [--no-verify] [--no-sqlite] [--no-postgres]

Per backend, in one run on the same machine (so the figures compare):

1. Append throughput on an empty log through `AccessLog.append` (head row locked, leaf hash,
   Merkle frontier, a signed checkpoint every 256 entries or 60 s, subject index rows), one
   entry per transaction and 100 per transaction, against a baseline that inserts the same
   rows (same columns and indexes) into plain tables without hashing or locking.
2. A bulk load of N entries (default 1,000,000; ``--entries 10000000`` for the 10-million
   figure) written directly -- COPY on PostgreSQL, executemany on SQLite -- with correct leaf
   hashes, a signed checkpoint every 256 entries and a correct head frontier, so the hub
   carries on appending to it and every verifier accepts it. Entries are 15 s apart, so 10
   million entries span almost five years of a busy Veiligheidshuis and time windows in the
   queries select realistic numbers of entries.
3. Append throughput again, at that size.
4. Verification throughput: `AuditService.verify_live()` over the whole database, and the
   offline verifier (`verify_export_file`) over the export the CLI would write
   (``--no-verify`` skips this step: at 10 million entries it takes an hour per backend, and
   the verifiers' throughput does not depend on the log's size).
5. Query latency (p50/p95 ms) of the auditor's queries, first page of 100, at that size -- by
   case, by partner + action, by user, by one day, by partner + denied in one month, by
   outcome (error), by purpose (audit), by subject (BSN -> blind index), and the second page
   of a by-partner query -- through
   `AuditService` (policy check, query, and the log.query entry every auditor query writes),
   and the bare SELECT alone; then the query plan of one query of each kind.

PostgreSQL: ``--database-url`` names a server the bench may create a scratch database on
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); it is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import (  # noqa: E402
    JSON,
    BigInteger,
    Engine,
    Index,
    LargeBinary,
    Select,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

from hub.audit.checkpoints import sign_checkpoint  # noqa: E402
from hub.audit.entry import (  # noqa: E402
    ENTRY_FIELDS,
    AccessLogEntry,
    Action,
    Outcome,
    entry_leaf_hash,
)
from hub.audit.log import Actor, Event, LogSigner, RequestInfo, draft_entry  # noqa: E402
from hub.audit.merkle import CompactRange  # noqa: E402
from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject  # noqa: E402
from hub.audit.schemas import SubjectIdentifiers  # noqa: E402
from hub.audit.service import EntryFilter  # noqa: E402
from hub.audit.verify import verify_export_file  # noqa: E402
from hub.cases.intake import subject_pseudonyms  # noqa: E402
from hub.cases.schemas import SubjectIn  # noqa: E402
from hub.context import HubContext  # noqa: E402
from hub.crypto.blind_index import BlindIndexer  # noqa: E402
from hub.db.session import Database, sqlite_url  # noqa: E402
from hub.identity.viewer import Viewer  # noqa: E402
from hub.settings import Settings  # noqa: E402
from hub.setup import initialise  # noqa: E402
from hub.vocabulary import PartnerKind, Purpose, Role  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BATCH = 100
CHECKPOINT_EVERY = 256  # the hub's default
LOAD_CHUNK = 20_000
SPACING_US = 15_000_000  # between bulk-loaded entries
DAY_US = 86_400_000_000

# -- a synthetic but plausible hub: partners, users, cases, subjects ------------------------------

PARTNERS: list[tuple[str, PartnerKind]] = [
    ("politie", PartnerKind.POLICE),
    ("om", PartnerKind.PROSECUTION),
    ("reclassering", PartnerKind.PROBATION),
    ("rvdk", PartnerKind.CHILD_PROTECTION),
    ("gemeente-wi", PartnerKind.MUNICIPALITY),
    ("gemeente-leerplicht", PartnerKind.MUNICIPALITY),
    ("ggz", PartnerKind.MENTAL_HEALTH),
    ("jeugdzorg", PartnerKind.YOUTH_CARE),
    ("woningcorporatie", PartnerKind.HOUSING),
    ("maatschappelijk-werk", PartnerKind.SOCIAL_WORK),
    ("veilig-thuis", PartnerKind.VEILIG_THUIS),
    ("dji", PartnerKind.CUSTODIAL),
    ("zvh", PartnerKind.ZVH_STAFF),
]
# (action, outcome, weight): mostly reads, as in a running Veiligheidshuis
ACTIONS: list[tuple[Action, Outcome, int]] = [
    (Action.BRIEFING_READ, Outcome.ALLOWED, 45),
    (Action.UPDATES_READ, Outcome.ALLOWED, 12),
    (Action.FACT_PUBLISH, Outcome.ALLOWED, 12),
    (Action.CASE_READ, Outcome.ALLOWED, 6),
    (Action.CASE_DENIED, Outcome.DENIED, 4),
    (Action.CASE_CHANGE_PHASE, Outcome.ALLOWED, 3),
    (Action.CASE_INVITE, Outcome.ALLOWED, 3),
    (Action.CASE_REGISTER, Outcome.ALLOWED, 2),
    (Action.FACT_CORRECT, Outcome.ALLOWED, 2),
    (Action.PLAN_READ, Outcome.ALLOWED, 3),
    (Action.PLAN_RECORD, Outcome.ALLOWED, 1),
    (Action.AUTH_FAILURE, Outcome.DENIED, 4),
    (Action.LOG_QUERY, Outcome.ALLOWED, 2),
    (Action.FACT_WITHDRAW, Outcome.ALLOWED, 1),
    (Action.POLICY_ERROR, Outcome.ERROR, 1),
]
_ACTION_TABLE: list[tuple[Action, Outcome]] = [
    (a, o) for a, o, weight in ACTIONS for _ in range(weight)
]
POLICY = "sha256:" + "3f5a9c0e1b2d4f6a" * 3
FIELDS = ("headline", "life_domain", "incident_category", "arrears_months", "summary")


def valid_bsns(count: int) -> list[str]:
    """`count` distinct BSNs that pass the 11-proef (synthetic: 1xxxxxxx plus check digit)."""
    out: list[str] = []
    k = 0
    while len(out) < count:
        digits = [int(c) for c in f"{10_000_000 + k:08d}"]
        k += 1
        check = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True)) % 11
        if check < 10:
            out.append("".join(map(str, digits)) + str(check))
    return out


@dataclass
class World:
    """Cases (about 100 entries each), one or two subjects per case, ~40 users per partner."""

    cases: list[str]
    case_subjects: Sequence[tuple[str, ...]]  # pseudonyms per case
    bsns: list[str]  # bsns[i] is the first subject of case i

    @classmethod
    def build(cls, n_entries: int, indexer: BlindIndexer) -> World:
        n_cases = max(10, n_entries // 100)
        bsns = valid_bsns(n_cases + n_cases // 3)
        pseudonyms = [
            subject_pseudonyms(indexer, SubjectIn(role_in_case="subject", bsn=b))["bsn"]
            for b in bsns
        ]
        cases = [
            str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4)) for i in range(n_cases)
        ]
        case_subjects = [
            (pseudonyms[i], pseudonyms[n_cases + i // 3])
            if i % 3 == 0 and n_cases + i // 3 < len(pseudonyms)
            else (pseudonyms[i],)
            for i in range(n_cases)
        ]
        return cls(cases, case_subjects, bsns)


def synthetic(world: World, rnd: random.Random, seq: int) -> tuple[Event, Actor, RequestInfo]:
    """The act of entry `seq`, drawn from `rnd`: a realistic spread of values."""
    action, outcome = _ACTION_TABLE[rnd.randrange(len(_ACTION_TABLE))]
    partner, kind = PARTNERS[rnd.randrange(len(PARTNERS))]
    actor = Actor(partner, kind, f"u-{partner[:6]}-{rnd.randrange(40)}", (Role.PARTICIPANT,))
    request = RequestInfo(
        f"{seq:032x}", f"10.0.{seq % 250}.{rnd.randrange(250)}", Purpose.PREPARATION
    )
    if action is Action.AUTH_FAILURE:
        event = Event(action, outcome, reason="token:expired")
        return event, Actor(), RequestInfo(request.request_id, request.source, None)
    c = rnd.randrange(len(world.cases))
    disclosed: dict[str, tuple[str, ...]] = {}
    objects: tuple[str, ...] = ()
    if action in (Action.BRIEFING_READ, Action.UPDATES_READ):
        disclosed = {
            f"f-{c:07d}-{k}": FIELDS[: 1 + (seq + k) % len(FIELDS)] for k in range(rnd.randrange(6))
        }
    elif action in (Action.FACT_PUBLISH, Action.FACT_CORRECT, Action.FACT_WITHDRAW):
        objects = (f"f-{c:07d}-{rnd.randrange(6)}",)
    if action is Action.LOG_QUERY:
        actor = Actor("zvh", PartnerKind.ZVH_STAFF, "aud-1", (Role.AUDITOR,))
        request = RequestInfo(request.request_id, request.source, Purpose.AUDIT)
    event = Event(
        action,
        outcome,
        case_id=world.cases[c],
        subject_pseudonyms=world.case_subjects[c],
        object_ids=objects,
        disclosed=disclosed,
        reason={Outcome.DENIED: "policy:not_participant", Outcome.ERROR: "policy:unavailable"}.get(
            outcome
        ),
        policy_version=POLICY,
    )
    return event, actor, request


def as_entry(
    seq: int, time_us: int, event: Event, actor: Actor, request: RequestInfo
) -> AccessLogEntry:
    """What `AccessLog.append` would build for this act at this position and time."""
    return draft_entry(event, actor, request).placed(seq, time_us)


# -- the baseline: the same rows into plain tables, no hashing, no locking ------------------------


class PlainBase(DeclarativeBase):
    pass


class PlainEntry(PlainBase):
    """access_log's columns and indexes; seq from a counter, leaf_hash left as zeros."""

    __tablename__ = "bench_plain_log"
    __table_args__ = tuple(  # the very indexes access_log has, renamed
        Index(
            str(index.name).replace("ix_access_log", "ix_bench_plain"),
            *(column.name for column in index.columns),
        )
        for index in cast(Table, LogEntry.__table__).indexes
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time_us: Mapped[int] = mapped_column(BigInteger)
    actor_partner: Mapped[str | None] = mapped_column(String(64))
    actor_partner_kind: Mapped[str | None] = mapped_column(String(32))
    actor_user: Mapped[str | None] = mapped_column(String(64))
    actor_roles: Mapped[list[str]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(48))
    purpose: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(36))
    subject_pseudonyms: Mapped[list[str]] = mapped_column(JSON)
    object_ids: Mapped[list[str]] = mapped_column(JSON)
    disclosed: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))
    policy_version: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class PlainSubject(PlainBase):
    __tablename__ = "bench_plain_subjects"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)


_ZERO = bytes(32)


def plain_rows(seq: int, event: Event, actor: Actor, request: RequestInfo) -> list[PlainBase]:
    rows: list[PlainBase] = [
        PlainEntry(
            seq=seq,
            time_us=time.time_ns() // 1000,
            actor_partner=actor.partner,
            actor_partner_kind=actor.partner_kind,
            actor_user=actor.user,
            actor_roles=list(actor.roles),
            action=event.action.value,
            purpose=request.purpose,
            case_id=event.case_id,
            subject_pseudonyms=list(event.subject_pseudonyms),
            object_ids=list(event.object_ids),
            disclosed={k: list(v) for k, v in event.disclosed.items()},
            outcome=event.outcome.value,
            reason=event.reason,
            policy_version=event.policy_version,
            request_id=request.request_id,
            source=request.source,
            leaf_hash=_ZERO,
        )
    ]
    rows += [PlainSubject(pseudonym=p, seq=seq) for p in event.subject_pseudonyms]
    return rows


# -- measurements ---------------------------------------------------------------------------------


@dataclass
class Results:
    backend: str
    figures: dict[str, float] = field(default_factory=dict)

    def put(self, name: str, value: float, unit: str) -> None:
        self.figures[name] = value
        print(f"  {name:<66} {value:>12,.1f} {unit}", flush=True)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_appends(ctx: HubContext, world: World, count: int, res: Results, label: str) -> None:
    """The appender, one per transaction and BATCH per transaction."""
    db = ctx.db
    rnd = random.Random(7)
    acts = [synthetic(world, rnd, i) for i in range(count)]
    start = time.perf_counter()
    for event, actor, request in acts:
        with db.transaction() as session:
            ctx.log.append(session, event, actor=actor, request=request)
    res.put(
        f"append {label}, 1 per transaction", rate(count, time.perf_counter() - start), "entries/s"
    )
    start = time.perf_counter()
    for i in range(0, count, BATCH):
        with db.transaction() as session:
            for event, actor, request in acts[i : i + BATCH]:
                ctx.log.append(session, event, actor=actor, request=request)
    res.put(
        f"append {label}, {BATCH} per transaction",
        rate(count, time.perf_counter() - start),
        "entries/s",
    )


def bench_baseline(db: Database, world: World, count: int, res: Results) -> None:
    PlainBase.metadata.drop_all(db.engine)
    PlainBase.metadata.create_all(db.engine)
    rnd = random.Random(7)
    acts = [synthetic(world, rnd, i) for i in range(count)]
    start = time.perf_counter()
    for seq, (event, actor, request) in enumerate(acts):
        with db.transaction() as session:
            session.add_all(plain_rows(seq, event, actor, request))
    res.put(
        "baseline plain insert, 1 per transaction",
        rate(count, time.perf_counter() - start),
        "entries/s",
    )
    start = time.perf_counter()
    for i in range(0, count, BATCH):
        with db.transaction() as session:
            for seq in range(i, min(i + BATCH, count)):
                event, actor, request = acts[seq]
                session.add_all(plain_rows(count + seq, event, actor, request))
    res.put(
        f"baseline plain insert, {BATCH} per transaction",
        rate(count, time.perf_counter() - start),
        "entries/s",
    )
    PlainBase.metadata.drop_all(db.engine)


def empty_log(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(LogSubject))
        conn.execute(delete(LogEntry))
        conn.execute(delete(Checkpoint))
        conn.execute(
            update(LogHead).values(
                size=0, frontier=[], checkpoint_size=0, checkpoint_time_us=0, time_us=0
            )
        )


# -- bulk load -------------------------------------------------------------------------------------

_COLUMNS = (*ENTRY_FIELDS, "leaf_hash")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def entry_chunks(
    signer: LogSigner, world: World, n: int, start_us: int, frontier: CompactRange
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[str, int]], list[dict[str, Any]]]]:
    """(entry rows, subject rows, checkpoint rows) per LOAD_CHUNK entries, computed exactly
    as the appender would; `frontier` ends up as the head must hold it."""
    rnd = random.Random(11)
    rows: list[tuple[Any, ...]] = []
    subjects: list[tuple[str, int]] = []
    notes: list[dict[str, Any]] = []
    for seq in range(n):
        time_us = start_us + seq * SPACING_US
        entry = as_entry(seq, time_us, *synthetic(world, rnd, seq))
        leaf = entry_leaf_hash(entry)
        frontier.append(leaf)
        rows.append(
            (
                seq,
                time_us,
                entry.actor_partner,
                None if entry.actor_partner_kind is None else entry.actor_partner_kind.value,
                entry.actor_user,
                _json([r.value for r in entry.actor_roles]),
                entry.action.value,
                None if entry.purpose is None else entry.purpose.value,
                entry.case_id,
                _json(list(entry.subject_pseudonyms)),
                _json(list(entry.object_ids)),
                _json({k: list(v) for k, v in entry.disclosed.items()}),
                entry.outcome.value,
                entry.reason,
                entry.policy_version,
                entry.request_id,
                entry.source,
                leaf,
            )
        )
        subjects += [(p, seq) for p in entry.subject_pseudonyms]
        # like the appender: the first entry is signed at once, then every 256
        if frontier.size % CHECKPOINT_EVERY == 1 or frontier.size == n:
            root = frontier.root()
            notes.append(
                {
                    "tree_size": frontier.size,
                    "root_hash": root,
                    "note": sign_checkpoint(
                        signer.origin, frontier.size, root, signer.key, signer.key_name
                    ),
                    "signed_at": datetime.fromtimestamp(time_us / 1e6, UTC),
                }
            )
        if len(rows) >= LOAD_CHUNK or seq == n - 1:
            yield rows, subjects, notes
            rows, subjects, notes = [], [], []


class Loader:
    """Writes chunks of precomputed rows straight into one backend's tables."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.engine = backend.ctx.db.engine
        self.indexes = list(cast(Table, LogEntry.__table__).indexes)
        self.seconds = 0.0
        self.last_checkpoint_us = 0
        empty_log(self.engine)
        started = time.perf_counter()
        with self.engine.begin() as conn:  # indexes are built once, after the load
            for index in self.indexes:
                index.drop(conn)
        self.raw = self.engine.raw_connection()
        self.seconds += time.perf_counter() - started

    def write(
        self,
        rows: list[tuple[Any, ...]],
        subjects: list[tuple[str, int]],
        notes: list[dict[str, Any]],
    ) -> None:
        started = time.perf_counter()
        dbapi: Any = self.raw.driver_connection
        if self.engine.dialect.name == "postgresql":
            with dbapi.cursor() as cur:
                with cur.copy(f"COPY access_log ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                with cur.copy("COPY access_log_subjects (pseudonym, seq) FROM STDIN") as copy:
                    for subject in subjects:
                        copy.write_row(subject)
            dbapi.commit()
        else:
            cur = dbapi.cursor()
            cur.execute("BEGIN")
            marks = ", ".join("?" for _ in _COLUMNS)
            cur.executemany(
                f"INSERT INTO access_log ({', '.join(_COLUMNS)}) VALUES ({marks})", rows
            )
            cur.executemany(
                "INSERT INTO access_log_subjects (pseudonym, seq) VALUES (?, ?)", subjects
            )
            cur.execute("COMMIT")
            cur.close()
        if notes:
            with self.engine.begin() as conn:
                conn.execute(insert(Checkpoint), notes)
            self.last_checkpoint_us = int(notes[-1]["signed_at"].timestamp() * 1_000_000)
        self.seconds += time.perf_counter() - started

    def finish(self, frontier: CompactRange) -> float:
        """Set the head, build the indexes; returns the seconds the indexes took."""
        self.raw.close()
        started = time.perf_counter()
        with self.engine.begin() as conn:
            conn.execute(
                update(LogHead).values(
                    size=frontier.size,
                    frontier=frontier.hex_hashes(),
                    checkpoint_size=frontier.size,
                    checkpoint_time_us=self.last_checkpoint_us,
                    time_us=self.last_checkpoint_us,  # the last entry's
                )
            )
        self.seconds += time.perf_counter() - started
        started = time.perf_counter()
        with self.engine.begin() as conn:
            for index in self.indexes:
                index.create(conn)
            conn.execute(text("ANALYZE"))
        return time.perf_counter() - started


def bulk_load(backends: list[Backend], world: World, n: int) -> tuple[int, int]:
    """One pass computes the entries; every backend gets the same rows. Returns the time span
    (µs) the loaded entries cover."""
    print(f"\n== bulk load of {n:,} entries into {', '.join(b.name for b in backends)}")
    loaders = [Loader(b) for b in backends]
    frontier = CompactRange()
    start_us = time.time_ns() // 1000 - n * SPACING_US - 3_600_000_000  # ending an hour ago
    signer = backends[0].ctx.log.signer
    started = time.perf_counter()
    for chunk in entry_chunks(signer, world, n, start_us, frontier):
        for loader in loaders:
            loader.write(*chunk)
        done = chunk[0][-1][0] + 1
        if done % 500_000 < LOAD_CHUNK:
            print(f"  ... {done:,} entries ({time.perf_counter() - started:,.0f} s)", flush=True)
    total = time.perf_counter() - started
    writing = sum(loader.seconds for loader in loaders)
    computing = total - writing
    for loader in loaders:
        indexing = loader.finish(frontier)
        res = loader.backend.res
        res.put(f"bulk load {n:,}: compute entries, leaf hashes, checkpoints", computing, "s")
        res.put(f"bulk load {n:,}: write rows ({loader.backend.name})", loader.seconds, "s")
        res.put(f"bulk load {n:,}: build indexes + ANALYZE", indexing, "s")
    return start_us, start_us + n * SPACING_US


# -- verification ----------------------------------------------------------------------------------


def bench_verify(ctx: HubContext, tmp: Path, res: Results) -> None:
    start = time.perf_counter()
    report = ctx.audit.verify_live()
    elapsed = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"verify_live FAILED: {report.problem}")
    res.put(
        f"verify_live over {report.entries_checked:,} entries",
        rate(report.entries_checked, elapsed),
        "entries/s",
    )
    res.put("  verify_live time", elapsed, "s")
    path = tmp / f"export-{res.backend}.jsonl"
    start = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(ctx.audit.export_full(None))
    elapsed = time.perf_counter() - start
    res.put("export (vhhub audit export)", rate(report.entries_checked, elapsed), "entries/s")
    start = time.perf_counter()
    offline = verify_export_file(path, ctx.log.signer.verifier_key)
    elapsed = time.perf_counter() - start
    if not offline.ok:
        raise SystemExit(f"offline verify FAILED: {offline.problem}")
    res.put(
        f"offline verify_export_file ({path.stat().st_size / 1e6:,.0f} MB)",
        rate(offline.entries_checked, elapsed),
        "entries/s",
    )
    path.unlink()


# -- queries ---------------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50 * 1000, p95 * 1000


QueryKind = Callable[
    [], tuple[Callable[[], Any], Callable[[], int], Callable[[Session], Select[Any]]]
]


def bench_queries(
    ctx: HubContext, world: World, span: tuple[int, int], count: int, res: Results
) -> None:
    viewer = Viewer(
        partner="zvh",
        partner_kind=PartnerKind.ZVH_STAFF,
        user="aud-bench",
        roles=frozenset({Role.AUDITOR}),
        purpose=Purpose.AUDIT,
        request=RequestInfo(request_id="bench", source="bench", purpose=Purpose.AUDIT),
    )
    rnd = random.Random(42)
    partners = [p for p, _ in PARTNERS]
    actions = [a.value for a, _, _ in ACTIONS]
    pseudonym_of = {b: ps[0] for b, ps in zip(world.bsns, world.case_subjects, strict=False)}
    first_us, end_us = span

    def window(length_us: int) -> tuple[datetime, datetime]:
        since = rnd.randrange(first_us, max(first_us + 1, end_us - length_us))
        return (
            datetime.fromtimestamp(since / 1e6, UTC),
            datetime.fromtimestamp((since + length_us) / 1e6, UTC),
        )

    def filtered(where: EntryFilter, cursor: int | None = None) -> Any:
        def query(session: Session) -> Select[Any]:
            q = where.apply(select(LogEntry), session)
            return q if cursor is None else q.where(LogEntry.seq > cursor)

        return (lambda: ctx.audit.entries(viewer, where, cursor, 100)), (lambda: rows(query)), query

    def by_case() -> Any:
        return filtered(EntryFilter(case_id=rnd.choice(world.cases)))

    def by_partner_action() -> Any:
        return filtered(EntryFilter(partner=rnd.choice(partners), action=rnd.choice(actions)))

    def by_user() -> Any:
        partner = rnd.choice(partners)
        return filtered(EntryFilter(user=f"u-{partner[:6]}-{rnd.randrange(40)}"))

    def by_day() -> Any:
        since, until = window(DAY_US)
        return filtered(EntryFilter(since=since, until=until))

    def by_partner_denied_month() -> Any:
        since, until = window(30 * DAY_US)
        return filtered(
            EntryFilter(partner=rnd.choice(partners), outcome="denied", since=since, until=until)
        )

    def by_outcome_error() -> Any:
        return filtered(EntryFilter(outcome="error"))

    def by_purpose_audit() -> Any:
        return filtered(EntryFilter(purpose="audit"))

    def second_page() -> Any:
        where = EntryFilter(partner=rnd.choice(partners))
        first = ctx.audit.entries(viewer, where, None, 100)
        return filtered(where, first.next_cursor)

    def by_subject() -> Any:
        bsn = rnd.choice(list(pseudonym_of))
        ident = SubjectIdentifiers(bsn=bsn)

        def query(session: Session) -> Select[Any]:
            seqs = select(LogSubject.seq).where(LogSubject.pseudonym.in_([pseudonym_of[bsn]]))
            return select(LogEntry).where(LogEntry.seq.in_(seqs))

        return (
            (lambda: ctx.audit.subject_entries(viewer, ident, None, 100)),
            (lambda: rows(query)),
            query,
        )

    def rows(query: Callable[[Session], Select[Any]]) -> int:
        """The bare SELECT of a first page, with what it needs to build (time -> seq)."""
        with ctx.db.transaction() as session:
            return len(session.scalars(query(session).order_by(LogEntry.seq).limit(101)).all())

    kinds: dict[str, QueryKind] = {
        "by case": by_case,
        "by partner + action": by_partner_action,
        "by user": by_user,
        "by one day": by_day,
        "by partner + denied, 1 month": by_partner_denied_month,
        "by outcome error": by_outcome_error,
        "by purpose audit": by_purpose_audit,
        "by partner, second page": second_page,
        "by subject (BSN)": by_subject,
    }
    plans: dict[str, Callable[[Session], Select[Any]]] = {}
    for name, make in kinds.items():
        service_times: list[float] = []
        sql_times: list[float] = []
        found = 0
        for _ in range(count):
            service, sql, query = make()
            t0 = time.perf_counter()
            found += sql()
            t1 = time.perf_counter()
            service()
            t2 = time.perf_counter()
            sql_times.append(t1 - t0)
            service_times.append(t2 - t1)
        plans[name] = query
        s50, s95 = percentiles(service_times)
        q50, q95 = percentiles(sql_times)
        res.put(f"query {name}: AuditService p50", s50, "ms")
        res.put(f"query {name}: AuditService p95", s95, "ms")
        res.put(f"query {name}: SELECT only p50", q50, "ms")
        res.put(f"query {name}: SELECT only p95", q95, "ms")
        res.put(f"query {name}: rows in the first page (mean, max 101)", found / count, "rows")
    print_plans(ctx, plans)


def print_plans(ctx: HubContext, plans: dict[str, Callable[[Session], Select[Any]]]) -> None:
    """The plan of the last query of each kind, as the database ran it (PostgreSQL) or would
    run it (SQLite), so a slow figure can be traced to its index or its absence."""
    engine = ctx.db.engine
    postgres = engine.dialect.name == "postgresql"
    explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)" if postgres else "EXPLAIN QUERY PLAN"
    with ctx.db.transaction() as session:
        for name, query in plans.items():
            compiled = (
                query(session)
                .order_by(LogEntry.seq)
                .limit(101)
                .compile(engine, compile_kwargs={"literal_binds": True})
            )
            lines = session.execute(text(f"{explain} {compiled}")).all()
            print(f"  plan, {name}:")
            for line in lines:
                print(f"    {line[0] if postgres else line[-1]}")


# -- backends --------------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    ctx: HubContext
    res: Results


def open_backend(name: str, url: str, data_dir: Path) -> Backend:
    """`vhhub init` on this database (the keys in `data_dir` are shared) and its context."""
    settings = Settings(data_dir=data_dir, database_url=url)
    initialise(settings)
    return Backend(name, HubContext.open(settings), Results(name))


def run(backends: list[Backend], tmp: Path, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    world = World.build(args.entries, backends[0].ctx.keys.blind_indexer())
    print(
        f"world: {len(world.cases):,} cases, {len(world.bsns):,} subjects "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    for b in backends:
        print(f"\n== {b.name}: appends on an empty log", flush=True)
        bench_baseline(b.ctx.db, world, args.appends, b.res)
        empty_log(b.ctx.db.engine)
        bench_appends(b.ctx, world, args.appends, b.res, "on an empty log")
    span = bulk_load(backends, world, args.entries)
    for b in backends:
        print(f"\n== {b.name}: at {args.entries:,} entries", flush=True)
        bench_appends(b.ctx, world, args.appends, b.res, f"at {args.entries:,} entries")
        if args.verify:
            bench_verify(b.ctx, tmp, b.res)
        bench_queries(b.ctx, world, span, args.queries, b.res)


def postgres_scratch(server_url: str) -> tuple[str, Callable[[], None]] | None:
    """Create a scratch database on the server; None when it is not reachable."""
    base = make_url(server_url)
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"vhhub_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure means: skip PostgreSQL
        print(
            f"PostgreSQL at {base.render_as_string(hide_password=True)} not usable: "
            f"{type(exc).__name__}"
        )
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def summary(all_results: list[Results], args: argparse.Namespace) -> None:
    print("\n== summary (ratios against the plain-insert baseline of the same backend and run)")
    for res in all_results:
        f = res.figures
        print(f"-- {res.backend}")
        for per in ("1 per transaction", f"{BATCH} per transaction"):
            base = f[f"baseline plain insert, {per}"]
            for label in ("on an empty log", f"at {args.entries:,} entries"):
                key = f"append {label}, {per}"
                print(
                    f"  {key:<58} {f[key]:>10,.0f} entries/s = {f[key] / base:5.2f} x "
                    f"baseline ({base:,.0f}/s)"
                )
        if args.verify:
            live = next(v for k, v in f.items() if k.startswith("verify_live over"))
            offline = next(v for k, v in f.items() if k.startswith("offline verify_export_file"))
            print(
                f"  verify: live {live:,.0f} entries/s, offline {offline:,.0f} entries/s "
                f"(live = {live / offline:.2f} x offline)"
            )
        kinds = [
            k.removeprefix("query ").removesuffix(": AuditService p50")
            for k in f
            if k.endswith(": AuditService p50")
        ]
        for kind in kinds:
            print(
                f"  query {kind:<30} p50/p95 AuditService "
                f"{f[f'query {kind}: AuditService p50']:6.1f} / "
                f"{f[f'query {kind}: AuditService p95']:6.1f} ms, SELECT only "
                f"{f[f'query {kind}: SELECT only p50']:6.1f} / "
                f"{f[f'query {kind}: SELECT only p95']:6.1f} ms"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="bulk-loaded log size")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("VHHUB_BENCH_DATABASE_URL", DEFAULT_PG),
        help="PostgreSQL server to create a scratch database on",
    )
    parser.add_argument("--appends", type=int, default=2000, help="entries per append run")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip live and offline verification of the loaded log",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s); log of {args.entries:,} "
        f"entries; {args.appends:,} appends per run; {args.queries} queries per kind"
    )
    started = time.perf_counter()
    backends: list[Backend] = []
    drops: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory(prefix="vhhub-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        try:
            if not args.no_sqlite:
                backends.append(open_backend("sqlite", sqlite_url(tmp / "bench.db"), data_dir))
            if not args.no_postgres:
                scratch = postgres_scratch(args.database_url)
                if scratch is not None:
                    url, drop = scratch
                    drops.append(drop)
                    backends.append(open_backend("postgresql", url, data_dir))
            if backends:
                run(backends, tmp, args)
        finally:
            for b in backends:
                b.ctx.close()
            for drop in drops:
                drop()
    results = [b.res for b in backends]
    summary(results, args)
    print(f"\ntotal run time {time.perf_counter() - started:,.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
