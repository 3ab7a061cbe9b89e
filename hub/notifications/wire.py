"""What goes over the wire: a CloudEvent (structured JSON, NL GOV profile), signed with an
HTTP Message Signature (RFC 9421) under the hub's notification key, and that key as a JWKS.

The event is informatiearm: `subject` is the case id (a random UUID, a pseudonym, never a
BSN or a name), `dataref` says where to pull, and there is no `data` at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final

from cloudevents.core.bindings.http import to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.digests import ContentDigest

from hub.crypto.signing import SigningKey, VerifyKey

#: The signature's label and its signed `tag`: a verifier selects the hub's signature by tag
SIGNATURE_LABEL: Final = "vhhub"
SIGNATURE_TAG: Final = "vhhub-notification"
#: What the signature covers (ADR 0019): a receiver that checks these knows the hub sent
#: exactly this body to exactly this address, and when
COVERED_COMPONENTS: Final = ("@method", "@target-uri", "content-digest", "content-type", "date")
CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
#: `sequence` is a string (CloudEvents sequence extension): zero-padded, it orders as text too
SEQUENCE_DIGITS: Final = 20


@dataclass(frozen=True)
class Notification:
    """One delivery's event attributes: ids and times only."""

    id: str
    type: str
    source: str
    subject: str
    sequence: int
    dataref: str
    time: datetime


@dataclass(frozen=True)
class SignedRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def key_id(key: VerifyKey) -> str:
    """The RFC 7638 JWK thumbprint of the key: the `keyid` of every signature and the
    `kid` of the published JWK."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(key.to_bytes())},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwks(key: VerifyKey) -> dict[str, Any]:
    """The JWKS a partner verifies notifications with (RFC 8037 OKP key)."""
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(key.to_bytes()),
                "kid": key_id(key),
                "alg": "EdDSA",
                "use": "sig",
            }
        ]
    }


def cloudevent_body(notification: Notification) -> bytes:
    """The event in structured JSON mode (CloudEvents 1.0 JSON format), without data."""
    event = CloudEvent(
        {
            "specversion": "1.0",
            "id": notification.id,
            "source": notification.source,
            "type": notification.type,
            "subject": notification.subject,
            "time": notification.time.astimezone(UTC),
            "sequence": f"{notification.sequence:0{SEQUENCE_DIGITS}d}",
            "dataref": notification.dataref,
        }
    )
    return to_structured(event, JSONFormat()).body


class _Message:
    """The request as the signer reads it: method, absolute URL, lower-case headers."""

    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers = headers


def signed_request(
    url: str, notification: Notification, signer: SigningKey, *, now: datetime | None = None
) -> SignedRequest:
    """A POST of the event to `url`, with Content-Digest (RFC 9530), Date and Signature."""
    moment = now or datetime.now(UTC)
    body = cloudevent_body(notification)
    headers = {
        "content-type": CONTENT_TYPE,
        "date": format_datetime(moment, usegmt=True),
        "content-digest": ContentDigest.create(body),
    }
    message = _Message("POST", url, headers)
    http_signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)
    prepared = http_signer.prepare(
        message,
        key_id=key_id(signer.public_key()),
        created=moment,
        label=SIGNATURE_LABEL,
        tag=SIGNATURE_TAG,
        covered_component_ids=COVERED_COMPONENTS,
        body=body,
        use_existing_digest=True,
    )
    # signed here with the key object of hub.crypto: the private key never leaves it
    http_signer.apply(message, prepared, signer.sign(prepared.signature_base))
    return SignedRequest(url=url, headers=dict(message.headers), body=body)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
