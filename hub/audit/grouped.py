"""Group commit for reads: the entries of concurrent reads share one transaction.

Every access-log entry takes the head row's lock, one writer at a time across every hub
process, and holds it to its commit (hub/audit/log.py). Under concurrent load the hub waited
on that lock, not on its CPU (ADR 0020, section 9). A briefing or updates read writes nothing
but its entry, so the entries of the reads that arrive while one batch is being written can
be written together: one lock hold and one commit for many entries.

What does not change:
- **No answer before its entry is durable.** A read answers only after the transaction that
  holds its entry has committed (`LoggedRead.entry`); if that transaction fails, every read in
  it fails (503 for a storage failure) and nothing is disclosed.
- **A read that wrote anything keeps its entry in its own transaction.** On PostgreSQL the
  read's transaction proves it wrote nothing: it was never given a transaction id
  (`txid_current_if_assigned()` is null after the last flush). Otherwise, and always on
  SQLite -- whose read already holds the database's one write lock from `BEGIN IMMEDIATE`, so
  writing the entry there costs nothing more -- the entry commits with the act, as before.
- **Every entry is placed as if appended alone**: the same positions in arrival order, the
  same times, leaves and checkpoints (`AccessLog.append_prepared`), and the caller's trace
  (`entry_context`) stays with its own entry.

A read whose answer then fails after its entry committed (the client went away) is logged as
disclosed without having left: over-reporting, the safe direction, as before.

Leader and followers, per process: the first read to arrive while no batch is being written
leads -- it takes whatever is waiting, at most `max_batch`, writes and commits it, wakes
those reads, and hands the lead to the first read that arrived meanwhile. So a read waits at
most for the batch in progress and its own; a quiet hub writes each entry at once.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from hub.audit.entry import AccessLogEntry
from hub.audit.log import AccessLog, Actor, Event, PreparedEntry, RequestInfo
from hub.db.errors import StorageUnavailable
from hub.db.session import Database
from hub.metrics import log_batch_written

#: At most this many entries in one transaction: a briefing's entry names up to 500 facts
#: and their fields, and the batch is written under the head lock every writer waits for.
MAX_BATCH = 64


@dataclass(eq=False)
class _Waiting:
    """One read's entry, from its arrival to its batch's commit."""

    #: built in the read's own thread: the leader only places it
    prepared: PreparedEntry
    #: the context the read ran in: the partner log's trace hook reads it for this entry
    context: contextvars.Context
    done: threading.Event = field(default_factory=threading.Event)
    entry: AccessLogEntry | None = None
    error: BaseException | None = None
    #: woken to lead the next batch rather than because its entry is written
    leads: bool = False


class LoggedRead:
    """A read's access-log entry: written already, or due once the read's transaction ended.

    `entry()` returns it once it is committed. The read's answer must not leave before:
    services build the answer with the entry's position (or at least call `entry()`) after
    their unit of work."""

    def __init__(
        self,
        *,
        written: AccessLogEntry | None = None,
        group: GroupCommit | None = None,
        waiting: _Waiting | None = None,
    ) -> None:
        self._entry = written
        self._group = group
        self._waiting = waiting

    def entry(self) -> AccessLogEntry:
        if self._entry is None:
            assert self._group is not None and self._waiting is not None
            self._entry = self._group.write(self._waiting)
        return self._entry


class GroupCommit:
    """Writes the entries of reads that wrote nothing, grouped (see the module docstring)."""

    def __init__(self, db: Database, log: AccessLog, *, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._log = log
        self._max_batch = max_batch
        self._grouping = db.dialect == "postgresql"
        self._mutex = threading.Lock()
        self._queue: deque[_Waiting] = deque()
        self._leading = False

    @property
    def queued(self) -> int:
        """Reads waiting for a batch to take them (not counting the one being written)."""
        with self._mutex:
            return len(self._queue)

    def log_read(
        self, session: Session, event: Event, *, actor: Actor, request: RequestInfo
    ) -> LoggedRead:
        """Log a read done in `session`'s unit of work: in that unit of work if it wrote
        anything (or on SQLite), else after it, grouped with other reads' entries."""
        if not (self._grouping and _wrote_nothing(session)):
            return LoggedRead(
                written=self._log.append(session, event, actor=actor, request=request)
            )
        waiting = _Waiting(
            prepared=self._log.prepare(event, actor=actor, request=request),
            context=contextvars.copy_context(),
        )
        return LoggedRead(group=self, waiting=waiting)

    def write(self, waiting: _Waiting) -> AccessLogEntry:
        """Queue `waiting`'s entry and return it once committed (leading a batch if none is
        being written); raises if its batch failed."""
        with self._mutex:
            self._queue.append(waiting)
            follow = self._leading
            self._leading = True
        if follow:
            waiting.done.wait()
            if waiting.leads:
                waiting.leads = False
                follow = False
        if not follow:
            self._lead(waiting)
        if waiting.error is not None:
            raise waiting.error
        assert waiting.entry is not None
        return waiting.entry

    def _lead(self, leader: _Waiting) -> None:
        with self._mutex:
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
        try:
            self._commit(leader, batch)
        finally:
            # hand the lead on before waking anyone: whoever arrives now queues behind it
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            for waiting in batch:
                waiting.done.set()
            if successor is not None:
                successor.leads = True
                successor.done.set()

    def _commit(self, leader: _Waiting, batch: list[_Waiting]) -> None:
        try:
            with self._db.transaction() as session:
                placed = self._log.append_prepared(
                    session,
                    [waiting.prepared for waiting in batch],
                    contexts=[waiting.context for waiting in batch],
                )
        except BaseException as exc:
            for waiting in batch:
                waiting.error = exc if waiting is leader else _for_each(exc)
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: on at once
                raise
            return
        for waiting, (entry, _leaf) in zip(batch, placed, strict=True):
            waiting.entry = entry
        log_batch_written(len(batch))


def _wrote_nothing(session: Session) -> bool:
    """Whether `session`'s transaction has written nothing to the database: PostgreSQL gives
    a transaction an id at its first write, and not before."""
    session.flush()
    return session.execute(text("SELECT txid_current_if_assigned()")).scalar() is None


def _for_each(exc: BaseException) -> BaseException:
    """The error one read of a failed batch raises: its own instance (one exception object
    raised in several threads would share one traceback)."""
    own: BaseException
    if isinstance(exc, StorageUnavailable):
        own = StorageUnavailable()
    else:
        own = RuntimeError("the access-log batch holding this read's entry failed")
    own.__cause__ = exc
    return own
