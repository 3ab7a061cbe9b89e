"""interventions have a clear index (owner, named professional, deadline, status)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:00:00.000000

`intervention_index` holds, per intervention of a case's current plan, what a caseload and the
closing check need without opening the sealed plan: owner partner and user, deadline and
status (no text). Filled from the next plan version or status report of each case: plans
recorded before this revision are indexed when their casusregisseur records a new version
(until then their caseload shows no interventions). ADR 0011.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intervention_index",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("intervention_id", sa.String(length=32), nullable=False),
        sa.Column("owner_partner", sa.String(length=64), nullable=False),
        sa.Column("owner_user", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_intervention_index_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "intervention_id", name=op.f("pk_intervention_index")),
    )
    op.create_index(
        op.f("ix_intervention_index_owner_partner"),
        "intervention_index",
        ["owner_partner"],
        unique=False,
    )
    op.create_index(
        op.f("ix_intervention_index_deadline"), "intervention_index", ["deadline"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_intervention_index_deadline"), table_name="intervention_index")
    op.drop_index(op.f("ix_intervention_index_owner_partner"), table_name="intervention_index")
    op.drop_table("intervention_index")
