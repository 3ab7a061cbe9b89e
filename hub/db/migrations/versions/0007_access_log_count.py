"""access log: an entry may stand for several identical refusals (entry format v3)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:00:00.000000

`access_log.count` holds the format v3 field of the same name: how many repeated refusals
from one source in one minute the entry stands for (ADR 0404). Null for every entry written
before, which keep their v1/v2 encoding and leaf hash.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # entries with a count would lose it and no longer verify: refuse rather than corrupt
    rows = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM access_log WHERE count IS NOT NULL"))
    if rows.scalar_one():
        raise RuntimeError("access_log holds format v3 entries (count); cannot downgrade")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("count")
