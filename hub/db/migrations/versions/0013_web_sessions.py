"""the web application: sessions, OpenID Connect logins under way, case visits

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 15:00:00.000000

Server-side sessions of the web application (ADR 0015): a row per logged-in browser, found
by the SHA-256 of the cookie's token, with its CSRF token and its idle and absolute ends;
a row per OpenID Connect login between the redirect and the callback (state, nonce, PKCE
verifier); and per person and case the time of the last visit, so the case page can mark
what is new. Nothing to backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(
        op.f("ix_web_sessions_expires_at"), "web_sessions", ["expires_at"], unique=False
    )
    op.create_table(
        "web_pending_logins",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("created_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_pending_logins")),
    )
    op.create_index(
        op.f("ix_web_pending_logins_created_at"),
        "web_pending_logins",
        ["created_at"],
        unique=False,
    )
    op.create_table(
        "web_case_visits",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("seen_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previous_seen_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_web_case_visits_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner", "user", "case_id", name=op.f("pk_web_case_visits")),
    )


def downgrade() -> None:
    op.drop_table("web_case_visits")
    op.drop_index(op.f("ix_web_pending_logins_created_at"), table_name="web_pending_logins")
    op.drop_table("web_pending_logins")
    op.drop_index(op.f("ix_web_sessions_expires_at"), table_name="web_sessions")
    op.drop_table("web_sessions")
