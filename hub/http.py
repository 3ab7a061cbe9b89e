"""HTTP plumbing shared by every router: request context, body limit, problem+json answers.

Pure ASGI middleware (no BaseHTTPMiddleware) so streaming and exceptions behave, and so the
request id is bound before anything else can log.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import PROBLEM_JSON, HubError, PayloadTooLarge, problem
from hub.logging import get_logger

log = get_logger("hub.http")

REQUEST_ID_HEADER = "x-request-id"
#: what an access-log entry accepts as an id (hub.audit.entry): a client's own request id is
#: kept only when it fits, otherwise we make one
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def problem_response(
    body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


class RequestContextMiddleware:
    """Request id, body size limit and one structured log line per request."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        supplied = headers.get(REQUEST_ID_HEADER, "")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            response = problem_response(PayloadTooLarge().to_problem())
            response.headers[REQUEST_ID_HEADER] = request_id
            await response(scope, receive, send)
            self._log(scope, 413, started)
            return

        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise PayloadTooLarge()
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if exceeded:
                # the framework may have turned our exception into its own 400: answer 413
                if message["type"] == "http.response.start":
                    status = 413
                    too_large = problem_response(PayloadTooLarge().to_problem())
                    too_large.headers[REQUEST_ID_HEADER] = request_id
                    await too_large(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        finally:
            self._log(scope, status, started)
            structlog.contextvars.clear_contextvars()

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        # the route template, not the raw path: ids stay out, query strings never get in
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        log.info(
            "request",
            method=scope.get("method"),
            route=path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Unauthenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}

_HTTP_DETAILS = {
    400: "The request could not be parsed (malformed or too deeply nested body).",
    404: "No such resource, or it is not visible to you.",
    405: "This method is not allowed on this resource.",
}


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        where, parts = parts[0], parts[1:]
    else:
        where = "body"
    escaped = [p.replace("~", "~0").replace("/", "~1")[:64] for p in parts]
    return where + ":/" + "/".join(escaped) if escaped else where + ":"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        return problem_response(exc.to_problem(), headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors()[:50]:
            # pydantic's message templates carry limits and expected values, not the input;
            # custom value errors could carry anything, so they get a fixed text.
            message = (
                err.get("msg", "invalid value")
                if err.get("type") != "value_error"
                else ("invalid value")
            )
            errors.append({"pointer": _pointer(tuple(err.get("loc", ()))), "problem": message})
        body = problem(
            422,
            "validation-failed",
            "Validation failed",
            "The request does not match the expected structure; see errors.",
            errors=errors,
        )
        return problem_response(body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = _HTTP_DETAILS.get(exc.status_code, title)
        return problem_response(
            problem(exc.status_code, slug, title, detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # the exception text may hold values (SQL, library messages): log only its type
        log.error("unhandled_error", error_type=type(exc).__name__)
        return problem_response(HubError().to_problem())
