"""THE ONE DOOR for facts: a briefing page is one batch policy decision, then decryption of
exactly what it released, then one access-log entry naming every fact id and field disclosed,
committed before the answer leaves.

A page is at most 500 facts (issue 15: a very large case answered 40-50 MB and wrote one
7-15 MB entry per read). Only the page's facts are fetched, put to the policy and decrypted,
so an answer, an entry and the cost of a read are bounded whatever the size of the case; the
cursor between pages is hub/disclosure/cursor.py.

Nothing else in the hub decrypts fact content. A reviewer can check the privacy promise by
reading three modules: the gate decides and mints permits (hub/gate/gate.py), the vault opens
only with a permit (hub/disclosure/vault.py), and this module logs every page before it is
answered: in the read's unit of work, or -- when that wrote nothing -- committed together
with other reads' entries right after it, and only then answered (hub/audit/grouped.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub.audit.entry import Action, Outcome
from hub.audit.grouped import GroupCommit
from hub.audit.log import AccessLog, Event
from hub.db.session import UnitOfWork
from hub.disclosure.cursor import MAX_PAGE, Position, decode, encode
from hub.disclosure.schemas import Briefing, DomainSection, ExistenceNote, ReleasedFact, Updates
from hub.disclosure.vault import CaseVault, IntegrityFailure, LoggedIntegrityFailure
from hub.facts.catalog import FactType, FactTypeCatalog
from hub.facts.models import Fact, FactRecord, FactRow
from hub.facts.repository import current_in_case
from hub.facts.subjects import fact_pseudonyms
from hub.gate.gate import Gate
from hub.gate.permits import FactPermit
from hub.identity.viewer import Viewer
from hub.vocabulary import DisclosureLevel, FactStatus, LifeDomain


class BriefingService:
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        vault: CaseVault,
        access_log: AccessLog,
        catalog: FactTypeCatalog,
        reads: GroupCommit,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._vault = vault
        self._log = access_log
        self._catalog = catalog
        #: a read's entry: in its unit of work, or grouped after it when it wrote nothing
        self._reads = reads

    def _release(
        self,
        session: Session,
        viewer: Viewer,
        fact: FactRecord,
        decision: FactPermit,
        names: _FieldNames,
    ) -> tuple[ReleasedFact, tuple[str, ...]]:
        """Decrypt and project one released fact. Defence in depth: never a field outside
        the type, and never a field above the decided level unless it is the publisher's."""
        fact_type_id = fact.fact_type
        fact_type = self._catalog.get(fact_type_id)
        publisher = fact.publisher_partner
        own = publisher == viewer.partner
        fields = names.allowed(fact_type, own, decision)
        content: dict[str, Any] = {}
        if fields and fact.content_ct is not None:
            try:
                content = self._vault.open_fact(session, fact, decision.narrowed(fields))
            except IntegrityFailure as exc:
                # Fail closed and say so in the log: nothing of this request is disclosed,
                # and the entry commits although the request fails (a Refusal).
                self._log.append(
                    session,
                    Event(
                        action=Action.INTEGRITY_ERROR,
                        outcome=Outcome.ERROR,
                        case_id=fact.case_id,
                        object_ids=[fact.id],
                        reason="fact ciphertext failed its integrity check; nothing disclosed",
                        policy_version=decision.policy_version,
                    ),
                    actor=viewer.actor,
                    request=viewer.request,
                )
                raise LoggedIntegrityFailure(case_id=exc.case_id, row_id=exc.row_id) from None
        fields = tuple(f for f in fields if f in content)
        withheld = names.withheld(fact_type, fields)
        # validated by pydantic-core from one dict, which is faster than `model_construct`
        # (its per-field loop runs in Python: about 2 against 5 us a fact, ADR 0020) and
        # checks every value against its declared type again; the model copies the dict
        # and the list it is given, so no two answers share one
        released = ReleasedFact.model_validate(
            {
                "id": fact.id,
                "type": fact_type_id,
                "title": fact_type.title,
                "life_domain": fact.life_domain,
                "sensitivity": fact.sensitivity,
                "publisher": publisher,
                "publisher_kind": fact.publisher_kind,
                "subject_id": fact.subject_id,
                "published_at": fact.published_at,
                "version": fact.version,
                "level": decision.level,
                "fields": {f: content[f] for f in fields},
                "withheld_fields": withheld,
                "reason": decision.reason,
                "rule": decision.rule,
            }
        )
        return released, fields

    def _assemble(
        self,
        session: Session,
        viewer: Viewer,
        facts: Sequence[FactRecord],
        decisions: dict[str, FactPermit],
    ) -> tuple[list[ReleasedFact], list[ExistenceNote], dict[str, tuple[str, ...]]]:
        released: list[ReleasedFact] = []
        existence: dict[tuple[str, str], ExistenceNote] = {}
        disclosed: dict[str, tuple[str, ...]] = {}
        names = _FieldNames()
        for fact in facts:
            decision = decisions[fact.id]
            if decision.level is DisclosureLevel.NONE:
                continue
            if decision.level is DisclosureLevel.EXISTENCE:
                key = (fact.publisher_kind, fact.life_domain)
                existence.setdefault(
                    key,
                    ExistenceNote(
                        publisher_kind=fact.publisher_kind,
                        life_domain=fact.life_domain,
                        reason=decision.reason,
                    ),
                )
                disclosed[fact.id] = ()
                continue
            item, fields = self._release(session, viewer, fact, decision, names)
            released.append(item)
            disclosed[fact.id] = fields
        return (
            released,
            sorted(existence.values(), key=lambda e: (e.life_domain, e.publisher_kind)),
            disclosed,
        )

    def briefing(
        self, viewer: Viewer, case_id: str, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> Briefing:
        """One page of the briefing: at most `limit` current facts in change order, each
        page its own disclosure and its own access-log entry naming only that page's facts.
        Only the page's facts are put to the policy and only its released ones decrypted."""
        limit = max(1, min(limit, MAX_PAGE))
        # checked before the gate: an outsider gets the same answer for a real case
        start = decode("briefing", case_id, cursor)
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_case")
            case = opened.case
            page = _Page.read(session, _BRIEFING_ORDER, case.id, start, limit)
            facts = page.facts
            # one version for the entry and the answer, which is built after the entry's
            # commit (a group commit may wait): the version read when the page was decided
            version = self._gate.version
            decisions = self._gate.release_facts(session, viewer, opened.policy, facts)
            released, existence, disclosed = self._assemble(session, viewer, facts, decisions)
            logged = self._reads.log_read(
                session,
                Event(
                    action=Action.BRIEFING_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=sorted(disclosed),
                    disclosed=disclosed,
                    # per disclosed fact, the subjects it concerns (ADR 0403)
                    fact_subjects=fact_pseudonyms(session, [f for f in facts if f.id in disclosed]),
                    # a whole briefing on one page reads as before; a page says where it began
                    reason=None
                    if cursor is None and page.next is None
                    else f"briefing page {start.describe()}",
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
        # one section per domain, built once (not one model per fact thrown away)
        sections: dict[str, DomainSection] = {}
        for item in released:
            section = sections.get(item.life_domain)
            if section is None:
                section = sections[item.life_domain] = _section(item.life_domain)
            section.facts.append(item)
        for note in existence:
            section = sections.get(note.life_domain)
            if section is None:
                section = sections[note.life_domain] = _section(note.life_domain)
            section.existence.append(note)
        order = {d.value: i for i, d in enumerate(LifeDomain)}
        return Briefing(
            case_id=case.id,
            table=case.table_id,
            phase=case.phase,
            purpose=viewer.purpose,
            policy_version=version,
            # the answer exists only once its entry is committed
            log_seq=logged.entry().seq,
            domains=sorted(sections.values(), key=lambda s: order.get(s.life_domain, 99)),
            next_cursor=None if page.next is None else encode("briefing", case.id, page.next),
        )

    def updates(
        self, viewer: Viewer, case_id: str, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> Updates:
        """Facts published or changed after `cursor`, under the same policy as the briefing,
        at most `limit` a page. `next_cursor` is always where the next read starts, also on
        the last page: a client keeps it and polls with it later."""
        limit = max(1, min(limit, MAX_PAGE))
        start = decode("updates", case_id, cursor)
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_case")
            case = opened.case
            page = _Page.read(session, _UPDATES_ORDER, case.id, start, limit)
            changed = page.facts
            version = self._gate.version  # one version for the entry and the answer
            decisions = self._gate.release_facts(session, viewer, opened.policy, changed)
            current = [f for f in changed if f.status == FactStatus.CURRENT]
            released, existence, disclosed = self._assemble(session, viewer, current, decisions)
            removed = sorted(
                f.id
                for f in changed
                if f.status != FactStatus.CURRENT
                and decisions[f.id].level in (DisclosureLevel.SUMMARY, DisclosureLevel.FULL)
            )
            logged = self._reads.log_read(
                session,
                Event(
                    action=Action.UPDATES_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=sorted(set(disclosed) | set(removed)),
                    disclosed=disclosed,
                    fact_subjects=fact_pseudonyms(
                        session, [f for f in changed if f.id in disclosed or f.id in removed]
                    ),
                    reason=f"updates {start.describe()}",
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
        logged.entry()  # the answer exists only once its entry is committed
        return Updates(
            case_id=case.id,
            cursor=cursor if cursor is not None else "0",
            next_cursor=encode("updates", case.id, page.resume),
            has_more=page.next is not None,
            facts=released,
            existence=existence,
            removed=removed,
            policy_version=version,
        )


class _FieldNames:
    """Which field names a fact shows and which it withholds, worked out once per request
    for each fact type, decision and field set rather than once per fact (a briefing's facts
    share far fewer of them than there are facts). Schema names only, never content; it lives
    as long as one `_assemble` call."""

    __slots__ = ("_allowed", "_withheld")

    def __init__(self) -> None:
        self._allowed: dict[tuple[str, bool, DisclosureLevel, tuple[str, ...]], tuple[str, ...]]
        self._allowed = {}
        self._withheld: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def allowed(self, fact_type: FactType, own: bool, decision: FactPermit) -> tuple[str, ...]:
        """The decision's fields within the type and -- unless the viewer published the fact
        -- within the decided level, sorted."""
        key = (fact_type.id, own, decision.level, decision.fields)
        fields = self._allowed.get(key)
        if fields is None:
            # a subset of the type's fields in either case
            allowed = fact_type.field_names if own else fact_type.fields_at(decision.level)
            fields = self._allowed[key] = tuple(sorted(f for f in decision.fields if f in allowed))
        return fields

    def withheld(self, fact_type: FactType, shown: tuple[str, ...]) -> list[str]:
        """The type's fields not shown, sorted (the answer's model copies the list)."""
        key = (fact_type.id, shown)
        withheld = self._withheld.get(key)
        if withheld is None:
            withheld = self._withheld[key] = sorted(fact_type.field_names.difference(shown))
        return withheld


def _section(life_domain: str) -> DomainSection:
    return DomainSection(life_domain=life_domain, facts=[], existence=[])


def _all_versions(case_id: str) -> Select[Any]:
    return select(Fact).where(Fact.case_id == case_id)


@dataclass(frozen=True, slots=True)
class _Order:
    """Which facts a paged read walks, and their order within one change seq."""

    #: the facts of a case the walk covers (any order; the walk sets its own)
    facts: Callable[[str], Select[Any]]
    within_group: tuple[InstrumentedAttribute[Any], ...]

    def of(self, case_id: str) -> Select[Any]:
        return self.facts(case_id).order_by(None)


#: the briefing: the current facts (what "current" means lives in hub/facts/repository.py),
#: within one publish batch in the order they were stored, as the briefing always showed them
_BRIEFING_ORDER = _Order(facts=current_in_case, within_group=(Fact.published_at, Fact.id))
#: the updates feed: every version that changed, as it always was ordered
_UPDATES_ORDER = _Order(facts=_all_versions, within_group=(Fact.id,))


@dataclass(frozen=True, slots=True)
class _Page:
    """At most `limit` facts from a position on, and where the next page starts."""

    #: read as tuples: a page is only decided, decrypted and answered, never changed
    facts: list[FactRow]
    #: the next page's start, None when this page reached the end
    next: Position | None
    #: where to read from later even when this page reached the end (the updates feed)
    resume: Position

    @staticmethod
    def read(session: Session, order: _Order, case_id: str, start: Position, limit: int) -> _Page:
        """One range query on the (case, change seq) index, bounded by the page (plus, in
        the middle of a group, an indexed count): a large case costs no more per page than
        a small one."""
        facts_of_case = order.of(case_id)
        after = Fact.change_seq > start.seq
        read_before = 0  # facts of the start group that earlier pages already read
        group_size: int | None = None
        if start.mid_group:
            # the start group comes first in change order, so skipping what was read of it
            # is an offset below the group's size (a publish batch: at most 500)
            after = Fact.change_seq >= start.seq
            size = _group_size(session, facts_of_case, start.seq)
            if size == start.group:
                read_before, group_size = start.read, size
            # else the group shrank since the last page (a fact of it was corrected or
            # withdrawn): read all of it again -- a repeat, never a miss
        window = [
            FactRow._make(row)
            for row in session.execute(
                facts_of_case.where(after)
                .with_only_columns(*FactRow.columns())
                .order_by(Fact.change_seq, *order.within_group)
                .offset(read_before)
                .limit(limit + 1)
            )
        ]
        facts, more = window[:limit], len(window) > limit
        if not facts:
            return _Page(facts=[], next=None, resume=start)
        last = facts[-1].change_seq
        whole = Position(seq=last)
        if not more or window[limit].change_seq != last:
            # the page ends with the end of a group: no count needed
            return _Page(facts=facts, next=whole if more else None, resume=whole)
        read = sum(1 for f in facts if f.change_seq == last)
        if read_before and last == start.seq:
            read += read_before
        else:
            group_size = _group_size(session, facts_of_case, last)
        assert group_size is not None
        position = Position(seq=last, read=read, group=group_size)
        return _Page(facts=facts, next=position, resume=position)


def _group_size(session: Session, facts_of_case: Select[Any], seq: int) -> int:
    """How many facts the walk holds with this change seq (an indexed count)."""
    counted = session.scalar(
        select(func.count()).select_from(
            facts_of_case.where(Fact.change_seq == seq).with_only_columns(Fact.id).subquery()
        )
    )
    return int(counted or 0)
