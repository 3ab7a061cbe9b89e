"""The replay store in the database: a token id is accepted once, across threads and processes.

A claim is one INSERT that commits by itself before the request's work (`Database.statement`;
on PostgreSQL an autocommit statement, ADR 0020). What a token thief relies on breaking:
two uses of one token racing on two connections (two replicas), a claim that is not yet
durable when the request goes on, and a database failure read as "not seen before".
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, func, select

from hub.db.errors import StorageUnavailable
from hub.db.session import Database
from hub.identity.models import UsedToken
from hub.identity.replay import DatabaseReplayGuard
from tests.conftest import backend_url

RACERS = 12


def stored(db_url: str, jti: str) -> int:
    """Rows for `jti`, read on a connection of its own, as another replica would."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            count = connection.scalar(
                select(func.count()).select_from(UsedToken).where(UsedToken.jti == jti)
            )
    finally:
        engine.dispose()
    return int(count or 0)


def test_a_claim_is_committed_before_it_returns(db: Database, db_url: str) -> None:
    guard = DatabaseReplayGuard(db)
    assert guard.claim("politie", "jti-durable-0001", 2**40)
    # visible from another connection at once: the request's own work comes after this
    assert stored(db_url, "jti-durable-0001") == 1
    assert not guard.claim("politie", "jti-durable-0001", 2**40)
    # the same id from another issuer is another token
    assert guard.claim("ggz", "jti-durable-0001", 2**40)


def test_one_token_raced_from_two_replicas_is_accepted_once(db_url: str) -> None:
    # two Database objects: two pools, as two hub processes have
    replicas = [Database(db_url), Database(db_url)]
    guards = [DatabaseReplayGuard(r) for r in replicas]
    start = threading.Barrier(RACERS)
    results: list[bool | BaseException] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        start.wait(30)
        try:
            outcome: bool | BaseException = guards[n % 2].claim("politie", "jti-raced-0001", 2**40)
        except BaseException as exc:  # reported below, not swallowed
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for replica in replicas:
            replica.dispose()
    assert len(results) == RACERS
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1
    assert stored(db_url, "jti-raced-0001") == 1


@pytest.mark.skipif(
    backend_url() is None,
    reason="a read-only session is PostgreSQL's; set VHHUB_TEST_DATABASE_URL",
)
def test_a_database_that_refuses_the_claim_accepts_no_token(db_url: str) -> None:
    refusing = Database(
        db_url,
        engine=create_engine(
            db_url, connect_args={"options": "-c default_transaction_read_only=on"}
        ),
    )
    try:
        with pytest.raises(StorageUnavailable):
            DatabaseReplayGuard(refusing).claim("politie", "jti-refused-0001", 2**40)
    finally:
        refusing.dispose()
    assert stored(db_url, "jti-refused-0001") == 0
