"""Intake (aanmelding): registering a case, reading its metadata, and a person's case list.

Identifiers are sealed in the case vault and blind-indexed at registration; they never come
back out of this module.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.history import record_phase
from hub.cases.models import (
    Case,
    CasePhaseHistory,
    Participant,
    Subject,
    SubjectIndex,
    SubjectVersion,
)
from hub.cases.presenters import with_identity
from hub.cases.repository import CaseRepository
from hub.cases.schemas import (
    CaseIn,
    CaseOut,
    PhaseStepOut,
    SubjectCorrectionIn,
    SubjectIn,
    SubjectVersionOut,
)
from hub.cases.usecase import CaseUseCase
from hub.crypto.blind_index import BlindIndexer
from hub.crypto.errors import InvalidIdentifier
from hub.db.session import UnitOfWork
from hub.disclosure.identity import IdentityReader, subject_pseudonyms_by_id
from hub.disclosure.vault import CaseVault
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.vocabulary import CaseStatus, Phase, Role

#: Most case ids one list entry names (the list itself is not cut).
MAX_LOGGED_IDS = 200


class InvalidSubject(ValidationFailed):
    slug = "invalid-subject"
    title = "Invalid subject identifiers"
    default_detail = (
        "Each subject needs a valid BSN, or a name with a date of birth; "
        "identifiers are never echoed back."
    )


def subject_pseudonyms(indexer: BlindIndexer, subject: SubjectIn) -> dict[str, str]:
    """kind -> blind index of the identifiers given; raises InvalidSubject."""
    out: dict[str, str] = {}
    try:
        if subject.bsn:
            out["bsn"] = indexer.bsn(subject.bsn)
        if subject.name and subject.date_of_birth:
            out["name_dob"] = indexer.name_dob(subject.name, subject.date_of_birth)
    except InvalidIdentifier:
        raise InvalidSubject() from None
    if not out:
        raise InvalidSubject()
    return out


class StaleSubjectVersion(Conflict):
    slug = "stale-subject-version"
    title = "Subject changed meanwhile"
    default_detail = (
        "The subject was corrected since the version you sent; read the case again and "
        "correct the current version."
    )


class IntakeService(CaseUseCase):
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        registry: NetworkRegistry,
        vault: CaseVault,
        indexer: BlindIndexer,
    ) -> None:
        super().__init__(unit_of_work, gate, access_log, registry)
        self._vault = vault
        self._indexer = indexer
        self._identity = IdentityReader(gate, vault)

    def register(self, viewer: Viewer, body: CaseIn) -> CaseOut:
        indexes = [subject_pseudonyms(self._indexer, s) for s in body.subjects]
        with self._unit_of_work() as session:
            permit = self._gate.authorize(session, viewer, "register_case")
            case = Case(
                id=str(uuid.uuid4()),
                kind=body.kind.value,
                proposed_table=body.proposed_table.value,
                phase=Phase.INTAKE.value,
                status=CaseStatus.OPEN.value,
                registered_by_partner=viewer.partner,
                registered_by_user=viewer.user,
            )
            session.add(case)
            session.flush()
            record_phase(session, case, Phase.INTAKE, viewer.partner, at=case.registered_at)
            vault = self._vault
            vault.create_case_key(session, case.id)
            case.reason_ct = vault.seal_document(
                session,
                case_id=case.id,
                record="case",
                row_id=case.id,
                schema_id="case.reason/1",
                document={"reason": body.reason},
            )
            pseudonyms: list[str] = []
            for subject_in, index in zip(body.subjects, indexes, strict=True):
                subject = Subject(
                    id=str(uuid.uuid4()), case_id=case.id, role_in_case=subject_in.role_in_case
                )
                session.add(subject)
                session.flush()
                subject.identifiers_ct = vault.seal_document(
                    session,
                    case_id=case.id,
                    record="subject",
                    row_id=subject.id,
                    schema_id="subject.identifiers/1",
                    document=subject_in.model_dump(mode="json", exclude={"role_in_case"}),
                )
                for kind, value in index.items():
                    session.add(
                        SubjectIndex(subject_id=subject.id, kind=kind, value=value, case_id=case.id)
                    )
                    pseudonyms.append(value)
            # the registering partner takes part in its own case
            session.add(
                Participant(
                    id=str(uuid.uuid4()),
                    case_id=case.id,
                    partner_id=viewer.partner,
                    user="",
                    invited_by_partner=viewer.partner,
                    invited_by_user=viewer.user,
                )
            )
            session.flush()
            self._log_act(
                session,
                viewer,
                Action.CASE_REGISTER,
                case,
                policy_version=permit.policy_version,
                pseudonyms=pseudonyms,
            )
            return self._out(session, case)

    def get(self, viewer: Viewer, case_id: str) -> CaseOut:
        """One case as this viewer may see it: metadata, and who it is about as far as the
        policy's identity decision releases (decrypted only then, and logged per subject)."""
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_case")
            view = self._identity.read(session, viewer, opened.case, opened.policy)
            disclosed = view.disclosed(opened.case.id)
            fact_subjects = subject_pseudonyms_by_id(
                session, [v.subject.id for v in view.subjects], opened.case.id
            )
            self._log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=opened.case.id,
                    disclosed=disclosed,
                    fact_subjects={k: fact_subjects[k] for k in disclosed},
                    reason="case metadata",
                    policy_version=view.permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            history = [
                PhaseStepOut(
                    phase=h.phase, entered_at=h.entered_at, entered_by=h.entered_by_partner
                )
                for h in session.scalars(
                    select(CasePhaseHistory)
                    .where(CasePhaseHistory.case_id == opened.case.id)
                    .order_by(CasePhaseHistory.entered_at, CasePhaseHistory.id)
                )
            ]
            out = with_identity(self._out(session, opened.case), view)
            return out.model_copy(update={"phase_history": history})

    def correct_subject(
        self, viewer: Viewer, case_id: str, subject_id: str, body: SubjectCorrectionIn
    ) -> SubjectVersionOut:
        """The registering partner corrects a subject's identifying data: a new version, the
        old one kept sealed (SubjectVersion), the blind index recomputed, the act logged with
        the pseudonyms of both versions. A correction of a stale version is a 409 and changes
        nothing; a subject of another case is the 404 of an unknown one."""
        corrected = SubjectIn(
            role_in_case=body.role_in_case,
            bsn=body.bsn,
            name=body.name,
            date_of_birth=body.date_of_birth,
            address=body.address,
        )
        index = subject_pseudonyms(self._indexer, corrected)
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "correct_subject")
            subject = session.get(Subject, subject_id)
            if subject is None or subject.case_id != opened.case.id:
                raise NotFound()
            if subject.version != body.version:
                raise StaleSubjectVersion()
            before = [
                row.value
                for row in session.scalars(
                    select(SubjectIndex).where(SubjectIndex.subject_id == subject.id)
                )
            ]
            sealed = self._vault.seal_document(
                session,
                case_id=opened.case.id,
                record="subject",
                row_id=subject.id,
                schema_id="subject.identifiers/1",
                document=corrected.model_dump(mode="json", exclude={"role_in_case"}),
            )
            # the version predicate makes a concurrent correction of the same version lose
            # (0 rows) even where the database lets both read it first
            moved = session.execute(
                update(Subject)
                .where(Subject.id == subject.id, Subject.version == body.version)
                .values(
                    version=body.version + 1,
                    role_in_case=body.role_in_case,
                    identifiers_ct=sealed,
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleSubjectVersion()
            session.add(
                SubjectVersion(
                    subject_id=subject.id,
                    version=body.version,
                    case_id=opened.case.id,
                    role_in_case=subject.role_in_case,
                    identifiers_ct=subject.identifiers_ct,
                    replaced_by_partner=viewer.partner,
                    replaced_by_user=viewer.user,
                )
            )
            session.execute(delete(SubjectIndex).where(SubjectIndex.subject_id == subject.id))
            for kind, value in index.items():
                session.add(
                    SubjectIndex(
                        subject_id=subject.id, kind=kind, value=value, case_id=opened.case.id
                    )
                )
            session.flush()
            self._log_act(
                session,
                viewer,
                Action.CASE_CORRECT_SUBJECT,
                opened.case,
                policy_version=opened.permit.policy_version,
                object_ids=[subject.id],
                pseudonyms=sorted(set(before) | set(index.values())),
            )
            return SubjectVersionOut(id=subject.id, version=body.version + 1)

    def list_for(self, viewer: Viewer) -> list[CaseOut]:
        """Cases the viewer may read; for a procesregisseur also the intake queue (cases no
        procesregisseur has taken yet), as far as the policy's `list_intake_queue` allows."""
        with self._unit_of_work() as session:
            repo = CaseRepository(session)
            candidates = repo.candidate_ids_for(
                viewer.partner, viewer.user, intake_queue=viewer.has_role(Role.PROCESREGISSEUR)
            )
            visible: list[CaseOut] = []
            for case in repo.cases_by_ids(candidates):
                policy_case = self._gate.case_input(session, case)
                if self._gate.allows(
                    session, viewer, "read_case", policy_case
                ) or self._gate.allows(session, viewer, "list_intake_queue", policy_case):
                    visible.append(self._out(session, case))
            self._log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.ALLOWED,
                    object_ids=[c.id for c in visible][:MAX_LOGGED_IDS],
                    reason="case list",
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return visible
