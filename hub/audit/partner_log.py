"""Each partner's own access log (FSC logging, Logboek Dataverwerkingen), ADR 0405.

A partner reads every access-log entry in which it is the **actor** (its users acted) or the
**source** (the entry names a fact it published: disclosed, refused, corrected, withdrawn),
each with its inclusion proof against a signed checkpoint -- and nothing about other
partners' facts and users: where an entry mixes facts of several publishers, the partner
gets a narrowed copy (other publishers' fact ids, fields and subjects removed; another
partner's user and client address removed), marked `redacted`, with the leaf hash and proof
of the full entry.

Which entries concern which partner is a side index (`partner_log_links`) derived from the
log and the facts table. It is filled by catching up from where it stopped, in the reading
transaction (under a lock on its state row), so every hub process and every CLI writer is
covered without a hook in the appender; it is not evidence and can be rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hub import __version__
from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event, entry_context, on_append
from hub.audit.merkle import inclusion_proof_with
from hub.audit.models import Checkpoint, LogEntry
from hub.audit.partner_log_models import EntryTrace, PartnerLogLink, PartnerLogState
from hub.audit.partner_log_schemas import PartnerLogEntryOut, PartnerLogPage, PartnerLogRecord
from hub.audit.schemas import CheckpointOut
from hub.audit.store import log_size, row_json, subtree_hasher
from hub.db.session import Database
from hub.errors import NotFound
from hub.facts.models import Fact
from hub.gate.gate import Gate
from hub.http import TraceContext, current_trace
from hub.identity.viewer import Viewer

#: who may read a partner's own log is the policy's (policies/data/action_rules.json): the
#: partner application (publisher), its privacy officer, its auditor, with purpose `audit`
POLICY_ACTION: Final = "read_partner_log"
MAX_PAGE: Final = 500
_INDEX_BATCH: Final = 2000
_IN_CHUNK: Final = 500
_REQUEST_ID_TRACE: Final = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{16})")
_HEX16: Final = re.compile(r"[0-9a-f]{16}")
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# -- the side index ------------------------------------------------------------------------------


def _named_ids(object_ids: Sequence[str], disclosed: Mapping[str, Any]) -> set[str]:
    return set(object_ids) | set(disclosed)


def publishers_of(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """fact id -> publishing partner, for the ids that are facts."""
    wanted = sorted(set(ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows = session.execute(
            select(Fact.id, Fact.publisher_partner).where(Fact.id.in_(chunk))
        ).all()
        found.update((fact_id, partner) for fact_id, partner in rows)
    return found


def catch_up(session: Session) -> int:
    """Index every entry the log holds beyond where the index stopped; return the size
    indexed. Serialised by a lock on the state row (two replicas index once)."""
    state = session.scalars(
        select(PartnerLogState).where(PartnerLogState.id == 1).with_for_update()
    ).one_or_none()
    if state is None:  # a database built without migration 0015's row
        state = PartnerLogState(id=1, indexed_size=0)
        session.add(state)
        session.flush()
    size = log_size(session)
    while state.indexed_size < size:
        rows = session.execute(
            select(LogEntry.seq, LogEntry.actor_partner, LogEntry.object_ids, LogEntry.disclosed)
            .where(LogEntry.seq >= state.indexed_size, LogEntry.seq < size)
            .order_by(LogEntry.seq)
            .limit(_INDEX_BATCH)
        ).all()
        if not rows:
            break
        publishers = publishers_of(
            session, (i for r in rows for i in _named_ids(r.object_ids, r.disclosed))
        )
        links: set[tuple[str, int]] = set()
        for row in rows:
            if row.actor_partner:
                links.add((row.actor_partner, row.seq))
            for fact_id in _named_ids(row.object_ids, row.disclosed):
                if fact_id in publishers:
                    links.add((publishers[fact_id], row.seq))
        if links:
            session.execute(
                insert(PartnerLogLink), [{"partner": p, "seq": s} for p, s in sorted(links)]
            )
        state.indexed_size = rows[-1].seq + 1
    session.flush()
    return state.indexed_size


# -- what one partner may see of one entry ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartnerView:
    entry: dict[str, Any]
    roles: list[str]
    redacted_fields: list[str]


def partner_view(row: LogEntry, partner: str, publishers: Mapping[str, str]) -> PartnerView:
    """The entry as `partner` may see it: its own acts in full except other publishers'
    facts; another partner's act only as far as it names the partner's own facts, without
    that partner's user or client address (ADR 0405)."""
    full = row_json(row)
    body = json.loads(json.dumps(full))  # a deep copy to narrow
    named = _named_ids(row.object_ids, row.disclosed)
    own = {f for f in named if publishers.get(f) == partner}
    others = {f for f in named if f in publishers and publishers[f] != partner}
    actor = row.actor_partner == partner
    roles = (["actor"] if actor else []) + (["source"] if own else [])

    def keep_ids(fact_or_object_id: str) -> bool:
        if actor:
            return fact_or_object_id not in others
        return fact_or_object_id in own

    body["object_ids"] = [i for i in body["object_ids"] if keep_ids(i)]
    body["disclosed"] = {k: v for k, v in body["disclosed"].items() if keep_ids(k)}
    fact_subjects: dict[str, list[str]] = full.get("fact_subjects") or {}
    if "fact_subjects" in body:
        body["fact_subjects"] = {k: v for k, v in fact_subjects.items() if keep_ids(k)}
    if others or not actor:
        kept = {p for k, v in fact_subjects.items() if keep_ids(k) for p in v}
        removed = {p for k, v in fact_subjects.items() if not keep_ids(k) for p in v}
        if actor:
            # the actor's own act keeps every subject but those only other facts name
            body["subject_pseudonyms"] = [
                p for p in body["subject_pseudonyms"] if p in kept or p not in removed
            ]
        else:
            body["subject_pseudonyms"] = [p for p in body["subject_pseudonyms"] if p in kept]
    if not actor:
        body["actor_user"] = None
        body["source"] = None
    narrowed = sorted(k for k in full if full[k] != body.get(k))
    return PartnerView(body, roles, narrowed)


# -- the Logboek Dataverwerkingen shape ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityRegister:
    base_uri: str
    by_action: Mapping[str, str]
    by_purpose: Mapping[str, str]

    def activity_uri(self, action: str, purpose: str | None) -> str | None:
        activity = (self.by_purpose.get(purpose) if purpose else None) or self.by_action.get(action)
        return self.base_uri + activity if activity else None


@cache
def processing_activities() -> ActivityRegister:
    """The register of processing activities the LDV export points into (shipped with the
    package: hub/audit/processing_activities.json)."""
    text = resources.files("hub.audit").joinpath("processing_activities.json").read_text("utf-8")
    data = json.loads(text)
    by_action = {a: act["id"] for act in data["activities"] for a in act["actions"]}
    return ActivityRegister(data["base_uri"], by_action, dict(data.get("by_purpose", {})))


def trace_ids(request_id: str | None, seq: int, origin: str) -> tuple[str, str]:
    """(trace id, span id) of an entry: from a request id of the form `<32 hex>.<16 hex>`
    (the hub's W3C trace context), else derived deterministically (the same entry always
    gets the same ids; entries of one request share the trace)."""
    if request_id:
        match = _REQUEST_ID_TRACE.fullmatch(request_id)
        if match:
            return match.group(1), match.group(2)
        trace = hashlib.sha256(f"vhhub-trace/1\n{origin}\n{request_id}".encode()).hexdigest()
    else:
        trace = hashlib.sha256(f"vhhub-trace/1\n{origin}\nseq:{seq}".encode()).hexdigest()
    span = hashlib.sha256(f"vhhub-span/1\n{origin}\n{seq}".encode()).hexdigest()
    return trace[:32], span[:16]


def ldv_records(
    view: PartnerView,
    leaf_hash: str,
    trace: EntryTrace | None,
    *,
    origin: str,
    register: ActivityRegister,
) -> list[dict[str, Any]]:
    """One LDV record per data subject of the (narrowed) entry, or one without a subject."""
    entry = view.entry
    trace_id, span_id = trace_ids(entry["request_id"], entry["seq"], origin)
    if trace is not None and trace.trace_id and trace.span_id:
        trace_id, span_id = trace.trace_id, trace.span_id
    millis = entry["time_us"] // 1000
    attributes: dict[str, Any] = {
        "dpl.core.processing_activity_id": register.activity_uri(entry["action"], entry["purpose"]),
        "vhhub.seq": entry["seq"],
        "vhhub.leaf_hash": leaf_hash,
        "vhhub.outcome": entry["outcome"],
        "vhhub.purpose": entry["purpose"],
        "vhhub.case_id": entry["case_id"],
        "vhhub.actor_partner": entry["actor_partner"],
        "vhhub.role": view.roles,
        "vhhub.redacted": bool(view.redacted_fields),
    }
    if trace is not None and trace.fsc_transaction_id:
        attributes["fsc.transaction_id"] = trace.fsc_transaction_id
    base: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": None,
        "name": entry["action"],
        "status_code": "STATUS_CODE_OK"
        if entry["outcome"] == Outcome.ALLOWED
        else "STATUS_CODE_ERROR",
        "start_time": millis,
        "end_time": millis,
        "foreign_operation": None,
        "resource": {"attributes": {"service.name": "vhhub", "service.version": __version__}},
    }
    if trace is not None and trace.parent_span_id and entry["actor_partner"]:
        # the caller's span in its own organisation: LDV's foreign operation
        base["foreign_operation"] = {
            "trace_id": trace_id,
            "span_id": trace.parent_span_id,
            "entity": f"urn:vhhub:partner:{entry['actor_partner']}",
        }
    subjects = entry["subject_pseudonyms"] or [None]
    records = []
    for subject in subjects:
        attrs = dict(attributes)
        if subject is not None:
            attrs["dpl.core.data_subject_id"] = subject
            attrs["dpl.core.data_subject_id_type"] = "urn:vhhub:pseudonym:blind-index"
        records.append({**base, "attributes": attrs})
    return records


# -- the trace context of an entry's request ---------------------------------------------------


@on_append
def _trace_rows(session: Session, entries: Sequence[LogEntry]) -> list[EntryTrace]:
    """For log entries appended inside a request: keep beside them what the leaf does not
    hold -- the caller's span, its FSC transaction id, and the trace and span ids when the
    request id does not carry them (a client's own X-Request-Id). These are the caller's
    claims and the edge's ids, not evidence, so they stay out of the leaf."""
    current = current_trace()
    rows = []
    for entry in entries:
        # an entry written in a group commit carries the trace of its own read (ADR 0020)
        context = entry_context(session, entry.seq)
        trace = current if context is None else context.run(current_trace)
        row = _trace_row(entry, trace)
        if row is not None:
            rows.append(row)
    return rows


def _trace_row(entry: LogEntry, trace: TraceContext | None) -> EntryTrace | None:
    if trace is None:
        return None
    # the edge validated these; checked again because they are stored beside evidence
    parent, fsc = trace.parent_span_id, trace.fsc_transaction_id
    parent = parent if parent and _HEX16.fullmatch(parent) else None
    fsc = fsc.lower() if fsc and _UUID.fullmatch(fsc.lower()) else None
    own_ids = entry.request_id != trace.request_id
    if parent is None and fsc is None and not own_ids:
        return None
    return EntryTrace(
        seq=entry.seq,
        trace_id=trace.trace_id if own_ids else None,
        span_id=trace.span_id if own_ids else None,
        parent_span_id=parent,
        fsc_transaction_id=fsc,
    )


# -- the service ---------------------------------------------------------------------------------


class PartnerLogService:
    def __init__(self, db: Database, gate: Gate, access_log: AccessLog) -> None:
        self._db = db
        self._gate = gate
        self._log = access_log

    def _authorize(self, session: Session, viewer: Viewer) -> str:
        """The gate decides (`read_partner_log`: the partner application, its privacy officer
        or auditor, purpose `audit`), and logs a refusal; returns the deciding version."""
        return self._gate.authorize(session, viewer, POLICY_ACTION).policy_version

    def _logged(self, session: Session, viewer: Viewer, reason: str, version: str) -> None:
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

    def _checkpoint_out(self, checkpoint: Checkpoint) -> CheckpointOut:
        return CheckpointOut.of(checkpoint, self._log.signer.verifier_key)

    def _rows(
        self, session: Session, partner: str, cursor: int, limit: int
    ) -> tuple[list[LogEntry], bool]:
        rows = list(
            session.scalars(
                select(LogEntry)
                .join(PartnerLogLink, PartnerLogLink.seq == LogEntry.seq)
                .where(PartnerLogLink.partner == partner, LogEntry.seq > cursor)
                .order_by(LogEntry.seq)
                .limit(limit + 1)
            )
        )
        return rows[:limit], len(rows) > limit

    def _records(
        self, session: Session, partner: str, rows: Sequence[LogEntry], checkpoint: Checkpoint
    ) -> Iterator[tuple[LogEntry, PartnerView, PartnerLogRecord]]:
        publishers = publishers_of(
            session, (i for r in rows for i in _named_ids(r.object_ids, r.disclosed))
        )
        hasher = subtree_hasher(session)
        for row in rows:
            view = partner_view(row, partner, publishers)
            proof = inclusion_proof_with(row.seq, checkpoint.tree_size, hasher)
            yield (
                row,
                view,
                PartnerLogRecord(
                    seq=row.seq,
                    role=view.roles,
                    redacted=bool(view.redacted_fields),
                    redacted_fields=view.redacted_fields,
                    entry=view.entry,
                    leaf_hash=row.leaf_hash.hex(),
                    proof=[h.hex() for h in proof],
                    tree_size=checkpoint.tree_size,
                ),
            )

    def _read_page(
        self, session: Session, viewer: Viewer, cursor: int | None, limit: int, reason: str
    ) -> tuple[list[LogEntry], bool]:
        """Decide, bring the index up to date, log the read, and read one page of the
        viewer's records after `cursor` (none: from the start)."""
        version = self._authorize(session, viewer)
        catch_up(session)
        rows, more = self._rows(
            session,
            viewer.partner,
            -1 if cursor is None else cursor,
            max(1, min(limit, MAX_PAGE)),
        )
        self._logged(session, viewer, reason, version)
        return rows, more

    def page(self, viewer: Viewer, cursor: int | None, limit: int) -> PartnerLogPage:
        """Your records after `cursor` (a seq; none: from the start), in log order, each with
        its proof against one signed checkpoint; logged as a query."""
        with self._db.unit_of_work() as session:
            rows, more = self._read_page(session, viewer, cursor, limit, "partner log page")
            checkpoint = self._log.covering_checkpoint(session, rows[-1].seq + 1 if rows else 1)
            records = [r for _, _, r in self._records(session, viewer.partner, rows, checkpoint)]
            return PartnerLogPage(
                partner=viewer.partner,
                records=records,
                checkpoint=self._checkpoint_out(checkpoint),
                next_cursor=rows[-1].seq if more else None,
            )

    def entry(self, viewer: Viewer, seq: int) -> PartnerLogEntryOut:
        """One of your records with its proof and checkpoint; any other seq (another
        partner's, or none at all) answers 404 alike, and both are logged alike."""
        with self._db.unit_of_work() as session:
            version = self._authorize(session, viewer)
            catch_up(session)
            link = session.get(PartnerLogLink, (viewer.partner, seq))
            self._logged(session, viewer, "partner log entry", version)
            row = session.get(LogEntry, seq) if link is not None else None
            if row is None:
                raise NotFound()
            checkpoint = self._log.covering_checkpoint(session, seq + 1)
            [(_, _, record)] = list(self._records(session, viewer.partner, [row], checkpoint))
            return PartnerLogEntryOut(
                **record.model_dump(), checkpoint=self._checkpoint_out(checkpoint)
            )

    def ldv(self, viewer: Viewer, cursor: int | None, limit: int) -> tuple[list[str], int | None]:
        """The same page as JSON Lines in the Logboek Dataverwerkingen shape, and the next
        cursor (None on the last page)."""
        with self._db.unit_of_work() as session:
            rows, more = self._read_page(session, viewer, cursor, limit, "partner log export (ldv)")
            publishers = publishers_of(
                session, (i for r in rows for i in _named_ids(r.object_ids, r.disclosed))
            )
            traces = {
                t.seq: t
                for t in session.scalars(
                    select(EntryTrace).where(EntryTrace.seq.in_([r.seq for r in rows]))
                )
            }
            register = processing_activities()
            lines: list[str] = []
            for row in rows:
                view = partner_view(row, viewer.partner, publishers)
                for record in ldv_records(
                    view,
                    row.leaf_hash.hex(),
                    traces.get(row.seq),
                    origin=self._log.signer.origin,
                    register=register,
                ):
                    lines.append(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
            return lines, rows[-1].seq if more else None
