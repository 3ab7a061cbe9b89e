"""The ASGI application: wiring only (routers, middleware, error handlers)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial

from anyio import to_thread
from fastapi import FastAPI

from hub import __version__
from hub.api_docs import install_api_docs
from hub.audit.partner_log_router import router as partner_log_router
from hub.audit.router import router as audit_router
from hub.audit.signals_router import router as signals_router
from hub.briefing.router import router as briefing_router
from hub.cases.router import router as cases_router
from hub.context import HubContext
from hub.facts.router import router as facts_router
from hub.facts.types_router import router as fact_types_router
from hub.health import router as health_router
from hub.http import RequestContextMiddleware, SafeJSONResponse, install_error_handlers
from hub.identity.middleware import AuthenticationMiddleware
from hub.identity.router import router as identity_router
from hub.logging import configure_logging, get_logger
from hub.meetings.router import router as meetings_router
from hub.metrics import MetricsSettings, install_metrics, install_tracing
from hub.notifications.router import router as notifications_router
from hub.openapi import install_openapi
from hub.plans.router import router as plans_router
from hub.policy_review.router import router as policy_review_router
from hub.settings import Settings
from hub.web.routes import install_web

API_PREFIX = "/api/v1"
DOCS_URL = f"{API_PREFIX}/docs"
log = get_logger("hub.app")
#: how often counted refusals of ended minutes are written (seconds)
REFUSAL_FLUSH_S = 5.0


async def _checkpoint_signer(ctx: HubContext) -> None:
    """Every half interval, sign a checkpoint over entries that have waited too long."""
    period = max(1.0, ctx.settings.checkpoint_interval_s / 2)
    while True:
        await asyncio.sleep(period)
        try:
            await to_thread.run_sync(ctx.sign_stale_checkpoint)
            if ctx.settings.witness_min:  # the witness quorum alert (ADR 0406)
                await to_thread.run_sync(
                    partial(
                        ctx.audit.witnesses.quorum,
                        ctx.settings.witness_min,
                        ctx.settings.witness_alert_after_s,
                    )
                )
        except Exception as exc:  # keep signing later; the error type is all we log
            log.warning("checkpoint_signer_failed", error_type=type(exc).__name__)


async def _notification_deliverer(ctx: HubContext) -> None:
    """Send what the outbox holds, every few seconds (ADR 0019). Each replica may run one:
    deliveries are claimed, so none is sent twice in one attempt."""
    while True:
        await asyncio.sleep(ctx.settings.notification_poll_s)
        try:
            await to_thread.run_sync(ctx.deliver_notifications)
        except Exception as exc:  # the outbox keeps everything; the next round sends it
            log.warning("notification_delivery_failed", error_type=type(exc).__name__)


async def _refusal_flusher(ctx: HubContext) -> None:
    """Every few seconds, log the refusals counted in minutes that have ended (ADR 0404):
    an aggregate should not wait for the next refusal from anyone to be written."""
    while True:
        await asyncio.sleep(REFUSAL_FLUSH_S)
        try:
            await to_thread.run_sync(ctx.flush_refusals)
        except Exception as exc:  # the counts were put back; the next round writes them
            log.warning("refusal_flush_failed", error_type=type(exc).__name__)


def create_app(settings: Settings | None = None, *, context: HubContext | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    observability = MetricsSettings()
    observability.check()
    ctx = context or HubContext.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # how many requests this process works on at once: anyio's thread limiter bounds
        # the request threads, and with them the memory of the work held (ADR 0020)
        to_thread.current_default_thread_limiter().total_tokens = ctx.settings.worker_threads
        # everything loaded so far (modules, schemas, the policy bundle, the routes) lives as
        # long as the process: kept out of the collector's full passes, which otherwise walk
        # it again every few requests (about 1.8 ms of CPU per briefing, ADR 0020); what is
        # garbage already is collected first, so none of it is kept for good
        gc.collect()
        gc.freeze()
        signer = asyncio.create_task(_checkpoint_signer(ctx))
        flusher = asyncio.create_task(_refusal_flusher(ctx))
        deliverer = (
            asyncio.create_task(_notification_deliverer(ctx))
            if ctx.settings.notification_deliverer
            else None
        )
        try:
            yield
        finally:
            if deliverer is not None:
                deliverer.cancel()
                with suppress(asyncio.CancelledError):
                    await deliverer
            signer.cancel()
            flusher.cancel()
            with suppress(asyncio.CancelledError):
                await signer
            with suppress(asyncio.CancelledError):
                await flusher
            # a clean stop writes every count held, ended minute or not
            try:
                await to_thread.run_sync(partial(ctx.flush_refusals, final=True))
            except Exception as exc:  # the stop goes on; only the error type is logged
                log.warning("refusal_flush_failed", error_type=type(exc).__name__)
            if tracing is not None:  # the spans still held go out before the stop
                try:
                    await to_thread.run_sync(tracing)
                except Exception as exc:  # a collector gone does not stop the stop
                    log.warning("tracing_flush_failed", error_type=type(exc).__name__)
            if context is None:
                ctx.close()

    app = FastAPI(
        title="vhhub",
        version=__version__,
        summary="Informatie-uitwisseling voor het Zorg- en Veiligheidshuis",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # the interactive docs come from the package, not a CDN (hub.api_docs)
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # every JSON answer, not only the briefing's, survives stored text that no UTF-8
        # encoder takes (FastAPI's own fast path would answer such a read with a 500)
        default_response_class=SafeJSONResponse,
    )
    app.state.hub = ctx
    install_error_handlers(app)
    # the web application at `/`: its own session login, and its page headers (ADR 0015)
    install_web(app, ctx)
    # the last added runs first: request id, client address and limits, then authentication
    app.add_middleware(AuthenticationMiddleware, authenticator=ctx.authenticator)
    # a span per request (only with VHHUB_OTEL_ENABLED), inside the edge: in its W3C trace
    tracing = install_tracing(app, observability)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        trusted_proxies=settings.trusted_proxies,
    )
    # outermost: times every answer, the edge's own refusals included; /metrics (hub.metrics)
    install_metrics(app, db=ctx.db, policy_version=lambda: ctx.gate.version, settings=observability)
    install_api_docs(app, docs_url=DOCS_URL)
    app.include_router(health_router, prefix=API_PREFIX)
    app.include_router(identity_router, prefix=API_PREFIX)
    app.include_router(cases_router, prefix=API_PREFIX)
    app.include_router(facts_router, prefix=API_PREFIX)
    app.include_router(fact_types_router, prefix=API_PREFIX)
    app.include_router(briefing_router, prefix=API_PREFIX)
    app.include_router(audit_router, prefix=API_PREFIX)
    app.include_router(signals_router, prefix=API_PREFIX)
    app.include_router(partner_log_router, prefix=API_PREFIX)
    app.include_router(plans_router, prefix=API_PREFIX)
    app.include_router(meetings_router, prefix=API_PREFIX)
    app.include_router(policy_review_router, prefix=API_PREFIX)
    app.include_router(notifications_router, prefix=API_PREFIX)
    # the document partners read: shared statuses, bearer auth, Purpose, fact types, examples
    install_openapi(app, schema_dir=settings.schema_dir)
    return app
