"""The caseload and the case page (ADR 0015): HTTP fronts of the same services as the API.

Each view states its purpose: the caseload is read for `case_management` (an overview of
one's own cases, never fact content), a case page for the purpose the person chose or,
by default, the one of the case's phase; the page shows it. A case page is the case read
(who it is about, as far as the identity decision releases) and the briefing, each through
its own service and each its own access-log entry, exactly as the two API calls would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hub import __version__
from hub.cases.notices import dutch_today
from hub.cases.schemas import CaseloadQuery, CaseOut
from hub.disclosure.schemas import Briefing, DomainSection, ExistenceNote, ReleasedFact
from hub.labels import CASE_PURPOSES, PHASE_PURPOSE
from hub.vocabulary import LifeDomain, Purpose
from hub.web.core import (
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    home_path,
    nl_datetime,
    parse_purpose,
    render,
    show_value,
    viewer_for,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
#: the most pages of a briefing one case page reads (each page is at most 500 facts)
MAX_BRIEFING_PAGES: Final = 20


@router.get("/")
def home(user: SignedIn) -> Response:
    return RedirectResponse(home_path(user.principal.roles), status_code=303)


@router.get("/casussen", response_class=HTMLResponse)
def caseload(
    request: Request,
    user: SignedIn,
    web: Web,
    fase: Annotated[str | None, Query(max_length=20)] = None,
    tafel: Annotated[str | None, Query(max_length=20)] = None,
    rol: Annotated[str | None, Query(max_length=20)] = None,
    achterstand: Annotated[bool, Query()] = False,
    sorteer: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    purpose = Purpose.CASE_MANAGEMENT
    try:
        # a filter left at "all" comes as an empty value
        query = CaseloadQuery.model_validate(
            {
                "phase": fase or None,
                "table": tafel or None,
                "role": rol or None,
                "overdue_only": achterstand,
                **({"sort": sorteer} if sorteer else {}),
            }
        )
    except ValidationError:
        raise HubErrorPage(400, "Kies de filters uit de lijsten.") from None
    viewer = viewer_for(request, user, purpose)
    load = web.ctx.caseload.caseload(viewer, query, today=dutch_today())
    return render(
        request,
        "caseload.html",
        user=user,
        purpose=purpose,
        load=load,
        query=query,
        case_purpose={c.id: PHASE_PURPOSE[c.phase] for c in load.cases},
    )


@dataclass(frozen=True)
class FactView:
    """One released fact as the case page shows it: its words ready, so the template only
    places them (a 200-fact page renders in a few milliseconds)."""

    id: str
    title: str
    level: str
    publisher: str
    published: str
    version: int
    #: (Dutch label, field name, value as text), in the order the briefing gave them
    fields: list[tuple[str, str, str]]
    #: the Dutch labels of the fields this viewer does not see, as one phrase
    withheld: str
    reason: str
    rule: str
    new: bool


@dataclass(frozen=True)
class DomainView:
    """One life domain of the briefing as the case page shows it."""

    life_domain: str
    facts: list[FactView]
    existence: list[ExistenceNote]


def fact_view(web: WebApp, fact: ReleasedFact, previous_visit: datetime | None) -> FactView:
    return FactView(
        id=fact.id,
        title=fact.title,
        level=fact.level.value,
        publisher=web.partner_name(fact.publisher),
        published=nl_datetime(fact.published_at),
        version=fact.version,
        fields=[
            (web.field_label(fact.type, key), key, show_value(value))
            for key, value in fact.fields.items()
        ],
        withheld=", ".join(web.field_label(fact.type, w).lower() for w in fact.withheld_fields),
        reason=fact.reason,
        rule=fact.rule,
        new=_is_new(fact, previous_visit),
    )


def merge_briefing(
    web: WebApp, pages: list[Briefing], previous_visit: datetime | None
) -> list[DomainView]:
    """The domains of every briefing page, in the life-domain order of the briefing."""
    merged: dict[str, DomainView] = {}
    for page in pages:
        for section in page.domains:
            view = merged.setdefault(section.life_domain, DomainView(section.life_domain, [], []))
            view.facts.extend(fact_view(web, f, previous_visit) for f in section.facts)
            view.existence.extend(_new_notes(view.existence, section))
    order = {d.value: i for i, d in enumerate(LifeDomain)}
    return sorted(merged.values(), key=lambda v: order.get(v.life_domain, len(order)))


def _new_notes(seen: list[ExistenceNote], section: DomainSection) -> list[ExistenceNote]:
    known = {(n.publisher_kind, n.life_domain) for n in seen}
    return [n for n in section.existence if (n.publisher_kind, n.life_domain) not in known]


@router.get("/casussen/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: str,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
    gedeeld: Annotated[str | None, Query(pattern=r"^[0-9a-f-]{36}$")] = None,
    nieuw: bool = True,
) -> Response:
    purpose = parse_purpose(doel)
    if purpose is None:
        # no purpose stated (a link from outside the caseload): nothing is read before the
        # person says why; the caseload's links carry the purpose of the case's phase
        return render(
            request, "choose_purpose.html", user=user, case_id=case_id, purposes=CASE_PURPOSES
        )
    viewer = viewer_for(request, user, purpose)
    case: CaseOut = web.ctx.intake.get(viewer, case_id)
    pages: list[Briefing] = []
    cursor: str | None = None
    for _ in range(MAX_BRIEFING_PAGES):
        page = web.ctx.briefing.briefing(viewer, case.id, cursor)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    previous_visit = _visit(web, user, case.id)
    domains = merge_briefing(web, pages, previous_visit)
    return render(
        request,
        "case.html",
        user=user,
        purpose=purpose,
        case=case,
        domains=domains,
        briefing=pages[0],
        log_seqs=[p.log_seq for p in pages],
        truncated=cursor is not None,
        previous_visit=previous_visit,
        new_ids={f.id for d in domains for f in d.facts if f.new},
        purposes=CASE_PURPOSES,
        phase_purpose=PHASE_PURPOSE[case.phase],
        shared=gedeeld,
        shared_new=nieuw,
    )


def _visit(web: Web, user: SignedIn, case_id: str) -> datetime | None:
    return web.sessions.visit(user.principal, case_id)


def _is_new(fact: ReleasedFact, previous_visit: datetime | None) -> bool:
    return previous_visit is not None and fact.published_at > previous_visit


@router.get("/toegankelijkheid", response_class=HTMLResponse)
def accessibility_statement(request: Request) -> Response:
    """The accessibility statement (toegankelijkheidsverklaring): public, no login."""
    return render(request, "accessibility.html", user=None, version=__version__)
