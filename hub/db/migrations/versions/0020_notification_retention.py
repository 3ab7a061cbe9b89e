"""indexes for the notification retention sweep

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:45:00.000000

ADR 0019: the deliverer now removes finished deliveries (delivered, withheld, dead) and
their outbox events once `VHHUB_NOTIFICATION_RETENTION_DAYS` have passed. It finds them by
when they finished and when the event was written; without these indexes every sweep would
read both tables whole, and they are the two tables that grow with every change.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_notification_deliveries_finished_at"), "notification_deliveries", ["finished_at"]
    )
    op.create_index(
        op.f("ix_notification_outbox_created_at"), "notification_outbox", ["created_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_outbox_created_at"), table_name="notification_outbox")
    op.drop_index(
        op.f("ix_notification_deliveries_finished_at"), table_name="notification_deliveries"
    )
