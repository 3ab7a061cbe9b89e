"""Retention: crypto-shred cases whose retention deadline has passed, unless on legal hold.

Why crypto-shredding and not deleting rows: the access log must keep naming the facts, the
case and the pseudonyms it recorded (an auditor still has to answer "who saw what about this
person, and when"), while the content must become unreadable for everyone. Deleting the
case's wrapped data key does exactly that in one small write: every fact, subject identifier,
reason and plan of the case was sealed under that key (docs/adr/0006-retention.md).

What one shred does, in one transaction per case, so a failure halfway leaves the case as it
was and a run can be repeated:

- delete the `CaseKey` row (the wrapped data key) -- the crypto-shred itself;
- delete the case's `SubjectIndex` rows, so screening no longer matches the people in it;
- mark the case ``shredded`` with ``shredded_at``; the API then answers 410 for it;
- append a ``case.shred`` entry (case id, pseudonyms, "retention deadline passed").

Remnants: on SQLite the shred runs with ``secure_delete`` on and the run ends with a WAL
checkpoint, so the wrapped key's bytes leave the database file and the WAL. PostgreSQL keeps
dead tuples until vacuum, and backups keep what they hold; both only ever held the data key
*wrapped*, so the next KEK rotation (`vhhub keys rotate`) makes those remnants unreadable too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Actor, Event, RequestInfo
from hub.cases.models import Case, SubjectIndex
from hub.db.session import Database
from hub.disclosure.models import CaseKey
from hub.vocabulary import CaseStatus


class Operator(Protocol):
    """What retention needs of the hub (a HubContext has it): the database and the log."""

    @property
    def db(self) -> Database: ...

    @property
    def log(self) -> AccessLog: ...


#: Who runs retention and sets holds: the operator (or a scheduled job) at the command line.
OPERATOR_CLI: Final = Actor(partner=None, user="operator-cli")

SHRED_REASON: Final = "retention deadline passed"
HOLD_SET_REASON: Final = "legal hold set"
HOLD_RELEASED_REASON: Final = "legal hold released"
SHREDDED: Final = CaseStatus.SHREDDED


#: Told after each due case is dealt with: (due cases examined so far, due cases in the run).
#: It only watches; the run does the same with or without it.
RetentionProgress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default `RetentionProgress`: nobody is watching."""


class RetentionError(Exception):
    """An operator request that cannot be carried out; the message says why (no content)."""


@dataclass(frozen=True)
class DueCase:
    """A case past its retention deadline: metadata only, as a dry run lists it."""

    case_id: str
    status: str
    retention_until: datetime
    legal_hold: bool


@dataclass(frozen=True)
class RetentionReport:
    """What a run found and did. `due` excludes held cases; `held` lists them apart."""

    now: datetime
    dry_run: bool
    due: tuple[DueCase, ...]
    held: tuple[DueCase, ...]
    shredded: tuple[str, ...] = ()
    #: Due cases that changed under the run (shredded or put on hold meanwhile): skipped.
    skipped: tuple[str, ...] = ()
    #: SQLite only: whether the closing WAL checkpoint could empty the WAL file.
    wal_truncated: bool | None = None


@dataclass(frozen=True)
class HoldResult:
    case_id: str
    legal_hold: bool
    #: False when the case already was in the requested state (nothing logged then).
    changed: bool
    retention_until: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def find_due(session: Session, now: datetime) -> tuple[list[DueCase], list[DueCase]]:
    """Cases whose deadline has passed and that are not shredded yet: (due, on legal hold)."""
    rows = session.scalars(
        select(Case)
        .where(
            Case.retention_until.is_not(None),
            Case.retention_until <= now,
            Case.status != SHREDDED,
        )
        .order_by(Case.retention_until, Case.id)
    )
    due: list[DueCase] = []
    held: list[DueCase] = []
    for case in rows:
        assert case.retention_until is not None  # the query says so
        item = DueCase(case.id, case.status, case.retention_until, case.legal_hold)
        (held if case.legal_hold else due).append(item)
    return due, held


def run_retention(
    ctx: Operator,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: RetentionProgress = no_progress,
) -> RetentionReport:
    """Shred every due case not on legal hold (one transaction each) and log the run.

    A dry run reads only: it writes nothing, not even a log entry, so it can be run as often
    as an operator likes to see what the next run would do. `progress` is told how many of
    the due cases have been examined (shredded or skipped), after each one.
    """
    now = now or _now()
    with ctx.db.transaction() as session:
        due, held = find_due(session, now)
    if dry_run:
        progress(len(due), len(due))
        return RetentionReport(now=now, dry_run=True, due=tuple(due), held=tuple(held))
    request = RequestInfo(request_id=uuid.uuid4().hex)
    shredded: list[str] = []
    skipped: list[str] = []
    progress(0, len(due))
    for examined, item in enumerate(due, start=1):
        (shredded if shred_case(ctx, item.case_id, now=now, request=request) else skipped).append(
            item.case_id
        )
        progress(examined, len(due))
    with ctx.db.transaction() as session:
        ctx.log.append(
            session,
            Event(
                action=Action.RETENTION_RUN,
                outcome=Outcome.ALLOWED,
                object_ids=shredded[:200],
                reason=(
                    f"retention run: {len(shredded)} shredded, {len(held)} on legal hold, "
                    f"{len(skipped)} skipped"
                ),
            ),
            actor=OPERATOR_CLI,
            request=request,
        )
    return RetentionReport(
        now=now,
        dry_run=False,
        due=tuple(due),
        held=tuple(held),
        shredded=tuple(shredded),
        skipped=tuple(skipped),
        wal_truncated=_checkpoint_sqlite(ctx) if shredded else None,
    )


def shred_case(
    ctx: Operator, case_id: str, *, now: datetime, request: RequestInfo | None = None
) -> bool:
    """Crypto-shred one case if it is (still) due; True when it was shredded.

    The conditions are checked again under a row lock, so a hold set or a shred done by
    someone else between listing and shredding wins.
    """
    request = request or RequestInfo(request_id=uuid.uuid4().hex)
    with ctx.db.transaction() as session:
        case = session.get(Case, case_id, with_for_update=True)
        if (
            case is None
            or case.status == SHREDDED
            or case.legal_hold
            or case.retention_until is None
            or case.retention_until > now
        ):
            return False
        _secure_delete(session)
        pseudonyms = sorted(
            set(session.scalars(select(SubjectIndex.value).where(SubjectIndex.case_id == case.id)))
        )
        session.execute(delete(CaseKey).where(CaseKey.case_id == case.id))
        session.execute(delete(SubjectIndex).where(SubjectIndex.case_id == case.id))
        case.status = SHREDDED
        case.shredded_at = _now()
        ctx.log.append(
            session,
            Event(
                action=Action.CASE_SHRED,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                subject_pseudonyms=pseudonyms,
                object_ids=[case.id],
                reason=SHRED_REASON,
            ),
            actor=OPERATOR_CLI,
            request=request,
        )
    return True


def set_legal_hold(ctx: Operator, case_id: str, *, hold: bool) -> HoldResult:
    """Put a case on legal hold (it is never shredded while held) or release it; logged.

    There is no dedicated action for holds in the log vocabulary, so the entry is a
    ``retention.run`` with the reason "legal hold set" / "legal hold released".
    """
    with ctx.db.transaction() as session:
        case = session.get(Case, case_id, with_for_update=True) if _plausible(case_id) else None
        if case is None:
            raise RetentionError("no case with this id")
        if case.status == SHREDDED:
            raise RetentionError("the case is already shredded; there is nothing left to hold")
        if case.legal_hold == hold:
            return HoldResult(case.id, hold, changed=False, retention_until=case.retention_until)
        case.legal_hold = hold
        ctx.log.append(
            session,
            Event(
                action=Action.RETENTION_RUN,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                object_ids=[case.id],
                reason=HOLD_SET_REASON if hold else HOLD_RELEASED_REASON,
            ),
            actor=OPERATOR_CLI,
            request=RequestInfo(request_id=uuid.uuid4().hex),
        )
        return HoldResult(case.id, hold, changed=True, retention_until=case.retention_until)


def _secure_delete(session: Session) -> None:
    """SQLite: overwrite deleted content with zeros, so the wrapped key leaves the file.

    Per connection; it stays on for this pooled connection, which only makes its later
    deletes a little slower.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")


def _checkpoint_sqlite(ctx: Operator) -> bool | None:
    """SQLite: copy the WAL into the database and empty it, so no old page with a wrapped
    key stays in the WAL file. Returns False when a reader kept it from finishing (the next
    checkpoint will), None on other databases."""
    if ctx.db.dialect != "sqlite":
        return None
    # The raw driver connection, outside any transaction: a checkpoint cannot run inside
    # one, and SQLAlchemy's autobegin (BEGIN IMMEDIATE here) would open one.
    raw = ctx.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    return row is not None and int(row[0]) == 0


def _plausible(case_id: str) -> bool:
    return 0 < len(case_id) <= 36 and all(c.isalnum() or c == "-" for c in case_id)
