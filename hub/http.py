"""HTTP plumbing shared by every router: request context, body limit, problem+json answers.

Pure ASGI middleware (no BaseHTTPMiddleware) so streaming and exceptions behave, and so the
request id is bound before anything else can log.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import PROBLEM_JSON, HubError, LoneSurrogate, PayloadTooLarge, problem
from hub.logging import get_logger

log = get_logger("hub.http")

REQUEST_ID_HEADER = "x-request-id"
#: what an access-log entry accepts as an id (hub.audit.entry): a client's own request id is
#: kept only when it fits, otherwise we make one
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: every JSON escape, so an escaped backslash is never read as the start of a \\u escape
_JSON_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON text holds a \\u escape of a UTF-16 surrogate that is not one half of a
    high-low pair: it decodes to a str no UTF-8 encoder accepts, so it must never be stored."""
    pending_end = -1  # where a high surrogate escape ended, waiting for its low half
    for match in _JSON_ESCAPE.finditer(body):
        hex_digits = match.group(1)
        unit = int(hex_digits, 16) if hex_digits is not None else -1
        if pending_end >= 0:
            if 0xDC00 <= unit <= 0xDFFF and match.start() == pending_end:
                pending_end = -1
                continue
            return True
        if 0xD800 <= unit <= 0xDBFF:
            pending_end = match.end()
        elif 0xDC00 <= unit <= 0xDFFF:
            return True
    return pending_end >= 0


def _is_json_body(content_type: str | None) -> bool:
    """What FastAPI parses as JSON: no content type, or application/json or */*+json."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


#: the largest integer a query or path parameter may carry: well inside a signed 64-bit column,
#: with room for the +1 of a next page, so a huge number is a 422 and never a database overflow
MAX_PARAM_INT = 2**62
#: the times a filter may name: an offset applied at the edges of `datetime` overflows
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _bounded_time(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        in_utc = aware.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise PydanticCustomError(
            "datetime_range", "must be a time between 1900-01-01 and 9000-01-01 (UTC)"
        )
    return value


def _bounded_date(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise PydanticCustomError("date_range", "must be a date between 1900-01-01 and 9000-01-01")
    return value


#: a datetime parameter within the range every backend and conversion handles
BoundedDatetime = Annotated[datetime, AfterValidator(_bounded_time)]
#: a date parameter within the same range
BoundedDate = Annotated[date, AfterValidator(_bounded_date)]


class SafeJSONResponse(JSONResponse):
    """JSON that survives text no UTF-8 encoder takes (a lone surrogate stored before publish
    refused it): such a body is written with every non-ASCII character escaped, so a reader
    gets the text as it was stored instead of a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(
                content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
            ).encode("ascii")


def model_response(model: BaseModel) -> SafeJSONResponse:
    """A response model as a `SafeJSONResponse` (FastAPI's own serializer would fail on it)."""
    return SafeJSONResponse(model.model_dump(mode="json", by_alias=True))


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
        refusal: HubError | None = None
        check_json = _is_json_body(headers.get("content-type"))
        chunks: list[bytes] = []

        async def limited_receive() -> Message:
            nonlocal received, refusal
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body_bytes:
                    refusal = PayloadTooLarge()
                    raise refusal
                if check_json:
                    chunks.append(chunk)
                    if not message.get("more_body", False) and has_lone_surrogate(b"".join(chunks)):
                        refusal = LoneSurrogate()
                        raise refusal
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if refusal is not None:
                # the framework may have turned our exception into its own 400: answer ours
                if message["type"] == "http.response.start":
                    status = refusal.status
                    answer = problem_response(refusal.to_problem())
                    answer.headers[REQUEST_ID_HEADER] = request_id
                    await answer(scope, receive, send)
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


#: stands in for a member name the client chose (an extra key, a key of a free-form object):
#: the pointer says where, without repeating a name that may be personal data
CLIENT_NAME = "*"


def _pointer(loc: tuple[int | str, ...], known: frozenset[str]) -> str:
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        where, parts = str(parts[0]), parts[1:]
    else:
        where = "body"
    shown = [
        str(p) if isinstance(p, int) and not isinstance(p, bool) else p if p in known else None
        for p in parts
    ]
    escaped = [
        CLIENT_NAME if p is None else p.replace("~", "~0").replace("/", "~1")[:64] for p in shown
    ]
    return where + ":/" + "/".join(escaped) if escaped else where + ":"


def schema_names(document: dict[str, Any]) -> frozenset[str]:
    """Every member and parameter name the API's own OpenAPI document defines."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(str(k) for k in properties)
            if node.get("in") in {"query", "path", "header", "cookie"} and "name" in node:
                names.add(str(node["name"]))
                names.add(str(node["name"]).lower())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return frozenset(names)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        return problem_response(exc.to_problem(), headers=exc.headers or None)

    known: list[frozenset[str]] = []  # computed at the first validation error

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if not known:
            known.append(schema_names(app.openapi()))
        errors = []
        for err in exc.errors()[:50]:
            # pydantic's message templates carry limits and expected values, not the input;
            # custom value errors could carry anything, so they get a fixed text.
            message = (
                err.get("msg", "invalid value")
                if err.get("type") != "value_error"
                else ("invalid value")
            )
            errors.append(
                {"pointer": _pointer(tuple(err.get("loc", ())), known[0]), "problem": message}
            )
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
