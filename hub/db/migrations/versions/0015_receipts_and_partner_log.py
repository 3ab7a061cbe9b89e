"""publish receipts and each partner's own access log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 22:00:00.000000

Issue 20 (ADR 0405): the signed receipt of each published fact, kept to answer a retry
with the same receipt (no salt, no content); the side index of which access-log entries
concern which partner (as actor or as the source of a fact the entry names), with the size
up to which it has read the log (0: the hub indexes older entries on the first query); and
the trace context of an entry's request beyond the leaf (the caller's span, the FSC
transaction id). Nothing to backfill: the index fills itself from the log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fact_receipts",
        sa.Column("fact_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fact_id"],
            ["facts.id"],
            name=op.f("fk_fact_receipts_fact_id_facts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fact_id", name=op.f("pk_fact_receipts")),
    )
    op.create_table(
        "partner_log_links",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"],
            ["access_log.seq"],
            name=op.f("fk_partner_log_links_seq_access_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner", "seq", name=op.f("pk_partner_log_links")),
    )
    state = op.create_table(
        "partner_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("indexed_size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_log_state")),
    )
    op.bulk_insert(state, [{"id": 1, "indexed_size": 0}])
    op.create_table(
        "access_log_traces",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("span_id", sa.String(length=16), nullable=True),
        sa.Column("parent_span_id", sa.String(length=16), nullable=True),
        sa.Column("fsc_transaction_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["seq"],
            ["access_log.seq"],
            name=op.f("fk_access_log_traces_seq_access_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log_traces")),
    )


def downgrade() -> None:
    op.drop_table("access_log_traces")
    op.drop_table("partner_log_state")
    op.drop_table("partner_log_links")
    op.drop_table("fact_receipts")
