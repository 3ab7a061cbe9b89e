"""Migration 0005 on a database with approvals from before it: they are kept as history, carry
no diff digest and no base version, and so never count again (ADR 0103). Downgrading and
upgrading again works. (SQLite file: downgrading a shared server database would pull the
schema from under other tests.)"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from hub.db.migrate import alembic_config, current_revision, head_revision
from hub.db.session import sqlite_url
from hub.identity.registry import load_registry
from hub.policy_review.governance import counted_partners
from hub.settings import PROJECT_ROOT

VERSION = "ab" * 32


def test_0005_keeps_old_approvals_which_no_longer_count_and_downgrades(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_versions (version, files, status, loaded_at) "
                    "VALUES (:v, '[]', 'inactive', '2026-11-25 10:00:00.000000')"
                ),
                {"v": VERSION},
            )
            for partner in ("politie", "ggz"):
                conn.execute(
                    text(
                        "INSERT INTO policy_approvals (version, approver_partner, approver_user, "
                        "approved_at) VALUES (:v, :p, 'fg', '2026-11-25 11:00:00.000000')"
                    ),
                    {"v": VERSION, "p": partner},
                )
        command.upgrade(config, "0005")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT approver_partner, base_version, diff_digest FROM policy_approvals")
            ).all()
        assert sorted(rows) == [("ggz", None, None), ("politie", None, None)]
        registry = load_registry(PROJECT_ROOT / "network" / "demo.toml")
        # two key partners' approvals, but on no diff: they count for no active version
        assert (
            counted_partners(
                [(p, b) for p, b, _ in rows],
                base="cd" * 32,
                loader_partner=None,
                registry=registry,
            )
            == ()
        )
        tables = set(inspect(engine).get_table_names())
        assert {"policy_test_suites", "policy_test_suite_approvals", "policy_diff_digests"} <= (
            tables
        )
        command.downgrade(config, "0004")
        assert "policy_test_suites" not in set(inspect(engine).get_table_names())
        assert "base_version" not in {
            c["name"] for c in inspect(engine).get_columns("policy_approvals")
        }
        command.upgrade(config, "head")
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
