"""Prometheus metrics at `/metrics`, and OpenTelemetry traces as an optional extra.

What is measured (issue 19, item 5), and what a label may hold: only values from closed sets
the hub's own code defines -- a route *template* (never the raw path: ids are in paths), an
HTTP method, a status class, a policy action, an access-log action and outcome, a refusal's
reason code (anything outside the known codes is "other"), a disclosure level. Never a case
id, a pseudonym, a user, a partner, a request id or any content: a scrape is read by an
operations team that may see none of that.

* `vhhub_http_request_duration_seconds{method,route,status_class}` -- a histogram per route;
* `vhhub_policy_decisions_total{action,outcome}` -- every decision the gate asked: a policy
  action (or `publish`) allowed or denied, each fact release (`release_fact`) by the
  disclosure level it got, and `engine`/`error` for a decision the engine failed to give;
* `vhhub_access_log_appends_total{action,outcome}` -- entries this process appended (an
  entry whose transaction rolled back is counted too: the log itself is the truth);
* `vhhub_refusals_total{reason}` -- authentication and request refusals by reason code
  (counted refusals, ADR 0404, arrive with the aggregate entry, within a minute);
* read from the database at each scrape, so every replica reports the one log:
  `vhhub_access_log_head_size`, `vhhub_checkpoint_age_seconds` (since the newest signed
  checkpoint), `vhhub_log_state_up` (0 when the database could not be read);
* `vhhub_policy_active_info{version}` -- the policy version this process serves (a hash).

Who may scrape: only a caller presenting `VHHUB_METRICS_TOKEN` as a bearer token (compared in
constant time). Without that setting `/metrics` does not exist (404): fail closed, nothing
about the hub's traffic is public on the API's listener.

Several workers: set `PROMETHEUS_MULTIPROC_DIR` to an empty directory, writable by the hub,
before the workers start; prometheus-client then keeps each worker's counters in files there
and a scrape of any worker sums them (the database gauges are the same in every worker).
"""

from __future__ import annotations

import collections
import hmac
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Final

from anyio import to_thread
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.audit.models import LogHead
from hub.db.session import Database
from hub.errors import PROBLEM_JSON, problem
from hub.http import current_trace
from hub.identity.tokens import ALL_REASONS as TOKEN_REASONS
from hub.logging import get_logger

log = get_logger("hub.metrics")

METRICS_PATH: Final = "/metrics"
#: a metrics token shorter than this is refused at start (it guards the whole scrape)
MIN_TOKEN_CHARS: Final = 32
OTHER: Final = "other"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: a policy action or disclosure level as the hub's code names them; anything else is "other"
_CODE_NAME: Final = re.compile(r"^[a-z][a-z0-9_.]{0,47}$")
#: the refusal reason codes besides the token's own (hub.identity.service, .throttle)
_REFUSAL_CODES: Final = frozenset(
    {
        "token:missing_bearer",
        *(f"token:{reason}" for reason in TOKEN_REASONS),
        "purpose:missing",
        "purpose:unknown",
        "rate_limit:source",
        "rate_limit:partner",
    }
)
_REFUSAL_ACTIONS: Final = frozenset({"auth.failure", "request.rejected"})


class MetricsSettings(BaseSettings):
    """The settings of metrics and traces (environment `VHHUB_*`, like hub.settings)."""

    model_config = SettingsConfigDict(env_prefix="VHHUB_", extra="ignore", frozen=True)

    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a Prometheus scrape of /metrics must present; unset: no "
        "/metrics at all.",
    )
    otel_enabled: bool = Field(
        default=False, description="Export OpenTelemetry traces (needs the `otel` extra)."
    )
    otel_service_name: str = Field(default="vhhub", description="service.name of the traces.")

    def check(self) -> None:
        """Refuse a metrics token too short to guard the scrape (before anything starts). A
        plain ValueError that names the setting, never its value."""
        token = self.metrics_token
        if token is not None and len(token.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"VHHUB_METRICS_TOKEN must be at least {MIN_TOKEN_CHARS} characters")


# -- the metrics ------------------------------------------------------------------------------

REQUEST_SECONDS = Histogram(
    "vhhub_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status class.",
    ["method", "route", "status_class"],
)
POLICY_DECISIONS = Counter(
    "vhhub_policy_decisions_total",
    "Policy decisions by action and outcome (release_fact: by disclosure level).",
    ["action", "outcome"],
)
LOG_APPENDS = Counter(
    "vhhub_access_log_appends_total",
    "Access-log entries appended by this process, by action and outcome.",
    ["action", "outcome"],
)
LOG_HEAD_WAIT_SECONDS = Histogram(
    "vhhub_access_log_lock_wait_seconds",
    "Time a unit of work waited for the access log's head lock (every writer of every "
    "process takes it in turn: the hub's one serialisation point, ADR 0020).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LOG_HEAD_HOLD_SECONDS = Histogram(
    "vhhub_access_log_lock_hold_seconds",
    "Time a unit of work held the access log's head lock, to its commit or rollback.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LOG_BATCH_ENTRIES = Histogram(
    "vhhub_access_log_batch_entries",
    "Entries of reads written together in one transaction (group commit, ADR 0020).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
REFUSALS = Counter(
    "vhhub_refusals_total",
    "Authentication and request refusals by reason code.",
    ["reason"],
)
NOTIFICATION_DELIVERIES = Counter(
    "vhhub_notification_deliveries_total",
    "Notification delivery attempts by outcome (delivered, failed, withheld, dead).",
    ["outcome"],
)
#: alert on any increase: each one is a notification a partner will not get (ADR 0019)
NOTIFICATION_DEAD_LETTERS = Counter(
    "vhhub_notification_dead_letters_total",
    "Notifications given up after the last attempt (dead letters), by event type.",
    ["type"],
)

#: witnesses (ADR 0406): alert when vhhub_witness_quorum_alert is 1 (the log's head has been
#: without the configured number of cosignatures for longer than VHHUB_WITNESS_ALERT_AFTER_S)
WITNESS_COSIGNATURES = Gauge(
    "vhhub_witness_cosignatures",
    "Witness cosignatures on the newest checkpoint.",
    multiprocess_mode="max",
)
WITNESS_WAITING_SECONDS = Gauge(
    "vhhub_witness_quorum_waiting_seconds",
    "How long the oldest checkpoint after the newest quorum-cosigned one has waited.",
    multiprocess_mode="max",
)
WITNESS_QUORUM_ALERT = Gauge(
    "vhhub_witness_quorum_alert",
    "1 while the log's head has lacked a quorum of cosignatures for too long, else 0.",
    multiprocess_mode="max",
)


def witness_quorum(cosignatures: int, waiting_s: int, alert: bool) -> None:
    """The witness quorum check's verdict (hub/audit/witness_service.py)."""
    WITNESS_COSIGNATURES.set(cosignatures)
    WITNESS_WAITING_SECONDS.set(waiting_s)
    WITNESS_QUORUM_ALERT.set(1 if alert else 0)


def code_label(value: str) -> str:
    """A name from the hub's own code as a label, or "other" for anything unexpected."""
    return value if _CODE_NAME.match(value) else OTHER


def refusal_label(reason: str | None) -> str:
    """A refusal's reason as a label: a known code, `oidc` for a web login's, else other."""
    if reason in _REFUSAL_CODES:
        return reason
    if reason is not None and reason.startswith("oidc:"):
        return "oidc"
    return OTHER


def policy_decision(action: str, outcome: str) -> None:
    """One action decision of the gate: outcome allowed, denied or error."""
    POLICY_DECISIONS.labels(code_label(action), code_label(outcome)).inc()


def fact_releases(levels: Iterable[str]) -> None:
    """A batch of fact decisions, counted by the disclosure level each got (one counter
    update per level, not per fact: a briefing has 200-500)."""
    for level, count in collections.Counter(levels).items():
        POLICY_DECISIONS.labels("release_fact", code_label(level)).inc(count)


def notification_delivery(outcome: str) -> None:
    """One delivery attempt's outcome (delivered, failed, withheld, dead)."""
    NOTIFICATION_DELIVERIES.labels(code_label(outcome)).inc()


def notification_dead_letter(event_type: str) -> None:
    """A delivery given up: the operator's alert counts these."""
    NOTIFICATION_DEAD_LETTERS.labels(code_label(event_type)).inc()


def log_head_locked(waited_s: float) -> None:
    """The access log's head lock was granted after `waited_s` seconds."""
    LOG_HEAD_WAIT_SECONDS.observe(waited_s)


def log_head_released(held_s: float) -> None:
    """The access log's head lock was released (commit or rollback) after `held_s` seconds."""
    LOG_HEAD_HOLD_SECONDS.observe(held_s)


def log_batch_written(entries: int) -> None:
    """A group commit wrote `entries` reads' entries in one transaction."""
    LOG_BATCH_ENTRIES.observe(entries)


def log_appended(action: str, outcome: str, reason: str | None, count: int | None) -> None:
    """One access-log entry; a refusal's entry also counts its refusals (an aggregate's count)."""
    LOG_APPENDS.labels(code_label(action), code_label(outcome)).inc()
    if action in _REFUSAL_ACTIONS:
        REFUSALS.labels(refusal_label(reason)).inc(count or 1)


# -- the request histogram --------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/cases/{case_id}`), or "unmatched".

    FastAPI keeps an included router's prefix out of its routes' own path (in the include
    context it records in the scope), so the prefix is put back here."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str) or not path:
        return "unmatched"
    included = (scope.get("fastapi") or {}).get("included_router")
    prefix = getattr(getattr(included, "include_context", None), "prefix", "")
    return f"{prefix}{path}" if isinstance(prefix, str) else path


class StatusOf:
    """An ASGI `send` that remembers the status of the answer it sent (500 until one
    starts: a request that ends in an exception counts as the server's error)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


class MetricsMiddleware:
    """Times every HTTP request by route template, method and status class (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = StatusOf(send)
        try:
            await self.app(scope, receive, answer)
        finally:
            method = scope.get("method", "")
            REQUEST_SECONDS.labels(
                method if method in _METHODS else OTHER,
                route_template(scope),
                f"{answer.status // 100}xx",
            ).observe(time.perf_counter() - started)


# -- what a scrape reads from the database ----------------------------------------------------


class LogStateCollector(Collector):
    """The log's head size and checkpoint age from the database, and the serving policy
    version, computed at each scrape (the same in every worker and replica)."""

    def __init__(self, db: Database, policy_version: Callable[[], str]) -> None:
        self._db = db
        self._policy_version = policy_version

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "vhhub_log_state_up", "1 when the access log's head could be read, else 0."
        )
        try:
            with self._db.snapshot() as session:
                head = session.execute(select(LogHead.size, LogHead.checkpoint_time_us)).first()
        except Exception as exc:  # a scrape never fails on the database; only the type logged
            log.warning("metrics_log_state_failed", error_type=type(exc).__name__)
            head = None
        up.add_metric([], 0 if head is None else 1)
        yield up
        if head is not None:
            size, checkpoint_time_us = head
            yield GaugeMetricFamily(
                "vhhub_access_log_head_size", "Entries in the access log.", value=size
            )
            if checkpoint_time_us:
                age = max(0.0, time.time() - checkpoint_time_us / 1_000_000)
                yield GaugeMetricFamily(
                    "vhhub_checkpoint_age_seconds",
                    "Seconds since the newest signed checkpoint of the access log.",
                    value=age,
                )
        try:
            version = self._policy_version()
        except Exception as exc:
            log.warning("metrics_policy_version_failed", error_type=type(exc).__name__)
            return
        info = InfoMetricFamily("vhhub_policy_active", "The policy version this process serves.")
        info.add_metric(
            [], {"version": version if re.fullmatch(r"[0-9a-f]{8,128}", version) else OTHER}
        )
        yield info


def _bearer_matches(request: Request, token: SecretStr) -> bool:
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(
        value.strip().encode("utf-8", "surrogateescape"),
        token.get_secret_value().encode("utf-8", "surrogateescape"),
    )


def _refused(status: int, slug: str, title: str, headers: dict[str, str] | None) -> Response:
    body = problem(status, slug, title, title + ".")
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_metrics(
    app: Any,
    *,
    db: Database,
    policy_version: Callable[[], str],
    settings: MetricsSettings,
) -> None:
    """Serve `/metrics` (when a token is set) and time every request."""
    app.add_middleware(MetricsMiddleware)
    token = settings.metrics_token
    if token is None:
        return  # no token, no /metrics: the route is not there, so a scrape gets a 404
    settings.check()
    state = CollectorRegistry(auto_describe=False)
    state.register(LogStateCollector(db, policy_version))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)  # type: ignore[no-untyped-call]
    else:
        counters = REGISTRY

    def render() -> bytes:
        return generate_latest(counters) + generate_latest(state)

    async def metrics(request: Request) -> Response:
        if not _bearer_matches(request, token):
            return _refused(
                401,
                "unauthenticated",
                "Unauthenticated",
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body = await to_thread.run_sync(render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)


# -- OpenTelemetry traces (optional) ----------------------------------------------------------

#: set just around the start of the hub's server span: its span id is then the one the edge
#: answered in `traceparent` (hub.http.TraceContext.span_id)
_edge_span: ContextVar[bool] = ContextVar("vhhub_edge_span", default=False)


def install_tracing(app: Any, settings: MetricsSettings) -> Callable[[], None] | None:
    """When `VHHUB_OTEL_ENABLED`, export one server span per request over OTLP (the usual
    `OTEL_EXPORTER_OTLP_*` variables say where), in the W3C trace the edge continues; answers
    the function that flushes and stops the exporter. Off: nothing is imported or added."""
    if not settings.otel_enabled:
        return None
    try:
        from opentelemetry import trace as trace_api
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    except ImportError as exc:
        raise RuntimeError(
            "VHHUB_OTEL_ENABLED is set but the otel extra is missing: pip install 'vhhub[otel]'"
        ) from exc

    class EdgeIds(RandomIdGenerator):
        """The edge's trace id and span id for the hub's server span; random elsewhere."""

        def generate_trace_id(self) -> int:
            trace = current_trace()
            return int(trace.trace_id, 16) if trace is not None else super().generate_trace_id()

        def generate_span_id(self) -> int:
            trace = current_trace()
            if trace is not None and _edge_span.get():
                _edge_span.set(False)
                return int(trace.span_id, 16)
            return super().generate_span_id()

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name}),
        id_generator=EdgeIds(),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("hub")
    SpanContext, TraceFlags = trace_api.SpanContext, trace_api.TraceFlags
    NonRecordingSpan, SpanKind = trace_api.NonRecordingSpan, trace_api.SpanKind

    class TracingMiddleware:
        """One server span per request; attributes: method, route template, status only."""

        def __init__(self, inner: ASGIApp) -> None:
            self.app = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            edge = current_trace()
            if scope["type"] != "http" or edge is None:
                await self.app(scope, receive, send)
                return
            parent = None
            if edge.parent_span_id is not None:
                remote = SpanContext(
                    int(edge.trace_id, 16),
                    int(edge.parent_span_id, 16),
                    is_remote=True,
                    trace_flags=TraceFlags(int(edge.trace_flags, 16)),
                )
                parent = trace_api.set_span_in_context(NonRecordingSpan(remote))
            method = scope.get("method", "")
            method = method if method in _METHODS else OTHER
            flag = _edge_span.set(True)
            try:
                span = tracer.start_span(
                    method,
                    context=parent,
                    kind=SpanKind.SERVER,
                    attributes={"http.request.method": method},
                )
            finally:
                _edge_span.reset(flag)
            answer = StatusOf(send)
            try:
                with trace_api.use_span(span, end_on_exit=False):
                    await self.app(scope, receive, answer)
            finally:
                route = route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", answer.status)
                span.end()

    app.add_middleware(TracingMiddleware)

    def shutdown() -> None:
        provider.force_flush()
        provider.shutdown()

    return shutdown
