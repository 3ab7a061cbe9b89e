"""The C2SP tlog-cosignature format, checked against the spec's own definitions, and the
witness key rotation statements (hub/audit/witness.py). Pure: no database."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from hub.audit.checkpoints import CheckpointError, sign_checkpoint
from hub.audit.witness import (
    cosign,
    follow_rotations,
    make_rotation,
    parse_rotation,
    parse_witness_key,
    valid_cosigners,
    verify_cosignature_line,
    with_cosignatures,
    witness_satisfied,
    witness_vkey,
)
from hub.crypto.signing import SigningKey

LOG = SigningKey.from_seed(bytes([1]) * 32)
WA = SigningKey.from_seed(bytes([2]) * 32)
WB = SigningKey.from_seed(bytes([3]) * 32)
ORIGIN = "example.com/behind-the-sofa"
NOTE = sign_checkpoint(ORIGIN, 20852163, bytes(range(32)), LOG, ORIGIN)


def test_a_cosignature_is_exactly_what_c2sp_defines() -> None:
    line = cosign(NOTE, WA, "witness.example.com/w1", 1679315147)
    name, _, b64 = line.rstrip("\n").removeprefix("— ").partition(" ")
    raw = base64.b64decode(b64)
    public = WA.public_key()
    key_id = hashlib.sha256(b"witness.example.com/w1\n\x04" + public.to_bytes()).digest()[:4]
    assert name == "witness.example.com/w1"
    assert raw[:4] == key_id and len(raw) == 4 + 8 + 64
    assert struct.unpack(">Q", raw[4:12]) == (1679315147,)
    body = NOTE[: NOTE.index("\n\n") + 1]
    message = b"cosignature/v1\ntime 1679315147\n" + body.encode()
    public.verify(message, raw[12:])  # raises if the signed message differs from the spec
    vkey = witness_vkey("witness.example.com/w1", public)
    assert vkey.split("+")[1] == key_id.hex()
    assert base64.b64decode(vkey.split("+")[2])[0] == 0x04


def test_cosignatures_verify_ignore_others_and_refuse_forgeries() -> None:
    a = parse_witness_key(witness_vkey("wa", WA.public_key()))
    b = parse_witness_key(witness_vkey("wb", WB.public_key()))
    line = cosign(NOTE, WA, "wa", 1_700_000_000)
    body = NOTE[: NOTE.index("\n\n") + 1]
    cosig = verify_cosignature_line(body, line, a)
    assert cosig is not None and cosig.timestamp == 1_700_000_000
    assert verify_cosignature_line(body, line, b) is None  # another witness's line
    other_body = body.replace("20852163", "20852164")
    with pytest.raises(CheckpointError):
        verify_cosignature_line(other_body, line, a)  # same key, other checkpoint
    # B signing under A's name and key id is a forgery of A's line
    forged = cosign(NOTE, WB, "wa", 1_700_000_000)
    forged = (
        "— wa "
        + base64.b64encode(
            base64.b64decode(line.split()[-1])[:12] + base64.b64decode(forged.split()[-1])[12:]
        ).decode()
    )
    with pytest.raises(CheckpointError):
        verify_cosignature_line(body, forged, a)
    both = with_cosignatures(NOTE, [line, cosign(NOTE, WB, "wb", 1_700_000_001)])
    assert {c.key.name for c in valid_cosigners(both, [a, b])} == {"wa", "wb"}
    assert [c.key.name for c in valid_cosigners(with_cosignatures(NOTE, [forged]), [a])] == []


def test_a_log_key_is_not_a_witness_key() -> None:
    from hub.audit.checkpoints import verifier_key_text

    with pytest.raises(CheckpointError):
        parse_witness_key(verifier_key_text(ORIGIN, LOG.public_key()))


def test_rotation_statements_need_both_keys_and_chain_from_the_pinned_key() -> None:
    new = SigningKey.from_seed(bytes([4]) * 32)
    statement = make_rotation(WA, "wa", new, "wa", 1_800_000_000)
    rotation = parse_rotation(statement)
    assert rotation.new.verify_key == new.public_key()
    tampered = statement.replace("time 1800000000", "time 1800000001")
    with pytest.raises(CheckpointError):
        parse_rotation(tampered)
    # a stranger's statement handing "from" A's key to theirs, signed only by theirs
    stranger = SigningKey.from_seed(bytes([5]) * 32)
    lines = make_rotation(stranger, "wa", new, "wa", 1).split("\n")
    lines[1] = "old " + witness_vkey("wa", WA.public_key())
    with pytest.raises(CheckpointError):
        parse_rotation("\n".join(lines))
    pinned = parse_witness_key(witness_vkey("wa", WA.public_key()))
    chain = follow_rotations(pinned, [statement])
    assert [k.verify_key for k, _ in chain] == [WA.public_key(), new.public_key()]
    assert chain[0][1] == 1_800_000_000 and chain[1][1] is None
    unrelated = make_rotation(WB, "wb", stranger, "wb", 1)
    assert len(follow_rotations(pinned, [unrelated])) == 1


def test_a_retired_witness_key_vouches_only_for_cosignatures_before_its_handover() -> None:
    new = SigningKey.from_seed(bytes([4]) * 32)
    chain = follow_rotations(
        parse_witness_key(witness_vkey("wa", WA.public_key())),
        [make_rotation(WA, "wa", new, "wa", 1_800_000_000)],
    )
    before = with_cosignatures(NOTE, [cosign(NOTE, WA, "wa", 1_799_999_999)])
    after = with_cosignatures(NOTE, [cosign(NOTE, WA, "wa", 1_800_000_000)])
    by_new = with_cosignatures(NOTE, [cosign(NOTE, new, "wa", 1_800_000_500)])
    assert witness_satisfied(before, chain)
    assert not witness_satisfied(after, chain)
    assert witness_satisfied(by_new, chain)
