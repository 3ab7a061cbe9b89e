"""The hub's notification signing key: Ed25519, for RFC 9421 signatures on notifications.

A key of its own, apart from the access log's checkpoint key: a partner who verifies
notifications trusts it for nothing else, and rotating one never touches the other
(ADR 0019). Taken from ``VHHUB_NOTIFICATION_SIGNING_KEY`` (base64url seed, as every key in
`hub.crypto.key_env`) when set, else from ``notification-signing.key`` in the keys
directory, created there (0600, never overwritten) on first use.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from hub.crypto.errors import KeyNotFound
from hub.crypto.key_files import _read_key_file, write_secret_file
from hub.crypto.key_text import decode_key_text, encode_key_text
from hub.crypto.signing import SigningKey, generate_signing_seed

NOTIFICATION_SIGNING_KEY_FILE: Final = "notification-signing.key"
NOTIFICATION_SIGNING_KEY_ENV: Final = "VHHUB_NOTIFICATION_SIGNING_KEY"


def notification_signer(
    keys_dir: Path, *, env: Mapping[str, str] | None = None, create: bool = True
) -> SigningKey:
    """The notification signing key (see the module docstring for where it comes from)."""
    environ = os.environ if env is None else env
    if NOTIFICATION_SIGNING_KEY_ENV in environ:
        seed = decode_key_text(
            environ[NOTIFICATION_SIGNING_KEY_ENV], source=NOTIFICATION_SIGNING_KEY_ENV
        )
        return SigningKey.from_seed(seed)
    path = Path(keys_dir) / NOTIFICATION_SIGNING_KEY_FILE
    try:
        return SigningKey.from_seed(_read_key_file(path))
    except KeyNotFound:
        if not create or not Path(keys_dir).is_dir():
            raise
    # another process may create it first: then its key is the one
    with contextlib.suppress(FileExistsError):
        write_secret_file(path, (encode_key_text(generate_signing_seed()) + "\n").encode())
    return SigningKey.from_seed(_read_key_file(path))
