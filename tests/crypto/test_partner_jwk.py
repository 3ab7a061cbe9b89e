"""Partner JWKs: standard thumbprints, files PyJWT can use, private halves kept private."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import jwt
import pytest

from hub.crypto.jwk import (
    generate_partner_key,
    jwk_thumbprint,
    public_jwk,
    write_jwks,
    write_private_jwk,
)

ALGS = ["ES256", "EdDSA"]

# RFC 7638 section 3.1.
RFC7638_RSA = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
        "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
        "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
        "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
        "Cur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
# RFC 8037 appendix A.3.
RFC8037_OKP = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _b64len(value: str) -> int:
    return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


# --- thumbprints -------------------------------------------------------------------------------


def test_thumbprint_matches_rfc7638_example() -> None:
    assert jwk_thumbprint(RFC7638_RSA) == RFC7638_THUMBPRINT


def test_thumbprint_matches_rfc8037_example() -> None:
    assert jwk_thumbprint(RFC8037_OKP) == RFC8037_THUMBPRINT


def test_thumbprint_ignores_optional_members_and_order() -> None:
    shuffled = {"use": "sig", "x": RFC8037_OKP["x"], "crv": "Ed25519", "kty": "OKP", "d": "zz"}
    assert jwk_thumbprint(shuffled) == RFC8037_THUMBPRINT


@pytest.mark.parametrize("jwk", [{}, {"kty": "oct", "k": "AA"}, {"kty": "EC", "crv": "P-256"}])
def test_thumbprint_of_an_incomplete_or_unsupported_jwk_is_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        jwk_thumbprint(jwk)


# --- generation --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_generated_key_pair_is_complete_and_consistent(alg: Any) -> None:
    private, public = generate_partner_key("politie-dev", alg=alg)

    assert private["alg"] == public["alg"] == alg
    assert private["use"] == public["use"] == "sig"
    assert private["kid"] == public["kid"] == jwk_thumbprint(public) == jwk_thumbprint(private)
    assert "d" in private and "d" not in public
    assert public == public_jwk(private)
    if alg == "ES256":
        assert (public["kty"], public["crv"]) == ("EC", "P-256")
        assert _b64len(public["x"]) == _b64len(public["y"]) == _b64len(private["d"]) == 32
    else:
        assert (public["kty"], public["crv"]) == ("OKP", "Ed25519")
        assert _b64len(public["x"]) == _b64len(private["d"]) == 32
    for value in private.values():
        assert "=" not in value  # base64url without padding


@pytest.mark.parametrize("alg", ALGS)
def test_every_generated_key_is_new(alg: Any) -> None:
    kids = {generate_partner_key("ggz-dev", alg=alg)[0]["kid"] for _ in range(5)}
    assert len(kids) == 5


def test_es256_coordinates_keep_leading_zero_bytes() -> None:
    # 1 in 128 keys has a coordinate below 2**248; without padding x or y would be short.
    for _ in range(400):
        private, _public = generate_partner_key("om-dev")
        assert _b64len(private["x"]) == _b64len(private["y"]) == _b64len(private["d"]) == 32


@pytest.mark.parametrize("partner_id", ["", "politie dev", "../etc", "x" * 129])
def test_malformed_partner_id_is_refused(partner_id: str) -> None:
    with pytest.raises(ValueError):
        generate_partner_key(partner_id)


def test_unsupported_alg_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_partner_key("politie-dev", alg="HS256")  # type: ignore[arg-type]


# --- PyJWT can use them ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_token_signed_with_private_jwk_verifies_against_written_jwks(
    tmp_path: Path, alg: Any
) -> None:
    private, public = generate_partner_key("politie-dev", alg=alg)
    _other_private, other_public = generate_partner_key("om-dev", alg=alg)
    write_private_jwk(tmp_path / "politie-dev.private.jwk.json", private)
    write_jwks(tmp_path / "partners.jwks.json", [other_public, public])

    loaded_private = json.loads((tmp_path / "politie-dev.private.jwk.json").read_text())
    signing_key = jwt.PyJWK(loaded_private)
    token = jwt.encode(
        {"sub": "politie-dev", "aud": "vhhub"},
        signing_key.key,
        algorithm=alg,
        headers={"kid": private["kid"]},
    )

    jwks = jwt.PyJWKSet.from_dict(json.loads((tmp_path / "partners.jwks.json").read_text()))
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, jwks[kid].key, algorithms=[alg], audience="vhhub")
    assert claims == {"sub": "politie-dev", "aud": "vhhub"}

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwks[other_public["kid"]].key, algorithms=[alg], audience="vhhub")


# --- files -------------------------------------------------------------------------------------


def test_private_jwk_file_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "politie-dev.private.jwk.json"
    private, _public = generate_partner_key("politie-dev")
    write_private_jwk(path, private)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == private
    with pytest.raises(FileExistsError):
        write_private_jwk(path, generate_partner_key("politie-dev")[0])
    assert json.loads(path.read_text()) == private


def test_public_jwk_is_not_written_as_private(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_private_jwk(tmp_path / "x.json", generate_partner_key("politie-dev")[1])


def test_jwks_refuses_private_key_material(tmp_path: Path) -> None:
    private, public = generate_partner_key("politie-dev")
    with pytest.raises(ValueError, match="private"):
        write_jwks(tmp_path / "partners.jwks.json", [public, private])
    assert not (tmp_path / "partners.jwks.json").exists()


def test_jwks_file_is_public_and_replaceable(tmp_path: Path) -> None:
    path = tmp_path / "partners.jwks.json"
    first = generate_partner_key("politie-dev")[1]
    second = generate_partner_key("politie-dev")[1]
    write_jwks(path, [first])
    write_jwks(path, [first, second])
    assert json.loads(path.read_text()) == {"keys": [first, second]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
