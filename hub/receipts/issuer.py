"""Issuing receipts in the publishing transaction: the service's side of the receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.audit.checkpoints import parse_verifier_key
from hub.audit.entry import AccessLogEntry
from hub.audit.log import AccessLog
from hub.crypto.signing import SigningKey
from hub.receipts.receipt import (
    ReceiptClaims,
    content_digest,
    issue_receipt,
    kid_of,
    new_salt,
    salt_text,
)


@dataclass(frozen=True, slots=True)
class IssuedReceipt:
    """A receipt and, beside it, the salt of its content digest (None for a withdrawal)."""

    receipt: str
    salt: str | None


@dataclass(frozen=True, slots=True)
class ContentDigest:
    """A fact's content digest under a fresh salt, made before the log entry is appended:
    it does not depend on the entry, and canonicalising a batch's content under the log
    head's lock kept every other writer waiting (ADR 0020)."""

    digest: str
    salt: bytes

    @classmethod
    def of(cls, content: Any) -> ContentDigest:
        salt = new_salt()
        return cls(content_digest(content, salt), salt)


@dataclass(frozen=True, slots=True)
class Signer:
    """The log key that signs one entry's receipts, with its origin and `kid`."""

    key: SigningKey
    origin: str
    kid: str


@dataclass(frozen=True, slots=True)
class FactAct:
    """What a receipt names about one fact; the publisher is the entry's actor."""

    case_id: str
    fact_id: str
    fact_type: str
    version: int
    idempotency_key: str


class ReceiptIssuer:
    """Signs receipts with the access log's key, for entries the log just appended.

    The key is the one the log's key list names as current when the entry is written
    (`AccessLog.current_signer`, ADR 0406): after a rotation, by this process or another,
    receipts follow the checkpoints to the new key."""

    def __init__(self, access_log: AccessLog) -> None:
        self._log = access_log

    def signer(self, session: Session) -> Signer:
        """The current key, for the receipts of the entry just appended in `session`'s
        transaction (which holds the log head's lock, so no rotation slips in between)."""
        signer = self._log.current_signer(session)
        return Signer(signer.key, signer.origin, kid_of(parse_verifier_key(signer.verifier_key)))

    def issue(
        self,
        signer: Signer,
        entry: AccessLogEntry,
        leaf: bytes,
        act: FactAct,
        digest: ContentDigest | None,
    ) -> IssuedReceipt:
        """The receipt of `act`, logged as `entry` (whose Merkle leaf the append returned),
        with the content digest made before the append (None: a withdrawal)."""
        if entry.actor_partner is None or entry.actor_user is None:
            raise ValueError("a receipt names the publisher: the entry has no actor")
        claims = ReceiptClaims(
            issuer=signer.origin,
            # the entry's own time: the receipt and the log agree on when
            issued_at=entry.time_us // 1_000_000,
            action=entry.action.value,
            case_id=act.case_id,
            fact_id=act.fact_id,
            fact_type=act.fact_type,
            version=act.version,
            idempotency_key=act.idempotency_key,
            publisher=entry.actor_partner,
            publisher_user=entry.actor_user,
            content_digest=None if digest is None else digest.digest,
            seq=entry.seq,
            leaf_hash=leaf.hex(),
        )
        return IssuedReceipt(
            issue_receipt(claims, signer.key, signer.kid),
            None if digest is None else salt_text(digest.salt),
        )
