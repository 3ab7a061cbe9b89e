"""Cases, their subjects (betrokkenen), participants and the tables' agenda."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow
from hub.vocabulary import Phase


class Case(Base):
    """A casus. Metadata the policy needs is in clear; the reason text is encrypted."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    proposed_table: Mapped[str] = mapped_column(String(32))
    table_id: Mapped[str | None] = mapped_column(ForeignKey("network_tables.id"), index=True)
    phase: Mapped[str] = mapped_column(String(32), index=True)
    #: open | rejected | closed | shredded
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    registered_by_partner: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    registered_by_user: Mapped[str] = mapped_column(String(64))
    procesregisseur_partner: Mapped[str | None] = mapped_column(String(64))
    procesregisseur_user: Mapped[str | None] = mapped_column(String(64))
    casusregisseur_partner: Mapped[str | None] = mapped_column(String(64))
    casusregisseur_user: Mapped[str | None] = mapped_column(String(64))
    #: the Landelijk kader criteria as booleans plus the triage decision code (no free text)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(32))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retention_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: triage (ADR 0014): red | amber | green, the review date and the due dates of the next
    #: steps; metadata only, no personal data
    urgency: Mapped[str | None] = mapped_column(String(8))
    review_on: Mapped[date | None] = mapped_column(Date)
    preparation_due: Mapped[date | None] = mapped_column(Date)
    case_conference_due: Mapped[date | None] = mapped_column(Date)
    #: when triage decided (accept or reject): the first lead time of the statistics
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def end(self, *, status: str, outcome: str, keep_for: timedelta) -> None:
        """Close the case (rejected at triage or closed after the work) with an outcome, and
        start its retention period: it is shredded `keep_for` after today (ADR 0006)."""
        now = datetime.now(UTC)
        self.phase = Phase.CLOSED.value
        self.status = status
        self.outcome = outcome
        self.closed_at = now
        self.retention_until = now + keep_for


class Subject(Base):
    """A betrokkene of a case; identifiers (BSN, name, birth date) only as ciphertext."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: the subject's place in the case system, e.g. parent, child, resident (no identifier)
    role_in_case: Mapped[str] = mapped_column(String(32))
    identifiers_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: 1 at registration, +1 per correction by the registering partner (SubjectVersion)
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class SubjectVersion(Base):
    """An earlier version of a subject's identifiers, kept sealed when the registering
    partner corrects them: the rectification stays traceable (AVG art. 16, 5(2)) and is
    shredded with its case like every other ciphertext of it."""

    __tablename__ = "subject_versions"

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role_in_case: Mapped[str] = mapped_column(String(32))
    identifiers_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: who replaced this version, and when
    replaced_by_partner: Mapped[str] = mapped_column(String(64))
    replaced_by_user: Mapped[str] = mapped_column(String(64))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SubjectIndex(Base):
    """Keyed blind index of a subject identifier, for matching without decrypting."""

    __tablename__ = "subject_index"
    __table_args__ = (Index("ix_subject_index_value", "value"),)

    subject_id: Mapped[str] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    )
    #: bsn | name_dob
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)


class Participant(Base):
    """A partner (optionally one named professional of it) invited to a case."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("case_id", "partner_id", "user"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    #: empty string: every user of the partner; else the named professional's pseudonym
    user: Mapped[str] = mapped_column(String(64), default="")
    invited_by_partner: Mapped[str] = mapped_column(String(64))
    invited_by_user: Mapped[str] = mapped_column(String(64))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvitationRecord(Protocol):
    """What the policy input reads of an invitation: a `Participant`, or an `Invitation`."""

    @property
    def partner_id(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def withdrawn_at(self) -> datetime | None: ...


class Invitation(NamedTuple):
    """An invitation's columns that the policy input reads, as a plain tuple: every
    case-scoped request builds its policy input from them, and an ORM entity per invitation
    costs a round of identity-map and instrumentation work the input never needs (ADR 0020)."""

    partner_id: str
    user: str
    withdrawn_at: datetime | None


class AgendaItem(Base):
    """A case on a table's agenda for a meeting date."""

    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("table_id", "meeting_date", "case_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_id: Mapped[str] = mapped_column(ForeignKey("network_tables.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    meeting_date: Mapped[date] = mapped_column(Date)
    note_code: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SubjectNotice(Base):
    """Whether a subject was informed that their case is discussed, or why and until when
    informing is postponed (ADR 0012). Append-only: a subject's current state is its latest
    version; earlier versions stay as history. Only codes and dates, no free text."""

    __tablename__ = "subject_notices"
    __table_args__ = (UniqueConstraint("subject_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    #: 1 for a subject's first notice, +1 for each one recorded after it
    version: Mapped[int] = mapped_column()
    #: informed | postponed
    state: Mapped[str] = mapped_column(String(16))
    informed_on: Mapped[date | None] = mapped_column(Date)
    #: in_person | letter | phone | video
    channel: Mapped[str | None] = mapped_column(String(16))
    #: subject | parents_or_guardians | both
    informed_party: Mapped[str | None] = mapped_column(String(24))
    #: under_12 | 12_to_15 | 16_plus | adult, as the recorder stated it
    age_band: Mapped[str | None] = mapped_column(String(16))
    informed_by_partner: Mapped[str | None] = mapped_column(String(64))
    informed_by_user: Mapped[str | None] = mapped_column(String(64))
    #: risk_to_safety | risk_to_investigation | subject_unreachable | other
    postpone_reason: Mapped[str | None] = mapped_column(String(32))
    review_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_partner: Mapped[str] = mapped_column(String(64))
    recorded_by_user: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CasePhaseHistory(Base):
    """When a case entered each phase, and which partner moved it there (ADR 0014): written
    at registration (intake), at every phase change, and at closing or a rejected triage
    (closed). The statistics compute lead times from it; metadata only."""

    __tablename__ = "case_phase_history"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    entered_by_partner: Mapped[str] = mapped_column(String(64))


class CaseCoordination(Base):
    """Who coordinates a case with another house or chain (the regievoerder) and whether that
    is done (ADR 0014): one row per case and counterpart, changed in place by the
    procesregisseur (the access log keeps every change). Codes and pseudonyms only."""

    __tablename__ = "case_coordination"
    __table_args__ = (UniqueConstraint("case_id", "counterpart"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: a chain code (other_zvh, zsm, youth_protection, domestic_violence) or a partner kind
    counterpart: Mapped[str] = mapped_column(String(32))
    regievoerder_partner: Mapped[str] = mapped_column(String(64))
    regievoerder_user: Mapped[str] = mapped_column(String(64))
    #: to_coordinate | coordinated | not_needed
    status: Mapped[str] = mapped_column(String(16))
    recorded_by_partner: Mapped[str] = mapped_column(String(64))
    recorded_by_user: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
