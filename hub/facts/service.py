"""Publishing, correcting and withdrawing facts: validated, policy-checked, sealed, logged.

A batch is all-or-nothing: every fact is validated and every publish is allowed by the
policy before anything is written. Idempotency keys are per publisher: a retried request
returns what the first one created.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import Event
from hub.cases.models import Case, Subject, SubjectIndex
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.facts.catalog import FactType, FactValidationError, FieldError, UnknownFactType
from hub.facts.models import Fact
from hub.facts.schemas import CorrectionIn, FactIn, PublishedFact, PublishOut, WithdrawalIn
from hub.identity.viewer import Viewer
from hub.rego.errors import PolicyError

if TYPE_CHECKING:
    from hub.cases.service import CaseService
    from hub.context import HubContext

INVOLVEMENT_SIGNAL = "network.involvement_signal"


class InvalidFacts(ValidationFailed):
    slug = "invalid-fact-content"
    title = "Invalid fact content"
    default_detail = "One or more facts do not match their fact type; nothing was stored."


def life_domain_of(fact_type: FactType, content: dict[str, Any]) -> str:
    """The fact's life domain: the type's, except an involvement signal names its own."""
    if fact_type.name == INVOLVEMENT_SIGNAL and isinstance(content.get("domain"), str):
        return str(content["domain"])
    return fact_type.life_domain.value


class FactService:
    def __init__(self, ctx: HubContext, cases: CaseService) -> None:
        self.ctx = ctx
        self.cases = cases

    # -- validation -----------------------------------------------------------------------------

    def _validate(self, facts: Sequence[FactIn], *, prefix: str) -> list[FactType]:
        types: list[FactType] = []
        errors: list[FieldError] = []
        for index, fact in enumerate(facts):
            where = f"{prefix}/{index}" if prefix else ""
            try:
                fact_type = self.ctx.catalog.get(fact.type)
            except UnknownFactType:
                errors.append({"pointer": f"{where}/type", "problem": "unknown fact type"})
                continue
            try:
                fact_type.validate(fact.content)
            except FactValidationError as exc:
                errors.extend(
                    {"pointer": f"{where}/content{e['pointer']}", "problem": e["problem"]}
                    for e in exc.errors
                )
            types.append(fact_type)
        if errors:
            raise InvalidFacts(extra={"errors": errors[:100]})
        return types

    def _publish_input(
        self, viewer: Viewer, policy_case: dict[str, Any], fact_type: FactType, domain: str
    ) -> dict[str, Any]:
        return {
            "viewer": viewer.policy_input(),
            "purpose": viewer.purpose.value,
            "case": policy_case,
            "fact": {
                "type": fact_type.id,
                "domain": domain,
                "sensitivity": fact_type.sensitivity.value,
            },
        }

    def _allow_publish(
        self,
        session: Session,
        viewer: Viewer,
        case: Case,
        checks: Sequence[tuple[FactType, str]],
        *,
        pseudonyms: Sequence[str],
    ) -> str:
        """Every distinct (type, domain) must be allowed; one refusal refuses the batch."""
        policy_case = self.cases.policy_case(session, case)
        version = self.ctx.gate.version
        refused: list[str] = []
        reason = ""
        for fact_type, domain in dict.fromkeys(checks):
            try:
                verdict = self.ctx.gate.allow_publish(
                    self._publish_input(viewer, policy_case, fact_type, domain)
                )
            except PolicyError as exc:
                self.ctx.gate.policy_failed(session, viewer, exc, case_id=case.id)
            version = verdict.policy_version
            if not verdict.allowed:
                refused.append(fact_type.id.replace("/", ":"))
                reason = verdict.reason
        if refused:
            self.ctx.log.append(
                session,
                Event(
                    action=Action.FACT_PUBLISH_DENIED,
                    outcome=Outcome.DENIED,
                    case_id=case.id,
                    object_ids=refused,
                    subject_pseudonyms=pseudonyms,
                    reason=reason[:200],
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            raise Forbidden(
                "The policy does not allow your organisation to publish these fact types "
                f"on this case in this phase: {', '.join(sorted(set(refused)))}."
            )
        return version

    def _load_case_for_publish(self, session: Session, viewer: Viewer, case_id: str) -> Case:
        case = self.cases.load(session, viewer, case_id)
        # a partner that may not even read the case learns nothing about it
        self.cases.authorize(session, viewer, case, "read_case")
        if case.status != "open":
            raise Conflict("The case is closed; nothing can be published on it.")
        return case

    # -- publish ---------------------------------------------------------------------------------

    def publish(self, viewer: Viewer, case_id: str, facts: Sequence[FactIn]) -> PublishOut:
        prefix = "/facts" if len(facts) != 1 else ""
        types = self._validate(facts, prefix=prefix)
        with self.ctx.unit_of_work() as session:
            case = self._load_case_for_publish(session, viewer, case_id)
            subjects = self._subjects(session, case.id, facts)
            pseudonyms = sorted({p for f in facts if f.subject_id for p in subjects[f.subject_id]})
            out: list[PublishedFact] = []
            new: list[tuple[FactIn, FactType, str]] = []
            seen_keys: set[str] = set()
            # one query for the whole batch: which of these keys did this publisher use before?
            earlier = {
                f.idempotency_key: f
                for f in session.scalars(
                    select(Fact).where(
                        Fact.publisher_partner == viewer.partner,
                        Fact.idempotency_key.in_([f.idempotency_key for f in facts]),
                    )
                )
            }
            for fact, fact_type in zip(facts, types, strict=True):
                if fact.idempotency_key in seen_keys:
                    raise ValidationFailed("Idempotency keys must be unique within a batch.")
                seen_keys.add(fact.idempotency_key)
                existing = earlier.get(fact.idempotency_key)
                if existing is not None:
                    if existing.case_id != case.id or existing.fact_type != fact_type.id:
                        raise Conflict("This idempotency key was used for another fact.")
                    out.append(
                        PublishedFact(
                            id=existing.id,
                            idempotency_key=fact.idempotency_key,
                            type=existing.fact_type,
                            version=existing.version,
                            status=existing.status,
                            created=False,
                        )
                    )
                    continue
                new.append((fact, fact_type, life_domain_of(fact_type, fact.content)))
            if not new:
                return PublishOut(case_id=case.id, facts=out)
            version = self._allow_publish(
                session, viewer, case, [(t, d) for _, t, d in new], pseudonyms=pseudonyms
            )
            ids = [str(uuid.uuid4()) for _ in new]
            entry = self.ctx.log.append(
                session,
                Event(
                    action=Action.FACT_PUBLISH,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=ids,
                    subject_pseudonyms=pseudonyms,
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            for fact_id, (fact, fact_type, domain) in zip(ids, new, strict=True):
                row = Fact(
                    id=fact_id,
                    case_id=case.id,
                    subject_id=fact.subject_id,
                    fact_type=fact_type.id,
                    life_domain=domain,
                    sensitivity=fact_type.sensitivity.value,
                    legal_basis=fact.legal_basis,
                    shareable=fact.shareable,
                    publisher_partner=viewer.partner,
                    publisher_kind=viewer.partner_kind.value,
                    publisher_user=viewer.user,
                    idempotency_key=fact.idempotency_key,
                    lineage_id=fact_id,
                    version=1,
                    status="current",
                    change_seq=entry.seq,
                    # the id is chosen up front, so the row is sealed before its one insert
                    content_ct=self.ctx.vault.seal_document(
                        session,
                        case_id=case.id,
                        record="fact",
                        row_id=fact_id,
                        schema_id=fact_type.id,
                        document=fact.content,
                    ),
                )
                session.add(row)
                out.append(
                    PublishedFact(
                        id=fact_id,
                        idempotency_key=fact.idempotency_key,
                        type=fact_type.id,
                        version=1,
                        status="current",
                        created=True,
                    )
                )
            return PublishOut(case_id=case.id, facts=out)

    def _subjects(
        self, session: Session, case_id: str, facts: Sequence[FactIn]
    ) -> dict[str, list[str]]:
        wanted = {f.subject_id for f in facts if f.subject_id}
        found: dict[str, list[str]] = {}
        for subject_id in wanted:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.case_id != case_id:
                raise ValidationFailed("A subject_id does not belong to this case.")
            found[subject_id] = list(
                session.scalars(
                    select(SubjectIndex.value).where(SubjectIndex.subject_id == subject_id)
                )
            )
        return found

    # -- correct and withdraw ------------------------------------------------------------------

    def _own_current(self, session: Session, viewer: Viewer, fact_id: str) -> tuple[Fact, Case]:
        fact = session.get(Fact, fact_id) if len(fact_id) <= 36 else None
        if fact is None or fact.publisher_partner != viewer.partner:
            self.ctx.log.append(
                session,
                Event(
                    action=Action.FACT_PUBLISH_DENIED,
                    outcome=Outcome.DENIED,
                    reason="correction or withdrawal of a fact that is not the caller's",
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            raise NotFound()
        if fact.status != "current":
            raise Conflict("Only the current version of a fact can be corrected or withdrawn.")
        case = self._load_case_for_publish(session, viewer, fact.case_id)
        return fact, case

    def correct(self, viewer: Viewer, fact_id: str, body: CorrectionIn) -> PublishedFact:
        with self.ctx.unit_of_work() as session:
            fact, case = self._own_current(session, viewer, fact_id)
            fact_type = self.ctx.catalog.get(fact.fact_type)
            try:
                fact_type.validate(body.content)
            except FactValidationError as exc:
                raise InvalidFacts(
                    extra={
                        "errors": [
                            {"pointer": f"/content{e['pointer']}", "problem": e["problem"]}
                            for e in exc.errors
                        ]
                    }
                ) from None
            domain = life_domain_of(fact_type, body.content)
            pseudonyms = _pseudonyms_of(session, fact.subject_id)
            version = self._allow_publish(
                session, viewer, case, [(fact_type, domain)], pseudonyms=pseudonyms
            )
            new_id = str(uuid.uuid4())
            entry = self.ctx.log.append(
                session,
                Event(
                    action=Action.FACT_CORRECT,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=[fact.id, new_id],
                    subject_pseudonyms=pseudonyms,
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            fact.status = "superseded"
            fact.change_seq = entry.seq
            row = Fact(
                id=new_id,
                case_id=case.id,
                subject_id=fact.subject_id,
                fact_type=fact.fact_type,
                life_domain=domain,
                sensitivity=fact.sensitivity,
                legal_basis=fact.legal_basis,
                shareable=fact.shareable if body.shareable is None else body.shareable,
                publisher_partner=viewer.partner,
                publisher_kind=viewer.partner_kind.value,
                publisher_user=viewer.user,
                idempotency_key=f"{fact.idempotency_key}#v{fact.version + 1}"[:128],
                lineage_id=fact.lineage_id,
                version=fact.version + 1,
                status="current",
                change_seq=entry.seq,
            )
            session.add(row)
            session.flush()
            row.content_ct = self.ctx.vault.seal_document(
                session,
                case_id=case.id,
                record="fact",
                row_id=new_id,
                schema_id=fact.fact_type,
                document=body.content,
            )
            return PublishedFact(
                id=new_id,
                idempotency_key=row.idempotency_key,
                type=row.fact_type,
                version=row.version,
                status="current",
                created=True,
            )

    def withdraw(self, viewer: Viewer, fact_id: str, body: WithdrawalIn) -> PublishedFact:
        with self.ctx.unit_of_work() as session:
            fact, case = self._own_current(session, viewer, fact_id)
            entry = self.ctx.log.append(
                session,
                Event(
                    action=Action.FACT_WITHDRAW,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=[fact.id],
                    reason=body.reason_code,
                    policy_version=self.ctx.gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            fact.status = "withdrawn"
            fact.change_seq = entry.seq
            return PublishedFact(
                id=fact.id,
                idempotency_key=fact.idempotency_key,
                type=fact.fact_type,
                version=fact.version,
                status="withdrawn",
                created=False,
            )


def _pseudonyms_of(session: Session, subject_id: str | None) -> list[str]:
    if subject_id is None:
        return []
    return list(
        session.scalars(select(SubjectIndex.value).where(SubjectIndex.subject_id == subject_id))
    )
