"""log head carries the key list version

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 14:00:00.000000

Issue 22 (ADR 0020, section 18): every receipt and checkpoint is signed by the key the newest
key list names. Each signing read that list under the log head's lock, one round trip per
publish. The head row, which the lock reads anyway, now carries the newest list's version
(0: never rotated); a rotation moves it in the same transaction that stores the list. The
backfill takes the version of a log rotated before this migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_log_head") as batch:
        batch.add_column(sa.Column("key_version", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE access_log_head SET key_version = "
        "(SELECT COALESCE(MAX(version), 0) FROM log_key_lists)"
    )
    with op.batch_alter_table("access_log_head") as batch:
        batch.alter_column("key_version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("access_log_head") as batch:
        batch.drop_column("key_version")
