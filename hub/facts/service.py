"""Publishing, correcting and withdrawing facts: validated, policy-checked, sealed, logged.

A batch is all-or-nothing: every fact is validated and every publish is allowed by the
policy before anything is written. Idempotency keys are per publisher: a retried request
returns what the first one created.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Case, Subject, SubjectIndex
from hub.db.base import utcnow
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
from hub.facts.models import Fact, FactSubject
from hub.facts.repository import FactRepository
from hub.facts.schemas import CorrectionIn, FactIn, PublishedFact, PublishOut, WithdrawalIn
from hub.facts.subjects import (
    fact_pseudonyms,
    for_log,
    link_subjects,
    subject_ids_by_fact,
)
from hub.gate.gate import Gate, PublishCheck
from hub.gate.inputs import CaseInput
from hub.identity.viewer import Viewer
from hub.notifications.outbox import EventKind, record
from hub.receipts.issuer import ContentDigest, FactAct, ReceiptIssuer
from hub.receipts.models import FactReceipt
from hub.vocabulary import CaseStatus, FactStatus

INVOLVEMENT_SIGNAL = "network.involvement_signal"


class InvalidFacts(ValidationFailed):
    slug = "invalid-fact-content"
    title = "Invalid fact content"
    default_detail = "One or more facts do not match their fact type; nothing was stored."


class InvalidFactSubjects(ValidationFailed):
    slug = "invalid-fact-subjects"
    title = "Invalid fact subjects"
    default_detail = (
        "Name the subjects a fact concerns in subject_ids, each once and each a subject of "
        "this case (or leave it out for the whole case); nothing was stored."
    )


def requested_subjects(fact: FactIn) -> tuple[str, ...]:
    """The subject ids a published fact names (`subject_ids`, or the older `subject_id`);
    empty: the whole case."""
    if fact.subject_ids:
        return tuple(fact.subject_ids)
    return (fact.subject_id,) if fact.subject_id else ()


def _check_subject_fields(facts: Sequence[FactIn], *, prefix: str) -> None:
    """`subject_ids` or `subject_id`, not both; no subject twice. Pointers only, no values."""
    errors: list[FieldError] = []
    for index, fact in enumerate(facts):
        where = f"{prefix}/{index}" if prefix else ""
        if fact.subject_id is not None and fact.subject_ids is not None:
            errors.append(
                {
                    "pointer": f"{where}/subject_id",
                    "problem": "give subject_ids or the older subject_id, not both",
                }
            )
        elif fact.subject_ids and len(set(fact.subject_ids)) != len(fact.subject_ids):
            errors.append(
                {"pointer": f"{where}/subject_ids", "problem": "a subject is named more than once"}
            )
    if errors:
        raise InvalidFactSubjects(extra={"errors": errors[:100]})


def correction_key(lineage_id: str, version: int) -> str:
    """The unique key a correction's row is stored under: named by its lineage and version,
    never grown from the previous key, so it stays short however often a fact is corrected
    and however long the publisher's key is. It starts with `#`, which a publisher's key may
    not contain, so it never takes a key a publisher may still use."""
    return f"#{lineage_id}#v{version}"


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
        # receipts are signed with the access log's key (ADR 0405)
        self._receipts = ReceiptIssuer(access_log)

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
        _check_subject_fields(facts, prefix=prefix)
        types = self._validate(facts, prefix=prefix)
        with self._unit_of_work() as session:
            case, policy_case = self._load_case_for_publish(session, viewer, case_id)
            subjects, case_pseudonyms = self._subjects(session, case.id, facts)

            def concerned(fact: FactIn) -> tuple[str, ...]:
                named = requested_subjects(fact)
                if not named:
                    return tuple(case_pseudonyms)
                return tuple(sorted({p for s in named for p in subjects[s]}))

            pseudonyms = sorted({p for f in facts for p in concerned(f)})
            for attempt in range(2):
                out, new = self._match(session, viewer, case, facts, types)
                if not new:
                    return PublishOut(case_id=case.id, facts=[o for o in out if o is not None])
                version = self._gate.authorize_publish(
                    session,
                    viewer,
                    policy_case,
                    [PublishCheck(t.id, d, t.sensitivity.value) for _, _, t, d in new],
                    pseudonyms=pseudonyms,
                )
                try:
                    # a SAVEPOINT: a concurrent publish that stored one of these keys first
                    # undoes this write (its log entry included) and nothing else
                    with session.begin_nested():
                        written = self._store(session, viewer, case, new, concerned, version)
                except IntegrityError:
                    if attempt:
                        raise
                    # answer as the retry this request turned out to be
                    continue
                for (index, *_), published in zip(new, written, strict=True):
                    out[index] = published
                return PublishOut(case_id=case.id, facts=[o for o in out if o is not None])
            raise AssertionError("unreachable")  # pragma: no cover

    def _match(
        self,
        session: Session,
        viewer: Viewer,
        case: Case,
        facts: Sequence[FactIn],
        types: Sequence[FactType],
    ) -> tuple[list[PublishedFact | None], list[tuple[int, FactIn, FactType, str]]]:
        """What this publisher stored under these keys before (answered as a retry, in batch
        order; None where a fact is new) and the facts still to store (with their index)."""
        out: list[PublishedFact | None] = []
        new: list[tuple[int, FactIn, FactType, str]] = []
        seen_keys: set[str] = set()
        # one query for the whole batch: which of these keys did this publisher use before?
        earlier = FactRepository(session).by_idempotency_keys(
            viewer.partner, [f.idempotency_key for f in facts]
        )
        earlier_subjects = subject_ids_by_fact(session, [f.id for f in earlier.values()])
        # a retry answers with the receipt the first request got (without its salt, ADR 0405)
        earlier_ids = [f.id for f in earlier.values()]
        earlier_receipts = (
            {
                r.fact_id: r.receipt
                for r in session.scalars(
                    select(FactReceipt).where(FactReceipt.fact_id.in_(earlier_ids))
                )
            }
            if earlier_ids
            else {}
        )
        for index, (fact, fact_type) in enumerate(zip(facts, types, strict=True)):
            if fact.idempotency_key in seen_keys:
                raise ValidationFailed("Idempotency keys must be unique within a batch.")
            seen_keys.add(fact.idempotency_key)
            existing = earlier.get(fact.idempotency_key)
            if existing is not None:
                linked = earlier_subjects.get(existing.id, [])
                if (
                    existing.case_id != case.id
                    or existing.fact_type != fact_type.id
                    or sorted(set(requested_subjects(fact))) != linked
                ):
                    raise Conflict("This idempotency key was used for another fact.")
                out.append(
                    PublishedFact(
                        id=existing.id,
                        idempotency_key=fact.idempotency_key,
                        type=existing.fact_type,
                        version=existing.version,
                        status=existing.status,
                        created=False,
                        subject_ids=linked,
                        receipt=earlier_receipts.get(existing.id),
                    )
                )
                continue
            out.append(None)
            new.append((index, fact, fact_type, life_domain_of(fact_type, fact.content)))
        return out, new

    def _store(
        self,
        session: Session,
        viewer: Viewer,
        case: Case,
        new: Sequence[tuple[int, FactIn, FactType, str]],
        concerned: Callable[[FactIn], tuple[str, ...]],
        version: str,
    ) -> list[PublishedFact]:
        """Log and store the new facts; an IntegrityError when a key was taken meanwhile.

        The rows go in as three multi-row INSERTs (facts, their subjects, their receipts),
        not as ORM objects: the unit of work's per-object bookkeeping cost a batch of 100
        about a third of its time (ADR 0020). Content is sealed before the log entry is
        appended, so the log head (locked by the append until the commit) is held for the
        inserts only."""
        ids = [str(uuid.uuid4()) for _ in new]
        sealed = [
            self._vault.seal_fact(
                session,
                case_id=case.id,
                fact_id=fact_id,
                fact_type=fact_type.id,
                content=fact.content,
            )
            for fact_id, (_, fact, fact_type, _) in zip(ids, new, strict=True)
        ]
        # everything that does not depend on the log entry is done before it is appended:
        # the append locks the log head until the commit (ADR 0020)
        digests = [ContentDigest.of(fact.content) for _, fact, _, _ in new]
        named_subjects = [sorted(set(requested_subjects(fact))) for _, fact, _, _ in new]
        published_at = utcnow()
        rows: list[dict[str, Any]] = []
        links: list[dict[str, str]] = []
        for fact_id, content_ct, named, (_, fact, fact_type, domain) in zip(
            ids, sealed, named_subjects, new, strict=True
        ):
            rows.append(
                {
                    "id": fact_id,
                    "case_id": case.id,
                    # the one subject of a single-subject fact, for older readers
                    "subject_id": named[0] if len(named) == 1 else None,
                    "fact_type": fact_type.id,
                    "life_domain": domain,
                    "sensitivity": fact_type.sensitivity.value,
                    "legal_basis": fact.legal_basis,
                    "shareable": fact.shareable,
                    "publisher_partner": viewer.partner,
                    "publisher_kind": viewer.partner_kind.value,
                    "publisher_user": viewer.user,
                    "idempotency_key": fact.idempotency_key,
                    "lineage_id": fact_id,
                    "version": 1,
                    "status": FactStatus.CURRENT.value,
                    # the id is chosen up front, so the row is sealed before its one insert
                    "content_ct": content_ct,
                    "published_at": published_at,
                }
            )
            links.extend({"fact_id": fact_id, "subject_id": s} for s in named)
        # announced in this unit of work, so the event commits with the facts (ADR 0019); it
        # names no log position, so it is flushed before the append locks the head
        record(session, EventKind.FACTS_RELEASED, case.id, ids, actor_partner=viewer.partner)
        entry, leaf = self._log.append_with_leaf(
            session,
            Event(
                action=Action.FACT_PUBLISH,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                object_ids=ids,
                fact_subjects=for_log(
                    {i: concerned(f) for i, (_, f, _, _) in zip(ids, new, strict=True)}
                ),
                policy_version=version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )
        signer = self._receipts.signer(session)
        out: list[PublishedFact] = []
        receipts: list[dict[str, Any]] = []
        for fact_id, row, digest, named, (_, fact, fact_type, _) in zip(
            ids, rows, digests, named_subjects, new, strict=True
        ):
            row["change_seq"] = entry.seq
            issued = self._receipts.issue(
                signer,
                entry,
                leaf,
                FactAct(case.id, fact_id, fact_type.id, 1, fact.idempotency_key),
                digest,
            )
            receipts.append({"fact_id": fact_id, "seq": entry.seq, "receipt": issued.receipt})
            out.append(
                PublishedFact(
                    id=fact_id,
                    idempotency_key=fact.idempotency_key,
                    type=fact_type.id,
                    version=1,
                    status=FactStatus.CURRENT.value,
                    created=True,
                    subject_ids=named,
                    receipt=issued.receipt,
                    receipt_salt=issued.salt,
                )
            )
        session.flush()  # the log entry before the rows that follow it
        # the fact rows before the rows that refer to them
        session.execute(insert(Fact), rows)
        if links:
            session.execute(insert(FactSubject), links)
        session.execute(insert(FactReceipt), receipts)
        return out

    def _subjects(
        self, session: Session, case_id: str, facts: Sequence[FactIn]
    ) -> tuple[dict[str, list[str]], list[str]]:
        """subject id -> its pseudonyms, for every subject the facts name, and the pseudonyms
        of every subject of the case (a fact about the whole case names them all); refuses
        (400, nothing stored) a subject of another case or none at all, without naming it.

        The case's index rows are read once for both: every subject named has just been
        found in this case, so its rows are among them (ADR 0020)."""
        wanted = sorted({s for f in facts for s in requested_subjects(f)})
        if wanted:
            found = set(
                session.scalars(
                    select(Subject.id).where(Subject.id.in_(wanted), Subject.case_id == case_id)
                )
            )
            if found != set(wanted):
                raise InvalidFactSubjects("A subject in subject_ids does not belong to this case.")
        named: dict[str, list[str]] = {s: [] for s in wanted}
        everyone: set[str] = set()
        for subject_id, value in session.execute(
            select(SubjectIndex.subject_id, SubjectIndex.value).where(
                SubjectIndex.case_id == case_id
            )
        ):
            everyone.add(value)
            if subject_id in named:
                named[subject_id].append(value)
        return {k: sorted(v) for k, v in named.items()}, sorted(everyone)

    # -- correct and withdraw ------------------------------------------------------------------

    def _own_current(
        self, session: Session, viewer: Viewer, fact_id: str
    ) -> tuple[Fact, Case, CaseInput]:
        # the row lock makes concurrent corrections and withdrawals of one fact take turns:
        # the later one sees the state the earlier one left (409 unless still current)
        fact = FactRepository(session).get(fact_id, for_update=True)
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
            pseudonyms = fact_pseudonyms(session, [fact])[fact.id]
            version = self._gate.authorize_publish(
                session,
                viewer,
                policy_case,
                [PublishCheck(fact_type.id, domain, fact_type.sensitivity.value)],
                pseudonyms=pseudonyms,
            )
            new_id = str(uuid.uuid4())
            # sealed and digested before the append, which locks the log head (ADR 0020)
            content_ct = self._vault.seal_fact(
                session,
                case_id=case.id,
                fact_id=new_id,
                fact_type=fact.fact_type,
                content=body.content,
            )
            digest = ContentDigest.of(body.content)
            subject_ids = subject_ids_by_fact(session, [fact.id]).get(fact.id, [])
            key = self._publisher_key(session, fact)
            record(
                session, EventKind.FACTS_RELEASED, case.id, [new_id], actor_partner=viewer.partner
            )
            entry, leaf = self._log.append_with_leaf(
                session,
                Event(
                    action=Action.FACT_CORRECT,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=[fact.id, new_id],
                    fact_subjects={fact.id: pseudonyms, new_id: pseudonyms},
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
                idempotency_key=correction_key(fact.lineage_id, fact.version + 1),
                lineage_id=fact.lineage_id,
                version=fact.version + 1,
                status=FactStatus.CURRENT.value,
                change_seq=entry.seq,
                content_ct=content_ct,
            )
            session.add(row)
            session.flush()
            link_subjects(session, new_id, subject_ids)
            issued = self._receipts.issue(
                self._receipts.signer(session),
                entry,
                leaf,
                FactAct(case.id, new_id, row.fact_type, row.version, key),
                digest,
            )
            return PublishedFact(
                id=new_id,
                # the key the publisher chose for this fact, not the hub's name of the version
                idempotency_key=key,
                type=row.fact_type,
                version=row.version,
                status=FactStatus.CURRENT.value,
                created=True,
                subject_ids=subject_ids,
                receipt=issued.receipt,
                receipt_salt=issued.salt,
            )

    @staticmethod
    def _publisher_key(session: Session, fact: Fact) -> str:
        """The idempotency key the publisher chose for the fact's first version."""
        if fact.id == fact.lineage_id:
            return fact.idempotency_key
        first = FactRepository(session).get(fact.lineage_id)
        return first.idempotency_key if first is not None else fact.idempotency_key

    def withdraw(self, viewer: Viewer, fact_id: str, body: WithdrawalIn) -> PublishedFact:
        with self._unit_of_work() as session:
            fact, case, policy_case = self._own_current(session, viewer, fact_id)
            pseudonyms = fact_pseudonyms(session, [fact])
            # a withdrawal takes the fact from every reader: the policy decides it as a
            # publish of its kind (the `publisher` role, this case, this phase), as for a
            # correction; a refusal is logged and nothing changes
            version = self._gate.authorize_publish(
                session,
                viewer,
                policy_case,
                [PublishCheck(fact.fact_type, fact.life_domain, fact.sensitivity)],
                pseudonyms=pseudonyms[fact.id],
            )
            # read and announced before the append, which locks the log head (ADR 0020)
            key = self._publisher_key(session, fact)
            subject_ids = subject_ids_by_fact(session, [fact.id]).get(fact.id, [])
            record(
                session, EventKind.FACTS_RELEASED, case.id, [fact.id], actor_partner=viewer.partner
            )
            entry, leaf = self._log.append_with_leaf(
                session,
                Event(
                    action=Action.FACT_WITHDRAW,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=[fact.id],
                    fact_subjects=pseudonyms,
                    reason=body.reason_code,
                    policy_version=version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            fact.status = FactStatus.WITHDRAWN.value
            fact.change_seq = entry.seq
            issued = self._receipts.issue(
                self._receipts.signer(session),
                entry,
                leaf,
                FactAct(case.id, fact.id, fact.fact_type, fact.version, key),
                None,
            )
            return PublishedFact(
                id=fact.id,
                idempotency_key=key,
                type=fact.fact_type,
                version=fact.version,
                status=FactStatus.WITHDRAWN.value,
                created=False,
                subject_ids=subject_ids,
                receipt=issued.receipt,
            )
