"""The append-only access log in the database: one gap-free sequence, one Merkle tree.

Every writer, in every hub process, takes the next position by locking the single head row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises
writers). The head keeps the Merkle frontier, so an append costs O(log n) and never reads
old leaves. The entry is written in the caller's transaction: the act and its log entry
commit together or not at all (ADR 0003, ADR 0401).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import Context
from dataclasses import dataclass, field
from time import perf_counter  # apart from `time`, which tests replace to move the clock
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hub.audit.checkpoints import sign_checkpoint, verifier_key_text
from hub.audit.entry import (
    AccessLogEntry,
    Action,
    LeafTemplate,
    Outcome,
    leaf_template,
    utc_micros,
)
from hub.audit.keylist import parse_key_list_unsafe, rotated_list
from hub.audit.merkle import CompactRange
from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject
from hub.audit.partner_log_models import EntryTrace
from hub.audit.witness_models import LogKeyList
from hub.crypto.signing import SigningKey
from hub.db.base import Base
from hub.db.session import on_transaction_end
from hub.metrics import log_appended, log_head_locked, log_head_released
from hub.vocabulary import PartnerKind, Purpose, Role


@dataclass(frozen=True)
class Actor:
    """Who acted, as far as the hub knows (nothing yet for a failed authentication)."""

    partner: str | None = None
    partner_kind: PartnerKind | None = None
    user: str | None = None
    roles: tuple[Role, ...] = ()


ANONYMOUS = Actor()


@dataclass(frozen=True)
class RequestInfo:
    """Where an act came from: the request id and the client address, plus the purpose."""

    request_id: str | None = None
    source: str | None = None
    purpose: Purpose | None = None


SYSTEM_REQUEST = RequestInfo()


@dataclass(frozen=True)
class Event:
    """An act to log; the appender adds position and time.

    `fact_subjects` names, for each fact the act names, the pseudonyms of the subjects that
    fact concerns; the entry's `subject_pseudonyms` then hold at least all of them (the
    appender adds them), so the subject index finds the entry for exactly those people."""

    action: Action
    outcome: Outcome
    case_id: str | None = None
    subject_pseudonyms: Sequence[str] = ()
    object_ids: Sequence[str] = ()
    disclosed: Mapping[str, Sequence[str]] = field(default_factory=dict)
    reason: str | None = None
    policy_version: str | None = None
    fact_subjects: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: How many identical acts this one entry stands for (an aggregate of repeated refusals,
    #: ADR 0404); None for one act.
    count: int | None = None


@dataclass(frozen=True)
class LogSigner:
    """The hub's checkpoint signer and the log's identity.

    The key name is the origin, as C2SP tlog-checkpoint asks (a witness or a client looks the
    log's key up by the origin line). Hubs before 2026-12-05 signed under a separate name
    (`VHHUB_LOG_KEY_NAME`); their checkpoints still verify, because the verifier trusts the
    public key under whatever name a note records (hub/audit/checkpoints.py)."""

    key: SigningKey
    origin: str

    @property
    def key_name(self) -> str:
        return self.origin

    @property
    def verifier_key(self) -> str:
        return verifier_key_text(self.key_name, self.key.public_key())


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """An entry ready to be placed: its draft (position and time 0), its canonical bytes cut
    where those go, and its row (`AccessLog.prepare`). Placed once: the row is added to a
    session."""

    draft: AccessLogEntry
    template: LeafTemplate
    row: LogEntry


class AccessLog:
    def __init__(
        self,
        signer: LogSigner,
        *,
        checkpoint_every: int = 256,
        checkpoint_interval_s: int = 60,
        key_ring: Callable[[], Sequence[SigningKey]] | None = None,
    ) -> None:
        self.signer = signer
        #: every checkpoint key the key provider holds (rotation, ADR 0406); None: only `signer`
        self._key_ring = key_ring
        #: the key list version `signer` was checked against (-1: not yet checked)
        self._key_version = -1
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self.checkpoint_interval_us = checkpoint_interval_s * 1_000_000
        #: whether this process has appended: only then does it owe a checkpoint on closing
        self.appended = False

    def append(
        self, session: Session, event: Event, *, actor: Actor, request: RequestInfo
    ) -> AccessLogEntry:
        """Write one entry in the caller's transaction and return it (with its position)."""
        return self.append_with_leaf(session, event, actor=actor, request=request)[0]

    def append_with_leaf(
        self, session: Session, event: Event, *, actor: Actor, request: RequestInfo
    ) -> tuple[AccessLogEntry, bytes]:
        """`append`, and the entry's Merkle leaf hash (a receipt names it)."""
        return self.append_prepared(session, [self.prepare(event, actor=actor, request=request)])[0]

    def prepare(self, event: Event, *, actor: Actor, request: RequestInfo) -> PreparedEntry:
        """Everything of `event`'s entry that does not depend on its position: validated,
        normalised, encoded and its row built, before the head is locked. Every writer of
        every process waits for that lock, so only placing, hashing and the flush happen
        under it (a briefing's entry names 200 facts and their fields; ADR 0020)."""
        draft = draft_entry(event, actor, request)
        return PreparedEntry(draft, leaf_template(draft), _row(draft, b""))

    def append_prepared(
        self,
        session: Session,
        prepared: Sequence[PreparedEntry],
        *,
        contexts: Sequence[Context] | None = None,
    ) -> list[tuple[AccessLogEntry, bytes]]:
        """Write prepared entries (`prepare`), in this order and at consecutive positions, in
        the caller's transaction under one hold of the head lock; each with its leaf hash.

        Several entries in one transaction is the group commit of reads (hub/audit/grouped.py):
        each is placed, and checkpointed when due, exactly as if appended alone. `contexts`
        are the context each act was done in, when that is not the caller's: `entry_context`
        gives them to what runs at the flush (the partner log's trace)."""
        # what the caller's unit of work has written so far goes to the database now, before
        # the lock: under it, only these entries' rows are written (ADR 0020)
        session.flush()
        one_statement = session.get_bind().dialect.name == "postgresql"
        # encoded before the lock too: all of a row but its position, time and leaf
        bodies = [_entry_body(entry.row) for entry in prepared] if one_statement else []
        head = self._lock_head(session)
        frontier = CompactRange.from_hex(head.size, head.frontier)
        placed = [self._place(session, head, frontier, entry) for entry in prepared]
        if contexts is not None:
            own = session.info.setdefault(_ENTRY_CONTEXTS, {})
            own.update((entry.seq, ctx) for (entry, _), ctx in zip(placed, contexts, strict=True))
        rows = [entry.row for entry in prepared]
        traces = [trace for build in _TRACE_ROWS for trace in build(session, rows)]
        if one_statement:
            _write_in_one_statement(session, head, rows, bodies, traces)
        else:
            session.add_all(rows)
            session.add_all(
                LogSubject(pseudonym=pseudonym, seq=row.seq)
                for row in rows
                for pseudonym in row.subject_pseudonyms
            )
            session.add_all(traces)
        session.flush()
        self.appended = True
        for entry, _leaf in placed:
            log_appended(entry.action.value, entry.outcome.value, entry.reason, entry.count)
        return placed

    def _place(
        self, session: Session, head: LogHead, frontier: CompactRange, prepared: PreparedEntry
    ) -> tuple[AccessLogEntry, bytes]:
        """Give a prepared entry the next position and time (on its row), advance the head."""
        now_us = self._entry_time(head)
        entry = prepared.draft.placed(head.size, now_us)
        leaf = prepared.template.leaf_hash(entry.seq, entry.time_us)
        frontier.append(leaf)
        row = prepared.row
        row.seq, row.time_us, row.leaf_hash = entry.seq, entry.time_us, leaf
        head.size = frontier.size
        head.frontier = frontier.hex_hashes()
        # The verifier holds an honest hub to these rules (ADR 0401, "Coverage"): a checkpoint
        # at the first entry, then at least every N entries or T seconds. The first rule is
        # explicit, not left to the initial checkpoint time of 0: a log whose only checkpoint
        # is the empty tree's would otherwise wait T seconds for its first one.
        if (
            head.checkpoint_size == 0
            or head.size - head.checkpoint_size >= self.checkpoint_every
            or now_us - head.checkpoint_time_us >= self.checkpoint_interval_us
        ):
            self._checkpoint(session, head, frontier, now_us)
        return entry, leaf

    def sign_if_stale(self, session: Session) -> Checkpoint | None:
        """Sign a checkpoint when entries have waited longer than the interval without one.

        Appends only check the interval when they happen; this closes the gap after the
        last write of a quiet period (run periodically by every hub process; idempotent).
        """
        head = self._lock_head(session)
        now_us = time.time_ns() // 1000
        if head.size == head.checkpoint_size:
            return None
        if now_us - head.checkpoint_time_us < self.checkpoint_interval_us:
            return None
        frontier = CompactRange.from_hex(head.size, head.frontier)
        return self._checkpoint(session, head, frontier, now_us)

    def sign_if_uncovered(self, session: Session) -> Checkpoint | None:
        """Sign a checkpoint when any entry is not yet covered by one, however recent.

        For a process that stops (a CLI command, a hub shutting down): nobody may sign its
        last entries for a long time, and the verifier fails a tail older than the interval.
        """
        head = self._lock_head(session)
        if head.size == head.checkpoint_size:
            return None
        frontier = CompactRange.from_hex(head.size, head.frontier)
        checkpoint = self._checkpoint(session, head, frontier, time.time_ns() // 1000)
        session.flush()
        return checkpoint

    def fresh_checkpoint(self, session: Session) -> Checkpoint:
        """The newest checkpoint if it is younger than the interval, else one signed now.

        What `GET /audit/checkpoints/latest` hands out: a partner or witness that keeps the
        answer must be able to rely on it being at most one interval old. The caller has
        logged the read in this transaction, so the log always has a size to sign anew."""
        self._lock_head(session)
        newest = session.scalars(
            select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)
        ).one_or_none()
        if newest is not None:
            age_us = time.time_ns() // 1000 - utc_micros(newest.signed_at)
            if age_us < self.checkpoint_interval_us:
                return newest
        return self.sign_checkpoint_now(session)

    def covering_checkpoint(self, session: Session, size: int) -> Checkpoint:
        """The smallest signed checkpoint over at least `size` entries (at least one), or one
        signed now over the whole log when none covers them yet."""
        checkpoint = session.scalars(
            select(Checkpoint)
            .where(Checkpoint.tree_size >= max(size, 1))
            .order_by(Checkpoint.tree_size)
            .limit(1)
        ).one_or_none()
        return checkpoint or self.sign_checkpoint_now(session)

    def sign_checkpoint_now(self, session: Session) -> Checkpoint:
        """Sign a checkpoint over the whole log as it stands (on request)."""
        head = self._lock_head(session)
        frontier = CompactRange.from_hex(head.size, head.frontier)
        existing = session.get(Checkpoint, head.size)
        if existing is not None:
            return existing
        checkpoint = self._checkpoint(session, head, frontier, time.time_ns() // 1000)
        session.flush()  # fills in signed_at, which callers hand out
        return checkpoint

    def current_signer(self, session: Session) -> LogSigner:
        """The signer the log's key list names as current (the caller holds the head lock).

        Another process may have rotated the key since this one started: the newest list
        decides, and this process switches to the matching key from its key provider. When
        it does not hold that key it refuses to sign (fail closed): a checkpoint under a
        retired key would fail every verifier, being outside that key's window.

        The locked head carries the newest list's version, so the lists are read only when
        it differs from the one this process checked (ADR 0020, section 18)."""
        head: LogHead | None = session.info.get(_LOCKED_HEAD)  # the locked row: no query
        if head is None:
            raise RuntimeError("the log head must be locked to choose the checkpoint key")
        if head.key_version == self._key_version:
            return self.signer
        newest = session.scalars(
            select(LogKeyList).order_by(LogKeyList.version.desc()).limit(1)
        ).one_or_none()
        version = 0 if newest is None else newest.version
        if version != head.key_version:
            raise RuntimeError("the log head does not name the newest checkpoint key list")
        if version == self._key_version:
            return self.signer
        ring = list(self._key_ring()) if self._key_ring is not None else [self.signer.key]
        if newest is None:
            # never rotated: the original key (the provider's oldest) signs
            wanted = ring[0].public_key().to_bytes() if self._key_ring else None
        else:
            current = parse_key_list_unsafe(newest.note).keys[-1]
            wanted = current.verifier.verify_key.to_bytes()
        if wanted is not None and self.signer.key.public_key().to_bytes() != wanted:
            match = [k for k in ring if k.public_key().to_bytes() == wanted]
            if not match:
                raise RuntimeError(
                    "the log's key list names a checkpoint key this process does not hold"
                )
            self.signer = LogSigner(key=match[0], origin=self.signer.origin)
        self._key_version = version
        return self.signer

    def rotate_key(self, session: Session, new_key: SigningKey) -> str:
        """Hand checkpoint signing over to `new_key`, in the caller's transaction (which has
        logged the rotation, so the log has an entry for the old key's last checkpoint).

        Signs a checkpoint over the whole log with the old key, closes the old key's window
        at that size, and stores the next key list, signed by the old and the new key."""
        head = self._lock_head(session)
        old = self.current_signer(session)
        if old.key.public_key().to_bytes() == new_key.public_key().to_bytes():
            raise ValueError("the new checkpoint key is the current one")
        last = self.sign_checkpoint_now(session)
        if last.tree_size != head.size:  # pragma: no cover - signed just now under the lock
            raise RuntimeError("no checkpoint over the whole log")
        newest = session.scalars(
            select(LogKeyList).order_by(LogKeyList.version.desc()).limit(1)
        ).one_or_none()
        note = rotated_list(
            self.signer.origin,
            None if newest is None else newest.note,
            old.key,
            new_key,
            last_old_size=head.size,
            now=time.time_ns() // 1_000_000_000,
        )
        version = 1 if newest is None else newest.version + 1
        session.add(LogKeyList(version=version, note=note))
        head.key_version = version
        session.flush()
        self.signer = LogSigner(key=new_key, origin=self.signer.origin)
        self._key_version = version
        return note

    def _checkpoint(
        self, session: Session, head: LogHead, frontier: CompactRange, now_us: int
    ) -> Checkpoint:
        self.current_signer(session)
        root = frontier.root()
        note = sign_checkpoint(
            self.signer.origin, frontier.size, root, self.signer.key, self.signer.key_name
        )
        checkpoint = Checkpoint(tree_size=frontier.size, root_hash=root, note=note)
        session.add(checkpoint)
        head.checkpoint_size = frontier.size
        head.checkpoint_time_us = now_us
        return checkpoint

    @staticmethod
    def _entry_time(head: LogHead) -> int:
        """Now, but never before the previous entry: if the clock steps back (NTP, another
        host's clock), entries keep the previous time until it catches up. Time order is seq
        order, which the auditor's time-range queries rely on (`EntryFilter.apply`)."""
        head.time_us = max(time.time_ns() // 1000, head.time_us)
        return head.time_us

    @staticmethod
    def _lock_head(session: Session) -> LogHead:
        asked = perf_counter()
        head = session.scalars(
            select(LogHead).where(LogHead.id == 1).with_for_update()
        ).one_or_none()
        if head is None:
            raise RuntimeError("access log head missing: the database is not migrated")
        if _LOCKED_AT not in session.info:  # the first lock of this unit of work
            granted = perf_counter()
            session.info[_LOCKED_AT] = granted
            log_head_locked(granted - asked)
            on_transaction_end(session, lambda: log_head_released(perf_counter() - granted))
        # held for the unit of work: the session keeps an unchanged object only weakly, so
        # once the append returned, reading the head again (the receipts' signer) was a
        # SELECT under the lock (ADR 0020, section 19)
        session.info[_LOCKED_HEAD] = head
        return head


#: `Session.info` key: when this unit of work was granted the log head's lock
_LOCKED_AT = "vhhub_log_head_locked_at"
#: `Session.info` key: the head row this unit of work locked
_LOCKED_HEAD = "vhhub_log_head_locked"
#: `Session.info` key: seq -> the context an entry's act was done in (`append_prepared`)
_ENTRY_CONTEXTS = "vhhub_entry_contexts"

#: Builds the trace rows written beside entries appended in a request (the partner log's,
#: hub/audit/partner_log.py, registers itself with `on_append`: this module imports nothing
#: above it). Called under the head lock with the placed rows.
TraceRows = Callable[[Session, Sequence[LogEntry]], list[EntryTrace]]
_TRACE_ROWS: list[TraceRows] = []


def on_append(build: TraceRows) -> TraceRows:
    """Register `build` to give the trace rows of the entries each append writes."""
    _TRACE_ROWS.append(build)
    return build


_PG = PGDialect_psycopg()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialects are untyped


def _pg_type(table: Table, name: str) -> str:
    """A column's PostgreSQL type, without a length: a cast to VARCHAR(n) would cut a value
    the column must refuse."""
    return re.sub(r"[(][0-9]+[)]", "", table.c[name].type.compile(_PG))


def _arrays(model: type[Base], names: Sequence[str], prefix: str = "") -> str:
    """An INSERT of `unnest` over one array parameter per column (`:<prefix><column>`), each
    cast to the column's type. The text comes from the model's table, never from input."""
    table = cast(Table, model.__table__)
    casts = ", ".join(f"CAST(:{prefix}{name} AS {_pg_type(table, name)}[])" for name in names)
    return f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({casts})"  # noqa: S608


#: What a row's position gives it; the rest of it is its body (`_entry_body`).
_PLACED_COLUMNS = ("seq", "time_us", "leaf_hash")
_BODY_COLUMNS = tuple(c.name for c in LogEntry.__table__.columns if c.name not in _PLACED_COLUMNS)
_TRACE_COLUMNS = tuple(c.name for c in EntryTrace.__table__.columns)
_HEAD_COLUMNS = ("size", "frontier", "time_us", "checkpoint_size", "checkpoint_time_us")


def _recordset() -> str:
    """The entries' INSERT: the rows arrive as one JSON array of objects (a JSON column's
    value nested as JSON, the leaf hash in hex), read by `json_to_recordset`. An array
    parameter per column would do too, but psycopg escapes every quote of every JSON value
    in an array literal, in Python: 7 ms of CPU for three briefing entries."""
    table = cast(Table, LogEntry.__table__)
    names = [c.name for c in table.columns]
    types = ", ".join(
        f"{name} {'TEXT' if name == 'leaf_hash' else _pg_type(table, name)}" for name in names
    )
    values = ", ".join(
        "decode(r.leaf_hash, 'hex')" if name == "leaf_hash" else f"r.{name}" for name in names
    )
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {values} "  # noqa: S608
        f"FROM json_to_recordset(CAST(:entries AS JSON)) AS r({types})"
    )


#: PostgreSQL: an append's entries, their subject index rows, their trace rows and the head's
#: new state in one statement, so the lock is held over one round trip where the unit of
#: work's flush made three or four (ADR 0020, section 18). The statement's text is the same
#: for every batch size, so it is prepared once. Every part of a WITH runs to completion
#: whether or not anything reads it, and the foreign keys of the subject and trace rows are
#: checked at the end of the statement.
_ONE_STATEMENT = text(
    f"WITH entries AS ({_recordset()}), "  # noqa: S608 - from the models
    f"subjects AS ({_arrays(LogSubject, ('pseudonym', 'seq'), 'subject_')}), "
    f"traces AS ({_arrays(EntryTrace, _TRACE_COLUMNS, 'trace_')}) "
    "UPDATE access_log_head SET size = :head_size, frontier = CAST(:head_frontier AS JSON), "
    "time_us = :head_time_us, checkpoint_size = :head_checkpoint_size, "
    "checkpoint_time_us = :head_checkpoint_time_us WHERE id = 1"
)


def _entry_body(row: LogEntry) -> str:
    """A row's columns but its position, time and leaf, as JSON object members (no braces)."""
    return json.dumps({name: getattr(row, name) for name in _BODY_COLUMNS})[1:-1]


def _write_in_one_statement(
    session: Session,
    head: LogHead,
    rows: Sequence[LogEntry],
    bodies: Sequence[str],
    traces: Sequence[EntryTrace],
) -> None:
    entries = ",".join(
        f'{{"seq":{row.seq},"time_us":{row.time_us},"leaf_hash":"{row.leaf_hash.hex()}",{body}}}'
        for row, body in zip(rows, bodies, strict=True)
    )
    params: dict[str, Any] = {"entries": f"[{entries}]"}
    subjects = [(p, row.seq) for row in rows for p in row.subject_pseudonyms]
    params["subject_pseudonym"] = [p for p, _ in subjects]
    params["subject_seq"] = [seq for _, seq in subjects]
    for name in _TRACE_COLUMNS:
        params[f"trace_{name}"] = [getattr(t, name) for t in traces]
    for name in _HEAD_COLUMNS:
        value = getattr(head, name)
        params[f"head_{name}"] = json.dumps(value) if name == "frontier" else value
    # on the connection: a session's execute would first flush the head's changes itself
    session.connection().execute(_ONE_STATEMENT, params)
    for name in _HEAD_COLUMNS:
        # written by the statement: the unit of work must not write them again
        set_committed_value(head, name, getattr(head, name))


def entry_context(session: Session, seq: int) -> Context | None:
    """The context the act of entry `seq`, written in `session`, was done in, if it was not
    the current one (an entry written in a group commit for another thread's read)."""
    contexts: dict[int, Context] = session.info.get(_ENTRY_CONTEXTS, {})
    return contexts.get(seq)


def draft_entry(event: Event, actor: Actor, request: RequestInfo) -> AccessLogEntry:
    """The entry for `event`, validated and normalised, with position and time still 0
    (`AccessLogEntry.placed` gives it both)."""
    pseudonyms = set(event.subject_pseudonyms)
    for names in event.fact_subjects.values():
        pseudonyms.update(names)
    return AccessLogEntry(
        seq=0,
        time_us=0,
        action=event.action,
        outcome=event.outcome,
        actor_partner=actor.partner,
        actor_partner_kind=actor.partner_kind,
        actor_user=actor.user,
        actor_roles=actor.roles,
        purpose=request.purpose,
        case_id=event.case_id,
        subject_pseudonyms=tuple(pseudonyms),
        object_ids=tuple(event.object_ids),
        disclosed={k: tuple(v) for k, v in event.disclosed.items()},
        reason=event.reason,
        policy_version=event.policy_version,
        request_id=request.request_id,
        source=request.source,
        fact_subjects={k: tuple(v) for k, v in event.fact_subjects.items()},
        count=event.count,
    )


def _row(entry: AccessLogEntry, leaf: bytes) -> LogEntry:
    return LogEntry(
        seq=entry.seq,
        time_us=entry.time_us,
        actor_partner=entry.actor_partner,
        actor_partner_kind=entry.actor_partner_kind,
        actor_user=entry.actor_user,
        actor_roles=list(entry.actor_roles),
        action=entry.action.value,
        purpose=entry.purpose,
        case_id=entry.case_id,
        subject_pseudonyms=list(entry.subject_pseudonyms),
        object_ids=list(entry.object_ids),
        disclosed={k: list(v) for k, v in entry.disclosed.items()},
        outcome=entry.outcome.value,
        reason=entry.reason,
        policy_version=entry.policy_version,
        request_id=entry.request_id,
        source=entry.source,
        fact_subjects={k: list(v) for k, v in entry.fact_subjects.items()},
        count=entry.count,
        leaf_hash=leaf,
    )
