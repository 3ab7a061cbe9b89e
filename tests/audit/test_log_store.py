"""The database-backed access log: gap-free, one tree, signed checkpoints, atomic with acts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import Action, Outcome, utc_moment
from hub.audit.log import ANONYMOUS, AccessLog, Event, LogSigner, RequestInfo
from hub.audit.merkle import CompactRange, root
from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject
from hub.audit.service import EntryFilter
from hub.crypto.signing import SigningKey, generate_signing_seed
from hub.db.session import Database
from tests.support import statements_sent


@pytest.fixture
def log() -> AccessLog:
    signer = LogSigner(SigningKey.from_seed(generate_signing_seed()), "vhhub.test/log")
    return AccessLog(signer, checkpoint_every=4, checkpoint_interval_s=3600)


def event(n: int) -> Event:
    return Event(action=Action.CASE_READ, outcome=Outcome.ALLOWED, object_ids=(f"obj-{n}",))


def test_appends_are_gap_free_and_form_one_merkle_tree(db: Database, log: AccessLog) -> None:
    for n in range(10):
        with db.transaction() as session:
            log.append(session, event(n), actor=ANONYMOUS, request=RequestInfo())
    with db.transaction() as session:
        rows = session.scalars(select(LogEntry).order_by(LogEntry.seq)).all()
        checkpoints = session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)).all()
    assert [r.seq for r in rows] == list(range(10))
    # the first append signs (no checkpoint yet), then every 4 entries
    assert [c.tree_size for c in checkpoints] == [1, 5, 9]
    for checkpoint in checkpoints:
        parsed = parse_and_verify_checkpoint(checkpoint.note, log.signer.verifier_key)
        assert parsed.root == root([r.leaf_hash for r in rows[: checkpoint.tree_size]])


def test_an_act_that_fails_leaves_no_entry_and_no_gap(db: Database, log: AccessLog) -> None:
    with db.transaction() as session:
        log.append(session, event(0), actor=ANONYMOUS, request=RequestInfo())
    with pytest.raises(RuntimeError), db.transaction() as session:
        log.append(session, event(1), actor=ANONYMOUS, request=RequestInfo())
        raise RuntimeError("the act itself failed after logging")
    with db.transaction() as session:
        log.append(session, event(2), actor=ANONYMOUS, request=RequestInfo())
        seqs = session.scalars(select(LogEntry.seq).order_by(LogEntry.seq)).all()
        objects = session.scalars(select(LogEntry.object_ids).order_by(LogEntry.seq)).all()
    assert list(seqs) == [0, 1]
    assert objects == [["obj-0"], ["obj-2"]]


def test_checkpoint_on_request_covers_the_whole_log(db: Database, log: AccessLog) -> None:
    for n in range(3):
        with db.transaction() as session:
            log.append(session, event(n), actor=ANONYMOUS, request=RequestInfo())
    with db.transaction() as session:
        checkpoint = log.sign_checkpoint_now(session)
        size = checkpoint.tree_size
    assert size == 3


def test_a_quiet_log_still_gets_its_newest_entries_signed(db: Database) -> None:
    key = SigningKey.from_seed(generate_signing_seed())
    log = AccessLog(
        LogSigner(key, "vhhub.test/log"),
        checkpoint_every=100,
        checkpoint_interval_s=1,
    )
    for n in range(3):
        with db.transaction() as session:
            log.append(session, event(n), actor=ANONYMOUS, request=RequestInfo())
    with db.transaction() as session:
        assert log.sign_if_stale(session) is None  # the interval has not passed yet
    time.sleep(1.1)
    with db.transaction() as session:
        signed = log.sign_if_stale(session)
        assert signed is not None and signed.tree_size == 3
        assert log.sign_if_stale(session) is None  # nothing new to sign


def test_the_checkpoint_key_is_chosen_only_under_the_head_lock(
    db: Database, log: AccessLog
) -> None:
    """The key list's version is read from the locked head; a caller without the lock would
    choose on a head another writer may be changing, so it is refused."""
    with db.transaction() as session, pytest.raises(RuntimeError, match="must be locked"):
        log.current_signer(session)
    with db.transaction() as session:
        log.append(session, event(0), actor=ANONYMOUS, request=RequestInfo())
        assert log.current_signer(session) is log.signer


def test_time_never_goes_back_and_time_windows_select_exactly_their_entries(
    db: Database, log: AccessLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock steps back twice (NTP, a second host): entries keep the previous time, so
    time order stays seq order and the auditor's time windows, which bound seq by time,
    still select every entry inside them and none outside."""
    base = 1_764_000_000_000_000
    readings = [base + d for d in (1_000, 2_000, 1_500, 1_800, 3_000, 2_500, 4_000)]
    clock: Iterator[int] = iter(readings)
    # a test clock for the appender only: the hub's own code and the database run for real
    monkeypatch.setattr("hub.audit.log.time", SimpleNamespace(time_ns=lambda: next(clock) * 1000))
    for n in range(len(readings)):
        with db.transaction() as session:
            log.append(session, event(n), actor=ANONYMOUS, request=RequestInfo())
    with db.transaction() as session:
        times = list(session.scalars(select(LogEntry.time_us).order_by(LogEntry.seq)))
        assert session.scalars(select(LogHead.time_us)).one() == times[-1]
    assert [t - base for t in times] == [1_000, 2_000, 2_000, 2_000, 3_000, 3_000, 4_000]

    edges = [base + d for d in (0, 999, 1_000, 1_001, 2_000, 2_001, 2_500, 3_000, 4_000, 4_001)]
    windows = [(s, u) for s in [None, *edges] for u in [None, *edges]]
    for since, until in windows:
        where = EntryFilter(
            since=None if since is None else utc_moment(since),
            until=None if until is None else utc_moment(until),
        )
        with db.transaction() as session:
            found = list(
                session.scalars(where.apply(select(LogEntry.seq), session).order_by(LogEntry.seq))
            )
        expected = [
            seq
            for seq, t in enumerate(times)
            if (since is None or t >= since) and (until is None or t < until)
        ]
        assert found == expected, (since, until)


def test_a_batch_writes_its_entries_subjects_and_head_together_in_one_statement_on_postgresql(
    db: Database, log: AccessLog
) -> None:
    """Every writer waits for the head lock, so under it an append sends its rows in as few
    round trips as it can: on PostgreSQL one statement for the entries, their subject index
    rows and the head (ADR 0020, section 18). Whatever the path, the rows are all there."""
    with db.transaction() as session:
        log.append(session, event(0), actor=ANONYMOUS, request=RequestInfo())  # checkpointed
    prepared = [
        log.prepare(
            Event(
                action=Action.CASE_READ,
                outcome=Outcome.ALLOWED,
                object_ids=(f"obj-{n}",),
                subject_pseudonyms=(f"p-{n}", "p-shared"),
            ),
            actor=ANONYMOUS,
            request=RequestInfo(),
        )
        for n in (1, 2, 3)
    ]
    with statements_sent(db.engine) as sent, db.transaction() as session:
        placed = log.append_prepared(session, prepared)
        written = [statement for _, statement in sent]
    if db.dialect == "postgresql":
        locked = next(i for i, statement in enumerate(written) if "FOR UPDATE" in statement)
        assert len(written[locked + 1 :]) == 1, written[locked + 1 :]
    with db.transaction() as session:
        rows = session.scalars(select(LogEntry).order_by(LogEntry.seq)).all()
        subjects = set(session.execute(select(LogSubject.pseudonym, LogSubject.seq)).tuples())
        head = session.get(LogHead, 1)
        assert head is not None
        size, frontier = head.size, head.frontier
    assert [r.seq for r in rows] == [0, 1, 2, 3] == [0] + [e.seq for e, _ in placed]
    assert [r.object_ids for r in rows] == [["obj-0"], ["obj-1"], ["obj-2"], ["obj-3"]]
    assert [r.leaf_hash for r in rows[1:]] == [leaf for _, leaf in placed]
    assert subjects == {(p, n) for n in (1, 2, 3) for p in (f"p-{n}", "p-shared")}
    assert size == 4
    assert CompactRange.from_hex(size, frontier).root() == root([r.leaf_hash for r in rows])
