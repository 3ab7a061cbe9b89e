"""Case conferences (casusoverleg) in the web application (ADR 0013, ADR 0015): the list of
meetings, the meeting page with the minutes per life domain, the forms of the chair and the
regisseurs, and the iCalendar download.

Every view is an HTTP front of the same services the API's meeting routes call, with the
purpose those routes expect: `case_conference` (ADR 0013: every meeting action takes it,
whatever the case's phase). The list reads ``MeetingService.upcoming`` (the API's
``GET /meetings``), the page ``MeetingService.read`` and the download
``MeetingService.calendar``; the minutes come through the minutes door
(``MinutesDisclosure.read``, the API's minutes read), for `case_conference` or, as the person
chooses with ``?doel=``, `plan` or `execution` (the other purposes ``read_minutes`` takes); the
page states that purpose. The names a case is shown by are those the caseload shows
(``CaseloadService.caseload``, purpose `case_management`, as the caseload page). A withheld
minutes part arrives as the door's placeholder with the policy's reason, and is shown so;
nothing else of it reaches the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hub import labels
from hub.cases.schemas import CaseloadItem, CaseloadQuery
from hub.errors import HubError, ValidationFailed
from hub.meetings.schemas import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    AttendanceIn,
    DecisionCode,
    InviteeIn,
    ItemIn,
    ItemOut,
    MeetingIn,
    MeetingOut,
    MinutesIn,
    MinutesOut,
    MinutesPartOut,
)
from hub.vocabulary import LifeDomain, Purpose, Role, Sensitivity, TableId
from hub.web.core import (
    ZONE,
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    WebUser,
    case_title,
    render,
    viewer_for,
)
from hub.web.forms import FormError, errors_by_field, input_id

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: the purpose of every meeting view and act (the one the API's meeting routes expect)
PURPOSE: Final = Purpose.CASE_CONFERENCE
#: how far back the list shows past meetings (days)
PAST_DAYS: Final = 60
Id = Annotated[str, Path(min_length=1, max_length=36)]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

DECISION: Final[dict[str, str]] = {
    DecisionCode.DRAW_UP_PLAN: "een plan van aanpak opstellen",
    DecisionCode.GATHER_INFORMATION: "eerst meer informatie verzamelen",
    DecisionCode.ASSIGN_CASUSREGISSEUR: "casusregie beleggen",
    DecisionCode.REFER_TO_PARTNER: "overdragen aan een partner",
    DecisionCode.ESCALATE: "opschalen",
    DecisionCode.DISCUSS_AGAIN: "opnieuw bespreken",
    DecisionCode.CLOSE_CASE: "de casus afsluiten",
}
ATTENDANCE: Final[dict[str, str]] = {
    "present": "aanwezig",
    "absent": "afwezig",
    "excused": "afgemeld",
}
SENSITIVITY: Final[dict[str, str]] = {
    Sensitivity.ORDINARY: "gewoon",
    Sensitivity.SPECIAL: "bijzonder persoonsgegeven",
    Sensitivity.CRIMINAL: "strafrechtelijk gegeven",
}
CHAIR_ROLE: Final[dict[str, str]] = {
    "procesregisseur": "procesregisseur",
    "casusregisseur": "casusregisseur",
}
REGISSEURS: Final = {Role.PROCESREGISSEUR, Role.CASUSREGISSEUR}
#: the purposes the minutes may be read for (ADR 0013: `read_minutes` also in plan and
#: execution); the meeting itself is always read for `case_conference`
MINUTES_PURPOSES: Final = (Purpose.CASE_CONFERENCE, Purpose.PLAN, Purpose.EXECUTION)
#: the most invitees one attendance form lists (the service holds at most 50 per case)
MAX_INVITEES: Final = 50


# --- shared ----------------------------------------------------------------------------------


@dataclass
class FormState:
    """What one form post left behind: its errors and what was typed (for a 400 re-render).
    Field names are unique on a page (an item's fields start with its id), so one state
    serves every form of the page."""

    errors: list[FormError] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    @property
    def by_field(self) -> dict[str, str]:
        return errors_by_field(self.errors)

    def fail(self, name: str | None, message: str) -> None:
        self.errors.append(FormError(input_id(name) if name else None, message))

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


def _case_names(request: Request, user: WebUser, web: WebApp) -> dict[str, CaseloadItem]:
    """The viewer's cases as the caseload shows them (names as far as released there)."""
    viewer = viewer_for(request, user, Purpose.CASE_MANAGEMENT)
    load = web.ctx.caseload.caseload(viewer, CaseloadQuery(), today=_today())
    return {case.id: case for case in load.cases}


def _today() -> date:
    return datetime.now(ZONE).date()


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _is_name(value: str) -> bool:
    return bool(_NAME.match(value)) and len(value) <= 64


# --- the list --------------------------------------------------------------------------------


def _list_page(
    request: Request, user: WebUser, web: WebApp, state: FormState | None = None
) -> HTMLResponse:
    viewer = viewer_for(request, user, PURPOSE)
    today = datetime.combine(_today(), time.min, ZONE)
    meetings = web.ctx.meetings.upcoming(viewer, today - timedelta(days=PAST_DAYS))
    upcoming = [m for m in meetings if m.ends_at >= today]
    past = sorted((m for m in meetings if m.ends_at < today), key=lambda m: m.starts_at)
    past.reverse()
    state = state or FormState(
        values={
            "voorzitter_organisatie": user.principal.partner,
            "voorzitter_gebruiker": user.principal.user,
            "voorzitter_rol": "procesregisseur",
        }
    )
    return render(
        request,
        "meeting_list.html",
        status=400 if state.errors else 200,
        user=user,
        purpose=PURPOSE,
        upcoming=upcoming,
        past=past,
        cases=_case_names(request, user, web),
        may_schedule=user.has_role(Role.PROCESREGISSEUR),
        state=state,
        chair_roles=list(CHAIR_ROLE.items()),
        decision_words=DECISION,
    )


@router.get("/overleggen", response_class=HTMLResponse)
def meeting_list(request: Request, user: SignedIn, web: Web) -> Response:
    return _list_page(request, user, web)


def parse_day(text: str) -> date | None:
    """A date as a browser's date field sends it (2027-01-12) or as typed (12-01-2027)."""
    for candidate in (text, "-".join(reversed(text.replace("/", "-").split("-")))):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def parse_schedule(values: dict[str, str], state: FormState) -> MeetingIn | None:
    """The schedule form as the API's body, or None with Dutch messages in `state`."""
    table = values.get("tafel", "")
    location = values.get("plaats", "")
    video = values.get("videolink", "")
    chair_role = values.get("voorzitter_rol", "")
    if table not in {t.value for t in TableId}:
        state.fail("tafel", "Kies een tafel.")
    day = parse_day(values.get("datum", ""))
    if day is None:
        state.fail("datum", "Vul een geldige datum in, bijvoorbeeld 12-01-2027.")
    elif not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        state.fail("datum", f"Kies een datum tussen het jaar {EARLIEST_YEAR} en {LATEST_YEAR}.")
        day = None
    for name in ("begintijd", "eindtijd"):
        if not _TIME.match(values.get(name, "")):
            state.fail(name, "Vul een tijd in als uu:mm, bijvoorbeeld 09:30.")
    if bool(location) == bool(video):
        state.fail("plaats", "Vul een plaats of een videolink in (één van beide).")
    if len(location) > 200:
        state.fail("plaats", "De plaats is te lang (hoogstens 200 tekens).")
    if video and (not video.startswith("https://") or " " in video or len(video) > 500):
        state.fail("videolink", "Een videolink begint met https:// en bevat geen spaties.")
    for name in ("voorzitter_organisatie", "voorzitter_gebruiker"):
        if not _is_name(values.get(name, "")):
            state.fail(name, "Vul een code in van letters, cijfers, punten of streepjes.")
    if chair_role not in CHAIR_ROLE:
        state.fail("voorzitter_rol", "Kies de rol van de voorzitter.")
    if state.errors or day is None:
        return None
    starts = datetime.combine(day, time.fromisoformat(values["begintijd"]), ZONE)
    ends = datetime.combine(day, time.fromisoformat(values["eindtijd"]), ZONE)
    if ends <= starts:
        state.fail("eindtijd", "De eindtijd moet na de begintijd liggen.")
        return None
    try:
        return MeetingIn.model_validate(
            {
                "table": table,
                "starts_at": starts,
                "ends_at": ends,
                "location": location or None,
                "video_link": video or None,
                "chair": {
                    "partner": values["voorzitter_organisatie"],
                    "user": values["voorzitter_gebruiker"],
                    "role": chair_role,
                },
            }
        )
    except ValidationError:
        state.fail(None, "Het overleg kon niet worden gepland. Controleer de velden.")
        return None


@router.post("/overleggen", response_class=HTMLResponse)
async def schedule_meeting(request: Request, user: SignedIn, web: Web) -> Response:
    values = await _form_values(request)
    state = FormState(values=values)
    body = parse_schedule(values, state)
    if body is None:
        return await to_thread.run_sync(_list_page, request, user, web, state)
    viewer = viewer_for(request, user, PURPOSE)
    try:
        meeting = await to_thread.run_sync(web.ctx.meetings.schedule, viewer, body)
    except ValidationFailed:
        state.fail(
            "voorzitter_organisatie",
            "Deze organisatie hoort niet bij het netwerk of kan geen voorzitter met die rol zijn.",
        )
        return await to_thread.run_sync(_list_page, request, user, web, state)
    return RedirectResponse(f"/overleggen/{meeting.id}", status_code=303)


# --- the meeting page ------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemView:
    """One case on the meeting as the page shows it."""

    item: ItemOut
    title: str
    #: the minutes as the door released them to this viewer (None: the read was refused)
    minutes: MinutesOut | None
    refused: int | None

    @property
    def parts(self) -> list[MinutesPartOut]:
        """The minutes parts, in the order of the life domains."""
        order = {d: i for i, d in enumerate(LifeDomain)}
        found = [p for p in self.minutes.parts if p.kind == "minutes"] if self.minutes else []
        return sorted(
            found,
            key=lambda p: order.get(p.life_domain, len(order)) if p.life_domain else 99,
        )

    @property
    def decisions(self) -> list[MinutesPartOut]:
        return [p for p in self.minutes.parts if p.kind == "decision"] if self.minutes else []


def _item_title(item: ItemOut, cases: dict[str, CaseloadItem]) -> str:
    known = cases.get(item.case_id)
    return case_title(known) if known is not None else f"Casus {item.case_reference}"


def _meeting_page(
    request: Request,
    user: WebUser,
    web: WebApp,
    meeting_id: str,
    state: FormState | None = None,
    minutes_purpose: Purpose = PURPOSE,
) -> HTMLResponse:
    viewer = viewer_for(request, user, PURPOSE)
    meeting: MeetingOut = web.ctx.meetings.read(viewer, meeting_id)
    cases = _case_names(request, user, web)
    reader = viewer_for(request, user, minutes_purpose)
    items: list[ItemView] = []
    for item in meeting.items:
        try:
            minutes: MinutesOut | None = web.ctx.minutes.read(reader, meeting.id, item.id)
            refused: int | None = None
        except HubError as exc:
            if exc.status >= 500:
                raise
            minutes, refused = None, exc.status
        items.append(ItemView(item, _item_title(item, cases), minutes, refused))
    on_meeting = {i.case_id for i in meeting.items}
    addable = [
        (case.id, case_title(case) + f" ({case.id[:8]})")
        for case in cases.values()
        if case.table == meeting.table
        and "procesregisseur" in case.my_roles
        and case.id not in on_meeting
    ]
    return render(
        request,
        "meeting_page.html",
        status=400 if state is not None and state.errors else 200,
        user=user,
        purpose=minutes_purpose,
        minutes_purposes=[(p.value, labels.PURPOSE[p]) for p in MINUTES_PURPOSES],
        meeting=meeting,
        items=items,
        state=state or FormState(),
        may_plan=user.has_role(Role.PROCESREGISSEUR),
        may_record=user.roles_in(REGISSEURS),
        addable=addable,
        domain_options=[(d.value, labels.LIFE_DOMAIN[d]) for d in LifeDomain],
        sensitivity_options=list(SENSITIVITY.items()),
        decision_options=[("", "geen besluit"), *DECISION.items()],
        attendance_options=[("", "nog niet vastgelegd"), *ATTENDANCE.items()],
        decision_words=DECISION,
        attendance_words=ATTENDANCE,
        sensitivity_words=SENSITIVITY,
        chair_roles=CHAIR_ROLE,
    )


@router.get("/overleggen/{meeting_id}", response_class=HTMLResponse)
def meeting_page(
    meeting_id: Id,
    request: Request,
    user: SignedIn,
    web: Web,
    doel: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    purpose = PURPOSE if doel is None else _minutes_purpose(doel)
    return _meeting_page(request, user, web, meeting_id, minutes_purpose=purpose)


def _minutes_purpose(doel: str) -> Purpose:
    for purpose in MINUTES_PURPOSES:
        if purpose.value == doel:
            return purpose
    raise HubErrorPage(400, "Kies een doel uit de lijst.")


@router.get("/overleggen/{meeting_id}/agenda.ics")
def meeting_calendar(meeting_id: Id, request: Request, user: SignedIn, web: Web) -> Response:
    """The API's calendar file for this viewer, byte for byte (case references only)."""
    data = web.ctx.meetings.calendar(viewer_for(request, user, PURPOSE), meeting_id)
    return Response(
        content=data,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="casusoverleg.ics"'},
    )


async def _act_or_rerender(
    request: Request,
    user: WebUser,
    web: WebApp,
    meeting_id: str,
    state: FormState,
    act: Any,
    refused_field: str | None,
    refused_message: str,
) -> Response:
    """Run the service act; Post/Redirect/Get on success, the page with 400 on bad input
    (the form's own errors, or the service's 400 in Dutch)."""
    if not state.errors:
        try:
            await to_thread.run_sync(act)
        except ValidationFailed:
            state.fail(refused_field, refused_message)
        else:
            return RedirectResponse(f"/overleggen/{meeting_id}", status_code=303)
    return await to_thread.run_sync(_meeting_page, request, user, web, meeting_id, state)


def _f(item_id: str, name: str) -> str:
    """The form name of an item's field (unique on the page)."""
    return f"{item_id}.{name}"


@router.post("/overleggen/{meeting_id}/casussen", response_class=HTMLResponse)
async def add_item(meeting_id: Id, request: Request, user: SignedIn, web: Web) -> Response:
    values = await _form_values(request)
    state = FormState(values=values)
    case_id = values.get("casus", "")
    if not case_id or len(case_id) > 36:
        state.fail("casus", "Kies een casus.")
    viewer = viewer_for(request, user, PURPOSE)
    return await _act_or_rerender(
        request,
        user,
        web,
        meeting_id,
        state,
        lambda: web.ctx.meetings.add_item(viewer, meeting_id, ItemIn(case_id=case_id)),
        "casus",
        "Deze casus past niet bij dit overleg.",
    )


@router.post("/overleggen/{meeting_id}/casussen/{item_id}/genodigden", response_class=HTMLResponse)
async def invite(
    meeting_id: Id, item_id: Id, request: Request, user: SignedIn, web: Web
) -> Response:
    values = await _form_values(request)
    state = FormState(values=values)
    partner = values.get(_f(item_id, "organisatie"), "")
    person = values.get(_f(item_id, "professional"), "")
    if not _is_name(partner):
        state.fail(_f(item_id, "organisatie"), "Vul de code van een organisatie in.")
    if person and not _is_name(person):
        state.fail(
            _f(item_id, "professional"),
            "Vul de code van een professional in, of laat dit veld leeg.",
        )
    viewer = viewer_for(request, user, PURPOSE)
    return await _act_or_rerender(
        request,
        user,
        web,
        meeting_id,
        state,
        lambda: web.ctx.meetings.invite(
            viewer, meeting_id, item_id, InviteeIn(partner=partner, user=person or None)
        ),
        _f(item_id, "organisatie"),
        "Alleen een organisatie (of professional) die aan deze casus deelneemt, kan worden "
        "uitgenodigd.",
    )


@router.post(
    "/overleggen/{meeting_id}/casussen/{item_id}/aanwezigheid", response_class=HTMLResponse
)
async def record_attendance(
    meeting_id: Id, item_id: Id, request: Request, user: SignedIn, web: Web
) -> Response:
    values = await _form_values(request)
    state = FormState(values=values)
    entries: list[dict[str, str | None]] = []
    for n in range(MAX_INVITEES):
        partner = values.get(_f(item_id, f"organisatie-{n}"))
        if partner is None:
            break
        status = values.get(_f(item_id, f"aanwezig-{n}"), "")
        if not status:
            continue
        if status not in ATTENDANCE or not _is_name(partner):
            state.fail(_f(item_id, f"aanwezig-{n}"), "Kies aanwezig, afwezig of afgemeld.")
            continue
        person = values.get(_f(item_id, f"professional-{n}"), "")
        entries.append({"partner": partner, "user": person or None, "status": status})
    if not entries and not state.errors:
        state.fail(_f(item_id, "aanwezig-0"), "Kies voor ten minste één genodigde.")
    viewer = viewer_for(request, user, PURPOSE)
    return await _act_or_rerender(
        request,
        user,
        web,
        meeting_id,
        state,
        lambda: web.ctx.meetings.record_attendance(
            viewer, meeting_id, item_id, AttendanceIn.model_validate({"attendance": entries})
        ),
        None,
        "De aanwezigheid noemt iemand die niet is uitgenodigd.",
    )


def parse_minutes(item_id: str, values: dict[str, str], state: FormState) -> MinutesIn | None:
    """The minutes form (one life domain's part and/or a decision) as the API's body."""
    domain = values.get(_f(item_id, "leefgebied"), "")
    sensitivity = values.get(_f(item_id, "gevoeligheid"), Sensitivity.ORDINARY.value)
    text = values.get(_f(item_id, "verslag"), "")
    decision = values.get(_f(item_id, "besluit"), "")
    if text and domain not in {d.value for d in LifeDomain}:
        state.fail(_f(item_id, "leefgebied"), "Kies het leefgebied van dit verslag.")
    if sensitivity not in SENSITIVITY:
        state.fail(_f(item_id, "gevoeligheid"), "Kies hoe gevoelig het verslag is.")
    if len(text) > 8000:
        state.fail(_f(item_id, "verslag"), "Het verslag is te lang (hoogstens 8000 tekens).")
    if decision and decision not in DECISION:
        state.fail(_f(item_id, "besluit"), "Kies een besluit uit de lijst.")
    if not text and not decision:
        state.fail(_f(item_id, "verslag"), "Vul een verslag in of kies een besluit.")
    if state.errors:
        return None
    body: dict[str, Any] = {"parts": [], "decisions": []}
    if text:
        body["parts"].append({"life_domain": domain, "sensitivity": sensitivity, "text": text})
    if decision:
        body["decisions"].append({"code": decision})
    return MinutesIn.model_validate(body)


@router.post("/overleggen/{meeting_id}/casussen/{item_id}/verslag", response_class=HTMLResponse)
async def record_minutes(
    meeting_id: Id, item_id: Id, request: Request, user: SignedIn, web: Web
) -> Response:
    values = await _form_values(request)
    state = FormState(values=values)
    body = parse_minutes(item_id, values, state)
    viewer = viewer_for(request, user, PURPOSE)

    def act() -> None:
        if body is not None:
            web.ctx.meetings.record_minutes(viewer, meeting_id, item_id, body)

    return await _act_or_rerender(
        request,
        user,
        web,
        meeting_id,
        state,
        act,
        None,
        "Het verslag kon niet worden vastgelegd.",
    )
