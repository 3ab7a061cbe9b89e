"""examples/partner_client.py, the client example for partner developers, run as a partner
runs it against a real hub: it publishes, checks the receipt offline, pulls the updates feed
and reads its own log. Its receipt check is also shown to fail on what it must refuse."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT
from tests.cases.test_workflow import new_case
from tests.conftest import RunningHub

EXAMPLE = PROJECT_ROOT / "examples" / "partner_client.py"
CONTENT = PROJECT_ROOT / "schemas" / "examples" / "police.incident.1.json"
AUDIT_KEY = ("audit", "public-key")


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("partner_client", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["partner_client"] = module
    spec.loader.exec_module(module)
    return module


def hub_verifier_key(hub: RunningHub) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(hub.settings.data_dir), *AUDIT_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "VHHUB_DATABASE_URL": hub.settings.effective_database_url},
    )
    return result.stdout.strip()


def run_example(hub: RunningHub, case_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
    key = hub.settings.partner_keys_dir / "politie.private.jwk"
    return subprocess.run(
        [
            *(sys.executable, str(EXAMPLE), "--hub", hub.base_url, "--partner", "politie"),
            *("--key", str(key), "--case", case_id, "--hub-key", hub_verifier_key(hub)),
            *("--audience", hub.settings.audience, "--content", str(CONTENT), *extra),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_example_needs_only_httpx_and_pyjwt() -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    third_party = imported - set(sys.stdlib_module_names)
    assert third_party == {"httpx", "jwt", "cryptography"}, third_party
    assert "hub" not in imported


def test_the_example_publishes_checks_its_receipt_pulls_updates_and_reads_its_log(
    hub: RunningHub,
) -> None:
    with hub.client() as http:
        case = new_case(http, hub.settings)
    result = run_example(hub, case["id"], "--idempotency-key", "example-1")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fact types: ")
    assert lines[1].startswith("police.incident/1 requires: incident_date, incident_category")
    assert lines[2].startswith("published ") and lines[2].endswith(" version 1")
    assert lines[3].startswith("receipt ok: fact.publish ")
    assert lines[4].startswith("updates: ") and lines[4].endswith("ours in the feed")
    assert lines[5] == "updates since the kept cursor: 0"
    assert lines[6].startswith("receipt's log entry proven in the signed checkpoint of size ")
    assert lines[7].startswith("own log: ") and lines[7].endswith("the receipt's entry in it")
    # the content never reaches the output
    content = json.loads(CONTENT.read_text(encoding="utf-8"))
    assert str(content["description"]) not in result.stdout


def test_the_examples_receipt_check_refuses_what_it_must(hub: RunningHub) -> None:
    example = load_example()
    with hub.client() as http:
        case = new_case(http, hub.settings)
    content: dict[str, Any] = json.loads(CONTENT.read_text(encoding="utf-8"))
    client = example.PartnerClient(
        hub=hub.base_url,
        partner="politie",
        user="app-client-1",
        roles=["publisher", "participant"],
        private_jwk=json.loads(
            (hub.settings.partner_keys_dir / "politie.private.jwk").read_text(encoding="utf-8")
        ),
        audience=hub.settings.audience,
    )
    key = hub_verifier_key(hub)
    try:
        published = client.publish(
            case["id"],
            key="example-2",
            fact_type="police.incident/1",
            legal_basis="wpg_art_19",
            content=content,
            purpose="preparation",
        )
        receipt, salt = published["receipt"], published["receipt_salt"]
        claims = example.verify_receipt(receipt, key, content=content, salt=salt)
        record = client.own_log_entry(claims["log"]["seq"], purpose="audit")
    finally:
        client.close()
    assert claims["fact_id"] == published["id"] and claims["publisher"] == "politie"
    assert example.verify_receipt_proof(claims, record, key) > claims["log"]["seq"]

    # the proof: another entry, a changed path, a forged checkpoint
    other_leaf = {**record, "leaf_hash": "00" * 32}
    with pytest.raises(ValueError, match="another entry"):
        example.verify_receipt_proof(claims, other_leaf, key)
    if record["proof"]:
        bent = {**record, "proof": ["00" * 32, *record["proof"][1:]]}
        with pytest.raises(ValueError, match="does not lead"):
            example.verify_receipt_proof(claims, bent, key)
    note = record["checkpoint"]["note"]
    body, _, signature_block = note.rpartition("\n\n")
    lines = body.split("\n")
    forged_note = "\n".join([lines[0], str(int(lines[1]) + 1), lines[2]]) + "\n\n" + signature_block
    forged = {**record, "checkpoint": {**record["checkpoint"], "note": forged_note}}
    with pytest.raises(ValueError, match="signature does not verify"):
        example.verify_receipt_proof(claims, forged, key)

    changed = {**content, "area": "Elders"}
    with pytest.raises(ValueError, match="digest"):
        example.verify_receipt(receipt, key, content=changed, salt=salt)
    other_salt = example.base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    with pytest.raises(ValueError, match="digest"):
        example.verify_receipt(receipt, key, content=content, salt=other_salt)
    head, body, signature = receipt.split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(example.jwt.InvalidSignatureError):
        example.verify_receipt(f"{head}.{body}.{forged_signature}", key, content=content, salt=salt)
    name = key.split("+")[0]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    raw = b"\x01" + other
    other_hash = example.hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex()
    other_key = f"{name}+{other_hash}+{example.base64.b64encode(raw).decode()}"
    with pytest.raises(ValueError, match="another key"):
        example.verify_receipt(receipt, other_key, content=content, salt=salt)
