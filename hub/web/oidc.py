"""Logging people in with their organisation's identity provider: the OpenID Connect
authorization code flow with PKCE (S256), one IdP per partner (ADR 0015).

Each partner with an `[partners.oidc]` sub-table in the network file (hub.identity.registry)
has its own issuer, client registration and role map. `OidcClients.start` builds the
authorization URL and what the session must keep until the callback (`PendingLogin`);
`OidcClients.finish` checks the callback, exchanges the code (client secret and
`code_verifier`), validates the ID token (OpenID Connect Core 3.1.3.7, RFC 8725) and maps the
IdP's roles onto the roles the partner's kind may hold.

Every failure is an `OidcError` whose `reason` is a short code for the access log; it never
carries a token, a code, a claim value or a secret.

authlib does the protocol pieces (state, nonce and verifier generation, the S256 challenge,
the authorization URL, the token request with client authentication, the ID token claims
rules); joserfc, which authlib 1.9 builds on, verifies the signature with the IdP's JWKS.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.client import (  # type: ignore[import-untyped, unused-ignore]
    OAuth2Client,
)
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped, unused-ignore]
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet, import_key
from joserfc.jws import JWSRegistry

from hub.identity.registry import NetworkRegistry, OidcSpec, PartnerSpec
from hub.vocabulary import Role

#: only asymmetric signatures; never `none`, never HS* (RFC 8725 3.1, 3.2). Ed25519 is the
#: fully specified name of EdDSA (RFC 9864); joserfc warns (SecurityWarning) on "EdDSA"
ID_TOKEN_ALGS: Final = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
#: how long a login may take between `start` and `finish`
LOGIN_MAX_AGE_S: Final = 600.0
#: clock skew allowed on `exp`, `iat` and `nbf`
LEEWAY_S: Final = 60
#: discovery documents and key sets are fetched again after this long
CACHE_TTL_S: Final = 3600.0
MAX_USER_LEN: Final = 128
MAX_NAME_LEN: Final = 200
#: at most this many unmapped IdP role values are reported, each at most this long
MAX_REFUSED: Final = 20
MAX_REFUSED_LEN: Final = 64
#: RFC 6749 4.1.2.1 and OpenID Connect Core 3.1.2.6: the error codes an IdP may send back;
#: anything else is reported as plain `idp_error` (the value comes from the browser)
_IDP_ERRORS: Final = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)
_TOKEN_ERRORS: Final = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
_CLAIM_NAME: Final = re.compile(r"[a-z_]{1,16}")


class OidcError(Exception):
    """A login that did not succeed. `reason` is a short code for the access log, e.g.
    `state_mismatch` or `id_token:bad_signature`: never a token, a code or a claim value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PendingLogin:
    """What the hub keeps (server-side) between the redirect to the IdP and its callback.
    `created_at` is seconds since the epoch."""

    partner: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: float


@dataclass(frozen=True)
class IdpIdentity:
    """Who logged in: the partner, the user (the configured user claim), a display name if
    the IdP sent one, the vhhub roles granted, and the IdP role values that granted none
    (for the access log)."""

    partner: str
    user: str
    display_name: str | None
    roles: frozenset[Role]
    refused_roles: tuple[str, ...]


@dataclass(frozen=True)
class _Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_method: str


class OidcClients:
    """The OpenID Connect clients of the hub, one per partner with an IdP.

    Thread-safe: discovery documents and key sets are cached per issuer (an hour), and a key
    set is fetched again once when an ID token names a key it does not hold (key rotation).
    """

    def __init__(
        self,
        registry: NetworkRegistry,
        *,
        secrets: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._secrets: Mapping[str, str] = os.environ if secrets is None else secrets
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, tuple[float, _Metadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    def close(self) -> None:
        """Close the HTTP client, unless it was handed in."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> OidcClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def partners(self) -> list[PartnerSpec]:
        """The partners whose people log in with their own IdP."""
        return self._registry.oidc_partners()

    def start(self, partner_id: str, redirect_uri: str) -> tuple[str, PendingLogin]:
        """The IdP's authorization URL for this partner (code flow, S256 challenge, state,
        nonce, scopes), and what the session must keep until the callback."""
        spec = self._spec(partner_id)
        meta = self._discover(spec)
        verifier = generate_token(64)
        nonce = generate_token(43)
        client = OAuth2Client(
            session=None,
            client_id=spec.client_id,
            scope=list(spec.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        url, state = client.create_authorization_url(
            meta.authorization_endpoint,
            state=generate_token(43),
            code_verifier=verifier,
            nonce=nonce,
        )
        pending = PendingLogin(
            partner=partner_id,
            state=str(state),
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            created_at=float(self._clock()),
        )
        return str(url), pending

    def finish(self, pending: PendingLogin, params: Mapping[str, str]) -> IdpIdentity:
        """Check the callback's query parameters against the pending login, exchange the code
        and validate the ID token. Raises OidcError. The caller must drop the pending login
        whatever the outcome: a callback is good once."""
        # the state first: a callback that is not the answer to this login says nothing
        state = params.get("state")
        if not isinstance(state, str) or not hmac.compare_digest(
            state.encode("utf-8", "surrogatepass"), pending.state.encode("utf-8", "surrogatepass")
        ):
            raise OidcError("state_mismatch")
        error = params.get("error")
        if error is not None:
            raise OidcError(f"idp_error:{error}" if error in _IDP_ERRORS else "idp_error")
        age = float(self._clock()) - pending.created_at
        if not -LEEWAY_S <= age <= LOGIN_MAX_AGE_S:
            raise OidcError("login_expired")
        spec = self._spec(pending.partner)
        # RFC 9207: when the IdP names itself in the callback, it must be the one we sent to
        if "iss" in params and params["iss"] != spec.issuer:
            raise OidcError("iss_mismatch")
        code = params.get("code")
        if not isinstance(code, str) or not code or len(code) > 2048:
            raise OidcError("code_missing")
        secret = self._secrets.get(spec.client_secret_env)
        if not secret:
            raise OidcError("client_secret_missing")
        meta = self._discover(spec)
        token = self._exchange(spec, meta, secret, pending, code)
        claims = self._validate_id_token(spec, meta, token, pending.nonce)
        return self._identity(pending.partner, spec, claims)

    # -- the pieces ------------------------------------------------------------------------

    def _spec(self, partner_id: str) -> OidcSpec:
        partner = self._registry.partners.get(partner_id)
        if partner is None or partner.oidc is None:
            raise OidcError("unknown_partner")
        return partner.oidc

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            raise OidcError("idp_unavailable") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise OidcError("idp_unavailable")
        if response.status_code != 200:
            raise OidcError(f"{what}:http_{response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise OidcError(f"{what}:invalid") from None
        if not isinstance(document, dict):
            raise OidcError(f"{what}:invalid")
        return document

    def _discover(self, spec: OidcSpec) -> _Metadata:
        now = time.monotonic()
        with self._lock:
            cached = self._metadata.get(spec.issuer)
        if cached is not None and now - cached[0] < CACHE_TTL_S:
            return cached[1]
        url = spec.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._get_json(url, "discovery")
        if document.get("issuer") != spec.issuer:
            raise OidcError("discovery:issuer_mismatch")
        endpoints: dict[str, str] = {}
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(key)
            if not isinstance(value, str) or not _same_security(value, spec.issuer):
                raise OidcError(f"discovery:bad_{key}")
            endpoints[key] = value
        methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        if not isinstance(methods, list):
            raise OidcError("discovery:invalid")
        if "client_secret_basic" in methods:
            auth_method = "client_secret_basic"
        elif "client_secret_post" in methods:
            auth_method = "client_secret_post"
        else:
            raise OidcError("discovery:no_client_secret_auth")
        meta = _Metadata(
            endpoints["authorization_endpoint"],
            endpoints["token_endpoint"],
            endpoints["jwks_uri"],
            auth_method,
        )
        with self._lock:
            self._metadata[spec.issuer] = (now, meta)
        return meta

    def _key_set(self, spec: OidcSpec, meta: _Metadata, *, refresh: bool) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(spec.issuer)
        if not refresh and cached is not None and now - cached[0] < CACHE_TTL_S:
            return cached[1]
        document = self._get_json(meta.jwks_uri, "jwks")
        raw_keys = document.get("keys")
        if not isinstance(raw_keys, list):
            raise OidcError("jwks:invalid")
        keys = []
        for raw in raw_keys:
            # signing keys only; a key of a type or curve joserfc does not know is skipped
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                continue
            if raw.get("kty") == "oct":  # a symmetric key has no place in a public key set
                continue
            try:
                keys.append(import_key(raw))
            except (JoseError, ValueError, TypeError):
                continue
        key_set = KeySet(keys)
        with self._lock:
            self._keys[spec.issuer] = (now, key_set)
        return key_set

    def _exchange(
        self, spec: OidcSpec, meta: _Metadata, secret: str, pending: PendingLogin, code: str
    ) -> Mapping[str, Any]:
        client = OAuth2Client(
            session=self._http,
            client_id=spec.client_id,
            client_secret=secret,
            token_endpoint_auth_method=meta.token_auth_method,
            redirect_uri=pending.redirect_uri,
        )
        try:
            token = client.fetch_token(
                meta.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
                auth=_ClientAuth(spec.client_id, secret, meta.token_auth_method),
            )
        except httpx.TransportError:
            raise OidcError("idp_unavailable") from None
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code >= 500 or exc.response.status_code == 429:
                raise OidcError("idp_unavailable") from None
            raise OidcError(f"token:http_{exc.response.status_code}") from None
        except OAuth2Error as exc:
            error = getattr(exc, "error", None)
            raise OidcError(f"token:{error}" if error in _TOKEN_ERRORS else "token:error") from None
        except (httpx.HTTPError, ValueError):
            raise OidcError("token:invalid_response") from None
        if not isinstance(token, Mapping) or not isinstance(token.get("id_token"), str):
            raise OidcError("token:no_id_token")
        return token

    def _validate_id_token(
        self, spec: OidcSpec, meta: _Metadata, token: Mapping[str, Any], nonce: str
    ) -> dict[str, Any]:
        id_token: str = token["id_token"]
        registry = JWSRegistry(algorithms=list(ID_TOKEN_ALGS), strict_check_header=False)
        try:
            try:
                decoded = jwt.decode(
                    id_token, self._key_set(spec, meta, refresh=False), None, registry
                )
            except InvalidKeyIdError:  # the IdP rotated its keys: fetch them once more
                decoded = jwt.decode(
                    id_token, self._key_set(spec, meta, refresh=True), None, registry
                )
        except InvalidKeyIdError:
            raise OidcError("id_token:unknown_key") from None
        except BadSignatureError:
            raise OidcError("id_token:bad_signature") from None
        except UnsupportedAlgorithmError:
            raise OidcError("id_token:bad_alg") from None
        except (JoseError, ValueError, TypeError):
            raise OidcError("id_token:malformed") from None
        if decoded.header.get("alg") not in ID_TOKEN_ALGS:  # belt and braces (RFC 8725 3.1)
            raise OidcError("id_token:bad_alg")
        options = {
            "iss": {"essential": True, "value": spec.issuer},
            "aud": {"essential": True, "value": spec.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        params: dict[str, Any] = {"nonce": nonce, "client_id": spec.client_id}
        access_token = token.get("access_token")
        if isinstance(access_token, str):
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(now=int(self._clock()), leeway=LEEWAY_S)
        except ExpiredTokenError:
            raise OidcError("id_token:expired") from None
        except MissingClaimError:
            raise OidcError("id_token:missing_claim") from None
        except ClaimError as exc:
            claim = exc.claim if _CLAIM_NAME.fullmatch(exc.claim) else "claim"
            raise OidcError(f"id_token:bad_{claim}") from None
        except (JoseError, ValueError, TypeError):
            raise OidcError("id_token:invalid") from None
        # OpenID Connect Core 3.1.3.7 (3): with several audiences, azp must be this client
        aud = decoded.claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and decoded.claims.get("azp") != spec.client_id:
            raise OidcError("id_token:bad_azp")
        return dict(decoded.claims)

    def _identity(self, partner_id: str, spec: OidcSpec, claims: dict[str, Any]) -> IdpIdentity:
        user = claims.get(spec.user_claim)
        if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_LEN:
            raise OidcError("claim:user")
        name = claims.get(spec.name_claim)
        display_name = name.strip()[:MAX_NAME_LEN] if isinstance(name, str) else None
        raw_roles = claims.get(spec.roles_claim)
        if isinstance(raw_roles, str):
            values = raw_roles.split()
        elif isinstance(raw_roles, list):
            values = [v for v in raw_roles if isinstance(v, str)]
        else:
            values = []
        allowed = self._registry.allowed_roles(partner_id)
        roles: set[Role] = set()
        refused: list[str] = []
        for value in dict.fromkeys(values):
            role = spec.role_for(value)
            if role is not None and role in allowed:
                roles.add(role)
            elif len(refused) < MAX_REFUSED:
                refused.append(value[:MAX_REFUSED_LEN])
        if not roles:
            raise OidcError("no_role")
        return IdpIdentity(
            partner=partner_id,
            user=user,
            display_name=display_name or None,
            roles=frozenset(roles),
            refused_roles=tuple(refused),
        )


class _ClientAuth(httpx.Auth):
    """authlib's client authentication (client_secret_basic or client_secret_post) as an
    httpx auth flow. authlib's own (authlib.integrations.httpx_client) warns, in 1.9, that
    it wants the httpx2 package; this hub uses httpx."""

    requires_request_body = True

    def __init__(self, client_id: str, client_secret: str, method: str) -> None:
        self._auth = ClientAuth(client_id, client_secret, method)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url, auth_headers, body = self._auth.prepare(
            request.method, str(request.url), {}, request.content.decode()
        )
        content = str(body).encode()
        headers = request.headers.copy()
        headers.update(auth_headers)
        headers["Content-Length"] = str(len(content))
        yield httpx.Request(request.method, str(url), headers=headers, content=content)


def _same_security(url: str, issuer: str) -> bool:
    """An endpoint is https, or http only where the issuer itself is (a loopback IdP)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return (
        parts.scheme == "http"
        and urlsplit(issuer).scheme == "http"
        and _is_loopback(parts.hostname)
    )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
