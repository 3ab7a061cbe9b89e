"""Issuing receipts in the publishing transaction: the service's side of the receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.audit.checkpoints import parse_verifier_key
from hub.audit.entry import AccessLogEntry, entry_leaf_hash
from hub.audit.log import LogSigner
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
class FactAct:
    """What a receipt names about one fact; the publisher is the entry's actor."""

    case_id: str
    fact_id: str
    fact_type: str
    version: int
    idempotency_key: str


class ReceiptIssuer:
    """Signs receipts with the access log's key, for entries the log just appended."""

    def __init__(self, signer: LogSigner) -> None:
        self._key = signer.key
        self._origin = signer.origin
        self._kid = kid_of(parse_verifier_key(signer.verifier_key))

    def issue(
        self, entry: AccessLogEntry, act: FactAct, content: Any | None, *, leaf: bytes | None = None
    ) -> IssuedReceipt:
        """The receipt of `act`, logged as `entry`; a content digest under a fresh salt when
        `content` is given (publish, correction), none for a withdrawal."""
        if entry.actor_partner is None or entry.actor_user is None:
            raise ValueError("a receipt names the publisher: the entry has no actor")
        salt = new_salt() if content is not None else None
        claims = ReceiptClaims(
            issuer=self._origin,
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
            content_digest=content_digest(content, salt) if salt is not None else None,
            seq=entry.seq,
            leaf_hash=(leaf or entry_leaf_hash(entry)).hex(),
        )
        return IssuedReceipt(
            issue_receipt(claims, self._key, self._kid),
            salt_text(salt) if salt is not None else None,
        )
