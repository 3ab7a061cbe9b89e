"""The browser's side of the security of the web application (ADR 0015): the headers every
page carries, the cookies, and the checks on every form post.

- Content-Security-Policy without 'unsafe-inline': scripts, styles and images come only from
  the hub itself (htmx and the Utrecht CSS are served from the package), nothing may frame a
  page, forms post only to the hub.
- Cookies: the session cookie is `__Host-` prefixed, HttpOnly, Secure and SameSite=Strict, so
  no script, no other site and no sibling domain can read, send or plant it. The cookie of an
  OpenID Connect login under way is SameSite=Lax: the identity provider's redirect back is a
  cross-site navigation, and a Strict cookie would not come with it.
- CSRF: every unsafe request (POST, PUT, PATCH, DELETE) carries the session's synchroniser
  token (form field `csrf_token` or header `X-CSRF-Token`, compared in constant time), and
  a browser that says where it comes from must say: this origin. Before login, the login
  forms use a double-submit token in a `__Host-` cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.web.sessions import same_token

SESSION_COOKIE: Final = "__Host-vhhub"
LOGIN_COOKIE: Final = "__Host-vhhub-login"
PRELOGIN_CSRF_COOKIE: Final = "__Host-vhhub-csrf"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
PAGE_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_PAGE_HEADER_NAMES: Final = frozenset(name for name, _ in PAGE_HEADERS)
HSTS: Final = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class PageHeadersMiddleware:
    """Adds the page headers (CSP and friends) to every answer outside /api; with an https
    public URL also HSTS."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.extra = (*PAGE_HEADERS, HSTS) if https else PAGE_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {n for n, _ in self.extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*headers, *self.extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def set_cookie(
    response: Response, name: str, value: str, *, same_site: str = "strict", max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite=same_site,  # type: ignore[arg-type]
    )


def clear_cookie(response: Response, name: str, *, same_site: str = "strict") -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite=same_site)  # type: ignore[arg-type]


def same_origin(request: Request) -> bool:
    """Whether the browser says this request comes from a page of this hub. Browsers send
    `Sec-Fetch-Site` and `Origin` on every form post; a request that names another site, or
    an origin other than the host it was sent to, is refused. A client that sends neither
    (not a browser) still needs the CSRF token."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    return bool(parts.netloc) and parts.netloc.lower() == host.lower()


def csrf_matches(
    expected: str | None, headers: Mapping[str, str], form: Mapping[str, object] | None
) -> bool:
    """The request's CSRF token (header, else form field) against the expected one."""
    supplied = headers.get(CSRF_HEADER)
    if supplied is None and form is not None:
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    return same_token(expected, supplied)
