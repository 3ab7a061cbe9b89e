"""The integral analysis and plan of approach (ADR 0007, ADR 0015): reading, editing with a
conflict screen, and monitoring, as HTTP fronts of the same `PlanService` methods the API's
plan routes call.

- `GET /casussen/{id}/plan` is `PlanService.read`, the API's `GET /cases/{id}/plan`: what
  the door releases to this viewer for the stated purpose, part by part; a withheld part
  shows the door's placeholder and is marked "niet gedeeld".
- `GET/POST /casussen/{id}/plan/bewerken` is a form over the whole plan; the POST is
  `PlanService.record`, the API's `PUT /cases/{id}/plan`, with the revision the form was
  loaded at. When someone changed the plan meanwhile the service stores nothing (409) and
  the page shows a conflict screen: the person's version (kept), the newest version as
  released to them, and a form that re-applies their edits on top of the newest version.
  The form carries what it was loaded with (hidden ``orig-`` fields) so the re-apply knows
  which fields the person changed: a field they did not touch takes the newest value (so an
  owner's status report is never overwritten by a stale copy).
- `POST /casussen/{id}/plan/interventies/{iid}/status` is `PlanService.change_status`, the
  API's monitoring route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Final, cast

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hub.errors import Conflict, NotFound, ValidationFailed
from hub.labels import CASE_PURPOSES, INTERVENTION_STATUS, LIFE_DOMAIN
from hub.plans.schemas import (
    ENDED_STATUSES,
    EXPLAINED_STATUSES,
    InterventionStatus,
    PlanIn,
    PlanOut,
    RiskLevel,
    StatusChangeIn,
)
from hub.vocabulary import LifeDomain, Purpose, Role, Sensitivity
from hub.web.core import (
    ZONE,
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    WebUser,
    nl_date,
    parse_purpose,
    phase_purpose,
    render,
    viewer_for,
)
from hub.web.forms import FormError, errors_by_field

router = APIRouter(route_class=WebRoute, include_in_schema=False)

InterventionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
LOCAL_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
FACT_ID: Final = re.compile(r"^[A-Za-z0-9-]{1,36}$")
OWNER_USER: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: the most goal and intervention rows one form post is read for
MAX_ROWS: Final = 100
#: blank rows the editor offers for a new goal and a new intervention
BLANK_ROWS: Final = 1

RISK_LEVEL: Final[Mapping[str, str]] = {
    RiskLevel.LOW: "laag",
    RiskLevel.MEDIUM: "middel",
    RiskLevel.HIGH: "hoog",
    RiskLevel.ACUTE: "acuut",
}
SENSITIVITY: Final[Mapping[str, str]] = {
    Sensitivity.ORDINARY: "gewoon persoonsgegeven",
    Sensitivity.SPECIAL: "bijzonder persoonsgegeven (AVG art. 9, bijvoorbeeld gezondheid)",
    Sensitivity.CRIMINAL: "strafrechtelijk gegeven (AVG art. 10)",
}

GOAL_FIELDS: Final = ("id", "text", "life_domain", "sensitivity")
INTERVENTION_FIELDS: Final = (
    "id",
    "text",
    "owner",
    "owner_user",
    "deadline",
    "status",
    "goal_id",
    "life_domain",
    "sensitivity",
)
ANALYSIS_FIELDS: Final = ("assessment", "facts", "sensitivity")
RISK_FIELDS: Final = ("level", "assessment", "life_domain", "sensitivity")

Row = dict[str, str]


# -- the editor's state: every field as the text of its input -------------------------------


@dataclass
class EditState:
    """The whole plan as the editor's inputs hold it (strings, as typed)."""

    analysis: dict[str, Row] = field(default_factory=dict)  # domain -> fields
    risk: Row = field(default_factory=lambda: dict.fromkeys(RISK_FIELDS, ""))
    goals: list[Row] = field(default_factory=list)
    interventions: list[Row] = field(default_factory=list)

    def flat(self, prefix: str = "") -> dict[str, str]:
        """Input name -> value (the form's fields, optionally as hidden ``orig-`` copies)."""
        out: dict[str, str] = {}
        for domain in LifeDomain:
            row = self.analysis.get(domain.value, {})
            for key in ANALYSIS_FIELDS:
                out[f"{prefix}analysis-{domain.value}-{key}"] = row.get(key, "")
        for key in RISK_FIELDS:
            out[f"{prefix}risk-{key}"] = self.risk.get(key, "")
        for n, row in enumerate(self.goals):
            for key in GOAL_FIELDS:
                out[f"{prefix}goals-{n}-{key}"] = row.get(key, "")
        for n, row in enumerate(self.interventions):
            for key in INTERVENTION_FIELDS:
                out[f"{prefix}interventions-{n}-{key}"] = row.get(key, "")
        out[f"{prefix}goals-count"] = str(len(self.goals))
        out[f"{prefix}interventions-count"] = str(len(self.interventions))
        return out


def state_of_plan(plan: PlanOut | None) -> tuple[EditState, dict[str, list[str]]]:
    """The editor's state of a released plan, and per domain the stale fact references left
    out (a corrected or withdrawn fact cannot be cited by a new version)."""
    state = EditState()
    stale: dict[str, list[str]] = {}
    if plan is None:
        return state, stale
    for a in plan.analysis:
        gone = set(a.stale_fact_ids)
        state.analysis[a.life_domain.value] = {
            "assessment": a.assessment,
            "facts": " ".join(f for f in a.fact_ids if f not in gone),
            "sensitivity": (a.sensitivity or Sensitivity.ORDINARY).value,
        }
        if gone:
            stale[a.life_domain.value] = sorted(gone)
    state.risk = {
        "level": plan.risk.level.value,
        "assessment": plan.risk.assessment,
        "life_domain": plan.risk.life_domain.value if plan.risk.life_domain else "",
        "sensitivity": (plan.risk.sensitivity or Sensitivity.ORDINARY).value,
    }
    state.goals = [
        {
            "id": g.id,
            "text": g.text,
            "life_domain": g.life_domain.value if g.life_domain else "",
            "sensitivity": (g.sensitivity or Sensitivity.ORDINARY).value,
        }
        for g in plan.goals
    ]
    state.interventions = [
        {
            "id": i.id,
            "text": i.text,
            "owner": i.owner,
            "owner_user": i.owner_user or "",
            "deadline": i.deadline.isoformat(),
            "status": i.status.value,
            "goal_id": i.goal_id or "",
            "life_domain": i.life_domain.value if i.life_domain else "",
            "sensitivity": (i.sensitivity or Sensitivity.ORDINARY).value,
        }
        for i in plan.interventions
    ]
    return state, stale


def state_of_form(form: Mapping[str, str], prefix: str = "") -> EditState:
    """The editor's state as posted (``prefix="orig-"``: as the form was loaded)."""

    def get(name: str) -> str:
        return form.get(prefix + name, "").replace("\r\n", "\n")

    state = EditState()
    for domain in LifeDomain:
        row = {k: get(f"analysis-{domain.value}-{k}") for k in ANALYSIS_FIELDS}
        if row["assessment"].strip() or row["facts"].strip():
            state.analysis[domain.value] = row
    state.risk = {k: get(f"risk-{k}") for k in RISK_FIELDS}
    state.goals = _rows(get, "goals", GOAL_FIELDS, ("id", "text"))
    state.interventions = _rows(get, "interventions", INTERVENTION_FIELDS, ("id", "text"))
    return state


def _rows(get: Any, section: str, keys: tuple[str, ...], content: tuple[str, ...]) -> list[Row]:
    try:
        count = min(max(int(get(f"{section}-count") or 0), 0), MAX_ROWS + BLANK_ROWS)
    except ValueError:
        count = 0
    rows: list[Row] = []
    for n in range(count):
        row = {k: get(f"{section}-{n}-{k}") for k in keys}
        if any(row[k].strip() for k in content):
            rows.append(row)
    return rows


# -- from the form to the API's body, with Dutch messages -----------------------------------


@dataclass
class Built:
    body: PlanIn | None
    errors: list[FormError]


def _fid(name: str) -> str:
    return "field-" + name


def build_body(state: EditState, revision: int) -> Built:
    """The `PlanIn` the API would be sent, or the Dutch problems at their inputs."""
    errors: list[FormError] = []

    def problem(name: str, message: str) -> None:
        errors.append(FormError(_fid(name), message))

    domains = [d.value for d in LifeDomain]
    analysis: list[dict[str, Any]] = []
    for domain in domains:
        row = state.analysis.get(domain)
        if row is None:
            continue
        name = f"analysis-{domain}"
        text = row["assessment"].strip()
        facts = [f for f in re.split(r"[\s,;]+", row["facts"]) if f]
        if not text:
            problem(
                f"{name}-assessment",
                f"Schrijf de analyse van {_domain_nl(domain)}, of "
                "maak ook het veld met feiten leeg.",
            )
        elif len(text) > 2000:
            problem(f"{name}-assessment", "De analyse mag hoogstens 2000 tekens zijn.")
        if any(not FACT_ID.match(f) for f in facts):
            problem(f"{name}-facts", "Een feit noemt u met zijn kenmerk, gescheiden door spaties.")
        analysis.append(
            {
                "life_domain": domain,
                "assessment": text,
                "fact_ids": facts,
                "sensitivity": row["sensitivity"] or None,
            }
        )
    risk = state.risk
    if risk["level"] not in {r.value for r in RiskLevel}:
        problem("risk-level", "Kies het risiconiveau.")
    if not risk["assessment"].strip():
        problem("risk-assessment", "Schrijf de risico-inschatting.")
    elif len(risk["assessment"].strip()) > 2000:
        problem("risk-assessment", "De risico-inschatting mag hoogstens 2000 tekens zijn.")
    if risk["life_domain"] not in domains:
        problem("risk-life_domain", "Kies het leefgebied van de risico-inschatting.")

    goals: list[dict[str, Any]] = []
    goal_ids = _fill_ids(state.goals, "g")
    for n, row in enumerate(state.goals):
        name = f"goals-{n}"
        if not LOCAL_ID.match(goal_ids[n]):
            problem(
                f"{name}-id",
                "Een kenmerk bestaat uit letters, cijfers, - of _ (hoogstens "
                "32 tekens), bijvoorbeeld g1.",
            )
        if not row["text"].strip():
            problem(f"{name}-text", "Schrijf het doel.")
        elif len(row["text"].strip()) > 1000:
            problem(f"{name}-text", "Een doel mag hoogstens 1000 tekens zijn.")
        if row["life_domain"] not in domains:
            problem(f"{name}-life_domain", "Kies het leefgebied van het doel.")
        goals.append(
            {
                "id": goal_ids[n],
                "text": row["text"].strip(),
                "life_domain": row["life_domain"],
                "sensitivity": row["sensitivity"] or None,
            }
        )
    known_goals = set(goal_ids)
    interventions: list[dict[str, Any]] = []
    intervention_ids = _fill_ids(state.interventions, "i")
    for n, row in enumerate(state.interventions):
        name = f"interventions-{n}"
        if not LOCAL_ID.match(intervention_ids[n]):
            problem(
                f"{name}-id",
                "Een kenmerk bestaat uit letters, cijfers, - of _ (hoogstens "
                "32 tekens), bijvoorbeeld i1.",
            )
        if not row["text"].strip():
            problem(f"{name}-text", "Beschrijf de interventie.")
        elif len(row["text"].strip()) > 1000:
            problem(f"{name}-text", "Een interventie mag hoogstens 1000 tekens zijn.")
        if not row["owner"]:
            problem(f"{name}-owner", "Kies de organisatie die de interventie uitvoert.")
        if row["owner_user"] and not OWNER_USER.match(row["owner_user"]):
            problem(f"{name}-owner_user", "Noem de professional met zijn gebruikersnaam.")
        deadline = _date(row["deadline"])
        if deadline is None:
            problem(f"{name}-deadline", "Vul een termijn in als datum, bijvoorbeeld 2027-01-31.")
        if row["status"] not in {s.value for s in InterventionStatus}:
            problem(f"{name}-status", "Kies de status.")
        if row["goal_id"] and row["goal_id"] not in known_goals:
            problem(f"{name}-goal_id", "Kies een doel van dit plan.")
        if row["life_domain"] not in domains:
            problem(f"{name}-life_domain", "Kies het leefgebied van de interventie.")
        interventions.append(
            {
                "id": intervention_ids[n],
                "text": row["text"].strip(),
                "owner": row["owner"],
                "owner_user": row["owner_user"] or None,
                "deadline": deadline.isoformat() if deadline else row["deadline"],
                "status": row["status"],
                "goal_id": row["goal_id"] or None,
                "life_domain": row["life_domain"],
                "sensitivity": row["sensitivity"] or None,
            }
        )
    for section, ids in (("goals", goal_ids), ("interventions", intervention_ids)):
        seen: set[str] = set()
        for n, identifier in enumerate(ids):
            if identifier in seen:
                problem(
                    f"{section}-{n}-id",
                    "Dit kenmerk komt al eerder voor; kies een ander.",
                )
            seen.add(identifier)
    if errors:
        return Built(None, errors)
    raw = {
        "analysis": analysis,
        "risk": {
            "level": risk["level"],
            "assessment": risk["assessment"].strip(),
            "life_domain": risk["life_domain"],
            "sensitivity": risk["sensitivity"] or None,
        },
        "goals": goals,
        "interventions": interventions,
        "based_on_revision": revision,
    }
    try:
        return Built(PlanIn.model_validate(raw), [])
    except ValidationError as exc:
        return Built(None, [_pydantic_error(state, e["loc"]) for e in exc.errors()][:50])


def _fill_ids(rows: list[Row], letter: str) -> list[str]:
    """Each row's id; a new row without one gets the next free label (g3, i5)."""
    taken = {r["id"].strip() for r in rows if r["id"].strip()}
    out: list[str] = []
    n = 1
    for row in rows:
        identifier = row["id"].strip()
        if not identifier:
            while f"{letter}{n}" in taken:
                n += 1
            identifier = f"{letter}{n}"
            taken.add(identifier)
        out.append(identifier)
    return out


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _typed_date(text: str) -> str:
    """A typed deadline in Dutch when it is a date, else as typed."""
    parsed = _date(text)
    return nl_date(parsed) if parsed else text


def _domain_nl(domain: str) -> str:
    return LIFE_DOMAIN.get(domain, domain).lower()


def _pydantic_error(state: EditState, loc: tuple[int | str, ...]) -> FormError:
    return FormError(_field_of(state, [str(p) for p in loc]), "Deze waarde klopt niet.")


def _field_of(state: EditState, path: list[str]) -> str | None:
    """The input of a place in the body (`analysis/2/fact_ids/0`), None if none fits."""
    if not path:
        return None
    section = path[0]
    try:
        index = int(path[1]) if len(path) > 1 else -1
    except ValueError:
        index = -1
    key = path[2] if len(path) > 2 else ""
    if section == "risk" and len(path) > 1:
        return _fid(f"risk-{path[1]}")
    if section == "analysis" and index >= 0:
        domains = [d.value for d in LifeDomain if d.value in state.analysis]
        if index < len(domains):
            name = "facts" if key == "fact_ids" else key or "assessment"
            return _fid(f"analysis-{domains[index]}-{name}")
    if section in {"goals", "interventions"} and index >= 0:
        rows = state.goals if section == "goals" else state.interventions
        if index < len(rows):
            return _fid(f"{section}-{index}-{key or 'text'}")
    return None


#: the service's reasons (an `invalid-plan` pointer's problem), in Dutch
SERVICE_PROBLEM: Final[Mapping[str, str]] = {
    "fact_ids": "Een van deze feiten is geen actueel feit van deze casus.",
    "owner": "Deze organisatie neemt niet deel aan de casus en is niet die van de casusregisseur.",
    "owner_user": "Deze professional is niet voor de casus uitgenodigd.",
    "goal_id": "Kies een doel van dit plan.",
    "id": "Dit kenmerk komt al eerder voor; kies een ander.",
    "life_domain": "Elk leefgebied heeft hoogstens een analyse.",
}


def service_errors(state: EditState, exc: ValidationFailed) -> list[FormError]:
    """The service's 400 (pointers, never values) as Dutch messages at the inputs."""
    errors: list[FormError] = []
    for item in exc.extra.get("errors", []) or []:
        pointer = str(item.get("pointer", "")) if isinstance(item, Mapping) else ""
        path = [p for p in pointer.split("/") if p]
        key = path[2] if len(path) > 2 else ""
        errors.append(
            FormError(
                _field_of(state, path),
                SERVICE_PROBLEM.get(key, "Het plan past zo niet bij deze casus."),
            )
        )
    return errors or [
        FormError(None, "Het plan past zo niet bij deze casus; er is niets opgeslagen.")
    ]


# -- re-applying one's edits on the newest version ------------------------------------------


@dataclass
class Merged:
    state: EditState
    #: where the person and the newest version both changed the same thing (Dutch)
    clashes: list[str]


def _merge_row(base: Row | None, mine: Row | None, newest: Row | None) -> Row | None:
    """Three-way per field: what the person changed, on top of the newest version."""
    if mine is None:  # the person removed it (or never had it)
        if base is None:
            return newest
        return None if newest is None or newest == base else newest
    if base is None:  # the person added it
        return mine
    if newest is None:  # removed in the newest version
        return None if mine == base else mine
    return {
        k: (mine.get(k, "") if mine.get(k, "") != base.get(k, "") else v)
        for k, v in {**newest, **{k: "" for k in mine if k not in newest}}.items()
    }


def _clash(base: Row | None, mine: Row | None, newest: Row | None) -> bool:
    return mine != base and newest != base and mine != newest


def merge(base: EditState, mine: EditState, newest: EditState) -> Merged:
    clashes: list[str] = []
    out = EditState()
    for domain in LifeDomain:
        d = domain.value
        b, m, n = base.analysis.get(d), mine.analysis.get(d), newest.analysis.get(d)
        row = _merge_row(b, m, n)
        if row is not None:
            out.analysis[d] = row
        if _clash(b, m, n):
            clashes.append(f"de analyse van {_domain_nl(d)}")
    out.risk = _merge_row(base.risk, mine.risk, newest.risk) or newest.risk
    if _clash(base.risk, mine.risk, newest.risk):
        clashes.append("de risico-inschatting")
    for section, word in (("goals", "doel"), ("interventions", "interventie")):
        b_rows = {r["id"]: r for r in getattr(base, section)}
        m_rows = {r["id"]: r for r in getattr(mine, section) if r["id"]}
        n_rows = {r["id"]: r for r in getattr(newest, section)}
        new_mine = [r for r in getattr(mine, section) if not r["id"]]
        merged: list[Row] = []
        for identifier in [*n_rows, *(i for i in m_rows if i not in n_rows)]:
            b, m, n = b_rows.get(identifier), m_rows.get(identifier), n_rows.get(identifier)
            if b is None and m is not None and n is not None:
                # both added one with this label: keep both, the person's under a new label
                merged.append(n)
                new_mine.append({**m, "id": ""})
                continue
            row = _merge_row(b, m, n)
            if row is not None:
                merged.append(row)
            if _clash(b, m, n):
                clashes.append(f"{word} {identifier}")
        setattr(out, section, merged + new_mine)
    return Merged(out, clashes)


# -- pages ----------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(ZONE).date()


def _read_or_none(
    web: WebApp, request: Request, user: WebUser, purpose: Purpose, case_id: str
) -> PlanOut | None:
    """The plan as released, or None when the case has no plan yet (a viewer who may not
    read the plan gets the service's own refusal, as from the API)."""
    viewer = viewer_for(request, user, purpose)
    try:
        return web.ctx.plans.read(viewer, case_id)
    except NotFound:
        listing = web.ctx.plans.versions(viewer, case_id)
        if listing.versions:
            raise
        return None


@dataclass(frozen=True)
class DomainParts:
    """What the plan holds for one life domain (None: parts recorded without one)."""

    life_domain: str | None
    analysis: Any
    goals: list[Any]
    interventions: list[Any]


def by_domain(plan: PlanOut) -> list[DomainParts]:
    order: list[str | None] = [d.value for d in LifeDomain] + [None]
    sections: dict[str | None, DomainParts] = {}

    def section(domain: LifeDomain | None) -> DomainParts:
        key = domain.value if domain is not None else None
        return sections.setdefault(key, DomainParts(key, None, [], []))

    for a in plan.analysis:
        sections[a.life_domain.value] = DomainParts(
            a.life_domain.value,
            a,
            section(a.life_domain).goals,
            section(a.life_domain).interventions,
        )
    for g in plan.goals:
        section(g.life_domain).goals.append(g)
    for i in plan.interventions:
        section(i.life_domain).interventions.append(i)
    return [sections[k] for k in order if k in sections]


def _plan_context(plan: PlanOut | None) -> dict[str, Any]:
    return {
        "plan": plan,
        "plan_domains": by_domain(plan) if plan is not None else [],
        "goal_text": {g.id: g for g in plan.goals} if plan is not None else {},
        "today": _today(),
        "ended": {s.value for s in ENDED_STATUSES},
        "explained": {s.value for s in EXPLAINED_STATUSES},
        "risk_level": RISK_LEVEL,
    }


def _can_edit(user: WebUser) -> bool:
    return user.roles_in({Role.CASUSREGISSEUR, Role.PROCESREGISSEUR})


def _show_plan(
    request: Request,
    user: WebUser,
    web: WebApp,
    case_id: str,
    purpose: Purpose,
    *,
    status: int = 200,
    monitor_errors: Mapping[str, Any] | None = None,
    notice: str | None = None,
) -> Response:
    plan = _read_or_none(web, request, user, purpose, case_id)
    return render(
        request,
        "plan_view.html",
        status=status,
        user=user,
        purpose=purpose,
        case_id=case_id,
        can_edit=_can_edit(user),
        monitor_errors=monitor_errors or {},
        status_options=[(s.value, INTERVENTION_STATUS[s.value]) for s in InterventionStatus],
        notice=notice,
        **_plan_context(plan),
    )


@router.get("/casussen/{case_id}/plan", response_class=HTMLResponse)
def plan_page(
    case_id: str,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
    opgeslagen: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    gemeld: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] = None,
) -> Response:
    purpose = parse_purpose(doel) or phase_purpose(request, user, case_id)
    if purpose is None:
        return render(
            request,
            "plan_choose_purpose.html",
            user=user,
            case_id=case_id,
            purposes=CASE_PURPOSES,
            action=f"/casussen/{case_id}/plan",
        )
    notice = None
    if opgeslagen is not None:
        notice = f"Versie {opgeslagen} van het plan is opgeslagen."
    elif gemeld is not None:
        notice = f"De nieuwe status van interventie {gemeld} is vastgelegd."
    return _show_plan(request, user, web, case_id, purpose, notice=notice)


def _owner_options(
    web: WebApp, request: Request, user: WebUser, purpose: Purpose, case_id: str, state: EditState
) -> list[tuple[str, str]]:
    """The partners an intervention may be given to: the case's participants and the
    casusregisseur's partner (the case read, as the API client would read it), plus any
    owner already in the plan."""
    case = web.ctx.intake.get(viewer_for(request, user, purpose), case_id)
    owners: list[str] = [p.partner for p in case.participants]
    if case.casusregisseur is not None:
        owners.append(case.casusregisseur.partner)
    owners += [r["owner"] for r in state.interventions if r["owner"]]
    name = cast(Callable[[str], object], web.templates.globals["partner_name"])
    return [("", "Kies een organisatie")] + [(o, str(name(o))) for o in dict.fromkeys(owners)]


def _editor(
    request: Request,
    user: WebUser,
    web: WebApp,
    case_id: str,
    purpose: Purpose,
    *,
    state: EditState,
    orig: EditState,
    revision: int,
    version: int,
    template: str = "plan_edit.html",
    status: int = 200,
    errors: list[FormError] | None = None,
    stale: Mapping[str, list[str]] | None = None,
    **extra: Any,
) -> Response:
    shown = EditState(
        analysis=state.analysis,
        risk=state.risk,
        goals=[*state.goals, *({k: "" for k in GOAL_FIELDS} for _ in range(BLANK_ROWS))],
        interventions=[
            *state.interventions,
            *(
                {**{k: "" for k in INTERVENTION_FIELDS}, "status": "planned"}
                for _ in range(BLANK_ROWS)
            ),
        ],
    )
    return render(
        request,
        template,
        status=status,
        user=user,
        purpose=purpose,
        case_id=case_id,
        values=shown.flat(),
        orig=orig.flat("orig-"),
        goal_rows=len(shown.goals),
        intervention_rows=len(shown.interventions),
        goal_ids=[(r["id"], f"{r['id']}: {r['text'][:60]}") for r in state.goals if r["id"]],
        owner_options=_owner_options(web, request, user, purpose, case_id, state),
        domain_options=[("", "Kies een leefgebied")]
        + [(d.value, LIFE_DOMAIN[d.value]) for d in LifeDomain],
        sensitivity_options=list(SENSITIVITY.items()),
        risk_options=[("", "Kies een niveau"), *list(RISK_LEVEL.items())],
        status_options=[(s.value, INTERVENTION_STATUS[s.value]) for s in InterventionStatus],
        domains=[(d.value, LIFE_DOMAIN[d.value]) for d in LifeDomain],
        revision=revision,
        version=version,
        errors=errors or [],
        field_errors=errors_by_field(errors or []),
        stale=stale or {},
        **extra,
    )


@router.get("/casussen/{case_id}/plan/bewerken", response_class=HTMLResponse)
def edit_page(
    case_id: str,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    purpose = parse_purpose(doel) or phase_purpose(request, user, case_id)
    if purpose is None:
        return render(
            request,
            "plan_choose_purpose.html",
            user=user,
            case_id=case_id,
            purposes=CASE_PURPOSES,
            action=f"/casussen/{case_id}/plan/bewerken",
        )
    plan = _read_or_none(web, request, user, purpose, case_id)
    withheld = plan is not None and _any_withheld(plan)
    if withheld or not _can_edit(user):
        # the form would write placeholders back as text: only who reads the whole plan
        # (the casusregisseur, by the policy) edits it; the service decides on saving
        return render(request, "plan_no_edit.html", user=user, purpose=purpose, case_id=case_id)
    state, stale = state_of_plan(plan)
    return _editor(
        request,
        user,
        web,
        case_id,
        purpose,
        state=state,
        orig=state,
        stale=stale,
        revision=plan.revision if plan else 0,
        version=plan.version if plan else 0,
    )


def _any_withheld(plan: PlanOut) -> bool:
    parts: list[Any] = [*plan.analysis, plan.risk, *plan.goals, *plan.interventions]
    return any(not p.released for p in parts)


@router.post("/casussen/{case_id}/plan/bewerken", response_class=HTMLResponse)
async def save_plan(
    case_id: str,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await to_thread.run_sync(lambda: _save(request, user, web, case_id, doel, form))


def _save(
    request: Request,
    user: WebUser,
    web: WebApp,
    case_id: str,
    doel: str | None,
    form: Mapping[str, str],
) -> Response:
    purpose = parse_purpose(doel or form.get("doel"))
    if purpose is None:
        raise HubErrorPage(400, "Kies een doel uit de lijst.")
    try:
        revision = int(form.get("based_on_revision", ""))
        version = int(form.get("base_version", ""))
    except ValueError:
        raise HubErrorPage(400) from None
    mine = state_of_form(form)
    orig = state_of_form(form, "orig-")
    built = build_body(mine, revision)
    if built.body is None:
        return _editor(
            request,
            user,
            web,
            case_id,
            purpose,
            state=mine,
            orig=orig,
            revision=revision,
            version=version,
            status=400,
            errors=built.errors,
        )
    viewer = viewer_for(request, user, purpose)
    try:
        recorded, _first = web.ctx.plans.record(viewer, case_id, built.body)
    except Conflict:
        return _conflict(
            request,
            user,
            web,
            case_id,
            purpose,
            mine=mine,
            orig=orig,
            version=version,
            revision=revision,
        )
    except ValidationFailed as exc:
        errors = service_errors(mine, exc)
        return _editor(
            request,
            user,
            web,
            case_id,
            purpose,
            state=mine,
            orig=orig,
            revision=revision,
            version=version,
            status=400,
            errors=errors,
        )
    return RedirectResponse(
        f"/casussen/{case_id}/plan?doel={purpose.value}&opgeslagen={recorded.version}",
        status_code=303,
    )


def _conflict(
    request: Request,
    user: WebUser,
    web: WebApp,
    case_id: str,
    purpose: Purpose,
    *,
    mine: EditState,
    orig: EditState,
    version: int,
    revision: int,
) -> Response:
    """Someone changed the plan since the form was loaded: nothing was stored. Show both
    versions and offer the person's edits again, on top of the newest version."""
    newest = web.ctx.plans.read(viewer_for(request, user, purpose), case_id)
    newest_state, stale = state_of_plan(newest)
    merged = merge(orig, mine, newest_state)
    changed_by = None
    if newest.version == version:
        notes = [n for i in newest.interventions for n in i.monitoring]
        if notes:
            last = max(notes, key=lambda n: n.recorded_at)
            changed_by = ("note", last.recorded_by, last.recorded_at)
    else:
        changed_by = ("version", newest.recorded_by, newest.recorded_at)
    return _editor(
        request,
        user,
        web,
        case_id,
        purpose,
        template="plan_conflict.html",
        status=409,
        state=merged.state,
        orig=newest_state,
        stale=stale,
        revision=newest.revision,
        version=newest.version,
        clashes=merged.clashes,
        mine=mine,
        mine_version=version,
        mine_revision=revision,
        changed_by=changed_by,
        typed_date=_typed_date,
        **_plan_context(newest),
    )


@router.post(
    "/casussen/{case_id}/plan/interventies/{intervention_id}/status",
    response_class=HTMLResponse,
)
async def change_status(
    case_id: str,
    intervention_id: InterventionId,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await to_thread.run_sync(
        lambda: _change_status(request, user, web, case_id, intervention_id, doel, form)
    )


def _change_status(
    request: Request,
    user: WebUser,
    web: WebApp,
    case_id: str,
    intervention_id: str,
    doel: str | None,
    form: Mapping[str, str],
) -> Response:
    purpose = parse_purpose(doel or form.get("doel"))
    if purpose is None:
        raise HubErrorPage(400, "Kies een doel uit de lijst.")
    status = form.get(f"status-{intervention_id}", "")
    note = form.get(f"note-{intervention_id}", "").strip()
    error: str | None = None
    body: StatusChangeIn | None = None
    if status not in {s.value for s in InterventionStatus}:
        error = "Kies de nieuwe status."
    elif status in {s.value for s in EXPLAINED_STATUSES} and not note:
        error = (
            "Schrijf in de notitie waarom de interventie is gestopt of aan wie zij is "
            "overgedragen; zonder notitie is er niets vastgelegd."
        )
    elif len(note) > 2000:
        error = "De notitie mag hoogstens 2000 tekens zijn."
    else:
        try:
            body = StatusChangeIn(status=InterventionStatus(status), note=note or None)
        except ValidationError:
            error = "Deze status kan zo niet worden vastgelegd."
    if body is None:
        return _show_plan(
            request,
            user,
            web,
            case_id,
            purpose,
            status=400,
            monitor_errors={
                "id": intervention_id,
                "message": error,
                "status": status,
                "note": note,
            },
        )
    web.ctx.plans.change_status(viewer_for(request, user, purpose), case_id, intervention_id, body)
    return RedirectResponse(
        f"/casussen/{case_id}/plan?doel={purpose.value}&gemeld={intervention_id}"
        f"#interventie-{intervention_id}",
        status_code=303,
    )
