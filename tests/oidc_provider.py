"""A real OpenID provider on loopback, for tests: pyop behind werkzeug's HTTP server.

    with LoopbackOP(users={"anna": {"name": "Anna de Vries", "roles": ["zvh-regie"]}}) as op:
        op.register_redirect_uri("http://127.0.0.1:8123/auth/callback")
        ... op.issuer == "http://127.0.0.1:PORT"

Endpoints: /.well-known/openid-configuration, /authorization (GET: a plain HTML login form
where a person types a user name and presses "Inloggen"; POST: logs that user in and
redirects to the client with code and state), /token, /jwks, /userinfo.

What pyop 3.5 does and what this wrapper adds:
- pyop verifies PKCE at the token endpoint (RFC 7636, via oic's `verify_code_challenge`)
  when the authorization request carried a `code_challenge`: a missing or wrong
  `code_verifier` gets `invalid_request`. It does NOT require PKCE (a request without a
  challenge is served) and it accepts `code_challenge_method=plain` at the authorization
  endpoint (and then fails with a server error at the token endpoint, as oic knows only the
  S2xx methods). This OP therefore refuses, at /authorization, a request without an S256
  challenge (`require_pkce=True`, the default) and any method but S256.
- pyop refuses a second exchange of one code (`invalid_grant`), and codes live 10 minutes.
- oic's configuration check insists on an https issuer; the provider is built with an https
  placeholder and then given the real http://127.0.0.1 issuer and endpoints.
- In the code flow pyop puts only `claims`-parameter claims in the ID token; this OP passes
  each user's claims (e.g. `name`, `roles`) as `extra_id_token_claims`, so they are IN the
  ID token, which is what the hub reads.
- `sub` is the user name unless the user's claims give one (pyop's custom `sub`).

For attacker tests: `mint_id_token` signs any claims with this OP's key (or another kid), and
`token_response_hook` lets a test rewrite a token response before it is sent.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from Cryptodome.PublicKey import RSA
from joserfc import jwt
from joserfc.jwk import ECKey as JoseECKey
from joserfc.jwk import RSAKey as JoseRSAKey
from jwkest.jwk import ECKey, RSAKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import (
    InvalidAuthenticationRequest,
    InvalidClientAuthentication,
    OAuthError,
)
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

#: claims pyop sets itself; a user's claims must not repeat them
_PROTOCOL_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nonce", "at_hash", "c_hash"})
SUPPORTED_ALGS = ("RS256", "PS256", "ES256")

TokenHook = Callable[[dict[str, Any]], dict[str, Any]]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


def _signing_key(alg: str) -> tuple[Any, JoseRSAKey | JoseECKey]:
    """One signing key, as pyop (jwkest) and as joserfc (for minting forged tokens) want it."""
    kid = secrets.token_hex(8)
    if alg == "ES256":
        ec = JoseECKey.generate_key("P-256")
        d = ec.as_dict(private=True)
        key = ECKey(crv="P-256", x=d["x"], y=d["y"], d=d["d"], kid=kid, alg=alg, use="sig")
        return key, ec
    rsa = JoseRSAKey.generate_key(2048)
    key = RSAKey(key=RSA.import_key(rsa.as_pem(private=True)), kid=kid, alg=alg, use="sig")
    return key, rsa


class LoopbackOP:
    """An OpenID provider on 127.0.0.1 (a free port), served in a background thread."""

    def __init__(
        self,
        *,
        users: dict[str, dict[str, object]],
        client_id: str = "vhhub",
        client_secret: str = "loopback-client-secret",
        redirect_uris: Iterable[str] | None = None,
        signing_alg: str = "RS256",
        token_endpoint_auth_method: str = "client_secret_basic",
        require_pkce: bool = True,
        id_token_lifetime: int = 300,
    ) -> None:
        if signing_alg not in SUPPORTED_ALGS:
            raise ValueError(f"signing_alg must be one of {SUPPORTED_ALGS}")
        self.users = users
        self.client_id = client_id
        self.client_secret = client_secret
        self.signing_alg = signing_alg
        self.require_pkce = require_pkce
        #: a test may rewrite each token response (a dict) before it is sent
        self.token_response_hook: TokenHook | None = None
        #: requests served, by path (e.g. to see that discovery and keys are cached)
        self.hits: Counter[str] = Counter()
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.issuer = f"http://127.0.0.1:{self._server.port}"
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

        placeholder = "https://op.invalid"
        config = {
            "issuer": placeholder,
            "authorization_endpoint": f"{placeholder}/authorization",
            "token_endpoint": f"{placeholder}/token",
            "userinfo_endpoint": f"{placeholder}/userinfo",
            "jwks_uri": f"{placeholder}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [signing_alg],
            "token_endpoint_auth_methods_supported": [token_endpoint_auth_method],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
            "grant_types_supported": ["authorization_code"],
        }
        user_db = {name: {"sub": name, **claims} for name, claims in users.items()}
        self._clients: dict[str, dict[str, Any]] = {
            client_id: {
                "client_secret": client_secret,
                "redirect_uris": list(redirect_uris or []),
                "response_types": ["code"],
                "token_endpoint_auth_method": token_endpoint_auth_method,
                "id_token_signed_response_alg": signing_alg,
            }
        }
        self._signing_key, self._jose_key = _signing_key(signing_alg)
        self.provider = Provider(
            self._signing_key,
            config,
            AuthorizationState(HashBasedSubjectIdentifierFactory(secrets.token_hex(16))),
            self._clients,
            Userinfo(user_db),
            id_token_lifetime=id_token_lifetime,
        )
        # oic checks for an https issuer in the constructor only; now the real one
        for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
            path = str(config[key]).removeprefix(placeholder)
            self.provider.configuration_information[key] = self.issuer + path
        self.provider.configuration_information["issuer"] = self.issuer

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LoopbackOP:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"loopback-op-{self._server.port}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving (the port is closed: the IdP is "down")."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    # -- test controls -----------------------------------------------------------------------

    def register_redirect_uri(self, uri: str) -> None:
        with self._lock:
            uris = self._clients[self.client_id]["redirect_uris"]
            if uri not in uris:
                uris.append(uri)

    @property
    def kid(self) -> str:
        return str(self._signing_key.kid)

    def rotate_key(self) -> None:
        """A new signing key (and kid): the old one leaves the JWKS."""
        self._signing_key, self._jose_key = _signing_key(self.signing_alg)
        self.provider.signing_key = self._signing_key

    def mint_id_token(
        self, claims: dict[str, Any], *, kid: str | None = None, alg: str | None = None
    ) -> str:
        """Sign any claims with this OP's key (an attacker's token, a forged header)."""
        header = {"alg": alg or self.signing_alg, "kid": kid or self.kid}
        return jwt.encode(header, claims, self._jose_key, algorithms=[header["alg"]])

    def id_token_claims(
        self, user: str, *, nonce: str, aud: str | list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """The claims this OP would put in an ID token for `user` (for minting)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user,
            "aud": aud if aud is not None else self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }
        claims.update(self._extra_claims(user))
        claims.update(extra)
        return claims

    # -- HTTP --------------------------------------------------------------------------------

    def _extra_claims(self, user_id: str, client_id: str | None = None) -> dict[str, Any]:
        return {k: v for k, v in self.users.get(user_id, {}).items() if k not in _PROTOCOL_CLAIMS}

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.hits[request.path] += 1
        try:
            response = self._route(request)
        except Exception as exc:  # a test OP: say what broke, do not hang the client
            response = _json(
                {"error": "server_error", "error_description": type(exc).__name__}, 500
            )
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/.well-known/openid-configuration" and request.method == "GET":
            return _json(self.provider.provider_configuration.to_dict())
        if path == "/jwks" and request.method == "GET":
            return _json(self.provider.jwks)
        if path == "/authorization" and request.method == "GET":
            return self._authorization_get(request)
        if path == "/authorization" and request.method == "POST":
            return self._authorization_post(request)
        if path == "/token" and request.method == "POST":
            return self._token(request)
        if path == "/userinfo":
            return self._userinfo(request)
        return Response("not found", status=404, mimetype="text/plain")

    def _parse_authn(self, query: str) -> Response | Any:
        """The authentication request, validated by pyop, plus this OP's PKCE rule."""
        try:
            authn = self.provider.parse_authentication_request(query)
        except InvalidAuthenticationRequest as exc:
            url = exc.to_error_url()
            if url:
                return _redirect(url)
            return Response(
                f"invalid authentication request: {exc}", status=400, mimetype="text/plain"
            )
        method = authn.get("code_challenge_method")
        if ("code_challenge" in authn and method != "S256") or (
            self.require_pkce and "code_challenge" not in authn
        ):
            params = {"error": "invalid_request", "error_description": "PKCE with S256 required"}
            if "state" in authn:
                params["state"] = authn["state"]
            return _redirect(_add_query(authn["redirect_uri"], params))
        return authn

    def _authorization_get(self, request: Request) -> Response:
        query = request.query_string.decode("ascii", "replace")
        authn = self._parse_authn(query)
        if isinstance(authn, Response):
            return authn
        return self._form(query, error=None)

    def _authorization_post(self, request: Request) -> Response:
        query = request.form.get("request", "")
        authn = self._parse_authn(query)
        if isinstance(authn, Response):
            return authn
        username = request.form.get("username", "").strip()
        if username not in self.users:
            return self._form(query, error="Onbekende gebruikersnaam.", status=200)
        response = self.provider.authorize(authn, username)
        return _redirect(response.request(authn["redirect_uri"], False))

    def _form(self, query: str, *, error: str | None, status: int = 200) -> Response:
        message = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
        page = f"""<!doctype html>
<html lang="nl">
<head><meta charset="utf-8"><title>Inloggen - test-IdP</title></head>
<body>
<main>
<h1>Inloggen bij de test-IdP</h1>
{message}
<form method="post" action="/authorization">
<input type="hidden" name="request" value="{html.escape(query, quote=True)}">
<label for="username">Gebruikersnaam</label>
<input id="username" name="username" type="text" autocomplete="username" required>
<button type="submit">Inloggen</button>
</form>
</main>
</body>
</html>
"""
        return Response(page, status=status, mimetype="text/html")

    def _token(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        headers = (
            {"Authorization": request.headers.get("Authorization")}
            if request.headers.get("Authorization")
            else {}
        )
        try:
            token = self.provider.handle_token_request(
                body, headers, extra_id_token_claims=self._extra_claims
            )
        except InvalidClientAuthentication as exc:
            return _json({"error": "invalid_client", "error_description": str(exc)}, 401)
        except OAuthError as exc:
            return _json(
                {"error": exc.oauth_error or "invalid_request", "error_description": str(exc)}, 400
            )
        document: dict[str, Any] = token.to_dict()
        hook = self.token_response_hook
        if hook is not None:
            document = hook(document)
        response = _json(document)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _userinfo(self, request: Request) -> Response:
        body = request.get_data(as_text=True) if request.method == "POST" else ""
        auth = request.headers.get("Authorization")
        try:
            info = self.provider.handle_userinfo_request(
                body, {"Authorization": auth} if auth else {}
            )
        except (OAuthError, ValueError) as exc:
            return _json({"error": "invalid_token", "error_description": str(exc)}, 401)
        return _json(info.to_dict())


def _json(document: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url})


def _add_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)
