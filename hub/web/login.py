"""Logging in and out of the web application (ADR 0015).

People log in with their organisation's identity provider: OpenID Connect authorization code
flow with PKCE (hub.web.oidc), one IdP per partner in the network file, the roles mapped from
the IdP's claims and then limited by the network file's kind rules. With the generated dev
keys (and only then) the login page also lists the personas of `vhhub demo`, clearly marked.

A login always starts a new session (a new cookie token); a failed login is an `auth.failure`
entry with a reason code, and a successful one a `session.start` entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.identity.throttle import request_source
from hub.identity.tokens import ID_PATTERN
from hub.vocabulary import PartnerKind
from hub.web.core import (
    LOGIN_PATH,
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    home_path,
    render,
    request_info,
    web_app,
)
from hub.web.security import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    PRELOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    same_origin,
    set_cookie,
)
from hub.web.sessions import Principal, new_token, same_token

router = APIRouter(route_class=WebRoute, include_in_schema=False)
#: the demo login: included in the app only while the generated dev keys are in use
demo_router = APIRouter(route_class=WebRoute, include_in_schema=False)
#: the pre-login CSRF cookie lives as long as a login page may stay open
PRELOGIN_MAX_AGE: Final = 60 * 60
LOGIN_MAX_AGE: Final = 10 * 60


def _within_limits(request: Request, web: WebApp) -> None:
    """The API's per-source rate limit (ADR 0404) before anything of a login is stored: a
    login under way is a row, and anyone may start one."""
    if web.ctx.authenticator.throttle.by_source.acquire(request_source(request.scope)):
        raise HubErrorPage(429)


def _start_session(
    request: Request, web: WebApp, principal: Principal, replaces_id: str | None = None
) -> str:
    token, _ = web.sessions.start(
        principal,
        request_info(request),
        replaces=request.cookies.get(SESSION_COOKIE),
        replaces_id=replaces_id,
    )
    return token


def _signed_in_cookie(response: Response, web: WebApp, token: str) -> None:
    set_cookie(response, SESSION_COOKIE, token, max_age=int(web.sessions.absolute.total_seconds()))
    clear_cookie(response, PRELOGIN_CSRF_COOKIE)
    clear_cookie(response, LOGIN_COOKIE, same_site="lax")


@router.get("/aanmelden", response_class=HTMLResponse)
def login_page(request: Request, web: Web, afgemeld: bool = False) -> Response:
    csrf = request.cookies.get(PRELOGIN_CSRF_COOKIE)
    if not csrf or len(csrf) > 128:
        csrf = new_token()
    registry = web.ctx.registry
    providers = [(p.id, p.name) for p in web.oidc.partners()] if web.oidc is not None else []
    personas = []
    if web.demo:
        from hub.demo.personas import PERSONAS

        personas = [
            (p, registry.partners[p.partner].name)
            for p in PERSONAS
            if registry.may_demo_login(p.partner)
        ]
    response = render(
        request,
        "login.html",
        prelogin_csrf=csrf,
        providers=providers,
        personas=personas,
        logged_out=afgemeld,
    )
    set_cookie(response, PRELOGIN_CSRF_COOKIE, csrf, max_age=PRELOGIN_MAX_AGE)
    return response


def _prelogin_checked(request: Request, supplied: str) -> None:
    if not same_origin(request) or not same_token(
        request.cookies.get(PRELOGIN_CSRF_COOKIE), supplied
    ):
        raise HubErrorPage(
            403, "Het inlogformulier is verlopen of kwam niet van deze site. Probeer het opnieuw."
        )


@demo_router.post("/aanmelden/demo", response_class=HTMLResponse)
def demo_login(
    request: Request,
    partner: Annotated[str, Form(max_length=64)],
    user: Annotated[str, Form(max_length=128)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    web = web_app(request)
    if not web.demo:  # the route exists only with dev keys; this guards a misconfiguration
        raise HubErrorPage(404)
    _within_limits(request, web)
    _prelogin_checked(request, csrf_token)
    from hub.demo.personas import persona

    chosen = persona(partner, user)
    spec = web.ctx.registry.partners.get(partner)
    # a partner with an identity provider logs its people in there, never here
    if chosen is None or spec is None or not web.ctx.registry.may_demo_login(partner):
        raise HubErrorPage(404)
    roles = frozenset(chosen.roles) & web.ctx.registry.allowed_roles(partner)
    principal = Principal(
        partner=partner,
        partner_kind=PartnerKind(spec.kind),
        user=user,
        roles=roles,
        display_name=None,
        method="demo",
    )
    token = _start_session(request, web, principal)
    response = RedirectResponse(home_path(principal.roles), status_code=303)
    _signed_in_cookie(response, web, token)
    return response


@router.get("/aanmelden/via/{partner}")
def oidc_start(partner: str, request: Request, web: Web) -> Response:
    if web.oidc is None or partner not in {p.id for p in web.oidc.partners()}:
        raise HubErrorPage(404)
    _within_limits(request, web)
    from hub.web.oidc import OidcError

    redirect_uri = _callback_uri(request, web)
    try:
        url, pending = web.oidc.start(partner, redirect_uri)
    except OidcError as exc:
        web.ctx.authenticator.refuse_login(f"oidc:{exc.reason}", request_info(request))
        raise HubErrorPage(503, "De inlogdienst van uw organisatie is niet bereikbaar.") from None
    token = web.sessions.begin_login(
        partner=partner,
        state=pending.state,
        nonce=pending.nonce,
        code_verifier=pending.code_verifier,
        redirect_uri=redirect_uri,
        # this request is same-site and carries the session cookie, the callback will not
        current=request.cookies.get(SESSION_COOKIE),
    )
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, LOGIN_COOKIE, token, same_site="lax", max_age=LOGIN_MAX_AGE)
    return response


def _callback_uri(request: Request, web: WebApp) -> str:
    base = web.ctx.settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/aanmelden/oidc/terug"


@router.get("/aanmelden/oidc/terug", response_class=HTMLResponse)
async def oidc_callback(request: Request, web: Web) -> Response:
    from hub.web.oidc import OidcError, PendingLogin

    info = request_info(request)
    _within_limits(request, web)
    under_way = await to_thread.run_sync(web.sessions.take_login, request.cookies.get(LOGIN_COOKIE))
    if under_way is None or web.oidc is None:
        await to_thread.run_sync(web.ctx.authenticator.refuse_login, "oidc:no_login", info)
        raise HubErrorPage(400, "Deze inlogpoging is verlopen of onbekend. Log opnieuw in.")
    pending = PendingLogin(
        partner=under_way.partner,
        state=under_way.state,
        nonce=under_way.nonce,
        code_verifier=under_way.code_verifier,
        redirect_uri=under_way.redirect_uri,
        created_at=under_way.created_at.astimezone(UTC).timestamp(),
    )
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    try:
        identity = await to_thread.run_sync(web.oidc.finish, pending, params)
    except OidcError as exc:
        await to_thread.run_sync(web.ctx.authenticator.refuse_login, f"oidc:{exc.reason}", info)
        raise HubErrorPage(
            403, "Inloggen is niet gelukt. Probeer het opnieuw of neem contact op met uw beheerder."
        ) from None
    if not ID_PATTERN.fullmatch(identity.user):
        # the same user ids a partner's token may carry, so the log names people one way
        await to_thread.run_sync(web.ctx.authenticator.refuse_login, "oidc:user_claim", info)
        raise HubErrorPage(
            403, "Uw organisatie stuurde een gebruikersnaam die vhhub niet kan vastleggen."
        )
    spec = web.ctx.registry.partners[identity.partner]
    principal = Principal(
        partner=identity.partner,
        partner_kind=PartnerKind(spec.kind),
        user=identity.user,
        roles=frozenset(identity.roles),
        display_name=identity.display_name,
        method="oidc",
    )
    token = await to_thread.run_sync(_start_session, request, web, principal, under_way.replaces)
    # The identity provider's redirect is a cross-site navigation: a SameSite=Strict cookie
    # set now is not sent with a redirect in the same chain. This page moves on to the
    # caseload as a navigation of our own, which carries it.
    response = render(
        request, "signed_in.html", home=home_path(principal.roles), at=datetime.now(UTC)
    )
    _signed_in_cookie(response, web, token)
    return response


@router.post("/afmelden")
def logout(request: Request, user: SignedIn, web: Web) -> Response:
    web.sessions.end(request.cookies.get(SESSION_COOKIE), request_info(request))
    response = RedirectResponse(f"{LOGIN_PATH}?afgemeld=1", status_code=303)
    clear_cookie(response, SESSION_COOKIE)
    return response
