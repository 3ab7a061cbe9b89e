"""Storage of witnesses, their cosignatures and the log's signed key lists (ADR 0406).

Apart from the log tables on purpose: cosignatures arrive late (or never, when witnesses are
down), so nothing here is written or read by `AccessLog.append`. An append never waits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow


class WitnessKey(Base):
    """A partner's witness key (C2SP vkey, 0x04). `valid_until` is set when the witness
    rotates to a new key (`rotation` holds the statement, signed by old and new key)."""

    __tablename__ = "witness_keys"
    __table_args__ = (Index("ix_witness_keys_partner", "partner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(String(64))
    vkey: Mapped[str] = mapped_column(String(400), unique=True)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotation: Mapped[str | None] = mapped_column(Text)


class Cosignature(Base):
    """One witness's cosignature line on one checkpoint (appended to the note on output)."""

    __tablename__ = "checkpoint_cosignatures"

    tree_size: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("checkpoints.tree_size", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    witness_key_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("witness_keys.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[str] = mapped_column(Text)
    #: the witness's own timestamp in the cosignature (unix seconds)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LogKeyList(Base):
    """A signed list of the log's checkpoint keys, one per rotation (hub/audit/keylist.py)."""

    __tablename__ = "log_key_lists"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
