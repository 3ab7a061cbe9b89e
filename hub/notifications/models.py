"""Subscriptions, the transactional outbox and its deliveries (ADR 0019).

Only ids, kinds and delivery state sit here, never content: an outbox row says "facts
f1, f2 of case C were published", not what they say, so a database reader learns from this
table no more than the access log already tells them (docs/principles.md, section 9).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow


class Subscription(Base):
    """A partner application's wish to be told of changes, at one allow-listed callback.

    `roles` and `created_by_user` are the subscribing caller's, so the policy is asked at
    each delivery about the same viewer that subscribed; `next_sequence` numbers this
    subscription's events (the CloudEvents `sequence`), so the partner sees a gap."""

    __tablename__ = "notification_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    created_by_user: Mapped[str] = mapped_column(String(64))
    #: JSON list of the subscriber's roles
    roles: Mapped[str] = mapped_column(Text)
    callback_url: Mapped[str] = mapped_column(String(2048))
    #: JSON list of event kinds
    event_types: Mapped[str] = mapped_column(Text)
    #: JSON list of case ids, or NULL for every case the partner takes part in
    case_ids: Mapped[str | None] = mapped_column(Text)
    next_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxEvent(Base):
    """One change a partner may pull, written in the unit of work of the change itself."""

    __tablename__ = "notification_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    #: JSON list of the ids the change concerns (facts, a meeting, an intervention)
    object_ids: Mapped[str] = mapped_column(Text)
    #: only this partner is told (an invitation, an intervention's owner); NULL: every one
    audience: Mapped[str | None] = mapped_column(String(64))
    #: the partner that made the change is not told of its own act
    actor_partner: Mapped[str | None] = mapped_column(String(64))
    #: indexed for the retention sweep (ADR 0019)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Delivery(Base):
    """One event for one subscription; its id is the CloudEvent `id` (stable across retries)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        UniqueConstraint("subscription_id", "sequence"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("notification_subscriptions.id", ondelete="CASCADE")
    )
    #: pending, delivered, dead, withheld (the policy or the participation said no)
    status: Mapped[str] = mapped_column(String(16), index=True)
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(36))
    #: why the last attempt failed: an HTTP status or an error type, never a body
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: when it was delivered, withheld or given up; indexed for the retention sweep (ADR 0019)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class DueReminder(Base):
    """An intervention whose deadline was announced: written with its outbox row, once."""

    __tablename__ = "notification_due_reminders"

    intervention_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deadline: Mapped[date] = mapped_column(Date, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
