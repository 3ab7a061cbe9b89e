"""policy governance: approvals bound to a diff digest, the protected test suite, diff digests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00.000000

Approvals given before this revision carry no diff digest and no base version; they no longer
count towards activating a version (ADR 0103: an approval binds to the diff it was given on).
The protected test suite is filled by `vhhub init` (hub.policy_review.shipped), not here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checks", sa.JSON(), nullable=True))
    with op.batch_alter_table("policy_approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("diff_digest", sa.String(length=64), nullable=True))

    op.create_table(
        "policy_diff_digests",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("old_version", sa.String(length=64), nullable=False),
        sa.Column("new_version", sa.String(length=64), nullable=False),
        sa.Column("exhaustive", sa.Boolean(), nullable=False),
        sa.Column("computed_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_policy_diff_digests")),
    )
    with op.batch_alter_table("policy_diff_digests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_diff_digests_pair", ["old_version", "new_version"], unique=False
        )

    op.create_table(
        "policy_test_suites",
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("bundle", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("loaded_by_partner", sa.String(length=64), nullable=True),
        sa.Column("loaded_by_user", sa.String(length=64), nullable=True),
        sa.Column("loaded_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("suite", name=op.f("pk_policy_test_suites")),
    )
    with op.batch_alter_table("policy_test_suites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_test_suites_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_policy_test_suites_one_active",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "policy_test_suite_approvals",
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("approver_partner", sa.String(length=64), nullable=False),
        sa.Column("approver_user", sa.String(length=64), nullable=False),
        sa.Column("approved_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("base_suite", sa.String(length=64), nullable=False),
        sa.Column("diff_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["suite"],
            ["policy_test_suites.suite"],
            name=op.f("fk_policy_test_suite_approvals_suite_policy_test_suites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "suite",
            "approver_partner",
            "approver_user",
            name=op.f("pk_policy_test_suite_approvals"),
        ),
    )


def downgrade() -> None:
    op.drop_table("policy_test_suite_approvals")
    with op.batch_alter_table("policy_test_suites", schema=None) as batch_op:
        batch_op.drop_index("uq_policy_test_suites_one_active")
        batch_op.drop_index(batch_op.f("ix_policy_test_suites_status"))
    op.drop_table("policy_test_suites")
    with op.batch_alter_table("policy_diff_digests", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_diff_digests_pair")
    op.drop_table("policy_diff_digests")
    with op.batch_alter_table("policy_approvals", schema=None) as batch_op:
        batch_op.drop_column("diff_digest")
        batch_op.drop_column("base_version")
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_column("checks")
