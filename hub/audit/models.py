"""The access log's storage: entries (Merkle leaves), the head, signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow


class LogEntry(Base):
    """One access-log entry (NEN 7513 fields and more); never fact content or identifiers."""

    __tablename__ = "access_log"
    __table_args__ = (
        # One (column, seq) index per auditor filter, so each answers a page in seq order
        # without sorting; with a time range the query also bounds seq (time never goes
        # backwards), so the same indexes serve it. Partner + action gets its own index:
        # a partner's history is long and the actions auditors ask about (exports, policy
        # changes, denials) are rare in it. Measured in bench/audit_bench.py; ADR 0402.
        Index("ix_access_log_case_seq", "case_id", "seq"),
        Index("ix_access_log_partner_seq", "actor_partner", "seq"),
        Index("ix_access_log_partner_action_seq", "actor_partner", "action", "seq"),
        Index("ix_access_log_user_seq", "actor_user", "seq"),
        Index("ix_access_log_action_seq", "action", "seq"),
        Index("ix_access_log_outcome_seq", "outcome", "seq"),
        Index("ix_access_log_purpose_seq", "purpose", "seq"),
        Index("ix_access_log_time_seq", "time_us", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time_us: Mapped[int] = mapped_column(BigInteger)
    actor_partner: Mapped[str | None] = mapped_column(String(64))
    actor_partner_kind: Mapped[str | None] = mapped_column(String(32))
    actor_user: Mapped[str | None] = mapped_column(String(64))
    actor_roles: Mapped[list[str]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(48))
    purpose: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(36))
    subject_pseudonyms: Mapped[list[str]] = mapped_column(JSON)
    object_ids: Mapped[list[str]] = mapped_column(JSON)
    disclosed: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))
    policy_version: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    #: fact id -> pseudonyms of the subjects it concerns (entry format v2, ADR 0403); {} for
    #: entries that name no facts and for entries written before migration 0006
    fact_subjects: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    #: how many identical acts the entry stands for (entry format v3, ADR 0404); null for an
    #: entry of one act and for entries written before migration 0007
    count: Mapped[int | None] = mapped_column(BigInteger)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogSubject(Base):
    """Subject pseudonym -> entry, so the auditor's subject query uses an index."""

    __tablename__ = "access_log_subjects"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("access_log.seq", ondelete="CASCADE"), primary_key=True
    )


class LogHead(Base):
    """The single row writers lock to take the next sequence number (gap-free, one tree)."""

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    #: the Merkle frontier (compact range) after `size` leaves, so appends stay O(log n)
    frontier: Mapped[list[str]] = mapped_column(JSON)
    #: size and time (µs) of the newest signed checkpoint, to decide when to sign the next
    checkpoint_size: Mapped[int] = mapped_column(BigInteger, default=0)
    checkpoint_time_us: Mapped[int] = mapped_column(BigInteger, default=0)
    #: time (µs) of the newest entry: the next entry's time is never earlier
    time_us: Mapped[int] = mapped_column(BigInteger, default=0)
    #: version of the newest checkpoint key list (0: never rotated), so signing under the
    #: lock knows without reading the lists whether the key changed (ADR 0020, section 18)
    key_version: Mapped[int] = mapped_column(Integer, default=0)


class Checkpoint(Base):
    """A signed checkpoint (C2SP signed note) over the first `tree_size` entries."""

    __tablename__ = "checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
