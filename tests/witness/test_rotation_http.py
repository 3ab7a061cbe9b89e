"""Rotating keys (issue 21 item 5), over real HTTP: `vhhub keys rotate-log-key` publishes a
signed key list; `vhhub audit verify` passes across the rotation with the old key pinned,
live and offline, and rejects a checkpoint signed by a key outside its window; a witness
that pinned the old key follows the rotation. A witness rotates its own key the same way:
the hub accepts the new key on a statement signed by the old one, and an auditor who pinned
the old witness key still counts that witness."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hub.audit.checkpoints import (
    CheckpointError,
    parse_and_verify_checkpoint,
    sign_checkpoint,
)
from hub.audit.witness import (
    cosign,
    follow_rotations,
    make_rotation,
    parse_witness_key,
    witness_satisfied,
)
from hub.audit.witness_client import WitnessState
from hub.crypto.key_files import FileKeyProvider
from hub.crypto.signing import SigningKey
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.support import As, ok
from tests.witness.helpers import cli, make_witness


def auditor_get(hub: RunningHub, path: str) -> Any:
    with hub.client() as http:
        return ok(As(http, hub.settings, "zvh", "aud-1", ["auditor"], "audit").get(path))


def sign_now(hub: RunningHub) -> Any:
    with hub.client() as http:
        auditor = As(http, hub.settings, "zvh", "aud-1", ["auditor"], "audit")
        return ok(auditor.post("/api/v1/audit/checkpoints"))


def test_the_log_key_rotates_and_verification_and_witnesses_follow(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = hub.settings
    old_vkey = cli(settings, monkeypatch, "audit", "public-key").output.strip()
    witness = make_witness(hub, "politie", tmp_path, monkeypatch)
    assert witness.run(hub).exit_code == 0
    rotated = cli(settings, monkeypatch, "keys", "rotate-log-key")
    assert rotated.exit_code == 0, rotated.output
    new_vkey = rotated.output.strip().splitlines()[0]
    assert new_vkey != old_vkey
    keys = auditor_get(hub, "/api/v1/audit/log-keys")
    assert len(keys["key_lists"]) == 1
    # the running hub switches to the new key at its next checkpoint
    after = sign_now(hub)
    parse_and_verify_checkpoint(after["note"], new_vkey)
    with pytest.raises(CheckpointError):
        parse_and_verify_checkpoint(after["note"], old_vkey)
    # the hub's own check of an old entry's proof still passes: its checkpoint is the old
    # key's, inside that key's window
    detail = auditor_get(hub, "/api/v1/audit/entries/0")
    assert detail["check"]["ok"], detail["check"]
    parse_and_verify_checkpoint(detail["inclusion"]["checkpoint"]["note"], old_vkey)
    # the witness pinned the old key and follows the signed key list to cosign the new one
    followed = witness.run(hub)
    assert followed.exit_code == 0, followed.output
    status = auditor_get(hub, "/api/v1/audit/status")["checkpoint"]
    assert "— witness.politie.example" in status["note"]
    parse_and_verify_checkpoint(status["note"], new_vkey)
    # verification across the rotation with the OLD key pinned: live and offline
    live = cli(
        settings,
        monkeypatch,
        "audit",
        "verify",
        "--public-key",
        old_vkey,
        "--witness",
        witness.vkey,
        "--min-witnesses",
        "1",
    )
    assert live.exit_code == 0, live.output
    export = tmp_path / "log.jsonl"
    assert cli(settings, monkeypatch, "audit", "export", str(export)).exit_code == 0
    for pinned in (old_vkey, new_vkey):
        offline = cli(settings, monkeypatch, "audit", "verify", str(export), "--public-key", pinned)
        assert offline.exit_code == 0, offline.output
    # a checkpoint signed by the retired key for a size after its window: refused
    original = FileKeyProvider(settings.keys_dir).audit_signers()[0]
    lines = export.read_text().splitlines(keepends=True)
    last = max(i for i, ln in enumerate(lines) if json.loads(ln).get("type") == "checkpoint")
    obj = json.loads(lines[last])
    checkpoint = parse_and_verify_checkpoint(obj["note"], new_vkey)
    obj["note"] = sign_checkpoint(
        checkpoint.origin, checkpoint.tree_size, checkpoint.root, original, checkpoint.origin
    )
    lines[last] = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    lines[last] += "\n"
    forged = tmp_path / "forged.jsonl"
    forged.write_text("".join(lines))
    refused = cli(settings, monkeypatch, "audit", "verify", str(forged), "--public-key", old_vkey)
    assert refused.exit_code == 1
    assert "outside its window" in refused.output
    # the same in the live database: the newest checkpoint row re-signed with the old key
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.begin() as conn:
            size, note = conn.execute(
                text("SELECT tree_size, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
            ).one()
            cp = parse_and_verify_checkpoint(note, new_vkey)
            conn.execute(
                text("UPDATE checkpoints SET note = :note WHERE tree_size = :size"),
                {
                    "note": sign_checkpoint(cp.origin, size, cp.root, original, cp.origin),
                    "size": size,
                },
            )
    finally:
        engine.dispose()
    tampered = cli(settings, monkeypatch, "audit", "verify", "--public-key", old_vkey)
    assert tampered.exit_code == 1
    assert "outside its window" in tampered.output


def test_a_witness_rotates_its_key_and_auditors_follow(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = hub.settings
    witness = make_witness(hub, "politie", tmp_path, monkeypatch)
    assert witness.run(hub).exit_code == 0
    old_key = WitnessState(witness.state).key
    made = cli(settings, monkeypatch, "witness", "rotate-key", "--state", str(witness.state))
    assert made.exit_code == 0, made.output
    new_vkey = made.output.strip()
    # a statement handing politie's key to a stranger's, signed by the stranger only, fails
    stranger = SigningKey.from_seed(bytes([42]) * 32)
    bogus = make_rotation(
        stranger, "witness.politie.example", stranger, "witness.politie.example", int(time.time())
    )
    with hub.client() as http:
        politie = As(http, settings, "politie", "w", ["participant"], "audit")
        assert (
            politie.post(
                "/api/v1/audit/witness/key-rotations", json={"statement": bogus}
            ).status_code
            == 400
        )
    rotated = witness.run(hub)  # sends the statement, switches, cosigns with the new key
    assert rotated.exit_code == 0, rotated.output
    assert WitnessState(witness.state).vkey == new_vkey
    listed = [
        json.loads(line)
        for line in cli(settings, monkeypatch, "audit", "witnesses", "list").output.splitlines()
    ]
    assert [(w["key"], w["valid_until"] is None) for w in listed] == [
        (witness.vkey, False),
        (new_vkey, True),
    ]
    # the retired key cosigns no more
    with hub.client() as http:
        politie = As(http, settings, "politie", "w", ["participant"], "audit")
        view = ok(politie.get("/api/v1/audit/witness/checkpoints/latest"))
        late = cosign(view["note"], old_key, "witness.politie.example", int(time.time()))
        refused = politie.post(
            f"/api/v1/audit/checkpoints/{view['tree_size']}/cosignatures",
            json={"cosignature": late.rstrip("\n")},
        )
        assert refused.status_code == 400
    # an auditor who pinned the OLD witness key follows the statement the hub publishes
    keys = auditor_get(hub, "/api/v1/audit/log-keys")
    assert len(keys["witness_rotations"]) == 1 and keys["witness_keys"] == [new_vkey]
    sign_now(hub)  # a checkpoint signed after the hand-over, for the new key alone
    assert witness.run(hub).exit_code == 0
    live = cli(
        settings, monkeypatch, "audit", "verify", "--witness", witness.vkey, "--min-witnesses", "1"
    )
    assert live.exit_code == 0, live.output
    export = tmp_path / "log.jsonl"
    assert cli(settings, monkeypatch, "audit", "export", str(export)).exit_code == 0
    vkey = cli(settings, monkeypatch, "audit", "public-key").output.strip()
    offline = cli(
        settings,
        monkeypatch,
        "audit",
        "verify",
        str(export),
        "--public-key",
        vkey,
        "--witness",
        witness.vkey,
        "--min-witnesses",
        "1",
    )
    assert offline.exit_code == 0, offline.output
    # what made it pass: the newest cosigned checkpoint carries the NEW key's cosignature,
    # which counts for the pinned old key only through the published, doubly signed statement
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    rotations = lines[0]["witness_rotations"]
    notes = [o["note"] for o in lines if o.get("type") == "checkpoint"]
    by_new = [n for n in notes if "— witness.politie.example" in n][-1]
    pinned = parse_witness_key(witness.vkey)
    assert witness_satisfied(by_new, follow_rotations(pinned, rotations))
    assert not witness_satisfied(by_new, follow_rotations(pinned, []))


def test_receipts_follow_the_log_key_to_its_successor(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish receipt is signed with the log key current when its entry is written: after
    a rotation by another process (the CLI), the running hub's receipts name the new key
    and verify under it, not under the retired one."""
    from hub.audit.checkpoints import parse_verifier_key
    from hub.receipts.receipt import ReceiptError, read_receipt
    from tests.cases.test_workflow import actor, example, new_case

    settings: Settings = hub.settings
    old_vkey = cli(settings, monkeypatch, "audit", "public-key").output.strip()
    with hub.client() as http:
        case = new_case(http, settings)
        rotated = cli(settings, monkeypatch, "keys", "rotate-log-key")
        assert rotated.exit_code == 0, rotated.output
        new_vkey = rotated.output.strip().splitlines()[0]
        out = ok(
            actor(http, settings, "politie", "preparation").post(
                f"/api/v1/cases/{case['id']}/facts",
                json={
                    "idempotency_key": "after-rotation",
                    "type": "police.nuisance_report/1",
                    "legal_basis": "convenant_zvh",
                    "content": example("police.nuisance_report/1"),
                },
            ),
            201,
        )
    receipt = out["facts"][0]["receipt"]
    claims = read_receipt(receipt, parse_verifier_key(new_vkey))
    assert claims.fact_id == out["facts"][0]["id"]
    with pytest.raises(ReceiptError):
        read_receipt(receipt, parse_verifier_key(old_vkey))
