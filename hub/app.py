"""The ASGI application: wiring only (routers, middleware, error handlers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub import __version__
from hub.audit.router import router as audit_router
from hub.briefing.router import router as briefing_router
from hub.cases.router import router as cases_router
from hub.context import HubContext
from hub.facts.router import router as facts_router
from hub.health import router as health_router
from hub.http import RequestContextMiddleware, install_error_handlers
from hub.identity.middleware import AuthenticationMiddleware
from hub.identity.router import router as identity_router
from hub.logging import configure_logging
from hub.plans.router import router as plans_router
from hub.settings import Settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, context: HubContext | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    ctx = context or HubContext.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if context is None:
            ctx.close()

    app = FastAPI(
        title="vhhub",
        version=__version__,
        summary="Informatie-uitwisseling voor het Zorg- en Veiligheidshuis",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.hub = ctx
    install_error_handlers(app)
    # the last added runs first: request id and body limit, then authentication
    app.add_middleware(AuthenticationMiddleware, authenticator=ctx.authenticator)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health_router, prefix=API_PREFIX)
    app.include_router(identity_router, prefix=API_PREFIX)
    app.include_router(cases_router, prefix=API_PREFIX)
    app.include_router(facts_router, prefix=API_PREFIX)
    app.include_router(briefing_router, prefix=API_PREFIX)
    app.include_router(audit_router, prefix=API_PREFIX)
    app.include_router(plans_router, prefix=API_PREFIX)
    return app
