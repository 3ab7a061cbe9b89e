"""Ed25519 signing keys for the hub's own signatures (access-log checkpoints).

Why this module exists: `hub.crypto` is the only package allowed to touch
`cryptography.hazmat` (docs/principles.md section 3), so the access
log signs and verifies through the
two small types here and never sees a hazmat object.

Why Ed25519: deterministic signatures (no nonce to get wrong), 32-byte keys, and it is the
algorithm of C2SP signed notes (the checkpoint format, docs/adr/0401-access-log-format.md),
so any transparency-log tooling can check our checkpoints.

Design choices that keep the types hard to misuse:

- A private key is built from a 32-byte seed only (RFC 8032 section 5.1.5); the seed is what
  the key provider stores. `SigningKey` never hands the seed back, cannot be pickled and
  shows no key bytes in its repr -- only a short fingerprint of the *public* key.
- `VerifyKey.verify` returns nothing and raises `SignatureError` on any failure (wrong key,
  tampered message, malformed signature): one opaque error, like the rest of `hub.crypto`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Final, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.crypto.errors import CryptoError

__all__ = [
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "SIGNATURE_BYTES",
    "InvalidKeyEncoding",
    "SignatureError",
    "SigningKey",
    "VerifyKey",
    "generate_signing_seed",
]

#: An Ed25519 private key is fully determined by this many random bytes (RFC 8032).
SEED_BYTES: Final = 32
PUBLIC_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64

#: Prefix of the text form of a public key, so a key pasted into the wrong place (an X25519
#: key, a JWK thumbprint) is refused instead of silently misread.
_TEXT_PREFIX: Final = "ed25519:"


class SignatureError(CryptoError):
    """A signature does not verify under the given key.

    Deliberately opaque: a wrong key, a changed message and a malformed signature all raise
    this with the same message, so a caller cannot be used as an oracle.
    """

    _MESSAGE = "signature verification failed"

    def __init__(self) -> None:
        super().__init__(self._MESSAGE)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InvalidKeyEncoding(CryptoError, ValueError):
    """Bytes or text that should hold an Ed25519 key do not. The message never shows them."""


def generate_signing_seed() -> bytes:
    """A fresh seed from the OS CSPRNG; every 32-byte string is a valid Ed25519 seed."""
    return secrets.token_bytes(SEED_BYTES)


def _fingerprint(public_raw: bytes) -> str:
    # Short and public: enough to tell keys apart in logs and reprs, useless to an attacker.
    return hashlib.sha256(public_raw).hexdigest()[:16]


class VerifyKey:
    """An Ed25519 public key: checks signatures, and travels as raw bytes or text."""

    __slots__ = ("_key", "_raw")

    def __init__(self, _key: Ed25519PublicKey, _raw: bytes) -> None:
        # Private constructor: use `from_bytes`, `from_text` or `SigningKey.public_key()`.
        self._key = _key
        self._raw = _raw

    @classmethod
    def from_bytes(cls, raw: bytes) -> VerifyKey:
        """Load the 32-byte RFC 8032 encoding of a public key."""
        if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_BYTES:
            raise InvalidKeyEncoding("an Ed25519 public key is exactly 32 bytes")
        try:
            key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise InvalidKeyEncoding("not a valid Ed25519 public key") from None
        return cls(key, raw)

    @classmethod
    def from_text(cls, text: str) -> VerifyKey:
        """Load the text form written by `to_text` ("ed25519:" + standard base64)."""
        if not isinstance(text, str) or not text.startswith(_TEXT_PREFIX):
            raise InvalidKeyEncoding("an Ed25519 public key text starts with 'ed25519:'")
        encoded = text[len(_TEXT_PREFIX) :]
        try:
            raw = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise InvalidKeyEncoding("the key text is not valid base64") from None
        # Refuse non-canonical base64 so one key has exactly one text form.
        if base64.b64encode(raw).decode("ascii") != encoded:
            raise InvalidKeyEncoding("the key text is not canonical base64")
        return cls.from_bytes(raw)

    def to_bytes(self) -> bytes:
        """The 32-byte RFC 8032 encoding."""
        return self._raw

    def to_text(self) -> str:
        """A one-line text form for configuration files and the API: "ed25519:<base64>"."""
        return _TEXT_PREFIX + base64.b64encode(self._raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the public key: for logs and humans, not for trust."""
        return _fingerprint(self._raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Return if `signature` is this key's signature over `message`; raise otherwise."""
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
            raise SignatureError
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise SignatureError from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyKey):
            return NotImplemented
        return self._raw == other._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"VerifyKey(fingerprint={self.fingerprint})"


class SigningKey:
    """An Ed25519 private key. Signs; never reveals its seed, never pickles."""

    __slots__ = ("_key", "_public")

    def __init__(self, _key: Ed25519PrivateKey) -> None:
        # Private constructor: use `from_seed`.
        self._key = _key
        raw_public = _key.public_key().public_bytes_raw()
        self._public = VerifyKey.from_bytes(raw_public)

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Build the key from its 32-byte seed (as stored by the key provider)."""
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise InvalidKeyEncoding("an Ed25519 seed is exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over `message` (deterministic, RFC 8032)."""
        return self._key.sign(message)

    def public_key(self) -> VerifyKey:
        return self._public

    def __repr__(self) -> str:
        return f"SigningKey(public_fingerprint={self._public.fingerprint})"

    def __reduce__(self) -> NoReturn:
        # A private key that pickles ends up in caches, task queues and crash dumps.
        raise TypeError("SigningKey cannot be pickled; store the seed through a key provider")
