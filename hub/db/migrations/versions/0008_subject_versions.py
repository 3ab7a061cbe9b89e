"""subjects are corrected by their registering partner: versioned, the old version kept sealed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:30:00.000000

`subjects.version` counts corrections (1 at registration); `subject_versions` keeps each
replaced version's sealed identifiers with who replaced it and when. Issue 16, ADR 0105.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "subject_versions",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("role_in_case", sa.String(length=32), nullable=False),
        sa.Column("identifiers_ct", sa.LargeBinary(), nullable=True),
        sa.Column("replaced_by_partner", sa.String(length=64), nullable=False),
        sa.Column("replaced_by_user", sa.String(length=64), nullable=False),
        sa.Column("replaced_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_versions_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_subject_versions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "version", name=op.f("pk_subject_versions")),
    )
    op.create_index(
        op.f("ix_subject_versions_case_id"), "subject_versions", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subject_versions_case_id"), table_name="subject_versions")
    op.drop_table("subject_versions")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("version")
