"""The auditor's screens (issue 18): access-log search, an entry with its inclusion proof, the
verification status of the log and its export, and the art. 15 report as a page and a PDF.

Every view is an HTTP front of the service the API's audit routes call (ADR 0015), for the
same viewer: the search is `AuditService.entries` / `subject_entries` (purpose `audit`), an
entry `entry_detail`, the status `status`, a verification run `verify_recorded`, the exports
`export_full` / `export_entries`, and the report `subject_report` / `subject_report_pdf`
(purpose `subject_access`). So the gate refuses a non-auditor exactly as the API does, and
each search, read, export and report is one access-log entry, as the API's call would be.

A person's identifiers (BSN, name, date of birth) travel only in POST bodies: the subject
search and the report are forms that post, and the "next page" of a subject search is a form
too. A "next page" cursor is bound to its query and session (an HMAC under the session's
CSRF token over the filters and the position), so a cursor taken from another query, or
another person's link, is refused instead of mixing results.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup
from pydantic import ValidationError

from hub import labels
from hub.audit.schemas import EntryOut, EntryPage, SubjectIdentifiers
from hub.audit.service import EntryFilter
from hub.errors import HubError
from hub.http import EARLIEST, LATEST
from hub.vocabulary import Purpose, Role
from hub.web.core import (
    ZONE,
    HubErrorPage,
    SignedIn,
    Web,
    WebApp,
    WebRoute,
    WebUser,
    nl_date,
    render,
    viewer_for,
)
from hub.web.forms import FormError, errors_by_field, input_id

router = APIRouter(route_class=WebRoute, include_in_schema=False)

AUDIT: Final = Purpose.AUDIT
REPORT: Final = Purpose.SUBJECT_ACCESS
PAGE_SIZE: Final = 50
#: an id as the API's filters take it (hub/audit/router.py)
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_CURSOR: Final = re.compile(r"^(-1|\d{1,18})\.([0-9a-f]{32})$")
#: personal data: no cache keeps these pages
NO_STORE: Final = {"Cache-Control": "no-store"}
#: the filters of the search form: query parameter -> the API's filter name
FILTERS: Final = {
    "casus": "case_id",
    "organisatie": "partner",
    "gebruiker": "user",
    "handeling": "action",
    "uitkomst": "outcome",
    "doel": "purpose",
    "van": "since",
    "tot": "until",
}
T = TypeVar("T")
ACTION_OPTIONS: Final = [
    ("", "Alle handelingen"),
    *sorted(((str(k), v) for k, v in labels.LOG_ACTION.items()), key=lambda kv: kv[1]),
]


# --- shared ----------------------------------------------------------------------------------


@dataclass
class Problems:
    """A form's problems in Dutch, each at its input (never repeating a submitted value)."""

    errors: list[FormError] = field(default_factory=list)

    def fail(self, name: str | None, message: str) -> None:
        self.errors.append(FormError(input_id(name) if name else None, message))

    @property
    def by_field(self) -> dict[str, str]:
        return errors_by_field(self.errors)


def _require_auditor(user: WebUser) -> None:
    """A form that queries nothing yet (the empty report form) is still only the auditor's;
    its post goes through the service, which refuses and logs."""
    if not user.has_role(Role.AUDITOR):
        raise HubErrorPage(403)


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def nl_moment(value: datetime | None) -> str:
    """A log time to the second, on the Dutch clock: "5 december 2026, 14:05:07"."""
    if value is None:
        return ""
    local = value.astimezone(ZONE)
    return f"{nl_date(local)}, {local:%H:%M:%S}"


def _words(web: WebApp) -> dict[str, Any]:
    """What every log template needs to word an entry."""
    return {
        "action_word": lambda code: labels.word(labels.LOG_ACTION, code),
        "outcome_word": lambda code: labels.word(labels.OUTCOME, code),
        "purpose_word": lambda code: labels.word(labels.PURPOSE, code) if code else "geen",
        "partner_word": lambda pid: web.partner_name(pid) if pid else "de hub zelf",
        "kind_word": lambda kind: labels.word(labels.PARTNER_KIND, kind) if kind else "",
        "role_word": lambda role: labels.word(labels.ROLE, role),
        "moment": nl_moment,
    }


# --- the search --------------------------------------------------------------------------------


def _cursor_mac(user: WebUser, scope: str, seq: int) -> str:
    key = user.csrf_token.encode("utf-8")
    return hmac.new(key, f"{scope}\n{seq}".encode(), hashlib.sha256).hexdigest()[:32]


def make_cursor(user: WebUser, scope: str, seq: int) -> str:
    """A "next page" position bound to this query (`scope`) and this session."""
    return f"{seq}.{_cursor_mac(user, scope, seq)}"


def open_cursor(user: WebUser, scope: str, token: str) -> int | None:
    """The position of a cursor made for this query and session; None without one; a
    cursor of another query or session is a 400 (never a page of mixed results)."""
    if not token:
        return None
    match = _CURSOR.match(token)
    if match is None or not hmac.compare_digest(
        match.group(2), _cursor_mac(user, scope, int(match.group(1)))
    ):
        raise HubErrorPage(400, "Deze vervolgpagina hoort bij een andere zoekvraag. Zoek opnieuw.")
    return int(match.group(1))


def _local_time(text: str) -> datetime | None:
    """A time as the browser's datetime-local field sends it, on the Dutch clock; None when
    it is not one, or outside the times the API's filters take (`hub.http.EARLIEST` to
    `LATEST`): the ends of the calendar overflow when moved to UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    return in_utc if EARLIEST <= in_utc <= LATEST else None


def parse_filter(values: Mapping[str, str], problems: Problems) -> EntryFilter:
    """The form's filters as the API's `EntryFilter`, with Dutch messages for bad input."""
    for name in ("casus", "organisatie", "gebruiker"):
        if values.get(name) and not _ID.match(values[name]):
            problems.fail(name, "Gebruik alleen letters, cijfers en . _ : - (hoogstens 64).")
    if values.get("handeling") and values["handeling"] not in labels.LOG_ACTION:
        problems.fail("handeling", "Kies een handeling uit de lijst.")
    if values.get("uitkomst") and values["uitkomst"] not in labels.OUTCOME:
        problems.fail("uitkomst", "Kies een uitkomst uit de lijst.")
    if values.get("doel") and values["doel"] not in labels.PURPOSE:
        problems.fail("doel", "Kies een doel uit de lijst.")
    times: dict[str, datetime | None] = {}
    for name in ("van", "tot"):
        times[name] = _local_time(values[name]) if values.get(name) else None
        if values.get(name) and times[name] is None:
            problems.fail(
                name,
                "Vul een datum en tijd in tussen het jaar "
                f"{EARLIEST.year} en {LATEST.year}, zoals 2026-12-05T14:00.",
            )
    if times["van"] and times["tot"] and times["van"] >= times["tot"]:
        problems.fail("tot", "Het einde moet na het begin liggen.")
    if problems.errors:
        return EntryFilter()
    given = {FILTERS[k]: values.get(k) or None for k in FILTERS if k not in ("van", "tot")}
    return EntryFilter(**given, since=times["van"], until=times["tot"])


def filter_scope(values: Mapping[str, str]) -> str:
    """The query a cursor belongs to: the filters exactly as asked."""
    return "filter\n" + "\n".join(f"{k}={values.get(k, '')}" for k in FILTERS)


def _filter_values(request: Request) -> dict[str, str]:
    params = request.query_params
    return {k: params.get(k, "").strip() for k in FILTERS}


def _query_string(values: Mapping[str, str], **extra: str) -> str:
    from urllib.parse import urlencode

    pairs = [(k, v) for k, v in values.items() if v] + [(k, v) for k, v in extra.items() if v]
    return urlencode(pairs)


def _search_page(
    request: Request,
    user: WebUser,
    web: WebApp,
    *,
    values: Mapping[str, str],
    page: EntryPage | None,
    problems: Problems,
    next_link: str | None = None,
    next_cursor: str | None = None,
    subject: Mapping[str, str] | None = None,
    subject_problems: Problems | None = None,
) -> HTMLResponse:
    bad = problems.errors or (subject_problems is not None and subject_problems.errors)
    return render(
        request,
        "log_search.html",
        status=400 if bad else 200,
        user=user,
        purpose=AUDIT,
        headers=NO_STORE,
        values=values,
        page=page,
        errors=problems.errors,
        field_errors=problems.by_field,
        subject=subject or {},
        subject_errors=subject_problems.errors if subject_problems else [],
        subject_field_errors=subject_problems.by_field if subject_problems else {},
        next_link=next_link,
        next_cursor=next_cursor,
        export_query=_query_string(values),
        action_options=ACTION_OPTIONS,
        partner_options=_partner_options(web, values.get("organisatie", "")),
        outcome_options=[("", "Alle uitkomsten"), *labels.OUTCOME.items()],
        purpose_options=[("", "Alle doelen"), *((str(k), v) for k, v in labels.PURPOSE.items())],
        **_words(web),
    )


def _partner_options(web: WebApp, chosen: str) -> list[tuple[str, str]]:
    """The network's organisations by name (and the one in the address, if unknown)."""
    named = sorted(
        ((pid, web.partner_name(pid)) for pid in web.ctx.registry.partners),
        key=lambda option: option[1],
    )
    if chosen and chosen not in web.ctx.registry.partners:
        named.append((chosen, chosen))
    return [("", "Alle organisaties"), *named]


@router.get("/logboek", response_class=HTMLResponse)
def search(request: Request, user: SignedIn, web: Web) -> Response:
    """The search form and, for the filters in the address, one page of results: the API's
    `GET /audit/entries` for this viewer (one logged query)."""
    values = _filter_values(request)
    problems = Problems()
    where = parse_filter(values, problems)
    if problems.errors:
        return _search_page(request, user, web, values=values, page=None, problems=problems)
    scope = filter_scope(values)
    cursor = open_cursor(user, scope, request.query_params.get("na", ""))
    viewer = viewer_for(request, user, AUDIT)
    page = web.ctx.audit.entries(viewer, where, cursor, PAGE_SIZE)
    next_link = None
    if page.next_cursor is not None:
        token = make_cursor(user, scope, page.next_cursor)
        next_link = "/logboek?" + _query_string(values, na=token)
    return _search_page(
        request, user, web, values=values, page=page, problems=problems, next_link=next_link
    )


def parse_identifiers(values: Mapping[str, str], problems: Problems) -> SubjectIdentifiers | None:
    """A person's identifiers as the API's body takes them: a BSN, or name and date of birth.
    The messages never repeat what was typed."""
    bsn = values.get("bsn", "")
    name = values.get("naam", "")
    born = values.get("geboortedatum", "")
    if not bsn and not (name and born):
        problems.fail("bsn", "Vul een BSN in, of een naam met een geboortedatum.")
        return None
    try:
        return SubjectIdentifiers(bsn=bsn or None, name=name or None, date_of_birth=born or None)
    except ValidationError as exc:
        wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if "date_of_birth" in wrong:
            problems.fail("geboortedatum", "Vul de geboortedatum in als jjjj-mm-dd.")
        if "name" in wrong:
            problems.fail("naam", "De naam is te lang.")
        if "bsn" in wrong or not wrong:
            problems.fail("bsn", "Dit is geen geldig BSN.")
        return None


def _service_identifiers(call: Callable[[], T], problems: Problems) -> T | None:
    """Run a service call on identifiers; the service's 400 for identifiers that make no
    valid person (a BSN failing the eleven test) becomes a form problem, not an error page."""
    try:
        return call()
    except HubError as exc:
        if exc.status != 400:
            raise
        problems.fail("bsn", "Dit is geen geldig BSN, of de naam of geboortedatum klopt niet.")
        return None


def subject_scope(identifiers: SubjectIdentifiers) -> str:
    """The subject query a cursor belongs to (the HMAC hides the identifiers)."""
    return "subject\n" + identifiers.model_dump_json()


@router.post("/logboek/persoon", response_class=HTMLResponse)
async def search_subject(request: Request, user: SignedIn, web: Web) -> Response:
    """Entries about one person: the API's `POST /audit/subject-queries` (identifiers turned
    into the blind index by the service; they stay in this request's body)."""
    values = await _posted(request)
    subject = {k: values.get(k, "") for k in ("bsn", "naam", "geboortedatum")}
    problems = Problems()
    identifiers = parse_identifiers(values, problems)
    page = None
    next_cursor = None
    if identifiers is not None:
        scope = subject_scope(identifiers)
        cursor = open_cursor(user, scope, values.get("na", ""))
        viewer = viewer_for(request, user, AUDIT)
        page = await to_thread.run_sync(
            _service_identifiers,
            lambda: web.ctx.audit.subject_entries(viewer, identifiers, cursor, PAGE_SIZE),
            problems,
        )
        if page is not None and page.next_cursor is not None:
            next_cursor = make_cursor(user, scope, page.next_cursor)
    return await to_thread.run_sync(
        lambda: _search_page(
            request,
            user,
            web,
            values={k: "" for k in FILTERS},
            page=page,
            problems=Problems(),
            next_cursor=next_cursor,
            subject=subject,
            subject_problems=problems,
        )
    )


# --- exports (before /logboek/{volgnummer}) -----------------------------------------------------

_EXPORTS: Final = {
    "controleerbaar": ("verifiable", "application/jsonl", "logboek-export.jsonl"),
    "jsonl": ("jsonl", "application/jsonl", "logboek-zoekresultaat.jsonl"),
    "csv": ("csv", "text/csv; charset=utf-8", "logboek-zoekresultaat.csv"),
}


@router.get("/logboek/export")
def export(request: Request, user: SignedIn, web: Web) -> Response:
    """A download: the verifiable export of the whole log (`export_full`), or the results of
    the filters in the address as JSON Lines or CSV (`export_entries`), as the API's
    `GET /audit/export`; each is logged by the service before the first byte."""
    kind = request.query_params.get("formaat", "controleerbaar")
    if kind not in _EXPORTS:
        raise HubErrorPage(400, "Kies een exportformaat uit de lijst.")
    fmt, media, filename = _EXPORTS[kind]
    viewer = viewer_for(request, user, AUDIT)
    stream: Iterator[str]
    if fmt == "verifiable":
        stream = web.ctx.audit.export_full(viewer)
    else:
        problems = Problems()
        where = parse_filter(_filter_values(request), problems)
        if problems.errors:
            raise HubErrorPage(400, "De filters van deze export kloppen niet. Zoek opnieuw.")
        stream = web.ctx.audit.export_entries(viewer, where, fmt)
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(stream, media_type=media, headers=headers)


# --- verification status ------------------------------------------------------------------------


def age_words(seconds: int | None) -> str:
    """ "3 minuten", "2 uur", "5 dagen": how old, in plain Dutch."""
    if seconds is None:
        return ""
    if seconds < 120:
        return "1 seconde" if seconds == 1 else f"{seconds} seconden"
    if seconds < 7200:
        return f"{seconds // 60} minuten"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} uur"
    return f"{seconds // 86400} dagen"


@router.get("/logboek/status", response_class=HTMLResponse)
def status(request: Request, user: SignedIn, web: Web) -> Response:
    """The log's size, newest checkpoint and its age, the last recorded verification and the
    witnesses: the API's `GET /audit/status` (one logged query)."""
    viewer = viewer_for(request, user, AUDIT)
    state = web.ctx.audit.status(viewer)
    return render(
        request,
        "log_status.html",
        user=user,
        purpose=AUDIT,
        headers=NO_STORE,
        state=state,
        age=age_words(state.checkpoint_age_s),
        checked=request.query_params.get("gecontroleerd") == "1",
        **_words(web),
    )


@router.post("/logboek/status/controle")
async def verify_now(request: Request, user: SignedIn, web: Web) -> Response:
    """Verify the whole live log now (the API's `POST /audit/verifications`): the verdict
    is itself a log entry, which the status page then reads. Post/redirect/get."""
    viewer = viewer_for(request, user, AUDIT)
    await to_thread.run_sync(web.ctx.audit.verify_recorded, viewer)
    return RedirectResponse("/logboek/status?gecontroleerd=1", status_code=303)


# --- one entry -----------------------------------------------------------------------------------

Seq = Annotated[int, Path(ge=0, le=2**53)]


def entry_rows(entry: EntryOut, web: WebApp) -> list[tuple[str, str]]:
    """(label, value) of every field of an entry, in words where a code has words."""
    words = _words(web)
    data = entry.model_dump()
    shown: dict[str, str] = {
        "seq": str(entry.seq),
        "time": nl_moment(entry.time),
        "actor_partner": words["partner_word"](entry.actor_partner),
        "actor_partner_kind": words["kind_word"](entry.actor_partner_kind),
        "actor_user": entry.actor_user or "",
        "actor_roles": ", ".join(words["role_word"](r) for r in entry.actor_roles),
        "action": words["action_word"](entry.action),
        "purpose": words["purpose_word"](entry.purpose),
        "outcome": words["outcome_word"](entry.outcome),
        "disclosed": "; ".join(f"{k}: {', '.join(v)}" for k, v in entry.disclosed.items()),
        "fact_subjects": "; ".join(f"{k}: {', '.join(v)}" for k, v in entry.fact_subjects.items()),
    }
    rows = []
    for name, label in labels.LOG_FIELD.items():
        value = shown.get(name)
        if value is None:
            raw = data.get(name)
            value = ", ".join(raw) if isinstance(raw, list) else "" if raw is None else str(raw)
        rows.append((label, value or "—"))
    return rows


@router.get("/logboek/{volgnummer}", response_class=HTMLResponse)
def entry_page(volgnummer: Seq, request: Request, user: SignedIn, web: Web) -> Response:
    """One entry, its inclusion proof in a signed checkpoint and the check of that proof in
    words: the API's `GET /audit/entries/{seq}` (one logged query)."""
    viewer = viewer_for(request, user, AUDIT)
    detail = web.ctx.audit.entry_detail(viewer, volgnummer)
    checkpoint = detail.inclusion.checkpoint
    return render(
        request,
        "log_entry.html",
        user=user,
        purpose=AUDIT,
        headers=NO_STORE,
        detail=detail,
        rows=entry_rows(detail.entry, web),
        signed_at=nl_moment(checkpoint.signed_at),
        problem=labels.word(labels.PROOF_PROBLEM, detail.check.problem),
        **_words(web),
    )


# --- the art. 15 report --------------------------------------------------------------------------


def _report_form(
    request: Request,
    user: WebUser,
    subject: Mapping[str, str],
    problems: Problems,
    report: Markup | None = None,
) -> HTMLResponse:
    return render(
        request,
        "report_page.html",
        status=400 if problems.errors else 200,
        user=user,
        purpose=REPORT,
        headers=NO_STORE,
        subject=subject,
        errors=problems.errors,
        field_errors=problems.by_field,
        report=report,
    )


@router.get("/inzage", response_class=HTMLResponse)
def report_form(request: Request, user: SignedIn) -> Response:
    _require_auditor(user)
    return _report_form(request, user, {}, Problems())


@router.post("/inzage", response_class=HTMLResponse)
async def report(request: Request, user: SignedIn, web: Web) -> Response:
    """The person's art. 15 report as a page, or (`formaat=pdf`) as a PDF download: the
    API's `POST /audit/subject-access-reports` (HTML) and `.../pdf` for this viewer, each one
    logged report."""
    values = await _posted(request)
    subject = {k: values.get(k, "") for k in ("bsn", "naam", "geboortedatum")}
    problems = Problems()
    identifiers = parse_identifiers(values, problems)
    viewer = viewer_for(request, user, REPORT)
    if identifiers is not None and values.get("formaat") == "pdf":
        pdf = await to_thread.run_sync(
            _service_identifiers,
            lambda: web.ctx.audit.subject_report_pdf(viewer, identifiers),
            problems,
        )
        if pdf is not None:
            headers = {**NO_STORE, "Content-Disposition": 'attachment; filename="inzage.pdf"'}
            return Response(pdf, media_type="application/pdf", headers=headers)
    elif identifiers is not None:
        html = await to_thread.run_sync(
            _service_identifiers,
            lambda: "".join(web.ctx.audit.subject_report(viewer, identifiers, fmt="html_fragment")),
            problems,
        )
        if html is not None:
            # our own template's autoescaped output (hub/audit/templates/report.html)
            return _report_form(request, user, subject, problems, Markup(html))  # noqa: S704
    return _report_form(request, user, subject, problems)
