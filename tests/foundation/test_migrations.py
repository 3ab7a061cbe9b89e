"""The schema the code expects is exactly the schema the migrations build."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from hub.db.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from hub.db.session import sqlite_url
from hub.models import Base

EXPECTED_TABLES = {
    "fact_receipts",
    "partner_log_links",
    "partner_log_state",
    "access_log_traces",
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
    "meetings",
    "meeting_items",
    "meeting_invitees",
    "meeting_minutes",
    "case_phase_history",
    "case_coordination",
    "facts",
    "case_keys",
    "plan_versions",
    "access_log",
    "access_log_subjects",
    "access_log_head",
    "checkpoints",
    "policy_versions",
    "policy_approvals",
    "web_sessions",
    "web_pending_logins",
    "web_case_visits",
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


def test_the_head_a_serving_hub_expects_is_alembics_head(db_url: str) -> None:
    """A serving hub reads where the database stands without alembic (ADR 0020); a new
    migration that does not move `HEAD_REVISION` fails here, and so does a reading that
    disagrees with alembic's own."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            assert current_revision(engine) == (
                MigrationContext.configure(connection).get_current_revision()
            )
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


def test_0004_carries_the_newest_entry_time_into_the_head_and_downgrades(tmp_path: Path) -> None:
    """An existing log keeps its entries; the head learns the newest entry's time so the
    next entry is never earlier. (SQLite file: downgrading a shared server database would
    pull the schema from under other tests.)"""
    url = sqlite_url(tmp_path / "old.db")
    config = alembic_config(url)
    command.upgrade(config, "0003")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for seq, time_us in enumerate((1_764_000_000_000_000, 1_764_000_000_500_000)):
                conn.execute(
                    text(
                        "INSERT INTO access_log (seq, time_us, actor_roles, action, "
                        "subject_pseudonyms, object_ids, disclosed, outcome, leaf_hash) "
                        "VALUES (:seq, :t, '[]', 'case.read', '[]', '[]', '{}', 'allowed', :h)"
                    ),
                    {"seq": seq, "t": time_us, "h": bytes(32)},
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT time_us FROM access_log_head")).scalar_one() == (
                1_764_000_000_500_000
            )
            assert conn.execute(text("SELECT count(*) FROM access_log")).scalar_one() == 2
        command.downgrade(config, "0003")
        assert "time_us" not in {c["name"] for c in inspect(engine).get_columns("access_log_head")}
        command.upgrade(config, "head")
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_0012_backfills_the_intake_of_every_case_and_downgrades(tmp_path: Path) -> None:
    """Migration 0012 (ADR 0014): every existing case gets its intake row in the phase
    history, from its registration; nothing else is backfilled."""
    url = sqlite_url(tmp_path / "backfill.db")
    config = alembic_config(url)
    command.upgrade(config, "0011")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO partners (id, name, kind, key_partner, key_source, active, "
                    "registered_at) VALUES ('politie', 'P', 'police', 1, 'dev', 1, "
                    "'2026-01-02 10:00:00.000000')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, kind, proposed_table, phase, status, "
                    "registered_by_partner, registered_by_user, registered_at, updated_at, "
                    "legal_hold) VALUES ('c-1', 'person', 'adults', 'plan', 'open', 'politie', "
                    "'u', '2026-03-04 10:00:00.000000', '2026-03-04 10:00:00.000000', 0)"
                )
            )
        command.upgrade(config, "0012")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT case_id, phase, entered_by_partner FROM case_phase_history")
            ).all()
        assert [tuple(r) for r in rows] == [("c-1", "intake", "politie")]
        command.downgrade(config, "0011")
        assert "case_phase_history" not in inspect(engine).get_table_names()
        assert "urgency" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    finally:
        engine.dispose()


def test_0018_gives_the_head_the_newest_key_list_version_and_downgrades(tmp_path: Path) -> None:
    """A log rotated before migration 0018 keeps signing with the key its newest list names:
    the head learns that list's version (ADR 0020, section 18); a log never rotated gets 0."""
    url = sqlite_url(tmp_path / "rotated.db")
    config = alembic_config(url)
    command.upgrade(config, "0017")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for version in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO log_key_lists (version, note, created_at) "
                        "VALUES (:v, 'list', '2026-12-01 10:00:00.000000')"
                    ),
                    {"v": version},
                )
        command.upgrade(config, "0018")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT key_version FROM access_log_head")).scalar_one() == 2
            conn.execute(text("DELETE FROM log_key_lists"))
            conn.commit()
        command.downgrade(config, "0017")
        cols = {c["name"] for c in inspect(engine).get_columns("access_log_head")}
        assert "key_version" not in cols
        command.upgrade(config, "0018")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT key_version FROM access_log_head")).scalar_one() == 0
    finally:
        engine.dispose()


def test_0019_compresses_the_access_logs_lists_with_lz4_where_postgresql_has_it(
    db_url: str,
) -> None:
    """A briefing's entry holds tens of kilobytes of JSON: stored with lz4 rather than pglz
    where the server offers it (ADR 0020, section 18); elsewhere the migration changes nothing."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            if (
                engine.dialect.name != "postgresql"
                or not conn.execute(
                    text(
                        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                        "WHERE name = 'default_toast_compression'"
                    )
                ).scalar()
            ):
                pytest.skip("lz4 is PostgreSQL's, and only where the server was built with it")
            methods = {
                name: method
                for name, method in conn.execute(
                    text(
                        "SELECT attname, attcompression FROM pg_attribute "
                        "WHERE attrelid = 'access_log'::regclass AND attnum > 0"
                    )
                )
            }
        lists = ("subject_pseudonyms", "object_ids", "disclosed", "fact_subjects")
        assert {c: methods[c] for c in lists} == dict.fromkeys(lists, "l")
        assert methods["action"] != "l"  # short columns keep the server's default
    finally:
        engine.dispose()
