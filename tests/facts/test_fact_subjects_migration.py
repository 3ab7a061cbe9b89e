"""Migration 0006: facts published before it keep the subject they named, as a link; log
entries written before it read back exactly as they were written (format v1, same leaf)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from hub.audit.entry import entry_from_json, entry_leaf_hash
from hub.db.migrate import alembic_config, current_revision, head_revision
from hub.db.session import sqlite_url

NOW = "2026-11-20 10:00:00+00:00"
ENTRY = {
    "seq": 0,
    "time_us": 1_764_000_000_000_000,
    "actor_partner": "politie",
    "actor_partner_kind": "police",
    "actor_user": "u-1",
    "actor_roles": ["publisher"],
    "action": "fact.publish",
    "purpose": "preparation",
    "case_id": "c-1",
    "subject_pseudonyms": ["9f86d081884c7d65"],
    "object_ids": ["f-1", "f-2"],
    "disclosed": {},
    "outcome": "allowed",
    "reason": None,
    "policy_version": None,
    "request_id": None,
    "source": None,
}


def _insert(conn: object, sql: str, **params: object) -> None:
    conn.execute(text(sql), params)  # type: ignore[attr-defined]


def test_0006_links_existing_facts_to_their_subject_and_keeps_old_entries(
    tmp_path: Path,
) -> None:
    """(SQLite file: downgrading a shared server database would pull the schema from under
    other tests.)"""
    url = sqlite_url(tmp_path / "old.db")
    config = alembic_config(url)
    command.upgrade(config, "0006-1")  # the revision before 0006
    engine = create_engine(url)
    leaf = entry_leaf_hash(entry_from_json(ENTRY))
    try:
        with engine.begin() as conn:
            _insert(
                conn,
                "INSERT INTO partners (id, name, kind, key_partner, key_source, active, "
                "registered_at) VALUES ('politie', 'Politie', 'police', 1, 'dev', 1, :t)",
                t=NOW,
            )
            _insert(
                conn,
                "INSERT INTO cases (id, kind, proposed_table, phase, status, "
                "registered_by_partner, registered_by_user, registered_at, updated_at, "
                "legal_hold) VALUES ('c-1', 'family', 'multi_problem', 'preparation', 'open', "
                "'politie', 'u-1', :t, :t, 0)",
                t=NOW,
            )
            _insert(
                conn,
                "INSERT INTO subjects (id, case_id, role_in_case, created_at) "
                "VALUES ('s-1', 'c-1', 'parent', :t)",
                t=NOW,
            )
            for fact_id, subject in (("f-1", "'s-1'"), ("f-2", "NULL")):
                _insert(
                    conn,
                    "INSERT INTO facts (id, case_id, subject_id, fact_type, life_domain, "
                    "sensitivity, legal_basis, shareable, publisher_partner, publisher_kind, "
                    "publisher_user, idempotency_key, lineage_id, version, status, "
                    f"published_at, change_seq) VALUES (:id, 'c-1', {subject}, "
                    "'police.nuisance_report/1', 'safety', 'ordinary', 'wpg_art_19', 0, "
                    "'politie', 'police', 'u-1', :id, :id, 1, 'current', :t, 0)",
                    id=fact_id,
                    t=NOW,
                )
            _insert(
                conn,
                "INSERT INTO access_log (seq, time_us, actor_partner, actor_partner_kind, "
                "actor_user, actor_roles, action, purpose, case_id, subject_pseudonyms, "
                "object_ids, disclosed, outcome, leaf_hash) VALUES (0, :time_us, 'politie', "
                "'police', 'u-1', '[\"publisher\"]', 'fact.publish', 'preparation', 'c-1', "
                "'[\"9f86d081884c7d65\"]', '[\"f-1\",\"f-2\"]', '{}', 'allowed', :h)",
                time_us=ENTRY["time_us"],
                h=leaf,
            )

        command.upgrade(config, "head")
        with engine.connect() as conn:
            # the fact about one subject is linked to it; the fact of the whole case is not
            links = conn.execute(text("SELECT fact_id, subject_id FROM fact_subjects")).all()
            assert [tuple(r) for r in links] == [("f-1", "s-1")]
            # the old entry has no fact_subjects and still hashes to its stored leaf (v1)
            stored = conn.execute(text("SELECT fact_subjects, leaf_hash FROM access_log")).one()
            assert stored[0] in ("{}", {})
            assert bytes(stored[1]) == leaf

        command.downgrade(config, "0006-1")
        assert "fact_subjects" not in inspect(engine).get_table_names()
        assert "fact_subjects" not in {c["name"] for c in inspect(engine).get_columns("access_log")}
        command.upgrade(config, "head")
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
