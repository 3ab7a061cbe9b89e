"""Several hub processes and one key rotation (ADR 0406): a process that started with the
old key signs its next checkpoint with the key the database's key list names, and a process
that does not hold that key refuses to sign (fail closed) instead of signing outside the old
key's window. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.audit.checkpoints import CheckpointError, parse_and_verify_checkpoint
from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Actor, Event, LogSigner, RequestInfo
from hub.audit.models import Checkpoint, LogHead
from hub.crypto.signing import SigningKey
from hub.db.session import Database

K0 = SigningKey.from_seed(bytes([20]) * 32)
K1 = SigningKey.from_seed(bytes([21]) * 32)
ORIGIN = "test.local/access-log"


def process(ring: list[SigningKey]) -> AccessLog:
    return AccessLog(LogSigner(K0, ORIGIN), checkpoint_every=1, key_ring=lambda: ring)


def append(db: Database, log: AccessLog) -> None:
    with db.unit_of_work() as session:
        log.append(
            session,
            Event(action=Action.LOG_QUERY, outcome=Outcome.ALLOWED, reason="t"),
            actor=Actor(),
            request=RequestInfo(),
        )


def test_processes_follow_the_key_list_or_refuse_to_sign(db_url: str) -> None:
    db = Database(db_url)
    try:
        rotating, following, stale = process([K0, K1]), process([K0, K1]), process([K0])
        append(db, rotating)
        append(db, following)
        with db.unit_of_work() as session:
            rotating.rotate_key(session, K1)
        append(db, following)  # started with K0: switches to K1 for this checkpoint
        with db.snapshot() as session:
            newest = session.scalars(
                select(Checkpoint.note).order_by(Checkpoint.tree_size.desc()).limit(1)
            ).one()
            size_before = session.get(LogHead, 1).size  # type: ignore[union-attr]
        parse_and_verify_checkpoint(newest, following.signer.verifier_key)
        assert following.signer.key.public_key() == K1.public_key()
        with pytest.raises(CheckpointError):
            parse_and_verify_checkpoint(newest, LogSigner(K0, ORIGIN).verifier_key)
        with pytest.raises(RuntimeError, match="does not hold"):
            append(db, stale)
        with db.snapshot() as session:  # the refused append left nothing behind
            assert session.get(LogHead, 1).size == size_before  # type: ignore[union-attr]
    finally:
        db.dispose()
