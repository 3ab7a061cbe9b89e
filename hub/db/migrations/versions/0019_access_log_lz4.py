"""access log JSON columns compressed with lz4 on PostgreSQL

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 15:00:00.000000

Issue 22 (ADR 0020, section 18): a briefing's entry names 200 facts, their fields and their
subjects, tens of kilobytes of JSON that PostgreSQL compresses when it stores the row (TOAST).
With its default, pglz, writing three such entries took 4.1 ms of the server's time under the
log head's lock; with lz4, 2.3 ms, for about the same size on disk. Only where the server was
built with lz4 (PostgreSQL 14 and later; `default_toast_compression` then lists it); other
servers and SQLite keep what they have. Rows already stored keep their compression.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The columns that hold a briefing's lists and maps.
COLUMNS = ("subject_pseudonyms", "object_ids", "disclosed", "fact_subjects")


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    alters = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in COLUMNS)
    op.execute(
        "DO $$ BEGIN "  # noqa: S608 - constants of this migration, no input
        "IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
        "AND 'lz4' = ANY(enumvals)) THEN "
        f"ALTER TABLE access_log {alters}; "
        "END IF; END $$"
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
