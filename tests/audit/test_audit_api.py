"""The auditor's API over real HTTP: every filter pages through exactly the matching entries,
proofs verify against signed checkpoints with only the public key, exports come as JSON Lines
and CSV, the auditor's own queries are logged, nobody else gets in (and that is logged too),
no answer ever holds fact content or a person's identifiers, and the data-subject access
report says who published and who saw which kinds of information, each line provable.

Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import AccessLogEntry, entry_leaf_hash, utc_micros, utc_moment
from hub.audit.merkle import verify_consistency, verify_inclusion
from hub.audit.schemas import EntryOut
from hub.audit.verify import verify_export
from hub.cases.intake import subject_pseudonyms
from hub.cases.schemas import SubjectIn
from hub.context import HubContext
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import (
    World,
    case_in_preparation,
    log_size,
    log_snapshot,
    rows,
)
from tests.support import As, ok

pytestmark = pytest.mark.e2e

BSN = "123456782"
NAME = "Pieter Markerjansen"
BIRTH_DATE = "1983-04-05"
OTHER_BSN = "111222333"
#: Fact content and a registration reason that must never come back from the audit API.
MARKER_DESCRIPTION = "MARKERDESC-7f3a ruzie op de galerij"
MARKER_AREA = "MARKERAREA-91c2"
MARKER_TEAM = "MARKERTEAM-5b0e"
MARKER_REFERENCE = "MARKERREF-c4d1"
MARKER_REASON = "MARKERREASON-2e9f"
SECRETS = (
    MARKER_DESCRIPTION,
    "MARKERDESC",
    MARKER_AREA,
    MARKER_TEAM,
    MARKER_REFERENCE,
    MARKER_REASON,
    BSN,
    OTHER_BSN,
    NAME,
    "Markerjansen",
    BIRTH_DATE,
)
INCIDENT = "police.incident/1"
ARREARS = "housing.rent_arrears/1"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Checkpoints every 8 entries, so the scene spans several signed checkpoints."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url, checkpoint_every=8)


@dataclass
class Scene:
    """Two cases worked on by several partners, and an auditor whose answers are recorded."""

    settings: Settings
    world: World
    other: World
    auditor: As
    verifier_key: str
    #: (method and path, body) of every answer the audit API gave in this test
    answers: list[tuple[str, str]] = field(default_factory=list)

    def as_(self, partner: str, user: str, roles: list[str], purpose: str) -> As:
        return As(self.auditor.http, self.settings, partner, user, roles, purpose)

    @property
    def fact_types(self) -> dict[str, str]:
        return {
            self.world.facts["i1"]: INCIDENT,
            self.world.facts["a1"]: ARREARS,
            self.other.facts["a2"]: ARREARS,
        }


@pytest.fixture
def scene(hub: RunningHub, initialised: Settings) -> Iterator[Scene]:
    with hub.client() as http:
        world = case_in_preparation(
            http,
            initialised,
            reason=f"Overlast en schulden ({MARKER_REASON})",
            subject={
                "role_in_case": "parent",
                "bsn": BSN,
                "name": NAME,
                "date_of_birth": BIRTH_DATE,
            },
        )
        world.publish_incident("i1", description=MARKER_DESCRIPTION, area=MARKER_AREA)
        world.publish_arrears(
            "a1",
            tenancy_reference=MARKER_REFERENCE,
            housing_contact={"role": "medewerker incasso", "team": MARKER_TEAM},
        )
        # the markers are live content: the publisher sees its own fact in full
        assert MARKER_DESCRIPTION in json.dumps(ok(world.briefing(world.police)))
        ok(world.briefing(world.housing))
        ok(world.briefing(As(http, initialised, "om", "o-1", ["participant"], "preparation")))
        outsider = As(http, initialised, "ggz", "g-1", ["participant"], "preparation")
        assert world.briefing(outsider).status_code == 404  # logged as case.denied
        assert http.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
        other = case_in_preparation(
            http, initialised, subject={"role_in_case": "parent", "bsn": OTHER_BSN}
        )
        other.publish_arrears("a2")
        ok(other.briefing(other.housing))

    ctx = HubContext.open(initialised)
    verifier_key = ctx.log.signer.verifier_key  # obtained out of band, like `audit public-key`
    ctx.close()
    answers: list[tuple[str, str]] = []

    def record(response: httpx.Response) -> None:
        if response.request.url.path.startswith("/api/v1/audit/"):
            response.read()
            answers.append((f"{response.request.method} {response.request.url}", response.text))

    with httpx.Client(
        base_url=hub.base_url, timeout=30, event_hooks={"response": [record]}
    ) as audit_http:
        auditor = As(audit_http, initialised, "zvh", "aud-1", ["auditor"], "audit")
        yield Scene(initialised, world, other, auditor, verifier_key, answers)


# -- helpers --------------------------------------------------------------------------------------


def page_through(fetch: Callable[[int | None], httpx.Response]) -> list[dict[str, Any]]:
    """Follow next_cursor from the first page until None; pages hold at most 2 entries."""
    entries: list[dict[str, Any]] = []
    cursor: int | None = None
    for _ in range(1000):
        page = ok(fetch(cursor))
        assert 1 <= len(page["entries"]) <= 2 or (cursor is None and not page["entries"])
        entries.extend(page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            return entries
        assert len(page["entries"]) == 2
        assert cursor == page["entries"][-1]["seq"]
    raise AssertionError("pagination does not end")


def assert_exactly(
    paged: list[dict[str, Any]],
    expected: list[int],
    *,
    before: int,
    own: Callable[[dict[str, Any]], bool],
    what: str,
) -> None:
    """`paged` holds every expected seq below `before` once, in order, and nothing else --
    except the auditor's own query entries written while paging (`own`)."""
    seqs = [e["seq"] for e in paged]
    assert seqs == sorted(set(seqs)), f"{what}: duplicates or out of order"
    assert [s for s in seqs if s < before] == expected, f"{what}: gaps or extra entries"
    assert all(own(e) for e in paged if e["seq"] >= before), what
    assert expected, f"{what}: the scene should match some entries"


def is_own_query(entry: dict[str, Any]) -> bool:
    return bool(entry["action"] == "log.query" and entry["actor_user"] == "aud-1")


def leaf_of(entry: dict[str, Any]) -> bytes:
    """Recompute an answered entry's leaf hash from the answer alone (what an auditor can do)."""
    return entry_leaf_hash(
        AccessLogEntry(
            seq=entry["seq"],
            time_us=utc_micros(datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))),
            action=entry["action"],
            outcome=entry["outcome"],
            actor_partner=entry["actor_partner"],
            actor_partner_kind=entry["actor_partner_kind"],
            actor_user=entry["actor_user"],
            actor_roles=tuple(entry["actor_roles"]),
            purpose=entry["purpose"],
            case_id=entry["case_id"],
            subject_pseudonyms=tuple(entry["subject_pseudonyms"]),
            object_ids=tuple(entry["object_ids"]),
            disclosed={k: tuple(v) for k, v in entry["disclosed"].items()},
            reason=entry["reason"],
            policy_version=entry["policy_version"],
            request_id=entry["request_id"],
            source=entry["source"],
            fact_subjects={k: tuple(v) for k, v in entry["fact_subjects"].items()},
        )
    )


def iso(time_us: int) -> str:
    return utc_moment(time_us).isoformat()


def checkpoint_root(scene: Scene, note: str, tree_size: int) -> bytes:
    checkpoint = parse_and_verify_checkpoint(note, scene.verifier_key)
    assert checkpoint.tree_size == tree_size
    return checkpoint.root


# -- queries ---------------------------------------------------------------------------------------


def test_every_auditor_filter_pages_through_exactly_the_matching_entries(scene: Scene) -> None:
    log = log_snapshot(scene.settings)
    times = [row["time_us"] for row in log]
    since, until = times[len(log) // 4], times[3 * len(log) // 4]
    cid = scene.world.case_id
    filters: dict[str, tuple[dict[str, str], Callable[[dict[str, Any]], bool]]] = {
        "case": ({"case_id": cid}, lambda r: r["case_id"] == cid),
        "partner": (
            {"partner": "woningcorporatie"},
            lambda r: r["actor_partner"] == "woningcorporatie",
        ),
        "user": ({"user": "agent-1"}, lambda r: r["actor_user"] == "agent-1"),
        "action": ({"action": "briefing.read"}, lambda r: r["action"] == "briefing.read"),
        "outcome": ({"outcome": "denied"}, lambda r: r["outcome"] == "denied"),
        "purpose": ({"purpose": "preparation"}, lambda r: r["purpose"] == "preparation"),
        "time range": (
            {"since": iso(since), "until": iso(until)},
            lambda r: since <= r["time_us"] < until,
        ),
        "partner and action": (
            {"partner": "politie", "action": "fact.publish"},
            lambda r: r["actor_partner"] == "politie" and r["action"] == "fact.publish",
        ),
        "case and outcome": (
            {"case_id": cid, "outcome": "denied"},
            lambda r: r["case_id"] == cid and r["outcome"] == "denied",
        ),
    }
    for what, (params, matches) in filters.items():
        before = log_size(scene.settings)
        expected = [r["seq"] for r in log_snapshot(scene.settings) if matches(r)]

        def fetch(cursor: int | None, params: dict[str, str] = params) -> httpx.Response:
            query = params | {"limit": "2"}
            if cursor is not None:
                query["cursor"] = str(cursor)
            return scene.auditor.get("/api/v1/audit/entries", params=query)

        paged = page_through(fetch)
        assert_exactly(paged, expected, before=before, own=is_own_query, what=what)
        for entry in paged:
            assert bytes.fromhex(entry["leaf_hash"]) == leaf_of(entry), what


def test_a_subject_query_by_bsn_in_the_body_pages_through_that_persons_entries(
    scene: Scene,
) -> None:
    ctx = HubContext.open(scene.settings)
    try:
        subject = SubjectIn(role_in_case="subject", bsn=BSN)
        pseudonyms = set(subject_pseudonyms(ctx.keys.blind_indexer(), subject).values())
    finally:
        ctx.close()
    before = log_size(scene.settings)
    expected = [
        r["seq"] for r in log_snapshot(scene.settings) if pseudonyms & set(r["subject_pseudonyms"])
    ]

    def fetch(cursor: int | None) -> httpx.Response:
        return scene.auditor.post(
            "/api/v1/audit/subject-queries", json={"bsn": BSN, "limit": 2, "cursor": cursor}
        )

    paged = page_through(fetch)
    assert_exactly(paged, expected, before=before, own=is_own_query, what="subject")
    actions = {e["action"] for e in paged}
    assert {"case.register", "fact.publish", "briefing.read"} <= actions
    assert {e["case_id"] for e in paged if e["seq"] < before} == {scene.world.case_id}
    # the identifier travelled in the body only; the logged query names the pseudonym
    assert all(BSN not in url for url, _ in scene.answers)
    own = [e for e in log_snapshot(scene.settings) if e["seq"] >= before]
    assert own and all(is_own_query(e) and e["reason"] == "query by subject" for e in own)
    assert all(pseudonyms & set(e["subject_pseudonyms"]) for e in own)


# -- proofs ----------------------------------------------------------------------------------------


def test_inclusion_proofs_verify_against_the_signed_checkpoint_with_the_public_key(
    scene: Scene,
) -> None:
    entries = ok(scene.auditor.get("/api/v1/audit/entries", params={"limit": 1000}))["entries"]
    assert len(entries) > 20
    for entry in [*entries[:: max(1, len(entries) // 12)], entries[-1]]:
        seq = entry["seq"]
        proof = ok(scene.auditor.get(f"/api/v1/audit/entries/{seq}/inclusion-proof"))
        checkpoint = proof["checkpoint"]
        assert checkpoint["verifier_key"] == scene.verifier_key
        assert proof["tree_size"] == checkpoint["tree_size"] > seq
        root = checkpoint_root(scene, checkpoint["note"], proof["tree_size"])
        assert root.hex() == checkpoint["root_hash"]
        # the leaf is the entry the query answered, recomputed by the auditor
        assert proof["leaf_hash"] == entry["leaf_hash"] == leaf_of(entry).hex()
        verify_inclusion(
            seq,
            proof["tree_size"],
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(h) for h in proof["proof"]],
            root,
        )

    # against a named, larger checkpoint too
    latest = ok(scene.auditor.post("/api/v1/audit/checkpoints"))
    proof = ok(
        scene.auditor.get(
            "/api/v1/audit/entries/3/inclusion-proof",
            params={"tree_size": latest["tree_size"]},
        )
    )
    assert proof["tree_size"] == latest["tree_size"]
    verify_inclusion(
        3,
        latest["tree_size"],
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
        checkpoint_root(scene, latest["note"], latest["tree_size"]),
    )


def test_consistency_proofs_verify_between_signed_checkpoints(scene: Scene) -> None:
    old = ok(scene.auditor.get("/api/v1/audit/checkpoints/latest"))
    police = scene.as_("politie", "agent-1", ["publisher", "participant"], "preparation")
    for _ in range(3):
        ok(scene.world.briefing(police))
    new = ok(scene.auditor.post("/api/v1/audit/checkpoints"))
    assert new["tree_size"] > old["tree_size"]
    notes = [note for _, note in rows(scene.settings, SIGNED)]
    assert len(notes) >= 4
    # each checkpoint, verified with the public key alone, extends the one before it
    signed = [parse_and_verify_checkpoint(note, scene.verifier_key) for note in notes]
    pairs = [*pairwise(signed), (signed[0], signed[-1])]
    for older, newer in pairs:
        proof = ok(
            scene.auditor.get(
                "/api/v1/audit/consistency-proof",
                params={"from": older.tree_size, "to": newer.tree_size},
            )
        )
        assert (proof["old_size"], proof["new_size"]) == (older.tree_size, newer.tree_size)
        verify_consistency(
            older.tree_size,
            newer.tree_size,
            older.root,
            newer.root,
            [bytes.fromhex(h) for h in proof["proof"]],
        )
    assert (signed[-1].tree_size, signed[-1].root.hex()) == (new["tree_size"], new["root_hash"])
    assert any(c.tree_size == old["tree_size"] for c in signed)


SIGNED = "SELECT tree_size, note FROM checkpoints ORDER BY tree_size"


# -- exports ---------------------------------------------------------------------------------------


def test_query_results_export_as_json_lines_and_csv_and_the_full_log_verifies(
    scene: Scene,
) -> None:
    cid = scene.world.case_id
    before = log_size(scene.settings)
    expected = [r["seq"] for r in log_snapshot(scene.settings) if r["case_id"] == cid]

    jsonl = scene.auditor.get("/api/v1/audit/export", params={"format": "jsonl", "case_id": cid})
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    for line in lines:
        EntryOut.model_validate(line)
        assert line["case_id"] == cid
        assert bytes.fromhex(line["leaf_hash"]) == leaf_of(line)
    assert [e["seq"] for e in lines if e["seq"] < before] == expected
    # after those: only the export's own entry (it names the case it exported)
    assert [(e["action"], e["actor_user"]) for e in lines if e["seq"] >= before] == [
        ("log.export", "aud-1")
    ]

    response = scene.auditor.get("/api/v1/audit/export", params={"format": "csv", "case_id": cid})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert list(table[0]) == list(EntryOut.model_fields)
    assert [int(r["seq"]) for r in table if int(r["seq"]) < before] == expected
    assert all(r["case_id"] == cid for r in table)
    by_seq = {line["seq"]: line for line in lines}
    for row in table[: len(expected)]:
        line = by_seq[int(row["seq"])]
        assert json.loads(row["disclosed"]) == line["disclosed"]
        assert row["leaf_hash"] == line["leaf_hash"]

    verifiable = scene.auditor.get("/api/v1/audit/export")
    assert verifiable.status_code == 200
    report = verify_export(verifiable.text.splitlines(keepends=True), scene.verifier_key)
    assert report.ok, report.problem
    assert report.covered_size == report.entries_checked >= before


# -- the auditor is audited; nobody else gets in ---------------------------------------------------


REPORT_REASON = "data-subject access report (AVG art. 15)"


def test_the_auditors_own_queries_and_exports_are_logged(scene: Scene) -> None:
    start = log_size(scene.settings)
    cid = scene.world.case_id
    ok(scene.auditor.get("/api/v1/audit/entries", params={"case_id": cid}))
    ok(
        scene.auditor.get(
            "/api/v1/audit/entries", params={"partner": "om", "action": "fact.publish"}
        )
    )
    ok(scene.auditor.post("/api/v1/audit/subject-queries", json={"bsn": BSN}))
    ok(scene.auditor.get("/api/v1/audit/entries/2/inclusion-proof"))
    assert scene.auditor.get("/api/v1/audit/export", params={"format": "csv"}).status_code == 200
    assert scene.auditor.get("/api/v1/audit/export").status_code == 200
    report = scene.auditor.post("/api/v1/audit/subject-access-reports", json={"bsn": BSN})
    assert report.status_code == 200

    own = [
        (e["action"], e["outcome"], e["reason"], e["case_id"], e["purpose"])
        for e in log_snapshot(scene.settings)
        if e["seq"] >= start and e["actor_user"] == "aud-1"
    ]
    assert own == [
        ("log.query", "allowed", "query by case_id", cid, "audit"),
        ("log.query", "allowed", "query by partner, action", None, "audit"),
        ("log.query", "allowed", "query by subject", None, "audit"),
        ("log.query", "allowed", "inclusion proof of 2", None, "audit"),
        ("log.export", "allowed", "csv query by nothing (all entries)", None, "audit"),
        ("log.export", "allowed", "full verifiable export", None, "audit"),
        (
            "subject_access.report",
            "allowed",
            "data-subject access report (AVG art. 15)",
            None,
            "audit",
        ),
    ]
    # and the auditor can find them like any other act
    logged = ok(
        scene.auditor.get("/api/v1/audit/entries", params={"user": "aud-1", "action": "log.export"})
    )["entries"]
    assert [e["reason"] for e in logged] == [
        "csv query by nothing (all entries)",
        "full verifiable export",
    ]


AUDIT_CALLS: dict[str, Callable[[As], httpx.Response]] = {
    "query": lambda who: who.get("/api/v1/audit/entries"),
    "subject query": lambda who: who.post("/api/v1/audit/subject-queries", json={"bsn": BSN}),
    "inclusion proof": lambda who: who.get("/api/v1/audit/entries/1/inclusion-proof"),
    "consistency proof": lambda who: who.get(
        "/api/v1/audit/consistency-proof", params={"from": 1, "to": 2}
    ),
    "jsonl export": lambda who: who.get("/api/v1/audit/export", params={"format": "jsonl"}),
    "verifiable export": lambda who: who.get("/api/v1/audit/export"),
    "subject access report": lambda who: who.post(
        "/api/v1/audit/subject-access-reports", json={"bsn": BSN}
    ),
    "subject access report html": lambda who: who.post(
        "/api/v1/audit/subject-access-reports/html", json={"bsn": BSN}
    ),
    "sign checkpoint": lambda who: who.post("/api/v1/audit/checkpoints"),
    "entry with its checked proof": lambda who: who.get("/api/v1/audit/entries/1"),
    "status": lambda who: who.get("/api/v1/audit/status"),
    "recorded verification": lambda who: who.post("/api/v1/audit/verifications"),
    "subject access report pdf": lambda who: who.post(
        "/api/v1/audit/subject-access-reports/pdf", json={"bsn": BSN}
    ),
}


@pytest.mark.parametrize(
    ("partner", "user", "roles", "purpose"),
    [
        ("politie", "agent-1", ["publisher", "participant"], "audit"),
        ("zvh", "pr-1", ["procesregisseur"], "audit"),
        ("zvh", "aud-2", ["auditor"], "preparation"),
        ("zvh", "aud-3", ["auditor"], "policy_review"),
    ],
    ids=["participant", "procesregisseur", "auditor-for-preparation", "auditor-for-policy"],
)
def test_anyone_but_an_auditor_stating_an_audit_purpose_is_refused_and_that_is_logged(
    scene: Scene, partner: str, user: str, roles: list[str], purpose: str
) -> None:
    who = scene.as_(partner, user, roles, purpose)
    start = log_size(scene.settings)
    for what, call in AUDIT_CALLS.items():
        response = call(who)
        assert response.status_code == 403, f"{what}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json"), what
    refusals = [
        (e["action"], e["outcome"], e["actor_partner"], e["purpose"])
        for e in log_snapshot(scene.settings)
        if e["seq"] >= start
    ]
    assert len(refusals) == len(AUDIT_CALLS)
    assert all(r[1:] == ("denied", partner, purpose) for r in refusals), refusals
    assert {r[0] for r in refusals} == {"log.query", "log.export", "subject_access.report"}
    # and the auditor sees the refusals
    denied = ok(
        scene.auditor.get("/api/v1/audit/entries", params={"user": user, "outcome": "denied"})
    )["entries"]
    assert len(denied) == len(AUDIT_CALLS)


# -- no content, no identifiers --------------------------------------------------------------------


def test_no_fact_content_or_identifier_appears_in_any_audit_answer(scene: Scene) -> None:
    auditor, cid = scene.auditor, scene.world.case_id
    for params in (
        {},
        {"case_id": cid},
        {"partner": "politie"},
        {"action": "fact.publish"},
        {"action": "briefing.read"},
        {"action": "case.register"},
        {"outcome": "denied"},
    ):
        ok(auditor.get("/api/v1/audit/entries", params=params | {"limit": 1000}))
    for bsn in (BSN, OTHER_BSN):
        ok(auditor.post("/api/v1/audit/subject-queries", json={"bsn": bsn}))
    ok(
        auditor.post(
            "/api/v1/audit/subject-queries", json={"name": NAME, "date_of_birth": BIRTH_DATE}
        )
    )
    for fmt in ("verifiable", "jsonl", "csv"):
        assert auditor.get("/api/v1/audit/export", params={"format": fmt}).status_code == 200
    ok(auditor.get("/api/v1/audit/checkpoints/latest"))
    ok(auditor.get("/api/v1/audit/entries/5/inclusion-proof"))
    ok(auditor.get("/api/v1/audit/consistency-proof", params={"from": 2, "to": 9}))
    report = auditor.post("/api/v1/audit/subject-access-reports", json={"bsn": BSN})
    assert report.status_code == 200
    lines = [json.loads(line) for line in report.text.splitlines()]
    texts = [x["text"] for line in lines if line["type"] == "act" for x in line["lines"]]
    assert any("vastgelegd" in t for t in texts) and any("ingezien" in t for t in texts)
    html = auditor.post(
        "/api/v1/audit/subject-access-reports/html",
        json={"name": NAME, "date_of_birth": BIRTH_DATE},
    )
    assert html.status_code == 200

    assert len(scene.answers) >= 18
    total = sum(len(body) for _, body in scene.answers)
    assert total > 20_000  # the log's full width came back, not just empty pages
    for request, body in scene.answers:
        for secret in SECRETS:
            assert secret not in body, f"{secret!r} in the answer to {request}"
            assert secret.lower() not in body.lower(), f"{secret!r} in the answer to {request}"
