"""KEK rotation: re-wrap every case data key under a new key-encryption key, then retire
the old KEK versions nothing references any more.

Why it lives in the door: the disclosure package owns the case keys (`CaseKey`), and only
this package unwraps them. Payloads are never touched: a data key stays the same, only its
wrapping changes (docs/adr/0303-key-rotation.md).

Why it is shaped like this:

- **Resumable.** Keys are re-wrapped in batches, one transaction each, so an interrupted
  run keeps what it did. A second run finds rows still wrapped under an older version and
  finishes *that* rotation instead of starting another one; rows already on the current
  version are skipped.
- **Retire only what is unreferenced, under a lock.** The last step re-checks which versions
  `case_keys` still names while holding a lock that waits for every transaction which is
  inserting a case key (PostgreSQL: ``LOCK TABLE ... IN SHARE MODE``; SQLite: the write lock
  every transaction takes at BEGIN). A hub replica that wrapped a new case's key under the
  old KEK moments before the switch therefore cannot commit it after the KEK is gone.
- **Logged.** One ``key.rotate`` entry per run (the new version and the count, never a key)
  and one per retired version; an interrupted run logs what it managed as an error entry.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Actor, Event, RequestInfo
from hub.crypto.envelope import WrappedKey
from hub.crypto.errors import DecryptionError, KeyNotFound
from hub.crypto.key_pkcs11 import Pkcs11KeyProvider
from hub.crypto.keys import EnvKeyProvider, FileKeyProvider, KeyProvider, rewrap
from hub.db.base import utcnow
from hub.db.session import Database
from hub.disclosure.models import CaseKey


class Operator(Protocol):
    """What a rotation needs of the hub (a HubContext has it): database, log, key store."""

    @property
    def db(self) -> Database: ...

    @property
    def log(self) -> AccessLog: ...

    @property
    def keys(self) -> KeyProvider: ...


#: Who rotates: the operator at the command line, not a partner (NEN 7513 still wants a who).
OPERATOR_CLI: Final = Actor(partner=None, user="operator-cli")

DEFAULT_BATCH_SIZE: Final = 200
#: Time a just-created KEK is left to be seen by every hub replica before old versions are
#: retired; a replica reads the current version from the keys directory (or the PKCS#11
#: token) on every wrap.
DEFAULT_SETTLE_S: Final = 2.0

#: Providers that create and destroy KEKs themselves (`create_kek`, `retire_kek`).
_CreatesKeks = FileKeyProvider | Pkcs11KeyProvider
_Rotatable = FileKeyProvider | EnvKeyProvider | Pkcs11KeyProvider

#: Called after each committed batch with (keys re-wrapped so far, keys pending at the start).
Progress = Callable[[int, int], None]


class RotationError(Exception):
    """Rotation cannot run with this key provider; the message says what to do instead."""


ENV_PROVIDER_HELP: Final = (
    "The environment key provider holds its KEKs in your secret store, so `vhhub keys rotate` "
    "cannot create one. Rotate there: add VHHUB_KEK_<NEW_VERSION> (32 random bytes, base64url), "
    "set VHHUB_KEK_CURRENT to the new version, redeploy every replica, then run "
    "`vhhub keys rotate` again to re-wrap the case keys, and finally remove the old "
    "VHHUB_KEK_<VERSION> variables it reports as unreferenced."
)


@dataclass(frozen=True)
class RotationReport:
    """What one run did. Version ids only: they name keys, they are not keys."""

    current_version: str
    #: True when this run created `current_version`; False when it finished an earlier run.
    created: bool
    rewrapped: int
    #: Old versions deleted from the key store by this run.
    retired: tuple[str, ...] = ()
    #: Old versions no case key references any more, which this provider cannot delete
    #: itself (environment provider: remove them from the secret store).
    unreferenced: tuple[str, ...] = ()
    #: Cases whose wrapped key would not unwrap (missing KEK, damaged row): left as they were,
    #: logged as integrity errors; their KEK versions are kept.
    failed_cases: tuple[str, ...] = ()


def pending_count(ctx: Operator) -> int:
    """How many case keys are not wrapped under the current KEK (0 after a complete run)."""
    current = ctx.keys.current_kek_version()
    with ctx.db.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(CaseKey).where(CaseKey.kek_version != current)
            )
            or 0
        )


def rotate(
    ctx: Operator,
    *,
    force_new: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    settle_s: float = DEFAULT_SETTLE_S,
    progress: Progress | None = None,
) -> RotationReport:
    """Rotate the KEK (file provider) or finish re-wrapping to the current one (env provider).

    With the file provider a new KEK is created unless an earlier run was interrupted (case
    keys still on an old version), in which case that run is finished; `force_new` creates a
    new KEK regardless. Raises `RotationError` when the provider cannot rotate here.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    provider = ctx.keys
    if not isinstance(provider, _Rotatable):
        raise RotationError(
            f"{type(provider).__name__} rotates inside the key service; "
            "re-wrapping with it is not supported yet."
        )
    request = RequestInfo(request_id=uuid.uuid4().hex)
    pending = pending_count(ctx)
    created = False
    created_at = time.monotonic()
    if isinstance(provider, _CreatesKeks):
        if force_new or pending == 0:
            provider.create_kek()
            created = True
            pending = pending_count(ctx)
    elif pending == 0:
        raise RotationError(ENV_PROVIDER_HELP)
    current = provider.current_kek_version()

    run = _Run(ctx=ctx, current=current, request=request)
    try:
        _rewrap_all(run, batch_size, pending, progress)
        if created:
            # let replicas that read the old pointer just before the switch finish their wrap
            time.sleep(max(0.0, settle_s - (time.monotonic() - created_at)))
        report = _finish(run, provider, created)
    except BaseException:
        _log_interrupted(run)
        raise
    # The entries are durable; now the act. Should a deletion fail, the operator is told and
    # the next run retires the version again (it is still unreferenced).
    if isinstance(provider, _CreatesKeks):
        for version in report.retired:
            with contextlib.suppress(KeyNotFound):  # a concurrent run was faster
                provider.retire_kek(version)
    return report


@dataclass
class _Run:
    """One run's state; the counts only ever include committed work."""

    ctx: Operator
    current: str
    request: RequestInfo
    done: int = 0
    failed: list[str] = field(default_factory=list)


def _rewrap_all(run: _Run, batch_size: int, pending: int, progress: Progress | None) -> None:
    """Walk the keys not on the current version in case-id order, one transaction per batch."""
    after = ""
    while True:
        done, failed = 0, []
        with run.ctx.db.transaction() as session:
            rows = list(
                session.scalars(
                    select(CaseKey)
                    .where(CaseKey.kek_version != run.current, CaseKey.case_id > after)
                    .order_by(CaseKey.case_id)
                    .limit(batch_size)
                    .with_for_update()
                )
            )
            if not rows:
                return
            for row in rows:
                if _rewrap_row(run, session, row):
                    done += 1
                else:
                    failed.append(row.case_id)
            after = rows[-1].case_id
        run.done += done
        run.failed += failed
        if progress is not None:
            progress(run.done, pending)


def _rewrap_row(run: _Run, session: Session, row: CaseKey) -> bool:
    """Re-wrap one row in place; on a key that will not unwrap, log it and leave the row."""
    try:
        wrapped = rewrap(run.ctx.keys, WrappedKey.from_bytes(row.wrapped), case_id=row.case_id)
    except (DecryptionError, KeyNotFound, ValueError):
        run.ctx.log.append(
            session,
            Event(
                action=Action.INTEGRITY_ERROR,
                outcome=Outcome.ERROR,
                case_id=row.case_id,
                object_ids=["case-key"],
                reason="case key did not unwrap during kek rotation; left as it was",
            ),
            actor=OPERATOR_CLI,
            request=run.request,
        )
        return False
    row.wrapped = wrapped.to_bytes()
    row.kek_version = wrapped.kek_version
    row.rewrapped_at = utcnow()
    return True


def _lock_case_keys(session: Session) -> None:
    """Wait for every transaction that is inserting or changing a case key, and hold them off.

    SHARE mode conflicts with the ROW EXCLUSIVE lock an INSERT/UPDATE/DELETE takes, but lets
    readers through. SQLite needs nothing: BEGIN IMMEDIATE already made us the only writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE case_keys IN SHARE MODE"))
    else:
        session.execute(select(CaseKey.case_id).limit(1))  # begins the write transaction


def _finish(run: _Run, provider: _Rotatable, created: bool) -> RotationReport:
    """Under the lock: re-wrap stragglers, find the unreferenced versions, log the run.

    Returns once the entries are committed; the caller deletes the retired KEK files. Once
    the lock is released nothing can newly reference an old version: every wrap since the
    settle time has used the current one.
    """
    ctx, current = run.ctx, run.current
    done, failed = run.done, list(run.failed)
    with ctx.db.transaction() as session:
        _lock_case_keys(session)
        stragglers = select(CaseKey).where(CaseKey.kek_version != current)
        if failed:
            stragglers = stragglers.where(CaseKey.case_id.not_in(failed))
        for row in session.scalars(stragglers):
            if _rewrap_row(run, session, row):
                done += 1
            else:
                failed.append(row.case_id)
        session.flush()
        referenced = set(session.scalars(select(CaseKey.kek_version).distinct()))
        unused = tuple(v for v in provider.kek_versions() if v != current and v not in referenced)
        retired = unused if isinstance(provider, _CreatesKeks) else ()
        for version in retired:
            ctx.log.append(
                session,
                Event(
                    action=Action.KEY_ROTATE,
                    outcome=Outcome.ALLOWED,
                    object_ids=[version],
                    reason="kek version retired: no case key references it",
                ),
                actor=OPERATOR_CLI,
                request=run.request,
            )
        verb = "kek rotated" if created else "kek rotation resumed"
        reason = f"{verb}: {done} case keys rewrapped"
        if failed:
            reason += f", {len(failed)} failed"
        ctx.log.append(
            session,
            Event(
                action=Action.KEY_ROTATE,
                outcome=Outcome.ERROR if failed else Outcome.ALLOWED,
                object_ids=[current],
                reason=reason,
            ),
            actor=OPERATOR_CLI,
            request=run.request,
        )
    run.done, run.failed = done, failed
    return RotationReport(
        current_version=current,
        created=created,
        rewrapped=done,
        retired=retired,
        unreferenced=() if retired else unused,
        failed_cases=tuple(failed),
    )


def _log_interrupted(run: _Run) -> None:
    """Best effort: record that a run stopped part-way and how far it got.

    The batches it committed are real changes; an auditor should find them in the log even
    though the run never reached its closing entry. If the database itself is what failed,
    this fails too, and the original error is what the operator sees.
    """
    with contextlib.suppress(Exception), run.ctx.db.transaction() as session:
        run.ctx.log.append(
            session,
            Event(
                action=Action.KEY_ROTATE,
                outcome=Outcome.ERROR,
                object_ids=[run.current],
                reason=f"kek rotation interrupted: {run.done} case keys rewrapped; run it again",
            ),
            actor=OPERATOR_CLI,
            request=run.request,
        )
