"""Signed checkpoints of the access log, as C2SP signed notes.

Why this format: a checkpoint is the hub's signed statement "the log has this size and this
root". Writing it as a C2SP tlog-checkpoint inside a C2SP signed note
(https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note -- the format of the Go
checksum database and of Sigsum, Rekor and tessera logs) means existing witnesses and
tooling can check and cosign our checkpoints, and an auditor needs no vhhub code to do so.

A checkpoint note::

    <origin>\\n
    <tree size, decimal>\\n
    <base64 root hash>\\n
    \\n
    — <key name> <base64(key hash (4) || Ed25519 signature (64))>\\n

The signature covers the three body lines including their newlines. The key hash is the
first four bytes of SHA-256(key name || 0x0A || 0x01 || public key), 0x01 naming Ed25519;
the verifier key travels as ``<name>+<8 hex key hash>+<base64(0x01 || public key)>``, the
text form of golang.org/x/mod/sumdb/note.

Parsing is strict and refuses rather than guesses: valid UTF-8 without control characters
other than newline, canonical base64 and decimal, no extension lines, at most 100 signature
lines. Signatures by other keys (witness cosignatures) are ignored; every signature by the
trusted key must verify, and there must be at least one.

The hub signs under the key name that equals the log's origin, as C2SP tlog-checkpoint asks.
Hubs before 2026-12-05 signed under a separate name (``VHHUB_LOG_KEY_NAME``, by default
``vhhub.local``), and those notes are evidence that must keep verifying. So trust is placed
in the public key, not in its label: a signature line counts as the trusted key's when its
key hash is the hash of the trusted key under the name the line records, whatever that name
is (`open_checkpoint` reports the names, so a verifier can say which notes used an old one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from hub.audit.merkle import HASH_SIZE
from hub.crypto.signing import (
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    InvalidKeyEncoding,
    SignatureError,
    SigningKey,
    VerifyKey,
)

__all__ = [
    "DEFAULT_ORIGIN",
    "Checkpoint",
    "CheckpointError",
    "NoTrustedSignature",
    "NoteVerifier",
    "checkpoint_body",
    "key_hash",
    "open_checkpoint",
    "open_note",
    "parse_and_verify_checkpoint",
    "parse_verifier_key",
    "peek_checkpoint_unsafe",
    "peek_tree_size_unsafe",
    "sign_checkpoint",
    "sign_note",
    "verifier_key_text",
]

#: The log's identity in every checkpoint. A deployment sets its own (its public host name
#: and path), so checkpoints of two hubs can never be confused.
DEFAULT_ORIGIN: Final = "vhhub.local/access-log"

_ALG_ED25519: Final = 0x01
_KEY_HASH_BYTES: Final = 4
_SIG_PREFIX: Final = "— "  # U+2014 EM DASH, then a space
_MAX_SIGNATURES: Final = 100
_MAX_TREE_SIZE: Final = (1 << 64) - 1
_DECIMAL_RE: Final = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX8_RE: Final = re.compile(r"[0-9a-f]{8}")
# Origins and key names: printable ASCII without spaces; key names also without "+".
_ORIGIN_RE: Final = re.compile(r"[\x21-\x7e]{1,255}")
_KEY_NAME_RE: Final = re.compile(r"[\x21-\x2a\x2c-\x7e]{1,255}")


class CheckpointError(Exception):
    """A note, checkpoint or verifier key is malformed, or its signature does not verify.

    One type for every failure: a forged checkpoint and a garbled one get the same treatment
    (refused). Messages never include note text or key bytes.
    """


class NoTrustedSignature(CheckpointError):
    """The note carries no signature line of the trusted key at all (it may be another
    key's note): lets a verifier holding several keys try the next one."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a verified checkpoint states: the log `origin` had `tree_size` entries and `root`."""

    origin: str
    tree_size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A parsed verifier key: the key name, its 4-byte key hash and the public key."""

    name: str
    key_hash: bytes
    verify_key: VerifyKey


def _check_key_name(key_name: str) -> None:
    if not isinstance(key_name, str) or not _KEY_NAME_RE.fullmatch(key_name):
        raise CheckpointError("key name must be printable ASCII without spaces or '+'")


def _check_origin(origin: str) -> None:
    if not isinstance(origin, str) or not _ORIGIN_RE.fullmatch(origin):
        raise CheckpointError("origin must be printable ASCII without spaces")


def _b64decode_canonical(text: str, what: str) -> bytes:
    """Standard base64 that re-encodes to exactly `text`: one value, one spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CheckpointError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def key_hash(key_name: str, verify_key: VerifyKey) -> bytes:
    """The signed-note key hash: SHA-256(name || "\\n" || 0x01 || public key)[:4]."""
    _check_key_name(key_name)
    material = key_name.encode("ascii") + b"\n" + bytes([_ALG_ED25519]) + verify_key.to_bytes()
    return hashlib.sha256(material).digest()[:_KEY_HASH_BYTES]


def verifier_key_text(key_name: str, verify_key: VerifyKey) -> str:
    """The verifier key in sumdb/note text form: what the hub publishes for auditors."""
    encoded = base64.b64encode(bytes([_ALG_ED25519]) + verify_key.to_bytes()).decode("ascii")
    return f"{key_name}+{key_hash(key_name, verify_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse ``<name>+<hex key hash>+<base64(0x01 || key)>``, checking the key hash."""
    if not isinstance(text, str):
        raise CheckpointError("verifier key must be text")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("verifier key must be <name>+<key hash>+<key>")
    name, hash_hex, key_b64 = parts
    _check_key_name(name)
    if not _HEX8_RE.fullmatch(hash_hex):
        raise CheckpointError("verifier key hash must be 8 lower-case hex digits")
    key = _b64decode_canonical(key_b64, "verifier key")
    if len(key) != 1 + PUBLIC_KEY_BYTES or key[0] != _ALG_ED25519:
        raise CheckpointError("verifier key is not an Ed25519 key")
    try:
        verify_key = VerifyKey.from_bytes(key[1:])
    except InvalidKeyEncoding:
        raise CheckpointError("verifier key is not a valid Ed25519 key") from None
    expected = key_hash(name, verify_key)
    if expected.hex() != hash_hex:
        raise CheckpointError("verifier key hash does not match the key")
    return NoteVerifier(name=name, key_hash=expected, verify_key=verify_key)


def _check_note_text(text: str) -> None:
    # Signed-note text: one or more complete lines, no blank line, no control characters.
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise CheckpointError("note text must be non-empty, newline-terminated lines")
    _check_characters(text)


def _check_characters(text: str) -> None:
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch != "\n") or code == 0x7F or 0xD800 <= code < 0xE000:
            raise CheckpointError("note contains control or invalid characters")


def sign_note(text: str, signer: SigningKey, key_name: str) -> str:
    """A signed note over `text` with one Ed25519 signature line."""
    _check_note_text(text)
    khash = key_hash(key_name, signer.public_key())
    signature = signer.sign(text.encode("utf-8"))
    encoded = base64.b64encode(khash + signature).decode("ascii")
    return f"{text}\n{_SIG_PREFIX}{key_name} {encoded}\n"


def open_note(note: str | bytes, verifier: NoteVerifier) -> str:
    """Return the text of `note` if the trusted key signed it; raise `CheckpointError` if not.

    Follows the signed-note rules: the signature block starts after the last blank line;
    unknown signers are skipped (they may be witnesses); any signature that claims to be
    from the trusted key (its key hash is the trusted key's under the name on its line) must
    verify.
    """
    text, _ = _open_note(note, verifier)
    return text


def _trusted_hash(name: str, verifier: NoteVerifier) -> bytes | None:
    """The key hash the trusted key has under `name`; None for a name no key can have."""
    if name == verifier.name:
        return verifier.key_hash
    try:
        return key_hash(name, verifier.verify_key)
    except CheckpointError:
        return None  # not a name we could ever have signed under: another signer's line


def _open_note(note: str | bytes, verifier: NoteVerifier) -> tuple[str, tuple[str, ...]]:
    """The note's text and the key names under which the trusted key signed it."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise CheckpointError("note is not valid UTF-8") from None
    if not isinstance(note, str):
        raise CheckpointError("note must be text")
    _check_characters(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no signature block")
    text, block = note[: split + 1], note[split + 2 :]
    _check_note_text(text)
    if not block or not block.endswith("\n"):
        raise CheckpointError("signature block must be newline-terminated lines")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise CheckpointError("note has too many signatures")
    message = text.encode("utf-8")
    names: list[str] = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise CheckpointError("signature line must start with an em dash and a space")
        name, sep, sig_b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not name or not sig_b64 or " " in sig_b64:
            raise CheckpointError("signature line must be '— <name> <signature>'")
        if "+" in name or any(ch.isspace() for ch in name):
            raise CheckpointError("signature key name is malformed")
        raw = _b64decode_canonical(sig_b64, "signature")
        if len(raw) < _KEY_HASH_BYTES + 1:
            raise CheckpointError("signature is too short")
        # the trusted key under the name this line records (its own, the origin, or the name
        # an older hub used): the key hash binds name and key, so no other key matches
        if raw[:_KEY_HASH_BYTES] != _trusted_hash(name, verifier):
            continue  # another signer, e.g. a witness: neither trusted nor fatal
        if len(raw) != _KEY_HASH_BYTES + SIGNATURE_BYTES:
            raise CheckpointError("signature by the trusted key has the wrong length")
        try:
            verifier.verify_key.verify(message, raw[_KEY_HASH_BYTES:])
        except SignatureError:
            raise CheckpointError("signature by the trusted key does not verify") from None
        names.append(name)
    if not names:
        raise NoTrustedSignature("note carries no signature by the trusted key")
    return text, tuple(names)


def checkpoint_body(origin: str, tree_size: int, root: bytes) -> str:
    """The three checkpoint lines that get signed."""
    _check_origin(origin)
    if isinstance(tree_size, bool) or not isinstance(tree_size, int):
        raise CheckpointError("tree size must be an integer")
    if not 0 <= tree_size <= _MAX_TREE_SIZE:
        raise CheckpointError("tree size out of range")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise CheckpointError(f"root must be a {HASH_SIZE}-byte hash")
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode('ascii')}\n"


def sign_checkpoint(
    origin: str, tree_size: int, root: bytes, signer: SigningKey, key_name: str
) -> str:
    """The signed checkpoint note for a tree of `tree_size` leaves with `root`."""
    return sign_note(checkpoint_body(origin, tree_size, root), signer, key_name)


def _parse_body(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")
    if len(lines) != 3:
        # Extension lines are legal C2SP but we never write them: refuse what we don't use.
        raise CheckpointError("checkpoint body must be exactly origin, size and root")
    origin, size_text, root_b64 = lines
    _check_origin(origin)
    if not _DECIMAL_RE.fullmatch(size_text) or int(size_text) > _MAX_TREE_SIZE:
        raise CheckpointError("tree size must be a decimal without leading zeros")
    root = _b64decode_canonical(root_b64, "root hash")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root must be a {HASH_SIZE}-byte hash")
    return Checkpoint(origin=origin, tree_size=int(size_text), root=root)


def parse_and_verify_checkpoint(
    note_text: str | bytes,
    verifier_key_text: str,
    *,
    expected_origin: str | None = None,
) -> Checkpoint:
    """Verify the note's signature under the given verifier key, then parse the checkpoint.

    Raises `CheckpointError` on any problem. Pass `expected_origin` to also refuse a
    correctly signed checkpoint of another log.
    """
    checkpoint, _ = open_checkpoint(
        note_text, parse_verifier_key(verifier_key_text), expected_origin=expected_origin
    )
    return checkpoint


def open_checkpoint(
    note_text: str | bytes, verifier: NoteVerifier, *, expected_origin: str | None = None
) -> tuple[Checkpoint, tuple[str, ...]]:
    """`parse_and_verify_checkpoint` with a parsed key, also returning the key names under
    which the trusted key signed (the origin for every note since key name = origin)."""
    text, names = _open_note(note_text, verifier)
    checkpoint = _parse_body(text)
    if expected_origin is not None and checkpoint.origin != expected_origin:
        raise CheckpointError("checkpoint is for another log (origin differs)")
    return checkpoint, names


def peek_checkpoint_unsafe(note_text: str) -> tuple[int, bytes]:
    """The tree size and root a note *claims*, without checking its signature.

    Unsafe by name: for comparing a stored checkpoint row's columns with its note, whose
    signature the verifier checks separately. Never trust the result on its own."""
    text = note_text[: note_text.find("\n\n") + 1] if "\n\n" in note_text else ""
    if not text:
        raise CheckpointError("note does not look like a checkpoint")
    checkpoint = _parse_body(text)
    return checkpoint.tree_size, checkpoint.root


def peek_tree_size_unsafe(note_text: str) -> int:
    """The tree size a note *claims*, without checking its signature.

    Unsafe by name: only for placing notes in an export (`verify.export_lines`), where the
    verifier checks everything afterwards. Never trust the result.
    """
    lines = note_text.split("\n")
    if len(lines) < 2 or not _DECIMAL_RE.fullmatch(lines[1]):
        raise CheckpointError("note does not look like a checkpoint")
    return int(lines[1])
