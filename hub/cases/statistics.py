"""Management information (ADR 0014): the counts a Veiligheidshuis puts in its annual report.

Cases registered in a period, per table, per current phase, per intake partner kind, per
registration month, the outcomes at closing, and lead times (median and p90 days from
registration to the triage decision, to the case conference and to closing) read from the
phase history. No case ids and no personal data leave this module; every count from 1 to 4
is suppressed (null, marker "<5"), and because each breakdown's total can be derived (it is
shown, and every breakdown covers the same cases), a breakdown with suppressed cells gets
complementary suppression until its suppressed cells are at least two and together hold at
least five cases. Outcome codes used fewer than five times are folded into "other", so a
rare (possibly telling) code never appears at all.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Actor, Event, RequestInfo
from hub.cases.models import Case, CasePhaseHistory
from hub.cases.schemas import Cell, LeadTime, StatisticsOut
from hub.db.session import UnitOfWork
from hub.errors import ValidationFailed
from hub.gate.gate import Gate
from hub.identity.models import Partner
from hub.identity.viewer import Viewer
from hub.vocabulary import PartnerKind, Phase, Purpose, TableId

#: counts below this are suppressed
MIN_CELL: Final = 5
SUPPRESSED: Final = "<5"
#: the longest period one answer covers (months listed: at most 121)
MAX_PERIOD: Final = timedelta(days=3660)
ZONE: Final = ZoneInfo("Europe/Amsterdam")
NO_TABLE: Final = "no_table"  # not (yet) triaged onto a table, or rejected
OTHER: Final = "other"  # outcome codes used fewer than MIN_CELL times
#: who reads statistics at the command line (`vhhub stats`)
OPERATOR_CLI: Final = Actor(partner=None, user="operator-cli")


class InvalidPeriod(ValidationFailed):
    slug = "invalid-period"
    title = "Invalid period"
    default_detail = "`from` may not be after `to`, and a period covers at most ten years."


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, today: date) -> Period:
        """The period asked for: `to` defaults to today, `from` to 1 January of its year."""
        end = end or today
        start = start or date(end.year, 1, 1)
        if start > end or end - start > MAX_PERIOD:
            raise InvalidPeriod()
        return cls(start, end)

    def months(self) -> list[str]:
        out: list[str] = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    @property
    def reason(self) -> str:
        return f"statistics {self.start.isoformat()}..{self.end.isoformat()}"


class StatisticsService:
    def __init__(self, unit_of_work: UnitOfWork, gate: Gate, access_log: AccessLog) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._log = access_log

    def read(
        self, viewer: Viewer, start: date | None, end: date | None, *, today: date
    ) -> StatisticsOut:
        """The statistics of the period, if the policy's `read_statistics` allows; logged
        with the period (no case ids)."""
        period = Period.of(start, end, today)
        with self._unit_of_work() as session:
            permit = self._gate.authorize(session, viewer, "read_statistics")
            out = compute(session, period)
            self._log.append(
                session,
                Event(
                    action=Action.STATISTICS_READ,
                    outcome=Outcome.ALLOWED,
                    reason=period.reason,
                    policy_version=permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return out


def read_as_operator(
    unit_of_work: UnitOfWork, access_log: AccessLog, start: date | None, end: date | None
) -> StatisticsOut:
    """`vhhub stats`: the same statistics for the operator at the command line (who holds the
    database already, like `vhhub retention`), logged as a statistics.read of the operator."""
    period = Period.of(start, end, datetime.now(ZONE).date())
    with unit_of_work() as session:
        out = compute(session, period)
        access_log.append(
            session,
            Event(action=Action.STATISTICS_READ, outcome=Outcome.ALLOWED, reason=period.reason),
            actor=OPERATOR_CLI,
            request=RequestInfo(purpose=Purpose.MANAGEMENT_INFORMATION),
        )
        return out


# -- the computation (no ids leave it) -------------------------------------------------------


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def compute(session: Session, period: Period) -> StatisticsOut:
    # a day of margin either side, then the Dutch calendar day decides
    lower = datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
    upper = datetime(period.end.year, period.end.month, period.end.day, tzinfo=UTC)
    rows = session.execute(
        select(
            Case.id,
            Case.table_id,
            Case.phase,
            Case.registered_at,
            Case.triaged_at,
            Case.outcome,
            Partner.kind,
        )
        .join(Partner, Partner.id == Case.registered_by_partner)
        .where(
            Case.registered_at >= lower - timedelta(days=1),
            Case.registered_at < upper + timedelta(days=2),
        )
    ).all()
    cases = [r for r in rows if period.start <= local_day(r.registered_at) <= period.end]
    ids = [r.id for r in cases]
    history = _history(session, ids)

    total = len(cases)
    per_table = Counter(r.table_id or NO_TABLE for r in cases)
    per_phase = Counter(r.phase for r in cases)
    per_kind = Counter(r.kind for r in cases)
    per_month = Counter(local_day(r.registered_at).strftime("%Y-%m") for r in cases)
    outcomes = Counter(r.outcome for r in cases if r.outcome)

    entered: dict[str, dict[str, datetime]] = history
    triage_days: list[float] = []
    conference_days: list[float] = []
    closed_days: list[float] = []
    for r in cases:
        phases = entered.get(r.id, {})
        start = phases.get(Phase.INTAKE.value)
        if start is None:
            continue
        if r.triaged_at is not None:
            triage_days.append(_days(start, r.triaged_at))
        if Phase.CASE_CONFERENCE.value in phases:
            conference_days.append(_days(start, phases[Phase.CASE_CONFERENCE.value]))
        if Phase.CLOSED.value in phases:
            closed_days.append(_days(start, phases[Phase.CLOSED.value]))

    frequent = {code: n for code, n in outcomes.items() if n >= MIN_CELL}
    rare = sum(n for code, n in outcomes.items() if n < MIN_CELL)
    outcome_keys = [*sorted(frequent), OTHER]
    return StatisticsOut(
        period_from=period.start,
        period_to=period.end,
        min_cell=MIN_CELL,
        registered=_cell("total", total),
        per_table=suppress([(k, per_table[k]) for k in [*(t.value for t in TableId), NO_TABLE]]),
        per_phase=suppress([(p.value, per_phase[p.value]) for p in Phase]),
        per_intake_partner_kind=suppress([(k.value, per_kind[k.value]) for k in PartnerKind]),
        per_month=suppress([(m, per_month[m]) for m in period.months()]),
        outcomes=suppress([(k, frequent.get(k, rare if k == OTHER else 0)) for k in outcome_keys]),
        lead_times=[
            lead_time("triage", triage_days),
            lead_time("case_conference", conference_days),
            lead_time("closed", closed_days),
        ],
    )


def _history(session: Session, case_ids: Sequence[str]) -> dict[str, dict[str, datetime]]:
    """case id -> phase -> when the case first entered it."""
    out: dict[str, dict[str, datetime]] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        rows = session.execute(
            select(
                CasePhaseHistory.case_id, CasePhaseHistory.phase, CasePhaseHistory.entered_at
            ).where(CasePhaseHistory.case_id.in_(chunk))
        )
        for case_id, phase, at in rows:
            phases = out.setdefault(case_id, {})
            if phase not in phases or at < phases[phase]:
                phases[phase] = at
    return out


def _days(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 86400)


def _cell(key: str, count: int) -> Cell:
    if 0 < count < MIN_CELL:
        return Cell(key=key, count=None, marker=SUPPRESSED)
    return Cell(key=key, count=count)


def suppress(counts: Iterable[tuple[str, int]]) -> list[Cell]:
    """The cells of one breakdown, with small counts (1 to 4) suppressed and, since the
    breakdown's total is known, complementary suppression: while fewer than two cells are
    suppressed or the suppressed cells hold fewer than MIN_CELL cases together, the smallest
    count still shown (never a zero) is suppressed too. A zero is shown: that no case is at a
    table or in a month says nothing about a person."""
    items = list(counts)
    hidden = {key for key, n in items if 0 < n < MIN_CELL}
    if hidden:
        values: Mapping[str, int] = dict(items)
        while len(hidden) < 2 or sum(values[k] for k in hidden) < MIN_CELL:
            shown = sorted((n, key) for key, n in items if key not in hidden and n > 0)
            if not shown:
                break
            hidden.add(shown[0][1])
    return [
        Cell(key=key, count=None, marker=SUPPRESSED) if key in hidden else Cell(key=key, count=n)
        for key, n in items
    ]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted-able values (p90: fraction 0.9)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


Step = Literal["triage", "case_conference", "closed"]


def lead_time(step: Step, days: Sequence[float]) -> LeadTime:
    """Median and p90 days over the cases that took the step; suppressed below MIN_CELL
    cases (a median of a few cases comes close to one case's own dates)."""
    if len(days) < MIN_CELL:
        if not days:
            return LeadTime(step=step, cases=0, median_days=None, p90_days=None)
        return LeadTime(
            step=step,
            cases=None,
            median_days=None,
            p90_days=None,
            marker=SUPPRESSED,
        )
    return LeadTime(
        step=step,
        cases=len(days),
        median_days=round(statistics.median(days), 1),
        p90_days=round(percentile(days, 0.9), 1),
    )


# -- plain text for `vhhub stats` --------------------------------------------------------------

_SECTIONS_NL: Final = (
    ("per_table", "Casussen per tafel"),
    ("per_phase", "Casussen per fase (nu)"),
    ("per_intake_partner_kind", "Casussen per aanmeldende partnersoort"),
    ("per_month", "Casussen per maand van aanmelding"),
    ("outcomes", "Uitkomsten bij afsluiting"),
)
_STEPS_NL: Final = {
    "triage": "aanmelding tot triagebesluit",
    "case_conference": "aanmelding tot casusoverleg",
    "closed": "aanmelding tot afsluiting",
}


def _shown(count: int | None, marker: str | None) -> str:
    return marker or "" if count is None else str(count)


@dataclass(frozen=True)
class TextSection:
    """One table of the statistics as the command line prints it."""

    heading: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


def text_report(out: StatisticsOut) -> tuple[list[str], list[TextSection]]:
    """The statistics for the command line: the heading lines, then one table per section
    (Dutch headings), which the CLI prints with rich."""
    heading = [
        f"Managementinformatie {out.period_from.isoformat()} t/m {out.period_to.isoformat()}"
        f" (aantallen onder {out.min_cell} onderdrukt als {SUPPRESSED})",
        f"Aangemelde casussen: {_shown(out.registered.count, out.registered.marker)}",
    ]
    sections = [
        TextSection(
            title,
            ("", "aantal"),
            [(c.key, _shown(c.count, c.marker)) for c in getattr(out, attribute)],
        )
        for attribute, title in _SECTIONS_NL
    ]
    sections.append(
        TextSection(
            "Doorlooptijden in dagen",
            ("", "mediaan", "p90", "casussen"),
            [
                (
                    _STEPS_NL[lt.step],
                    "-" if lt.median_days is None else f"{lt.median_days:.1f}",
                    "-" if lt.p90_days is None else f"{lt.p90_days:.1f}",
                    _shown(lt.cases, lt.marker),
                )
                for lt in out.lead_times
            ],
        )
    )
    return heading, sections
