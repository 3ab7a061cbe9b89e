"""Publishing, correcting and withdrawing facts: validated, policy-checked, sealed, logged.

A batch is all-or-nothing: every fact is validated and every publish is allowed by the
policy before anything is written. Idempotency keys are per publisher: a retried request
returns what the first one created.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Case, Subject
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.disclosure.vault import CaseVault
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.facts.catalog import (
    FactType,
    FactTypeCatalog,
    FactValidationError,
    FieldError,
    UnknownFactType,
)
from hub.facts.models import Fact
from hub.facts.repository import FactRepository
from hub.facts.schemas import CorrectionIn, FactIn, PublishedFact, PublishOut, WithdrawalIn
from hub.gate.gate import Gate, PublishCheck
from hub.gate.inputs import CaseInput
from hub.identity.viewer import Viewer
from hub.vocabulary import CaseStatus, FactStatus

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

    # -- validation -----------------------------------------------------------------------------

    def _validate(self, facts: Sequence[FactIn], *, prefix: str) -> list[FactType]:
        types: list[FactType] = []
        errors: list[FieldError] = []
        for index, fact in enumerate(facts):
            where = f"{prefix}/{index}" if prefix else ""
            try:
                fact_type = self._catalog.get(fact.type)
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

    def _load_case_for_publish(
        self, session: Session, viewer: Viewer, case_id: str
    ) -> tuple[Case, CaseInput]:
        # a partner that may not even read the case learns nothing about it
        opened = self._gate.open_case(session, viewer, case_id, "read_case")
        if opened.case.status != CaseStatus.OPEN:
            raise Conflict("The case is closed; nothing can be published on it.")
        return opened.case, opened.policy

    # -- publish ---------------------------------------------------------------------------------

    def publish(self, viewer: Viewer, case_id: str, facts: Sequence[FactIn]) -> PublishOut:
        prefix = "/facts" if len(facts) != 1 else ""
        types = self._validate(facts, prefix=prefix)
        with self._unit_of_work() as session:
            case, policy_case = self._load_case_for_publish(session, viewer, case_id)
            subjects = self._subjects(session, case.id, facts)
            pseudonyms = sorted({p for f in facts if f.subject_id for p in subjects[f.subject_id]})
            out: list[PublishedFact] = []
            new: list[tuple[FactIn, FactType, str]] = []
            seen_keys: set[str] = set()
            # one query for the whole batch: which of these keys did this publisher use before?
            earlier = FactRepository(session).by_idempotency_keys(
                viewer.partner, [f.idempotency_key for f in facts]
            )
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
            version = self._gate.authorize_publish(
                session,
                viewer,
                policy_case,
                [PublishCheck(t.id, d, t.sensitivity.value) for _, t, d in new],
                pseudonyms=pseudonyms,
            )
            ids = [str(uuid.uuid4()) for _ in new]
            entry = self._log.append(
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
                    status=FactStatus.CURRENT.value,
                    change_seq=entry.seq,
                    # the id is chosen up front, so the row is sealed before its one insert
                    content_ct=self._vault.seal_document(
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
                        status=FactStatus.CURRENT.value,
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
            found[subject_id] = CaseRepository(session).pseudonyms_of_subject(subject_id)
        return found

    # -- correct and withdraw ------------------------------------------------------------------

    def _own_current(
        self, session: Session, viewer: Viewer, fact_id: str
    ) -> tuple[Fact, Case, CaseInput]:
        fact = FactRepository(session).get(fact_id)
        if fact is None or fact.publisher_partner != viewer.partner:
            self._log.append(
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
        if fact.status != FactStatus.CURRENT:
            raise Conflict("Only the current version of a fact can be corrected or withdrawn.")
        case, policy_case = self._load_case_for_publish(session, viewer, fact.case_id)
        return fact, case, policy_case

    def correct(self, viewer: Viewer, fact_id: str, body: CorrectionIn) -> PublishedFact:
        with self._unit_of_work() as session:
            fact, case, policy_case = self._own_current(session, viewer, fact_id)
            fact_type = self._catalog.get(fact.fact_type)
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
            pseudonyms = CaseRepository(session).pseudonyms_of_subject(fact.subject_id)
            version = self._gate.authorize_publish(
                session,
                viewer,
                policy_case,
                [PublishCheck(fact_type.id, domain, fact_type.sensitivity.value)],
                pseudonyms=pseudonyms,
            )
            new_id = str(uuid.uuid4())
            entry = self._log.append(
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
            fact.status = FactStatus.SUPERSEDED.value
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
                status=FactStatus.CURRENT.value,
                change_seq=entry.seq,
            )
            session.add(row)
            session.flush()
            row.content_ct = self._vault.seal_document(
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
                status=FactStatus.CURRENT.value,
                created=True,
            )

    def withdraw(self, viewer: Viewer, fact_id: str, body: WithdrawalIn) -> PublishedFact:
        with self._unit_of_work() as session:
            fact, case, _ = self._own_current(session, viewer, fact_id)
            entry = self._log.append(
                session,
                Event(
                    action=Action.FACT_WITHDRAW,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=[fact.id],
                    reason=body.reason_code,
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            fact.status = FactStatus.WITHDRAWN.value
            fact.change_seq = entry.seq
            return PublishedFact(
                id=fact.id,
                idempotency_key=fact.idempotency_key,
                type=fact.fact_type,
                version=fact.version,
                status=FactStatus.WITHDRAWN.value,
                created=False,
            )
