"""facts concern one, several or all subjects of a case; log entries say which, per fact

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00.000000

`fact_subjects` links a fact to each subject it concerns (no row: the whole case), filled
from `facts.subject_id` for the facts published before. `access_log.fact_subjects` holds
the entry format v2 field of the same name ({} for every entry written before; those keep
their v1 encoding and leaf hash). ADR 0403.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fact_subjects",
        sa.Column("fact_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["fact_id"],
            ["facts.id"],
            name=op.f("fk_fact_subjects_fact_id_facts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_fact_subjects_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fact_id", "subject_id", name=op.f("pk_fact_subjects")),
    )
    with op.batch_alter_table("fact_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fact_subjects_subject_id"), ["subject_id"], unique=False
        )
    op.execute(
        "INSERT INTO fact_subjects (fact_id, subject_id) "
        "SELECT id, subject_id FROM facts WHERE subject_id IS NOT NULL"
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fact_subjects", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("fact_subjects")
    # a fact about several subjects keeps only what `facts.subject_id` held (none)
    with op.batch_alter_table("fact_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fact_subjects_subject_id"))
    op.drop_table("fact_subjects")
