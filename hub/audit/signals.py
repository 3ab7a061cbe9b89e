"""Misuse signals (issue 18): a periodic report per user for the privacy officer of that
user's own organisation.

One briefing shows one read; misuse spread over many cases only shows in the pattern of a
person's reads over time. For one period (an ISO week or a month, in the hub's time zone) and
for every user of the viewer's OWN partner (`actor_partner == viewer.partner`, never another
organisation's, whatever is asked), the service counts from the access log:

- ``volume``: the user's reads in the period against their own history, the median of the
  previous `history_periods` periods (a period without reads counts as 0). A signal when the
  reads are at least `volume_minimum` and at least `volume_factor` times that median.
- ``off_hours``: reads outside office hours (office days and hours in the hub's time zone;
  public holidays are not modelled, so a read on a holiday is not flagged).
- ``outside_tables``: reads of cases at a table the user does not work at. A user *works at*
  a table when, in the period or the history window, they did a non-read act on a case at
  that table (published, corrected, recorded a plan or minutes, moved a phase, ...; see
  `WORK_ACTIONS`), or when the case register names them on a case at that table: the
  registering user, the procesregisseur, the casusregisseur, a named invitee of their
  partner, or the named owner of an intervention. A partner-wide invitation does not name a
  user and so does not count: every user of the partner may read such a case, which is
  exactly what this signal looks at.
- ``refusals``: entries with outcome ``denied`` whose actor is the user.

Reads are the allowed entries of `READ_ACTIONS`: the acts that show a case's content or
metadata to a person. Each signal carries the sequence numbers of the entries behind it (at
most `MAX_SEQS`, oldest first, with the total count). The counting happens in grouped SQL
queries bounded by the period's sequence range (the log's time never goes backwards, so a
time range is a seq range and the (partner, action, seq) and (user, seq) indexes serve it);
the only Python work is per (user, period) or (user, table) group.

Who reads it: the gate decides `read_misuse_signals` (privacy officer, purpose `audit`); a
refusal is logged by the gate as every refusal is, and every read is a `log.query` entry
naming the period (and the user, for one user's entries), never the signals themselves.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, case, false, func, not_, or_, select, union
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome, utc_micros, utc_moment
from hub.audit.log import AccessLog, Event
from hub.audit.models import LogEntry
from hub.audit.service import first_seq_at
from hub.cases.models import Case, Participant
from hub.db.session import Database
from hub.errors import BadRequest
from hub.gate.gate import Gate
from hub.identity.viewer import Viewer
from hub.plans.models import InterventionIndex

#: the policy's action (policies/data/action_rules.json)
POLICY_ACTION: Final = "read_misuse_signals"
#: entries behind one signal that an answer names; the count says how many there are in all
MAX_SEQS: Final = 200

SignalKind = Literal["volume", "off_hours", "outside_tables", "refusals"]
KINDS: Final[tuple[SignalKind, ...]] = ("volume", "off_hours", "outside_tables", "refusals")

#: acts that show a person a case's content or metadata (allowed entries count as reads)
READ_ACTIONS: Final = tuple(
    a.value
    for a in (
        Action.BRIEFING_READ,
        Action.UPDATES_READ,
        Action.CASE_READ,
        Action.CASE_READ_NOTICES,
        Action.PLAN_READ,
        Action.MINUTES_READ,
        Action.MEETING_READ,
    )
)
#: acts of someone who works on a case: they put something into it or move it on
WORK_ACTIONS: Final = tuple(
    a.value
    for a in (
        Action.FACT_PUBLISH,
        Action.FACT_CORRECT,
        Action.FACT_WITHDRAW,
        Action.CASE_REGISTER,
        Action.CASE_TAKE,
        Action.CASE_SCREEN,
        Action.CASE_TRIAGE,
        Action.CASE_INVITE,
        Action.CASE_WITHDRAW_INVITATION,
        Action.CASE_ASSIGN_CASUSREGISSEUR,
        Action.CASE_CHANGE_PHASE,
        Action.CASE_SCHEDULE,
        Action.CASE_CLOSE,
        Action.CASE_CORRECT_SUBJECT,
        Action.CASE_RECORD_NOTICE,
        Action.CASE_RECORD_COORDINATION,
        Action.PLAN_RECORD,
        Action.MEETING_PLAN,
        Action.MEETING_ATTENDANCE,
        Action.MINUTES_RECORD,
    )
)

_WEEK_RE: Final = re.compile(r"(\d{4})-W(\d{2})")
_MONTH_RE: Final = re.compile(r"(\d{4})-(\d{2})")
#: a user id as the access log stores one (hub/audit/entry.py), so the read's entry names it
USER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_USER_RE: Final = re.compile(USER_PATTERN)
_BAD_PERIOD: Final = "period must be an ISO week (2026-W49) or a month (2026-12)."


# -- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """An ISO week or a calendar month, as local days in the hub's time zone."""

    kind: Literal["week", "month"]
    first_day: date

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day.year}-{self.first_day.month:02d}"

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        return self.shifted(1).first_day

    def shifted(self, periods: int) -> Period:
        """The period `periods` later (earlier when negative)."""
        if self.kind == "week":
            return Period("week", self.first_day + timedelta(weeks=periods))
        months = self.first_day.year * 12 + self.first_day.month - 1 + periods
        return Period("month", date(months // 12, months % 12 + 1, 1))

    def days(self) -> Iterable[date]:
        day = self.first_day
        while day < self.end_day:
            yield day
            day += timedelta(days=1)


def parse_period(text: str) -> Period:
    """`2026-W49` or `2026-12`; anything else is a 400 (before anything is read or logged)."""
    week = _WEEK_RE.fullmatch(text)
    month = _MONTH_RE.fullmatch(text)
    try:
        if week is not None:
            first = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            period = Period("week", first)
        elif month is not None:
            period = Period("month", date(int(month[1]), int(month[2]), 1))
        else:
            raise BadRequest(_BAD_PERIOD)
    except ValueError:
        raise BadRequest(_BAD_PERIOD) from None
    if not 2000 <= period.first_day.year <= 9000:
        raise BadRequest(_BAD_PERIOD)
    return period


def last_complete_week(now: datetime, zone: ZoneInfo) -> Period:
    """The ISO week before the one `now` falls in (local time): the default period."""
    today = now.astimezone(zone).date()
    return Period("week", today - timedelta(days=today.isoweekday() - 1 + 7))


# -- settings and answers --------------------------------------------------------------------


@dataclass(frozen=True)
class SignalSettings:
    """The thresholds and office hours (hub/settings.py, `VHHUB_SIGNAL_*`)."""

    volume_factor: float = 3.0
    volume_minimum: int = 20
    history_periods: int = 8
    timezone: str = "Europe/Amsterdam"
    office_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    office_start_hour: int = 7
    office_end_hour: int = 19
    off_hours_minimum: int = 1
    outside_tables_minimum: int = 1
    refusals_minimum: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def minimum(self, kind: SignalKind) -> int:
        return {
            "volume": self.volume_minimum,
            "off_hours": self.off_hours_minimum,
            "outside_tables": self.outside_tables_minimum,
            "refusals": self.refusals_minimum,
        }[kind]


class ThresholdsOut(BaseModel):
    volume_factor: float
    volume_minimum: int
    history_periods: int
    timezone: str
    office_days: list[int]
    office_start_hour: int
    office_end_hour: int
    off_hours_minimum: int
    outside_tables_minimum: int
    refusals_minimum: int


class EntryBehindOut(BaseModel):
    """One log entry behind a signal: metadata only, as the auditor's query gives it."""

    seq: int
    time: datetime
    action: str
    outcome: str
    purpose: str | None
    case_id: str | None
    #: the table of the case (its triage table, else the proposed one); None without a case
    table: str | None


class SignalOut(BaseModel):
    kind: SignalKind
    #: how many log entries are behind the signal in all
    count: int
    #: the first `MAX_SEQS` of them, oldest first
    seqs: list[int]
    truncated: bool
    #: volume: the median of the user's reads in the previous periods
    baseline: float | None = None
    #: outside_tables: the tables read at that the user does not work at
    tables: list[str] = []
    #: only in one user's answer: the entries behind `seqs`
    entries: list[EntryBehindOut] | None = None


class UserSignalsOut(BaseModel):
    user: str
    #: reads in the period
    reads: int
    #: entries per kind in the period, whether or not they reach the signal's threshold
    counts: dict[str, int]
    signals: list[SignalOut]


class SignalReportOut(BaseModel):
    period: str
    start: datetime
    end: datetime
    partner: str
    thresholds: ThresholdsOut
    #: users with signals first (most signals first), then by user id
    users: list[UserSignalsOut]


# -- the service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    """A period's time and seq bounds, and the office hours inside it."""

    start_us: int
    end_us: int
    first_seq: int
    end_seq: int

    def where(self) -> ColumnElement[bool]:
        return and_(
            LogEntry.time_us >= self.start_us,
            LogEntry.time_us < self.end_us,
            LogEntry.seq >= self.first_seq,
            LogEntry.seq < self.end_seq,
        )


class MisuseSignals:
    def __init__(
        self,
        db: Database,
        gate: Gate,
        access_log: AccessLog,
        settings: SignalSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._gate = gate
        self._log = access_log
        self._settings = settings
        self._zone = settings.zone
        self._clock = clock

    def period(self, text: str | None) -> Period:
        """The asked period, or the last complete week when none is asked."""
        if not text:
            return last_complete_week(self._clock(), self._zone)
        return parse_period(text)

    # -- the two reads -------------------------------------------------------------------

    def report(self, viewer: Viewer, period_text: str | None) -> SignalReportOut:
        """Every user of the viewer's partner with entries in the period: counts and signals."""
        period = self.period(period_text)
        with self._db.unit_of_work() as session:
            version = self._gate.authorize(session, viewer, POLICY_ACTION).policy_version
            users = self._compute(session, viewer.partner, period, None)
            self._log_read(session, viewer, f"misuse signals {period.label}", version)
            return self._report_out(viewer.partner, period, users)

    def for_user(self, viewer: Viewer, user: str, period_text: str | None) -> UserSignalsOut:
        """One user's counts and signals with the entries behind them. A user of another
        partner answers exactly like a user of the viewer's own partner without entries."""
        period = self.period(period_text)
        if not _USER_RE.fullmatch(user):
            raise BadRequest("user must be a user id as the access log holds it.")
        with self._db.unit_of_work() as session:
            version = self._gate.authorize(session, viewer, POLICY_ACTION).policy_version
            found = self._compute(session, viewer.partner, period, user)
            out = found[0] if found else _empty(user)
            for signal in out.signals:
                signal.entries = _entries(session, signal.seqs)
            self._log_read(
                session, viewer, f"misuse signals {period.label} of user {user}", version
            )
            return out

    def thresholds(self) -> ThresholdsOut:
        s = self._settings
        return ThresholdsOut(
            volume_factor=s.volume_factor,
            volume_minimum=s.volume_minimum,
            history_periods=s.history_periods,
            timezone=s.timezone,
            office_days=list(s.office_days),
            office_start_hour=s.office_start_hour,
            office_end_hour=s.office_end_hour,
            off_hours_minimum=s.off_hours_minimum,
            outside_tables_minimum=s.outside_tables_minimum,
            refusals_minimum=s.refusals_minimum,
        )

    def _report_out(
        self, partner: str, period: Period, users: list[UserSignalsOut]
    ) -> SignalReportOut:
        return SignalReportOut(
            period=period.label,
            start=self._local_start(period.first_day),
            end=self._local_start(period.end_day),
            partner=partner,
            thresholds=self.thresholds(),
            users=sorted(users, key=lambda u: (-len(u.signals), u.user)),
        )

    def _log_read(self, session: Session, viewer: Viewer, reason: str, version: str) -> None:
        self._log.append(
            session,
            Event(
                action=Action.LOG_QUERY,
                outcome=Outcome.ALLOWED,
                reason=reason[:200],
                policy_version=version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )

    # -- counting ------------------------------------------------------------------------

    def _local_start(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self._zone)

    def _micros(self, day: date, hour: int = 0) -> int:
        """Microseconds (UTC) of `hour` o'clock local time on `day`; hour 24 is the next
        day's midnight (office hours that end at midnight)."""
        day += timedelta(days=hour // 24)
        return utc_micros(datetime.combine(day, time(hour % 24), tzinfo=self._zone))

    def _window(self, session: Session, first_day: date, end_day: date) -> _Window:
        start, end = self._micros(first_day), self._micros(end_day)
        return _Window(start, end, first_seq_at(session, start), first_seq_at(session, end))

    def _office_hours(self, period: Period) -> ColumnElement[bool]:
        """Whether an entry's time falls inside office hours on an office day of the period
        (one time range per office day, so daylight saving time is the zone's business)."""
        s = self._settings
        ranges = [
            and_(
                LogEntry.time_us >= self._micros(day, s.office_start_hour),
                LogEntry.time_us < self._micros(day, s.office_end_hour),
            )
            for day in period.days()
            if day.isoweekday() in s.office_days
        ]
        return or_(*ranges) if ranges else false()

    def _compute(
        self, session: Session, partner: str, period: Period, only: str | None
    ) -> list[UserSignalsOut]:
        s = self._settings
        window = self._window(session, period.first_day, period.end_day)
        history_first = period.shifted(-s.history_periods)
        history = self._window(session, history_first.first_day, period.first_day)
        own = [LogEntry.actor_partner == partner, LogEntry.actor_user.is_not(None)]
        if only is not None:
            own.append(LogEntry.actor_user == only)
        users: list[str] = sorted(
            u
            for u in session.scalars(
                select(LogEntry.actor_user).where(*own, window.where()).distinct()
            )
            if u is not None
        )
        if not users:
            return []
        reads = [*own, LogEntry.action.in_(READ_ACTIONS), LogEntry.outcome == Outcome.ALLOWED]
        counts: dict[str, dict[str, int]] = {u: dict.fromkeys(KINDS, 0) for u in users}
        signals: dict[str, list[SignalOut]] = {u: [] for u in users}

        # volume: reads per user and period, this one and the history
        starts = [
            self._micros(period.shifted(i - s.history_periods).first_day)
            for i in range(s.history_periods)
        ]
        per_period = _reads_per_period(session, reads, starts, history, window)
        for user in users:
            current = per_period.get((user, s.history_periods), 0)
            past = [per_period.get((user, i), 0) for i in range(s.history_periods)]
            baseline = float(statistics.median(past))
            counts[user]["volume"] = current
            if current >= s.volume_minimum and current >= s.volume_factor * baseline:
                seqs = _seqs(session, [*reads, LogEntry.actor_user == user, window.where()])
                signals[user].append(_signal("volume", current, seqs, baseline=baseline))

        # reads outside office hours
        off_hours = [*reads, window.where(), not_(self._office_hours(period))]
        self._simple(session, "off_hours", off_hours, counts, signals)

        # refusals: whatever the user was refused
        refused = [*own, LogEntry.outcome == Outcome.DENIED, window.where()]
        self._simple(session, "refusals", refused, counts, signals)

        # reads of cases at tables the user does not work at
        works_at = _works_at(session, partner, users, history, window)
        table = func.coalesce(Case.table_id, Case.proposed_table)
        outside: dict[str, set[str]] = defaultdict(set)
        read_at = (
            select(LogEntry.actor_user, table, func.count())
            .join(Case, Case.id == LogEntry.case_id)
            .where(*reads, window.where())
            .group_by(LogEntry.actor_user, Case.table_id, Case.proposed_table)
        )
        for row in session.execute(read_at):
            user, table_id, n = str(row[0]), str(row[1]), int(row[2])
            if table_id not in works_at.get(user, set()):
                counts[user]["outside_tables"] += n
                outside[user].add(table_id)
        for user, tables in outside.items():
            if counts[user]["outside_tables"] >= s.outside_tables_minimum:
                seqs = _seqs(
                    session,
                    [*reads, LogEntry.actor_user == user, window.where(), table.in_(tables)],
                    join_case=True,
                )
                signals[user].append(
                    _signal(
                        "outside_tables",
                        counts[user]["outside_tables"],
                        seqs,
                        tables=sorted(tables),
                    )
                )

        return [
            UserSignalsOut(
                user=user,
                reads=counts[user]["volume"],
                counts=counts[user],
                signals=sorted(signals[user], key=lambda x: KINDS.index(x.kind)),
            )
            for user in users
        ]

    def _simple(
        self,
        session: Session,
        kind: SignalKind,
        where: Sequence[ColumnElement[bool]],
        counts: dict[str, dict[str, int]],
        signals: dict[str, list[SignalOut]],
    ) -> None:
        """A kind that is a count of matching entries per user, signalled at its minimum."""
        query = select(LogEntry.actor_user, func.count()).where(*where)
        for row in session.execute(query.group_by(LogEntry.actor_user)):
            user, n = str(row[0]), int(row[1])
            counts[user][kind] = n
            if n >= self._settings.minimum(kind):
                seqs = _seqs(session, [*where, LogEntry.actor_user == user])
                signals[user].append(_signal(kind, n, seqs))


def _empty(user: str) -> UserSignalsOut:
    return UserSignalsOut(user=user, reads=0, counts=dict.fromkeys(KINDS, 0), signals=[])


def _signal(
    kind: SignalKind,
    count: int,
    seqs: list[int],
    *,
    baseline: float | None = None,
    tables: Sequence[str] = (),
) -> SignalOut:
    return SignalOut(
        kind=kind,
        count=count,
        seqs=seqs,
        truncated=count > len(seqs),
        baseline=baseline,
        tables=list(tables),
    )


def _seqs(
    session: Session, where: Sequence[ColumnElement[bool]], *, join_case: bool = False
) -> list[int]:
    query: Select[Any] = select(LogEntry.seq)
    if join_case:
        query = query.join(Case, Case.id == LogEntry.case_id)
    return list(session.scalars(query.where(*where).order_by(LogEntry.seq).limit(MAX_SEQS)))


def _reads_per_period(
    session: Session,
    reads: Sequence[ColumnElement[bool]],
    starts: Sequence[int],
    history: _Window,
    window: _Window,
) -> dict[tuple[str, int], int]:
    """(user, period index) -> reads. `starts` are the history periods' starts, oldest
    first: index i is the history period starting at starts[i], index len(starts) the asked
    period. Grouped in a subquery: PostgreSQL does not take two CASE expressions with bound
    parameters as the same expression in SELECT and GROUP BY."""
    newest_first = [(LogEntry.time_us >= window.start_us, len(starts))] + [
        (LogEntry.time_us >= start, i) for i, start in reversed(list(enumerate(starts)))
    ]
    bucket = case(*newest_first, else_=-1)
    inner = (
        select(LogEntry.actor_user.label("user"), bucket.label("bucket"))
        .where(
            *reads,
            LogEntry.time_us >= history.start_us,
            LogEntry.time_us < window.end_us,
            LogEntry.seq >= history.first_seq,
            LogEntry.seq < window.end_seq,
        )
        .subquery()
    )
    query = select(inner.c.user, inner.c.bucket, func.count()).group_by(
        inner.c.user, inner.c.bucket
    )
    return {(u, int(b)): int(n) for u, b, n in session.execute(query)}


def _works_at(
    session: Session, partner: str, users: Sequence[str], history: _Window, window: _Window
) -> Mapping[str, set[str]]:
    """user -> the tables they work at (see the module's docstring)."""
    table = func.coalesce(Case.table_id, Case.proposed_table)
    acted = (
        select(LogEntry.actor_user.label("user"), table.label("table_id"))
        .join(Case, Case.id == LogEntry.case_id)
        .where(
            LogEntry.actor_partner == partner,
            LogEntry.actor_user.in_(users),
            LogEntry.action.in_(WORK_ACTIONS),
            LogEntry.outcome == Outcome.ALLOWED,
            LogEntry.time_us >= history.start_us,
            LogEntry.time_us < window.end_us,
            LogEntry.seq >= history.first_seq,
            LogEntry.seq < window.end_seq,
        )
    )
    named = [
        select(user_col.label("user"), table.label("table_id")).where(
            partner_col == partner, user_col.in_(users)
        )
        for partner_col, user_col in (
            (Case.registered_by_partner, Case.registered_by_user),
            (Case.procesregisseur_partner, Case.procesregisseur_user),
            (Case.casusregisseur_partner, Case.casusregisseur_user),
        )
    ]
    invited = (
        select(Participant.user.label("user"), table.label("table_id"))
        .join(Case, Case.id == Participant.case_id)
        .where(Participant.partner_id == partner, Participant.user.in_(users))
    )
    owner = (
        select(InterventionIndex.owner_user.label("user"), table.label("table_id"))
        .join(Case, Case.id == InterventionIndex.case_id)
        .where(InterventionIndex.owner_partner == partner, InterventionIndex.owner_user.in_(users))
    )
    found: dict[str, set[str]] = defaultdict(set)
    row: Any
    for row in session.execute(union(acted, *named, invited, owner)):
        if row[0] is not None and row[1] is not None:
            found[str(row[0])].add(str(row[1]))
    return found


def _entries(session: Session, seqs: Sequence[int]) -> list[EntryBehindOut]:
    if not seqs:
        return []
    table = func.coalesce(Case.table_id, Case.proposed_table)
    query = (
        select(LogEntry, table)
        .outerjoin(Case, Case.id == LogEntry.case_id)
        .where(LogEntry.seq.in_(seqs))
        .order_by(LogEntry.seq)
    )
    return [
        EntryBehindOut(
            seq=row.seq,
            time=utc_moment(row.time_us),
            action=row.action,
            outcome=row.outcome,
            purpose=row.purpose,
            case_id=row.case_id,
            table=table_id if row.case_id else None,
        )
        for row, table_id in session.execute(query)
    ]
