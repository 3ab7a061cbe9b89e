"""Keys from environment variables (a container's secrets): `EnvKeyProvider`.

Variables::

    VHHUB_KEK_<VERSION>      base64url KEK; <VERSION> is the version id upper-cased
    VHHUB_KEK_CURRENT        the version id that wraps new data keys
    VHHUB_BLIND_INDEX_KEY    base64url blind-index key
    VHHUB_AUDIT_SIGNING_KEY  base64url Ed25519 seed

Each value is the text a key file of `hub.crypto.key_files` holds (`hub.crypto.key_text`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from hub.crypto.blind_index import BlindIndexer
from hub.crypto.envelope import DataKey, Kek, WrappedKey, unwrap, validate_kek_version, wrap
from hub.crypto.errors import KeyNotFound, KeyStoreError
from hub.crypto.key_text import decode_key_text
from hub.crypto.signing import SigningKey

__all__ = ["EnvKeyProvider"]

_ENV_KEK_PREFIX: Final = "VHHUB_KEK_"
_ENV_KEK_CURRENT: Final = "VHHUB_KEK_CURRENT"
_ENV_BLIND_INDEX: Final = "VHHUB_BLIND_INDEX_KEY"
_ENV_AUDIT_SIGNING: Final = "VHHUB_AUDIT_SIGNING_KEY"


class EnvKeyProvider:
    """Keys from environment variables (a container's secrets), read once at construction.

    Everything present is validated up front, so a malformed variable stops the process at
    start-up with the variable's name rather than at the first request. Missing ones raise
    `KeyNotFound` when first needed. Rotation happens by redeploying with a new
    ``VHHUB_KEK_<VERSION>`` and ``VHHUB_KEK_CURRENT``, keeping the old variable until
    `rewrap` has moved every data key.

    `environ` defaults to ``os.environ``; tests pass a plain dict.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        keks: dict[str, Kek] = {}
        for name, value in env.items():
            if not name.startswith(_ENV_KEK_PREFIX) or name == _ENV_KEK_CURRENT:
                continue
            try:
                version = validate_kek_version(name[len(_ENV_KEK_PREFIX) :].lower())
            except ValueError:
                raise KeyStoreError(
                    f"{name}: the part after {_ENV_KEK_PREFIX} is not a valid KEK version id"
                ) from None
            keks[version] = Kek(version=version, key=decode_key_text(value, source=name))
        self._keks = keks

        self._current: str | None = None
        if _ENV_KEK_CURRENT in env:
            current = env[_ENV_KEK_CURRENT].strip().lower()
            if current not in keks:
                raise KeyStoreError(
                    f"{_ENV_KEK_CURRENT} names a KEK version with no "
                    f"{_ENV_KEK_PREFIX}<VERSION> variable"
                )
            self._current = current

        # Only key objects are kept: no attribute of the provider holds raw key bytes.
        blind_index = self._optional_key(env, _ENV_BLIND_INDEX)
        audit_signing = self._optional_key(env, _ENV_AUDIT_SIGNING)
        self._blind_indexer = None if blind_index is None else BlindIndexer(key=blind_index)
        self._audit_signer = None if audit_signing is None else SigningKey.from_seed(audit_signing)

    @staticmethod
    def _optional_key(env: Mapping[str, str], name: str) -> bytes | None:
        return decode_key_text(env[name], source=name) if name in env else None

    def __repr__(self) -> str:
        return f"EnvKeyProvider(kek_versions={self.kek_versions()!r})"

    # KeyProvider

    def current_kek_version(self) -> str:
        if self._current is None:
            raise KeyNotFound(f"no current KEK: {_ENV_KEK_CURRENT} is not set")
        return self._current

    def kek_versions(self) -> tuple[str, ...]:
        return tuple(sorted(self._keks))

    def wrap_data_key(self, dek: DataKey, *, case_id: str) -> WrappedKey:
        return wrap(self.current_kek(), dek, case_id=case_id)

    def unwrap_data_key(self, wrapped: WrappedKey, *, case_id: str) -> DataKey:
        return unwrap(self.kek(wrapped.kek_version), wrapped, case_id=case_id)

    def blind_indexer(self) -> BlindIndexer:
        if self._blind_indexer is None:
            raise KeyNotFound(f"{_ENV_BLIND_INDEX} is not set")
        return self._blind_indexer

    def audit_signer(self) -> SigningKey:
        if self._audit_signer is None:
            raise KeyNotFound(f"{_ENV_AUDIT_SIGNING} is not set")
        return self._audit_signer

    def audit_signers(self) -> tuple[SigningKey, ...]:
        # one key from the environment: rotate by file provider (ADR 0406)
        return (self.audit_signer(),)

    # LocalKeyProvider

    def current_kek(self) -> Kek:
        return self.kek(self.current_kek_version())

    def kek(self, version: str) -> Kek:
        try:
            return self._keks[version]
        except KeyError:
            raise KeyNotFound(
                f"KEK version {version!r} not found ({_ENV_KEK_PREFIX}{version.upper()} is not set)"
            ) from None
