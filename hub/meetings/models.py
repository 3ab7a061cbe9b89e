"""Case conferences: the meeting, its ordered cases, the invitees and the minutes (ADR 0013).

Clear columns hold what the policy and the calendar need (table, times, place, chair, the
case on each item, who is invited and attended, a decision's code, a minutes part's life
domain and sensitivity); the text of minutes and decisions is sealed with the case's data
key, like plan notes, and opened only through hub.disclosure.minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow

#: the schema id the sealed text of a minutes part is bound to
MINUTES_SCHEMA = "meeting_minutes/1"


class Meeting(Base):
    """One case conference of a table."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_table_starts_at", "table_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    table_id: Mapped[str] = mapped_column(ForeignKey("network_tables.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: a room (never a subject's address) or, instead, an https video link
    location: Mapped[str | None] = mapped_column(String(200))
    video_link: Mapped[str | None] = mapped_column(String(500))
    chair_partner: Mapped[str] = mapped_column(String(64))
    chair_user: Mapped[str] = mapped_column(String(64))
    #: procesregisseur | casusregisseur
    chair_role: Mapped[str] = mapped_column(String(16))
    #: scheduled | cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    scheduled_by_partner: Mapped[str] = mapped_column(String(64))
    scheduled_by_user: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingItem(Base):
    """A case on a meeting's ordered list."""

    __tablename__ = "meeting_items"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: 1, 2, ... in the order the cases are discussed
    position: Mapped[int] = mapped_column()
    added_by_partner: Mapped[str] = mapped_column(String(64))
    added_by_user: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingInvitee(Base):
    """A partner (or one named professional of it) invited to discuss one item, and whether
    they attended."""

    __tablename__ = "meeting_invitees"
    __table_args__ = (UniqueConstraint("item_id", "partner_id", "user"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_id: Mapped[str] = mapped_column(
        ForeignKey("meeting_items.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    #: empty string: the partner as such; else the named professional's pseudonym
    user: Mapped[str] = mapped_column(String(64), default="")
    #: present | absent | excused; None until recorded
    attendance: Mapped[str | None] = mapped_column(String(16))
    attendance_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MeetingMinutes(Base):
    """One part of the minutes of an item, or a decision: a life domain and sensitivity in
    clear (what the policy decides on), the text sealed (`record="meeting_minutes"`)."""

    __tablename__ = "meeting_minutes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_id: Mapped[str] = mapped_column(
        ForeignKey("meeting_items.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: minutes | decision
    kind: Mapped[str] = mapped_column(String(16))
    #: a decision's code (hub.meetings.schemas.DecisionCode); None for minutes
    decision_code: Mapped[str | None] = mapped_column(String(32))
    life_domain: Mapped[str | None] = mapped_column(String(32))
    sensitivity: Mapped[str] = mapped_column(String(16))
    text_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_by_partner: Mapped[str] = mapped_column(String(64))
    recorded_by_user: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingRepository:
    """The queries the meeting service and the minutes door share."""

    @staticmethod
    def items(session: Session, meeting_id: str) -> Sequence[MeetingItem]:
        return session.scalars(
            select(MeetingItem)
            .where(MeetingItem.meeting_id == meeting_id)
            .order_by(MeetingItem.position)
        ).all()

    @staticmethod
    def item(session: Session, meeting_id: str, item_id: str) -> MeetingItem | None:
        item = session.get(MeetingItem, item_id)
        return item if item is not None and item.meeting_id == meeting_id else None

    @staticmethod
    def invitees(session: Session, item_ids: Sequence[str]) -> Sequence[MeetingInvitee]:
        if not item_ids:
            return []
        return session.scalars(
            select(MeetingInvitee)
            .where(MeetingInvitee.item_id.in_(list(item_ids)))
            .order_by(MeetingInvitee.partner_id, MeetingInvitee.user)
        ).all()

    @staticmethod
    def minutes(session: Session, item_id: str) -> Sequence[MeetingMinutes]:
        return session.scalars(
            select(MeetingMinutes)
            .where(MeetingMinutes.item_id == item_id)
            .order_by(MeetingMinutes.recorded_at, MeetingMinutes.id)
        ).all()

    @staticmethod
    def scheduled_from(session: Session, since: datetime, limit: int) -> Sequence[Meeting]:
        """The scheduled meetings starting from `since` on, earliest first (at most `limit`)."""
        return session.scalars(
            select(Meeting)
            .where(Meeting.status == "scheduled", Meeting.starts_at >= since)
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(limit)
        ).all()

    @staticmethod
    def next_starts(
        session: Session, case_ids: Sequence[str], since: datetime
    ) -> dict[str, datetime]:
        """The start of each case's next scheduled meeting from `since` on."""
        if not case_ids:
            return {}
        rows = session.execute(
            select(MeetingItem.case_id, Meeting.starts_at)
            .join(Meeting, Meeting.id == MeetingItem.meeting_id)
            .where(
                MeetingItem.case_id.in_(sorted(set(case_ids))),
                Meeting.status == "scheduled",
                Meeting.starts_at >= since,
            )
        )
        out: dict[str, datetime] = {}
        for case_id, starts_at in rows:
            if case_id not in out or starts_at < out[case_id]:
                out[case_id] = starts_at
        return out
