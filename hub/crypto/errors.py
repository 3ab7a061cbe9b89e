"""The crypto package's exceptions: one root, few leaves, and no secrets in any message.

`hub.crypto` is infrastructure and imports nothing from the rest of the hub, so it cannot
derive from the hub's `HubError`; the edge that translates errors into problem+json maps
`CryptoError` subclasses once (see docs/principles.md section 4).

Every message here is a fixed string or names a file, an environment variable or a key
*version* -- never key bytes, plaintext or an identifier value. Tests assert this.
"""

from __future__ import annotations

__all__ = [
    "CryptoError",
    "DecryptionError",
    "InsecureKeyFile",
    "InvalidIdentifier",
    "KeyNotFound",
    "KeyStoreError",
]


class CryptoError(Exception):
    """Root of every exception raised on purpose by `hub.crypto`."""


class DecryptionError(CryptoError):
    """A sealed payload or wrapped key could not be opened.

    Deliberately opaque, like Fernet's ``InvalidToken``: wrong key, tampered bytes, wrong
    associated data (moved to another row, case or column), truncation and an unknown format
    version all raise this one exception with the same message and no chained cause, so a
    caller -- or an attacker probing through one -- cannot tell which check failed.
    """

    _MESSAGE = "decryption failed"

    def __init__(self) -> None:
        super().__init__(self._MESSAGE)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class KeyNotFound(CryptoError):
    """No key with the requested version (or of the requested kind) is available.

    Kept apart from `DecryptionError` on purpose: a missing key is an operational state
    (a KEK retired too early, an environment variable not set), not a forgery, and the
    operator needs to know which version is missing. Version ids are not secret.
    """


class KeyStoreError(CryptoError):
    """Key material exists but cannot be used: malformed, inconsistent or unsafe.

    Messages name the file or environment variable so an operator can fix it, and never
    include the key.
    """


class InsecureKeyFile(KeyStoreError):
    """A key file or the keys directory is readable or writable beyond its owner.

    Raised instead of loading the key (fail closed): a key that others could read must be
    treated as compromised, and a directory others could write lets them swap keys.
    """


class InvalidIdentifier(CryptoError, ValueError):
    """An identifier (BSN, name, date of birth) is not valid for a blind index.

    A `ValueError` so generic input handling treats it as bad input (4xx). The message says
    what was expected, never the value: the value is personal data and messages end up in
    logs.
    """
