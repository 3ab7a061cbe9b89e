"""Whoever edits the access log in the database directly -- one column, a deleted, swapped or
inserted entry, a cut-off tail, a forged checkpoint -- is caught by `vhhub audit verify`, which
exits non-zero and names the first entry that can no longer be trusted. An export verifies
offline with only the hub's public key; crypto-shredding a case leaves the log verifying.

Every tampering is plain SQL on the database (as a DBA or an attacker with a copy would do it),
checked twice: through `AuditService.verify_live()` and through the real command line in a
separate process. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    insert,
    select,
    text,
    update,
)

from hub.audit.checkpoints import sign_checkpoint
from hub.audit.entry import Action, Outcome, entry_from_json, entry_leaf_hash
from hub.audit.log import ANONYMOUS, Actor, Event, RequestInfo
from hub.audit.merkle import CompactRange
from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject
from hub.audit.store import ENTRY_COLUMNS
from hub.audit.verify import VerifyReport
from hub.context import HubContext
from hub.crypto.keys import AUDIT_SIGNING_KEY_FILE, write_secret_file
from hub.crypto.signing import SigningKey, generate_signing_seed
from hub.settings import PROJECT_ROOT, Settings
from hub.vocabulary import PartnerKind, Purpose, Role
from tests.conftest import RunningHub

pytestmark = pytest.mark.slow

#: 44 entries with a checkpoint every 8 (the first append signs at once): checkpoints at sizes
#: 1, 9, 17, 25, 33 and 41; entries 41..43 are not yet covered by a checkpoint.
ENTRIES = 44
EVERY = 8
CHECKPOINT_SIZES = [1, 9, 17, 25, 33, 41]

ENTRY = cast(Table, LogEntry.__table__)
SUBJECTS = cast(Table, LogSubject.__table__)
CHECKPOINTS = cast(Table, Checkpoint.__table__)
HEAD = cast(Table, LogHead.__table__)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        checkpoint_every=EVERY,
        checkpoint_interval_s=3600,
    )


@pytest.fixture
def ctx(initialised: Settings) -> Iterator[HubContext]:
    """The operator's context on the hub's data dir (its keys) and database."""
    context = HubContext.open(initialised)
    yield context
    context.close()


@pytest.fixture
def raw(initialised: Settings) -> Iterator[Engine]:
    """A bare engine on the same database: no hub code between the tester and the tables."""
    engine = create_engine(initialised.effective_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def flow(ctx: HubContext) -> list[int]:
    """A realistic log: registrations, publishes, briefing reads, denials, failed logins and
    an auditor's queries, one transaction each, as the hub writes them."""
    for seq in range(ENTRIES):
        event, actor, purpose = realistic_event(seq)
        request = RequestInfo(request_id=uuid.uuid4().hex, source="10.1.2.3", purpose=purpose)
        with ctx.db.transaction() as session:
            ctx.log.append(session, event, actor=actor, request=request)
    with ctx.db.transaction() as session:
        sizes = list(session.scalars(select(Checkpoint.tree_size).order_by(Checkpoint.tree_size)))
    assert sizes == CHECKPOINT_SIZES
    return sizes


POLICE = Actor("politie", PartnerKind.POLICE, "agent-7", (Role.PARTICIPANT, Role.PUBLISHER))
HOUSING = Actor("woningcorporatie", PartnerKind.HOUSING, "w-3", (Role.PARTICIPANT, Role.PUBLISHER))
GGZ = Actor("ggz", PartnerKind.MENTAL_HEALTH, "g-1", (Role.PARTICIPANT,))
ZVH = Actor("zvh", PartnerKind.ZVH_STAFF, "pr-1", (Role.PROCESREGISSEUR,))
AUDITOR = Actor("zvh", PartnerKind.ZVH_STAFF, "aud-1", (Role.AUDITOR,))
POLICY = "sha256-" + "ab" * 28


def realistic_event(seq: int) -> tuple[Event, Actor, Purpose | None]:
    """Entry `seq` of the flow; seq % 8 == 4 is always a briefing read that disclosed fields."""
    case = f"c{seq // 8:07d}-0000-4000-8000-000000000000"
    pseudonym = f"{seq // 8:064x}"
    fact = f"f-{seq}"
    kind = seq % 8
    if kind == 0:
        return (
            Event(
                Action.CASE_REGISTER,
                Outcome.ALLOWED,
                case_id=case,
                subject_pseudonyms=(pseudonym,),
                policy_version=POLICY,
            ),
            POLICE,
            Purpose.INTAKE,
        )
    if kind == 1:
        return (
            Event(Action.CASE_CHANGE_PHASE, Outcome.ALLOWED, case_id=case, policy_version=POLICY),
            ZVH,
            Purpose.SCREENING,
        )
    if kind in (2, 3):
        return (
            Event(
                Action.FACT_PUBLISH,
                Outcome.ALLOWED,
                case_id=case,
                subject_pseudonyms=(pseudonym,),
                object_ids=(fact,),
                policy_version=POLICY,
            ),
            POLICE if kind == 2 else HOUSING,
            Purpose.PREPARATION,
        )
    if kind == 4:
        return (
            Event(
                Action.BRIEFING_READ,
                Outcome.ALLOWED,
                case_id=case,
                subject_pseudonyms=(pseudonym,),
                disclosed={
                    f"f-{seq - 2}": ("incident_category", "incident_date", "subject_role"),
                    f"f-{seq - 1}": ("arrears_amount_eur", "arrears_months"),
                },
                reason="policy:need_to_know",
                policy_version=POLICY,
            ),
            HOUSING,
            Purpose.PREPARATION,
        )
    if kind == 5:
        return (
            Event(
                Action.CASE_DENIED,
                Outcome.DENIED,
                case_id=case,
                reason="read_case: policy:not_participant",
                policy_version=POLICY,
            ),
            GGZ,
            Purpose.PREPARATION,
        )
    if kind == 6:
        return Event(Action.AUTH_FAILURE, Outcome.DENIED, reason="token:expired"), ANONYMOUS, None
    return (
        Event(Action.LOG_QUERY, Outcome.ALLOWED, reason="query by case_id", case_id=case),
        AUDITOR,
        Purpose.AUDIT,
    )


# -- the two ways to verify --------------------------------------------------------------------


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m hub --data-dir D ...` in its own process, on this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = settings.effective_database_url
    return subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def cli_report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON report `vhhub audit verify` prints on stdout."""
    start = result.stdout.find("{")
    assert start >= 0, f"no report on stdout: {result.stdout!r} {result.stderr!r}"
    report, _ = json.JSONDecoder().raw_decode(result.stdout[start:])
    assert isinstance(report, dict)
    return report


@dataclass(frozen=True)
class Verdict:
    live: VerifyReport
    cli: dict[str, Any]


def verify_both(
    ctx: HubContext, settings: Settings, *, key: str | None = None, kept: Sequence[Path] = ()
) -> Verdict:
    """Verify the database both ways, with the auditor's pinned `key` and `kept` checkpoints
    (as `--public-key` and `--checkpoint`) when given."""
    args = [
        *(("--public-key", key) if key else ()),
        *(a for p in kept for a in ("--checkpoint", str(p))),
    ]
    # live first: a passing command-line verification appends its verdict (`log.verify`)
    live = ctx.audit.verify_live(key, [p.read_text(encoding="utf-8") for p in kept])
    result = cli(settings, "audit", "verify", *args)
    report = cli_report(result)
    if report["ok"]:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1, result.stderr
        assert f"FAILED at entry {report['first_broken_seq']}" in result.stderr
    return Verdict(live, report)


def assert_detected(
    ctx: HubContext, settings: Settings, *, first_broken: int, problem: str
) -> Verdict:
    """Both paths fail, name `first_broken` as the first untrusted seq, and say why."""
    verdict = verify_both(ctx, settings)
    live = verdict.live
    assert not live.ok
    assert live.first_broken_seq == first_broken, live.problem
    assert live.problem is not None and problem in live.problem, live.problem
    assert verdict.cli["ok"] is False
    assert verdict.cli["first_broken_seq"] == first_broken
    assert problem in verdict.cli["problem"]
    return verdict


# -- raw SQL helpers (the attacker's tools) ------------------------------------------------------


def stored_row(conn: Connection, seq: int) -> dict[str, Any]:
    row = conn.execute(select(ENTRY).where(ENTRY.c.seq == seq)).mappings().one()
    return dict(row)


def recomputed_leaf(row: dict[str, Any]) -> bytes:
    """What an attacker who knows the format computes to make an edited row self-consistent."""
    body = {name: row[name] for name in ENTRY_COLUMNS}
    if row.get("fact_subjects"):  # entry format v2 (ADR 0403)
        body["fact_subjects"] = row["fact_subjects"]
    return entry_leaf_hash(entry_from_json(body))


def rehash(conn: Connection, *seqs: int) -> None:
    for seq in seqs:
        leaf = recomputed_leaf(stored_row(conn, seq))
        conn.execute(update(ENTRY).where(ENTRY.c.seq == seq).values(leaf_hash=leaf))


def replace_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Overwrite entries (by seq) with the given column values, keeping nothing else."""
    seqs = [r["seq"] for r in rows]
    conn.execute(delete(SUBJECTS).where(SUBJECTS.c.seq.in_(seqs)))
    conn.execute(delete(ENTRY).where(ENTRY.c.seq.in_(seqs)))
    conn.execute(insert(ENTRY), rows)


def replace_note(conn: Connection, tree_size: int, note: str) -> None:
    conn.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == tree_size).values(note=note))


def stored_range(conn: Connection, tree_size: int | None = None) -> CompactRange:
    """The Merkle range over the stored leaf hashes (the first `tree_size`, or all)."""
    query = select(ENTRY.c.leaf_hash).order_by(ENTRY.c.seq)
    if tree_size is not None:
        query = query.where(ENTRY.c.seq < tree_size)
    return CompactRange.from_leaf_hashes(bytes(h) for h in conn.execute(query).scalars())


def stored_root(conn: Connection, tree_size: int) -> bytes:
    return stored_range(conn, tree_size).root()


def json_column_sql(conn: Connection, param: str) -> str:
    """A JSON literal parameter in raw SQL, for either database."""
    return f"CAST(:{param} AS JSON)" if conn.dialect.name == "postgresql" else f"json(:{param})"


# -- the intact log ------------------------------------------------------------------------------


def test_an_intact_log_verifies_live_and_on_the_command_line(
    ctx: HubContext, initialised: Settings, flow: list[int]
) -> None:
    verdict = verify_both(ctx, initialised)
    for report in (verdict.live.to_json(), verdict.cli):
        assert report["ok"] is True, report["problem"]
        assert report["entries_checked"] == ENTRIES
        assert report["checkpoints_checked"] == len(CHECKPOINT_SIZES)
        assert report["covered_size"] == CHECKPOINT_SIZES[-1]
        assert report["first_broken_seq"] is None
    assert verdict.cli["root"] == verdict.live.root.hex()


# -- entries edited, deleted, swapped, inserted, cut off -------------------------------------------

EDITS: dict[str, tuple[str, dict[str, Any]]] = {
    # column -> raw SQL assignment and its parameters; entry 20 is a briefing read
    "reason": ("reason = :v", {"v": "policy:break_glass"}),
    "actor_user": ("actor_user = :v", {"v": "w-99"}),
    "actor_partner": ("actor_partner = :v", {"v": "gemeente-wi"}),
    "outcome": ("outcome = :v", {"v": "denied"}),
    "time_us": ("time_us = time_us + 1", {}),
    "purpose": ("purpose = :v", {"v": "case_conference"}),
    "case_id": ("case_id = :v", {"v": "c0000099-0000-4000-8000-000000000000"}),
    # hide what was seen: one fact's released fields vanish from the record
    "disclosed": ("disclosed = {json}", {"v": '{"f-18":["incident_category"]}'}),
    "subject_pseudonyms": ("subject_pseudonyms = {json}", {"v": "[]"}),
}


@pytest.mark.parametrize("column", list(EDITS))
def test_changing_one_column_of_one_entry_is_reported_at_that_entry(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int], column: str
) -> None:
    assignment, params = EDITS[column]
    with raw.begin() as conn:
        sql = assignment.format(json=json_column_sql(conn, "v"))
        changed = conn.execute(text(f"UPDATE access_log SET {sql} WHERE seq = 20"), params)
        assert changed.rowcount == 1
    assert_detected(
        ctx, initialised, first_broken=20, problem="seq 20 does not match its leaf hash"
    )


def test_an_edit_with_a_recomputed_leaf_hash_is_caught_by_the_covering_checkpoint(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        conn.execute(text("UPDATE access_log SET actor_user = 'w-99' WHERE seq = 20"))
        rehash(conn, 20)
    # 17..24 are proven only by the checkpoint of size 25, which no longer matches
    assert_detected(
        ctx,
        initialised,
        first_broken=17,
        problem="checkpoint for size 25 does not match the entries: entries from seq 17 to 24",
    )


def test_deleting_an_entry_is_reported_at_the_missing_seq(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        conn.execute(text("DELETE FROM access_log_subjects WHERE seq = 12"))
        assert conn.execute(text("DELETE FROM access_log WHERE seq = 12")).rowcount == 1
    assert_detected(
        ctx, initialised, first_broken=12, problem="expected seq 12, found 13 (missing)"
    )


def _swap(conn: Connection, a: int, b: int) -> None:
    row_a, row_b = stored_row(conn, a), stored_row(conn, b)
    replace_rows(conn, [row_b | {"seq": a}, row_a | {"seq": b}])


def test_swapping_two_entries_is_reported_at_the_first_of_them(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        _swap(conn, 14, 15)  # every column but seq, the stored leaf hashes included
    assert_detected(
        ctx, initialised, first_broken=14, problem="seq 14 does not match its leaf hash"
    )


def test_swapping_two_entries_and_rehashing_them_is_caught_by_the_covering_checkpoint(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        _swap(conn, 14, 15)
        rehash(conn, 14, 15)
    assert_detected(
        ctx,
        initialised,
        first_broken=9,
        problem="checkpoint for size 17 does not match the entries: entries from seq 9 to 16",
    )


def _insert_forged_entry(conn: Connection, at: int, *, rehashed: bool) -> None:
    """Shift entries `at`.. up by one and put a forged entry in the gap (the head unchanged)."""
    tail = [
        dict(r)
        for r in conn.execute(select(ENTRY).where(ENTRY.c.seq >= at).order_by(ENTRY.c.seq))
        .mappings()
        .all()
    ]
    forged = tail[0] | {"actor_user": "agent-1", "disclosed": {}, "reason": None}
    rows = [forged] + [r | {"seq": r["seq"] + 1} for r in tail]
    if rehashed:
        rows = [r | {"leaf_hash": recomputed_leaf(r)} for r in rows]
    else:
        rows[0] = forged | {"leaf_hash": bytes(32)}
    conn.execute(delete(SUBJECTS).where(SUBJECTS.c.seq >= at))
    conn.execute(delete(ENTRY).where(ENTRY.c.seq >= at))
    conn.execute(insert(ENTRY), rows)


def test_inserting_an_entry_is_reported_at_the_inserted_seq(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        _insert_forged_entry(conn, 10, rehashed=False)
    assert_detected(
        ctx, initialised, first_broken=10, problem="seq 10 does not match its leaf hash"
    )


def test_inserting_an_entry_with_every_leaf_rehashed_is_caught_by_the_covering_checkpoint(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        _insert_forged_entry(conn, 10, rehashed=True)
    assert_detected(
        ctx,
        initialised,
        first_broken=9,
        problem="checkpoint for size 17 does not match the entries: entries from seq 9 to 16",
    )


def test_truncating_the_tail_below_the_newest_checkpoint_is_reported(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        conn.execute(text("DELETE FROM access_log_subjects WHERE seq >= 36"))
        assert conn.execute(text("DELETE FROM access_log WHERE seq >= 36")).rowcount == 8
    # 33..35 are still there but were proven only by the checkpoint of size 41
    assert_detected(
        ctx,
        initialised,
        first_broken=33,
        problem="checkpoint for size 41 follows only 36 entries: entries are missing",
    )


def test_removing_entries_not_yet_covered_by_a_checkpoint_is_caught_against_the_log_head(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        conn.execute(text("DELETE FROM access_log_subjects WHERE seq >= 42"))
        assert conn.execute(text("DELETE FROM access_log WHERE seq >= 42")).rowcount == 2
    assert_detected(ctx, initialised, first_broken=42, problem="the log head records 44 entries")


def test_a_rehashed_edit_not_yet_covered_by_a_checkpoint_is_caught_against_the_log_head(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        conn.execute(text("UPDATE access_log SET reason = 'token:bad_signature' WHERE seq = 42"))
        rehash(conn, 42)
    assert_detected(ctx, initialised, first_broken=41, problem="do not match the log head")


# -- forged checkpoints ----------------------------------------------------------------------------


def _note(ctx: HubContext, tree_size: int, root: bytes, key: SigningKey) -> str:
    signer = ctx.log.signer
    return sign_checkpoint(signer.origin, tree_size, root, key, signer.key_name)


def test_a_checkpoint_signed_by_another_key_is_rejected(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    stranger = SigningKey.from_seed(generate_signing_seed())
    with raw.begin() as conn:
        # the same statement (size 25, the true root) under the hub's key name, another key
        replace_note(conn, 25, _note(ctx, 25, stored_root(conn, 25), stranger))
    assert_detected(
        ctx,
        initialised,
        first_broken=17,
        problem="checkpoint rejected: note carries no signature by the trusted key",
    )


def test_a_checkpoint_for_another_root_signed_by_another_key_is_rejected(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    stranger = SigningKey.from_seed(generate_signing_seed())
    with raw.begin() as conn:
        replace_note(conn, 25, _note(ctx, 25, b"\x5a" * 32, stranger))
    assert_detected(
        ctx,
        initialised,
        first_broken=17,
        problem="checkpoint rejected: note carries no signature by the trusted key",
    )


def test_a_checkpoint_signed_with_the_hub_key_over_a_wrong_root_does_not_match_the_entries(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    with raw.begin() as conn:
        wrong = stored_root(conn, 24)  # a real root, of the tree one entry short
        replace_note(conn, 25, _note(ctx, 25, wrong, ctx.log.signer.key))
        conn.execute(
            update(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == 25).values(root_hash=wrong)
        )
    assert_detected(
        ctx,
        initialised,
        first_broken=17,
        problem="checkpoint for size 25 does not match the entries: entries from seq 17 to 24",
    )


# -- offline: export, verify with only the public key ----------------------------------------------


def _public_key(settings: Settings) -> str:
    result = cli(settings, "audit", "public-key")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _export(settings: Settings, path: Path) -> list[str]:
    result = cli(settings, "audit", "export", str(path))
    assert result.returncode == 0, result.stderr
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_an_export_verifies_offline_with_the_public_key_and_an_edited_line_fails(
    ctx: HubContext, initialised: Settings, flow: list[int], tmp_path: Path
) -> None:
    key = _public_key(initialised)
    assert key == ctx.log.signer.verifier_key
    export = tmp_path / "log.jsonl"
    lines = _export(initialised, export)
    # the export itself is logged (one more entry) and covered by a checkpoint signed for it
    intact = cli(initialised, "audit", "verify", str(export), "--public-key", key)
    assert intact.returncode == 0, intact.stderr
    report = cli_report(intact)
    assert report["ok"] is True
    assert report["entries_checked"] == ENTRIES + 1
    assert report["covered_size"] == ENTRIES + 1

    # edit one entry line: entry 20 (a briefing read) no longer shows one fact it disclosed
    index = next(
        i for i, line in enumerate(lines) if json.loads(line).get("entry", {}).get("seq") == 20
    )
    obj = json.loads(lines[index])
    obj["entry"]["disclosed"].pop("f-18")
    edited = tmp_path / "edited.jsonl"
    lines[index] = json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"
    edited.write_text("".join(lines), encoding="utf-8")
    broken = cli(initialised, "audit", "verify", str(edited), "--public-key", key)
    assert broken.returncode == 1
    report = cli_report(broken)
    assert report["ok"] is False
    assert report["first_broken_seq"] == 20
    assert "seq 20 does not match its leaf hash" in report["problem"]
    assert "FAILED at entry 20" in broken.stderr


def roll_back_to_30(raw: Engine, keep: Path) -> None:
    """A consistent rollback to 30 entries -- entries, newer checkpoints and head all rewound,
    as restoring an older copy of the database would leave it -- after the auditor kept the
    checkpoint of size 41 in `keep`."""
    with raw.begin() as conn:
        kept = conn.execute(select(CHECKPOINTS.c.note).where(CHECKPOINTS.c.tree_size == 41))
        keep.write_text(kept.scalar_one(), encoding="utf-8")
        conn.execute(delete(SUBJECTS).where(SUBJECTS.c.seq >= 30))
        conn.execute(delete(ENTRY).where(ENTRY.c.seq >= 30))
        conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.tree_size > 30))
        conn.execute(
            update(HEAD).values(
                size=30, frontier=stored_range(conn).hex_hashes(), checkpoint_size=25
            )
        )


def test_a_rolled_back_log_fails_offline_against_a_checkpoint_the_auditor_kept(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int], tmp_path: Path
) -> None:
    """A consistent rollback looks like an older honest log; a checkpoint obtained earlier (a
    witness, the last audit) exposes it."""
    kept = tmp_path / "cp41.note"
    roll_back_to_30(raw, kept)
    export = tmp_path / "log.jsonl"
    _export(initialised, export)
    key = ctx.log.signer.verifier_key
    alone = cli(initialised, "audit", "verify", str(export), "--public-key", key)
    assert alone.returncode == 0, "without an outside checkpoint a rollback cannot be told"
    assert any("rolled-back" in w for w in cli_report(alone)["warnings"])
    witnessed = cli(
        initialised, "audit", "verify", str(export), "--public-key", key, "--checkpoint", str(kept)
    )
    assert witnessed.returncode == 1
    report = cli_report(witnessed)
    assert report["ok"] is False
    assert "truncated or the log was rolled back" in report["problem"]


def test_a_rolled_back_database_fails_live_against_a_checkpoint_the_auditor_kept(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int], tmp_path: Path
) -> None:
    """The same rollback, checked on the database itself: the head was rewound with it, so
    only the kept checkpoint can tell; `--checkpoint` works without an export too."""
    kept = tmp_path / "cp41.note"
    roll_back_to_30(raw, kept)
    alone = verify_both(ctx, initialised)
    assert alone.live.ok and alone.cli["ok"] is True
    assert any("rolled-back" in w for w in alone.cli["warnings"])
    verdict = verify_both(ctx, initialised, kept=[kept])
    assert not verdict.live.ok and verdict.cli["ok"] is False
    assert verdict.live.problem is not None
    assert "truncated or the log was rolled back" in verdict.live.problem
    assert verdict.cli["problem"] == verdict.live.problem


def test_a_log_re_signed_with_a_swapped_key_fails_against_the_key_the_auditor_pinned(
    ctx: HubContext, initialised: Settings, raw: Engine, flow: list[int]
) -> None:
    """An attacker who can write both the database and the data dir edits an entry, rehashes
    it, swaps the hub's signing key for their own and re-signs every checkpoint and the head:
    the hub now vouches for the forgery with its own (new) key, so only the public key the
    auditor obtained out of band beforehand catches it."""
    pinned = ctx.log.signer.verifier_key
    stranger_seed = generate_signing_seed()
    stranger = SigningKey.from_seed(stranger_seed)
    with raw.begin() as conn:
        conn.execute(update(ENTRY).where(ENTRY.c.seq == 20).values(actor_partner="ggz"))
        rehash(conn, 20)
        for size in CHECKPOINT_SIZES:
            root = stored_root(conn, size)
            replace_note(conn, size, _note(ctx, size, root, stranger))
            conn.execute(
                update(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == size).values(root_hash=root)
            )
        conn.execute(update(HEAD).values(frontier=stored_range(conn).hex_hashes()))
    key_file = initialised.data_dir / "keys" / AUDIT_SIGNING_KEY_FILE
    key_file.unlink()
    write_secret_file(key_file, base64.urlsafe_b64encode(stranger_seed) + b"\n")

    own_key = cli(initialised, "audit", "verify")
    assert own_key.returncode == 0, "the hub's own (swapped) key vouches for the forgery"
    verdict = verify_both(ctx, initialised, key=pinned)
    assert not verdict.live.ok and verdict.cli["ok"] is False
    assert verdict.live.first_broken_seq == verdict.cli["first_broken_seq"] == 0
    rejected = "checkpoint rejected: note carries no signature by the trusted key"
    assert rejected in (verdict.live.problem or "") and rejected in verdict.cli["problem"]


def test_unusable_verify_arguments_exit_2_and_verify_nothing(
    ctx: HubContext, initialised: Settings, flow: list[int], tmp_path: Path
) -> None:
    """A typo is not a broken log: exit 2 with one line on stderr, no report, no trace."""
    (tmp_path / "junk.note").write_text("not a note\n", encoding="utf-8")
    export = tmp_path / "log.jsonl"
    _export(initialised, export)
    key = ctx.log.signer.verifier_key
    cases = [
        (("--public-key", "not-a-key"), "the verifier key is not usable"),
        (("--checkpoint", str(tmp_path / "absent.note")), "cannot read checkpoint"),
        (("--checkpoint", str(tmp_path / "junk.note")), "does not verify with the supplied key"),
        ((str(export),), "--public-key is required"),
        ((str(tmp_path / "absent.jsonl"), "--public-key", key), "cannot read the export"),
    ]
    for args, says in cases:
        result = cli(initialised, "audit", "verify", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""


# -- crypto-shredding ------------------------------------------------------------------------------


@pytest.mark.e2e
def test_crypto_shredding_a_case_leaves_the_log_verifying(
    ctx: HubContext, initialised: Settings, raw: Engine
) -> None:
    from tests.disclosure.scenario import case_in_preparation

    with RunningHub(initialised) as running, running.client() as http:
        world = case_in_preparation(http, initialised)
        world.publish_incident("i1")
        world.publish_arrears("a1")
        assert world.briefing(world.housing).status_code == 200
    before = verify_both(ctx, initialised)
    assert before.live.ok and before.cli["ok"], before.live.problem
    with raw.begin() as conn:
        keys = conn.execute(text("DELETE FROM case_keys WHERE case_id = :c"), {"c": world.case_id})
        index = conn.execute(
            text("DELETE FROM subject_index WHERE case_id = :c"), {"c": world.case_id}
        )
        assert keys.rowcount == 1
        assert index.rowcount >= 1
        logged = conn.execute(
            text("SELECT count(*) FROM access_log WHERE case_id = :c"), {"c": world.case_id}
        ).scalar_one()
        assert logged > 5
    after = verify_both(ctx, initialised)
    assert after.live.ok, after.live.problem
    assert after.cli["ok"] is True
    # nothing was added but the verdict of the first command-line verification
    assert after.live.entries_checked == before.live.entries_checked + 1
    with raw.connect() as conn:
        added = conn.execute(
            text("SELECT action FROM access_log WHERE seq = :s"),
            {"s": before.live.entries_checked},
        ).scalar_one()
    assert added == "log.verify"
