"""Where the hub's long-lived secrets come from: the `KeyProvider` interface and `rewrap`.

The rest of the hub asks a `KeyProvider` to wrap and unwrap case data keys, for a
`BlindIndexer` (blind indexes of subject identifiers) and for the access log's `SigningKey`.
It never gets key bytes: no KEK, no blind-index key, no signing seed. So a KMS or HSM could
keep every key inside and offer wrap/unwrap, MAC and sign as a service.

The providers live in modules named after where the keys come from:

- `hub.crypto.key_files`: `FileKeyProvider` (a keys directory in the data dir, with the file
  layout and mode checks), `ensure_dev_keys` for ``vhhub init``, `write_secret_file`.
- `hub.crypto.key_env`: `EnvKeyProvider` (environment variables, a container's secrets).
- `hub.crypto.key_text`: the base64url text both use for a key.

Both also satisfy `LocalKeyProvider`, which exposes `Kek` objects for rotation tooling and
tests. Every public name of those modules is importable from here as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hub.crypto.blind_index import BlindIndexer
from hub.crypto.envelope import DataKey, Kek, WrappedKey
from hub.crypto.key_env import EnvKeyProvider
from hub.crypto.key_files import (
    AUDIT_SIGNING_KEY_FILE,
    BLIND_INDEX_KEY_FILE,
    KEK_CURRENT_FILE,
    FileKeyProvider,
    KeyReport,
    ensure_dev_keys,
    write_secret_file,
)
from hub.crypto.signing import SigningKey

__all__ = [
    "AUDIT_SIGNING_KEY_FILE",
    "BLIND_INDEX_KEY_FILE",
    "KEK_CURRENT_FILE",
    "EnvKeyProvider",
    "FileKeyProvider",
    "KeyProvider",
    "KeyReport",
    "LocalKeyProvider",
    "ensure_dev_keys",
    "rewrap",
    "write_secret_file",
]


class KeyProvider(Protocol):
    """What the hub needs from its key store. Key bytes are deliberately not part of it.

    `wrap_data_key` / `unwrap_data_key` let a KMS or HSM keep the KEK inside; the file and
    environment providers do the same locally with `hub.crypto.envelope.wrap`/`unwrap`.
    `blind_indexer` and `audit_signer` return objects that use their key without showing it.
    """

    def current_kek_version(self) -> str:
        """Version id of the KEK that wraps new data keys."""
        ...

    def kek_versions(self) -> tuple[str, ...]:
        """All KEK versions this provider can unwrap with, sorted."""
        ...

    def wrap_data_key(self, dek: DataKey, *, case_id: str) -> WrappedKey:
        """Wrap `dek` for case `case_id` under the current KEK."""
        ...

    def unwrap_data_key(self, wrapped: WrappedKey, *, case_id: str) -> DataKey:
        """Unwrap with the KEK named by ``wrapped.kek_version`` (KeyNotFound if gone)."""
        ...

    def blind_indexer(self) -> BlindIndexer:
        """Blind indexes of subject identifiers under the blind-index key (ADR 0302)."""
        ...

    def audit_signer(self) -> SigningKey:
        """The access log's Ed25519 signing key (signs checkpoints; never shows its seed)."""
        ...

    def audit_signers(self) -> tuple[SigningKey, ...]:
        """Every checkpoint signing key this provider holds, oldest first (rotation, ADR
        0406): the log signs with the one its signed key list names as current."""
        ...


class LocalKeyProvider(KeyProvider, Protocol):
    """A provider that holds KEKs in process memory and can hand them out (file, env)."""

    def current_kek(self) -> Kek:
        """The KEK that wraps new data keys."""
        ...

    def kek(self, version: str) -> Kek:
        """The KEK of `version`; raises `KeyNotFound` if this provider does not have it."""
        ...


def rewrap(provider: KeyProvider, wrapped: WrappedKey, *, case_id: str) -> WrappedKey:
    """Re-wrap a case's data key under the provider's current KEK (KEK rotation).

    Returns `wrapped` itself when it already uses the current version, so a rotation job
    can run again after an interruption without doing work twice. Payloads are untouched:
    the data key stays the same.
    """
    if wrapped.kek_version == provider.current_kek_version():
        return wrapped
    dek = provider.unwrap_data_key(wrapped, case_id=case_id)
    return provider.wrap_data_key(dek, case_id=case_id)


if TYPE_CHECKING:  # mypy proves each provider satisfies the protocol it claims
    _file_provider: LocalKeyProvider = FileKeyProvider(Path())
    _env_provider: LocalKeyProvider = EnvKeyProvider({})
