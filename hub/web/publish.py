"""Publishing a fact by hand (ADR 0015, screen 6): for a partner without an application.

The person picks a fact type of the catalogue and the subjects it concerns, fills in a form
generated from the type's JSON Schema (`hub.web.forms`), and the page calls the very service
the API's ``POST /api/v1/cases/{case_id}/facts`` calls, with the same `FactIn`: the content is
validated by the type's own validation, the policy decides whether this partner may publish
it in this case, and the access log records the publish exactly as for the API.

The idempotency key is made by the hub when it renders the form, once, and travels in a
hidden field: a second submit of the same form (a double click, a reload of the POST) is the
API's retry and stores nothing twice. A refused form keeps its key (nothing was stored under
it); a new visit to the form gets a new one.

The subjects of the case are read through the case read of the API (``GET /cases/{id}``),
so they show as far as the identity decision releases them to this viewer: by name, or else
by their role in the case.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import urlencode

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hub import labels
from hub.cases.schemas import CaseOut
from hub.facts.catalog import FactType
from hub.facts.schemas import FactIn, PublishOut
from hub.identity.viewer import Viewer
from hub.vocabulary import Purpose, Role
from hub.web.core import (
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    WebUser,
    parse_purpose,
    phase_purpose,
    render,
    viewer_for,
)
from hub.web.forms import (
    FormError,
    errors_by_field,
    form_values,
    input_id,
    parse_schema_form,
    schema_form,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: the legal bases the form offers (each matches `hub.facts.schemas.LEGAL_BASIS_PATTERN`)
LEGAL_BASES: Final[tuple[tuple[str, str], ...]] = (
    ("convenant_zvh", "Convenant Zorg- en Veiligheidshuis"),
    ("avg_6_1_e", "AVG art. 6 lid 1 sub e: taak van algemeen belang"),
    ("avg_6_1_c", "AVG art. 6 lid 1 sub c: wettelijke verplichting"),
    ("wpg_art_19", "Wet politiegegevens, art. 19"),
    ("wjsg_art_39f", "Wet justitiële en strafvorderlijke gegevens, art. 39f"),
    ("jeugdwet_7_4_0", "Jeugdwet, art. 7.4.0"),
)
_LEGAL_BASIS_VALUES: Final = frozenset(value for value, _ in LEGAL_BASES)

#: the inputs of the form that are not content
KEY_FIELD: Final = "idempotency_key"
SUBJECTS_FIELD: Final = "subject_ids"
LEGAL_BASIS_FIELD: Final = "legal_basis"
SHAREABLE_FIELD: Final = "shareable"
#: what the hub puts in the hidden field; nothing else is accepted from a form
_KEY_RE: Final = re.compile(r"\Aweb-[0-9a-f]{32}\Z")
_TYPE_NAME_RE: Final = r"^[a-z][a-z_]*\.[a-z][a-z_]*$"
_SUBJECT_ID_RE: Final = re.compile(r"\A[A-Za-z0-9-]{1,36}\Z")


@dataclass(frozen=True)
class TypeChoice:
    """A fact type as the choice page lists it."""

    id: str
    title: str
    life_domain: str
    href: str


@dataclass(frozen=True)
class SubjectChoice:
    """A subject of the case as this viewer may see it: by name, else by role."""

    id: str
    label: str
    named: bool


def new_key() -> str:
    return f"web-{uuid.uuid4().hex}"


def _purpose(
    request: Request, user: WebUser, web: WebApp, case_id: str, doel: str | None
) -> Purpose:
    """The purpose the page states: ``doel``, or by default that of the case's phase (read
    from the caseload, for purpose case_management, as the caseload's links would)."""
    purpose = parse_purpose(doel) or phase_purpose(request, user, case_id)
    if purpose is None:
        raise HubErrorPage(404)
    return purpose


def _fact_type(web: WebApp, name: str, version: int) -> FactType:
    type_id = f"{name}/{version}"
    if type_id not in web.ctx.catalog:
        raise HubErrorPage(404, "Dit soort informatie staat niet in de catalogus.")
    return web.ctx.catalog.get(type_id)


def _may_publish(fact_type: FactType, user: WebUser) -> bool:
    """Whether the catalogue names this partner's kind as a publisher of the type
    (``x-publisher-kinds``); the policy still decides."""
    return user.principal.partner_kind in fact_type.publisher_kinds


def _subjects(case: CaseOut) -> list[SubjectChoice]:
    return [
        SubjectChoice(s.id, s.name if s.name else s.role_in_case, named=bool(s.name))
        for s in case.subjects
    ]


def _form_url(case_id: str, fact_type: FactType, purpose: Purpose) -> str:
    return f"/casussen/{case_id}/publiceren/{fact_type.name}/{fact_type.version}?" + urlencode(
        {"doel": purpose.value}
    )


def _read_case(
    request: Request, user: WebUser, web: WebApp, case_id: str, purpose: Purpose
) -> CaseOut:
    case: CaseOut = web.ctx.intake.get(viewer_for(request, user, purpose), case_id)
    return case


@router.get("/casussen/{case_id}/publiceren", response_class=HTMLResponse)
def choose_type(
    case_id: str,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
    soort: Annotated[str | None, Query(max_length=80)] = None,
    betrokkene: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> Response:
    purpose = _purpose(request, user, web, case_id, doel)
    catalog = web.ctx.catalog
    if soort:
        # the choice was made (a plain GET form): on to that type's form
        if soort not in catalog:
            raise HubErrorPage(404, "Dit soort informatie staat niet in de catalogus.")
        chosen = catalog.get(soort)
        query = [("doel", purpose.value)] + [
            ("betrokkene", s) for s in betrokkene or [] if _SUBJECT_ID_RE.match(s)
        ]
        return RedirectResponse(
            f"/casussen/{case_id}/publiceren/{chosen.name}/{chosen.version}?{urlencode(query)}",
            status_code=303,
        )
    case = _read_case(request, user, web, case_id, purpose)
    types = [
        TypeChoice(
            t.id,
            t.title,
            labels.word(labels.LIFE_DOMAIN, t.life_domain),
            _form_url(case.id, t, purpose),
        )
        for t in catalog.types()
        if _may_publish(t, user)
    ]
    return render(
        request,
        "publish_choose.html",
        user=user,
        purpose=purpose,
        case=case,
        types=types,
        subjects=_subjects(case),
        is_publisher=user.has_role(Role.PUBLISHER),
    )


def _submitted(form: Sequence[tuple[str, object]]) -> dict[str, list[str]]:
    """Input name -> every string submitted under it (files are ignored)."""
    out: dict[str, list[str]] = {}
    for name, value in form:
        if isinstance(value, str):
            out.setdefault(name, []).append(value)
    return out


def _form_page(
    request: Request,
    user: WebUser,
    purpose: Purpose,
    case: CaseOut,
    fact_type: FactType,
    *,
    key: str,
    values: Mapping[str, str | list[str]],
    chosen_subjects: Sequence[str],
    legal_basis: str,
    shareable: bool,
    errors: Sequence[FormError] = (),
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "publish_form.html",
        status=status,
        user=user,
        purpose=purpose,
        case=case,
        fact_type=fact_type,
        life_domain=labels.word(labels.LIFE_DOMAIN, fact_type.life_domain),
        fields=schema_form(fact_type),
        values=values,
        errors=list(errors),
        field_errors=errors_by_field(errors),
        subjects=_subjects(case),
        chosen_subjects=set(chosen_subjects),
        legal_bases=LEGAL_BASES,
        legal_basis=legal_basis,
        shareable=shareable,
        key=key,
        action=_form_url(case.id, fact_type, purpose),
        catalogued=_may_publish(fact_type, user),
        is_publisher=user.has_role(Role.PUBLISHER),
        subjects_id=input_id(SUBJECTS_FIELD),
        legal_basis_id=input_id(LEGAL_BASIS_FIELD),
    )


@router.get("/casussen/{case_id}/publiceren/{name}/{version}", response_class=HTMLResponse)
def fact_form(
    case_id: str,
    name: Annotated[str, Path(pattern=_TYPE_NAME_RE, max_length=64)],
    version: Annotated[int, Path(ge=1, le=9999)],
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
    betrokkene: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> Response:
    fact_type = _fact_type(web, name, version)
    purpose = _purpose(request, user, web, case_id, doel)
    case = _read_case(request, user, web, case_id, purpose)
    return _form_page(
        request,
        user,
        purpose,
        case,
        fact_type,
        key=new_key(),
        values={},
        chosen_subjects=betrokkene or [],
        legal_basis=LEGAL_BASES[0][0],
        shareable=False,
    )


@router.post("/casussen/{case_id}/publiceren/{name}/{version}", response_class=HTMLResponse)
async def publish_fact(
    case_id: str,
    name: Annotated[str, Path(pattern=_TYPE_NAME_RE, max_length=64)],
    version: Annotated[int, Path(ge=1, le=9999)],
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    form = _submitted(list((await request.form()).multi_items()))
    return await to_thread.run_sync(
        lambda: _publish(request, user, web, case_id, name, version, doel, form)
    )


def _publish(
    request: Request,
    user: WebUser,
    web: WebApp,
    case_id: str,
    name: str,
    version: int,
    doel: str | None,
    form: Mapping[str, Sequence[str]],
) -> Response:
    fact_type = _fact_type(web, name, version)
    purpose = _purpose(request, user, web, case_id, doel)
    key = (form.get(KEY_FIELD) or [""])[0]
    if not _KEY_RE.match(key):
        raise HubErrorPage(400, "Het formulier is niet volledig. Open het opnieuw.")
    content, errors = parse_schema_form(fact_type, form)
    chosen = [s for s in form.get(SUBJECTS_FIELD, []) if s]
    legal_basis = (form.get(LEGAL_BASIS_FIELD) or [""])[0].strip()
    shareable = (form.get(SHAREABLE_FIELD) or [""])[0] == "ja"
    own: list[FormError] = []
    if len(chosen) != len(set(chosen)) or not all(_SUBJECT_ID_RE.match(s) for s in chosen):
        own.append(FormError(input_id(SUBJECTS_FIELD), "Kies de betrokkenen uit de lijst."))
    own.extend(errors)
    if legal_basis not in _LEGAL_BASIS_VALUES:
        own.append(
            FormError(input_id(LEGAL_BASIS_FIELD), "Maak een keuze bij Grondslag voor het delen.")
        )
    fact: FactIn | None = None
    if not own:
        try:
            fact = FactIn(
                idempotency_key=key,
                type=fact_type.id,
                subject_ids=chosen or None,
                legal_basis=legal_basis,
                shareable=shareable,
                content=content,
            )
        except ValidationError:
            own.append(
                FormError(None, "Het formulier kon niet worden verwerkt; probeer het opnieuw.")
            )
    if fact is None:
        case = _read_case(request, user, web, case_id, purpose)
        return _form_page(
            request,
            user,
            purpose,
            case,
            fact_type,
            key=key,
            values=form_values(fact_type, None, form),
            chosen_subjects=chosen,
            legal_basis=legal_basis,
            shareable=shareable,
            errors=own,
            status=400,
        )
    viewer: Viewer = viewer_for(request, user, purpose)
    out: PublishOut = web.ctx.facts.publish(viewer, case_id, [fact])
    published = out.facts[0]
    query = urlencode(
        {"doel": purpose.value, "gedeeld": published.id, "nieuw": "1" if published.created else "0"}
    )
    return RedirectResponse(f"/casussen/{out.case_id}?{query}", status_code=303)
