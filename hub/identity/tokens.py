"""The token core: verify a partner's JWT, or mint one for demos and tests.

The hub decides what to reveal from who asks, so a forged identity is a data leak. This module
is the one door through which a bearer token becomes an identity; it is pure (no database, no
HTTP framework) and it alone, with :mod:`hub.identity.keysets`, imports ``jwt``.

The profile follows RFC 8725 (JWT BCP) and is written down in docs/adr/0501-jwt-profile.md:

* header ``{"alg": "ES256"|"EdDSA", "typ": "vhhub-at+jwt", "kid": ...}`` and nothing else;
* claims ``iss`` (partner id), ``sub`` (pseudonymous user), ``aud`` (the hub), ``exp``, ``iat``,
  ``jti``, ``roles``; optional ``nbf``, ``name``; lifetime <= 15 minutes, 60 s clock skew;
* at most 8 KB, checked before any parsing; each ``(iss, jti)`` accepted once.

Every refusal raises :class:`AuthenticationError` with a reason code from :data:`REASONS`. The
code goes to the log, never to the client (who gets one generic 401), and is never built from
token content, so neither the answer nor the log can be used as an oracle or leak a claim.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn, Protocol

import anyio.to_thread
import jwt
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from hub.errors import Unauthenticated
from hub.identity.binding import BINDING_REASONS, X5T_S256, binding_refusal
from hub.identity.keysets import (
    ALLOWED_ALGS,
    KID_PATTERN,
    KeySourceUnavailable,
    PartnerKeyResolver,
    UnknownKey,
    load_signing_key,
)
from hub.vocabulary import Role

__all__ = [
    "ALL_REASONS",
    "MAX_LEEWAY_S",
    "MAX_LIFETIME_S",
    "MAX_TOKEN_BYTES",
    "REASONS",
    "TOKEN_TYP",
    "AuthenticationError",
    "InMemoryReplayGuard",
    "PartnerKeyResolver",
    "ReplayGuard",
    "VerifiedToken",
    "averify_token",
    "mint_token",
    "verify_token",
]

#: Explicit typing (RFC 8725 §3.11): a token minted for another purpose (an OIDC ID token, a
#: generic "JWT") cannot be passed off as a hub access token, even when signed by the same key.
TOKEN_TYP: Final = "vhhub-at+jwt"  # noqa: S105 (a media type, not a secret)
#: Upper bounds of the profile. The keyword arguments of :func:`verify_token` may tighten them,
#: never loosen them: a caller cannot accidentally accept a day-long token.
MAX_TOKEN_BYTES: Final = 8192
MAX_LIFETIME_S: Final = 900
MAX_LEEWAY_S: Final = 60

#: Claims every token must carry, in the order their absence is reported.
REQUIRED_CLAIMS: Final[tuple[str, ...]] = ("iss", "sub", "aud", "exp", "iat", "jti", "roles")
_HEADER_KEYS: Final = frozenset({"alg", "typ", "kid"})
#: Header members that point at or carry a key: the hub never takes keys from a token.
_KEY_HEADERS: Final = frozenset({"jku", "jwk", "x5u", "x5c"})

#: Partner ids, pseudonymous user ids: ASCII, bounded, no separators or control characters.
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Token ids: long enough to be unique per issuer, short enough for the replay table's key.
JTI_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{16,128}")
MAX_NAME_CHARS: Final = 128
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]+")
_SIGNATURE_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]*")
#: NumericDates outside (0, 2**40) are nonsense; bounding them keeps arithmetic obvious.
_MAX_NUMERIC_DATE: Final = 2**40

REASONS: Final[frozenset[str]] = frozenset(
    {
        # structure, before any key is touched
        "too_large",
        "malformed",
        "duplicate_member",
        "bad_header",
        "crit_not_allowed",
        "header_key_not_allowed",
        "alg_not_allowed",
        "typ_mismatch",
        "missing_kid",
        "bad_kid",
        "bad_payload",
        # key resolution and signature
        "bad_iss",
        "unknown_issuer",
        "unknown_kid",
        "kid_not_of_issuer",
        "key_source_unavailable",
        "alg_key_mismatch",
        "bad_signature",
        "issuer_mismatch",
        "invalid_token",
        # claims, after the signature
        *(f"missing_claim:{claim}" for claim in REQUIRED_CLAIMS),
        "bad_claim:exp",
        "bad_claim:iat",
        "bad_claim:nbf",
        "bad_sub",
        "bad_audience",
        "bad_jti",
        "bad_name",
        "exp_not_after_iat",
        "lifetime_too_long",
        "iat_in_future",
        "not_yet_valid",
        "expired",
        "bad_roles",
        "unknown_role",
        "role_not_allowed",
        "replayed",
    }
)
#: With the certificate-binding codes, a closed set of their own (hub.identity.binding)
ALL_REASONS: Final[frozenset[str]] = REASONS | BINDING_REASONS


class AuthenticationError(Unauthenticated):
    """A token was refused. ``reason`` is for the log; the client sees only a generic 401.

    The reason must be one of :data:`ALL_REASONS` (the token's :data:`REASONS` and the
    certificate binding's), checked here, so no code path can smuggle token content into it.
    The problem+json detail stays the generic default of :class:`hub.errors.Unauthenticated`:
    one answer for every failure, no oracle.
    """

    def __init__(self, reason: str) -> None:
        if reason not in ALL_REASONS:
            raise ValueError("unregistered authentication failure reason")
        super().__init__()
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"AuthenticationError({self.reason!r})"


def _refuse(reason: str) -> NoReturn:
    # ``from None`` everywhere: PyJWT's and json's messages may quote the token, and a chained
    # exception would carry them into a traceback in the log.
    raise AuthenticationError(reason) from None


@dataclass(frozen=True)
class VerifiedToken:
    """The identity a request acts under, taken only from a verified, unreplayed token."""

    partner_id: str
    user: str
    roles: frozenset[str]
    #: A person's display name is personal data: kept out of repr so it never lands in a log.
    display_name: str | None = field(repr=False)
    jti: str
    issued_at: int
    expires_at: int
    kid: str


class ReplayGuard(Protocol):
    """Remembers each ``(issuer, jti)`` until the token could no longer be accepted.

    The hub's implementation is a database table keyed by ``(issuer, jti)`` (hub.identity.models
    ``UsedToken``), so every replica and restart shares it; expired rows are purged.
    """

    def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
        """Record the pair; False if it was already recorded (the token is a replay)."""
        ...


class InMemoryReplayGuard:
    """A :class:`ReplayGuard` for unit tests only.

    Not for the hub: replicas share no memory and a restart forgets, so a token could be replayed
    against another replica or after a deploy. The hub uses the database-backed guard.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], int] = {}

    def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
        with self._lock:
            now = self._clock()
            self._seen = {k: exp for k, exp in self._seen.items() if exp >= now}
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires_at
            return True


# --------------------------------------------------------------------------------------------
# Parsing helpers: strict, so that this module and PyJWT can never read different claims


class _DuplicateMember(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python's json keeps the last duplicate, other parsers the first: refusing duplicates
    # (RFC 7515 §5.2) removes the parser differential an attacker could exploit.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateMember
    return obj


def _no_constants(_: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


def _b64url_canonical(segment: str) -> bytes:
    """Decode base64url, refusing non-canonical forms (set spare bits), so that one token has
    one spelling whatever the library version underneath."""
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        _refuse("malformed")
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment.encode("ascii"):
        _refuse("malformed")
    return data


def _json_segment(segment: str) -> Any:
    """Decode one base64url segment as strict JSON (UTF-8, no duplicates, no NaN)."""
    data = _b64url_canonical(segment)
    try:
        return json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except _DuplicateMember:
        _refuse("duplicate_member")
    except (ValueError, RecursionError):
        _refuse("malformed")


def _check_bounds(max_lifetime_s: int, leeway_s: int, max_size: int) -> None:
    if not 1 <= max_lifetime_s <= MAX_LIFETIME_S:
        raise ValueError(f"max_lifetime_s must be within 1..{MAX_LIFETIME_S}")
    if not 0 <= leeway_s <= MAX_LEEWAY_S:
        raise ValueError(f"leeway_s must be within 0..{MAX_LEEWAY_S}")
    if not 256 <= max_size <= MAX_TOKEN_BYTES:
        raise ValueError(f"max_size must be within 256..{MAX_TOKEN_BYTES}")


def _check_header(header: Any, expected_typ: str) -> tuple[str, str]:
    """Refuse every header but the profile's; return (alg, kid)."""
    if not isinstance(header, dict):
        _refuse("bad_header")
    if "crit" in header:
        _refuse("crit_not_allowed")
    if _KEY_HEADERS & header.keys():
        _refuse("header_key_not_allowed")
    if not header.keys() <= _HEADER_KEYS:
        _refuse("bad_header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        _refuse("alg_not_allowed")
    typ = header.get("typ")
    # RFC 7515 §4.1.9: media type names compare case-insensitively, "application/" optional.
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != expected_typ:
        _refuse("typ_mismatch")
    kid = header.get("kid")
    if kid is None:
        _refuse("missing_kid")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        _refuse("bad_kid")
    return alg, kid


def _numeric_date(payload: Mapping[str, Any], claim: str) -> int:
    value = payload[claim]
    # bool is an int in Python; a NumericDate is not. Fractions are refused for simplicity.
    if type(value) is not int or not 0 < value < _MAX_NUMERIC_DATE:
        _refuse(f"bad_claim:{claim}")
    return value


def _checked_roles(value: Any, granted: frozenset[str]) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        _refuse("bad_roles")
    if len(set(value)) != len(value):
        _refuse("bad_roles")
    try:
        roles = frozenset(Role(r) for r in value)
    except ValueError:
        _refuse("unknown_role")
    if not roles <= granted:
        _refuse("role_not_allowed")
    return roles


def _checked_name(payload: Mapping[str, Any]) -> str | None:
    name = payload.get("name")
    if name is None:
        return None
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS or not name.isprintable():
        _refuse("bad_name")
    return name


def _audience_matches(aud: Any, audience: str) -> bool:
    """Our audience, alone. A list is accepted only as ``[audience]`` (some IdPs always emit a
    list); a token addressed to others as well could be replayed by them against the hub."""
    if isinstance(aud, list) and len(aud) == 1:
        aud = aud[0]
    return isinstance(aud, str) and aud == audience


_PYJWT: Final = jwt.PyJWT()


def _pyjwt_decode(raw: str, key: jwt.PyJWK, issuer: str, audience: str) -> dict[str, Any]:
    """Signature and claim presence through PyJWT, algorithms pinned to the key's one.

    PyJWT's time checks are off on purpose: they read the wall clock internally and fold nbf and
    iat into one exception, whereas ours use one injectable clock and precise reason codes.
    """
    try:
        decoded = _PYJWT.decode_complete(
            raw,
            key=key,
            algorithms=[key.algorithm_name],
            audience=audience,
            issuer=issuer,
            options={
                "verify_signature": True,
                "require": list(REQUIRED_CLAIMS),
                "verify_aud": True,
                "verify_iss": True,
                "verify_sub": True,
                "verify_jti": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError:
        _refuse("bad_signature")
    except jwt.InvalidAlgorithmError:
        _refuse("alg_key_mismatch")
    except jwt.MissingRequiredClaimError as exc:
        # exc.claim is one of REQUIRED_CLAIMS (our list), never token content.
        claim = exc.claim if exc.claim in REQUIRED_CLAIMS else ""
        _refuse(f"missing_claim:{claim}" if claim else "invalid_token")
    except jwt.InvalidAudienceError:
        _refuse("bad_audience")
    except jwt.InvalidIssuerError:
        _refuse("issuer_mismatch")
    except InvalidSubjectError:
        _refuse("bad_sub")
    except InvalidJTIError:
        _refuse("bad_jti")
    except jwt.DecodeError:
        _refuse("malformed")
    except jwt.PyJWTError:
        _refuse("invalid_token")
    payload = decoded["payload"]
    if not isinstance(payload, dict):
        _refuse("bad_payload")
    return payload


# --------------------------------------------------------------------------------------------
# Verification


def verify_token(
    raw: str,
    *,
    audience: str,
    keys: PartnerKeyResolver,
    replay: ReplayGuard,
    now: int | None = None,
    max_lifetime_s: int = MAX_LIFETIME_S,
    leeway_s: int = MAX_LEEWAY_S,
    max_size: int = MAX_TOKEN_BYTES,
    expected_typ: str = TOKEN_TYP,
    certificate: bytes | None = None,
    binding_required: Callable[[str], bool] | None = None,
) -> VerifiedToken:
    """Return the identity in ``raw`` or raise :class:`AuthenticationError`.

    The order is chosen so that the cheapest, least trusting checks run first: size before any
    parsing, structure and header before any key lookup, the key chosen through the *unverified*
    issuer and kid but only among that issuer's registered keys, the signature before any claim
    is believed, the issuer re-checked on the verified payload, and the replay store touched
    last, so a token that fails any other check does not use up its jti.

    Blocking: a :class:`~hub.identity.keysets.JwksUrlKeySource` may fetch over the network and
    the replay guard may hit the database. Call from a worker thread (FastAPI sync dependency)
    or use :func:`averify_token`. Errors of the replay guard itself propagate unchanged (the
    token is not accepted; the caller answers 503).
    """
    _check_bounds(max_lifetime_s, leeway_s, max_size)
    # 1. Size in UTF-8 bytes before anything else. The character count is a lower bound on it
    #    and free to read, so oversized input is refused without even encoding it. A compact JWS
    #    is ASCII; anything else is refused next.
    if not isinstance(raw, str):
        _refuse("malformed")
    if len(raw) > max_size or (
        not raw.isascii() and len(raw.encode("utf-8", "surrogatepass")) > max_size
    ):
        _refuse("too_large")
    if not raw.isascii():
        _refuse("malformed")

    # 2. Exactly three base64url segments (no padding, no whitespace).
    segments = raw.split(".")
    if len(segments) != 3:
        _refuse("malformed")
    header_b64, payload_b64, signature_b64 = segments
    if not (
        _SEGMENT.fullmatch(header_b64)
        and _SEGMENT.fullmatch(payload_b64)
        and _SIGNATURE_SEGMENT.fullmatch(signature_b64)
    ):
        _refuse("malformed")
    _b64url_canonical(signature_b64)

    # 3. Header: only alg/typ/kid, alg pinned, explicit typ, kid present.
    alg, kid = _check_header(_json_segment(header_b64), expected_typ.lower())

    # 4. Unverified issuer, only to choose among that partner's keys.
    unverified = _json_segment(payload_b64)
    if not isinstance(unverified, dict):
        _refuse("bad_payload")
    issuer = unverified.get("iss")
    if issuer is None:
        _refuse("missing_claim:iss")
    if not isinstance(issuer, str) or not ID_PATTERN.fullmatch(issuer):
        _refuse("bad_iss")
    if not keys.is_known(issuer):
        _refuse("unknown_issuer")
    try:
        key = keys.key_for(issuer, kid)
    except UnknownKey as exc:
        _refuse(exc.reason)
    except KeySourceUnavailable:
        _refuse("key_source_unavailable")

    # 5. The key's registered algorithm decides; the header must name exactly it.
    if key.algorithm_name not in ALLOWED_ALGS or alg != key.algorithm_name:
        _refuse("alg_key_mismatch")

    # 6. Signature (PyJWT, algorithms pinned), then claims from the *verified* payload only.
    payload = _pyjwt_decode(raw, key, issuer, audience)
    if payload.get("iss") != issuer:
        _refuse("issuer_mismatch")
    user = payload["sub"]
    if not isinstance(user, str) or not ID_PATTERN.fullmatch(user):
        _refuse("bad_sub")
    if not _audience_matches(payload["aud"], audience):
        _refuse("bad_audience")
    jti = payload["jti"]
    if not isinstance(jti, str) or not JTI_PATTERN.fullmatch(jti):
        _refuse("bad_jti")

    # 7. Time, against one clock.
    current = int(time.time()) if now is None else now
    expires_at = _numeric_date(payload, "exp")
    issued_at = _numeric_date(payload, "iat")
    not_before = _numeric_date(payload, "nbf") if "nbf" in payload else None
    if expires_at <= issued_at:
        _refuse("exp_not_after_iat")
    if expires_at - issued_at > max_lifetime_s:
        _refuse("lifetime_too_long")
    if issued_at > current + leeway_s:
        _refuse("iat_in_future")
    if not_before is not None and not_before > current + leeway_s:
        _refuse("not_yet_valid")
    if expires_at <= current - leeway_s:
        _refuse("expired")

    # 8. Authorisation facts the token may state: roles granted to the partner's kind.
    roles = _checked_roles(payload["roles"], keys.allowed_roles(issuer))
    display_name = _checked_name(payload)

    # 9. Certificate binding (RFC 8705): before the jti is used up, so a stolen bound token
    #    presented without its certificate does not burn the holder's token.
    required = binding_required is not None and binding_required(issuer)
    refusal = binding_refusal(payload, certificate, required=required)
    if refusal is not None:
        _refuse(refusal)

    # 10. Last: use up the jti. Kept until the token can no longer pass the expiry check.
    if not replay.claim(issuer, jti, expires_at + leeway_s):
        _refuse("replayed")

    return VerifiedToken(
        partner_id=issuer,
        user=user,
        roles=roles,
        display_name=display_name,
        jti=jti,
        issued_at=issued_at,
        expires_at=expires_at,
        kid=kid,
    )


async def averify_token(
    raw: str,
    *,
    audience: str,
    keys: PartnerKeyResolver,
    replay: ReplayGuard,
    now: int | None = None,
    max_lifetime_s: int = MAX_LIFETIME_S,
    leeway_s: int = MAX_LEEWAY_S,
    max_size: int = MAX_TOKEN_BYTES,
    expected_typ: str = TOKEN_TYP,
) -> VerifiedToken:
    """:func:`verify_token` in a worker thread, so a JWKS fetch never blocks the event loop.

    Uses anyio's thread pool (the one FastAPI's sync dependencies share, with its capacity
    limiter). The ``replay`` guard is then called from that thread: it must not share a
    database session with the calling coroutine.
    """
    return await anyio.to_thread.run_sync(
        functools.partial(
            verify_token,
            raw,
            audience=audience,
            keys=keys,
            replay=replay,
            now=now,
            max_lifetime_s=max_lifetime_s,
            leeway_s=leeway_s,
            max_size=max_size,
            expected_typ=expected_typ,
        )
    )


# --------------------------------------------------------------------------------------------
# Minting (``vhhub token``, demos, tests)


def mint_token(
    *,
    partner_id: str,
    user: str,
    roles: Sequence[str],
    private_jwk: Mapping[str, Any],
    audience: str,
    ttl_s: int = 300,
    name: str | None = None,
    now: int | None = None,
    jti: str | None = None,
    certificate_thumbprint: str | None = None,
) -> str:
    """A token in the hub's profile, signed with ``private_jwk`` (its kid goes in the header).

    Refuses (``ValueError``) anything :func:`verify_token` would refuse on its face, so a demo
    never produces a token the hub then rejects for a reason nobody sees. Whether the partner
    may claim these roles is the registry's business and is checked at verification.
    """
    if not 1 <= ttl_s <= MAX_LIFETIME_S:
        raise ValueError(f"ttl_s must be within 1..{MAX_LIFETIME_S}")
    if not ID_PATTERN.fullmatch(partner_id):
        raise ValueError("partner_id must match [A-Za-z0-9._-]{1,64}")
    if not ID_PATTERN.fullmatch(user):
        raise ValueError("user must be a pseudonymous id matching [A-Za-z0-9._-]{1,64}")
    role_list = list(roles)
    if not role_list or len(set(role_list)) != len(role_list):
        raise ValueError("roles must be a non-empty list without duplicates")
    valid_roles = {r.value for r in Role}
    if not set(role_list) <= valid_roles:
        raise ValueError("roles must be values of hub.vocabulary.Role")
    if name is not None and not (1 <= len(name) <= MAX_NAME_CHARS and name.isprintable()):
        raise ValueError(f"name must be 1..{MAX_NAME_CHARS} printable characters")
    token_id = secrets.token_urlsafe(24) if jti is None else jti
    if not JTI_PATTERN.fullmatch(token_id):
        raise ValueError("jti must match [A-Za-z0-9._-]{16,128}")
    key = load_signing_key(private_jwk)
    issued_at = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": partner_id,
        "sub": user,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ttl_s,
        "jti": token_id,
        "roles": [str(r) for r in role_list],
    }
    if name is not None:
        claims["name"] = name
    if certificate_thumbprint is not None:
        claims["cnf"] = {X5T_S256: certificate_thumbprint}
    return _PYJWT.encode(
        claims,
        key,
        algorithm=key.algorithm_name,
        headers={"typ": TOKEN_TYP, "kid": str(private_jwk["kid"])},
    )
