"""HTTP plumbing shared by every router: request context, limits, problem+json answers.

Pure ASGI middleware (no BaseHTTPMiddleware) so streaming and exceptions behave, and so the
request id and the client address are settled before anything else can log.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any, ClassVar, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError, PydanticSerializationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import __version__
from hub.crypto.errors import KeyStoreError
from hub.db.errors import storage_error_handler
from hub.errors import (
    PROBLEM_JSON,
    HubError,
    KeysUnavailable,
    LoneSurrogate,
    PayloadTooLarge,
    ValidationFailed,
    problem,
)
from hub.logging import get_logger

log = get_logger("hub.http")

REQUEST_ID_HEADER = "x-request-id"
#: W3C Trace Context (https://www.w3.org/TR/trace-context/): the caller's trace, continued
TRACEPARENT_HEADER = "traceparent"
#: FSC logging: the transaction id an FSC outway gave the call, echoed when it is a UUID
FSC_TRANSACTION_ID_HEADER = "fsc-transaction-id"
#: NL API Design Rules /core/version-header: the full version on every API answer
API_VERSION_HEADER = "api-version"
#: on every answer, errors included: answers hold personal data or say who may see it, so no
#: browser or proxy may keep a copy, and no browser may sniff a type other than the declared one
EDGE_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)
#: on every API answer (NL API Design Rules /core/transport/security-headers), unless the
#: route set its own (the interactive docs page sets a CSP that lets it load its scripts):
#: an API answer is never a page, so it may load nothing, be framed by nothing and send no
#: referrer; HTTPS only (a browser ignores HSTS on a plain http answer)
API_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)
_API_HEADER_NAMES: Final = frozenset(name for name, _ in API_HEADERS)
#: headers only the edge writes: whatever the application set under these names is dropped
_EDGE_NAMES: Final = frozenset(
    {
        *(name for name, _ in EDGE_HEADERS),
        REQUEST_ID_HEADER.encode(),
        TRACEPARENT_HEADER.encode(),
        FSC_TRANSACTION_ID_HEADER.encode(),
        API_VERSION_HEADER.encode(),
    }
)
#: what a header line costs on the wire besides its name and value (": " and CRLF)
_HEADER_LINE_OVERHEAD: Final = 4
#: the innermost frames an unhandled error names in the log (module and line, no values)
_LOGGED_FRAMES: Final = 12
#: what an access-log entry accepts as an id (hub.audit.entry): a client's own request id is
#: kept only when it fits, otherwise we make one
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: every JSON escape, so an escaped backslash is never read as the start of a \\u escape
_JSON_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
#: a version-00 traceparent: lower-case hex only, exactly this long (W3C Trace Context §3.2)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
#: a UUID in its canonical text form (FSC transaction ids are UUIDs)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ZERO_TRACE_ID: Final = "0" * 32
_ZERO_SPAN_ID: Final = "0" * 16


@dataclass(frozen=True)
class TraceContext:
    """The W3C trace this request belongs to, as the hub continues it.

    `trace_id` is the caller's (from a valid `traceparent`) or a new one; `span_id` is the
    hub's own span for this request; `parent_span_id` is the caller's span (None when the
    hub started the trace); `fsc_transaction_id` is the FSC transaction id the caller sent,
    when it was a UUID. The access log's request id is `<trace_id>.<span_id>` unless the
    client sent its own X-Request-Id."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    fsc_transaction_id: str | None
    #: the trace flags passed on: the caller's, or sampled (the hub logs every request)
    trace_flags: str = "01"

    @property
    def traceparent(self) -> str:
        """The `traceparent` the hub answers with (and would send on): its own span."""
        return f"00-{self.trace_id}-{self.span_id}-{self.trace_flags}"

    @property
    def request_id(self) -> str:
        """The request id this trace gives a request that brought none of its own."""
        return f"{self.trace_id}.{self.span_id}"


_current_trace: ContextVar[TraceContext | None] = ContextVar("vhhub_trace", default=None)


def current_trace() -> TraceContext | None:
    """The trace of the request being served (None outside a request): set by
    `RequestContextMiddleware` before anything else runs, and seen by the route's code, its
    worker thread included (the context is copied to it)."""
    return _current_trace.get()


def _new_id(hex_chars: int) -> str:
    while True:  # an all-zero id is invalid in a traceparent
        value = secrets.token_hex(hex_chars // 2)
        if value.strip("0"):
            return value


def trace_from_headers(
    traceparents: Sequence[str], fsc_transaction_ids: Sequence[str]
) -> TraceContext:
    """The trace a request continues, from its headers. A `traceparent` that is not exactly
    one valid version-00 value (lower-case hex, non-zero ids) is ignored, never an error: the
    hub then starts a trace of its own. An FSC transaction id is kept only when it is one
    UUID."""
    parent: re.Match[str] | None = None
    if len(traceparents) == 1:
        parent = _TRACEPARENT.match(traceparents[0].strip(" \t"))
        if parent is not None and (
            parent.group(1) == _ZERO_TRACE_ID or parent.group(2) == _ZERO_SPAN_ID
        ):
            parent = None
    fsc_id: str | None = None
    if len(fsc_transaction_ids) == 1:
        candidate = fsc_transaction_ids[0].strip(" \t").lower()
        fsc_id = candidate if _UUID.match(candidate) else None
    span_id = _new_id(16)
    if parent is None:
        return TraceContext(_new_id(32), span_id, None, fsc_id)
    return TraceContext(parent.group(1), span_id, parent.group(2), fsc_id, parent.group(3))


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
#: with room for the +1 of a next page, so a huge number is a 400 and never a database overflow
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
        if isinstance(content, _Rendered):
            return content.body
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(
                content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
            ).encode("ascii")


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A body pydantic-core already wrote as JSON (see `model_response`)."""

    body: bytes


def model_response(model: BaseModel) -> SafeJSONResponse:
    """A response model as a `SafeJSONResponse` (FastAPI's own serializer would fail on it).

    Serialised once, by pydantic-core straight to JSON bytes: building the JSON-mode dict
    and then encoding it with the stdlib cost a 200-fact briefing about 2 ms of CPU (ADR
    0020). The bytes are what `model_dump(mode="json")` plus compact JSON would give. Text no
    UTF-8 encoder takes (a lone surrogate stored before publish refused it) makes pydantic
    refuse, and then the old path answers with every non-ASCII character escaped."""
    try:
        body = model.__pydantic_serializer__.to_json(model, by_alias=True)
    except PydanticSerializationError:
        return SafeJSONResponse(model.model_dump(mode="json", by_alias=True))
    return SafeJSONResponse(_Rendered(body))


def problem_response(
    body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


class HeadersTooLarge(HubError):
    status = 431
    slug = "headers-too-large"
    title = "Request headers too large"
    default_detail = "The request headers exceed the hub's limit."


IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def normalise_ip(text: str) -> IPAddress | None:
    """An IP address in its one spelling, or None for anything else (a unix socket path, a
    test client's name). IPv4-mapped IPv6 (::ffff:10.0.0.1, what a dual-stack socket reports
    for an IPv4 peer) is the IPv4 address it maps, so one client has one source in the log; a
    zone id (fe80::1%eth0) names an interface of this host, not the client, and is dropped."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return IPv6Address(int(address))
    return address


def _normalise_network(network: IPNetwork) -> IPNetwork:
    """An IPv4-mapped network as the IPv4 network it maps, to match normalised addresses."""
    if isinstance(network, IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network((mapped, network.prefixlen - 96))
    return network


def _forwarded_hop(text: str) -> IPAddress | None:
    """One X-Forwarded-For element as a proxy writes it: an address, possibly with a port
    (`192.0.2.1:4711`, `[2001:db8::1]:4711`)."""
    text = text.strip()
    address = normalise_ip(text)
    if address is not None:
        return address
    if text.startswith("["):
        inner, closed, _ = text[1:].partition("]")
        return normalise_ip(inner) if closed else None
    host, colon, port = text.rpartition(":")
    if colon and port.isdigit() and ":" not in host:
        return normalise_ip(host)
    return None


def resolve_source(
    client: Sequence[Any] | None, forwarded: Iterable[str], trusted: Sequence[IPNetwork]
) -> str | None:
    """The client address to log: the direct peer, unless that is a trusted proxy; then the
    right-most X-Forwarded-For address that is not itself a trusted proxy.

    Every proxy appends the peer it saw, so only the elements our own proxies appended can be
    believed, and those are read from the right; everything left of the first address outside
    them is whatever the client chose to send. A peer we do not trust may write anything there,
    so its header is not read at all. An element that is no address was not written by a proxy
    of ours: the walk stops at the last address it could vouch for."""
    peer = normalise_ip(str(client[0])) if client else None
    if peer is None:
        return None
    if not any(peer in network for network in trusted):
        return str(peer)
    source = peer
    hops = [hop for value in forwarded for hop in value.split(",")]
    for element in reversed(hops):
        hop = _forwarded_hop(element)
        if hop is None:
            break
        source = hop
        if not any(hop in network for network in trusted):
            break
    return str(source)


def _error_type(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def log_unhandled(exc: BaseException, scope: Scope) -> None:
    """The one log record of an unexpected error: its type (and its cause's), the request id,
    the route template and where it was raised, as module:line. Never the message, arguments
    or a rendered traceback: a psycopg error's text holds the statement's values in its DETAIL
    line (idempotency keys, user ids), and any other library's text may do the same."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    cause = exc.__cause__ or exc.__context__
    frames = [
        f"{frame.f_globals.get('__name__', '?')}:{line}"
        for frame, line in traceback.walk_tb(exc.__traceback__)
    ]
    log.error(
        "unhandled_error",
        error_type=_error_type(exc),
        cause_type=None if cause is None else _error_type(cause),
        request_id=scope.get("state", {}).get("request_id"),
        route=route,
        frames=frames[-_LOGGED_FRAMES:],
    )


def internal_error(request_id: str | None) -> dict[str, Any]:
    """The generic 500: says nothing about the error, only which request to look up."""
    return HubError(extra={"request_id": request_id} if request_id else None).to_problem()


class RequestContextMiddleware:
    """The edge of every request: the W3C trace it continues (`current_trace()`, answered in
    `traceparent`) and its request id, client address, header and body size limits, the
    headers every answer carries (and every API answer: the security headers and
    `API-Version`), the one handler of unexpected errors, and one structured log line per
    request."""

    #: the default of `Settings.max_header_bytes`, for an app built without settings
    DEFAULT_MAX_HEADER_BYTES: ClassVar[int] = 16 * 1024

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        trusted_proxies: Iterable[IPNetwork] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.trusted_proxies = tuple(_normalise_network(n) for n in trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        header_bytes = sum(len(k) + len(v) + _HEADER_LINE_OVERHEAD for k, v in raw_headers)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        trace = trace_from_headers(
            [v.decode("latin-1") for k, v in raw_headers if k.lower() == b"traceparent"],
            [v.decode("latin-1") for k, v in raw_headers if k.lower() == b"fsc-transaction-id"],
        )
        supplied = headers.get(REQUEST_ID_HEADER, "")
        request_id = supplied if _REQUEST_ID.match(supplied) else trace.request_id
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["trace"] = trace
        trace_token = _current_trace.set(trace)
        is_api = scope["path"] == "/api" or scope["path"].startswith("/api/")
        added: list[tuple[bytes, bytes]] = [
            (REQUEST_ID_HEADER.encode(), request_id.encode()),
            (TRACEPARENT_HEADER.encode(), trace.traceparent.encode()),
            *EDGE_HEADERS,
        ]
        if trace.fsc_transaction_id is not None:
            added.append((FSC_TRANSACTION_ID_HEADER.encode(), trace.fsc_transaction_id.encode()))
        if is_api:
            added.append((API_VERSION_HEADER.encode(), __version__.encode()))
        # resolved once, here: every later reader (authentication, the access log) takes it
        # from the scope state and never looks at the socket or the headers again
        state["source"] = resolve_source(
            scope.get("client"),
            (v.decode("latin-1") for k, v in raw_headers if k.lower() == b"x-forwarded-for"),
            self.trusted_proxies,
        )
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_edge(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                kept = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _EDGE_NAMES
                ]
                present = {name.lower() for name, _ in kept}
                defaults = [h for h in API_HEADERS if h[0] not in present] if is_api else []
                message = {**message, "headers": [*kept, *added, *defaults]}
            await send(message)

        async def answer(body: dict[str, Any]) -> None:
            # an answer can only replace a response that has not begun
            if not response_started:
                await problem_response(body)(scope, receive, send_edge)

        try:
            await self._serve(scope, receive, send_edge, answer, headers, header_bytes)
        except Exception as exc:
            # the one handler of errors nothing else handled: they end here, answered and
            # logged once, and never reach the server, whose error log prints the traceback
            # with the exception's text
            log_unhandled(exc, scope)
            try:
                await answer(internal_error(request_id))
            except Exception as failed:  # the client is gone: nothing more to tell it
                # its own record, and only the type: raised here, it would carry the first
                # error (message and all) to the server's log as its context
                log.warning("error_answer_failed", error_type=_error_type(failed))
        finally:
            self._log(scope, status, started)
            structlog.contextvars.clear_contextvars()
            _current_trace.reset(trace_token)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send_edge: Send,
        answer: Callable[[dict[str, Any]], Awaitable[None]],
        headers: dict[str, str],
        header_bytes: int,
    ) -> None:
        if header_bytes > self.max_header_bytes:
            await answer(HeadersTooLarge().to_problem())
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await answer(PayloadTooLarge().to_problem())
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

        async def send_app(message: Message) -> None:
            if refusal is not None:
                # the framework may have turned our exception into its own 400: answer ours
                if message["type"] == "http.response.start":
                    await answer(refusal.to_problem())
                return
            await send_edge(message)

        try:
            await self.app(scope, limited_receive, send_app)
        except Exception as exc:
            # our own refusal that nothing below turned into an answer: answer it here
            if exc is not refusal or refusal is None:
                raise
            await answer(refusal.to_problem())

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
        # invalid input is a 400 with every error at once (NL API Design Rules
        # /core/error-handling/invalid-input and /core/error-handling/all-errors)
        body = problem(
            ValidationFailed.status,
            ValidationFailed.slug,
            ValidationFailed.title,
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

    # a database error outside any unit of work (the active-policy probe with the database
    # gone): a storage failure is a 503 like inside one; anything else is raised on
    app.add_exception_handler(DBAPIError, storage_error_handler)

    @app.exception_handler(KeyStoreError)
    async def _key_store(request: Request, exc: KeyStoreError) -> JSONResponse:
        # the key store (a key file, the environment, an HSM token) cannot be used: nothing
        # was sealed or opened; the operator reads the provider's own log line, not the client
        log.error("key_store_unavailable", error_type=_error_type(exc))
        return problem_response(KeysUnavailable().to_problem())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A backstop only: RequestContextMiddleware answers and logs every unexpected error
        # before it gets here. Starlette re-raises after this handler (to the server's own
        # traceback log), so an app must never rely on it.
        log_unhandled(exc, request.scope)
        return problem_response(internal_error(request.scope.get("state", {}).get("request_id")))
