"""witnesses and log keys

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 01:00:00.000000

Issue 21 items 3-5 (ADR 0406): partners' witness keys, the cosignatures they return on
checkpoints, and the log's signed key lists (one per rotation of the checkpoint key).
Nothing to backfill: a log never rotated has no list, and its key is the pinned one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "witness_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("vkey", sa.String(length=400), nullable=False),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rotation", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_keys")),
        sa.UniqueConstraint("vkey", name=op.f("uq_witness_keys_vkey")),
    )
    op.create_index("ix_witness_keys_partner", "witness_keys", ["partner"])
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness_key_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tree_size"],
            ["checkpoints.tree_size"],
            name=op.f("fk_checkpoint_cosignatures_tree_size_checkpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["witness_key_id"],
            ["witness_keys.id"],
            name=op.f("fk_checkpoint_cosignatures_witness_key_id_witness_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tree_size", "witness_key_id", name=op.f("pk_checkpoint_cosignatures")
        ),
    )
    op.create_table(
        "log_key_lists",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_log_key_lists")),
    )


def downgrade() -> None:
    op.drop_table("log_key_lists")
    op.drop_table("checkpoint_cosignatures")
    op.drop_index("ix_witness_keys_partner", table_name="witness_keys")
    op.drop_table("witness_keys")
