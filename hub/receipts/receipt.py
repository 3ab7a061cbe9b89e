"""The publish receipt: a compact JWS (RFC 7515) the hub signs with its access-log key.

A receipt says, in the hub's signed words: "this publisher published (corrected, withdrew)
fact F, version V, of type T in case C; the content it sent has this keyed digest; the act
is the access-log entry at position `seq` with this leaf hash". With the inclusion proof of
that entry against a signed checkpoint (`GET /api/v1/partner-log/entries/{seq}`), the
publisher can show anyone holding the hub's verifier key that the act is in the log the hub
signed -- and, with the content and the salt it kept, what it sent. The hub cannot later deny
the act (its signature), and the publisher cannot deny what it sent (the digest): docs/adr/
0405-publish-receipts-and-partner-log.md.

Format (all of it in this module, re-implementable from the ADR alone):

    header  = {"alg":"EdDSA","kid":"<origin>+<key hash hex>","typ":"vhhub-receipt+jws"}
    payload = RFC 8785 canonical JSON of the claims below
    receipt = b64url(JCS(header)) "." b64url(payload) "." b64url(Ed25519(signing input))

    claims  = {"v":1, "iss":<log origin>, "iat":<unix seconds>, "action":"fact.publish"|...,
               "case_id", "fact_id", "fact_type", "version", "idempotency_key",
               "publisher", "publisher_user",
               "content_digest":"hmac-sha256:<b64url>" | null (a withdrawal sends none),
               "log":{"seq":<int>, "leaf_hash":"<64 hex>"}}

    content_digest = HMAC-SHA256(key = salt (32 random bytes), JCS(content as received))

The salt travels beside the receipt in the publish answer, never inside it: the receipt alone
says nothing about the content, however few values a field can take, and the hub keeps no
salt. The key is the access log's Ed25519 key, whose verifier key partners already pin for
checkpoints (`kid` is that key's signed-note name and key hash).

A pure module apart from the Ed25519 recipe (`hub.crypto.signing`) and the stdlib HMAC: no
database, no clock except the caller's `iat`, no settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from hub.audit.checkpoints import CheckpointError, NoteVerifier, open_checkpoint
from hub.audit.entry import EntryError, entry_and_leaf_from_json
from hub.audit.merkle import ProofError, verify_inclusion
from hub.crypto.signing import SignatureError, SigningKey
from hub.receipts.jcs import CanonicalizationError, canonicalize

__all__ = [
    "RECEIPT_TYPE",
    "SALT_BYTES",
    "ReceiptClaims",
    "ReceiptError",
    "ReceiptProblem",
    "check_content",
    "check_proof",
    "content_digest",
    "issue_receipt",
    "kid_of",
    "new_salt",
    "read_receipt",
]

RECEIPT_TYPE: Final = "vhhub-receipt+jws"
RECEIPT_VERSION: Final = 1
SALT_BYTES: Final = 32
DIGEST_PREFIX: Final = "hmac-sha256:"
#: a receipt is a few hundred bytes; refuse anything that could not be one before parsing it
MAX_RECEIPT_CHARS: Final = 8192
_ACTIONS: Final = frozenset({"fact.publish", "fact.correct", "fact.withdraw"})
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_CLAIM_KEYS: Final = frozenset(
    {
        "v",
        "iss",
        "iat",
        "action",
        "case_id",
        "fact_id",
        "fact_type",
        "version",
        "idempotency_key",
        "publisher",
        "publisher_user",
        "content_digest",
        "log",
    }
)


class ReceiptProblem(StrEnum):
    """What failed, as a stable code: the CLI and the tests name it, never a value."""

    MALFORMED = "malformed"
    SIGNATURE = "signature"
    KEY = "key"
    CONTENT = "content"
    PROOF_MALFORMED = "proof_malformed"
    PROOF_OTHER_ENTRY = "proof_other_entry"
    ENTRY_CHANGED = "entry_changed"
    CHECKPOINT = "checkpoint"
    PROOF = "proof"


_MESSAGES: Final = {
    ReceiptProblem.MALFORMED: "the receipt is not a vhhub receipt",
    ReceiptProblem.SIGNATURE: "the receipt's signature does not verify under the key",
    ReceiptProblem.KEY: "the receipt names another key than the one given",
    ReceiptProblem.CONTENT: "the content and salt do not match the receipt's digest",
    ReceiptProblem.PROOF_MALFORMED: "the proof file is not an inclusion proof",
    ReceiptProblem.PROOF_OTHER_ENTRY: "the proof is for another log entry than the receipt's",
    ReceiptProblem.ENTRY_CHANGED: "the entry in the proof does not hash to the receipt's leaf",
    ReceiptProblem.CHECKPOINT: "the proof's checkpoint is not signed by the key for this log",
    ReceiptProblem.PROOF: "the inclusion proof does not lead to the checkpoint's root",
}


class ReceiptError(Exception):
    """A receipt, its content check or its proof does not verify. `problem` says which check
    failed; the message is fixed text and never shows the receipt, content or key."""

    def __init__(self, problem: ReceiptProblem) -> None:
        super().__init__(_MESSAGES[problem])
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ReceiptClaims:
    """What a verified receipt states."""

    issuer: str
    issued_at: int
    action: str
    case_id: str
    fact_id: str
    fact_type: str
    version: int
    idempotency_key: str
    publisher: str
    publisher_user: str
    content_digest: str | None
    seq: int
    leaf_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "v": RECEIPT_VERSION,
            "iss": self.issuer,
            "iat": self.issued_at,
            "action": self.action,
            "case_id": self.case_id,
            "fact_id": self.fact_id,
            "fact_type": self.fact_type,
            "version": self.version,
            "idempotency_key": self.idempotency_key,
            "publisher": self.publisher,
            "publisher_user": self.publisher_user,
            "content_digest": self.content_digest,
            "log": {"seq": self.seq, "leaf_hash": self.leaf_hash},
        }


# -- encoding ---------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Unpadded base64url that re-encodes to exactly `text` (one value, one spelling)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if _b64url(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _strict_object(raw: bytes) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_constant(_: str) -> Any:
        raise ValueError("NaN or infinity")

    value = json.loads(
        raw.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constant
    )
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def kid_of(verifier: NoteVerifier) -> str:
    """The receipt's `kid`: the key's signed-note name and key hash, as in its verifier key
    text (`<name>+<8 hex>`), so a partner matches it against the key it pinned."""
    return f"{verifier.name}+{verifier.key_hash.hex()}"


# -- the digest ----------------------------------------------------------------------------------


def new_salt() -> bytes:
    """32 bytes from the OS CSPRNG: a fresh HMAC key for each fact's content digest."""
    return secrets.token_bytes(SALT_BYTES)


def content_digest(content: Any, salt: bytes) -> str:
    """``hmac-sha256:`` + b64url(HMAC-SHA256(salt, RFC 8785 canonical JSON of content))."""
    if not isinstance(salt, bytes) or len(salt) != SALT_BYTES:
        raise ValueError("the salt is exactly 32 bytes")
    mac = hmac.new(salt, canonicalize(content, lone_surrogates=True), hashlib.sha256).digest()
    return DIGEST_PREFIX + _b64url(mac)


def salt_text(salt: bytes) -> str:
    return _b64url(salt)


def salt_from_text(text: str) -> bytes:
    try:
        salt = _b64url_decode(text.strip())
    except ValueError:
        raise ReceiptError(ReceiptProblem.CONTENT) from None
    if len(salt) != SALT_BYTES:
        raise ReceiptError(ReceiptProblem.CONTENT)
    return salt


# -- issuing and reading -----------------------------------------------------------------------


def issue_receipt(claims: ReceiptClaims, key: SigningKey, kid: str) -> str:
    """The compact JWS of `claims`, signed with `key` (the access log's key)."""
    header = {"alg": "EdDSA", "kid": kid, "typ": RECEIPT_TYPE}
    signing_input = _b64url(canonicalize(header)) + "." + _b64url(canonicalize(claims.to_json()))
    signature = key.sign(signing_input.encode("ascii"))
    return signing_input + "." + _b64url(signature)


def read_receipt(receipt: str, verifier: NoteVerifier) -> ReceiptClaims:
    """Verify the receipt's signature under `verifier` and return its claims; raise
    `ReceiptError` on any problem (format, key, signature)."""
    if not isinstance(receipt, str) or len(receipt) > MAX_RECEIPT_CHARS:
        raise ReceiptError(ReceiptProblem.MALFORMED)
    parts = receipt.strip().split(".")
    if len(parts) != 3:
        raise ReceiptError(ReceiptProblem.MALFORMED)
    try:
        header = _strict_object(_b64url_decode(parts[0]))
        payload_raw = _b64url_decode(parts[1])
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise ReceiptError(ReceiptProblem.MALFORMED) from None
    if set(header) != {"alg", "kid", "typ"} or header["alg"] != "EdDSA":
        raise ReceiptError(ReceiptProblem.MALFORMED)
    if header["typ"] != RECEIPT_TYPE or not isinstance(header["kid"], str):
        raise ReceiptError(ReceiptProblem.MALFORMED)
    if header["kid"] != kid_of(verifier):
        raise ReceiptError(ReceiptProblem.KEY)
    try:
        verifier.verify_key.verify((parts[0] + "." + parts[1]).encode("ascii"), signature)
    except SignatureError:
        raise ReceiptError(ReceiptProblem.SIGNATURE) from None
    # only now is the payload the hub's; still parse it strictly
    try:
        body = _strict_object(payload_raw)
        return _claims(body)
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise ReceiptError(ReceiptProblem.MALFORMED) from None


def _claims(body: Mapping[str, Any]) -> ReceiptClaims:
    if set(body) != _CLAIM_KEYS or body["v"] != RECEIPT_VERSION:
        raise ValueError("unknown receipt version or keys")
    log = body["log"]
    if not isinstance(log, dict) or set(log) != {"seq", "leaf_hash"}:
        raise ValueError("log")
    strings = ("iss", "action", "case_id", "fact_id", "fact_type", "idempotency_key")
    if not all(isinstance(body[k], str) for k in (*strings, "publisher", "publisher_user")):
        raise ValueError("a string claim is not a string")
    ints = (body["iat"], body["version"], log["seq"])
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ints):
        raise ValueError("an integer claim is not a non-negative integer")
    if body["action"] not in _ACTIONS:
        raise ValueError("action")
    if not isinstance(log["leaf_hash"], str) or not _HEX64.fullmatch(log["leaf_hash"]):
        raise ValueError("leaf hash")
    digest = body["content_digest"]
    if digest is not None and (not isinstance(digest, str) or not digest.startswith(DIGEST_PREFIX)):
        raise ValueError("content digest")
    return ReceiptClaims(
        issuer=body["iss"],
        issued_at=body["iat"],
        action=body["action"],
        case_id=body["case_id"],
        fact_id=body["fact_id"],
        fact_type=body["fact_type"],
        version=body["version"],
        idempotency_key=body["idempotency_key"],
        publisher=body["publisher"],
        publisher_user=body["publisher_user"],
        content_digest=digest,
        seq=log["seq"],
        leaf_hash=log["leaf_hash"],
    )


def check_content(claims: ReceiptClaims, content: Any, salt: bytes) -> None:
    """Return if `content` with `salt` gives the receipt's digest; raise otherwise."""
    if claims.content_digest is None:
        raise ReceiptError(ReceiptProblem.CONTENT)
    try:
        expected = content_digest(content, salt)
    except (CanonicalizationError, ValueError):
        raise ReceiptError(ReceiptProblem.CONTENT) from None
    if not hmac.compare_digest(expected, claims.content_digest):
        raise ReceiptError(ReceiptProblem.CONTENT)


# -- the inclusion proof -------------------------------------------------------------------------


def check_proof(claims: ReceiptClaims, proof: Mapping[str, Any], verifier: NoteVerifier) -> int:
    """Return the checkpoint's tree size if `proof` (the answer of `GET /api/v1/partner-log/
    entries/{seq}`, or any object with `seq`, `leaf_hash`, `proof` and `checkpoint.note`)
    shows the receipt's entry in a checkpoint of the receipt's log signed by `verifier`.

    When the proof carries the entry unredacted, its leaf hash is recomputed from its fields
    and the entry must name the receipt's fact: the receipt is then bound to the logged act,
    not only to a hash."""
    try:
        seq = proof["seq"]
        leaf = proof["leaf_hash"]
        path_hex = proof["proof"]
        note = proof["checkpoint"]["note"]
        if not isinstance(seq, int) or not isinstance(leaf, str) or not isinstance(note, str):
            raise TypeError("proof fields")
        if not isinstance(path_hex, Sequence) or isinstance(path_hex, str):
            raise TypeError("proof path")
        path = [bytes.fromhex(h) for h in path_hex]
        leaf_bytes = bytes.fromhex(leaf)
    except (KeyError, TypeError, ValueError):
        raise ReceiptError(ReceiptProblem.PROOF_MALFORMED) from None
    if seq != claims.seq or leaf != claims.leaf_hash:
        raise ReceiptError(ReceiptProblem.PROOF_OTHER_ENTRY)
    entry = proof.get("entry")
    if isinstance(entry, Mapping) and proof.get("redacted") is False:
        body = {k: v for k, v in entry.items() if k not in ("time", "leaf_hash")}
        try:
            parsed, recomputed = entry_and_leaf_from_json(body)
        except (EntryError, TypeError, ValueError):
            raise ReceiptError(ReceiptProblem.ENTRY_CHANGED) from None
        if recomputed != leaf_bytes or parsed.seq != claims.seq:
            raise ReceiptError(ReceiptProblem.ENTRY_CHANGED)
        if claims.fact_id not in parsed.object_ids or parsed.action.value != claims.action:
            raise ReceiptError(ReceiptProblem.ENTRY_CHANGED)
    try:
        checkpoint, _ = open_checkpoint(note, verifier, expected_origin=claims.issuer)
    except CheckpointError:
        raise ReceiptError(ReceiptProblem.CHECKPOINT) from None
    try:
        verify_inclusion(claims.seq, checkpoint.tree_size, leaf_bytes, path, checkpoint.root)
    except ProofError:
        raise ReceiptError(ReceiptProblem.PROOF) from None
    return checkpoint.tree_size
