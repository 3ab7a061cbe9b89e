"""case conferences: meetings, their ordered cases, invitees and sealed minutes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 14:00:00.000000

`meetings` holds a table's case conference (times, room or video link, chair);
`meeting_items` the ordered cases on it; `meeting_invitees` who is invited per case and
whether they attended; `meeting_minutes` the minutes parts and decisions, their text sealed
with the case's data key. ADR 0013.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("table_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("video_link", sa.String(length=500), nullable=True),
        sa.Column("chair_partner", sa.String(length=64), nullable=False),
        sa.Column("chair_user", sa.String(length=64), nullable=False),
        sa.Column("chair_role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_by_partner", sa.String(length=64), nullable=False),
        sa.Column("scheduled_by_user", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"], ["network_tables.id"], name=op.f("fk_meetings_table_id_network_tables")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(
        "ix_meetings_table_starts_at", "meetings", ["table_id", "starts_at"], unique=False
    )
    op.create_table(
        "meeting_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_by_partner", sa.String(length=64), nullable=False),
        sa.Column("added_by_user", sa.String(length=64), nullable=False),
        sa.Column("added_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_meeting_items_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_items_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_items")),
        sa.UniqueConstraint(
            "meeting_id", "case_id", name=op.f("uq_meeting_items_meeting_id_case_id")
        ),
    )
    op.create_index(
        op.f("ix_meeting_items_meeting_id"), "meeting_items", ["meeting_id"], unique=False
    )
    op.create_index(op.f("ix_meeting_items_case_id"), "meeting_items", ["case_id"], unique=False)
    op.create_table(
        "meeting_invitees",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("attendance", sa.String(length=16), nullable=True),
        sa.Column("attendance_recorded_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_meeting_invitees_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["meeting_items.id"],
            name=op.f("fk_meeting_invitees_item_id_meeting_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitees")),
        sa.UniqueConstraint(
            "item_id",
            "partner_id",
            "user",
            name=op.f("uq_meeting_invitees_item_id_partner_id_user"),
        ),
    )
    op.create_index(
        op.f("ix_meeting_invitees_item_id"), "meeting_invitees", ["item_id"], unique=False
    )
    op.create_index(
        op.f("ix_meeting_invitees_case_id"), "meeting_invitees", ["case_id"], unique=False
    )
    op.create_table(
        "meeting_minutes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decision_code", sa.String(length=32), nullable=True),
        sa.Column("life_domain", sa.String(length=32), nullable=True),
        sa.Column("sensitivity", sa.String(length=16), nullable=False),
        sa.Column("text_ct", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by_partner", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_user", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_meeting_minutes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["meeting_items.id"],
            name=op.f("fk_meeting_minutes_item_id_meeting_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_minutes")),
    )
    op.create_index(
        op.f("ix_meeting_minutes_item_id"), "meeting_minutes", ["item_id"], unique=False
    )
    op.create_index(
        op.f("ix_meeting_minutes_case_id"), "meeting_minutes", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_meeting_minutes_case_id"), table_name="meeting_minutes")
    op.drop_index(op.f("ix_meeting_minutes_item_id"), table_name="meeting_minutes")
    op.drop_table("meeting_minutes")
    op.drop_index(op.f("ix_meeting_invitees_case_id"), table_name="meeting_invitees")
    op.drop_index(op.f("ix_meeting_invitees_item_id"), table_name="meeting_invitees")
    op.drop_table("meeting_invitees")
    op.drop_index(op.f("ix_meeting_items_case_id"), table_name="meeting_items")
    op.drop_index(op.f("ix_meeting_items_meeting_id"), table_name="meeting_items")
    op.drop_table("meeting_items")
    op.drop_index("ix_meetings_table_starts_at", table_name="meetings")
    op.drop_table("meetings")
