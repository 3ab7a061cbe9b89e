"""Witness cosignatures of checkpoints (C2SP tlog-cosignature) and witness key rotation.

Why a pure module: a partner's witness, the hub that accepts cosignatures and an auditor's
verifier all check the same bytes, so the format lives in one place that imports no
database, settings or network code (like `checkpoints`, `merkle` and `verify`).

A cosignature is a signed-note signature line on a checkpoint (https://c2sp.org/tlog-cosignature)::

    — <witness name> base64(key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64))

The key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4]; 0x04 names a timestamped
Ed25519 cosignature (cosignature/v1), so a witness key can never be mistaken for a log key
(0x01). The signature covers::

    cosignature/v1\\n
    time <timestamp, decimal>\\n
    <the checkpoint body: every line above the blank line, with its newline>

A witness key travels as a vkey: ``<name>+<8 hex key ID>+<base64(0x04 || public key)>``.

Rotation of a witness key (vhhub's own, not C2SP): the witness signs a statement naming its
old and new vkeys with BOTH keys, so the hub (and an auditor who pinned the old key) can
follow the rotation without trusting anything the hub says::

    vhhub-witness-key-rotation/v1\\n
    old <old vkey>\\n
    new <new vkey>\\n
    time <unix seconds>\\n

sent as that text plus two lines ``sig <base64 signature by old>`` and ``sig <... by new>``.
The prefix keeps these signatures apart from cosignatures made with the same key.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from hub.audit.checkpoints import (
    CheckpointError,
    _b64decode_canonical,
    _check_key_name,
    _check_note_text,
)
from hub.crypto.signing import (
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    InvalidKeyEncoding,
    SignatureError,
    SigningKey,
    VerifyKey,
)

__all__ = [
    "COSIGNATURE_HEADER",
    "Cosignature",
    "KeyRotation",
    "WitnessKey",
    "cosign",
    "cosignature_lines",
    "follow_rotations",
    "make_rotation",
    "note_body",
    "parse_rotation",
    "parse_witness_key",
    "valid_cosigners",
    "verify_cosignature_line",
    "with_cosignatures",
    "witness_key_id",
    "witness_satisfied",
    "witness_vkey",
]

COSIGNATURE_HEADER: Final = "cosignature/v1\n"
_ALG_COSIGNATURE_V1: Final = 0x04
_SIG_PREFIX: Final = "— "
_KEY_ID_BYTES: Final = 4
_TIMESTAMP_BYTES: Final = 8
_MAX_TIMESTAMP: Final = (1 << 63) - 1
_ROTATION_HEADER: Final = "vhhub-witness-key-rotation/v1\n"


@dataclass(frozen=True, slots=True)
class WitnessKey:
    """A parsed witness vkey: name, key ID and public key."""

    name: str
    key_id: bytes
    verify_key: VerifyKey

    @property
    def text(self) -> str:
        return witness_vkey(self.name, self.verify_key)


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One verified cosignature: whose, when (the witness's clock) and the line itself."""

    key: WitnessKey
    timestamp: int
    line: str


def witness_key_id(name: str, verify_key: VerifyKey) -> bytes:
    """SHA-256(name || "\\n" || 0x04 || public key)[:4] (C2SP tlog-cosignature)."""
    _check_key_name(name)
    material = name.encode("ascii") + b"\n" + bytes([_ALG_COSIGNATURE_V1]) + verify_key.to_bytes()
    return hashlib.sha256(material).digest()[:_KEY_ID_BYTES]


def witness_vkey(name: str, verify_key: VerifyKey) -> str:
    encoded = base64.b64encode(bytes([_ALG_COSIGNATURE_V1]) + verify_key.to_bytes()).decode()
    return f"{name}+{witness_key_id(name, verify_key).hex()}+{encoded}"


def parse_witness_key(text: str) -> WitnessKey:
    """Parse a witness vkey; raises `CheckpointError` when it is not a cosignature/v1 key."""
    if not isinstance(text, str):
        raise CheckpointError("witness key must be text")
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("witness key must be <name>+<key id>+<key>")
    name, id_hex, key_b64 = parts
    _check_key_name(name)
    raw = _b64decode_canonical(key_b64, "witness key")
    if len(raw) != 1 + PUBLIC_KEY_BYTES or raw[0] != _ALG_COSIGNATURE_V1:
        raise CheckpointError("witness key is not a cosignature/v1 (0x04) Ed25519 key")
    try:
        verify_key = VerifyKey.from_bytes(raw[1:])
    except InvalidKeyEncoding:
        raise CheckpointError("witness key is not a valid Ed25519 key") from None
    key_id = witness_key_id(name, verify_key)
    if key_id.hex() != id_hex:
        raise CheckpointError("witness key ID does not match the key")
    return WitnessKey(name=name, key_id=key_id, verify_key=verify_key)


def note_body(note: str) -> str:
    """The body of a signed note (every line above the blank line, with its newline)."""
    split = note.find("\n\n")
    if split < 0:
        raise CheckpointError("note has no signature block")
    body = note[: split + 1]
    _check_note_text(body)
    return body


def _message(body: str, timestamp: int) -> bytes:
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def cosign(note: str, signer: SigningKey, name: str, timestamp: int) -> str:
    """The cosignature line (with its newline) of `signer` on the checkpoint `note`.

    The caller has checked the checkpoint (hub signature, consistency): a cosignature states
    that this is the largest consistent tree the witness has seen."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise CheckpointError("timestamp out of range")
    body = note_body(note)
    key_id = witness_key_id(name, signer.public_key())
    signature = signer.sign(_message(body, timestamp))
    raw = key_id + struct.pack(">Q", timestamp) + signature
    return f"{_SIG_PREFIX}{name} {base64.b64encode(raw).decode()}\n"


def cosignature_lines(note: str) -> list[str]:
    """The signature lines of a note (each with its newline), unverified."""
    split = note.rfind("\n\n")
    if split < 0:
        return []
    return [line + "\n" for line in note[split + 2 :].splitlines() if line]


def verify_cosignature_line(body: str, line: str, key: WitnessKey) -> Cosignature | None:
    """The cosignature `line` by `key` over the note `body`, or None when the line is another
    signer's. Raises `CheckpointError` when the line claims to be `key`'s and does not verify
    (a forged or garbled cosignature is refused, never skipped)."""
    text = line[:-1] if line.endswith("\n") else line
    if not text.startswith(_SIG_PREFIX):
        raise CheckpointError("signature line must start with an em dash and a space")
    name, sep, sig_b64 = text[len(_SIG_PREFIX) :].partition(" ")
    if not sep or name != key.name:
        return None
    raw = _b64decode_canonical(sig_b64, "cosignature")
    if raw[:_KEY_ID_BYTES] != key.key_id:
        return None
    if len(raw) != _KEY_ID_BYTES + _TIMESTAMP_BYTES + SIGNATURE_BYTES:
        raise CheckpointError("cosignature has the wrong length")
    (timestamp,) = struct.unpack(">Q", raw[_KEY_ID_BYTES : _KEY_ID_BYTES + _TIMESTAMP_BYTES])
    if timestamp > _MAX_TIMESTAMP:
        raise CheckpointError("cosignature timestamp out of range")
    try:
        key.verify_key.verify(_message(body, timestamp), raw[_KEY_ID_BYTES + _TIMESTAMP_BYTES :])
    except SignatureError:
        raise CheckpointError("cosignature does not verify") from None
    return Cosignature(key=key, timestamp=timestamp, line=text + "\n")


def valid_cosigners(note: str, keys: Iterable[WitnessKey]) -> list[Cosignature]:
    """The valid cosignatures on `note` by distinct given keys (one per public key: the
    same key under two names is one witness). A line that claims a given key and fails is
    not counted. Does NOT check the log's own signature: callers do that first."""
    try:
        body = note_body(note)
    except CheckpointError:
        return []
    found: dict[bytes, Cosignature] = {}
    lines = cosignature_lines(note)
    for key in keys:
        public = key.verify_key.to_bytes()
        if public in found:
            continue
        for line in lines:
            try:
                cosig = verify_cosignature_line(body, line, key)
            except CheckpointError:
                continue
            if cosig is not None:
                found[public] = cosig
                break
    return list(found.values())


def with_cosignatures(note: str, lines: Sequence[str]) -> str:
    """`note` with the given signature lines appended (skipping any already on it)."""
    present = set(cosignature_lines(note))
    extra = [line if line.endswith("\n") else line + "\n" for line in lines]
    return note + "".join(line for line in extra if line not in present)


# -- witness key rotation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """A verified rotation statement: `old` hands over to `new` at `time`."""

    old: WitnessKey
    new: WitnessKey
    time: int
    text: str


def make_rotation(old: SigningKey, old_name: str, new: SigningKey, new_name: str, time: int) -> str:
    """The rotation statement, signed by the old and by the new key."""
    body = (
        f"{_ROTATION_HEADER}old {witness_vkey(old_name, old.public_key())}\n"
        f"new {witness_vkey(new_name, new.public_key())}\ntime {time}\n"
    )
    sig_old = base64.b64encode(old.sign(body.encode())).decode()
    sig_new = base64.b64encode(new.sign(body.encode())).decode()
    return f"{body}sig {sig_old}\nsig {sig_new}\n"


def parse_rotation(text: str) -> KeyRotation:
    """Parse and verify a rotation statement (both signatures); raises `CheckpointError`."""
    if not isinstance(text, str) or len(text) > 4096:
        raise CheckpointError("rotation statement must be text of at most 4096 characters")
    lines = text.split("\n")
    if len(lines) != 7 or lines[6] != "" or lines[0] + "\n" != _ROTATION_HEADER:
        raise CheckpointError("not a witness key rotation statement")
    if not (lines[1].startswith("old ") and lines[2].startswith("new ")):
        raise CheckpointError("rotation statement must name the old and the new key")
    if not lines[3].startswith("time ") or not lines[3][5:].isdigit():
        raise CheckpointError("rotation statement must carry a time")
    if not (lines[4].startswith("sig ") and lines[5].startswith("sig ")):
        raise CheckpointError("rotation statement must carry two signatures")
    old = parse_witness_key(lines[1][4:])
    new = parse_witness_key(lines[2][4:])
    if old.verify_key.to_bytes() == new.verify_key.to_bytes():
        raise CheckpointError("a rotation must change the key")
    body = "\n".join(lines[:4]) + "\n"
    for key, sig_line in ((old, lines[4]), (new, lines[5])):
        signature = _b64decode_canonical(sig_line[4:], "rotation signature")
        try:
            key.verify_key.verify(body.encode(), signature)
        except SignatureError:
            raise CheckpointError("rotation statement signature does not verify") from None
    return KeyRotation(old=old, new=new, time=int(lines[3][5:]), text=text)


def follow_rotations(
    pinned: WitnessKey, statements: Iterable[str]
) -> list[tuple[WitnessKey, int | None]]:
    """Every key the witness pinned as `pinned` has used, each with the time it was handed
    over (None for the current one): the pinned key and each key a valid statement signed
    by a key already followed hands over to. Statements that do not chain from the pinned
    key are ignored (anyone can sign a statement for their own keys). A cosignature by a
    handed-over key counts only with a timestamp before the hand-over: a retired key that
    leaked cannot vouch for a later checkpoint."""
    chain: list[tuple[WitnessKey, int | None]] = [(pinned, None)]
    pending = []
    for text in statements:
        try:
            pending.append(parse_rotation(text))
        except CheckpointError:
            continue
    progressed = True
    while progressed:
        progressed = False
        known = {k.text: i for i, (k, _) in enumerate(chain)}
        for rotation in sorted(pending, key=lambda r: r.time):
            at = known.get(rotation.old.text)
            if at is not None and chain[at][1] is None and rotation.new.text not in known:
                chain[at] = (chain[at][0], rotation.time)
                chain.append((rotation.new, None))
                pending.remove(rotation)
                progressed = True
                break
    return chain


def witness_satisfied(note: str, chain: Sequence[tuple[WitnessKey, int | None]]) -> bool:
    """Did the witness (one pinned key and the keys it rotated to) cosign `note`?"""
    for cosig in valid_cosigners(note, [key for key, _ in chain]):
        until = next(u for k, u in chain if k.text == cosig.key.text)
        if until is None or cosig.timestamp < until:
            return True
    return False
