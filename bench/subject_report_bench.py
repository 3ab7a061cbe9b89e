"""Data-subject access report bench (AVG art. 15, ADR 0403): time, peak memory and the
latency of writes while a report streams, at a realistic log size, on SQLite and PostgreSQL.

    python bench/subject_report_bench.py [--entries N] [--reads N] [--database-url URL]
                                         [--writes N] [--repeat N] [--verify]
                                         [--no-sqlite] [--no-postgres]

Per backend, in one run on the same machine (so the figures compare):

1. A log of N entries (default 1,000,000), written straight into the tables -- COPY on
   PostgreSQL, executemany on SQLite -- exactly as the appender would write them: entry
   format v2 where an entry names facts, correct leaf hashes, a signed checkpoint every 256
   entries, the head's frontier; `--verify` runs `AuditService.verify_live()` over it.
   One household case (father, mother, child; 40 facts about one, two or all of them, with
   their rows in `cases`, `subjects`, `subject_index`, `facts` and `fact_subjects`) is read
   `--reads` times (default 740), scattered over the whole log, so the father's report has
   about 5,000 lines; every other entry is about other cases.
2. Baseline: the plain log query for the same person -- the bare SELECT of every entry that
   names them (through the subject index), and the auditor's paged subject query
   (`AuditService.subject_entries`, pages of 1000) -- time and peak memory.
3. The report: `AuditService.subject_report` for the father, consumed to the end as JSON
   Lines (with an inclusion proof per act) and as HTML: acts, lines, bytes, wall time (best
   and median of `--repeat`), peak Python memory (tracemalloc) and peak RSS growth of the
   process; and the ratio to the baseline. For contrast, what one proof costs the old way
   (one subtree walk over the stored leaves per proof), times the number of acts.
4. Writes while a report streams: `--writes` appends (each in its own transaction, as every
   act writes its entry), one after another, alone and while reports stream without pause
   in another thread of the same process (which also competes for the GIL) and in another
   process (another hub process on the same database): p50 / p95 / max ms and the ratio to
   writing alone.

PostgreSQL: ``--database-url`` names a server the bench may create a scratch database on
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); it is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import Table, create_engine, delete, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from hub.audit.checkpoints import sign_checkpoint  # noqa: E402
from hub.audit.entry import ENTRY_FIELDS, AccessLogEntry, Action, Outcome, entry_leaf_hash  # noqa: E402
from hub.audit.log import AccessLog, Actor, Event, LogSigner, RequestInfo  # noqa: E402
from hub.audit.merkle import CompactRange  # noqa: E402
from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject  # noqa: E402
from hub.audit.schemas import SubjectIdentifiers  # noqa: E402
from hub.audit.store import inclusion_proof  # noqa: E402
from hub.cases.models import Case, Subject, SubjectIndex  # noqa: E402
from hub.context import HubContext  # noqa: E402
from hub.db.session import Database  # noqa: E402
from hub.facts.models import Fact, FactSubject  # noqa: E402
from hub.identity.viewer import Viewer  # noqa: E402
from hub.settings import Settings  # noqa: E402
from hub.setup import initialise  # noqa: E402
from hub.vocabulary import DisclosureLevel, PartnerKind, Purpose, Role  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHECKPOINT_EVERY = 256
LOAD_CHUNK = 20_000
SPACING_US = 15_000_000
FAMILY = {"father": "123456782", "mother": "111222333", "child": "100000009"}
#: whom each of the household's 40 facts concerns, in turn
CONCERNS: list[tuple[str, ...]] = [
    ("father",),
    ("mother",),
    ("father", "mother"),
    (),
    ("child",),
    ("father",),
    ("mother",),
    ("father", "mother", "child"),
]
PARTICIPANTS = ["politie", "om", "reclassering", "gemeente-wi", "woningcorporatie", "ggz"]
POLICY = "sha256:" + "3f5a9c0e1b2d4f6a" * 3


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Results:
    backend: str
    figures: dict[str, float] = field(default_factory=dict)

    def put(self, name: str, value: float, unit: str) -> None:
        self.figures[name] = value
        print(f"  {name:<70} {value:>12,.2f} {unit}", flush=True)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssPeak:
    """Samples the process's resident memory every 5 ms; `growth` is the peak above start."""

    def __enter__(self) -> RssPeak:
        self.start = _rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(best s, median s, last result) of `repeat` runs."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def traced(fn: Callable[[], Any]) -> tuple[float, float]:
    """(peak Python allocations MB by tracemalloc, peak RSS growth MB) of one run."""
    with RssPeak() as rss:
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 1e6, rss.growth


def latencies(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


# -- the household and the log ---------------------------------------------------------------


@dataclass
class Household:
    case_id: str
    subject_ids: dict[str, str]
    pseudonyms: dict[str, str]  # person -> bsn blind index
    facts: list[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list
    )  # (fact id, type, publisher, kind, concerns, summary fields)


def build_household(ctx: HubContext) -> Household:
    indexer = ctx.keys.blind_indexer()
    case_id = str(uuid.uuid4())
    subject_ids = {p: str(uuid.uuid4()) for p in FAMILY}
    world = Household(case_id, subject_ids, {p: indexer.bsn(bsn) for p, bsn in FAMILY.items()})
    publishers = {
        kind: next(p.id for p in ctx.registry.partners.values() if p.kind is kind)
        for kind in PartnerKind
        if any(p.kind is kind for p in ctx.registry.partners.values())
    }
    types = [t for t in ctx.catalog if not t.name.startswith("plan.")]
    now = datetime.now(UTC)
    with ctx.db.transaction() as session:
        session.add(
            Case(
                id=case_id,
                kind="family",
                proposed_table="multi_problem",
                phase="case_conference",
                status="open",
                registered_by_partner="politie",
                registered_by_user="u-politie",
            )
        )
        session.flush()
        for person, sid in subject_ids.items():
            session.add(Subject(id=sid, case_id=case_id, role_in_case=person))
        session.flush()
        for person, sid in subject_ids.items():
            session.add(
                SubjectIndex(
                    subject_id=sid, kind="bsn", value=world.pseudonyms[person], case_id=case_id
                )
            )
        for n in range(40):
            fact_type = types[n % len(types)]
            kind = sorted(fact_type.publisher_kinds)[0]
            fid = str(uuid.uuid4())
            concerns = CONCERNS[n % len(CONCERNS)]
            session.add(
                Fact(
                    id=fid,
                    case_id=case_id,
                    subject_id=subject_ids[concerns[0]] if len(concerns) == 1 else None,
                    fact_type=fact_type.id,
                    life_domain=fact_type.life_domain.value,
                    sensitivity=fact_type.sensitivity.value,
                    legal_basis="convenant_zvh",
                    shareable=False,
                    publisher_partner=publishers[kind],
                    publisher_kind=kind.value,
                    publisher_user="u-bench",
                    idempotency_key=f"bench-{n}",
                    lineage_id=fid,
                    version=1,
                    status="current",
                    published_at=now,
                    change_seq=0,
                )
            )
            summary = tuple(sorted(fact_type.fields_at(DisclosureLevel.SUMMARY)))
            world.facts.append((fid, fact_type.id, publishers[kind], kind.value, concerns, summary))
        session.flush()
        for fid, *_, concerns, _ in world.facts:
            for person in concerns:
                session.add(FactSubject(fact_id=fid, subject_id=subject_ids[person]))
    return world


def household_pseudonyms(world: Household, concerns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(world.pseudonyms[p] for p in (concerns or tuple(FAMILY))))


def entries(world: Household, n: int, reads: int, start_us: int) -> Iterator[AccessLogEntry]:
    """The log: the household's facts published early, `reads` briefing reads of the
    household scattered over the whole log, a few plan reads; other cases everywhere else."""
    rnd = random.Random(11)
    special = sorted(rnd.sample(range(1000, n), min(reads + 20, n - 1000)))
    plan_reads = set(special[:: max(1, len(special) // 20)])
    household_at = set(special)
    others = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(max(10, n // 100))]
    other_people = [f"{rnd.getrandbits(128):032x}" for _ in range(len(others) * 2)]
    for seq in range(n):
        time_us = start_us + seq * SPACING_US
        partner = PARTICIPANTS[seq % len(PARTICIPANTS)]
        actor: dict[str, Any] = dict(
            actor_partner=partner,
            actor_partner_kind=PartnerKind.POLICE if partner == "politie" else PartnerKind.HOUSING,
            actor_user=f"u-{partner}-{seq % 40}",
            actor_roles=(Role.PARTICIPANT,),
            purpose=Purpose.CASE_CONFERENCE,
            policy_version=POLICY,
            request_id=f"{seq:032x}",
            source="10.0.0.1",
        )
        if seq < len(world.facts):  # the household's facts are published first
            fid, _, publisher, kind, concerns, _ = world.facts[seq]
            names = household_pseudonyms(world, concerns)
            yield AccessLogEntry(
                seq=seq,
                time_us=time_us,
                action=Action.FACT_PUBLISH,
                outcome=Outcome.ALLOWED,
                case_id=world.case_id,
                object_ids=(fid,),
                subject_pseudonyms=names,
                fact_subjects={fid: names},
                **{**actor, "actor_partner": publisher, "actor_partner_kind": PartnerKind(kind)},
            )
        elif seq in plan_reads:
            yield AccessLogEntry(
                seq=seq,
                time_us=time_us,
                action=Action.PLAN_READ,
                outcome=Outcome.ALLOWED,
                case_id=world.case_id,
                object_ids=("plan-1",),
                disclosed={"plan-1": ("analysis", "goals", "interventions")},
                subject_pseudonyms=household_pseudonyms(world, ()),
                **actor,
            )
        elif seq in household_at:
            shown = rnd.sample(world.facts, 12)
            yield AccessLogEntry(
                seq=seq,
                time_us=time_us,
                action=Action.BRIEFING_READ,
                outcome=Outcome.ALLOWED,
                case_id=world.case_id,
                object_ids=tuple(f[0] for f in shown),
                disclosed={f[0]: f[5] if i % 3 else () for i, f in enumerate(shown)},
                subject_pseudonyms=tuple(
                    sorted({p for f in shown for p in household_pseudonyms(world, f[4])})
                ),
                fact_subjects={f[0]: household_pseudonyms(world, f[4]) for f in shown},
                **actor,
            )
        else:
            c = rnd.randrange(len(others))
            people = (other_people[2 * c], other_people[2 * c + 1])[: 1 + c % 2]
            draw = rnd.random()
            if draw < 0.6:
                facts = {f"f-{c}-{k}": ("headline",) for k in range(rnd.randrange(1, 6))}
                yield AccessLogEntry(
                    seq=seq,
                    time_us=time_us,
                    action=Action.BRIEFING_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=others[c],
                    object_ids=tuple(facts),
                    disclosed=facts,
                    subject_pseudonyms=people,
                    fact_subjects={f: people for f in facts},
                    **actor,
                )
            else:
                yield AccessLogEntry(
                    seq=seq,
                    time_us=time_us,
                    action=Action.CASE_READ if draw < 0.9 else Action.CASE_CHANGE_PHASE,
                    outcome=Outcome.ALLOWED,
                    case_id=others[c],
                    subject_pseudonyms=people if draw >= 0.9 else (),
                    **actor,
                )


_COLUMNS = (*ENTRY_FIELDS, "fact_subjects", "leaf_hash")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _row(entry: AccessLogEntry, leaf: bytes) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.time_us,
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
        _json({k: list(v) for k, v in entry.fact_subjects.items()}),
        leaf,
    )


def bulk_load(ctx: HubContext, world: Household, n: int, reads: int, res: Results) -> None:
    """Write the log straight into the tables, as the appender would have (ADR 0402's
    loader, plus `fact_subjects`): indexes dropped during the load and rebuilt after."""
    engine = ctx.db.engine
    signer: LogSigner = ctx.log.signer
    indexes = list(cast(Table, LogEntry.__table__).indexes)
    with engine.begin() as conn:
        conn.execute(delete(LogSubject))
        conn.execute(delete(LogEntry))
        conn.execute(delete(Checkpoint))
        for index in indexes:
            index.drop(conn)
    raw = engine.raw_connection()
    dbapi: Any = raw.driver_connection
    frontier = CompactRange()
    start_us = time.time_ns() // 1000 - n * SPACING_US - 3_600_000_000
    started = time.perf_counter()
    computing = 0.0
    rows: list[tuple[Any, ...]] = []
    subjects: list[tuple[str, int]] = []
    notes: list[dict[str, Any]] = []
    last_us = 0
    it = entries(world, n, reads, start_us)
    while True:
        t0 = time.perf_counter()
        for entry in it:
            leaf = entry_leaf_hash(entry)
            frontier.append(leaf)
            rows.append(_row(entry, leaf))
            subjects += [(p, entry.seq) for p in entry.subject_pseudonyms]
            if frontier.size % CHECKPOINT_EVERY == 0 or frontier.size == n:
                root = frontier.root()
                notes.append(
                    {
                        "tree_size": frontier.size,
                        "root_hash": root,
                        "note": sign_checkpoint(
                            signer.origin, frontier.size, root, signer.key, signer.key_name
                        ),
                        "signed_at": datetime.fromtimestamp(entry.time_us / 1e6, UTC),
                    }
                )
                last_us = entry.time_us
            if len(rows) >= LOAD_CHUNK:
                break
        computing += time.perf_counter() - t0
        if not rows:
            break
        if engine.dialect.name == "postgresql":
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
            with engine.begin() as conn:
                conn.execute(insert(Checkpoint), notes)
        rows, subjects, notes = [], [], []
    raw.close()
    with engine.begin() as conn:
        conn.execute(
            update(LogHead).values(
                size=frontier.size,
                frontier=frontier.hex_hashes(),
                checkpoint_size=frontier.size,
                checkpoint_time_us=last_us,
                time_us=last_us,
            )
        )
    loaded = time.perf_counter() - started
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
        conn.execute(text("ANALYZE"))
    res.put(f"bulk load {n:,}: compute entries, leaf hashes, checkpoints", computing, "s")
    res.put(f"bulk load {n:,}: write rows", loaded - computing, "s")
    res.put(f"bulk load {n:,}: build indexes + ANALYZE", time.perf_counter() - t0, "s")


# -- the benchmarks -----------------------------------------------------------------------------


def auditor() -> Viewer:
    return Viewer(
        partner="zvh",
        partner_kind=PartnerKind.ZVH_STAFF,
        user="aud-bench",
        roles=frozenset({Role.AUDITOR}),
        purpose=Purpose.SUBJECT_ACCESS,
        request=RequestInfo(request_id="bench", source="bench", purpose=Purpose.SUBJECT_ACCESS),
    )


def consume(stream: Iterator[str]) -> tuple[int, int, int]:
    """(acts, lines, bytes) of a streamed report."""
    acts = lines = size = 0
    for chunk in stream:
        size += len(chunk)
        if chunk.startswith("<tr>"):  # HTML: a row per line, the act's first row has rowspan
            acts += chunk.count('<td rowspan="') // 3
            lines += chunk.count("<tr><td")
        elif chunk.startswith('{"'):
            obj = json.loads(chunk)
            if obj["type"] == "act":
                acts += 1
                lines += len(obj["lines"])
            elif obj["type"] == "error":
                raise SystemExit(f"report failed: {obj['problem']}")
    return acts, lines, size


def bench_report(ctx: HubContext, world: Household, repeat: int, res: Results) -> None:
    viewer = auditor()
    who = SubjectIdentifiers(bsn=FAMILY["father"])
    pseudonyms = [world.pseudonyms["father"]]

    def bare_select() -> int:
        with ctx.db.snapshot() as session:
            seqs = select(LogSubject.seq).where(LogSubject.pseudonym.in_(pseudonyms))
            return len(
                session.scalars(
                    select(LogEntry).where(LogEntry.seq.in_(seqs)).order_by(LogEntry.seq)
                ).all()
            )

    def paged() -> int:
        count, cursor = 0, None
        while True:
            page = ctx.audit.subject_entries(viewer, who, cursor, 1000)
            count += len(page.entries)
            if page.next_cursor is None:
                return count
            cursor = page.next_cursor

    def report(fmt: str) -> Callable[[], tuple[int, int, int]]:
        return lambda: consume(ctx.audit.subject_report(viewer, who, fmt=fmt))

    load = os.getloadavg()
    res.put("load average (1 min) before the measurements, on this many cores", load[0], "")
    best, _, count = timed(bare_select, repeat)
    res.put(f"baseline: bare SELECT of the person's {count:,} entries, best", best * 1000, "ms")
    base_py, _ = traced(bare_select)
    res.put("baseline: bare SELECT, peak Python memory (tracemalloc)", base_py, "MB")
    best_paged, _, count = timed(paged, repeat)
    res.put(
        f"baseline: auditor's subject query, {count:,} entries in pages of 1000, best",
        best_paged * 1000,
        "ms",
    )

    for fmt in ("jsonl", "html"):
        best_r, median_r, (acts, lines, size) = timed(report(fmt), repeat)
        label = "JSON Lines with proofs" if fmt == "jsonl" else "HTML"
        res.put(
            f"report ({label}): {acts:,} acts, {lines:,} lines, {size / 1e6:.1f} MB", lines, "lines"
        )
        res.put(f"report ({label}): wall time, best of {repeat}", best_r, "s")
        res.put(f"report ({label}): wall time, median of {repeat}", median_r, "s")
        res.put(f"report ({label}): ratio to the bare SELECT", best_r / best, "x")
        res.put(
            f"report ({label}): ratio to the auditor's paged subject query",
            best_r / best_paged,
            "x",
        )
        py, rss = traced(report(fmt))
        res.put(f"report ({label}): peak Python memory (tracemalloc)", py, "MB")
        res.put(f"report ({label}): peak RSS growth of the process", rss, "MB")

    # the old way, for contrast: one walk over the stored leaves per proof
    with ctx.db.snapshot() as session:
        size = session.scalar(select(LogHead.size)) or 0
        seqs = list(
            session.scalars(
                select(LogSubject.seq)
                .where(LogSubject.pseudonym.in_(pseudonyms))
                .order_by(LogSubject.seq)
                .limit(3)
            )
        )
        start = time.perf_counter()
        for seq in seqs:
            inclusion_proof(session, seq, size)
        per_proof = (time.perf_counter() - start) / max(1, len(seqs))
    res.put("old way: one inclusion proof from the stored leaves", per_proof, "s")
    res.put(f"old way: times {acts:,} acts (extrapolated)", per_proof * acts, "s")


def _append_one(log: AccessLog, db: Database, i: int) -> tuple[float, float]:
    """One act's entry in its own transaction: (total s, s spent waiting for the log head
    -- SQLite's write lock or PostgreSQL's row lock, which a report must never hold)."""
    start = time.perf_counter()
    with db.transaction() as session:
        session.execute(select(LogHead.id).where(LogHead.id == 1).with_for_update())
        waited = time.perf_counter() - start
        log.append(
            session,
            Event(Action.CASE_READ, Outcome.ALLOWED, case_id=f"c-bench-{i}", reason="bench"),
            actor=Actor("politie", PartnerKind.POLICE, "u-bench", (Role.PARTICIPANT,)),
            request=RequestInfo(request_id=f"w{i}", source="bench"),
        )
    return time.perf_counter() - start, waited


def _writer_process(url: str, data_dir: str, count: int, queue: Any) -> None:
    ctx = HubContext.open(Settings(data_dir=Path(data_dir), database_url=url))
    try:
        queue.put([_append_one(ctx.log, ctx.db, 10_000_000 + i) for i in range(count)])
    finally:
        ctx.close()


def _report_latencies(res: Results, label: str, samples: list[tuple[float, float]]) -> None:
    total = latencies([t for t, _ in samples])
    waited = latencies([w for _, w in samples])
    res.put(f"{label}: p50 / p95 / max ms", total[0], "ms")
    print(f"  {'':<70} {total[1]:>12,.2f} ms (p95) {total[2]:>9,.2f} ms (max)")
    res.put(f"{label}: waiting for the log head, p50 / p95 / max", waited[0], "ms")
    print(f"  {'':<70} {waited[1]:>12,.2f} ms (p95) {waited[2]:>9,.2f} ms (max)")
    res.figures[f"{label}: p95"] = total[1]
    res.figures[f"{label}: head wait max"] = waited[2]


def bench_writes(ctx: HubContext, world: Household, count: int, res: Results) -> None:
    viewer = auditor()
    who = SubjectIdentifiers(bsn=FAMILY["father"])

    def while_reporting(write: Callable[[], list[tuple[float, float]]]) -> tuple[Any, int]:
        stop = threading.Event()
        reports = [0]

        def reporter() -> None:
            while not stop.is_set():
                consume(ctx.audit.subject_report(viewer, who, fmt="jsonl"))
                reports[0] += 1

        thread = threading.Thread(target=reporter, daemon=True)
        thread.start()
        time.sleep(0.5)  # the first report is past its short transaction and streaming
        try:
            return write(), reports[0] + 1
        finally:
            stop.set()
            thread.join()

    def same_process() -> list[tuple[float, float]]:
        return [_append_one(ctx.log, ctx.db, i) for i in range(count)]

    def other_process() -> list[tuple[float, float]]:
        mp = multiprocessing.get_context("spawn")
        queue = mp.Queue()
        proc = mp.Process(
            target=_writer_process,
            args=(ctx.settings.effective_database_url, str(ctx.settings.data_dir), count, queue),
        )
        proc.start()
        samples: list[tuple[float, float]] = queue.get(timeout=600)
        proc.join()
        return samples

    _report_latencies(res, f"{count} writes alone (same process)", same_process())
    during, reports = while_reporting(same_process)
    _report_latencies(res, f"{count} writes during {reports} reports (same process)", during)
    _report_latencies(res, f"{count} writes alone (another process)", other_process())
    during, reports = while_reporting(other_process)
    _report_latencies(res, f"{count} writes during {reports} reports (another process)", during)


# -- driver ----------------------------------------------------------------------------------


def postgres_scratch(server_url: str) -> tuple[str, Callable[[], None]] | None:
    base = make_url(server_url)
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"vhhub_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a bench without PostgreSQL still runs SQLite
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipping it")
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def run_backend(name: str, url: str, data_dir: Path, args: argparse.Namespace) -> Results:
    res = Results(name)
    print(f"\n== {name}: {args.entries:,} entries", flush=True)
    settings = Settings(data_dir=data_dir, database_url=url)
    initialise(settings)
    ctx = HubContext.open(settings)
    try:
        world = build_household(ctx)
        bulk_load(ctx, world, args.entries, args.reads, res)
        if args.verify:
            start = time.perf_counter()
            report = ctx.audit.verify_live()
            if not report.ok:
                raise SystemExit(f"verify_live FAILED: {report.problem}")
            res.put(
                f"verify_live: the loaded log is valid ({report.entries_checked:,} entries)",
                time.perf_counter() - start,
                "s",
            )
        bench_report(ctx, world, args.repeat, res)
        bench_writes(ctx, world, args.writes, res)
    finally:
        ctx.close()
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=740, help="reads of the household")
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verify", action="store_true", help="verify_live the loaded log")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    print(
        f"subject report bench: {args.entries:,} entries, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    results: list[Results] = []
    with tempfile.TemporaryDirectory(prefix="vhhub-report-bench-") as tmp:
        if not args.no_sqlite:
            url = f"sqlite+pysqlite:///{Path(tmp) / 'bench.db'}"
            results.append(run_backend("SQLite", url, Path(tmp) / "data", args))
        if not args.no_postgres:
            scratch = postgres_scratch(args.database_url)
            if scratch is not None:
                url, drop = scratch
                try:
                    results.append(run_backend("PostgreSQL", url, Path(tmp) / "data", args))
                finally:
                    drop()
    print("\nsummary")
    for res in results:
        jsonl = res.figures.get(
            "report (JSON Lines with proofs): wall time, best of " + str(args.repeat)
        )
        print(f"  {res.backend}: report {jsonl:.2f} s" if jsonl else f"  {res.backend}: -")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
