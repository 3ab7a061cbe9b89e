"""Reading the stored log: rows as entries, leaf hashes for proofs, notes for exports.

The rows are exported as they are stored (with their stored leaf hash), so the verifier
recomputes every hash itself and catches a row edited in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import ENTRY_FIELDS
from hub.audit.merkle import (
    SubtreeHasher,
    consistency_proof_with,
    inclusion_proof_with,
    subtree_hasher_from_leaves,
)
from hub.audit.models import Checkpoint, LogEntry, LogHead

ENTRY_COLUMNS = ENTRY_FIELDS


def row_json(row: LogEntry) -> dict[str, Any]:
    """A stored row in the export form of an entry (hub.audit.entry.entry_to_json): the
    format v1 keys, `fact_subjects` when the row has any (format v2), `count` when the row
    has one (format v3)."""
    body = {name: getattr(row, name) for name in ENTRY_COLUMNS}
    if row.fact_subjects:
        body["fact_subjects"] = row.fact_subjects
    if row.count is not None:
        body["count"] = row.count
    return body


def log_size(session: Session) -> int:
    head = session.get(LogHead, 1)
    return head.size if head is not None else 0


def iter_rows(session: Session, *, batch: int = 2000) -> Iterator[LogEntry]:
    """Every entry in seq order, in batches (memory stays flat on big logs)."""
    last = -1
    while True:
        rows = session.scalars(
            select(LogEntry).where(LogEntry.seq > last).order_by(LogEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def leaf_hash_reader(session: Session) -> Callable[[int, int], list[bytes]]:
    """Stored leaf hashes by seq range, read through the session's own DBAPI cursor (inside
    its transaction and snapshot). A report reads a million of them (ADR 0403): without
    SQLAlchemy's row processing that is several times faster."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # a constant table name and the driver's own placeholders: no value is ever formatted in
    sql = (
        f"SELECT leaf_hash FROM {LogEntry.__tablename__} "  # noqa: S608
        f"WHERE seq >= {mark} AND seq < {mark} ORDER BY seq"
    )
    dbapi = connection.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("no database connection")

    def read(start: int, end: int) -> list[bytes]:
        cursor = dbapi.cursor()
        try:
            cursor.execute(sql, (start, end))
            return [bytes(row[0]) for row in cursor.fetchall()]
        finally:
            cursor.close()

    return read


def checkpoint_notes(session: Session) -> list[str]:
    return list(session.scalars(select(Checkpoint.note).order_by(Checkpoint.tree_size)))


def subtree_hasher(session: Session) -> SubtreeHasher:
    """Subtree hashes from stored leaf hashes, memoised for the proofs of one request."""

    def leaves(start: int, end: int) -> list[bytes]:
        return list(
            session.scalars(
                select(LogEntry.leaf_hash)
                .where(LogEntry.seq >= start, LogEntry.seq < end)
                .order_by(LogEntry.seq)
            )
        )

    plain = subtree_hasher_from_leaves(leaves)

    @lru_cache(maxsize=4096)
    def cached(start: int, end: int) -> bytes:
        return plain(start, end)

    return cached


def inclusion_proof(session: Session, seq: int, tree_size: int) -> list[bytes]:
    return inclusion_proof_with(seq, tree_size, subtree_hasher(session))


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    return consistency_proof_with(old_size, new_size, subtree_hasher(session))
