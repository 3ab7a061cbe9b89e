"""Misuse signals (issue 18): the periodic report per user for the privacy officer of that user's
own organisation.

Two pages, HTTP fronts of the same service as the API (ADR 0015), with the purpose the API
expects (`audit`): ``/signalen`` reads ``MisuseSignals.report`` (the API's
``GET /audit/signals``) and ``/signalen/{gebruiker}`` reads ``MisuseSignals.for_user`` (the
API's ``GET /audit/signals/{user}``). The gate decides (`read_misuse_signals`) and the service
logs every read, naming the period; a bad period is the service's 400, as in the API. Both are
GET pages without a form post, so no CSRF token is involved.
"""

from __future__ import annotations

from typing import Annotated, Final

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from hub import labels
from hub.audit.report import MONTHS_NL
from hub.audit.signals import MisuseSignals, Period, SignalOut, ThresholdsOut
from hub.vocabulary import Purpose
from hub.web.core import SignedIn, Web, WebRoute, render, viewer_for

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: the purpose of both pages: the one the API's signal routes expect
PURPOSE: Final = Purpose.AUDIT
#: how many earlier weeks and months the period chooser offers (any period can be typed)
WEEKS_OFFERED: Final = 12
MONTHS_OFFERED: Final = 6

DAY_NAMES: Final = ("ma", "di", "wo", "do", "vr", "za", "zo")

PeriodParam = Annotated[str | None, Query(max_length=16)]
UserParam = Annotated[str, Path(max_length=64)]


def period_words(period: Period) -> str:
    """`2026-W49` as "week 49 van 2026", `2026-12` as "december 2026"."""
    if period.kind == "week":
        year, week, _ = period.first_day.isocalendar()
        return f"week {week} van {year}"
    return f"{MONTHS_NL[period.first_day.month - 1]} {period.first_day.year}"


def office_hours_words(t: ThresholdsOut) -> str:
    days = sorted(t.office_days)
    if days and days == list(range(days[0], days[-1] + 1)):
        named = f"{DAY_NAMES[days[0] - 1]} t/m {DAY_NAMES[days[-1] - 1]}"
    else:
        named = ", ".join(DAY_NAMES[d - 1] for d in days)
    return f"{named} {t.office_start_hour:02d}:00–{t.office_end_hour:02d}:00"


def signal_words(signal: SignalOut, t: ThresholdsOut, tables: dict[str, str]) -> str:
    """One signal as a sentence a privacy officer reads (B1)."""
    n = signal.count
    if signal.kind == "volume":
        baseline = f"{signal.baseline:g}" if signal.baseline is not None else "0"
        return (
            f"{n} keer iets van een casus gelezen in deze periode. Normaal (de middelste "
            f"waarde van de {t.history_periods} periodes ervoor) is dat {baseline} keer. Een "
            f"signaal komt bij minstens {t.volume_minimum} keer en minstens "
            f"{t.volume_factor:g} keer zo veel als normaal."
        )
    if signal.kind == "off_hours":
        return (
            f"{n} keer iets van een casus gelezen buiten kantoortijd "
            f"({office_hours_words(t)}, tijdzone {t.timezone}). Feestdagen telt het "
            "systeem niet mee."
        )
    if signal.kind == "outside_tables":
        named = ", ".join(tables.get(x, x) for x in signal.tables)
        return (
            f"{n} keer een casus gelezen aan een tafel waar deze persoon niet aan werkt: "
            f"{named}. Aan een tafel werken betekent hier: in deze of de "
            f"{t.history_periods} periodes ervoor iets aan een casus van die tafel gedaan "
            "(gegevens gedeeld, plan of verslag vastgelegd, fase verzet), of bij naam "
            "genoemd zijn (aanmelder, regisseur, uitgenodigd, eigenaar van een interventie)."
        )
    return f"{n} keer geweigerd: de privacyregels stonden het verzoek niet toe."


def period_options(service: MisuseSignals, chosen: Period) -> list[tuple[str, str]]:
    """The weeks and months the chooser offers: this week, the weeks and months before, and
    the chosen period when it is none of these."""
    this_week = service.period(None).shifted(1)
    weeks = [this_week.shifted(-i) for i in range(WEEKS_OFFERED + 1)]
    this_month = Period("month", this_week.first_day.replace(day=1))
    months = [this_month.shifted(-i) for i in range(MONTHS_OFFERED + 1)]
    periods = [*weeks, *months]
    if chosen not in periods:
        periods.insert(0, chosen)
    return [(p.label, period_words(p)) for p in periods]


@router.get("/signalen", response_class=HTMLResponse)
async def signal_overview(
    request: Request, user: SignedIn, web: Web, periode: PeriodParam = None
) -> HTMLResponse:
    service = web.ctx.signals
    viewer = viewer_for(request, user, PURPOSE)
    report = await to_thread.run_sync(service.report, viewer, periode)
    period = service.period(report.period)
    return render(
        request,
        "signal_overview.html",
        user=user,
        purpose=PURPOSE,
        report=report,
        period_text=period_words(period),
        options=period_options(service, period),
        kinds=labels.SIGNAL_KIND,
        organisation=web.partner_name(report.partner),
        office_hours=office_hours_words(report.thresholds),
    )


@router.get("/signalen/{gebruiker}", response_class=HTMLResponse)
async def signal_user(
    request: Request, user: SignedIn, web: Web, gebruiker: UserParam, periode: PeriodParam = None
) -> HTMLResponse:
    service = web.ctx.signals
    viewer = viewer_for(request, user, PURPOSE)
    found = await to_thread.run_sync(service.for_user, viewer, gebruiker, periode)
    period = service.period(periode)
    thresholds = service.thresholds()
    tables = {str(k): v for k, v in labels.TABLE.items()}
    return render(
        request,
        "signal_user.html",
        user=user,
        purpose=PURPOSE,
        found=found,
        period=period,
        period_text=period_words(period),
        kinds=labels.SIGNAL_KIND,
        sentences={s.kind: signal_words(s, thresholds, tables) for s in found.signals},
        actions=labels.LOG_ACTION,
        outcomes=labels.OUTCOME,
        tables=tables,
        organisation=web.partner_name(user.principal.partner),
    )
