"""policy versions: origin, test summary, retirement, at most one active version

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test_summary", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("retired_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "uq_policy_versions_one_active",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_index("uq_policy_versions_one_active")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("origin")
        batch_op.drop_column("test_summary")
