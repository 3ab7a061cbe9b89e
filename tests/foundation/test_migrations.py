"""The schema the code expects is exactly the schema the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from hub.db.migrate import current_revision, head_revision, upgrade_to_head
from hub.models import Base

EXPECTED_TABLES = {
    "partners",
    "partner_kind_roles",
    "network_tables",
    "table_memberships",
    "used_tokens",
    "cases",
    "subjects",
    "subject_index",
    "participants",
    "agenda_items",
    "facts",
    "case_keys",
    "plan_versions",
    "access_log",
    "access_log_subjects",
    "access_log_head",
    "checkpoints",
    "policy_versions",
    "policy_approvals",
}


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()


def test_migrations_create_every_table_and_stop_at_head(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
        assert current_revision(engine) == head_revision()
        upgrade_to_head(db_url)  # a second upgrade is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
