"""Partner signing keys as JWKs: generate, fingerprint (RFC 7638), write.

Partner applications sign their API tokens with a private key the hub never sees; the hub
verifies with the partner's public key from a JWKS (keys/README.md). This module makes
such key pairs for dev partners (``vhhub init``) and for an operator onboarding a partner
who has no key tooling of their own.

The ``kid`` is the RFC 7638 thumbprint of the public key: derived from the key itself, so
it cannot be reused for another key by mistake, and anyone can recompute it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hub.crypto.key_files import _replace_file, write_secret_file

__all__ = [
    "PARTNER_KEY_ALGS",
    "PartnerKeyAlg",
    "generate_partner_key",
    "jwk_thumbprint",
    "public_jwk",
    "write_jwks",
    "write_private_jwk",
]

PartnerKeyAlg = Literal["ES256", "EdDSA"]
#: The algorithms `generate_partner_key` accepts (``alg`` is a plain str so a registry's
#: configured value can be passed through; anything else raises ValueError).
PARTNER_KEY_ALGS: Final[tuple[PartnerKeyAlg, ...]] = ("ES256", "EdDSA")

# RFC 7638 section 3.2 (EC, RSA, oct) and RFC 8037 section 2 (OKP): the required members.
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
# Members that only private JWKs carry (RFC 7518 section 6, RFC 8037 section 2).
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PARTNER_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")
_P256_BYTES: Final = 32


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint with SHA-256, base64url without padding.

    Only the required public members take part, in lexicographic order, as JSON without
    whitespace -- so a private JWK and its public half have the same thumbprint.
    """
    kty = jwk.get("kty")
    if not isinstance(kty, str) or kty not in _THUMBPRINT_MEMBERS:
        raise ValueError("JWK thumbprint: unsupported or missing 'kty'")
    members = {}
    for name in _THUMBPRINT_MEMBERS[kty]:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise ValueError(f"JWK thumbprint: member {name!r} missing")
        members[name] = value
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The public half of a JWK: every member except the private ones."""
    return {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}


def generate_partner_key(
    partner_id: str, *, alg: str = "ES256"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new signing key pair for `partner_id`: ``(private_jwk, public_jwk)``.

    ``alg="ES256"``: ECDSA on P-256 (``kty`` "EC"), what most partner stacks support.
    ``alg="EdDSA"``: Ed25519 (``kty`` "OKP", RFC 8037).

    Both JWKs carry ``kid`` (RFC 7638 thumbprint), ``use`` "sig" and ``alg``. The partner
    id is checked but deliberately not written into the key: which partner owns a ``kid``
    is recorded by the hub's network registry (and the JWKS file the operator files it
    under), not asserted by the key itself.
    """
    if not isinstance(partner_id, str) or not _PARTNER_ID_RE.fullmatch(partner_id):
        raise ValueError("partner_id must be 1-128 characters of [A-Za-z0-9._-]")
    if alg == "ES256":
        private = _es256_private_jwk()
    elif alg == "EdDSA":
        private = _eddsa_private_jwk()
    else:
        raise ValueError("alg must be 'ES256' or 'EdDSA'")
    private.update({"kid": jwk_thumbprint(private), "use": "sig", "alg": alg})
    return private, public_jwk(private)


def _es256_private_jwk() -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.private_numbers()
    pub = numbers.public_numbers
    # RFC 7518 section 6.2.1.2: x, y and d are the full 32-byte big-endian field size.
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(pub.x.to_bytes(_P256_BYTES, "big")),
        "y": _b64url(pub.y.to_bytes(_P256_BYTES, "big")),
        "d": _b64url(numbers.private_value.to_bytes(_P256_BYTES, "big")),
    }


def _eddsa_private_jwk() -> dict[str, Any]:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    seed = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public), "d": _b64url(seed)}


def _dump(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_private_jwk(path: Path, jwk: Mapping[str, Any]) -> None:
    """Write a private JWK to a new file with mode 0600; never overwrites.

    Raises `FileExistsError` if `path` exists (a partner's key is replaced by adding a new
    one to its JWKS, not by overwriting the old one), and `ValueError` if `jwk` has no
    private part.
    """
    if "d" not in jwk:
        raise ValueError("not a private JWK (no 'd'); public keys go in a JWKS")
    write_secret_file(Path(path), _dump(dict(jwk)))


def write_jwks(path: Path, public_jwks: Sequence[Mapping[str, Any]]) -> None:
    """Write (atomically create or replace) a JWKS ``{"keys": [...]}`` of public keys.

    Refuses any JWK with private members, because JWKS files are published and committed.
    Mode 0644: the content is public.
    """
    keys = []
    for jwk in public_jwks:
        if _PRIVATE_MEMBERS & set(jwk):
            raise ValueError("refusing to write private key material into a JWKS")
        keys.append(dict(jwk))
    _replace_file(Path(path), _dump({"keys": keys}), mode=0o644)
