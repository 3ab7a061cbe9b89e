"""The intake (aanmelding) and the procesregisseur's case direction (regie) (ADR 0015).

HTTP fronts of the same services the API routes call, with the viewer a token would give:

- ``/casussen/nieuw``: the intake form, `IntakeService.register` (``POST /api/v1/cases``),
  purpose ``intake``;
- ``/aanmeldingen``: the intake queue, `IntakeService.list_for` (``GET /api/v1/cases``) for
  purpose ``intake``; "Regie nemen" is `ScreeningService.take` (``POST .../procesregie``);
- ``/casussen/{id}/regie``: the case as `IntakeService.get` gives it for the stated purpose,
  and as forms: screening (`ScreeningService.screen`), triage (`ScreeningService.triage`),
  invitations (`ParticipantService.invite` / `withdraw`), the casusregisseur
  (`ParticipantService.assign_casusregisseur`) and the phase (`PhaseService.change_phase`,
  `PhaseService.close`).

Every form states its purpose (the page's ``doel``, a hidden field) and the policy decides;
a refusal is the error page with the status the API would answer. After an act the page
redirects (303) back to the regie page with a ``gedaan`` flag that names what was done. The
screening's answer is not stored by the hub (reading it again would screen again, and log it
again), so that one post answers with the regie page and the result itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from hub import labels
from hub.cases.schemas import (
    CaseOut,
    ClosureIn,
    InvitationIn,
    RegisseurIn,
    ScreeningIn,
    ScreeningOut,
    TriageIn,
    Urgency,
)
from hub.vocabulary import Phase, Purpose, Role
from hub.web.core import (
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    parse_purpose,
    render,
    viewer_for,
)
from hub.web.forms import (
    INTAKE_LABELS,
    INTAKE_SUBJECT_FIELDS,
    MAX_SUBJECT_ROWS,
    FormError,
    errors_by_field,
    input_id,
    intake_options,
    parse_date,
    parse_intake_form,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

T = TypeVar("T")
Form = Mapping[str, Sequence[str]]

#: the Landelijk kader criteria of `TriageCriteria`, in Dutch, in the model's order
CRITERIA_NL: Final[Mapping[str, str]] = {
    "multiple_life_domains": "Er zijn problemen op meerdere leefgebieden",
    "criminal_or_nuisance_behaviour": "Er is sprake van crimineel of overlastgevend gedrag",
    "multiple_chains_needed": "Een aanpak door meerdere ketens of organisaties is nodig",
    "impact_on_system_or_environment": "De problemen raken het systeem of de omgeving",
    "area_bound_safety_problem": "Er is een gebiedsgebonden veiligheidsprobleem",
}
DECISION_NL: Final[Mapping[str, str]] = {"accept": "Aannemen", "reject": "Afwijzen"}
#: why a case is rejected at triage (a code, no free text in clear)
REJECTION_NL: Final[Mapping[str, str]] = {
    "no_complex_problems": "Geen complexe problematiek: de criteria zijn niet vervuld",
    "regular_care_suffices": "De reguliere zorg volstaat",
    "handled_elsewhere": "Wordt al aangepakt in een andere keten of ander Veiligheidshuis",
    "other": "Andere reden",
}
#: how a case ends (`ClosureIn.outcome`)
OUTCOME_NL: Final[Mapping[str, str]] = {
    "plan_completed": "Plan van aanpak uitgevoerd",
    "handed_back": "Terug naar de reguliere zorg (afschaling)",
    "handed_over": "Overgedragen aan een andere keten",
    "moved_away": "Betrokkenen verhuisd buiten de regio",
}
#: what the regie page says after an act (the ``gedaan`` flag of the redirect)
DONE_NL: Final[Mapping[str, str]] = {
    "regie": "U hebt de regie op deze casus genomen.",
    "fase": "De casus is doorgezet naar de volgende fase.",
    "screening": "De screening is uitgevoerd.",
    "triage": "De triage is vastgelegd.",
    "uitnodiging": "De partner is uitgenodigd voor deze casus.",
    "intrekking": "De uitnodiging is ingetrokken.",
    "casusregisseur": "De casusregisseur is aangewezen.",
    "afgesloten": "De casus is afgesloten.",
}
#: what comes next in each phase, as the regie page tells it
NEXT_STEPS_NL: Final[Mapping[str, str]] = {
    Phase.INTAKE: "Neem de regie op deze casus en zet hem door naar de screening.",
    Phase.SCREENING: "Screen de betrokkenen, leg de triage vast en nodig de partners uit. "
    "Zet de casus daarna door naar de voorbereiding.",
    Phase.PREPARATION: "Nodig ontbrekende partners uit en leg vast dat de betrokkenen zijn "
    "geïnformeerd. Zet de casus daarna door naar het casusoverleg.",
    Phase.CASE_CONFERENCE: "Wijs de casusregisseur aan en bespreek de casus aan tafel. "
    "Zet de casus daarna door naar het plan van aanpak.",
    Phase.PLAN: "De casusregisseur stelt het plan van aanpak op. Zet de casus daarna door "
    "naar de uitvoering.",
    Phase.EXECUTION: "Volg de uitvoering van het plan. Sluit de casus af als het plan is "
    "uitgevoerd of de zorg terug kan naar de reguliere zorg.",
    Phase.CLOSED: "De casus is afgesloten.",
}
#: the purposes the regie page may be read for
REGIE_PURPOSES: Final = labels.CASE_PURPOSES
_PHASES: Final = list(Phase)


# --- shared helpers -------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, list[str]]:
    """The submitted form as lists of strings (files are ignored)."""
    form = await request.form()
    return {
        key: [v for v in form.getlist(key) if isinstance(v, str)]
        for key in form
        if key != "csrf_token"
    }


def _first(form: Form, name: str) -> str:
    for value in form.get(name, ()):
        return value.strip()
    return ""


def _purpose(doel: str | None) -> Purpose | None:
    return parse_purpose(doel, REGIE_PURPOSES)


def _stated_purpose(form: Form) -> Purpose:
    """The purpose a regie form states (its hidden ``doel``): required."""
    purpose = _purpose(_first(form, "doel"))
    if purpose is None:
        raise HubErrorPage(400, "Het formulier noemt geen doel. Laad de pagina opnieuw.")
    return purpose


async def _run(call: Callable[[], T]) -> T:
    return await to_thread.run_sync(call)


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _regie_url(case_id: str, purpose: Purpose | str, done: str | None = None) -> str:
    url = f"/casussen/{case_id}/regie?doel={Purpose(purpose).value}"
    return f"{url}&gedaan={done}" if done else url


def _after(web: WebApp, user: SignedIn, case: CaseOut, done: str) -> Response:
    """Back to the regie page, read for the purpose of the case's phase now; a case that is
    closed can no longer be read, so then to the person's overview."""
    if case.phase is Phase.CLOSED:
        target = "/aanmeldingen" if user.has_role(Role.PROCESREGISSEUR) else "/casussen"
        return _see_other(f"{target}?gedaan={done}")
    return _see_other(_regie_url(case.id, labels.PHASE_PURPOSE[case.phase], done))


def _model_errors(
    exc: ValidationError, prefix: str, field_labels: Mapping[str, str]
) -> list[FormError]:
    """Pydantic's errors of a regie form's model, in Dutch, at the form's inputs."""
    errors: list[FormError] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in error["loc"])
        label = field_labels.get(loc)
        if label is None:
            found = FormError(None, "Het formulier kon niet worden verwerkt; controleer het.")
        elif error["type"] == "missing":
            found = FormError(input_id(f"{prefix}.{loc}"), f"Vul {label} in.")
        else:
            found = FormError(
                input_id(f"{prefix}.{loc}"), f"Controleer wat u hebt ingevuld bij {label}."
            )
        if found not in errors:
            errors.append(found)
    return errors


M = TypeVar("M", bound=BaseModel)


def _validate(
    model: type[M], data: dict[str, Any], prefix: str, field_labels: Mapping[str, str]
) -> tuple[M | None, list[FormError]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _model_errors(exc, prefix, field_labels)


# --- intake ---------------------------------------------------------------------------------


def _intake_page(
    request: Request,
    user: SignedIn,
    *,
    values: Mapping[str, str],
    errors: Sequence[FormError] = (),
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "intake_form.html",
        status=status,
        user=user,
        purpose=Purpose.INTAKE,
        values=values,
        errors=list(errors),
        field_errors=errors_by_field(errors),
        options=intake_options(),
        labels_intake=INTAKE_LABELS,
        subject_fields=INTAKE_SUBJECT_FIELDS,
        rows=range(MAX_SUBJECT_ROWS),
    )


@router.get("/casussen/nieuw", response_class=HTMLResponse)
async def intake_form(request: Request, user: SignedIn) -> Response:
    return await _run(lambda: _intake_page(request, user, values={}))


@router.post("/casussen/nieuw", response_class=HTMLResponse)
async def intake_submit(request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    case_in, errors = parse_intake_form(form)
    if case_in is None:
        values = {key: _first(form, key) for key in form}
        return await _run(
            lambda: _intake_page(request, user, values=values, errors=errors, status=400)
        )
    viewer = viewer_for(request, user, Purpose.INTAKE)
    case = await _run(lambda: web.ctx.intake.register(viewer, case_in))
    return _see_other(f"/casussen/{case.id}?doel={Purpose.INTAKE.value}")


# --- the intake queue -----------------------------------------------------------------------


@router.get("/aanmeldingen", response_class=HTMLResponse)
def intake_queue(
    request: Request,
    user: SignedIn,
    web: Web,
    gedaan: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    purpose = Purpose.INTAKE
    viewer = viewer_for(request, user, purpose)
    cases = web.ctx.intake.list_for(viewer)
    waiting = [c for c in cases if c.phase is Phase.INTAKE and c.procesregisseur is None]
    mine = [
        c
        for c in cases
        if c.phase is not Phase.CLOSED
        and c.procesregisseur is not None
        and c.procesregisseur.partner == user.principal.partner
        and c.procesregisseur.user == user.principal.user
    ]
    return render(
        request,
        "regie_queue.html",
        user=user,
        purpose=purpose,
        waiting=waiting,
        mine=mine,
        done=DONE_NL.get(gedaan or ""),
        may_take=user.has_role(Role.PROCESREGISSEUR),
        phase_purpose=labels.PHASE_PURPOSE,
    )


@router.post("/casussen/{case_id}/regie/nemen", response_class=HTMLResponse)
async def take_case(case_id: str, request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    purpose = _purpose(_first(form, "doel")) or Purpose.INTAKE
    viewer = viewer_for(request, user, purpose)
    case = await _run(lambda: web.ctx.screening.take(viewer, case_id))
    return _see_other(_regie_url(case.id, labels.PHASE_PURPOSE[case.phase], "regie"))


# --- the regie page -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegieForm:
    """A regie form that came back invalid: which one, what was typed, what is wrong."""

    name: str
    values: Mapping[str, str]
    errors: Sequence[FormError]


def _regie_page(
    request: Request,
    user: SignedIn,
    web: WebApp,
    case_id: str,
    purpose: Purpose,
    *,
    done: str | None = None,
    invalid: RegieForm | None = None,
    screening: ScreeningOut | None = None,
) -> HTMLResponse:
    viewer = viewer_for(request, user, purpose)
    case: CaseOut = web.ctx.intake.get(viewer, case_id)
    index = _PHASES.index(case.phase)
    next_phase = _PHASES[index + 1] if index + 1 < len(_PHASES) else None
    invited = {p.partner for p in case.participants if p.user is None}
    partners = web.ctx.registry.partners
    errors = list(invalid.errors) if invalid else []
    principal = user.principal
    is_procesregisseur = case.procesregisseur is not None and (
        case.procesregisseur.partner,
        case.procesregisseur.user,
    ) == (principal.partner, principal.user)
    is_casusregisseur = case.casusregisseur is not None and (
        case.casusregisseur.partner,
        case.casusregisseur.user,
    ) == (principal.partner, principal.user)
    subject_roles = {s.id: s.role_in_case for s in case.subjects}
    return render(
        request,
        "regie_case.html",
        status=400 if invalid else 200,
        user=user,
        purpose=purpose,
        case=case,
        purposes=REGIE_PURPOSES,
        phase_purpose=labels.PHASE_PURPOSE[case.phase],
        next_phase=next_phase if next_phase is not Phase.CLOSED else None,
        next_steps=NEXT_STEPS_NL.get(case.phase, ""),
        done=DONE_NL.get(done or ""),
        invalid=invalid.name if invalid else None,
        values=invalid.values if invalid else {},
        errors=errors,
        field_errors=errors_by_field(errors),
        screening=screening,
        subject_roles=subject_roles,
        criteria=CRITERIA_NL,
        decisions=list(DECISION_NL.items()),
        rejections=[("", "Kies een reden"), *REJECTION_NL.items()],
        outcomes=[("", "Kies hoe de casus eindigt"), *OUTCOME_NL.items()],
        urgencies=[("", "Geen"), *((u.value, labels.URGENCY[u.value]) for u in Urgency)],
        tables=[("", "De voorgestelde tafel"), *labels.TABLE.items()],
        invite_options=[("", "Kies een partner")]
        + [(p.id, p.name) for p in partners.values() if p.id not in invited],
        partner_options=[("", "Kies een partner")] + [(p.id, p.name) for p in partners.values()],
        may_take=user.has_role(Role.PROCESREGISSEUR) and case.procesregisseur is None,
        is_procesregisseur=is_procesregisseur,
        is_regisseur=is_procesregisseur or is_casusregisseur,
    )


@router.get("/casussen/{case_id}/regie", response_class=HTMLResponse)
def regie_page(
    case_id: str,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
    gedaan: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    purpose = _purpose(doel)
    if purpose is None:
        # nothing is read before the person says why
        return render(
            request, "regie_choose.html", user=user, case_id=case_id, purposes=REGIE_PURPOSES
        )
    return _regie_page(request, user, web, case_id, purpose, done=gedaan)


async def _invalid(
    request: Request,
    user: SignedIn,
    web: WebApp,
    case_id: str,
    purpose: Purpose,
    name: str,
    form: Form,
    errors: Sequence[FormError],
) -> Response:
    values = {key: _first(form, key) for key in form}
    invalid = RegieForm(name, values, errors)
    return await _run(lambda: _regie_page(request, user, web, case_id, purpose, invalid=invalid))


@router.post("/casussen/{case_id}/regie/screening", response_class=HTMLResponse)
async def screen(case_id: str, request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    viewer = viewer_for(request, user, purpose)
    # the case's own subjects, as `POST /cases/{id}/screenings` with an empty body
    result = await _run(lambda: web.ctx.screening.screen(viewer, case_id, ScreeningIn()))
    return await _run(
        lambda: _regie_page(
            request, user, web, case_id, purpose, done="screening", screening=result
        )
    )


_TRIAGE_LABELS: Final[Mapping[str, str]] = {
    **{f"criteria.{k}": v for k, v in CRITERIA_NL.items()},
    "criteria": "Criteria van het Landelijk kader",
    "decision": "Besluit",
    "table": "Tafel",
    "reason_code": "Reden van afwijzing",
    "urgency": "Urgentie",
    "review_on": "Datum heroverweging",
    "preparation_due": "Voorbereiding uiterlijk",
    "case_conference_due": "Casusoverleg uiterlijk",
}
_TRIAGE_DATES: Final = ("review_on", "preparation_due", "case_conference_due")


def parse_triage_form(form: Form) -> tuple[TriageIn | None, list[FormError]]:
    """The `TriageIn` of the triage form, or None and every problem in Dutch. The service
    stays the judge (its planning rules and the criteria); this tells them at the inputs."""
    errors: list[FormError] = []

    def refuse(name: str, message: str) -> None:
        errors.append(FormError(input_id(f"triage.{name}"), message))

    criteria = {k: _first(form, f"triage.criteria.{k}") == "true" for k in CRITERIA_NL}
    decision = _first(form, "triage.decision")
    data: dict[str, Any] = {"criteria": criteria}
    if decision:
        data["decision"] = decision
    else:
        refuse("decision", "Kies bij Besluit: aannemen of afwijzen.")
    for name in ("table", "reason_code", "urgency"):
        value = _first(form, f"triage.{name}")
        if value:
            data[name] = value
    for name in _TRIAGE_DATES:
        value = _first(form, f"triage.{name}")
        if not value:
            continue
        try:
            data[name] = parse_date(value)
        except Exception:
            refuse(name, f"Vul bij {_TRIAGE_LABELS[name]} een datum in, bijvoorbeeld 05-12-2026.")
    planning = [n for n in ("urgency", *_TRIAGE_DATES) if n in data]
    if decision == "reject":
        if "reason_code" not in data:
            refuse("reason_code", "Kies bij een afwijzing de reden van afwijzing.")
        if planning:
            refuse(planning[0], "Een afgewezen casus krijgt geen urgentie en geen datums.")
    elif decision == "accept":
        c = criteria
        complex_problems = (
            c["multiple_life_domains"]
            and c["criminal_or_nuisance_behaviour"]
            and c["multiple_chains_needed"]
            and c["impact_on_system_or_environment"]
        ) or c["area_bound_safety_problem"]
        if not complex_problems:
            errors.append(
                FormError(
                    input_id("triage.criteria.multiple_life_domains"),
                    "Een casus wordt alleen aangenomen als de eerste vier criteria alle gelden, "
                    "of er een gebiedsgebonden veiligheidsprobleem is. Vink aan wat geldt, of "
                    "wijs de casus af.",
                )
            )
        if any(n in data for n in _TRIAGE_DATES) and "urgency" not in data:
            refuse("urgency", "Kies een urgentie: datums horen bij een urgentie.")
    triage, problems = _validate(TriageIn, data, "triage", _TRIAGE_LABELS)
    told = {e.field for e in errors}
    errors.extend(e for e in problems if e.field not in told)
    if errors:
        return None, errors
    return triage, []


@router.post("/casussen/{case_id}/regie/triage", response_class=HTMLResponse)
async def triage(case_id: str, request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    body, errors = parse_triage_form(form)
    if body is None:
        return await _invalid(request, user, web, case_id, purpose, "triage", form, errors)
    viewer = viewer_for(request, user, purpose)
    case = await _run(lambda: web.ctx.screening.triage(viewer, case_id, body))
    return _after(web, user, case, "triage")


@router.post("/casussen/{case_id}/regie/uitnodigingen", response_class=HTMLResponse)
async def invite(case_id: str, request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    partner, who = _first(form, "invite.partner"), _first(form, "invite.user")
    errors: list[FormError] = []
    body: InvitationIn | None = None
    if not partner:
        errors.append(FormError(input_id("invite.partner"), "Kies de partner die u uitnodigt."))
    else:
        body, errors = _validate(
            InvitationIn,
            {"partner": partner, "user": who or None},
            "invite",
            {"partner": "Partner", "user": "Professional"},
        )
    if body is None:
        return await _invalid(request, user, web, case_id, purpose, "invite", form, errors)
    viewer = viewer_for(request, user, purpose)
    invitation = body
    case = await _run(
        lambda: web.ctx.participants.invite(viewer, case_id, invitation.partner, invitation.user)
    )
    return _after(web, user, case, "uitnodiging")


@router.post(
    "/casussen/{case_id}/regie/uitnodigingen/{participant_id}/intrekken",
    response_class=HTMLResponse,
)
async def withdraw(
    case_id: str, participant_id: str, request: Request, user: SignedIn, web: Web
) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    viewer = viewer_for(request, user, purpose)
    case = await _run(lambda: web.ctx.participants.withdraw(viewer, case_id, participant_id))
    return _after(web, user, case, "intrekking")


@router.post("/casussen/{case_id}/regie/casusregisseur", response_class=HTMLResponse)
async def assign_casusregisseur(
    case_id: str, request: Request, user: SignedIn, web: Web
) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    partner, who = _first(form, "regisseur.partner"), _first(form, "regisseur.user")
    errors: list[FormError] = []
    if not partner:
        errors.append(FormError(input_id("regisseur.partner"), "Kies de partner."))
    if not who:
        errors.append(
            FormError(input_id("regisseur.user"), "Vul de gebruikersnaam van de casusregisseur in.")
        )
    body: RegisseurIn | None = None
    if not errors:
        body, errors = _validate(
            RegisseurIn,
            {"partner": partner, "user": who},
            "regisseur",
            {"partner": "Partner", "user": "Gebruikersnaam"},
        )
    if body is None:
        return await _invalid(request, user, web, case_id, purpose, "regisseur", form, errors)
    viewer = viewer_for(request, user, purpose)
    named = body
    case = await _run(
        lambda: web.ctx.participants.assign_casusregisseur(
            viewer, case_id, named.partner, named.user
        )
    )
    return _after(web, user, case, "casusregisseur")


@router.post("/casussen/{case_id}/regie/fase", response_class=HTMLResponse)
async def change_phase(case_id: str, request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    try:
        to = Phase(_first(form, "phase.to"))
    except ValueError:
        raise HubErrorPage(400, "Kies de fase waar de casus naartoe gaat.") from None
    viewer = viewer_for(request, user, purpose)
    case = await _run(lambda: web.ctx.phases.change_phase(viewer, case_id, to))
    return _after(web, user, case, "fase")


@router.post("/casussen/{case_id}/regie/afsluiten", response_class=HTMLResponse)
async def close_case(case_id: str, request: Request, user: SignedIn, web: Web) -> Response:
    form = await _form(request)
    purpose = _stated_purpose(form)
    outcome = _first(form, "closure.outcome")
    errors: list[FormError] = []
    body: ClosureIn | None = None
    if not outcome:
        errors.append(FormError(input_id("closure.outcome"), "Kies hoe de casus eindigt."))
    else:
        body, errors = _validate(ClosureIn, {"outcome": outcome}, "closure", {"outcome": "Afloop"})
    if body is None:
        return await _invalid(request, user, web, case_id, purpose, "closure", form, errors)
    viewer = viewer_for(request, user, purpose)
    closure = body
    case = await _run(lambda: web.ctx.phases.close(viewer, case_id, closure.outcome))
    return _after(web, user, case, "afgesloten")


__all__ = ["CRITERIA_NL", "parse_triage_form", "router"]
