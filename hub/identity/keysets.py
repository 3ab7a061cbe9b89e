"""Where the hub finds a partner's public keys: registered JWKS files or the partner's IdP.

Only this module and :mod:`hub.identity.tokens` import ``jwt`` (PyJWT); see
docs/adr/0501-jwt-profile.md. Keys never come from a token (no ``jku``/``jwk``/``x5u``): the
registry decides which keys exist, which partner owns each, and which algorithm each key
verifies. Every key is checked when it is loaded, so a JWKS entry that could enable an
algorithm-confusion attack (an ``oct`` secret, an RSA key, a key carrying private material, an
``alg`` that does not fit the curve) never becomes a verification key.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlparse

import jwt

from hub.vocabulary import Role

#: The only JWS algorithms the hub accepts, each bound to exactly one key type and curve.
#: A key's own (kty, crv) decides its algorithm; the token header must then equal it.
ALG_FOR_KEY_TYPE: Final[Mapping[tuple[str, str], str]] = {
    ("EC", "P-256"): "ES256",
    ("OKP", "Ed25519"): "EdDSA",
}
ALLOWED_ALGS: Final[frozenset[str]] = frozenset(ALG_FOR_KEY_TYPE.values())

#: RFC 7517 private members: a verification key set that carries any of these leaks a secret.
_PRIVATE_MEMBERS: Final[frozenset[str]] = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Key ids are opaque labels; this charset covers base64url thumbprints and common IdP formats
#: while keeping control characters and delimiters out of lookups and logs.
KID_PATTERN: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")

UnknownKeyReason = Literal["unknown_issuer", "unknown_kid", "kid_not_of_issuer"]


class UnknownKey(LookupError):
    """No key of this partner has this kid; ``reason`` tells which lookup failed.

    ``kid_not_of_issuer`` means the kid belongs to *another* partner: a token naming a victim as
    issuer but signed with a different partner's key. Worth its own code in the log, because only
    a holder of a real partner key can produce it.
    """

    def __init__(self, reason: UnknownKeyReason = "unknown_kid") -> None:
        super().__init__(reason)
        self.reason: UnknownKeyReason = reason


class KeySourceUnavailable(Exception):
    """The partner's key source could not be read (IdP down, bad answer). Fail closed."""


class InvalidKeyMaterial(ValueError):
    """A JWK cannot serve as a hub key; the message names the rule, never key material."""


class PartnerKeyResolver(Protocol):
    """What :func:`hub.identity.tokens.verify_token` needs from the network registry."""

    def key_for(self, partner_id: str, kid: str) -> jwt.PyJWK:
        """The verification key ``kid`` of ``partner_id``; raises :class:`UnknownKey`."""
        ...

    def allowed_roles(self, partner_id: str) -> frozenset[str]:
        """Roles this partner's kind may claim; empty for an unknown partner."""
        ...

    def is_known(self, partner_id: str) -> bool:
        """Whether ``partner_id`` is an active partner of the network."""
        ...


class KeySource(Protocol):
    """One partner's keys, wherever they come from."""

    def key_for(self, kid: str) -> jwt.PyJWK:
        """Raises :class:`UnknownKey` or :class:`KeySourceUnavailable`."""
        ...

    def cached_kids(self) -> frozenset[str]:
        """The kids known right now, without any I/O (used to spot another partner's kid)."""
        ...


# --------------------------------------------------------------------------------------------
# Loading single keys


def _alg_for(jwk: Mapping[str, Any], *, pinned_alg: str | None) -> str:
    """The algorithm this key verifies, decided by its type and curve, never by a token."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if not isinstance(kty, str) or not isinstance(crv, str):
        raise InvalidKeyMaterial("key must be EC P-256 or OKP Ed25519 (kty/crv)")
    alg = ALG_FOR_KEY_TYPE.get((kty, crv))
    if alg is None:
        raise InvalidKeyMaterial("key must be EC P-256 or OKP Ed25519 (kty/crv)")
    declared = jwk.get("alg")
    if declared is not None and declared != alg:
        raise InvalidKeyMaterial("the key's alg does not fit its kty/crv")
    if pinned_alg is not None and pinned_alg != alg:
        raise InvalidKeyMaterial("the key's algorithm is not the one registered for the partner")
    return alg


def _checked_kid(jwk: Mapping[str, Any]) -> str:
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise InvalidKeyMaterial("key needs a kid of 1-128 characters [A-Za-z0-9._:+/=-]")
    return kid


def _pyjwk(jwk: Mapping[str, Any], *, pinned_alg: str | None, what: str) -> jwt.PyJWK:
    _checked_kid(jwk)
    expected = _alg_for(jwk, pinned_alg=pinned_alg)
    try:
        # The algorithm is passed explicitly, so PyJWT never infers one from the JWK.
        return jwt.PyJWK(dict(jwk), algorithm=expected)
    except jwt.PyJWTError:
        raise InvalidKeyMaterial(f"the JWK does not form a valid {what} key") from None


def load_verification_key(jwk: Mapping[str, Any], *, alg: str | None = None) -> jwt.PyJWK:
    """A public key fit to verify hub tokens, or :class:`InvalidKeyMaterial`.

    ``alg`` pins the algorithm registered for the partner (network file); when given, a key of
    another type is refused rather than silently accepted.
    """
    if not isinstance(jwk, Mapping):
        raise InvalidKeyMaterial("a JWK must be a JSON object")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidKeyMaterial("a verification key set must not contain private key material")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise InvalidKeyMaterial("key use must be sig")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise InvalidKeyMaterial("key_ops must allow verify")
    return _pyjwk(jwk, pinned_alg=alg, what="public")


def load_signing_key(jwk: Mapping[str, Any]) -> jwt.PyJWK:
    """A private key to mint tokens with (``vhhub token``, tests); :class:`InvalidKeyMaterial`.

    The same kty/crv -> alg rule as for verification applies, so a minted token always carries
    the algorithm the hub will demand for that kid.
    """
    if not isinstance(jwk, Mapping):
        raise InvalidKeyMaterial("a JWK must be a JSON object")
    if not isinstance(jwk.get("d"), str):
        raise InvalidKeyMaterial("signing needs a private JWK (member d)")
    return _pyjwk(jwk, pinned_alg=None, what="private")


def _keys_of(jwks: Mapping[str, Any]) -> list[Any]:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise InvalidKeyMaterial('a JWKS must be an object with a "keys" list')
    return keys


# --------------------------------------------------------------------------------------------
# Key sources


class StaticKeySource:
    """A partner's keys from a registered JWKS (a file in keys/, or generated by vhhub init).

    Strict: one bad entry rejects the whole set at start-up, because a JWKS file is written by
    an operator and a silently skipped key is a misconfiguration nobody notices.
    """

    def __init__(self, jwks: Mapping[str, Any], *, alg: str | None = None) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for entry in _keys_of(jwks):
            key = load_verification_key(entry, alg=alg)
            kid = _checked_kid(entry)
            if kid in keys:
                raise InvalidKeyMaterial("kids must be unique within a partner's JWKS")
            keys[kid] = key
        if not keys:
            raise InvalidKeyMaterial("a partner's JWKS needs at least one key")
        self._keys: Mapping[str, jwt.PyJWK] = keys
        self._kids = frozenset(keys)

    def key_for(self, kid: str) -> jwt.PyJWK:
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownKey("unknown_kid") from None

    def cached_kids(self) -> frozenset[str]:
        return self._kids


class JwksUrlKeySource:
    """A partner's keys from its OIDC identity provider's ``jwks_uri``, cached.

    Fetching is blocking (urllib, through :class:`jwt.PyJWKClient`, which refuses redirects and
    non-http(s) schemes), so verification must run off the event loop: a FastAPI *sync*
    dependency, or :func:`hub.identity.tokens.averify_token`, which uses a worker thread.

    One rule bounds all traffic to the IdP: at most one fetch per ``min_refetch_interval_s`` per
    source, whatever triggers it (first use, cache older than ``lifespan_s``, an unknown kid, a
    retry after a failure). An attacker spraying random kids therefore costs the IdP at most one
    request a minute, and a down IdP is not hammered by every request. A lock makes concurrent
    callers wait for one fetch instead of starting their own.

    While a refresh is refused or failing, keys from the last good fetch stay usable for
    ``max_stale_s`` beyond their lifespan (an IdP outage should not lock a partner out at once),
    then the source reports :class:`KeySourceUnavailable`. A successful fetch replaces the set
    entirely, so a key the IdP withdrew stops verifying within ``lifespan_s``.

    The set is cached here rather than in PyJWKClient's own cache because the bound above needs
    a failure backoff and a stale window that cache lacks, and because the clock must be
    injectable to test the bound without sleeping.
    """

    def __init__(
        self,
        url: str,
        *,
        alg: str | None = None,
        lifespan_s: float = 300.0,
        min_refetch_interval_s: float = 60.0,
        max_stale_s: float = 900.0,
        timeout_s: float = 5.0,
        max_keys: int = 32,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        unsafe_allow_http: bool = False,
    ) -> None:
        scheme = urlparse(url).scheme.lower()
        if scheme != "https" and not (unsafe_allow_http and scheme == "http"):
            raise ValueError("a JWKS URL must use https")
        if min_refetch_interval_s <= 0 or lifespan_s < min_refetch_interval_s:
            raise ValueError("need 0 < min_refetch_interval_s <= lifespan_s")
        if max_stale_s < 0 or timeout_s <= 0 or max_keys < 1:
            raise ValueError("max_stale_s >= 0, timeout_s > 0 and max_keys >= 1 are required")
        if alg is not None and alg not in ALLOWED_ALGS:
            raise ValueError("alg must be ES256 or EdDSA")
        self._client = jwt.PyJWKClient(
            url,
            cache_jwk_set=False,
            cache_keys=False,
            timeout=timeout_s,
            headers=dict(headers or {}),
            ssl_context=ssl_context,
        )
        self._alg = alg
        self._lifespan_s = lifespan_s
        self._interval_s = min_refetch_interval_s
        self._max_stale_s = max_stale_s
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: Mapping[str, jwt.PyJWK] = {}
        self._kids: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None

    def key_for(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._lifespan_s:
                self._try_fetch(now)
            self._ensure_usable(now)
            key = self._keys.get(kid)
            if key is None and self._try_fetch(now):
                key = self._keys.get(kid)
            if key is None:
                raise UnknownKey("unknown_kid")
            return key

    def cached_kids(self) -> frozenset[str]:
        return self._kids

    def _ensure_usable(self, now: float) -> None:
        """Refuse to verify with keys that are missing or older than lifespan + stale window."""
        if self._fetched_at is None:
            raise KeySourceUnavailable("the partner's JWKS has not been fetched")
        if now - self._fetched_at >= self._lifespan_s + self._max_stale_s:
            raise KeySourceUnavailable("the partner's JWKS is too old and cannot be refreshed")

    def _try_fetch(self, now: float) -> bool:
        """Fetch once if the bound allows; True if a fetch succeeded. Caller holds the lock."""
        if self._last_attempt is not None and now - self._last_attempt < self._interval_s:
            return False
        self._last_attempt = now
        try:
            keys = self._usable_keys(self._client.fetch_data())
        except (jwt.PyJWTError, ValueError, OSError):
            # Unreachable, or an answer that is not a JWKS: keep the last good keys (bounded by
            # max_stale_s) rather than let a broken answer withdraw them all.
            return False
        self._keys = keys
        self._kids = frozenset(self._keys)
        self._fetched_at = now
        return True

    def _usable_keys(self, data: Any) -> dict[str, jwt.PyJWK]:
        """Keep the keys the hub may use; skip the rest (IdPs also publish RSA, enc keys).

        A kid listed twice is dropped altogether: which of the two is meant is ambiguous. An
        answer that is no JWKS at all raises :class:`InvalidKeyMaterial`.
        """
        entries = _keys_of(data)
        keys: dict[str, jwt.PyJWK] = {}
        ambiguous: set[str] = set()
        for entry in entries[: self._max_keys]:
            try:
                key = load_verification_key(entry, alg=self._alg)
            except InvalidKeyMaterial:
                continue
            kid = _checked_kid(entry)
            if kid in keys:
                ambiguous.add(kid)
            keys[kid] = key
        for kid in ambiguous:
            del keys[kid]
        return keys


# --------------------------------------------------------------------------------------------
# Resolvers


@dataclass(frozen=True)
class PartnerKeys:
    """A partner's key source and the roles its kind may claim."""

    source: KeySource
    allowed_roles: frozenset[str]


def _vocabulary_roles(roles: Iterable[str]) -> frozenset[str]:
    granted = frozenset(roles)
    unknown = granted - {r.value for r in Role}
    if unknown:
        raise ValueError("allowed roles must be values of hub.vocabulary.Role")
    return frozenset(Role(r) for r in granted)


class KeySetResolver:
    """A :class:`PartnerKeyResolver` over one key source per partner (static or IdP)."""

    def __init__(self, partners: Mapping[str, PartnerKeys]) -> None:
        self._partners: Mapping[str, PartnerKeys] = {
            partner_id: PartnerKeys(entry.source, _vocabulary_roles(entry.allowed_roles))
            for partner_id, entry in partners.items()
        }

    def key_for(self, partner_id: str, kid: str) -> jwt.PyJWK:
        entry = self._partners.get(partner_id)
        if entry is None:
            raise UnknownKey("unknown_issuer")
        try:
            return entry.source.key_for(kid)
        except UnknownKey:
            if any(
                kid in other.source.cached_kids()
                for other_id, other in self._partners.items()
                if other_id != partner_id
            ):
                raise UnknownKey("kid_not_of_issuer") from None
            raise

    def allowed_roles(self, partner_id: str) -> frozenset[str]:
        entry = self._partners.get(partner_id)
        return entry.allowed_roles if entry is not None else frozenset()

    def is_known(self, partner_id: str) -> bool:
        return partner_id in self._partners


class StaticKeyResolver(KeySetResolver):
    """Resolver built from registered JWKS documents: ``{partner_id: (jwks, allowed_roles)}``.

    The lead builds it from the network registry (one JWKS file per partner). Every key is
    validated here, so a bad file fails start-up instead of a request.
    """

    def __init__(self, partners: Mapping[str, tuple[Mapping[str, Any], Iterable[str]]]) -> None:
        super().__init__(
            {
                partner_id: PartnerKeys(StaticKeySource(jwks), frozenset(roles))
                for partner_id, (jwks, roles) in partners.items()
            }
        )
