"""Signed publish receipts (issue 20, ADR 0405), over real HTTP: a receipt and its proof
verify offline with nothing but the hub's verifier key; any change to the content, the
salt, the receipt or the proof fails; a retry gets the original receipt; only the publisher
gets the proof of its entry."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.audit.checkpoints import parse_verifier_key, verifier_key_text
from hub.cli import main
from hub.crypto.signing import SigningKey
from hub.receipts.receipt import (
    ReceiptError,
    ReceiptProblem,
    check_content,
    check_proof,
    read_receipt,
    salt_from_text,
)
from tests.cases.test_workflow import actor, example, new_case
from tests.conftest import RunningHub
from tests.support import As, ok

TYPE = "police.nuisance_report/1"
VHHUB = [sys.executable, "-m", "hub"]


def _body(key: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "type": TYPE,
        "legal_basis": "convenant_zvh",
        "content": content if content is not None else example(TYPE),
    }


def _auditing(as_: As) -> As:
    return as_.with_purpose("audit")


def _verifier_key(police: As) -> str:
    return str(ok(police.get("/api/v1/audit/checkpoints/latest"))["verifier_key"])


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main(args)
    out = capsys.readouterr()
    code = ended.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def _flip_payload(receipt: str) -> str:
    """The same receipt with one claim changed (version 1 -> 2), signature kept."""
    header, payload, signature = receipt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["version"] += 1
    raw = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    return ".".join([header, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), signature])


@pytest.fixture
def published(http: httpx.Client, hub: RunningHub, tmp_path: Path) -> dict[str, Any]:
    case = new_case(http, hub.settings)
    police = actor(http, hub.settings, "politie", "preparation")
    content = {**example(TYPE), "reporter_details": "ja"}  # low entropy on purpose
    out = ok(police.post(f"/api/v1/cases/{case['id']}/facts", json=_body("r-1", content)), 201)
    [fact] = out["facts"]
    claims = json.loads(base64.urlsafe_b64decode(fact["receipt"].split(".")[1] + "=="))
    proof = ok(_auditing(police).get(f"/api/v1/partner-log/entries/{claims['log']['seq']}"))
    files = {
        "receipt": tmp_path / "receipt.jws",
        "content": tmp_path / "content.json",
        "proof": tmp_path / "proof.json",
        "key": tmp_path / "hub.vkey",
    }
    files["receipt"].write_text(fact["receipt"])
    files["content"].write_text(json.dumps(content))
    files["proof"].write_text(json.dumps(proof))
    files["key"].write_text(_verifier_key(_auditing(police)))
    return {
        "case": case,
        "police": police,
        "fact": fact,
        "claims": claims,
        "content": content,
        "proof": proof,
        "files": files,
    }


def test_a_publish_answer_carries_a_signed_receipt_that_reveals_no_content(
    published: dict[str, Any],
) -> None:
    fact, claims = published["fact"], published["claims"]
    header = json.loads(base64.urlsafe_b64decode(fact["receipt"].split(".")[0] + "=="))
    assert header["alg"] == "EdDSA" and header["typ"] == "vhhub-receipt+jws"
    assert claims["fact_id"] == fact["id"] and claims["version"] == 1
    assert claims["publisher"] == "politie" and claims["action"] == "fact.publish"
    assert claims["content_digest"].startswith("hmac-sha256:")
    assert len(base64.urlsafe_b64decode(fact["receipt_salt"] + "=")) == 32
    # the receipt names no content, and the salt is not in it (the digest is left out of
    # the search: its base64 text holds "ja" in about one receipt in a hundred)
    named = {k: v for k, v in claims.items() if k != "content_digest"}
    assert "ja" not in json.dumps(named)
    assert fact["receipt_salt"] not in fact["receipt"]
    # the entry the receipt names is the publish entry, with this leaf hash
    assert published["proof"]["leaf_hash"] == claims["log"]["leaf_hash"]
    assert fact["id"] in published["proof"]["entry"]["object_ids"]
    assert published["proof"]["redacted"] is False


def test_the_receipt_verifies_offline_with_content_salt_and_proof(
    published: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    f = published["files"]
    args = ["receipt", "verify", str(f["receipt"]), "--public-key", str(f["key"])]
    full = [*args, "--proof", str(f["proof"]), "--content", str(f["content"])]
    code, out, err = _run([*full, "--salt", published["fact"]["receipt_salt"]], capsys)
    assert code == 0, err
    assert out.startswith("receipt OK (signature, content digest, inclusion proof)")
    # the same as a real process, with the key given as text
    key_text = f["key"].read_text()
    done = subprocess.run(
        [*VHHUB, "receipt", "verify", f["receipt"].read_text(), "--public-key", key_text],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_changed_content_salt_receipt_or_proof_fails(
    published: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = published["files"]
    salt = published["fact"]["receipt_salt"]
    base = ["receipt", "verify", str(f["receipt"]), "--public-key", str(f["key"])]

    other_content = tmp_path / "other.json"
    other_content.write_text(json.dumps({**published["content"], "reporter_details": "nee"}))
    code, out, _ = _run([*base, "--content", str(other_content), "--salt", salt], capsys)
    assert code == 1 and "content" in out and "nee" not in out

    other_salt = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    code, out, _ = _run([*base, "--content", str(f["content"]), "--salt", other_salt], capsys)
    assert code == 1 and "content" in out

    forged = tmp_path / "forged.jws"
    forged.write_text(_flip_payload(f["receipt"].read_text()))
    code, out, _ = _run(["receipt", "verify", str(forged), "--public-key", str(f["key"])], capsys)
    assert code == 1 and "signature" in out

    proof = json.loads(f["proof"].read_text())
    bad_path = json.loads(json.dumps(proof))
    first = bad_path["proof"][0]
    bad_path["proof"][0] = ("0" if first[0] != "0" else "1") + first[1:]
    bad_entry = json.loads(json.dumps(proof))
    bad_entry["entry"]["reason"] = "edited"
    bad_note = json.loads(json.dumps(proof))
    bad_note["checkpoint"]["note"] = bad_note["checkpoint"]["note"].replace("\n", "\n\n", 1)
    for name, doc, problem in [
        ("path", bad_path, "inclusion proof"),
        ("entry", bad_entry, "does not hash"),
        ("note", bad_note, "checkpoint"),
    ]:
        if not proof["proof"] and name == "path":
            continue  # a one-entry tree has an empty path
        path = tmp_path / f"proof-{name}.json"
        path.write_text(json.dumps(doc))
        code, out, _ = _run([*base, "--proof", str(path)], capsys)
        assert code == 1, (name, out)
        assert problem in out, (name, out)


def test_unusable_arguments_exit_2_and_a_strangers_key_exits_1(
    published: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = published["files"]
    code, _, err = _run(
        ["receipt", "verify", str(f["receipt"]), "--public-key", "not-a-key"], capsys
    )
    assert code == 2 and "public key" in err
    args = ["receipt", "verify", str(f["receipt"]), "--public-key", str(f["key"])]
    code, _, err = _run([*args, "--content", str(f["content"])], capsys)
    assert code == 2 and "--salt" in err
    stranger = tmp_path / "stranger.vkey"
    stranger.write_text(
        verifier_key_text("vhhub.local/access-log", SigningKey.from_seed(bytes(32)).public_key())
    )
    code, out, _ = _run(
        ["receipt", "verify", str(f["receipt"]), "--public-key", str(stranger)], capsys
    )
    assert code == 1 and "FAILED" in out


def test_the_verification_functions_name_what_failed(published: dict[str, Any]) -> None:
    verifier = parse_verifier_key(published["files"]["key"].read_text())
    claims = read_receipt(published["fact"]["receipt"], verifier)
    check_content(claims, published["content"], salt_from_text(published["fact"]["receipt_salt"]))
    assert check_proof(claims, published["proof"], verifier) > claims.seq
    # key order and number spelling do not matter: the digest is over RFC 8785 JSON
    reordered = dict(reversed(list(published["content"].items())))
    check_content(claims, reordered, salt_from_text(published["fact"]["receipt_salt"]))
    # content no double can hold is not the content: refused as such, not a crash
    huge = dict(published["content"], extra=10**400)
    with pytest.raises(ReceiptError) as failed:
        check_content(claims, huge, salt_from_text(published["fact"]["receipt_salt"]))
    assert failed.value.problem is ReceiptProblem.CONTENT
    with pytest.raises(ReceiptError) as failed:
        read_receipt(published["fact"]["receipt"] + "x", verifier)
    assert failed.value.problem in (ReceiptProblem.MALFORMED, ReceiptProblem.SIGNATURE)
    other = dict(published["proof"], seq=published["proof"]["seq"] + 1)
    with pytest.raises(ReceiptError) as failed:
        check_proof(claims, other, verifier)
    assert failed.value.problem is ReceiptProblem.PROOF_OTHER_ENTRY


def test_a_retry_returns_the_original_receipt_without_the_salt(
    published: dict[str, Any], http: httpx.Client
) -> None:
    police, case = published["police"], published["case"]
    again = ok(
        police.post(f"/api/v1/cases/{case['id']}/facts", json=_body("r-1", published["content"])),
        200,
    )
    [fact] = again["facts"]
    assert fact["created"] is False
    assert fact["receipt"] == published["fact"]["receipt"]
    assert fact["receipt_salt"] is None


def test_only_the_publisher_gets_the_proof_of_its_entry(
    published: dict[str, Any], http: httpx.Client, hub: RunningHub
) -> None:
    seq = published["claims"]["log"]["seq"]
    housing = _auditing(actor(http, hub.settings, "woningcorporatie", "audit"))
    theirs = housing.get(f"/api/v1/partner-log/entries/{seq}")
    unknown = housing.get("/api/v1/partner-log/entries/999999")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.headers["content-type"].startswith("application/problem+json")
    strip = ("instance",)
    assert {k: v for k, v in theirs.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    # a participant of the publisher itself, reading for a case, is refused (403, logged)
    participant = actor(http, hub.settings, "politie", "audit", ["participant"], "p-2")
    assert participant.get(f"/api/v1/partner-log/entries/{seq}").status_code == 403


def test_corrections_and_withdrawals_get_receipts_too(
    published: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    police = published["police"]
    content = {**published["content"], "reporter_details": "bijgewerkt"}
    corrected = ok(
        police.post(
            f"/api/v1/facts/{published['fact']['id']}/corrections", json={"content": content}
        ),
        201,
    )
    withdrawn = ok(
        police.post(
            f"/api/v1/facts/{corrected['id']}/withdrawal",
            json={"reason_code": "published_in_error"},
        )
    )
    verifier = parse_verifier_key(published["files"]["key"].read_text())
    fixed = read_receipt(corrected["receipt"], verifier)
    assert (fixed.action, fixed.version, fixed.fact_id) == ("fact.correct", 2, corrected["id"])
    check_content(fixed, content, salt_from_text(corrected["receipt_salt"]))
    gone = read_receipt(withdrawn["receipt"], verifier)
    assert gone.action == "fact.withdraw" and gone.content_digest is None
    assert withdrawn["receipt_salt"] is None
    proof = ok(_auditing(police).get(f"/api/v1/partner-log/entries/{gone.seq}"))
    assert check_proof(gone, proof, verifier) > gone.seq
