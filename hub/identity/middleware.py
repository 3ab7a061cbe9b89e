"""Authentication before anything else reads the request.

Every API path except the public ones (health, readiness, the OpenAPI document and its
viewer) is authenticated here, before routing, body parsing or validation. So a forged,
expired or replayed token gets the same 401 whatever the body, the path or the method:
no answer depends on anything a caller without a valid token sent.
"""

from __future__ import annotations

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.audit.log import RequestInfo
from hub.errors import HubError
from hub.http import problem_response
from hub.identity.service import Authenticator

PUBLIC_PATHS = frozenset(
    {
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/api/v1/docs/oauth2-redirect",
    }
)


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
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        client = scope.get("client")
        info = RequestInfo(request_id=state.get("request_id"), source=client[0] if client else None)
        try:
            # verification may fetch a JWKS and writes the replay store: off the event loop
            viewer = await to_thread.run_sync(
                self.authenticator.authenticate,
                _header(scope, b"authorization"),
                _header(scope, b"purpose"),
                info,
            )
        except HubError as exc:
            await problem_response(exc.to_problem(), headers=exc.headers or None)(
                scope, receive, send
            )
            return
        state["viewer"] = viewer
        await self.app(scope, receive, send)
