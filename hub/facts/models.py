"""Published facts: policy metadata in clear columns, content only as ciphertext."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow


class Fact(Base):
    __tablename__ = "facts"
    __table_args__ = (
        UniqueConstraint("publisher_partner", "idempotency_key"),
        Index("ix_facts_case_status", "case_id", "status"),
        Index("ix_facts_case_change", "case_id", "change_seq"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    subject_id: Mapped[str | None] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    fact_type: Mapped[str] = mapped_column(String(64), index=True)
    life_domain: Mapped[str] = mapped_column(String(32))
    sensitivity: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str] = mapped_column(String(64))
    #: the publisher allows special-category details beyond summary (policy input)
    shareable: Mapped[bool] = mapped_column(default=False)
    publisher_partner: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    publisher_kind: Mapped[str] = mapped_column(String(32))
    publisher_user: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    #: the first version's id; every correction shares it
    lineage_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(default=1)
    #: current | superseded | withdrawn
    status: Mapped[str] = mapped_column(String(16))
    content_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: a hub-wide increasing number, the cursor of the updates feed
    change_seq: Mapped[int] = mapped_column(BigInteger)


class FactSubject(Base):
    """A subject of its case that a fact concerns (one row per subject).

    A fact may concern one subject of a household, several, or -- with no row at all -- the
    whole case. Access-log entries that name a fact carry the pseudonyms of exactly these
    subjects (`fact_subjects`), so a person's access report lists only acts on data about
    them (ADR 0403). `Fact.subject_id` keeps the one subject of a single-subject fact for
    older readers; this table is authoritative.
    """

    __tablename__ = "fact_subjects"

    fact_id: Mapped[str] = mapped_column(
        ForeignKey("facts.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
