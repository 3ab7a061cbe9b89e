"""What every page shares: the templates, the logged-in person, the viewer the services see,
and one way errors become pages (ADR 0015).

A page is an HTTP front of the same services the API calls: it builds the same `Viewer` (the
person's partner, user id and roles from the session, the purpose the page states) and calls
the same use case, so the gate decides and the access log records exactly what an API call
would. No page reads the database or the vault itself.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import Response

from hub import labels
from hub.audit.log import RequestInfo
from hub.audit.report import MONTHS_NL
from hub.cases.notices import dutch_today
from hub.context import HubContext
from hub.errors import HubError
from hub.identity.throttle import request_source
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.vocabulary import Phase, Purpose, Role, TableId
from hub.web.security import (
    SESSION_COOKIE,
    UNSAFE_METHODS,
    csrf_matches,
    same_origin,
)
from hub.web.sessions import Principal, SessionStore

log = get_logger("hub.web")
HERE: Final = Path(__file__).resolve().parent
ZONE: Final = ZoneInfo("Europe/Amsterdam")
LOGIN_PATH: Final = "/aanmelden"


def nl_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(ZONE).date()
    return f"{value.day} {MONTHS_NL[value.month - 1]} {value.year}"


def nl_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZONE)
    return f"{nl_date(local)}, {local:%H:%M}"


#: the roles that work on cases (the others oversee: privacy officers and auditors)
CASE_ROLES: Final = frozenset(
    {Role.PARTICIPANT, Role.PUBLISHER, Role.PROCESREGISSEUR, Role.CASUSREGISSEUR}
)


def home_path(roles: Iterable[Role | str]) -> str:
    """Where a person starts after login: their caseload, or the oversight screens of a
    privacy officer or an auditor who works on no case."""
    held = set(roles)
    if held & CASE_ROLES:
        return "/casussen"
    if Role.PRIVACY_OFFICER in held:
        return "/beleid"
    if Role.AUDITOR in held:
        return "/logboek"
    return "/casussen"


def nav_items(user: WebUser) -> list[tuple[str, str]]:
    """The main menu of a person: what their roles let them do."""
    items: list[tuple[str, str]] = []
    if user.roles_in(CASE_ROLES):
        items.append(("/casussen", "Mijn casussen"))
    if user.has_role(Role.PROCESREGISSEUR):
        items.append(("/aanmeldingen", "Nieuwe aanmeldingen"))
    if user.has_role(Role.PUBLISHER) or user.has_role(Role.PROCESREGISSEUR):
        items.append(("/casussen/nieuw", "Casus aanmelden"))
    if user.roles_in({Role.PROCESREGISSEUR, Role.CASUSREGISSEUR, Role.PARTICIPANT}):
        items.append(("/overleggen", "Casusoverleggen"))
    if user.has_role(Role.PRIVACY_OFFICER):
        items.append(("/beleid", "Beleid"))
        items.append(("/beleid/matrix", "Matrix"))
        items.append(("/beleid/simulatie", "Wat zou X zien?"))
        items.append(("/signalen", "Signalen"))
    if user.has_role(Role.AUDITOR):
        items.append(("/logboek", "Logboek"))
        items.append(("/logboek/status", "Verificatie"))
        items.append(("/inzage", "Inzageverzoek"))
    if not items:
        items.append(("/casussen", "Mijn casussen"))
    return items


def nav_current(path: str, items: Iterable[tuple[str, str]]) -> str | None:
    """The menu item a page belongs to: the longest menu path that is the page's path or
    one of its parents (/signalen/u-1 belongs to /signalen, /beleid/matrix to its own)."""
    found = [href for href, _ in items if path == href or path.startswith(href.rstrip("/") + "/")]
    return max(found, key=len, default=None)


def purpose_options(purposes: Iterable[Purpose]) -> list[tuple[str, str]]:
    return [(p.value, labels.PURPOSE[p]) for p in purposes]


def phase_options() -> list[tuple[str, str]]:
    return [(p.value, labels.PHASE[p]) for p in Phase]


def table_options() -> list[tuple[str, str]]:
    return [(t.value, labels.TABLE[t]) for t in TableId]


def case_title(case: Any) -> str:
    """A case by who it is about, as far as released: names, else roles in the case."""
    names = [s.name for s in case.subjects if getattr(s, "name", None)]
    if names:
        return ", ".join(names)
    roles = [s.role_in_case for s in case.subjects]
    return "Casus " + ", ".join(roles) if roles else f"Casus {case.id[:8]}"


def show_value(value: object) -> str:
    """A released field's value as text (lists one per comma, objects as key: value)."""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {show_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nl_date"] = nl_date
    env.filters["nl_datetime"] = nl_datetime
    env.globals["labels"] = labels
    env.globals["word"] = labels.word
    env.globals.update(
        nav_items=nav_items,
        nav_current=nav_current,
        purpose_options=purpose_options,
        phase_options=phase_options,
        table_options=table_options,
        case_title=case_title,
        show_value=show_value,
        partner_name=str,
    )
    return env


@dataclass
class WebApp:
    """The web application's own parts, beside the hub's services (app.state.web)."""

    ctx: HubContext
    sessions: SessionStore
    templates: Environment
    #: whether the demo login exists (generated dev keys in use)
    demo: bool
    #: the OpenID Connect clients (None: no partner has an identity provider configured)
    oidc: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    _field_labels: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def field_label(self, type_id: str, name: str) -> str:
        """A fact field's Dutch label: its schema title, else its name. Cached: the catalogue
        is fixed for the life of the process, and it hands out a copy of a schema per read."""
        key = (type_id, name)
        label = self._field_labels.get(key)
        if label is None:
            label = name
            if type_id in self.ctx.catalog:
                spec = self.ctx.catalog.get(type_id).schema.get("properties", {}).get(name)
                title = spec.get("title") if isinstance(spec, dict) else None
                if isinstance(title, str) and title:
                    label = title
            self._field_labels[key] = label
        return label

    def partner_name(self, partner_id: str) -> str:
        spec = self.ctx.registry.partners.get(partner_id)
        return spec.name if spec is not None else str(partner_id)


def web_app(request: Request) -> WebApp:
    web: WebApp = request.app.state.web
    return web


class LoginRequired(Exception):
    """No live session: the person is sent to the login page."""


class CsrfRefused(Exception):
    """An unsafe request without this session's CSRF token, or from another origin."""


@dataclass(frozen=True)
class WebUser:
    """The logged-in person of one request."""

    principal: Principal
    csrf_token: str
    expires_at: datetime

    def has_role(self, role: Role) -> bool:
        return role in self.principal.roles

    def roles_in(self, roles: Iterable[Role | str]) -> bool:
        return any(role in self.principal.roles for role in roles)


def request_info(request: Request, purpose: Purpose | None = None) -> RequestInfo:
    state = request.scope.get("state", {})
    return RequestInfo(
        request_id=state.get("request_id"), source=state.get("source"), purpose=purpose
    )


def parse_purpose(
    doel: str | None, allowed: Iterable[Purpose] = labels.CASE_PURPOSES
) -> Purpose | None:
    """The purpose a page is asked to read for (`doel`), None when none was stated; a
    purpose outside `allowed` is a 400 page."""
    if not doel:
        return None
    try:
        purpose = Purpose(doel)
    except ValueError:
        raise HubErrorPage(400, "Kies een doel uit de lijst.") from None
    if purpose not in set(allowed):
        raise HubErrorPage(400, "Kies een doel uit de lijst.")
    return purpose


def phase_purpose(request: Request, user: WebUser, case_id: str) -> Purpose | None:
    """The purpose of a case's phase, read from the person's caseload (for its own purpose,
    `case_management`, as the caseload page reads it; one logged read); None when the case
    is not in it."""
    from hub.cases.schemas import CaseloadQuery

    viewer = viewer_for(request, user, Purpose.CASE_MANAGEMENT)
    load = web_app(request).ctx.caseload.caseload(viewer, CaseloadQuery(), today=dutch_today())
    for case in load.cases:
        if case.id == case_id:
            return labels.PHASE_PURPOSE[case.phase]
    return None


def viewer_for(request: Request, user: WebUser, purpose: Purpose) -> Viewer:
    """The viewer the services see for this page: exactly what a token would give."""
    p = user.principal
    return Viewer(
        partner=p.partner,
        partner_kind=p.partner_kind,
        user=p.user,
        roles=p.roles,
        purpose=purpose,
        request=request_info(request, purpose),
        display_name=p.display_name,
    )


async def signed_in(request: Request) -> WebUser:
    """The dependency of every page behind the login: a live session, within the rate
    limits, and on an unsafe method the session's CSRF token from this origin."""
    web = web_app(request)
    throttle = web.ctx.authenticator.throttle
    if throttle.by_source.acquire(request_source(request.scope)):
        raise HubErrorPage(429)
    token = request.cookies.get(SESSION_COOKIE)
    found = await to_thread.run_sync(web.sessions.find, token, request_info(request))
    if found is None:
        raise LoginRequired()
    user = WebUser(found.principal, found.csrf_token, found.expires_at)
    if throttle.by_partner.acquire(user.principal.partner):
        raise HubErrorPage(429)
    if request.method in UNSAFE_METHODS:
        form = await request.form() if _is_form(request) else None
        if not same_origin(request) or not csrf_matches(
            user.csrf_token, request.headers, dict(form) if form is not None else None
        ):
            await to_thread.run_sync(
                web.ctx.authenticator.refuse_throttled,
                "csrf:refused",
                request_info(request),
                user.principal.actor,
            )
            raise CsrfRefused()
    return user


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in {"application/x-www-form-urlencoded", "multipart/form-data"}


SignedIn = Annotated[WebUser, Depends(signed_in)]
Web = Annotated[WebApp, Depends(web_app)]


class HubErrorPage(Exception):
    """Answer with the error page of this status."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.detail = detail


#: what a person reads for an error status: a title and what to do
ERROR_TEXT: Final[Mapping[int, tuple[str, str]]] = {
    400: (
        "Dat ging niet goed",
        "Het verzoek was niet volledig of niet juist. Probeer het opnieuw.",
    ),
    403: (
        "Dit mag u niet doen",
        "Uw rol in deze casus geeft daar geen toestemming voor. Het verzoek is vastgelegd in "
        "het logboek.",
    ),
    404: (
        "Niet gevonden",
        "Deze pagina of casus bestaat niet, of u neemt niet deel aan deze casus.",
    ),
    409: (
        "Iemand anders was u voor",
        "De gegevens zijn intussen gewijzigd. Laad de pagina opnieuw en probeer het nog eens.",
    ),
    413: ("Te groot", "Het verzoek is te groot."),
    422: ("Dat ging niet goed", "Het verzoek was niet volledig of niet juist."),
    429: ("Te veel verzoeken", "Wacht even en probeer het dan opnieuw."),
    503: (
        "Tijdelijk niet beschikbaar",
        "Het systeem kan dit nu niet veilig afhandelen. Probeer het over enkele minuten opnieuw.",
    ),
}


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    user: WebUser | None = None,
    purpose: Purpose | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    web = web_app(request)
    page = web.templates.get_template(template).render(
        request_path=request.url.path,
        user=user,
        csrf_token=user.csrf_token if user else None,
        purpose=purpose,
        demo=web.demo,
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=dict(headers or {}))


def error_page(request: Request, status: int, detail: str | None = None) -> HTMLResponse:
    title, text = ERROR_TEXT.get(status, ("Er ging iets mis", "Probeer het later opnieuw."))
    return render(
        request, "error.html", status=status, title=title, text=text, detail=detail, user=None
    )


class WebRoute(APIRoute):
    """A page route: a missing login redirects to the login page, and the hub's errors
    become Dutch error pages with the same status the API would answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse(LOGIN_PATH, status_code=303)
            except CsrfRefused:
                return error_page(
                    request,
                    403,
                    "Het formulier is verlopen of kwam niet van deze site. Laad de pagina opnieuw.",
                )
            except HubErrorPage as exc:
                return error_page(request, exc.status, exc.detail)
            except HubError as exc:
                return error_page(request, exc.status)
            except RequestValidationError:
                return error_page(request, 400)

        return route
