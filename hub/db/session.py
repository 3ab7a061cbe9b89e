"""Engine creation and the one unit of work.

Application code never calls ``commit()``. A use case runs inside ``Database.transaction()``,
which commits when the block ends and rolls back on any exception. Services call it and
return only after the commit, so a router can never send a disclosure whose access-log entry
is not durable yet (docs/principles.md, section 6, "No disclosure without a durable log entry").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from hub.db.errors import as_storage_unavailable
from hub.errors import Refusal

#: Execution option that marks a read-only snapshot connection (`Database.snapshot`).
SNAPSHOT_OPTION = "vhhub_snapshot"

#: SQLite's durability level. FULL syncs the WAL at every commit, so a commit the hub has
#: answered on (a briefing disclosed, a fact accepted) survives a power loss or an OS crash
#: with its access-log entry; NORMAL syncs only at WAL checkpoints and can lose the last
#: commits (ADR 0010, with the cost measured by bench/publish_bench.py). Module-level so that
#: the bench can run the old level beside the new one; the hub never changes it.
SQLITE_SYNCHRONOUS = "FULL"


#: `Session.info` key: what to run once the unit of work has ended (`on_transaction_end`).
_ON_END = "vhhub_on_transaction_end"


def on_transaction_end(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once `session`'s unit of work has committed or rolled back: to measure
    how long a lock taken in it was held (the access log's head, ADR 0020). For measuring
    only: it runs after the outcome is settled and cannot change it."""
    session.info.setdefault(_ON_END, []).append(callback)


def _ended(session: Session) -> None:
    for callback in session.info.pop(_ON_END, ()):
        callback()


def _rollback_quietly(session: Session) -> None:
    """Roll back after a database failure, which may fail the same way: the first error is
    the one to report."""
    with suppress(DBAPIError, PoolTimeout):
        session.rollback()


@contextmanager
def _refused_on_storage_failure() -> Iterator[None]:
    """A full, read-only or unreachable database as the 503 refusal (hub/db/errors.py);
    any other database error (a bug, a constraint) is raised as it is."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as exc:
        refusal = as_storage_unavailable(exc)
        if refusal is None:
            raise
        raise refusal from exc


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the hub's safety settings.

    ``hide_parameters`` keeps bound values (fact ciphertext, blind indexes) out of exception
    messages, and thereby out of logs.
    """
    if is_sqlite(url):
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, hide_parameters=True, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, synchronous=FULL, and BEGIN IMMEDIATE.

    Almost every request writes an access-log entry, so a transaction that starts as a reader
    and upgrades to a writer would deadlock against another one doing the same; taking the
    write lock at BEGIN serialises writers cleanly while WAL keeps readers unblocked.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # durable commits: no answered disclosure may lose its log entry (ADR 0010)
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # a snapshot reader (Database.snapshot) must not take the write lock
        snapshot = conn.get_execution_options().get(SNAPSHOT_OPTION, False)
        conn.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")


class Database:
    """The engine and the unit of work for one database URL."""

    def __init__(
        self, url: str, *, engine: Engine | None = None, pool_size: int | None = None
    ) -> None:
        self.url = url
        # SQLAlchemy keeps 5 connections and closes every one past them when it is returned
        pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 10}
        self.engine = engine or make_engine(url, **pool)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: the same pool; each connection in autocommit while checked out (`statement`)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, commit_on: tuple[type[BaseException], ...] = ()) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error.

        Exceptions of the `commit_on` types commit before they propagate: a refusal whose
        access-log entry must be durable although the request fails.
        """
        session = self._sessions()
        try:
            try:
                yield session
                session.commit()
            except commit_on:
                session.commit()
                raise
        except (DBAPIError, PoolTimeout) as exc:
            # a full, read-only or unreachable database: the act and its log entry are rolled
            # back together, and the caller answers 503, not 500 (hub/db/errors.py)
            _rollback_quietly(session)
            refusal = as_storage_unavailable(exc)
            if refusal is None:
                raise
            raise refusal from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            _ended(session)
            session.close()

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A connection for one write that commits on its own, before the block ends.

        On PostgreSQL the connection is in autocommit: the statement is its own transaction,
        committed (durably, `synchronous_commit` stays on) when it returns -- one round trip,
        where a unit of work adds a BEGIN and a COMMIT. On SQLite a `BEGIN IMMEDIATE`
        transaction that commits when the block ends. For the replay store's claims, which
        every request makes before its own unit of work (ADR 0020); storage failures become
        the same 503 as in `transaction`."""
        with _refused_on_storage_failure():
            if self.dialect == "postgresql":
                with self._autocommit.connect() as connection:
                    yield connection
            else:
                with self.engine.begin() as connection:
                    yield connection

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A transaction that also commits when a logged refusal is raised (ADR 0003).

        Every use case runs in one of these: its refusal's access-log entry must commit
        although the request fails."""
        return self.transaction(commit_on=(Refusal,))

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only transaction on one consistent snapshot that never blocks a writer.

        For long reads (a report streamed while the hub keeps writing): on SQLite a deferred
        ``BEGIN`` (a WAL reader, no write lock, its snapshot fixed at the first read); on
        PostgreSQL ``REPEATABLE READ READ ONLY``. Nothing is ever committed."""
        session = Session(
            self.engine.execution_options(**{SNAPSHOT_OPTION: True}), expire_on_commit=False
        )
        try:
            with _refused_on_storage_failure():
                if self.dialect == "postgresql":
                    session.execute(
                        text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    )
                yield session
        finally:
            _rollback_quietly(session)
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


#: What services receive to open their unit of work (`Database.unit_of_work`).
UnitOfWork = Callable[[], AbstractContextManager[Session]]
