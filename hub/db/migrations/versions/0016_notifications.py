"""notifications

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 01:00:00.000000

Issue 21 (ADR 0019): partners' subscriptions, the transactional outbox written in the unit
of work of each change, the deliveries of each event to each subscription (the CloudEvent
id, its per-subscription sequence, attempts and lease), and the interventions whose
deadline was announced. Ids and kinds only: no content, nothing to backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db.base import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("created_by_user", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=False),
        sa.Column("case_ids", sa.Text(), nullable=True),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_subscriptions")),
    )
    op.create_index(
        op.f("ix_notification_subscriptions_partner_id"),
        "notification_subscriptions",
        ["partner_id"],
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("object_ids", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=True),
        sa.Column("actor_partner", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    op.create_index(op.f("ix_notification_outbox_case_id"), "notification_outbox", ["case_id"])
    op.create_index(
        op.f("ix_notification_outbox_fanned_out"), "notification_outbox", ["fanned_out"]
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notification_outbox.id"],
            name=op.f("fk_notification_deliveries_event_id_notification_outbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["notification_subscriptions.id"],
            name=op.f("fk_notification_deliveries_subscription_id_notification_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "event_id",
            "subscription_id",
            name=op.f("uq_notification_deliveries_event_id_subscription_id"),
        ),
        sa.UniqueConstraint(
            "subscription_id",
            "sequence",
            name=op.f("uq_notification_deliveries_subscription_id_sequence"),
        ),
    )
    op.create_index(
        op.f("ix_notification_deliveries_event_id"), "notification_deliveries", ["event_id"]
    )
    op.create_index(
        op.f("ix_notification_deliveries_status"), "notification_deliveries", ["status"]
    )
    op.create_index(
        op.f("ix_notification_deliveries_next_attempt_at"),
        "notification_deliveries",
        ["next_attempt_at"],
    )
    op.create_table(
        "notification_due_reminders",
        sa.Column("intervention_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "intervention_id", "case_id", "deadline", name=op.f("pk_notification_due_reminders")
        ),
    )


def downgrade() -> None:
    op.drop_table("notification_due_reminders")
    op.drop_index(
        op.f("ix_notification_deliveries_next_attempt_at"), table_name="notification_deliveries"
    )
    op.drop_index(op.f("ix_notification_deliveries_status"), table_name="notification_deliveries")
    op.drop_index(op.f("ix_notification_deliveries_event_id"), table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index(op.f("ix_notification_outbox_fanned_out"), table_name="notification_outbox")
    op.drop_index(op.f("ix_notification_outbox_case_id"), table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index(
        op.f("ix_notification_subscriptions_partner_id"), table_name="notification_subscriptions"
    )
    op.drop_table("notification_subscriptions")
