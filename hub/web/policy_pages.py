"""The privacy officer's policy screens (issue 18): the disclosure matrix as a heat map, the
simulation, policy versions with their diff and four-eyes approval, and the history of policy
changes.

Every page is an HTTP front of the service the API's `/policies` routes call, with the
purpose those routes take (`policy_review`): the overview reads
``PolicyReviewService.list_versions`` (`GET /policies`), the matrix ``.matrix``
(`GET /policies/{version}/matrix`), a version ``.get_version`` and ``.diff``
(`GET /policies/active/diff/{version}`), the approval ``.approve``, the upload
``.load_upload``, the history ``.history`` and the simulation
``SimulationService.simulate``. So the policy's action catalogue decides who may read,
simulate, load and approve, the service refuses what the four-eyes rule refuses (ADR 0103),
and every view is the access-log entry the API call is. A page offers the approve button only
to an officer whose partner the service would count; the service decides anyway.

The diff takes 20-45 s: the version page answers at once and loads the diff in a second
request (htmx, `hx-trigger="load"`); the service keeps computed diffs per version pair
(``DiffCache``: content-addressed, policy data only) after authorising and logging each read.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from hub import labels
from hub.errors import HubError
from hub.policy_review.governance import ineligible_reason
from hub.policy_review.heatmap import (
    cell_detail,
    find_table,
    heat_table,
    row_words,
)
from hub.policy_review.history import history_csv
from hub.policy_review.schemas import (
    ApprovalIn,
    DiffOut,
    MatrixOut,
    PolicyVersionOut,
    SimulationIn,
)
from hub.policy_review.store import MAX_BUNDLE_BYTES, BundleRefused, BundleTooLarge
from hub.vocabulary import DisclosureClass, PartnerKind, Phase, Purpose, Role
from hub.web.core import (
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    WebUser,
    render,
    viewer_for,
)
from hub.web.forms import FormError, errors_by_field, input_id

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: the purpose of every policy view and act (the one the API's /policies routes take)
PURPOSE: Final = Purpose.POLICY_REVIEW
_VERSION = re.compile(r"^([0-9a-f]{8,64}|active)$")
_CASE = re.compile(r"^[A-Za-z0-9-]{1,36}$")
Version = Annotated[str, Path(min_length=1, max_length=64)]

#: the roles a simulated viewer may have, as the form offers them
SIM_ROLES: Final = (
    Role.PARTICIPANT,
    Role.PUBLISHER,
    Role.PROCESREGISSEUR,
    Role.CASUSREGISSEUR,
    Role.AUDITOR,
)
#: the purposes a simulated request may state
SIM_PURPOSES: Final = (*labels.CASE_PURPOSES, Purpose.AUDIT, Purpose.CASE_MANAGEMENT)


def words() -> dict[str, Any]:
    """The Dutch words every policy template uses (labels for codes, never the codes)."""
    return {
        "row_words": row_words(),
        "status_words": labels.POLICY_STATUS,
        "origin_words": labels.POLICY_ORIGIN,
        "direction_words": labels.CHANGE_DIRECTION,
        "sensitivity_words": labels.SENSITIVITY,
    }


def page(request: Request, template: str, user: WebUser, **context: Any) -> HTMLResponse:
    return render(request, template, user=user, purpose=PURPOSE, **words(), **context)


def version_ref(value: str | None) -> str:
    """A version reference as the API takes it (hash, prefix of 8+, `active`); else 400."""
    ref = (value or "active").strip().lower()
    if not _VERSION.match(ref):
        raise HubErrorPage(400, "Deze beleidsversie bestaat niet. Kies een versie uit de lijst.")
    return ref


# --- the overview ----------------------------------------------------------------------------


@router.get("/beleid", response_class=HTMLResponse)
def overview(request: Request, user: SignedIn, web: Web) -> Response:
    listing = web.ctx.policy_review.list_versions(viewer_for(request, user, PURPOSE))
    active = next((v for v in listing.versions if v.active), None)
    proposed = [v for v in listing.versions if v.status == "inactive"]
    return page(
        request,
        "policy_overview.html",
        user,
        active=active,
        proposed=proposed,
        may_load=user.has_role(Role.PRIVACY_OFFICER),
    )


# --- the matrix ------------------------------------------------------------------------------


def read_matrix(request: Request, user: WebUser, web: WebApp, versie: str | None) -> MatrixOut:
    return web.ctx.policy_review.matrix(viewer_for(request, user, PURPOSE), version_ref(versie))


@router.get("/beleid/matrix", response_class=HTMLResponse)
def matrix_tables(
    request: Request, user: SignedIn, web: Web, versie: Annotated[str | None, Query()] = None
) -> Response:
    matrix = read_matrix(request, user, web, versie)
    return page(request, "policy_matrix_choose.html", user, matrix=matrix, versie=versie)


@router.get("/beleid/matrix/{tafel}", response_class=HTMLResponse)
def matrix_table(
    request: Request,
    tafel: Annotated[str, Path(max_length=64)],
    user: SignedIn,
    web: Web,
    versie: Annotated[str | None, Query()] = None,
) -> Response:
    matrix = read_matrix(request, user, web, versie)
    table = find_table(matrix, tafel)
    if table is None:
        raise HubErrorPage(404, "Deze tafel staat niet in de matrix van deze beleidsversie.")
    return page(
        request,
        "policy_matrix.html",
        user,
        matrix=matrix,
        heat=heat_table(matrix, table),
        versie=versie,
    )


@dataclass(frozen=True)
class FieldView:
    """A fact type's fields at the level of one cell: released, left out, never shared."""

    type_id: str
    title: str
    level: str
    shown: list[str]
    hidden: list[str]
    never: list[str]


def field_views(web: WebApp, matrix: MatrixOut, domain: str, level: str) -> list[FieldView]:
    """Per fact type of `domain`, which fields a level releases by the schemas' disclosure
    classes (summary fields at summary, all but `never` at full), minus the policy's
    never-shared fields. What a viewer finally gets, caps included, is the simulation's."""
    out = []
    for fact_type in web.ctx.catalog.types():
        if fact_type.life_domain.value != domain:
            continue
        never = set(matrix.never_shared.get(fact_type.id, ()))
        classes = fact_type.disclosure_classes()
        released = (
            {n for n, c in classes.items() if c != DisclosureClass.NEVER}
            if level == "full"
            else {n for n, c in classes.items() if c == DisclosureClass.SUMMARY}
            if level == "summary"
            else set()
        ) - never
        out.append(
            FieldView(
                type_id=fact_type.id,
                title=fact_type.title,
                level=level,
                shown=sorted(web.field_label(fact_type.id, n) for n in released),
                hidden=sorted(
                    web.field_label(fact_type.id, n)
                    for n in classes
                    if n not in released and n not in never
                ),
                never=sorted(web.field_label(fact_type.id, n) for n in never if n in classes),
            )
        )
    return out


@router.get("/beleid/matrix/{tafel}/cel", response_class=HTMLResponse)
def matrix_cell(
    request: Request,
    tafel: Annotated[str, Path(max_length=64)],
    user: SignedIn,
    web: Web,
    rij: Annotated[str, Query(max_length=64)] = "",
    fase: Annotated[str, Query(max_length=64)] = "",
    doel: Annotated[str | None, Query(max_length=64)] = None,
    versie: Annotated[str | None, Query()] = None,
) -> Response:
    matrix = read_matrix(request, user, web, versie)
    detail = cell_detail(matrix, tafel, rij, fase, doel or None)
    if detail is None:
        raise HubErrorPage(404, "Deze cel staat niet in de matrix van deze beleidsversie.")
    domains = detail.cell.domains if detail.cell and detail.cell.known_profile else {}
    per_domain = [(d, domains.get(d, "none")) for d in matrix.life_domains]
    return page(
        request,
        "policy_matrix_cell.html",
        user,
        matrix=matrix,
        detail=detail,
        per_domain=per_domain,
        fields={d: field_views(web, matrix, d, level) for d, level in per_domain},
        rules=[(r, matrix.rules[r]) for r in detail.row.rules if r in matrix.rules],
        versie=versie,
    )


# --- the simulation --------------------------------------------------------------------------


@dataclass
class FormState:
    """A form's errors and what was typed (for the 400 re-render)."""

    errors: list[FormError] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    chosen: list[str] = field(default_factory=list)

    @property
    def by_field(self) -> dict[str, str]:
        return errors_by_field(self.errors)

    def fail(self, name: str | None, message: str) -> None:
        self.errors.append(FormError(input_id(name) if name else None, message))

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


def sim_options(web: WebApp) -> dict[str, Any]:
    return {
        "kind_options": [(k.value, labels.PARTNER_KIND[k]) for k in PartnerKind],
        "role_options": [(r.value, labels.ROLE[r]) for r in SIM_ROLES],
        "sim_purpose_options": [("", "het doel van de fase")]
        + [(p.value, labels.PURPOSE[p]) for p in SIM_PURPOSES],
        "type_options": [(t.id, t.title) for t in web.ctx.catalog.types()],
        "field_label": web.field_label,
    }


def _choice(state: FormState, name: str, allowed: dict[str, str], message: str) -> str | None:
    value = state.value(name)
    if value not in allowed:
        state.fail(name, message)
        return None
    return value


def parse_simulation(state: FormState, types: set[str]) -> SimulationIn | None:
    """The form as the API's body, or None with Dutch messages in `state`."""
    case_id = state.value("casus")
    kind = _choice(state, "soort", {k.value: "" for k in PartnerKind}, "Kies de soort organisatie.")
    role = _choice(state, "rol", {r.value: "" for r in SIM_ROLES}, "Kies een rol.")
    purpose = state.value("doel") or None
    if purpose is not None and purpose not in {p.value for p in SIM_PURPOSES}:
        state.fail("doel", "Kies een doel uit de lijst.")
    phase = state.value("fase") or None
    if case_id:
        if not _CASE.match(case_id):
            state.fail("casus", "Een casusnummer bestaat uit letters, cijfers en streepjes.")
        if state.chosen:
            state.fail("feittypen", "Bij een echte casus komen de feiten uit de casus.")
        if phase is not None and phase not in {p.value for p in Phase}:
            state.fail("fase", "Kies een fase uit de lijst.")
    else:
        _choice(state, "tafel", dict(labels.TABLE), "Kies een tafel, of vul een casus in.")
        if phase not in {p.value for p in Phase}:
            state.fail("fase", "Kies een fase.")
    if any(t not in types for t in state.chosen):
        state.fail("feittypen", "Kies soorten feiten uit de lijst.")
    if state.errors:
        return None
    body: dict[str, Any] = {
        "viewer": {"partner_kind": kind, "roles": [role]},
        "purpose": purpose,
        "phase": phase,
    }
    if case_id:
        body["case_id"] = case_id
    else:
        body.update(table=state.value("tafel"), fact_types=state.chosen)
    versie = state.value("versie")
    if versie:
        body["version"] = versie
    try:
        return SimulationIn.model_validate(body)
    except ValidationError:
        state.fail(None, "Deze combinatie kan niet worden gesimuleerd. Controleer de velden.")
        return None


def _sim_page(
    request: Request,
    user: WebUser,
    web: WebApp,
    state: FormState,
    result: Any = None,
    status: int | None = None,
) -> HTMLResponse:
    return render(
        request,
        "policy_simulation.html",
        status=status or (400 if state.errors else 200),
        user=user,
        purpose=PURPOSE,
        state=state,
        result=result,
        **words(),
        **sim_options(web),
    )


@router.get("/beleid/simulatie", response_class=HTMLResponse)
def simulation_form(request: Request, user: SignedIn, web: Web) -> Response:
    return _sim_page(request, user, web, FormState(values={"rol": "participant"}))


@router.post("/beleid/simulatie", response_class=HTMLResponse)
async def simulation_run(request: Request, user: SignedIn, web: Web) -> Response:
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    chosen = [v for v in form.getlist("feittypen") if isinstance(v, str)]
    state = FormState(values=values, chosen=chosen)
    body = parse_simulation(state, {t.id for t in web.ctx.catalog.types()})
    if body is None:
        return _sim_page(request, user, web, state)
    result = await _run_sync(web.ctx.simulation.simulate, viewer_for(request, user, PURPOSE), body)
    return _sim_page(request, user, web, state, result)


async def _run_sync(fn: Any, *args: Any) -> Any:
    """A service call (blocking: database, policy engine) off the event loop."""
    return await to_thread.run_sync(fn, *args)


# --- versions --------------------------------------------------------------------------------


def _upload_page(
    request: Request, user: WebUser, state: FormState, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "policy_upload.html",
        status=status,
        user=user,
        purpose=PURPOSE,
        state=state,
        max_kib=_max_kib(),
        **words(),
    )


@router.get("/beleid/versies/nieuw", response_class=HTMLResponse)
def upload_form(request: Request, user: SignedIn) -> Response:
    return _upload_page(request, user, FormState())


def _max_kib() -> int:
    return MAX_BUNDLE_BYTES // 1024


def _upload_error(exc: HubError) -> str:
    if isinstance(exc, BundleTooLarge):
        return f"De bundel is te groot: ten hoogste {_max_kib()} KiB (tar.gz)."
    if isinstance(exc, BundleRefused):
        return f"De bundel is geweigerd (technische melding: {exc.detail})"
    if exc.status == 409:
        return "Deze beleidsversie is al geladen. U vindt haar in het overzicht."
    raise exc


@router.post("/beleid/versies/nieuw", response_class=HTMLResponse)
async def upload(request: Request, user: SignedIn, web: Web) -> Response:
    form = await request.form()
    bundle = form.get("bundel")
    state = FormState()
    data = b""
    if not isinstance(bundle, UploadFile) or not bundle.filename:
        state.fail("bundel", "Kies een bestand: de beleidsmap als tar.gz.")
    else:
        data = await bundle.read(MAX_BUNDLE_BYTES + 1)  # the service refuses more, logged
        if not data:
            state.fail("bundel", "Het gekozen bestand is leeg.")
    if state.errors:
        return _upload_page(request, user, state, 400)
    viewer = viewer_for(request, user, PURPOSE)
    try:
        loaded: PolicyVersionOut = await _run_sync(web.ctx.policy_review.load_upload, viewer, data)
    except HubError as exc:
        if exc.status == 403:
            raise
        state.fail("bundel", _upload_error(exc))
        return _upload_page(request, user, state, exc.status)
    return RedirectResponse(f"/beleid/versies/{loaded.version}?geladen=1", status_code=303)


@dataclass(frozen=True)
class Approvers:
    """Who may still approve a version: what the page offers, as the service would count."""

    mine: str | None  # why this person's approval would not count (None: it would)
    still: list[str]  # partners whose approval would still count


def approvers(web: WebApp, user: WebUser, version: PolicyVersionOut) -> Approvers:
    registry = web.ctx.registry
    loader = version.loaded_by.partner if version.loaded_by else None
    counted = set(version.approvals_counted)
    mine: str | None = None
    if version.status != "inactive":
        mine = "Deze versie is niet (meer) voorgesteld."
    elif not user.has_role(Role.PRIVACY_OFFICER):
        mine = "Alleen een privacyfunctionaris keurt een beleidsversie goed."
    elif version.checks is None or not version.checks.passed or not version.tests_passed:
        mine = "Deze versie voldoet niet aan de eisen van het netwerk: goedkeuren kan niet."
    else:
        why = ineligible_reason(user.principal.partner, loader_partner=loader, registry=registry)
        if why == "loader's partner":
            mine = "Uw organisatie heeft deze versie geladen: een andere organisatie keurt goed."
        elif why is not None:
            mine = "Uw organisatie is geen sleutelpartner en telt niet mee voor goedkeuring."
        elif user.principal.partner in counted:
            mine = "Uw organisatie heeft deze versie al goedgekeurd; dat telt één keer."
    still = [
        web.partner_name(p)
        for p in sorted(registry.partners)
        if p not in counted
        and ineligible_reason(p, loader_partner=loader, registry=registry) is None
    ]
    checks = version.checks
    passed = checks is not None and checks.passed and bool(version.tests_passed)
    return Approvers(mine, still if version.status == "inactive" and passed else [])


@router.get("/beleid/versies/{versie}", response_class=HTMLResponse)
def version_page(request: Request, versie: Version, user: SignedIn, web: Web) -> Response:
    ref = version_ref(versie)
    version = web.ctx.policy_review.get_version(viewer_for(request, user, PURPOSE), ref)
    params = request.query_params
    return page(
        request,
        "policy_version.html",
        user,
        version=version,
        approvers=approvers(web, user, version),
        notice=_notice(params.get("geladen"), params.get("goedgekeurd")),
    )


def _notice(loaded: str | None, approved: str | None) -> str | None:
    if loaded:
        return "De versie is geladen. Ze is pas actief na goedkeuring door andere organisaties."
    if approved == "actief":
        return "Uw goedkeuring is vastgelegd en de versie is nu actief."
    if approved == "dubbel":
        return "Uw organisatie had deze versie al goedgekeurd; dat telt één keer."
    if approved:
        return "Uw goedkeuring is vastgelegd."
    return None


def changed_cells(diff: DiffOut) -> dict[str, list[tuple[str, list[dict[str, int]]]]]:
    """The diff as a matrix of changed cells: per table, per viewer row, per phase the number
    of changes by direction (more, less, other)."""
    counts: dict[tuple[str, str, str], Counter[str]] = {}
    for change in diff.changes:
        counts.setdefault((change.table, change.viewer, change.phase), Counter())[
            change.direction
        ] += 1
    phases = [p.value for p in Phase]
    out: dict[str, list[tuple[str, list[dict[str, int]]]]] = {}
    for table in sorted({t for t, _, _ in counts}):
        viewers = sorted({v for t, v, _ in counts if t == table})
        out[table] = [
            (v, [dict(counts.get((table, v, p), Counter())) for p in phases]) for v in viewers
        ]
    return out


@router.get("/beleid/versies/{versie}/verschil", response_class=HTMLResponse)
async def version_diff(request: Request, versie: Version, user: SignedIn, web: Web) -> Response:
    """The diff against the active version with the approve form (the htmx fragment of the
    version page, or a page of its own without htmx). Slow the first time (20-45 s)."""
    ref = version_ref(versie)
    viewer = viewer_for(request, user, PURPOSE)
    version = await _run_sync(web.ctx.policy_review.get_version, viewer, ref)
    if version.active:
        raise HubErrorPage(409, "Deze versie is al actief: er is geen verschil om goed te keuren.")
    diff: DiffOut = await _run_sync(web.ctx.policy_review.diff, viewer, "active", version.version)
    template = (
        "policy_diff_fragment.html" if request.headers.get("hx-request") else "policy_diff.html"
    )
    return page(
        request,
        template,
        user,
        version=version,
        diff=diff,
        cells=changed_cells(diff),
        phases=[p.value for p in Phase],
        approvers=approvers(web, user, version),
    )


@router.post("/beleid/versies/{versie}/goedkeuren", response_class=HTMLResponse)
async def approve(request: Request, versie: Version, user: SignedIn, web: Web) -> Response:
    ref = version_ref(versie)
    form = await request.form()
    digest = form.get("digest")
    try:
        body = ApprovalIn(diff_digest=digest if isinstance(digest, str) else "")
    except ValidationError:
        raise HubErrorPage(400, "De goedkeuring noemt geen geldig verschil.") from None
    viewer = viewer_for(request, user, PURPOSE)
    try:
        result = await _run_sync(web.ctx.policy_review.approve, viewer, ref, body)
    except HubError as exc:
        if exc.status == 409:
            raise HubErrorPage(409, _refusal_409(exc)) from None
        raise
    outcome = "actief" if result.activated else "ja" if result.approval_recorded else "dubbel"
    return RedirectResponse(
        f"/beleid/versies/{result.policy.version}?goedgekeurd={outcome}", status_code=303
    )


def _refusal_409(exc: HubError) -> str:
    if exc.slug == "stale-diff":
        return (
            "Het verschil dat u goedkeurde is niet meer het verschil met de actieve versie "
            "(of het klopt niet). Er is niets vastgelegd. Open de versie opnieuw, bekijk het "
            "verschil en keur dat goed."
        )
    return (
        "Deze versie kan nu niet worden goedgekeurd: ze is al actief of vervangen, of ze "
        "voldoet niet aan de eisen van het netwerk. Er is niets vastgelegd."
    )


# --- history ---------------------------------------------------------------------------------


@router.get("/beleid/geschiedenis", response_class=HTMLResponse)
def history(request: Request, user: SignedIn, web: Web) -> Response:
    out = web.ctx.policy_review.history(viewer_for(request, user, PURPOSE))
    return page(request, "policy_history.html", user, history=list(reversed(out.versions)))


@router.get("/beleid/geschiedenis.csv")
def history_export_csv(request: Request, user: SignedIn, web: Web) -> Response:
    out = web.ctx.policy_review.history(viewer_for(request, user, PURPOSE))
    return Response(
        history_csv(out),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="beleidsgeschiedenis.csv"'},
    )


@router.get("/beleid/geschiedenis.json")
def history_export_json(request: Request, user: SignedIn, web: Web) -> Response:
    out = web.ctx.policy_review.history(viewer_for(request, user, PURPOSE))
    return Response(
        json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="beleidsgeschiedenis.json"'},
    )
