"""subjects are informed that their case is discussed, or informing is postponed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 13:00:00.000000

`subject_notices` records per subject, append-only, when, how and by whom they (or their
parents or guardians) were informed, or the reason code and review date of a postponement.
Issue 16 item 5, ADR 0012.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subject_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("informed_on", sa.Date(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("informed_party", sa.String(length=24), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("informed_by_partner", sa.String(length=64), nullable=True),
        sa.Column("informed_by_user", sa.String(length=64), nullable=True),
        sa.Column("postpone_reason", sa.String(length=32), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("recorded_by_partner", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_user", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_subject_notices_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_notices_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_notices")),
        sa.UniqueConstraint(
            "subject_id", "version", name=op.f("uq_subject_notices_subject_id_version")
        ),
    )
    op.create_index(
        op.f("ix_subject_notices_case_id"), "subject_notices", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subject_notices_case_id"), table_name="subject_notices")
    op.drop_table("subject_notices")
