"""the session a login under way replaces

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 00:10:00.000000

ADR 0015: every login ends the session the browser had. The OpenID Connect callback is a
cross-site redirect from the identity provider, so the SameSite=Strict session cookie is not
sent with it; the login's start (same-site) now keeps the id of the browser's session with
the login under way, and the callback ends that one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("web_pending_logins", sa.Column("replaces", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_pending_logins") as batch:
        batch.drop_column("replaces")
