"""Intake (aanmelding): registering a case, reading its metadata, and a person's case list.

Identifiers are sealed in the case vault and blind-indexed at registration; they never come
back out of this module.
"""

from __future__ import annotations

import uuid

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Case, Participant, Subject, SubjectIndex
from hub.cases.repository import CaseRepository
from hub.cases.schemas import CaseIn, CaseOut, SubjectIn
from hub.cases.usecase import CaseUseCase
from hub.crypto.blind_index import BlindIndexer
from hub.crypto.errors import InvalidIdentifier
from hub.db.session import UnitOfWork
from hub.disclosure.vault import CaseVault
from hub.errors import ValidationFailed
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
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_case")
            self._log_act(
                session,
                viewer,
                Action.CASE_READ,
                opened.case,
                policy_version=opened.permit.policy_version,
                reason="case metadata",
            )
            return self._out(session, opened.case)

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
