"""THE ONE DOOR: a briefing is one batch policy decision, then decryption of exactly what it
released, then one access-log entry naming every fact id and field disclosed, committed
before the answer leaves.

Nothing else in the hub decrypts fact content. A reviewer can check the privacy promise by
reading this package: the policy decides (gate), the vault opens only with a decision, and
the log entry is written in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import Event
from hub.cases.models import Case
from hub.disclosure.schemas import Briefing, DomainSection, ExistenceNote, ReleasedFact, Updates
from hub.disclosure.vault import IntegrityFailure, LoggedIntegrityFailure
from hub.facts.models import Fact
from hub.identity.viewer import Viewer
from hub.rego.decisions import FactDecision
from hub.vocabulary import DisclosureLevel, LifeDomain

if TYPE_CHECKING:
    from hub.cases.service import CaseService
    from hub.context import HubContext

MAX_PAGE = 500


class DisclosureService:
    def __init__(self, ctx: HubContext, cases: CaseService) -> None:
        self.ctx = ctx
        self.cases = cases

    def _fact_input(self, fact: Fact) -> dict[str, Any]:
        fact_type = self.ctx.catalog.get(fact.fact_type)
        return {
            "type": fact.fact_type,
            "domain": fact.life_domain,
            "sensitivity": fact.sensitivity,
            "publisher": fact.publisher_partner,
            "publisher_kind": fact.publisher_kind,
            "shareable": fact.shareable,
            "fields": fact_type.disclosure_classes(),
        }

    def _open_case(
        self, session: Session, viewer: Viewer, case_id: str
    ) -> tuple[Case, dict[str, Any]]:
        """The case as the policy sees it, after the viewer is allowed to read it (else 404)."""
        case = self.cases.load(session, viewer, case_id)
        policy_case = self.cases.policy_case(session, case)
        self.cases.authorize(session, viewer, case, "read_case", policy_case=policy_case)
        return case, policy_case

    def _decide(
        self,
        session: Session,
        viewer: Viewer,
        case: Case,
        policy_case: dict[str, Any],
        facts: Sequence[Fact],
    ) -> dict[str, FactDecision]:
        if not facts:
            return {}
        policy_input = {
            "viewer": viewer.policy_input(),
            "purpose": viewer.purpose.value,
            "case": policy_case,
            "facts": {f.id: self._fact_input(f) for f in facts},
        }
        return self.ctx.gate.decide(session, viewer, policy_input, case_id=case.id)

    def _release(
        self, session: Session, viewer: Viewer, fact: Fact, decision: FactDecision
    ) -> tuple[ReleasedFact, tuple[str, ...]]:
        """Decrypt and project one released fact. Defence in depth: never a field outside
        the type, and never a field above the decided level unless it is the publisher's."""
        fact_type = self.ctx.catalog.get(fact.fact_type)
        allowed = set(fact_type.fields)
        if fact.publisher_partner != viewer.partner:
            allowed &= set(fact_type.fields_at(decision.level))
        fields = tuple(sorted(f for f in decision.fields if f in allowed))
        content: dict[str, Any] = {}
        if fact.content_ct is not None and fields:
            try:
                content = self.ctx.vault.open_fact(
                    session,
                    case_id=fact.case_id,
                    fact_id=fact.id,
                    fact_type=fact.fact_type,
                    ciphertext=fact.content_ct,
                    decision=_narrowed(decision, fields),
                )
            except IntegrityFailure as exc:
                # Fail closed and say so in the log: nothing of this request is disclosed,
                # and the entry commits although the request fails (a Refusal).
                self.ctx.log.append(
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
            withheld_fields=sorted(set(fact_type.fields) - set(fields)),
            reason=decision.reason,
            rule=decision.rule,
        )
        return released, fields

    def _assemble(
        self,
        session: Session,
        viewer: Viewer,
        facts: Sequence[Fact],
        decisions: dict[str, FactDecision],
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
        with self.ctx.unit_of_work() as session:
            case, policy_case = self._open_case(session, viewer, case_id)
            facts = list(
                session.scalars(
                    select(Fact)
                    .where(Fact.case_id == case.id, Fact.status == "current")
                    .order_by(Fact.published_at, Fact.id)
                )
            )
            decisions = self._decide(session, viewer, case, policy_case, facts)
            released, existence, disclosed = self._assemble(session, viewer, facts, decisions)
            entry = self.ctx.log.append(
                session,
                Event(
                    action=Action.BRIEFING_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=sorted(disclosed),
                    disclosed=disclosed,
                    subject_pseudonyms=self.cases.case_pseudonyms(session, case.id),
                    policy_version=self.ctx.gate.version,
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
                policy_version=self.ctx.gate.version,
                log_seq=entry.seq,
                domains=sorted(sections.values(), key=lambda s: order.get(s.life_domain, 99)),
            )

    def updates(self, viewer: Viewer, case_id: str, cursor: int, limit: int) -> Updates:
        """Facts published or changed after `cursor`, under the same policy as the briefing."""
        limit = max(1, min(limit, MAX_PAGE))
        with self.ctx.unit_of_work() as session:
            case, policy_case = self._open_case(session, viewer, case_id)
            changed = list(
                session.scalars(
                    select(Fact)
                    .where(Fact.case_id == case.id, Fact.change_seq > cursor)
                    .order_by(Fact.change_seq, Fact.id)
                    .limit(limit + 1)
                )
            )
            more = len(changed) > limit
            changed = changed[:limit]
            decisions = self._decide(session, viewer, case, policy_case, changed)
            current = [f for f in changed if f.status == "current"]
            released, existence, disclosed = self._assemble(session, viewer, current, decisions)
            removed = sorted(
                f.id
                for f in changed
                if f.status != "current"
                and decisions[f.id].level in (DisclosureLevel.SUMMARY, DisclosureLevel.FULL)
            )
            next_cursor = changed[-1].change_seq if changed else cursor
            self.ctx.log.append(
                session,
                Event(
                    action=Action.UPDATES_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=sorted(set(disclosed) | set(removed)),
                    disclosed=disclosed,
                    reason=f"updates after {cursor}",
                    policy_version=self.ctx.gate.version,
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
                policy_version=self.ctx.gate.version,
            )


def _narrowed(decision: FactDecision, fields: tuple[str, ...]) -> FactDecision:
    return FactDecision(
        level=decision.level,
        fields=fields,
        reason=decision.reason,
        rule=decision.rule,
        policy_version=decision.policy_version,
    )
