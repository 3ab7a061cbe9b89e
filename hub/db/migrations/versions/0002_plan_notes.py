"""plan notes: monitoring of interventions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("plan_version_id", sa.String(length=36), nullable=False),
        sa.Column("content_ct", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_by_partner", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_user", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_plan_notes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_version_id"],
            ["plan_versions.id"],
            name=op.f("fk_plan_notes_plan_version_id_plan_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_notes")),
    )
    with op.batch_alter_table("plan_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_notes_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_plan_notes_plan_version_id"), ["plan_version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_notes_plan_version_id"))
        batch_op.drop_index(batch_op.f("ix_plan_notes_case_id"))

    op.drop_table("plan_notes")
