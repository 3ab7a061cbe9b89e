"""triage urgency and due dates, the phase history, coordination with other houses and chains

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 14:00:00.000000

`cases` gains the triage's urgency (red/amber/green), review date and due dates of the next
steps, and when triage decided (`triaged_at`). `case_phase_history` records when a case
entered each phase and which partner moved it there; `case_coordination` who coordinates a
case with another house or chain, and whether that is done. Issue 16 items 6 and 7, ADR 0014.

Backfill: every existing case gets one history row for intake at its `registered_at`, by its
registering partner. Nothing else is backfilled: when earlier phases were entered was never
recorded, and `closed_at` alone does not say which phase a case left from. Lead times of
cases registered before this revision are therefore missing from the statistics (each lead
time counts only cases whose history has both ends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CASE_COLUMNS = (
    ("urgency", sa.String(length=8)),
    ("review_on", sa.Date()),
    ("preparation_due", sa.Date()),
    ("case_conference_due", sa.Date()),
    ("triaged_at", hub.db.base.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    for name, type_ in _CASE_COLUMNS:
        op.add_column("cases", sa.Column(name, type_, nullable=True))
    op.create_table(
        "case_phase_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("entered_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by_partner", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_phase_history_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_phase_history")),
    )
    op.create_index(
        op.f("ix_case_phase_history_case_id"), "case_phase_history", ["case_id"], unique=False
    )
    op.create_table(
        "case_coordination",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("counterpart", sa.String(length=32), nullable=False),
        sa.Column("regievoerder_partner", sa.String(length=64), nullable=False),
        sa.Column("regievoerder_user", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_partner", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_user", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_coordination_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_coordination")),
        sa.UniqueConstraint(
            "case_id", "counterpart", name=op.f("uq_case_coordination_case_id_counterpart")
        ),
    )
    op.create_index(
        op.f("ix_case_coordination_case_id"), "case_coordination", ["case_id"], unique=False
    )
    # the one phase entry every case has a date for: intake, at registration
    op.execute(
        "INSERT INTO case_phase_history (case_id, phase, entered_at, entered_by_partner) "
        "SELECT id, 'intake', registered_at, registered_by_partner FROM cases"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_coordination_case_id"), table_name="case_coordination")
    op.drop_table("case_coordination")
    op.drop_index(op.f("ix_case_phase_history_case_id"), table_name="case_phase_history")
    op.drop_table("case_phase_history")
    with op.batch_alter_table("cases") as batch:
        for name, _ in reversed(_CASE_COLUMNS):
            batch.drop_column(name)
