"""access log: time never goes backwards; indexes for every auditor filter; statistics

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 13:00:00.000000

Measured at 10 million entries (bench/audit_bench.py): a partner + rare action, an outcome
or a purpose, or any filter with a time window, scanned a partner's or the whole history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATISTICS = "st_access_log_actor_action_outcome"


def upgrade() -> None:
    with op.batch_alter_table("access_log_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_us", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE access_log_head SET time_us = (SELECT COALESCE(MAX(time_us), 0) FROM access_log)"
    )
    with op.batch_alter_table("access_log_head", schema=None) as batch_op:
        batch_op.alter_column("time_us", server_default=None)
    op.create_index(
        "ix_access_log_partner_action_seq", "access_log", ["actor_partner", "action", "seq"]
    )
    op.create_index("ix_access_log_outcome_seq", "access_log", ["outcome", "seq"])
    op.create_index("ix_access_log_purpose_seq", "access_log", ["purpose", "seq"])
    op.create_index("ix_access_log_time_seq", "access_log", ["time_us", "seq"])
    op.drop_index("ix_access_log_time", table_name="access_log")
    if op.get_bind().dialect.name == "postgresql":
        # which partners, actions and outcomes occur together, so the planner sees that a
        # combination is rare instead of multiplying the columns' separate frequencies
        op.execute(
            f"CREATE STATISTICS {STATISTICS} (mcv, dependencies) "
            "ON actor_partner, action, outcome FROM access_log"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    op.create_index("ix_access_log_time", "access_log", ["time_us"])
    op.drop_index("ix_access_log_time_seq", table_name="access_log")
    op.drop_index("ix_access_log_purpose_seq", table_name="access_log")
    op.drop_index("ix_access_log_outcome_seq", table_name="access_log")
    op.drop_index("ix_access_log_partner_action_seq", table_name="access_log")
    with op.batch_alter_table("access_log_head", schema=None) as batch_op:
        batch_op.drop_column("time_us")
