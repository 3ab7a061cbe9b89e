"""The receipt the hub gave for each published fact, kept to answer a retry with it."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class FactReceipt(Base):
    """The signed publish receipt of one fact (its first version).

    Only the JWS is kept: it holds a keyed digest, ids and the log position, never content.
    The salt of the digest is not kept anywhere (ADR 0405): a database reader who had both
    could test guesses of low-entropy content against the digest."""

    __tablename__ = "fact_receipts"

    fact_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("facts.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    receipt: Mapped[str] = mapped_column(Text)
