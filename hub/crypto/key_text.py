"""The one text form of a stored key: 32 bytes as base64url, padding optional.

Key files (`hub.crypto.key_files`) and environment variables (`hub.crypto.key_env`) hold the
same text, so a key moves between the two by copy and paste. Error messages name the file
or variable (`source`), never the text.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from hub.crypto.envelope import KEY_BYTES
from hub.crypto.errors import KeyStoreError

__all__ = ["decode_key_text", "encode_key_text"]

_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def encode_key_text(raw: bytes) -> str:
    """base64url without padding: the text a key file or environment variable holds."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_key_text(text: str, *, source: str) -> bytes:
    """base64url (padding optional) -> exactly 32 bytes. `source` names the file or variable."""
    stripped = text.strip()
    if not _B64URL_RE.fullmatch(stripped):
        raise KeyStoreError(f"{source}: not a base64url-encoded key")
    unpadded = stripped.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise KeyStoreError(f"{source}: not a base64url-encoded key") from None
    if len(raw) != KEY_BYTES:
        raise KeyStoreError(f"{source}: expected a {KEY_BYTES}-byte key")
    return raw
