"""The hub's side of witnessing: registered witness keys, accepting and serving cosignatures,
the quorum alert, and the log's key lists (ADR 0406).

Nothing here runs in an append: cosignatures live in their own table and arrive whenever a
witness comes by, so a witness that is down slows no write (bench/witness_bench.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.checkpoints import CheckpointError
from hub.audit.entry import Action, Outcome, utc_micros
from hub.audit.log import AccessLog, Event
from hub.audit.models import Checkpoint
from hub.audit.store import consistency_proof
from hub.audit.witness import (
    note_body,
    parse_rotation,
    parse_witness_key,
    verify_cosignature_line,
    with_cosignatures,
)
from hub.audit.witness_models import Cosignature, LogKeyList, WitnessKey
from hub.db.session import Database
from hub.errors import Conflict, Forbidden, NotFound, Refusal, ValidationFailed
from hub.identity.viewer import Viewer
from hub.logging import get_logger
from hub.metrics import witness_quorum

_log = get_logger("hub.audit.witness")


class CosignatureRefused(ValidationFailed, Refusal):
    """A cosignature or key statement that does not verify, or is not the caller's: a 400
    whose access-log entry (outcome denied) commits, since a forgery is what an auditor of
    the witnesses wants to find (ADR 0406)."""


#: how far a witness's clock may run ahead of the hub's before its cosignature is refused
CLOCK_SKEW_S = 300


@dataclass(frozen=True, slots=True)
class QuorumStatus:
    """Whether the log's newest checkpoints lack a quorum of cosignatures, and for how long."""

    min_witnesses: int
    newest_size: int | None
    newest_cosignatures: int
    #: seconds the oldest checkpoint after the newest quorum-cosigned one has waited (0: none)
    waiting_s: int
    alert: bool


@dataclass(frozen=True, slots=True)
class WitnessView:
    """What a witness fetches: the newest checkpoint (with the cosignatures so far), a
    consistency proof from the size it saw last, and the log's key lists."""

    note: str
    tree_size: int
    old_size: int
    proof: list[str]
    key_lists: list[str]


def key_list_notes(session: Session) -> list[str]:
    return list(session.scalars(select(LogKeyList.note).order_by(LogKeyList.version)))


def cosigned(session: Session, checkpoint: Checkpoint) -> str:
    """The checkpoint's note with every stored cosignature appended (C2SP: one note)."""
    lines = session.scalars(
        select(Cosignature.line)
        .where(Cosignature.tree_size == checkpoint.tree_size)
        .order_by(Cosignature.witness_key_id)
    ).all()
    return with_cosignatures(checkpoint.note, lines) if lines else checkpoint.note


def cosigned_notes(session: Session) -> list[str]:
    """Every checkpoint note with its cosignatures (for the export)."""
    lines: dict[int, list[str]] = {}
    for size, line in session.execute(
        select(Cosignature.tree_size, Cosignature.line).order_by(
            Cosignature.tree_size, Cosignature.witness_key_id
        )
    ):
        lines.setdefault(size, []).append(line)
    notes = []
    for size, note in session.execute(
        select(Checkpoint.tree_size, Checkpoint.note).order_by(Checkpoint.tree_size)
    ):
        notes.append(with_cosignatures(note, lines[size]) if size in lines else note)
    return notes


class WitnessService:
    def __init__(self, db: Database, access_log: AccessLog) -> None:
        self._db = db
        self._log = access_log
        #: whether the last check alerted, to log once when the quorum is back
        self._alerting = False

    # -- registry (the hub's operator) -------------------------------------------------------

    def register(self, partner: str, vkey: str) -> int:
        """Register a partner's witness key (`vhhub audit witnesses add`)."""
        key = parse_witness_key(vkey)
        with self._db.unit_of_work() as session:
            if session.scalar(select(WitnessKey.id).where(WitnessKey.vkey == key.text)):
                raise Conflict("This witness key is already registered.")
            row = WitnessKey(partner=partner, vkey=key.text)
            session.add(row)
            session.flush()
            return row.id

    def keys(self, *, active_only: bool = True) -> list[WitnessKey]:
        with self._db.snapshot() as session:
            query = select(WitnessKey).order_by(WitnessKey.id)
            if active_only:
                query = query.where(WitnessKey.valid_until.is_(None))
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    # -- what a witness calls ------------------------------------------------------------------

    def _witness_keys(self, session: Session, viewer: Viewer, action: Action) -> list[WitnessKey]:
        keys = list(
            session.scalars(
                select(WitnessKey).where(
                    WitnessKey.partner == viewer.partner, WitnessKey.valid_until.is_(None)
                )
            )
        )
        if not keys:
            # one answer for "not a witness" whatever else the partner is; logged (Refusal)
            self._log_act(session, viewer, action, "witness: no registered witness key", False)
            raise Forbidden("This partner has no registered witness key.")
        return keys

    def _log_act(
        self, session: Session, viewer: Viewer, action: Action, reason: str, allowed: bool = True
    ) -> None:
        self._log.append(
            session,
            Event(
                action=action,
                outcome=Outcome.ALLOWED if allowed else Outcome.DENIED,
                reason=reason[:200],
            ),
            actor=viewer.actor,
            request=viewer.request,
        )

    def _refuse(self, session: Session, viewer: Viewer, why: str) -> NoReturn:
        """Log the refused cosignature or key statement (denied), then refuse with a 400."""
        self._log_act(session, viewer, Action.CHECKPOINT_SIGN, f"witness: {why}", False)
        raise CosignatureRefused(f"{why[0].upper()}{why[1:]}.")

    def view(self, viewer: Viewer, old_size: int) -> WitnessView:
        """The newest checkpoint and a consistency proof from `old_size` (logged)."""
        with self._db.unit_of_work() as session:
            self._witness_keys(session, viewer, Action.LOG_QUERY)
            self._log_act(session, viewer, Action.LOG_QUERY, "witness: latest checkpoint")
            checkpoint = self._log.fresh_checkpoint(session)
            if not 0 <= old_size <= checkpoint.tree_size:
                raise ValidationFailed("from must be at most the newest checkpoint's size.")
            proof = consistency_proof(session, old_size, checkpoint.tree_size)
            return WitnessView(
                note=cosigned(session, checkpoint),
                tree_size=checkpoint.tree_size,
                old_size=old_size,
                proof=[h.hex() for h in proof],
                key_lists=key_list_notes(session),
            )

    def add_cosignature(self, viewer: Viewer, tree_size: int, line: str) -> str:
        """Verify a witness's cosignature on checkpoint `tree_size` against the calling
        partner's registered keys, store it, and return the note with all cosignatures."""
        if not isinstance(line, str) or len(line) > 1000 or "\n" in line.rstrip("\n"):
            raise ValidationFailed("cosignature must be one signature line.")
        with self._db.unit_of_work() as session:
            keys = self._witness_keys(session, viewer, Action.CHECKPOINT_SIGN)
            checkpoint = session.get(Checkpoint, tree_size)
            if checkpoint is None:
                raise NotFound()
            body = note_body(checkpoint.note)
            for row in keys:
                key = parse_witness_key(row.vkey)
                try:
                    cosig = verify_cosignature_line(body, line, key)
                except CheckpointError:
                    self._refuse(session, viewer, "the cosignature does not verify")
                if cosig is None:
                    continue
                if cosig.timestamp > time.time() + CLOCK_SKEW_S:
                    self._refuse(
                        session,
                        viewer,
                        "the cosignature's time lies in the future",
                    )
                if session.get(Cosignature, (tree_size, row.id)) is None:
                    session.add(
                        Cosignature(
                            tree_size=tree_size,
                            witness_key_id=row.id,
                            line=cosig.line,
                            timestamp=cosig.timestamp,
                        )
                    )
                    self._log_act(
                        session,
                        viewer,
                        Action.CHECKPOINT_SIGN,
                        f"cosignature on checkpoint {tree_size} by witness {key.name}",
                    )
                session.flush()
                return cosigned(session, checkpoint)
            self._refuse(
                session,
                viewer,
                "the cosignature is not by a witness key of this partner",
            )

    def rotate_key(self, viewer: Viewer, statement: str) -> int:
        """Accept a witness's new key: the statement must be signed by the partner's current
        key (and the new one). The old key's cosignatures stay; it cosigns no more."""
        try:
            rotation = parse_rotation(statement)
        except CheckpointError:
            raise ValidationFailed("The key rotation statement does not verify.") from None
        with self._db.unit_of_work() as session:
            keys = self._witness_keys(session, viewer, Action.CHECKPOINT_SIGN)
            old = next((k for k in keys if k.vkey == rotation.old.text), None)
            if old is None:
                self._refuse(
                    session,
                    viewer,
                    "the statement's old key is not this partner's key",
                )
            if session.scalar(select(WitnessKey.id).where(WitnessKey.vkey == rotation.new.text)):
                raise Conflict("The new witness key is already registered.")
            now = datetime.now(UTC)
            old.valid_until = now
            row = WitnessKey(
                partner=viewer.partner,
                vkey=rotation.new.text,
                valid_from=now,
                rotation=statement,
            )
            session.add(row)
            self._log_act(
                session,
                viewer,
                Action.CHECKPOINT_SIGN,
                f"witness key rotated: {rotation.old.name} -> {rotation.new.name}",
            )
            session.flush()
            return row.id

    def key_lists(self) -> list[str]:
        with self._db.snapshot() as session:
            return key_list_notes(session)

    # -- the alert -------------------------------------------------------------------------------

    def quorum(self, min_witnesses: int, alert_after_s: int) -> QuorumStatus:
        """Has the log gone without `min_witnesses` cosignatures on a checkpoint for longer
        than `alert_after_s`? Measured from the first checkpoint signed after the newest one
        that has a quorum: checkpoints keep coming, so the newest is always young, and what
        matters is how long the head of the log has been without witnesses' word."""
        with self._db.snapshot() as session:
            newest = session.scalars(
                select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)
            ).one_or_none()
            if newest is None or min_witnesses <= 0:
                return QuorumStatus(min_witnesses, None, 0, 0, False)
            counts = dict(
                session.execute(
                    select(Cosignature.tree_size, func.count())
                    .group_by(Cosignature.tree_size)
                    .having(func.count() >= 1)
                ).all()
            )
            quorate = max((s for s, c in counts.items() if c >= min_witnesses), default=-1)
            waiting = session.scalars(
                select(Checkpoint)
                .where(Checkpoint.tree_size > quorate)
                .order_by(Checkpoint.tree_size)
                .limit(1)
            ).one_or_none()
            waiting_s = 0
            if waiting is not None:
                age_us = time.time_ns() // 1000 - utc_micros(waiting.signed_at)
                waiting_s = max(0, age_us // 1_000_000)
            status = QuorumStatus(
                min_witnesses=min_witnesses,
                newest_size=newest.tree_size,
                newest_cosignatures=counts.get(newest.tree_size, 0),
                waiting_s=waiting_s,
                alert=waiting is not None and waiting_s > alert_after_s,
            )
        self._report(status)
        return status

    def _report(self, status: QuorumStatus) -> None:
        witness_quorum(status.newest_cosignatures, status.waiting_s, status.alert)
        if status.alert:
            # repeated while it lasts (every check): an operator's log search finds it
            _log.warning(
                "witness_quorum_missing",
                tree_size=status.newest_size,
                cosignatures=status.newest_cosignatures,
                min_witnesses=status.min_witnesses,
                waiting_s=status.waiting_s,
            )
        elif self._alerting:
            _log.info("witness_quorum_restored", tree_size=status.newest_size)
        self._alerting = status.alert
