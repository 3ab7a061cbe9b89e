"""The acts of one data-subject access report, read from one snapshot of the log.

Why it is built this way (ADR 0403): the report used to sign a checkpoint and then build
everything -- every act and an inclusion proof per act, each proof re-reading the log --
inside the transaction that held the log head, so every write of every hub process waited
for minutes. Now the caller signs (or reads) one checkpoint in a short transaction and
commits; this module then works inside a read-only snapshot (`Database.snapshot`, no lock
at all), bounded by that checkpoint's tree size, so entries written meanwhile neither wait
nor show up:

1. the seqs of the entries that name the person (the `access_log_subjects` index);
2. the inclusion proofs of all of them against the checkpoint, in one pass over the stored
   leaf hashes (`inclusion_proofs_from_leaves`), checked against the signed root;
3. the entries in batches, each turned into Dutch by `hub.audit.report.Wording` -- keeping,
   for acts on facts, only the facts that concern the person: format v2 entries say so per
   fact (`fact_subjects`); older entries are resolved through `fact_subjects` rows.

Memory stays flat apart from the proofs (about 20 hashes per act).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action
from hub.audit.merkle import inclusion_proofs_from_leaves
from hub.audit.models import LogEntry, LogSubject
from hub.audit.report import (
    FACT_ACTIONS,
    ActView,
    FactView,
    ReportAct,
    ReportCase,
    ReportFailed,
    Summary,
    Wording,
)
from hub.audit.store import leaf_hash_reader
from hub.cases.models import Case, SubjectIndex
from hub.facts.models import Fact, FactSubject

#: Entries per query (and facts per IN list).
BATCH = 500

_COLUMNS = (
    LogEntry.seq,
    LogEntry.time_us,
    LogEntry.action,
    LogEntry.outcome,
    LogEntry.actor_partner,
    LogEntry.actor_partner_kind,
    LogEntry.actor_roles,
    LogEntry.purpose,
    LogEntry.case_id,
    LogEntry.object_ids,
    LogEntry.disclosed,
    LogEntry.fact_subjects,
    LogEntry.leaf_hash,
    LogEntry.reason,
)


def _chunks(values: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SubjectReportBuilder:
    """One report's acts, in seq order, below `tree_size` (a signed checkpoint's size)."""

    def __init__(
        self,
        session: Session,
        pseudonyms: Sequence[str],
        *,
        tree_size: int,
        root: bytes,
        wording: Wording,
        proofs: bool,
    ) -> None:
        self._session = session
        self._pseudonyms = frozenset(pseudonyms)
        self._tree_size = tree_size
        self._root = root
        self._wording = wording
        self._with_proofs = proofs

    # -- the queries

    def seqs(self) -> list[int]:
        """The entries below the checkpoint that name the person, in seq order."""
        if not self._pseudonyms:
            return []
        return list(
            self._session.scalars(
                select(LogSubject.seq)
                .where(
                    LogSubject.pseudonym.in_(sorted(self._pseudonyms)),
                    LogSubject.seq < self._tree_size,
                )
                .distinct()
                .order_by(LogSubject.seq)
            )
        )

    def _proofs(self, seqs: Sequence[int]) -> dict[int, list[bytes]]:
        proofs, root = inclusion_proofs_from_leaves(
            seqs, self._tree_size, leaf_hash_reader(self._session)
        )
        if root != self._root:
            raise ReportFailed(
                f"the stored log does not reproduce the signed checkpoint of size "
                f"{self._tree_size}; no proof can be given"
            )
        return proofs

    def _my_subject_ids(self) -> set[str]:
        """The person's subject ids in every case (for entries written before format v2)."""
        return set(
            self._session.scalars(
                select(SubjectIndex.subject_id).where(
                    SubjectIndex.value.in_(sorted(self._pseudonyms))
                )
            )
        )

    def _facts(self, ids: set[str]) -> dict[str, tuple[str, str, str]]:
        out: dict[str, tuple[str, str, str]] = {}
        for chunk in _chunks(sorted(ids)):
            for fid, ftype, partner, kind in self._session.execute(
                select(Fact.id, Fact.fact_type, Fact.publisher_partner, Fact.publisher_kind).where(
                    Fact.id.in_(chunk)
                )
            ):
                out[fid] = (ftype, partner, kind)
        return out

    def _links(self, ids: set[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in _chunks(sorted(ids)):
            for fid, sid in self._session.execute(
                select(FactSubject.fact_id, FactSubject.subject_id).where(
                    FactSubject.fact_id.in_(chunk)
                )
            ):
                out.setdefault(fid, set()).add(sid)
        return out

    def cases(self, case_ids: set[str]) -> list[ReportCase]:
        rows = self._session.execute(
            select(Case.registered_at, Case.status, Case.retention_until, Case.legal_hold).where(
                Case.id.in_(sorted(case_ids))
            )
        ).all()
        return sorted(
            (ReportCase(r[0], r[1], r[2], bool(r[3])) for r in rows),
            key=lambda c: c.registered_at,
        )

    # -- the acts

    def acts(self, summary: Summary) -> Iterator[ReportAct]:
        """Every act about the person, in seq order; when they are all out, `summary`
        learns the retention state of the cases they belong to."""
        seqs = self.seqs()
        proofs = self._proofs(seqs) if self._with_proofs and seqs else {}
        mine: set[str] | None = None
        for chunk in _chunks(seqs):
            rows = self._session.execute(
                select(*_COLUMNS).where(LogEntry.seq.in_(chunk)).order_by(LogEntry.seq)
            ).all()
            named: dict[int, list[tuple[str, tuple[str, ...] | None, bool]]] = {}
            fact_ids: set[str] = set()
            legacy: set[str] = set()
            for row in rows:
                facts = self._named_facts(row)
                named[row.seq] = facts
                fact_ids.update(f for f, _, _ in facts)
                if not row.fact_subjects:
                    legacy.update(f for f, _, _ in facts)
            meta = self._facts(fact_ids)
            links = self._links(legacy) if legacy else {}
            if legacy and mine is None:
                mine = self._my_subject_ids()
            for row in rows:
                views = []
                for fid, fields, gone in named[row.seq]:
                    if fid not in meta or not self._concerns_me(row, fid, links, mine):
                        continue
                    ftype, partner, kind = meta[fid]
                    views.append(FactView(ftype, partner, kind, fields, gone))
                view = ActView(
                    seq=row.seq,
                    time_us=row.time_us,
                    action=Action(row.action),
                    outcome=row.outcome,
                    actor_partner=row.actor_partner,
                    actor_partner_kind=row.actor_partner_kind,
                    actor_roles=tuple(row.actor_roles),
                    purpose=row.purpose,
                    case_id=row.case_id,
                    object_ids=tuple(row.object_ids),
                    disclosed_sections=tuple(
                        s for sections in row.disclosed.values() for s in sections
                    ),
                    leaf_hash=bytes(row.leaf_hash),
                    facts=tuple(views),
                    reason=row.reason if row.action == Action.CASE_RECORD_NOTICE else None,
                )
                act = self._wording.describe(view, proofs.get(row.seq))
                if act is not None:
                    yield act
        summary.cases = self.cases(summary.case_ids) if summary.case_ids else []

    @staticmethod
    def _named_facts(row: Any) -> list[tuple[str, tuple[str, ...] | None, bool]]:
        """(fact id, disclosed fields or None, no longer current) of the facts an entry
        names; none for entries that are not acts on facts."""
        action = row.action
        if action not in FACT_ACTIONS or row.outcome != "allowed":
            return []
        if action in (Action.BRIEFING_READ, Action.UPDATES_READ):
            out: list[tuple[str, tuple[str, ...] | None, bool]] = [
                (fid, tuple(fields), False) for fid, fields in row.disclosed.items()
            ]
            out += [(fid, (), True) for fid in row.object_ids if fid not in row.disclosed]
            return out
        return [(fid, None, False) for fid in row.object_ids]

    def _concerns_me(
        self,
        row: Any,
        fact_id: str,
        links: dict[str, set[str]],
        mine: set[str] | None,
    ) -> bool:
        if row.fact_subjects:  # format v2: the entry says whom each fact concerns
            return bool(self._pseudonyms.intersection(row.fact_subjects.get(fact_id, ())))
        # older entries named the case's subjects: ask which subjects the fact concerns
        linked = links.get(fact_id)
        return linked is None or bool(mine and linked & mine)
