"""A case in preparation with facts from two partners, built over real HTTP, and helpers to
look at the raw database beside the API (as an attacker with a copy of it would).

Shared by tests/disclosure, tests/retention and tests/facts/test_raw_storage.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from hub.audit.entry import AccessLogEntry, entry_leaf_hash
from hub.audit.merkle import CompactRange
from hub.settings import PROJECT_ROOT, Settings
from tests.support import As, ok

EXAMPLES = PROJECT_ROOT / "schemas" / "examples"


def example(name: str) -> dict[str, Any]:
    content: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return copy.deepcopy(content)


def bsn_is_valid(bsn: str) -> bool:
    """The 11-proef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11."""
    digits = [int(c) for c in bsn]
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8], strict=True)) - digits[8]
    return len(bsn) == 9 and total % 11 == 0


@dataclass
class World:
    """Who acts, and the case they share."""

    http: httpx.Client
    settings: Settings
    case_id: str
    subject_id: str
    police: As
    housing: As
    zvh: As
    facts: dict[str, str] = field(default_factory=dict)  # label -> fact id

    def publish(
        self,
        who: As,
        label: str,
        fact_type: str,
        content: dict[str, Any],
        legal_basis: str,
    ) -> str:
        body = {
            "idempotency_key": label,
            "type": fact_type,
            "subject_id": self.subject_id,
            "legal_basis": legal_basis,
            "content": content,
        }
        out = ok(who.post(f"/api/v1/cases/{self.case_id}/facts", json=body), 201)
        fact_id: str = out["facts"][0]["id"]
        self.facts[label] = fact_id
        return fact_id

    def publish_incident(self, label: str, **changes: Any) -> str:
        content = example("police.incident.1") | changes
        return self.publish(self.police, label, "police.incident/1", content, "wpg_art_19")

    def publish_arrears(self, label: str, **changes: Any) -> str:
        content = example("housing.rent_arrears.1") | changes
        return self.publish(self.housing, label, "housing.rent_arrears/1", content, "avg_6_1_e")

    def briefing(self, who: As) -> httpx.Response:
        return who.get(f"/api/v1/cases/{self.case_id}/briefing")

    def close(self, outcome: str = "handed_back") -> None:
        ok(self.zvh.post(f"/api/v1/cases/{self.case_id}/closure", json={"outcome": outcome}))


def case_in_preparation(
    http: httpx.Client,
    settings: Settings,
    *,
    reason: str = "Overlast en schulden",
    subject: dict[str, Any] | None = None,
) -> World:
    """Register, take, screen, triage onto multi_problem, invite, move to preparation."""
    police = As(http, settings, "politie", "agent-1", ["publisher", "participant"], "intake")
    zvh = As(http, settings, "zvh", "pr-1", ["procesregisseur"], "intake")
    subject = subject or {"role_in_case": "parent", "bsn": "123456782"}
    case = ok(
        police.post(
            "/api/v1/cases",
            json={
                "kind": "family",
                "proposed_table": "multi_problem",
                "reason": reason,
                "subjects": [subject],
            },
        ),
        201,
    )
    cid = case["id"]
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
    zvh = zvh.with_purpose("screening")
    ok(zvh.post(f"/api/v1/cases/{cid}/screenings", json={}))
    criteria = {
        "multiple_life_domains": True,
        "criminal_or_nuisance_behaviour": True,
        "multiple_chains_needed": True,
        "impact_on_system_or_environment": True,
    }
    ok(zvh.post(f"/api/v1/cases/{cid}/triage", json={"criteria": criteria, "decision": "accept"}))
    for partner in ("woningcorporatie", "gemeente-wi", "om"):
        ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": partner}))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))
    housing = As(
        http, settings, "woningcorporatie", "w-1", ["publisher", "participant"], "preparation"
    )
    return World(
        http=http,
        settings=settings,
        case_id=cid,
        subject_id=case["subjects"][0]["id"],
        police=police.with_purpose("preparation"),
        housing=housing,
        zvh=zvh.with_purpose("preparation"),
    )


def released(briefing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """fact id -> released fields, the content part of a briefing (no log position)."""
    return {
        fact["id"]: fact["fields"] for section in briefing["domains"] for fact in section["facts"]
    }


# -- the raw database --------------------------------------------------------------------------


@contextmanager
def raw_engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(settings.effective_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def scalar(settings: Settings, sql: str, **params: Any) -> Any:
    with raw_engine(settings) as engine, engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(settings: Settings, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with raw_engine(settings) as engine, engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def execute(settings: Settings, sql: str, **params: Any) -> None:
    with raw_engine(settings) as engine, engine.begin() as conn:
        conn.execute(text(sql), params)


def log_actions(settings: Settings, since: int = 0) -> list[tuple[Any, ...]]:
    """(seq, action, outcome, case_id, object_ids, reason) of the log from `since` on."""
    out = []
    for seq, action, outcome, case_id, object_ids, reason in rows(
        settings,
        "SELECT seq, action, outcome, case_id, object_ids, reason FROM access_log "
        "WHERE seq >= :since ORDER BY seq",
        since=since,
    ):
        ids = json.loads(object_ids) if isinstance(object_ids, str) else object_ids
        out.append((seq, action, outcome, case_id, ids, reason))
    return out


def log_size(settings: Settings) -> int:
    return int(scalar(settings, "SELECT size FROM access_log_head WHERE id = 1"))


_LOG_JSON = ("actor_roles", "subject_pseudonyms", "object_ids", "disclosed", "fact_subjects")


def log_snapshot(settings: Settings) -> list[dict[str, Any]]:
    """Every access-log row exactly as stored (JSON columns parsed, bytes as bytes)."""
    with raw_engine(settings) as engine, engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM access_log ORDER BY seq"))
        snapshot = [dict(row) for row in result.mappings()]
    for row in snapshot:
        for name in _LOG_JSON:
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        row["leaf_hash"] = bytes(row["leaf_hash"])
    return snapshot


def assert_log_verifies(settings: Settings) -> None:
    """Recompute every leaf from its row, the tree root from the leaves, and each checkpoint's
    root from its prefix; compare with what is stored -- without the audit package's verifier.
    """
    leaves = []
    for row in log_snapshot(settings):
        entry = AccessLogEntry(
            seq=row["seq"],
            time_us=row["time_us"],
            action=row["action"],
            outcome=row["outcome"],
            actor_partner=row["actor_partner"],
            actor_partner_kind=row["actor_partner_kind"],
            actor_user=row["actor_user"],
            actor_roles=tuple(row["actor_roles"]),
            purpose=row["purpose"],
            case_id=row["case_id"],
            subject_pseudonyms=tuple(row["subject_pseudonyms"]),
            object_ids=tuple(row["object_ids"]),
            disclosed={k: tuple(v) for k, v in row["disclosed"].items()},
            reason=row["reason"],
            policy_version=row["policy_version"],
            request_id=row["request_id"],
            source=row["source"],
            fact_subjects={k: tuple(v) for k, v in row["fact_subjects"].items()},
        )
        assert entry_leaf_hash(entry) == row["leaf_hash"], f"leaf {row['seq']} != its row"
        leaves.append(row["leaf_hash"])
    size, frontier = rows(settings, "SELECT size, frontier FROM access_log_head WHERE id = 1")[0]
    frontier = json.loads(frontier) if isinstance(frontier, str) else frontier
    assert size == len(leaves)
    stored_root = CompactRange.from_hex(size, frontier).root()
    assert CompactRange.from_leaf_hashes(leaves).root() == stored_root
    for tree_size, root_hash in rows(settings, "SELECT tree_size, root_hash FROM checkpoints"):
        assert CompactRange.from_leaf_hashes(leaves[:tree_size]).root() == bytes(root_hash)


def data_files(settings: Settings) -> list[Path]:
    """SQLite: the database file and its WAL (what a stolen disk or backup holds)."""
    db = Path(settings.effective_database_url.removeprefix("sqlite+pysqlite:///"))
    return [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]
