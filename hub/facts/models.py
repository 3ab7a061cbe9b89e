"""Published facts: policy metadata in clear columns, content only as ciphertext."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
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


class FactRecord(Protocol):
    """A stored fact as the one door reads it: a `Fact` entity, or a `FactRow`."""

    @property
    def id(self) -> str: ...
    @property
    def case_id(self) -> str: ...
    @property
    def subject_id(self) -> str | None: ...
    @property
    def fact_type(self) -> str: ...
    @property
    def life_domain(self) -> str: ...
    @property
    def sensitivity(self) -> str: ...
    @property
    def shareable(self) -> bool: ...
    @property
    def publisher_partner(self) -> str: ...
    @property
    def publisher_kind(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def content_ct(self) -> bytes | None: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def change_seq(self) -> int: ...


class FactRow(NamedTuple):
    """A stored fact's columns as a plain, read-only tuple, for reads that change nothing.

    A briefing page reads up to 500 facts only to decide, decrypt and answer them: as ORM
    entities (identity map, instance state, attribute instrumentation) 200 of them cost
    about 2.5 ms more than as tuples, and every attribute read is Python code (ADR 0020)."""

    id: str
    case_id: str
    subject_id: str | None
    fact_type: str
    life_domain: str
    sensitivity: str
    shareable: bool
    publisher_partner: str
    publisher_kind: str
    version: int
    status: str
    content_ct: bytes | None
    published_at: datetime
    change_seq: int

    @staticmethod
    def columns() -> tuple[ColumnElement[Any], ...]:
        """The columns to select, in field order (`with_only_columns(*FactRow.columns())`)."""
        return _FACT_ROW_COLUMNS


_FACT_ROW_COLUMNS: tuple[ColumnElement[Any], ...] = tuple(
    Fact.__table__.c[name] for name in FactRow._fields
)


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
