"""Wiring of the web application into the hub's ASGI app (ADR 0015): its routers, its static
files (htmx and the Utrecht CSS, served from the package), its page headers and its parts."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub.context import HubContext
from hub.logging import get_logger
from hub.web import (
    intake,
    log_pages,
    login,
    meetings,
    pages,
    plans,
    policy_pages,
    publish,
    signal_pages,
)
from hub.web.core import HERE, WebApp, build_templates
from hub.web.security import PageHeadersMiddleware
from hub.web.sessions import SessionStore

log = get_logger("hub.web")


def install_web(app: FastAPI, ctx: HubContext) -> WebApp:
    """Serve the web application at `/` beside the API at `/api/v1`."""
    settings = ctx.settings
    demo_partners = ctx.registry.demo_partners()
    for partner in ctx.registry.dev_partners():
        if partner not in demo_partners:
            # dev keys and an identity provider: say once that the demo login skips it
            log.warning("demo_login_withheld_for_oidc_partner", partner=partner.id)
    oidc = None
    if ctx.registry.oidc_partners():
        from hub.web.oidc import OidcClients

        oidc = OidcClients(ctx.registry)
    web = WebApp(
        ctx=ctx,
        sessions=SessionStore(
            ctx.db,
            ctx.log,
            ctx.registry,
            idle_s=settings.web_session_idle_s,
            absolute_s=settings.web_session_absolute_s,
        ),
        templates=build_templates(),
        # the demo login exists only while the generated dev keys are in use, and only for
        # partners without an identity provider
        demo=bool(demo_partners),
        oidc=oidc,
    )
    web.templates.globals["partner_name"] = web.partner_name
    web.templates.globals["field_label"] = web.field_label
    app.state.web = web
    app.include_router(login.router)
    if web.demo:
        app.include_router(login.demo_router)
    # the intake form's fixed path (/casussen/nieuw) before the case page's /casussen/{id}
    app.include_router(intake.router)
    app.include_router(pages.router)
    app.include_router(publish.router)
    app.include_router(meetings.router)
    app.include_router(plans.router)
    # the oversight screens of privacy officers and auditors (issue 18)
    app.include_router(policy_pages.router)
    app.include_router(signal_pages.router)
    app.include_router(log_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(
        PageHeadersMiddleware, https=settings.effective_public_url.startswith("https://")
    )
    return web
