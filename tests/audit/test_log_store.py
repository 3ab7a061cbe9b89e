"""The database-backed access log: gap-free, one tree, signed checkpoints, atomic with acts."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import Action, Outcome
from hub.audit.log import ANONYMOUS, AccessLog, Event, LogSigner, RequestInfo
from hub.audit.merkle import root
from hub.audit.models import Checkpoint, LogEntry
from hub.crypto.signing import SigningKey, generate_signing_seed
from hub.db.session import Database


@pytest.fixture
def db(db_url: str) -> Database:
    return Database(db_url)


@pytest.fixture
def log() -> AccessLog:
    signer = LogSigner(
        SigningKey.from_seed(generate_signing_seed()), "vhhub.test/log", "vhhub.test"
    )
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
        LogSigner(key, "vhhub.test/log", "vhhub.test"),
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
