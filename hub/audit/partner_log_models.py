"""The side index of each partner's own access log (ADR 0405): which entries concern whom.

An entry concerns a partner when the partner acted (`actor_partner`) or when the entry names
a fact the partner published (in `object_ids` or `disclosed`): its facts were disclosed,
refused, corrected or withdrawn. The index is derived from the log and the facts table and
can be rebuilt from them at any time; it is not evidence (the log is).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class PartnerLogLink(Base):
    """Entry `seq` concerns `partner` (as actor, as source, or both)."""

    __tablename__ = "partner_log_links"

    partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("access_log.seq", ondelete="CASCADE"), primary_key=True
    )


class PartnerLogState(Base):
    """How far the index has read the log: entries below `indexed_size` are indexed."""

    __tablename__ = "partner_log_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    indexed_size: Mapped[int] = mapped_column(BigInteger, default=0)


class EntryTrace(Base):
    """The trace context of the request behind an entry, beyond what the leaf holds: the
    caller's span (LDV's foreign operation), its FSC transaction id, and the trace and span
    ids when the request id does not carry them. Written when the entry is appended inside a
    request; absent for entries written outside one, before 0015, or whose request id says
    it all."""

    __tablename__ = "access_log_traces"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("access_log.seq", ondelete="CASCADE"), primary_key=True
    )
    #: the request's W3C trace and the hub's span, when its request id does not hold them
    trace_id: Mapped[str | None] = mapped_column(String(32))
    span_id: Mapped[str | None] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    fsc_transaction_id: Mapped[str | None] = mapped_column(String(36))
