"""hub.crypto: the one package that touches cryptographic primitives.

Features use these recipes and never AES, HMAC or key bytes directly (docs/principles.md section 3):

- `seal` / `open_sealed` with a case's `DataKey` and an `Aad` naming where the payload
  belongs; `new_data_key`, and a `KeyProvider` to `wrap_data_key` / `unwrap_data_key` it.
- ``KeyProvider.blind_indexer()`` -> `BlindIndexer` (``.bsn(...)``, ``.name_dob(...)``) for
  matching subjects without decrypting; ``KeyProvider.audit_signer()`` -> the access log's
  `hub.crypto.signing.SigningKey`. Neither hands out its key.
- `FileKeyProvider` (`hub.crypto.key_files`), `EnvKeyProvider` (`hub.crypto.key_env`);
  `ensure_dev_keys` for ``vhhub init``; `rewrap` for KEK rotation.
- `generate_partner_key` and friends in `hub.crypto.jwk` for partner JWKs.

Every failure to open or unwrap raises the one opaque `DecryptionError`; every exception
the package raises on purpose derives from `CryptoError`. Infrastructure: imports nothing
from the rest of the hub.
"""

from hub.crypto.blind_index import (
    BLIND_INDEX_HEX_CHARS,
    BlindIndexer,
    BlindIndexKind,
    normalize_bsn,
    normalize_dob,
    normalize_name,
    valid_bsn,
)
from hub.crypto.envelope import (
    Aad,
    DataKey,
    Kek,
    WrappedKey,
    new_data_key,
    open_sealed,
    seal,
    unwrap,
    wrap,
)
from hub.crypto.errors import (
    CryptoError,
    DecryptionError,
    InsecureKeyFile,
    InvalidIdentifier,
    KeyNotFound,
    KeyStoreError,
)
from hub.crypto.keys import (
    EnvKeyProvider,
    FileKeyProvider,
    KeyProvider,
    KeyReport,
    LocalKeyProvider,
    ensure_dev_keys,
    rewrap,
)

__all__ = [
    "BLIND_INDEX_HEX_CHARS",
    "Aad",
    "BlindIndexKind",
    "BlindIndexer",
    "CryptoError",
    "DataKey",
    "DecryptionError",
    "EnvKeyProvider",
    "FileKeyProvider",
    "InsecureKeyFile",
    "InvalidIdentifier",
    "Kek",
    "KeyNotFound",
    "KeyProvider",
    "KeyReport",
    "KeyStoreError",
    "LocalKeyProvider",
    "WrappedKey",
    "ensure_dev_keys",
    "new_data_key",
    "normalize_bsn",
    "normalize_dob",
    "normalize_name",
    "open_sealed",
    "rewrap",
    "seal",
    "unwrap",
    "valid_bsn",
    "wrap",
]
