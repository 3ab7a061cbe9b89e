"""THE ONE DOOR for facts: a briefing is one batch policy decision, then decryption of exactly
what it released, then one access-log entry naming every fact id and field disclosed,
committed before the answer leaves.

Nothing else in the hub decrypts fact content. A reviewer can check the privacy promise by
reading three modules: the gate decides and mints permits (hub/gate/gate.py), the vault opens
only with a permit (hub/disclosure/vault.py), and this module writes the log entry in the
same unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.db.session import UnitOfWork
from hub.disclosure.schemas import Briefing, DomainSection, ExistenceNote, ReleasedFact, Updates
from hub.disclosure.vault import CaseVault, IntegrityFailure, LoggedIntegrityFailure
from hub.facts.catalog import FactTypeCatalog
from hub.facts.models import Fact
from hub.facts.repository import FactRepository
from hub.facts.subjects import fact_pseudonyms
from hub.gate.gate import Gate
from hub.gate.permits import FactPermit
from hub.identity.viewer import Viewer
from hub.vocabulary import DisclosureLevel, FactStatus, LifeDomain

MAX_PAGE = 500


class BriefingService:
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        vault: CaseVault,
        access_log: AccessLog,
        catalog: FactTypeCatalog,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._vault = vault
        self._log = access_log
        self._catalog = catalog

    def _release(
        self, session: Session, viewer: Viewer, fact: Fact, decision: FactPermit
    ) -> tuple[ReleasedFact, tuple[str, ...]]:
        """Decrypt and project one released fact. Defence in depth: never a field outside
        the type, and never a field above the decided level unless it is the publisher's."""
        fact_type = self._catalog.get(fact.fact_type)
        allowed = fact_type.field_names
        if fact.publisher_partner != viewer.partner:
            allowed = fact_type.fields_at(decision.level)  # a subset of the type's fields
        fields = tuple(sorted(f for f in decision.fields if f in allowed))
        content: dict[str, Any] = {}
        if fact.content_ct is not None and fields:
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
        released = ReleasedFact(
            id=fact.id,
            type=fact.fact_type,
            title=fact_type.title,
            life_domain=fact.life_domain,
            sensitivity=fact.sensitivity,
            publisher=fact.publisher_partner,
            publisher_kind=fact.publisher_kind,
            subject_id=fact.subject_id,
            published_at=fact.published_at,
            version=fact.version,
            level=decision.level,
            fields={f: content[f] for f in fields},
            withheld_fields=sorted(fact_type.field_names.difference(fields)),
            reason=decision.reason,
            rule=decision.rule,
        )
        return released, fields

    def _assemble(
        self,
        session: Session,
        viewer: Viewer,
        facts: Sequence[Fact],
        decisions: dict[str, FactPermit],
    ) -> tuple[list[ReleasedFact], list[ExistenceNote], dict[str, tuple[str, ...]]]:
        released: list[ReleasedFact] = []
        existence: dict[tuple[str, str], ExistenceNote] = {}
        disclosed: dict[str, tuple[str, ...]] = {}
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
            item, fields = self._release(session, viewer, fact, decision)
            released.append(item)
            disclosed[fact.id] = fields
        return (
            released,
            sorted(existence.values(), key=lambda e: (e.life_domain, e.publisher_kind)),
            disclosed,
        )

    def briefing(self, viewer: Viewer, case_id: str) -> Briefing:
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_case")
            case = opened.case
            facts = FactRepository(session).list_current_for_case(case.id)
            decisions = self._gate.release_facts(session, viewer, opened.policy, facts)
            released, existence, disclosed = self._assemble(session, viewer, facts, decisions)
            entry = self._log.append(
                session,
                Event(
                    action=Action.BRIEFING_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=sorted(disclosed),
                    disclosed=disclosed,
                    # per disclosed fact, the subjects it concerns (ADR 0403)
                    fact_subjects=fact_pseudonyms(session, [f for f in facts if f.id in disclosed]),
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            sections: dict[str, DomainSection] = {}
            for item in released:
                sections.setdefault(
                    item.life_domain,
                    DomainSection(life_domain=item.life_domain, facts=[], existence=[]),
                ).facts.append(item)
            for note in existence:
                sections.setdefault(
                    note.life_domain,
                    DomainSection(life_domain=note.life_domain, facts=[], existence=[]),
                ).existence.append(note)
            order = {d.value: i for i, d in enumerate(LifeDomain)}
            return Briefing(
                case_id=case.id,
                table=case.table_id,
                phase=case.phase,
                purpose=viewer.purpose,
                policy_version=self._gate.version,
                log_seq=entry.seq,
                domains=sorted(sections.values(), key=lambda s: order.get(s.life_domain, 99)),
            )

    def updates(self, viewer: Viewer, case_id: str, cursor: int, limit: int) -> Updates:
        """Facts published or changed after `cursor`, under the same policy as the briefing."""
        limit = max(1, min(limit, MAX_PAGE))
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_case")
            case = opened.case
            changed = FactRepository(session).changed_since(case.id, cursor, limit + 1)
            more = len(changed) > limit
            changed = changed[:limit]
            decisions = self._gate.release_facts(session, viewer, opened.policy, changed)
            current = [f for f in changed if f.status == FactStatus.CURRENT]
            released, existence, disclosed = self._assemble(session, viewer, current, decisions)
            removed = sorted(
                f.id
                for f in changed
                if f.status != FactStatus.CURRENT
                and decisions[f.id].level in (DisclosureLevel.SUMMARY, DisclosureLevel.FULL)
            )
            next_cursor = changed[-1].change_seq if changed else cursor
            self._log.append(
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
                    reason=f"updates after {cursor}",
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return Updates(
                case_id=case.id,
                cursor=cursor,
                next_cursor=next_cursor,
                has_more=more,
                facts=released,
                existence=existence,
                removed=removed,
                policy_version=self._gate.version,
            )
