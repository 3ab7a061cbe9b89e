"""Authentication before anything else reads the request.

Every API path except the public ones (health, readiness, the OpenAPI document and its
viewer) is authenticated here, before routing, body parsing or validation. So a forged,
expired or replayed token gets the same 401 whatever the body, the path or the method:
no answer depends on anything a caller without a valid token sent.

Rate limits sit on both sides of authentication (ADR 0404): per client address before it,
so a flood never reaches token verification, and per partner after it, because only a
verified token says which partner is asking. Over a limit the answer is a 429 with
Retry-After; nothing else of the request is looked at, and the refusal is logged (counted,
when it repeats) like any other.
"""

from __future__ import annotations

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.api_docs import asset_paths
from hub.audit.log import ANONYMOUS, Actor, RequestInfo
from hub.errors import HubError, Unauthenticated
from hub.http import problem_response
from hub.identity.binding import client_certificate
from hub.identity.service import Authenticator
from hub.identity.throttle import (
    PARTNER_LIMITED,
    SOURCE_LIMITED,
    TooManyRequests,
    request_source,
)

PUBLIC_PATHS = frozenset(
    {
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/openapi.json",
        # the key set partners verify notification signatures with (ADR 0019)
        "/api/v1/notifications/keys",
        # the interactive docs page and each of its files (served from the package)
        *asset_paths("/api/v1/docs"),
    }
)


#: RFC 6750 §3.1: a request without any bearer token gets the challenge without an error
#: code; one whose token was refused gets `error="invalid_token"` (hub.errors.Unauthenticated)
BEARER_CHALLENGE = 'Bearer realm="vhhub"'


def _has_bearer_token(scope: Scope) -> bool:
    """Whether the request presented a bearer token at all (as the authenticator reads it)."""
    scheme, _, value = (_header(scope, b"authorization") or "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
                return None
    return None


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        # the API is bearer-token only; the web application's pages (outside /api) have
        # their own session login (hub.web), which fails closed route by route
        if not (path == "/api" or path.startswith("/api/")) or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # the client address as RequestContextMiddleware resolved it (normalised, proxies)
        info = RequestInfo(request_id=state.get("request_id"), source=state.get("source"))
        throttle = self.authenticator.throttle
        wait_s = throttle.by_source.acquire(request_source(scope))
        if wait_s:
            await self._too_many(wait_s, SOURCE_LIMITED, info, ANONYMOUS, scope, receive, send)
            return
        try:
            # verification may fetch a JWKS and writes the replay store: off the event loop
            viewer = await to_thread.run_sync(
                self.authenticator.authenticate,
                _header(scope, b"authorization"),
                _header(scope, b"purpose"),
                info,
                client_certificate(scope),
            )
        except HubError as exc:
            headers = exc.headers
            if isinstance(exc, Unauthenticated) and not _has_bearer_token(scope):
                headers = {"WWW-Authenticate": BEARER_CHALLENGE}
            await problem_response(exc.to_problem(), headers=headers or None)(scope, receive, send)
            return
        wait_s = throttle.by_partner.acquire(viewer.partner)
        if wait_s:
            await self._too_many(
                wait_s, PARTNER_LIMITED, viewer.request, viewer.actor, scope, receive, send
            )
            return
        state["viewer"] = viewer
        await self.app(scope, receive, send)

    async def _too_many(
        self,
        wait_s: int,
        reason: str,
        request: RequestInfo,
        actor: Actor,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Log (or count) the refusal, then answer 429 without reading anything more."""
        await to_thread.run_sync(self.authenticator.refuse_throttled, reason, request, actor)
        refusal = TooManyRequests(wait_s)
        await problem_response(refusal.to_problem(), headers=refusal.response_headers())(
            scope, receive, send
        )
