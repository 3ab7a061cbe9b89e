"""Envelope encryption: one data key per case, sealed payloads bound to their place.

Why this shape (docs/adr/0301-envelope-format-and-aad.md has the full record):

- Each case gets its own 256-bit data key (DEK). Payloads are sealed with it, so deleting
  the case's wrapped DEK crypto-shreds every payload of the case at once (retention), and
  the number of messages under one key stays far below the random-nonce limit of AES-GCM.
- The DEK is stored only *wrapped* under a key-encryption key (KEK) that carries a version
  id. Rotating the KEK re-wraps DEKs (60 bytes each) without touching any payload.
- Every sealed payload is bound by its associated data (`Aad`) to a purpose label (which
  column / kind of record), the case id, the row id and the schema id. A ciphertext copied
  into another row, case or column therefore fails to open instead of showing the wrong
  content under the right policy decision.
- Every failure to open -- wrong key, a flipped bit, wrong `Aad`, truncation, an unknown
  format version -- raises the one opaque `DecryptionError`.

Sealed payload format, version 1 (all lengths in bytes)::

    version (1) = 0x01 | nonce (12, random) | AES-256-GCM ciphertext (len(plaintext)) | tag (16)

    GCM associated data = version byte || Aad.encode()

Wrapped data key format, version 1::

    version (1) = 0x01 | len(kek_version) (1) | kek_version (ASCII)
                | nonce (12) | AES-256-GCM ciphertext of the DEK (32) | tag (16)

    GCM associated data = version byte || lp("vhhub/wrap/v1") || lp(kek_version) || lp(case_id)

where ``lp(x)`` is the 4-byte big-endian length of the UTF-8 encoding of ``x`` followed by
that encoding. Length prefixes make every encoding unambiguous: no two different field
tuples ever produce the same bytes.
"""

from __future__ import annotations

import hmac
import os
import re
import struct
from dataclasses import dataclass
from typing import Final, NoReturn, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.crypto.errors import DecryptionError

__all__ = [
    "KEY_BYTES",
    "Aad",
    "DataKey",
    "DataKeyUnwrapper",
    "DataKeyWrapper",
    "Kek",
    "WrappedKey",
    "new_data_key",
    "open_sealed",
    "seal",
    "unwrap",
    "validate_kek_version",
    "wrap",
]

#: AES-256: every DEK and KEK is exactly this long.
KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16

_SEAL_V1: Final = 0x01
_SEAL_OVERHEAD: Final = 1 + _NONCE_BYTES + _TAG_BYTES

_WRAP_V1: Final = 0x01
_WRAP_DOMAIN: Final = b"vhhub/wrap/v1"
_AAD_DOMAIN: Final = b"vhhub/aad/v1"
_WRAPPED_BODY_BYTES: Final = _NONCE_BYTES + KEY_BYTES + _TAG_BYTES

_PURPOSE_RE: Final = re.compile(r"[a-z][a-z0-9_.\-]{0,63}")
# Lower-case so file names (kek-<version>.key) and environment variables
# (VHHUB_KEK_<VERSION>, upper-cased) map one to one; "current" names the pointer.
_KEK_VERSION_RE: Final = re.compile(r"[a-z0-9][a-z0-9_]{0,47}")
_RESERVED_KEK_VERSIONS: Final = frozenset({"current"})


def _lp(*fields: bytes) -> bytes:
    """Length-prefix each field (u32 big-endian) so concatenations cannot be ambiguous."""
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def _utf8(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str")
    if not value:
        raise ValueError(f"{name} must not be empty")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be valid Unicode text") from None


def validate_kek_version(version: object) -> str:
    """Return `version` if it is a well-formed KEK version id, else raise ValueError.

    Version ids appear in file names, environment variable names and wrapped-key records,
    so they are restricted to lower-case ``[a-z0-9_]`` (1-48 chars, not "current").
    """
    if not isinstance(version, str):
        raise TypeError("KEK version must be a str")
    if not _KEK_VERSION_RE.fullmatch(version) or version in _RESERVED_KEK_VERSIONS:
        raise ValueError(
            "KEK version must be 1-48 characters of [a-z0-9_], start with a letter or digit, "
            "and not be 'current'"
        )
    return version


def _check_key_bytes(what: str, key: object) -> bytes:
    if not isinstance(key, bytes):
        raise TypeError(f"{what} must be bytes")
    if len(key) != KEY_BYTES:
        # The length of a key is not secret; its bytes are.
        raise ValueError(f"{what} must be exactly {KEY_BYTES} bytes")
    return key


@dataclass(frozen=True, slots=True, kw_only=True)
class Aad:
    """Where a sealed payload belongs; opening it anywhere else fails.

    Keyword-only so a case id and a row id can never be swapped by position.

    - ``purpose``: the kind of record or column, e.g. ``"fact"``, ``"subject"``,
      ``"subject.identifiers"``, ``"plan"`` (lower-case label; *not* the request purpose
      of `hub.vocabulary.Purpose`).
    - ``case_id``: the case the payload belongs to.
    - ``row_id``: the primary key of the row that holds the ciphertext.
    - ``schema_id``: the schema / fact-type id (with version) the plaintext follows, so a
      payload cannot be reinterpreted under another schema.

    Example::

        Aad(purpose="fact", case_id=case.id, row_id=fact.id, schema_id="housing.eviction/1")
    """

    purpose: str
    case_id: str
    row_id: str
    schema_id: str

    def __post_init__(self) -> None:
        _utf8("Aad.purpose", self.purpose)
        if not _PURPOSE_RE.fullmatch(self.purpose):
            raise ValueError("Aad.purpose must be a lower-case label like 'fact' or 'subject'")
        _utf8("Aad.case_id", self.case_id)
        _utf8("Aad.row_id", self.row_id)
        _utf8("Aad.schema_id", self.schema_id)

    def encode(self) -> bytes:
        """The canonical, unambiguous encoding that goes into the GCM associated data.

        ``lp("vhhub/aad/v1") || lp(purpose) || lp(case_id) || lp(row_id) || lp(schema_id)``
        """
        return _lp(
            _AAD_DOMAIN,
            self.purpose.encode("utf-8"),
            self.case_id.encode("utf-8"),
            self.row_id.encode("utf-8"),
            self.schema_id.encode("utf-8"),
        )


class _SecretKey:
    """Common behaviour of key holders: no bytes in repr, no pickling, constant-time eq."""

    __slots__ = ("_key",)
    _key: bytes

    def __reduce__(self) -> NoReturn:
        # Keys must not leak into caches, task queues or pickled debug dumps by accident.
        raise TypeError(f"{type(self).__name__} cannot be pickled")

    def __copy__(self) -> _SecretKey:
        return self  # immutable

    def __deepcopy__(self, memo: object) -> _SecretKey:
        return self  # immutable

    __hash__ = None  # type: ignore[assignment]  # hashing would expose a key-derived value


class DataKey(_SecretKey):
    """A case's 256-bit data key (DEK). Make one with `new_data_key()`.

    Stored only wrapped (`wrap`); lives in memory only while a case's payloads are sealed
    or opened. ``repr`` shows no key material.
    """

    __slots__ = ("_aead",)
    _aead: AESGCM

    def __init__(self, *, key: bytes) -> None:
        self._key = _check_key_bytes("DataKey", key)
        self._aead = AESGCM(self._key)

    def __repr__(self) -> str:
        return "DataKey(<redacted>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataKey):
            return NotImplemented
        return hmac.compare_digest(self._key, other._key)


class Kek(_SecretKey):
    """A key-encryption key with its version id. Wraps DEKs, never payloads.

    Only local providers (file, environment) hold `Kek` objects; with a KMS the KEK never
    leaves the KMS. ``repr`` shows the version only.
    """

    __slots__ = ("_version",)
    _version: str

    def __init__(self, *, version: str, key: bytes) -> None:
        self._version = validate_kek_version(version)
        self._key = _check_key_bytes("Kek", key)

    @classmethod
    def generate(cls, version: str) -> Kek:
        """A fresh random KEK (os.urandom) under `version`."""
        return cls(version=version, key=os.urandom(KEY_BYTES))

    @property
    def version(self) -> str:
        """The version id recorded in every key this KEK wraps."""
        return self._version

    def __repr__(self) -> str:
        return f"Kek(version={self._version!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Kek):
            return NotImplemented
        same_key = hmac.compare_digest(self._key, other._key)
        return same_key and self._version == other._version


def new_data_key() -> DataKey:
    """A fresh random DEK for a new case (os.urandom, 256 bits)."""
    return DataKey(key=os.urandom(KEY_BYTES))


# --- sealing payloads -------------------------------------------------------------------------


def _seal_assoc(aad: Aad) -> bytes:
    return bytes([_SEAL_V1]) + aad.encode()


def _check_seal_args(key: object, aad: object) -> None:
    # Programming errors, not attacks: a loud TypeError, not DecryptionError.
    if not isinstance(key, DataKey):
        raise TypeError("payloads are sealed with a DataKey (a Kek only wraps data keys)")
    if not isinstance(aad, Aad):
        raise TypeError("aad must be an Aad")


def _check_bytes(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{name} must be bytes (encode text first)")
    return bytes(value)


def seal(key: DataKey, plaintext: bytes, *, aad: Aad) -> bytes:
    """Encrypt `plaintext` under the case's data key, bound to `aad`.

    Returns a version-1 envelope (see module docstring). A fresh random 96-bit nonce is
    drawn per call; one DEK per case keeps the message count per key far below the
    2**32 bound NIST SP 800-38D sets for random nonces.
    """
    return _seal_with_nonce(key, plaintext, aad=aad, nonce=os.urandom(_NONCE_BYTES))


def _seal_with_nonce(key: DataKey, plaintext: bytes, *, aad: Aad, nonce: bytes) -> bytes:
    """`seal` with a caller-chosen nonce. For known-answer tests only: reusing a nonce
    under one key destroys GCM's confidentiality and integrity."""
    _check_seal_args(key, aad)
    data = _check_bytes("plaintext", plaintext)
    if not isinstance(nonce, bytes) or len(nonce) != _NONCE_BYTES:
        raise ValueError(f"nonce must be {_NONCE_BYTES} bytes")
    body = key._aead.encrypt(nonce, data, _seal_assoc(aad))
    return bytes([_SEAL_V1]) + nonce + body


def open_sealed(key: DataKey, ciphertext: bytes, *, aad: Aad) -> bytes:
    """Decrypt a version-1 envelope made by `seal` with the same key and the same `aad`.

    Raises `DecryptionError` -- and only that -- for anything that is not an authentic
    envelope for exactly this key and place.
    """
    _check_seal_args(key, aad)
    blob = _check_bytes("ciphertext", ciphertext)
    if len(blob) < _SEAL_OVERHEAD or blob[0] != _SEAL_V1:
        raise DecryptionError
    nonce = blob[1 : 1 + _NONCE_BYTES]
    body = blob[1 + _NONCE_BYTES :]
    try:
        return key._aead.decrypt(nonce, body, _seal_assoc(aad))
    except InvalidTag:
        raise DecryptionError from None


# --- wrapping data keys -----------------------------------------------------------------------


class WrappedKey:
    """A case's DEK encrypted under one KEK version; safe to store next to the case.

    `kek_version` is readable without any key so a rotation job can find what still needs
    re-wrapping (``WHERE kek_version != :current``). Store `to_bytes()` in one column (it
    repeats the version, so the blob alone is self-describing) and, if useful for queries,
    `kek_version` in another. Build one with `wrap` or `WrappedKey.from_bytes`.
    """

    __slots__ = ("_body", "_kek_version")
    _kek_version: str
    _body: bytes

    def __init__(self, *, kek_version: str, body: bytes) -> None:
        self._kek_version = validate_kek_version(kek_version)
        if not isinstance(body, bytes) or len(body) != _WRAPPED_BODY_BYTES:
            raise ValueError("wrapped key body has the wrong length")
        self._body = body

    @property
    def kek_version(self) -> str:
        """Version id of the KEK that wrapped this key."""
        return self._kek_version

    def to_bytes(self) -> bytes:
        """Self-describing version-1 record (see module docstring)."""
        version = self._kek_version.encode("ascii")
        return bytes([_WRAP_V1, len(version)]) + version + self._body

    @classmethod
    def from_bytes(cls, blob: bytes) -> WrappedKey:
        """Parse `to_bytes()` output. Anything malformed raises `DecryptionError`."""
        data = _check_bytes("wrapped key", blob)
        if len(data) < 2 or data[0] != _WRAP_V1:
            raise DecryptionError
        n = data[1]
        if len(data) != 2 + n + _WRAPPED_BODY_BYTES:
            raise DecryptionError
        try:
            return cls(kek_version=data[2 : 2 + n].decode("ascii"), body=data[2 + n :])
        except (UnicodeDecodeError, ValueError):
            raise DecryptionError from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WrappedKey):
            return NotImplemented
        return self._kek_version == other._kek_version and self._body == other._body

    def __hash__(self) -> int:
        return hash((self._kek_version, self._body))

    def __repr__(self) -> str:
        return f"WrappedKey(kek_version={self._kek_version!r})"


class DataKeyWrapper(Protocol):
    """Anything that wraps DEKs without necessarily exposing its KEK (e.g. a KMS)."""

    def wrap_data_key(self, dek: DataKey, *, case_id: str) -> WrappedKey: ...


class DataKeyUnwrapper(Protocol):
    """Anything that unwraps DEKs without necessarily exposing its KEK (e.g. a KMS)."""

    def unwrap_data_key(self, wrapped: WrappedKey, *, case_id: str) -> DataKey: ...


def _wrap_assoc(kek_version: str, case_id: str) -> bytes:
    return bytes([_WRAP_V1]) + _lp(
        _WRAP_DOMAIN, kek_version.encode("ascii"), _utf8("case_id", case_id)
    )


def wrap(kek: Kek | DataKeyWrapper, dek: DataKey, *, case_id: str) -> WrappedKey:
    """Encrypt `dek` under `kek` (AES-256-GCM), bound to `case_id` and the KEK version.

    Binding the case id means a wrapped key copied to another case does not unwrap there;
    binding the version means the version field cannot be rewritten to point at another
    KEK. Given a key provider instead of a `Kek`, delegates to its `wrap_data_key`.
    """
    if not isinstance(kek, Kek):
        return kek.wrap_data_key(dek, case_id=case_id)
    if not isinstance(dek, DataKey):
        raise TypeError("only a DataKey can be wrapped")
    nonce = os.urandom(_NONCE_BYTES)
    body = AESGCM(kek._key).encrypt(nonce, dek._key, _wrap_assoc(kek.version, case_id))
    return WrappedKey(kek_version=kek.version, body=nonce + body)


def unwrap(kek: Kek | DataKeyUnwrapper, wrapped: WrappedKey, *, case_id: str) -> DataKey:
    """Recover the DEK of case `case_id` from `wrapped`.

    Accepts the `Kek` itself or a key provider (which picks the KEK by
    ``wrapped.kek_version`` -- or asks its KMS). A `Kek` of another version, another key,
    another case id or a tampered record all raise `DecryptionError`.
    """
    if not isinstance(wrapped, WrappedKey):
        raise TypeError("wrapped must be a WrappedKey (see WrappedKey.from_bytes)")
    if not isinstance(kek, Kek):
        return kek.unwrap_data_key(wrapped, case_id=case_id)
    assoc = _wrap_assoc(wrapped.kek_version, case_id)
    if kek.version != wrapped.kek_version:
        raise DecryptionError
    body = wrapped._body
    try:
        raw = AESGCM(kek._key).decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], assoc)
    except InvalidTag:
        raise DecryptionError from None
    return DataKey(key=raw)
