"""The auditor's tools: checkpoints, proofs, queries, exports, live verification and the
data-subject access report. Every query an auditor makes is itself logged."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.audit.checkpoints import CheckpointError, peek_checkpoint_unsafe
from hub.audit.entry import Action, Outcome, utc_micros, utc_moment
from hub.audit.log import AccessLog, Event
from hub.audit.merkle import CompactRange, ProofError
from hub.audit.models import Checkpoint, LogEntry, LogHead, LogSubject
from hub.audit.proof_check import InclusionCheck, ProofInput, check_inclusion, cosigners
from hub.audit.report import ReportHead, Summary, Wording, render_html, render_jsonl
from hub.audit.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    EntryDetailOut,
    EntryOut,
    EntryPage,
    InclusionCheckOut,
    InclusionProofOut,
    LogKeysOut,
    LogStatusOut,
    SubjectIdentifiers,
    VerificationOut,
)
from hub.audit.store import (
    consistency_proof,
    inclusion_proof,
    iter_rows,
    log_size,
    row_json,
)
from hub.audit.subject_report import SubjectReportBuilder
from hub.audit.verify import (
    ExportHeader,
    TailRule,
    VerifyProgress,
    VerifyReport,
    WitnessRule,
    export_lines,
    no_progress,
    verify_export,
)
from hub.audit.witness_models import WitnessKey
from hub.audit.witness_service import (
    WitnessService,
    cosigned,
    cosigned_notes,
    key_list_notes,
)
from hub.cases.intake import subject_pseudonyms
from hub.cases.schemas import SubjectIn
from hub.crypto.blind_index import BlindIndexer
from hub.crypto.signing import SigningKey
from hub.db.session import Database
from hub.errors import NotFound, ValidationFailed
from hub.facts.catalog import FactTypeCatalog
from hub.gate.gate import Gate
from hub.identity.viewer import Viewer

MAX_PAGE = 1000


@dataclass(frozen=True)
class ReportSettings:
    """What the data-subject access report needs besides the log (ADR 0403)."""

    catalog: FactTypeCatalog
    #: partner id -> the organisation's name, as the network file gives it
    partner_names: dict[str, str]
    retention_closed_days: int
    retention_rejected_days: int


@dataclass(frozen=True)
class EntryFilter:
    case_id: str | None = None
    partner: str | None = None
    user: str | None = None
    action: str | None = None
    outcome: str | None = None
    purpose: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any], session: Session) -> Select[Any]:
        if self.case_id:
            query = query.where(LogEntry.case_id == self.case_id)
        if self.partner:
            query = query.where(LogEntry.actor_partner == self.partner)
        if self.user:
            query = query.where(LogEntry.actor_user == self.user)
        if self.action:
            query = query.where(LogEntry.action == self.action)
        if self.outcome:
            query = query.where(LogEntry.outcome == self.outcome)
        if self.purpose:
            query = query.where(LogEntry.purpose == self.purpose)
        if self.since:
            since = _micros(self.since)
            query = query.where(
                LogEntry.time_us >= since, LogEntry.seq >= first_seq_at(session, since)
            )
        if self.until:
            until = _micros(self.until)
            query = query.where(
                LogEntry.time_us < until, LogEntry.seq < first_seq_at(session, until)
            )
        return query

    def described(self) -> str:
        named = [k for k, v in self.__dict__.items() if v is not None]
        return "query by " + (", ".join(named) if named else "nothing (all entries)")


def first_seq_at(session: Session, time_us: int) -> int:
    """The first entry at or after `time_us` (the log's size if there is none).

    The appender never lets time go backwards, so a time range is also a seq range: bounding
    seq lets every (column, seq) index serve a filter with a time range, instead of scanning
    a partner's or an action's whole history for the few entries inside the window."""
    first = session.scalar(
        select(LogEntry.seq)
        .where(LogEntry.time_us >= time_us)
        .order_by(LogEntry.time_us, LogEntry.seq)
        .limit(1)
    )
    if first is not None:
        return first
    return session.scalar(select(LogHead.size).where(LogHead.id == 1)) or 0


def _micros(moment: datetime) -> int:
    """Integer microseconds as the entries hold them, without float arithmetic; naive = UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return utc_micros(moment)


def entry_out(row: LogEntry) -> EntryOut:
    return EntryOut(
        time=utc_moment(row.time_us),
        leaf_hash=row.leaf_hash.hex(),
        **{k: v for k, v in row_json(row).items() if k != "time_us"},
    )


class AuditService:
    def __init__(
        self,
        db: Database,
        gate: Gate,
        access_log: AccessLog,
        indexer: BlindIndexer,
        report: ReportSettings,
    ) -> None:
        self._db = db
        self._gate = gate
        self._log_store = access_log
        self._indexer = indexer
        self._report = report
        self._wording = Wording(report.catalog, report.partner_names)
        #: witnesses and their cosignatures, key lists (ADR 0406)
        self.witnesses = WitnessService(db, access_log)

    def _authorize(self, session: Session, viewer: Viewer, action: str) -> str:
        return self._gate.authorize(session, viewer, action).policy_version

    def _log(
        self,
        session: Session,
        viewer: Viewer,
        action: Action,
        *,
        reason: str,
        version: str,
        case_id: str | None = None,
        pseudonyms: Sequence[str] = (),
    ) -> None:
        self._log_store.append(
            session,
            Event(
                action=action,
                outcome=Outcome.ALLOWED,
                case_id=case_id,
                reason=reason[:200],
                subject_pseudonyms=pseudonyms,
                policy_version=version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )

    # -- checkpoints and proofs ---------------------------------------------------------------

    def _checkpoint_out(
        self, checkpoint: Checkpoint, session: Session | None = None
    ) -> CheckpointOut:
        """The checkpoint as the API hands it out: with a session, its note carries the
        witnesses' cosignatures (C2SP: one note, signature lines appended)."""
        out = CheckpointOut.of(checkpoint, self._log_store.signer.verifier_key)
        if session is not None:
            out.note = cosigned(session, checkpoint)
        return out

    def latest_checkpoint(self, viewer: Viewer) -> CheckpointOut:
        """The newest signed checkpoint, at most one checkpoint interval old (any
        authenticated partner may witness it).

        The read is logged like every other, and first: so the answer, when signed anew,
        covers the read itself, and a stale checkpoint always has a larger size to give way to.
        No policy decides (every partner may keep the log's head), so the entry names none."""
        with self._db.unit_of_work() as session:
            self._log_store.append(
                session,
                Event(
                    action=Action.LOG_QUERY,
                    outcome=Outcome.ALLOWED,
                    reason="latest checkpoint",
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return self._checkpoint_out(self._log_store.fresh_checkpoint(session), session)

    def sign_checkpoint(self, viewer: Viewer) -> CheckpointOut:
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            self._log(
                session,
                viewer,
                Action.CHECKPOINT_SIGN,
                reason="checkpoint on request",
                version=version,
            )
            return self._checkpoint_out(self._log_store.sign_checkpoint_now(session))

    def inclusion(self, viewer: Viewer, seq: int, tree_size: int | None) -> InclusionProofOut:
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            row = session.get(LogEntry, seq)
            if row is None:
                raise NotFound()
            if tree_size is not None:
                checkpoint = session.get(Checkpoint, tree_size)
                if checkpoint is None or tree_size <= seq:
                    raise ValidationFailed("tree_size must be a signed checkpoint's size > seq.")
            else:
                checkpoint = self._log_store.covering_checkpoint(session, seq + 1)
            proof = inclusion_proof(session, seq, checkpoint.tree_size)
            self._log(
                session,
                viewer,
                Action.LOG_QUERY,
                reason=f"inclusion proof of {seq}",
                version=version,
            )
            return InclusionProofOut(
                seq=seq,
                tree_size=checkpoint.tree_size,
                leaf_hash=row.leaf_hash.hex(),
                proof=[h.hex() for h in proof],
                checkpoint=self._checkpoint_out(checkpoint, session),
            )

    def consistency(self, viewer: Viewer, old_size: int, new_size: int) -> ConsistencyProofOut:
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            if not 0 <= old_size <= new_size <= log_size(session):
                raise ValidationFailed("Need 0 <= old_size <= new_size <= the log's size.")
            proof = consistency_proof(session, old_size, new_size)
            self._log(
                session,
                viewer,
                Action.LOG_QUERY,
                reason=f"consistency proof {old_size} -> {new_size}",
                version=version,
            )
            return ConsistencyProofOut(
                old_size=old_size, new_size=new_size, proof=[h.hex() for h in proof]
            )

    # -- queries --------------------------------------------------------------------------------

    def entries(
        self, viewer: Viewer, where: EntryFilter, cursor: int | None, limit: int
    ) -> EntryPage:
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            query = where.apply(select(LogEntry), session)
            if cursor is not None:
                query = query.where(LogEntry.seq > cursor)
            rows = session.scalars(query.order_by(LogEntry.seq).limit(limit + 1)).all()
            page = rows[:limit]
            self._log(
                session,
                viewer,
                Action.LOG_QUERY,
                reason=where.described(),
                version=version,
                case_id=where.case_id,
            )
            return EntryPage(
                entries=[entry_out(r) for r in page],
                next_cursor=page[-1].seq if len(rows) > limit else None,
            )

    def _pseudonyms(self, identifiers: SubjectIdentifiers) -> list[str]:
        subject = SubjectIn(role_in_case="subject", **identifiers.model_dump())
        return sorted(subject_pseudonyms(self._indexer, subject).values())

    def _subject_query(self, pseudonyms: Sequence[str]) -> Select[Any]:
        seqs = select(LogSubject.seq).where(LogSubject.pseudonym.in_(pseudonyms))
        return select(LogEntry).where(LogEntry.seq.in_(seqs))

    def subject_entries(
        self, viewer: Viewer, identifiers: SubjectIdentifiers, cursor: int | None, limit: int
    ) -> EntryPage:
        pseudonyms = self._pseudonyms(identifiers)
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            query = self._subject_query(pseudonyms)
            if cursor is not None:
                query = query.where(LogEntry.seq > cursor)
            rows = session.scalars(query.order_by(LogEntry.seq).limit(limit + 1)).all()
            page = rows[:limit]
            self._log(
                session,
                viewer,
                Action.LOG_QUERY,
                reason="query by subject",
                version=version,
                pseudonyms=pseudonyms,
            )
            return EntryPage(
                entries=[entry_out(r) for r in page],
                next_cursor=page[-1].seq if len(rows) > limit else None,
            )

    # -- one entry, checked; the log's status ---------------------------------------------------

    def entry_detail(self, viewer: Viewer, seq: int) -> EntryDetailOut:
        """One entry with its inclusion proof in a signed checkpoint, and the hub's own check
        of that proof (what the auditor's entry page shows). One logged query."""
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            row = session.get(LogEntry, seq)
            if row is None:
                raise NotFound()
            checkpoint = self._log_store.covering_checkpoint(session, seq + 1)
            proof = inclusion_proof(session, seq, checkpoint.tree_size)
            self._log(
                session,
                viewer,
                Action.LOG_QUERY,
                reason=f"entry {seq} with inclusion proof",
                version=version,
                case_id=row.case_id,
            )
            stored = row_json(row)
            inclusion = InclusionProofOut(
                seq=seq,
                tree_size=checkpoint.tree_size,
                leaf_hash=row.leaf_hash.hex(),
                proof=[h.hex() for h in proof],
                checkpoint=self._checkpoint_out(checkpoint, session),
            )
            entry = entry_out(row)
        check = self.check_inclusion(stored, inclusion)
        return EntryDetailOut(
            entry=entry,
            inclusion=inclusion,
            check=InclusionCheckOut(
                ok=check.ok,
                tree_size=check.tree_size,
                problem=None if check.problem is None else check.problem.value,
            ),
        )

    def check_inclusion(
        self, entry: dict[str, Any], inclusion: InclusionProofOut
    ) -> InclusionCheck:
        """Check an entry (export form) and its proof against the signed checkpoint, under
        the hub's verifier key and origin (hub/audit/proof_check.py)."""
        given = ProofInput(
            entry=entry,
            leaf_hash=inclusion.leaf_hash,
            proof=inclusion.proof,
            tree_size=inclusion.tree_size,
            note=inclusion.checkpoint.note,
        )
        signer = self._log_store.signer
        lists = self.witnesses.key_lists()
        return check_inclusion(given, signer.verifier_key, signer.origin, lists)

    def verify_recorded(self, viewer: Viewer) -> VerificationOut:
        """Verify the live log (`verify_live`) for an auditor and record the verdict as a
        `log.verify` entry, so the status page can say when the log was last verified and
        with what result. The auditor is checked first (a refusal is logged by the gate)."""
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
        # Verify the log exactly as found: signing a checkpoint first would cover whatever
        # the database holds now, an edited head and rows included, and so hide from this
        # very check the tampering it exists to find. A running hub covers its tail within
        # the checkpoint interval itself (sign_if_stale).
        return self.record_verification(self.verify_live(), viewer, policy_version=version)

    def record_verification(
        self,
        report: VerifyReport,
        viewer: Viewer | None = None,
        *,
        policy_version: str | None = None,
    ) -> VerificationOut:
        """Append a `log.verify` entry with the verdict of a live verification (by an
        auditor, or with `viewer` None by the operator's `vhhub audit verify` on the
        database). The reason holds counts and a position, never content."""
        reason = (
            f"live verification: {'ok' if report.ok else 'failed'}; "
            f"{report.entries_checked} entries; {report.checkpoints_checked} checkpoints"
        )
        if report.first_broken_seq is not None:
            reason += f"; first broken seq {report.first_broken_seq}"
        with self._db.unit_of_work() as session:
            entry = self._log_store.append(
                session,
                Event(
                    action=Action.LOG_VERIFY,
                    outcome=Outcome.ALLOWED,
                    reason=reason,
                    policy_version=policy_version,
                ),
                actor=viewer.actor if viewer is not None else _operator(),
                request=viewer.request if viewer is not None else _cli_request(),
            )
            row = session.get(LogEntry, entry.seq)
            if row is None:  # pragma: no cover - appended in this very transaction
                raise NotFound()
            return _verification_out(row)

    def status(self, viewer: Viewer) -> LogStatusOut:
        """The log's size, newest checkpoint (not signed anew: its age is the point), the
        newest recorded verification and the witnesses that cosigned. One logged query."""
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "read_log")
            self._log(
                session, viewer, Action.LOG_QUERY, reason="verification status", version=version
            )
            size = log_size(session)
            newest = session.scalars(
                select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)
            ).one_or_none()
            verified = session.scalars(
                select(LogEntry)
                .where(LogEntry.action == Action.LOG_VERIFY.value)
                .order_by(LogEntry.seq.desc())
                .limit(1)
            ).one_or_none()
            checkpoint = self._checkpoint_out(newest, session) if newest is not None else None
            last = _verification_out(verified) if verified is not None else None
        age = None
        if checkpoint is not None:
            age = max(0, int((datetime.now(UTC) - _aware(checkpoint.signed_at)).total_seconds()))
        key = self._log_store.signer.verifier_key
        return LogStatusOut(
            size=size,
            checkpoint=checkpoint,
            checkpoint_age_s=age,
            last_verification=last,
            cosigners=cosigners(checkpoint.note, key) if checkpoint is not None else [],
        )

    # -- export and verification -----------------------------------------------------------------

    def _header(self, session: Session, verifier_key: str | None = None) -> ExportHeader:
        return ExportHeader(
            origin=self._log_store.signer.origin,
            verifier_key=verifier_key or self._log_store.signer.verifier_key,
            key_lists=tuple(key_list_notes(session)),
            witness_rotations=tuple(witness_rotation_statements(session)),
        )

    def export_full(self, viewer: Viewer | None) -> Iterator[str]:
        """The whole log in the verifiable export format (header, entries, checkpoints).

        The export is itself logged first (by the auditor, or by the operator's CLI)."""
        with self._db.unit_of_work() as session:
            if viewer is not None:
                version = self._authorize(session, viewer, "export_log")
                self._log(
                    session,
                    viewer,
                    Action.LOG_EXPORT,
                    reason="full verifiable export",
                    version=version,
                )
            else:
                self._log_store.append(
                    session,
                    Event(
                        action=Action.LOG_EXPORT,
                        outcome=Outcome.ALLOWED,
                        reason="full verifiable export by the operator (CLI)",
                    ),
                    actor=_operator(),
                    request=_cli_request(),
                )
            self._log_store.sign_checkpoint_now(session)
        # not a generator itself: the check and the log entry above happen on the call, so
        # a refusal is a 403 and not a broken stream after a 200
        return self._stream_full()

    def _stream_full(self) -> Iterator[str]:
        with self._db.snapshot() as session:  # no lock: the hub keeps writing meanwhile
            notes = cosigned_notes(session)
            rows = ((row_json(r), r.leaf_hash) for r in iter_rows(session))
            yield from export_lines(rows, notes, self._header(session))

    def export_entries(self, viewer: Viewer, where: EntryFilter, fmt: str) -> Iterator[str]:
        """Query results as JSON Lines or CSV (for analysis; not the verifiable format)."""
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "export_log")
            self._log(
                session,
                viewer,
                Action.LOG_EXPORT,
                reason=f"{fmt} {where.described()}",
                version=version,
                case_id=where.case_id,
            )
        return self._stream_entries(where, fmt)  # checked and logged on the call, as above

    def _stream_entries(self, where: EntryFilter, fmt: str) -> Iterator[str]:
        with self._db.snapshot() as session:
            rows = session.scalars(where.apply(select(LogEntry), session).order_by(LogEntry.seq))
            if fmt == "csv":
                columns = list(EntryOut.model_fields)
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                writer.writerow(columns)
                yield _drain(buffer)
                for row in rows:
                    data = entry_out(row).model_dump(mode="json")
                    writer.writerow(_csv_cell(data[c]) for c in columns)
                    yield _drain(buffer)
            else:
                for row in rows:
                    yield entry_out(row).model_dump_json() + "\n"

    def verify_live(
        self,
        verifier_key_text: str | None = None,
        trusted_checkpoints: Iterable[str] = (),
        *,
        allow_unsigned_tail: bool = False,
        progress: VerifyProgress = no_progress,
        witness_rule: WitnessRule | None = None,
    ) -> VerifyReport:
        """Verify the database's log with only a public verifier key, and against the log
        head, whose size and Merkle frontier also commit to the entries not yet covered by a
        checkpoint (so removing or rewriting those is caught too).

        Entries left uncovered for longer than the hub's checkpoint interval (and its grace)
        fail, measured against the clock (ADR 0401, "Coverage"), unless
        `allow_unsigned_tail`. Each checkpoint row's `tree_size` and `root_hash` columns must
        be what its signed note says: the API hands out the columns (proofs are built against
        `tree_size`), so a row edited beside its note would mislead whoever trusts them.

        `verifier_key_text` is the key the auditor pinned out of band; without it the hub's
        own current key is used, which cannot catch a log re-signed with a swapped key file.
        `trusted_checkpoints` (kept from an earlier audit or a witness) catch a database
        rolled back to an older copy, as in `verify_export`. Raises `CheckpointError` for a
        malformed key or a supplied checkpoint that does not verify."""
        key = verifier_key_text or self._log_store.signer.verifier_key
        # one snapshot for the head and every row, however long the pass takes, and no lock
        tail = TailRule(
            interval_s=self._log_store.checkpoint_interval_s,
            now_us=time.time_ns() // 1000,
            allow=allow_unsigned_tail,
        )
        with self._db.snapshot() as session:
            head = session.get(LogHead, 1)
            stored = list(
                session.execute(
                    select(Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.note).order_by(
                        Checkpoint.tree_size
                    )
                )
            )
            notes = cosigned_notes(session)
            rows = ((row_json(r), r.leaf_hash) for r in iter_rows(session))
            header = self._header(session, self._listed_key(session, key))
            report = verify_export(
                export_lines(rows, notes, header),
                key,
                trusted_checkpoints=trusted_checkpoints,
                tail=tail,
                progress=progress,
                expected_entries=head.size if head is not None else None,
                witness_rule=witness_rule,
            )
            report = _against_checkpoint_rows(report, [(s, bytes(r), n) for s, r, n in stored])
            return _against_head(report, head)

    def _listed_key(self, session: Session, pinned: str) -> str:
        """The header's key for a live pass: the pinned key itself (a log never rotated, or
        an auditor who pinned the current key), else the hub's current key, which the
        verifier then has to find in the key lists it follows from the pinned key."""
        return pinned if not key_list_notes(session) else self._log_store.signer.verifier_key

    def rotate_log_key(self, new_key: SigningKey) -> str:
        """Rotate the checkpoint signing key (`vhhub keys rotate-log-key`): log the act, sign
        the old key's last checkpoint, publish the next key list. Returns the new vkey."""
        with self._db.unit_of_work() as session:
            self._log_store.append(
                session,
                Event(
                    action=Action.CHECKPOINT_SIGN,
                    outcome=Outcome.ALLOWED,
                    reason="checkpoint key rotated by the operator (CLI)",
                ),
                actor=_operator(),
                request=_cli_request(),
            )
            self._log_store.rotate_key(session, new_key)
        return self._log_store.signer.verifier_key

    def log_keys(self) -> LogKeysOut:
        """Public keys only: nothing to authorise beyond authentication, nothing logged."""
        with self._db.snapshot() as session:
            return LogKeysOut(
                verifier_key=self._log_store.signer.verifier_key,
                key_lists=key_list_notes(session),
                witness_keys=list(
                    session.scalars(
                        select(WitnessKey.vkey)
                        .where(WitnessKey.valid_until.is_(None))
                        .order_by(WitnessKey.id)
                    )
                ),
                witness_rotations=witness_rotation_statements(session),
            )

    # -- data-subject access report (AVG art. 15) ----------------------------------------------

    def subject_report(
        self, viewer: Viewer, identifiers: SubjectIdentifiers, *, fmt: str = "jsonl"
    ) -> Iterator[str]:
        """The person's access report, streamed as JSON Lines (with inclusion proofs) or as
        an HTML page (ADR 0403).

        On the call, in one short transaction: check the viewer, log the report (naming the
        person's pseudonyms) and sign a checkpoint over the whole log, then commit -- the
        head lock is held for milliseconds, as by any write. The returned stream then reads
        one snapshot without any lock, bounded by that checkpoint: every other request goes
        on meanwhile, and nothing written after the checkpoint shows up. Bad identifiers are
        a 400 before anything is logged; a refusal is a 403 before the stream starts."""
        pseudonyms = self._pseudonyms(identifiers)
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer, "subject_access_report")
            self._log(
                session,
                viewer,
                Action.SUBJECT_ACCESS_REPORT,
                reason="data-subject access report (AVG art. 15)",
                version=version,
                pseudonyms=pseudonyms,
            )
            checkpoint = self._checkpoint_out(self._log_store.sign_checkpoint_now(session))
        return self.stream_subject_report(pseudonyms, checkpoint, fmt=fmt)

    def subject_report_pdf(self, viewer: Viewer, identifiers: SubjectIdentifiers) -> bytes:
        """The same report as a PDF (WeasyPrint, nothing fetched): checked and logged exactly
        as the HTML report, then rendered from the standalone HTML."""
        from hub.audit.pdf import html_to_pdf  # WeasyPrint loads slowly: only when asked

        return html_to_pdf("".join(self.subject_report(viewer, identifiers, fmt="html")))

    def stream_subject_report(
        self, pseudonyms: Sequence[str], checkpoint: CheckpointOut, *, fmt: str = "jsonl"
    ) -> Iterator[str]:
        """The report of these pseudonyms against `checkpoint`, from one lock-free snapshot
        (the caller has checked and logged the request)."""
        head = ReportHead(
            generated_at=datetime.now(UTC),
            checkpoint=checkpoint.model_dump(mode="json"),
            verifier_key=checkpoint.verifier_key,
            retention_closed_days=self._report.retention_closed_days,
            retention_rejected_days=self._report.retention_rejected_days,
        )
        if fmt == "html_fragment":
            render: Any = partial(render_html, standalone=False)
        else:
            render = render_html if fmt == "html" else render_jsonl
        with self._db.snapshot() as session:
            builder = SubjectReportBuilder(
                session,
                pseudonyms,
                tree_size=checkpoint.tree_size,
                root=bytes.fromhex(checkpoint.root_hash),
                wording=self._wording,
                proofs=fmt == "jsonl",
            )
            summary = Summary()
            yield from render(head, builder.acts(summary), summary)


def _against_checkpoint_rows(
    report: VerifyReport, stored: Sequence[tuple[int, bytes, str]]
) -> VerifyReport:
    """Fail a report when a checkpoint row's columns differ from its own signed note.

    The pass above places and checks each note by what the note says; the row's `tree_size`
    (the key proofs and `latest` are looked up by) and `root_hash` (what the API hands out)
    are not signed, so they are compared here. The first seq in doubt is the first one no
    smaller checkpoint proves, as for any checkpoint that fails."""
    if not report.ok:
        return report
    claimed: list[tuple[int, int]] = []  # (row size, note size) of each mismatched row
    sizes: list[int] = []
    for tree_size, root_hash, note in stored:
        try:
            note_size, note_root = peek_checkpoint_unsafe(note)
        except CheckpointError:  # pragma: no cover - the pass above rejected it already
            return replace(report, ok=False, problem="a checkpoint note is malformed")
        sizes.append(note_size)
        if note_size != tree_size or note_root != root_hash:
            claimed.append((tree_size, note_size))
    if not claimed:
        return report
    row_size, note_size = claimed[0]
    smallest = min(row_size, note_size)
    seq = max((s for s in sizes if s < smallest), default=0)
    what = (
        f"the checkpoint row for size {row_size} holds a signed note for size {note_size}"
        if row_size != note_size
        else f"the checkpoint row for size {row_size} records another root than its signed note"
    )
    return replace(
        report,
        ok=False,
        first_broken_seq=seq,
        problem=f"{what}: the checkpoints table was edited beside its notes",
    )


def _against_head(report: VerifyReport, head: LogHead | None) -> VerifyReport:
    """Fail a report whose entries disagree with the head the appender keeps beside them."""
    if not report.ok:
        return report
    size = report.entries_checked
    seq, problem = None, None
    if head is None:
        problem = "the log head is missing"
    elif head.size > size:
        seq = size
        problem = (
            f"the log head records {head.size} entries but only {size} are stored: "
            f"entries from seq {size} on were removed"
        )
    elif head.size < size:
        seq = head.size
        problem = (
            f"the log head records {head.size} entries but {size} are stored: entries from "
            f"seq {head.size} on were added outside the appender"
        )
    else:
        try:
            head_root = CompactRange.from_hex(head.size, head.frontier).root()
        except ProofError:
            head_root = None
        if head_root != report.root:
            seq = report.covered_size
            problem = (
                f"entries from seq {seq} to {size - 1} do not match the log head's Merkle "
                "frontier: they were changed after they were appended"
            )
    if problem is None:
        return report
    return replace(report, ok=False, first_broken_seq=seq, problem=problem)


def _drain(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return value


def _csv_cell(value: Any) -> str:
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, sort_keys=True)
    text = "" if value is None else str(value)
    # spreadsheet formula injection: a cell never starts with a formula character
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _operator() -> Any:
    from hub.audit.log import Actor

    return Actor()


def _cli_request() -> Any:
    from hub.audit.log import RequestInfo

    return RequestInfo(request_id=None, source="cli")


_VERIFIED = re.compile(
    r"^live verification: (ok|failed); (\d+) entries; (\d+) checkpoints"
    r"(?:; first broken seq (\d+))?$"
)


def _verification_out(row: LogEntry) -> VerificationOut:
    """A `log.verify` entry as a verification (its reason is written by `verify_recorded`);
    an entry whose reason is not in that form reads as a failed verification."""
    match = _VERIFIED.match(row.reason or "")
    return VerificationOut(
        seq=row.seq,
        time=utc_moment(row.time_us),
        ok=bool(match and match.group(1) == "ok"),
        entries_checked=int(match.group(2)) if match else None,
        checkpoints_checked=int(match.group(3)) if match else None,
        first_broken_seq=int(match.group(4)) if match and match.group(4) else None,
        actor_partner=row.actor_partner,
        actor_user=row.actor_user,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def witness_rotation_statements(session: Session) -> list[str]:
    return [
        r
        for r in session.scalars(
            select(WitnessKey.rotation)
            .where(WitnessKey.rotation.is_not(None))
            .order_by(WitnessKey.id)
        )
        if r is not None
    ]
