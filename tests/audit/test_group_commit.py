"""Group commit for reads (ADR 0020): the entries of reads that wrote nothing are written
together after their reads, and no read returns before its entry is committed.

On PostgreSQL the tests hold the log head's lock from another connection, the way another hub
process does, so that reads queue up behind it: PostgreSQL's `xmin` then shows which entries
one transaction wrote. A batch that fails fails every read in it. A read that wrote anything
keeps its entry in its own transaction, on SQLite always.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import AccessLogEntry, Action, Outcome
from hub.audit.grouped import GroupCommit
from hub.audit.log import ANONYMOUS, AccessLog, Event, LogSigner, RequestInfo
from hub.audit.merkle import root
from hub.audit.models import Checkpoint, LogEntry
from hub.audit.partner_log_models import EntryTrace
from hub.crypto.signing import SigningKey, generate_signing_seed
from hub.db.errors import StorageUnavailable
from hub.db.session import Database
from hub.metrics import LOG_BATCH_ENTRIES
from hub.settings import Settings
from tests.conftest import RunningHub, backend_url
from tests.disclosure.scenario import case_in_preparation
from tests.support import As, ok

on_postgres = pytest.mark.skipif(
    backend_url() is None,
    reason="reads are grouped only on PostgreSQL (on SQLite a read holds the write lock from "
    "BEGIN IMMEDIATE and keeps its entry); set VHHUB_TEST_DATABASE_URL",
)
#: no test may keep the suite waiting longer than this
DEADLINE_S = 60.0


@pytest.fixture
def log() -> AccessLog:
    signer = LogSigner(SigningKey.from_seed(generate_signing_seed()), "vhhub.test/log")
    return AccessLog(signer, checkpoint_every=4, checkpoint_interval_s=3600)


def event(n: int) -> Event:
    return Event(action=Action.BRIEFING_READ, outcome=Outcome.ALLOWED, object_ids=(f"fact-{n}",))


def request(n: int) -> RequestInfo:
    return RequestInfo(request_id=f"read-{n}")


def wait_until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def batches() -> tuple[float, float]:
    """How many batches this process has written, and how many entries in them."""
    count = total = 0.0
    for metric in LOG_BATCH_ENTRIES.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                total = sample.value
    return count, total


@contextmanager
def head_held(url: str) -> Iterator[Callable[[], int]]:
    """Hold the access log's head lock from another connection, as another hub process
    does while it writes; yields how many sessions wait for a lock."""
    engine = create_engine(url)
    try:
        with engine.connect() as holder, engine.connect() as watcher:
            holder.execute(text("SELECT size FROM access_log_head WHERE id = 1 FOR UPDATE"))

            def lock_waiters() -> int:
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                        "'Lock' AND datname = current_database()"
                    )
                ).scalar_one()
                watcher.rollback()  # pg_stat_activity is a snapshot per transaction
                return int(waiting)

            yield lock_waiters
            holder.rollback()
    finally:
        engine.dispose()


class Reader(threading.Thread):
    """One read: its own unit of work, its entry logged through the group, and a check from
    a new connection, as soon as `entry()` returns, that the entry is committed."""

    def __init__(self, db: Database, group: GroupCommit, n: int) -> None:
        super().__init__(daemon=True)
        self.db, self.group, self.n = db, group, n
        self.entry: AccessLogEntry | None = None
        self.visible_at_return = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.db.unit_of_work() as session:
                session.execute(select(LogEntry.seq).limit(1)).all()  # the read
                logged = self.group.log_read(
                    session, event(self.n), actor=ANONYMOUS, request=request(self.n)
                )
            self.entry = logged.entry()
            with self.db.snapshot() as fresh:
                row = fresh.get(LogEntry, self.entry.seq)
                self.visible_at_return = row is not None and row.request_id == f"read-{self.n}"
        except BaseException as exc:  # reported by the test
            self.error = exc


def xmins(db: Database) -> dict[str, int]:
    """request id -> the id of the transaction that wrote its entry (PostgreSQL)."""
    with db.snapshot() as session:
        rows = session.execute(text("SELECT request_id, xmin::text::bigint FROM access_log"))
        return {request_id: int(xmin) for request_id, xmin in rows}


@on_postgres
def test_reads_queued_behind_the_head_lock_are_written_in_one_transaction(
    db: Database, log: AccessLog, db_url: str
) -> None:
    group = GroupCommit(db, log)
    count_before, entries_before = batches()
    with head_held(db_url) as lock_waiters:
        first = Reader(db, group, 0)
        first.start()
        wait_until(
            "the first read to wait for the head lock",
            lambda: lock_waiters() == 1 or first.error is not None,
        )
        assert first.error is None, first.error
        rest = [Reader(db, group, n) for n in range(1, 8)]
        for reader in rest:
            reader.start()
        wait_until("seven reads to queue behind it", lambda: group.queued == 7)
        # none of them has returned: no entry is committed while the lock is held
        assert all(r.entry is None and r.error is None for r in [first, *rest])
    readers = [first, *rest]
    for reader in readers:
        reader.join(DEADLINE_S)
    assert [r.error for r in readers] == [None] * 8
    # every read returned only once its entry was committed, at its own position
    assert all(r.visible_at_return for r in readers)
    seqs = sorted(r.entry.seq for r in readers if r.entry is not None)
    assert seqs == list(range(8))
    assert first.entry is not None and first.entry.seq == 0
    # the first read's entry in one transaction, the seven others in one more
    written_by = xmins(db)
    assert len({written_by[f"read-{n}"] for n in range(1, 8)}) == 1
    assert written_by["read-0"] != written_by["read-1"]
    count_after, entries_after = batches()
    assert (count_after - count_before, entries_after - entries_before) == (2, 8)
    # placed as if appended alone: checkpoints at 1, then every 4 entries, over the one tree
    with db.snapshot() as session:
        rows = session.scalars(select(LogEntry).order_by(LogEntry.seq)).all()
        checkpoints = session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)).all()
        assert [c.tree_size for c in checkpoints] == [1, 5]
        for checkpoint in checkpoints:
            parsed = parse_and_verify_checkpoint(checkpoint.note, log.signer.verifier_key)
            assert parsed.root == root([r.leaf_hash for r in rows[: checkpoint.tree_size]])
        assert [r.time_us for r in rows] == sorted(r.time_us for r in rows)


@on_postgres
def test_a_failed_batch_fails_every_read_in_it_and_writes_nothing(
    db: Database, log: AccessLog, db_url: str
) -> None:
    # the group writes through a database that refuses every write, as a read-only replica
    # or a full disk would; its one connection is taken, so the reads queue behind it
    refusing = Database(
        db_url,
        engine=create_engine(
            db_url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=DEADLINE_S,
            connect_args={"options": "-c default_transaction_read_only=on"},
        ),
    )
    try:
        group = GroupCommit(refusing, log)
        taken = refusing.engine.connect()
        readers = [Reader(db, group, n) for n in range(5)]
        readers[0].start()
        wait_until("the first read to lead", lambda: group.queued == 0 and readers[0].is_alive())
        time.sleep(0.2)  # it is waiting for the one connection
        for reader in readers[1:]:
            reader.start()
        wait_until("four reads to queue behind it", lambda: group.queued == 4)
        taken.close()
        for reader in readers:
            reader.join(DEADLINE_S)
    finally:
        refusing.dispose()
    errors = [r.error for r in readers]
    assert all(isinstance(e, StorageUnavailable) for e in errors), errors
    assert len({id(e) for e in errors}) == 5  # each read raises its own
    assert all(r.entry is None for r in readers)
    with db.snapshot() as session:
        assert session.scalars(select(LogEntry)).all() == []


def test_a_read_that_wrote_keeps_its_entry_in_its_own_transaction(
    db: Database, log: AccessLog
) -> None:
    group = GroupCommit(db, log)
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        log.append(session, event(0), actor=ANONYMOUS, request=request(0))  # a write
        logged = group.log_read(session, event(1), actor=ANONYMOUS, request=request(1))
        # written in this transaction already, so it goes when this transaction goes
        assert logged.entry().seq == 1
        assert session.get(LogEntry, 1) is not None
        raise RuntimeError("the read failed after logging")
    with db.snapshot() as fresh:
        assert fresh.scalars(select(LogEntry)).all() == []


def test_a_read_that_wrote_nothing_is_grouped_only_on_postgresql(
    db: Database, log: AccessLog
) -> None:
    group = GroupCommit(db, log)
    with db.unit_of_work() as session:
        session.execute(select(LogEntry.seq).limit(1)).all()
        logged = group.log_read(session, event(0), actor=ANONYMOUS, request=request(0))
        in_transaction = session.get(LogEntry, 0) is not None
    assert in_transaction == (db.dialect == "sqlite")
    assert logged.entry().seq == 0
    with db.snapshot() as fresh:
        assert [r.request_id for r in fresh.scalars(select(LogEntry))] == ["read-0"]


@on_postgres
def test_briefings_written_together_keep_each_their_own_trace(
    initialised: Settings,
) -> None:
    """Over HTTP: briefings whose entries share one transaction each keep the trace their
    caller sent (the partner log's trace hook runs once for the whole batch)."""
    with RunningHub(initialised) as running, running.client() as http:
        world = case_in_preparation(http, initialised)
        world.publish_incident("incident")
        ctx = running.context
        spans = [f"{n + 1:016x}" for n in range(6)]
        answers: list[httpx.Response | BaseException | None] = [None] * len(spans)

        def read(index: int) -> None:
            with running.client() as own:
                reader = As(
                    own,
                    initialised,
                    "woningcorporatie",
                    f"w-{index}",
                    ["participant"],
                    "preparation",
                )
                headers = {
                    **reader.headers(),
                    "traceparent": f"00-{'a' * 31}{index}-{spans[index]}-01",
                }
                try:
                    answers[index] = own.get(
                        f"/api/v1/cases/{world.case_id}/briefing", headers=headers, timeout=60
                    )
                except BaseException as exc:  # reported below
                    answers[index] = exc

        threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(6)]
        with head_held(initialised.effective_database_url) as lock_waiters:
            threads[0].start()
            # (the hub's own checkpoint signer may wait for the lock too: at least one)
            wait_until("the first briefing to wait for the lock", lambda: lock_waiters() >= 1)
            for thread in threads[1:]:
                thread.start()
            # one of the six leads, blocked on the lock; the five others queue behind it
            wait_until("five briefings to queue", lambda: ctx.reads.queued == 5)
        for thread in threads:
            thread.join(DEADLINE_S)
        with ctx.db.snapshot() as session:
            for index, answer in enumerate(answers):
                assert isinstance(answer, httpx.Response), answer
                body = ok(answer)
                entry = session.get(LogEntry, body["log_seq"])
                assert entry is not None
                assert entry.request_id == answer.headers["x-request-id"]
                assert entry.request_id.startswith(f"{'a' * 31}{index}.")
                trace = session.get(EntryTrace, body["log_seq"])
                assert trace is not None and trace.parent_span_id == spans[index]
            written_by = {
                xmin
                for (xmin,) in session.execute(
                    text("SELECT xmin::text::bigint FROM access_log WHERE action = 'briefing.read'")
                )
            }
        assert len(written_by) == 2  # the leader's entry alone, then the five together
        assert ctx.audit.verify_live().ok
