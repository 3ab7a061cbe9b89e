"""Reading the stored log: rows as entries, leaf hashes for proofs, notes for exports.

The rows are exported as they are stored (with their stored leaf hash), so the verifier
recomputes every hash itself and catches a row edited in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    """A stored row in the export form of an entry (hub.audit.entry.entry_to_json)."""
    return {name: getattr(row, name) for name in ENTRY_COLUMNS}


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
