"""policy diffs remember how many decisions they change

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 20:00:00.000000

The history of policy changes (ADR 0016) says per version how many decisions its diff
changed. A diff takes 20-75 s to compute, so the count is kept beside the digest the hub
already stores for every full diff it showed; then every replica, and the hub after a
restart, can say it. Rows from before carry none (the history shows the count as unknown).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_diff_digests") as batch:
        batch.add_column(sa.Column("change_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_diff_digests") as batch:
        batch.drop_column("change_count")
