"""Known-bad and known-good hub tokens, as data.

Each bad case is a named attack or mistake with the reason code :func:`verify_token` must log.
The cases are plain strings signed with throwaway keys, so the HTTP-level tests can replay the
same corpus against a running hub (every case must get the same generic 401):

    world = make_world()                      # fresh keys, the real clock
    resolver_input = world.partners_config()  # {partner_id: (jwks, allowed_roles)}
    for case in bad_token_corpus(world):
        for token in case.replay_first: ...   # present these first (they succeed)
        ...                                   # then case.token must be refused

Tokens are built with ``cryptography`` and ``hmac`` directly, not with PyJWT, so an attack
token is exactly the bytes written here, whatever the library would or would not produce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

DEFAULT_AUDIENCE: Final = "https://vhhub.test/api/v1"
TYP: Final = "vhhub-at+jwt"
#: P-256 group order, to build the (r, n - s) twin of an ECDSA signature.
P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class _Drop:
    """Marker: leave this member out of the header or claims."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes(32, "big"))


@dataclass(frozen=True)
class TestKey:
    """A throwaway signing key with its JWKs."""

    __test__ = False  # not a pytest test class

    kid: str
    alg: str
    private_key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    public_jwk: dict[str, Any]
    private_jwk: dict[str, Any]

    def sign(self, signing_input: bytes) -> bytes:
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(signing_input)
        r, s = decode_dss_signature(self.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def make_es256_key(kid: str) -> TestKey:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.private_numbers()
    public = {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
        "x": _int_b64(numbers.public_numbers.x),
        "y": _int_b64(numbers.public_numbers.y),
    }
    return TestKey(kid, "ES256", key, public, {**public, "d": _int_b64(numbers.private_value)})


def make_eddsa_key(kid: str) -> TestKey:
    key = ed25519.Ed25519PrivateKey.generate()
    raw_public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    raw_private = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = {"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "x": b64url(raw_public)}
    return TestKey(kid, "EdDSA", key, public, {**public, "d": b64url(raw_private)})


def compact(
    header: Mapping[str, Any] | bytes,
    payload: Mapping[str, Any] | bytes,
    key: TestKey | None = None,
    *,
    signature: bytes | None = None,
) -> str:
    """A JWS compact serialisation of exactly these header and payload bytes."""
    header_bytes = header if isinstance(header, bytes) else json_bytes(dict(header))
    payload_bytes = payload if isinstance(payload, bytes) else json_bytes(dict(payload))
    signing_input = f"{b64url(header_bytes)}.{b64url(payload_bytes)}"
    if signature is None:
        signature = key.sign(signing_input.encode("ascii")) if key is not None else b""
    return f"{signing_input}.{b64url(signature)}"


def _apply(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **overrides}
    return {k: v for k, v in merged.items() if v is not DROP}


@dataclass(frozen=True)
class TestPartner:
    __test__ = False

    id: str
    kind: str
    roles: frozenset[str]
    key: TestKey


@dataclass
class CorpusWorld:
    """Three partners with registered keys, one unregistered key, an audience and a clock."""

    audience: str
    now: int
    police: TestPartner  # ES256
    ggz: TestPartner  # EdDSA
    staff: TestPartner  # ES256, Veiligheidshuis staff
    outsider_es256: TestKey  # registered nowhere
    outsider_eddsa: TestKey  # registered nowhere
    rsa_key: rsa.RSAPrivateKey
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def partners(self) -> tuple[TestPartner, ...]:
        return (self.police, self.ggz, self.staff)

    def partners_config(self) -> dict[str, tuple[dict[str, Any], frozenset[str]]]:
        """Input for ``StaticKeyResolver``: each partner's public JWKS and granted roles."""
        return {p.id: ({"keys": [p.key.public_jwk]}, p.roles) for p in self.partners}

    def fresh_jti(self) -> str:
        return f"corpus-jti-{next(self._serial):06d}-{time.time_ns() % 10**9:09d}"

    def claims(self, partner: TestPartner, **overrides: Any) -> dict[str, Any]:
        base = {
            "iss": partner.id,
            "sub": "user-7f3a9c",
            "aud": self.audience,
            "iat": self.now - 10,
            "exp": self.now + 290,
            "jti": self.fresh_jti(),
            "roles": ["participant"],
        }
        return _apply(base, overrides)

    def header(self, key: TestKey, **overrides: Any) -> dict[str, Any]:
        return _apply({"alg": key.alg, "typ": TYP, "kid": key.kid}, overrides)

    def token(
        self,
        partner: TestPartner,
        *,
        key: TestKey | None = None,
        header: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token of ``partner``; override claims by keyword, header members by ``header``."""
        signer = key or partner.key
        return compact(
            self.header(signer, **(header or {})), self.claims(partner, **claims), signer
        )


def make_world(*, now: int | None = None, audience: str = DEFAULT_AUDIENCE) -> CorpusWorld:
    """Fresh keys for every call; ``now`` defaults to the real clock (for a running hub)."""
    return CorpusWorld(
        audience=audience,
        now=int(time.time()) if now is None else now,
        police=TestPartner(
            "politie-nhn",
            "police",
            frozenset({"participant", "publisher"}),
            make_es256_key("pol-2026-1"),
        ),
        ggz=TestPartner(
            "ggz-nhn",
            "mental_health",
            frozenset({"participant", "publisher"}),
            make_eddsa_key("ggz-ed-1"),
        ),
        staff=TestPartner(
            "zvh-nhn",
            "zvh_staff",
            frozenset({"participant", "procesregisseur", "casusregisseur"}),
            make_es256_key("zvh-2026-1"),
        ),
        outsider_es256=make_es256_key("outsider-es"),
        outsider_eddsa=make_eddsa_key("outsider-ed"),
        rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@dataclass(frozen=True)
class BadTokenCase:
    """``token`` must be refused with ``reason``, after ``replay_first`` were accepted."""

    name: str
    token: str
    reason: str
    replay_first: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoodTokenCase:
    name: str
    token: str
    partner_id: str
    roles: frozenset[str]
    display_name: str | None = None


def _flip_signature_bit(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[10] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def _rsa_signed(world: CorpusWorld, alg: str) -> str:
    header = {"alg": alg, "typ": TYP, "kid": world.police.key.kid}
    payload = world.claims(world.police)
    signing_input = f"{b64url(json_bytes(header))}.{b64url(json_bytes(payload))}".encode()
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15()
        if alg == "RS256"
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    )
    signature = world.rsa_key.sign(signing_input, pad, hashes.SHA256())
    return compact(header, payload, signature=signature)


def _hmac_signed(world: CorpusWorld, secret: bytes, alg: str = "HS256") -> str:
    """The classic confusion attack: HMAC keyed with the victim's *public* key."""
    header = {"alg": alg, "typ": TYP, "kid": world.police.key.kid}
    payload = world.claims(world.police, roles=["participant", "publisher"])
    signing_input = f"{b64url(json_bytes(header))}.{b64url(json_bytes(payload))}".encode()
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return compact(header, payload, signature=hmac.new(secret, signing_input, digest).digest())


def _without_claim(world: CorpusWorld, claim: str) -> str:
    overrides: dict[str, Any] = {claim: DROP}
    return world.token(world.police, **overrides)


def bad_token_corpus(world: CorpusWorld) -> list[BadTokenCase]:
    """Every case is refused; names are stable so failures and logs can refer to them."""
    w = world
    police, ggz = w.police, w.ggz
    now = w.now
    good = w.token(police)
    other_good = w.token(police, sub="user-other")
    head, payload, sig = good.split(".")
    _, other_payload, _ = other_good.split(".")
    replayed = w.token(ggz)

    # An ES256 signature has a twin (r, n - s) that also verifies; it must not reopen a jti.
    r_s = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    r, s = int.from_bytes(r_s[:32], "big"), int.from_bytes(r_s[32:], "big")
    twin = (
        f"{head}.{payload}.{b64url(r.to_bytes(32, 'big') + (P256_ORDER - s).to_bytes(32, 'big'))}"
    )

    # DER instead of the raw r||s JWS form.
    police_private = police.key.private_key
    assert isinstance(police_private, ec.EllipticCurvePrivateKey)
    der_sig = police_private.sign(f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))

    claims = w.claims
    cases = [
        # -- algorithm attacks (RFC 8725 §2.1, §3.1)
        BadTokenCase(
            "alg_none",
            compact({"alg": "none", "typ": TYP, "kid": police.key.kid}, claims(police)),
            "alg_not_allowed",
        ),
        BadTokenCase(
            "alg_none_capitalised",
            compact({"alg": "None", "typ": TYP, "kid": police.key.kid}, claims(police)),
            "alg_not_allowed",
        ),
        BadTokenCase(
            "alg_lowercase_es256", w.token(police, header={"alg": "es256"}), "alg_not_allowed"
        ),
        BadTokenCase("alg_missing", w.token(police, header={"alg": DROP}), "alg_not_allowed"),
        BadTokenCase(
            "hs256_keyed_with_partner_public_pem",
            _hmac_signed(w, police.key.public_pem()),
            "alg_not_allowed",
        ),
        BadTokenCase(
            "hs512_keyed_with_partner_public_jwk",
            _hmac_signed(w, json_bytes(police.key.public_jwk), "HS512"),
            "alg_not_allowed",
        ),
        BadTokenCase("rs256", _rsa_signed(w, "RS256"), "alg_not_allowed"),
        BadTokenCase("ps256", _rsa_signed(w, "PS256"), "alg_not_allowed"),
        BadTokenCase(
            "eddsa_header_for_es256_key",
            w.token(police, key=w.outsider_eddsa, header={"kid": police.key.kid}),
            "alg_key_mismatch",
        ),
        BadTokenCase(
            "es256_header_for_eddsa_key",
            w.token(ggz, key=w.outsider_es256, header={"kid": ggz.key.kid}),
            "alg_key_mismatch",
        ),
        # -- key selection (RFC 8725 §3.10: never trust keys named by the token)
        BadTokenCase("unknown_kid", w.token(police, header={"kid": "pol-2099-9"}), "unknown_kid"),
        BadTokenCase("kid_missing", w.token(police, header={"kid": DROP}), "missing_kid"),
        BadTokenCase("kid_not_a_string", w.token(police, header={"kid": 7}), "bad_kid"),
        BadTokenCase(
            "kid_of_another_partner_valid_signature",
            # ggz signs, validly, a token that claims to come from the police.
            compact(w.header(ggz.key), claims(police, roles=["publisher"]), ggz.key),
            "kid_not_of_issuer",
        ),
        BadTokenCase(
            "victims_kid_signed_with_another_key",
            w.token(police, key=w.outsider_es256, header={"kid": police.key.kid}),
            "bad_signature",
        ),
        BadTokenCase(
            "unknown_issuer",
            w.token(police, key=w.outsider_es256, iss="politie-fake"),
            "unknown_issuer",
        ),
        BadTokenCase("issuer_not_a_string", w.token(police, iss=["politie-nhn"]), "bad_iss"),
        BadTokenCase(
            "jku_header",
            w.token(police, header={"jku": "https://attacker.example/jwks.json"}),
            "header_key_not_allowed",
        ),
        BadTokenCase(
            "x5u_header",
            w.token(police, header={"x5u": "https://attacker.example/cert.pem"}),
            "header_key_not_allowed",
        ),
        BadTokenCase(
            "jwk_header_embedded_attacker_key",
            w.token(
                police,
                key=w.outsider_es256,
                header={"kid": w.outsider_es256.kid, "jwk": w.outsider_es256.public_jwk},
            ),
            "header_key_not_allowed",
        ),
        BadTokenCase("crit_header", w.token(police, header={"crit": ["exp"]}), "crit_not_allowed"),
        BadTokenCase("b64_false_header", w.token(police, header={"b64": False}), "bad_header"),
        BadTokenCase("cty_header", w.token(police, header={"cty": "JWT"}), "bad_header"),
        # -- explicit typing (RFC 8725 §3.11)
        BadTokenCase("typ_jwt", w.token(police, header={"typ": "JWT"}), "typ_mismatch"),
        BadTokenCase("typ_at_jwt", w.token(police, header={"typ": "at+jwt"}), "typ_mismatch"),
        BadTokenCase("typ_missing", w.token(police, header={"typ": DROP}), "typ_mismatch"),
        # -- signature integrity
        BadTokenCase("signature_bit_flipped", _flip_signature_bit(good), "bad_signature"),
        BadTokenCase(
            "payload_swapped_between_valid_tokens", f"{head}.{other_payload}.{sig}", "bad_signature"
        ),
        BadTokenCase("signature_empty", f"{head}.{payload}.", "bad_signature"),
        BadTokenCase(
            "signature_der_encoded", f"{head}.{payload}.{b64url(der_sig)}", "bad_signature"
        ),
        # -- structure (before any key is used)
        BadTokenCase("truncated_token", f"{head}.{payload[:20]}", "malformed"),
        BadTokenCase("two_segments", f"{head}.{payload}", "malformed"),
        BadTokenCase("four_segments", f"{good}.{sig}", "malformed"),
        BadTokenCase("empty_string", "", "malformed"),
        BadTokenCase("padded_base64", f"{head}=.{payload}.{sig}", "malformed"),
        BadTokenCase("whitespace_inside", f"{head}.{payload} .{sig}", "malformed"),
        BadTokenCase("non_ascii", f"{head}.{payload}.{sig}é", "malformed"),
        BadTokenCase(
            "non_json_header",
            compact(b"{alg: ES256}", claims(police), police.key),
            "malformed",
        ),
        BadTokenCase(
            "header_not_an_object",
            compact(json_bytes(["ES256", TYP, police.key.kid]), claims(police), police.key),
            "bad_header",
        ),
        BadTokenCase(
            "non_json_payload",
            compact(w.header(police.key), b"iss=politie-nhn&sub=user", police.key),
            "malformed",
        ),
        BadTokenCase(
            "payload_not_an_object",
            compact(w.header(police.key), json_bytes(["politie-nhn"]), police.key),
            "bad_payload",
        ),
        BadTokenCase(
            "payload_nan",
            compact(
                w.header(police.key),
                json_bytes(claims(police))[:-1] + b',"x":NaN}',
                police.key,
            ),
            "malformed",
        ),
        BadTokenCase(
            "duplicate_iss_member",
            # Python's json would keep the last iss, other parsers the first.
            compact(
                w.header(ggz.key),
                json_bytes(claims(ggz))[:-1] + b',"iss":"politie-nhn"}',
                ggz.key,
            ),
            "duplicate_member",
        ),
        BadTokenCase("oversize_signed", w.token(police, name="x" * 9000), "too_large"),
        BadTokenCase("oversize_garbage", "a" * 100_000, "too_large"),
        BadTokenCase("oversize_multibyte", "é" * 5000, "too_large"),
        # -- time (RFC 7519 §4.1.4-6; profile: lifetime <= 900 s, 60 s skew)
        BadTokenCase("expired", w.token(police, iat=now - 700, exp=now - 61), "expired"),
        BadTokenCase("nbf_in_future", w.token(police, nbf=now + 120), "not_yet_valid"),
        BadTokenCase(
            "iat_in_future", w.token(police, iat=now + 120, exp=now + 400), "iat_in_future"
        ),
        BadTokenCase(
            "lifetime_too_long", w.token(police, iat=now - 10, exp=now + 3600), "lifetime_too_long"
        ),
        BadTokenCase("exp_not_after_iat", w.token(police, iat=now, exp=now), "exp_not_after_iat"),
        BadTokenCase("exp_as_string", w.token(police, exp=str(now + 100)), "bad_claim:exp"),
        BadTokenCase("exp_as_boolean", w.token(police, exp=True), "bad_claim:exp"),
        BadTokenCase("exp_fractional", w.token(police, exp=now + 100.5), "bad_claim:exp"),
        BadTokenCase("nbf_as_string", w.token(police, nbf="yesterday"), "bad_claim:nbf"),
        BadTokenCase("iat_negative", w.token(police, iat=-5), "bad_claim:iat"),
        # -- required claims
        *(
            BadTokenCase(f"missing_{claim}", _without_claim(w, claim), f"missing_claim:{claim}")
            for claim in ("exp", "iat", "jti", "sub", "aud", "roles")
        ),
        BadTokenCase("missing_iss", w.token(police, iss=DROP), "missing_claim:iss"),
        BadTokenCase("sub_null", w.token(police, sub=None), "missing_claim:sub"),
        # -- audience (RFC 8725 §3.9)
        BadTokenCase(
            "wrong_audience", w.token(police, aud="https://other.example/api"), "bad_audience"
        ),
        BadTokenCase(
            "audience_list_with_another",
            w.token(police, aud=[w.audience, "https://other.example/api"]),
            "bad_audience",
        ),
        BadTokenCase("audience_empty_list", w.token(police, aud=[]), "missing_claim:aud"),
        # -- identifiers
        BadTokenCase("sub_with_bad_chars", w.token(police, sub="jan@politie nl"), "bad_sub"),
        BadTokenCase("sub_trailing_newline", w.token(police, sub="user-1\n"), "bad_sub"),
        BadTokenCase("sub_too_long", w.token(police, sub="u" * 65), "bad_sub"),
        BadTokenCase("sub_not_a_string", w.token(police, sub=12345), "bad_sub"),
        BadTokenCase("jti_extremely_long", w.token(police, jti="j" * 4000), "bad_jti"),
        BadTokenCase("jti_too_short", w.token(police, jti="abc"), "bad_jti"),
        BadTokenCase("jti_with_bad_chars", w.token(police, jti="jti/../../etc/passwd0"), "bad_jti"),
        BadTokenCase("name_with_control_chars", w.token(police, name="Jan\x1b[2J"), "bad_name"),
        BadTokenCase("name_too_long", w.token(police, name="J" * 129), "bad_name"),
        # -- roles
        BadTokenCase(
            "role_not_granted_to_kind", w.token(police, roles=["auditor"]), "role_not_allowed"
        ),
        BadTokenCase(
            "role_of_staff_claimed_by_ggz",
            w.token(ggz, roles=["participant", "procesregisseur"]),
            "role_not_allowed",
        ),
        BadTokenCase("empty_roles", w.token(police, roles=[]), "bad_roles"),
        BadTokenCase("unknown_role", w.token(police, roles=["superuser"]), "unknown_role"),
        BadTokenCase("roles_as_string", w.token(police, roles="participant"), "bad_roles"),
        BadTokenCase(
            "duplicate_roles", w.token(police, roles=["participant", "participant"]), "bad_roles"
        ),
        # -- replay (RFC 7519 §4.1.7)
        BadTokenCase("replayed_jti", replayed, "replayed", replay_first=(replayed,)),
        BadTokenCase(
            "replayed_with_malleated_es256_signature", twin, "replayed", replay_first=(good,)
        ),
    ]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "corpus case names must be unique"
    return cases


def good_token_cases(world: CorpusWorld) -> list[GoodTokenCase]:
    """Tokens the hub must accept (each once)."""
    w = world
    police, ggz, staff = w.police, w.ggz, w.staff
    return [
        GoodTokenCase(
            "es256",
            w.token(police, roles=["participant", "publisher"]),
            police.id,
            frozenset({"participant", "publisher"}),
        ),
        GoodTokenCase("eddsa", w.token(ggz), ggz.id, frozenset({"participant"})),
        GoodTokenCase(
            "staff_with_display_name",
            w.token(staff, roles=["procesregisseur"], name="Mieke de Vries"),
            staff.id,
            frozenset({"procesregisseur"}),
            "Mieke de Vries",
        ),
        GoodTokenCase(
            "typ_with_application_prefix",
            w.token(police, header={"typ": "application/VHHUB-AT+JWT"}),
            police.id,
            frozenset({"participant"}),
        ),
        GoodTokenCase(
            "audience_as_single_element_list",
            w.token(ggz, aud=[w.audience]),
            ggz.id,
            frozenset({"participant"}),
        ),
        GoodTokenCase(
            "expired_within_leeway",
            w.token(police, iat=w.now - 400, exp=w.now - 30),
            police.id,
            frozenset({"participant"}),
        ),
        GoodTokenCase(
            "iat_within_skew",
            w.token(ggz, iat=w.now + 50, exp=w.now + 300),
            ggz.id,
            frozenset({"participant"}),
        ),
        GoodTokenCase(
            "nbf_in_past", w.token(police, nbf=w.now - 5), police.id, frozenset({"participant"})
        ),
        GoodTokenCase(
            "lifetime_exactly_900",
            w.token(police, iat=w.now - 100, exp=w.now + 800),
            police.id,
            frozenset({"participant"}),
        ),
        GoodTokenCase(
            "extra_claims_ignored",
            w.token(ggz, azp="ggz-app", scope="briefing"),
            ggz.id,
            frozenset({"participant"}),
        ),
    ]
