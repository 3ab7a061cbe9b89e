"""The integral analysis and the plan of approach: recording, versions, monitoring.

"Eén gezin, één plan, één regisseur": the casusregisseur records the plan, every change as a
new immutable version; the partners that own an intervention report its progress as
monitoring notes against the current version. Content is sealed with the case's data key on
the way in and leaves only through the disclosure door (hub/disclosure/plans.py). Every use
case is one unit of work: the policy decides first (denials logged and committed), the act
and its ``plan.record`` entry commit together (ADR 0003, ADR 0007).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Case, Participant
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.disclosure.plans import PlanDisclosure
from hub.disclosure.vault import CaseVault
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.facts.catalog import FieldError
from hub.facts.repository import FactRepository
from hub.gate.gate import Gate
from hub.identity.viewer import Viewer
from hub.plans.models import PlanNote, PlanRepository, PlanVersion
from hub.plans.parts import cited_sensitivities, strictest
from hub.plans.schemas import (
    NOTE_SCHEMA,
    PLAN_SCHEMA,
    NoteDocument,
    PlanDocument,
    PlanIn,
    PlanOut,
    PlanRecorded,
    PlanVersionList,
    PlanVersionOut,
    RecordedBy,
    StatusChangeIn,
    StatusChangeOut,
)

#: Monitoring notes one plan version takes; past it the casusregisseur consolidates the
#: statuses into a new version. Keeps a read (and its log entry) bounded.
MAX_NOTES_PER_VERSION: Final = 500


class InvalidPlan(ValidationFailed):
    slug = "invalid-plan"
    title = "Invalid plan"
    default_detail = "The plan does not fit this case; nothing was stored. See errors."


class PlanService:
    def __init__(
        self, unit_of_work: UnitOfWork, gate: Gate, vault: CaseVault, access_log: AccessLog
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._vault = vault
        self._log = access_log
        self.door = PlanDisclosure(unit_of_work, gate, vault, access_log)

    # -- reading (through the door) ----------------------------------------------------------

    def read(self, viewer: Viewer, case_id: str, version: int | None = None) -> PlanOut:
        return self.door.read(viewer, case_id, version)

    def versions(self, viewer: Viewer, case_id: str) -> PlanVersionList:
        """Who recorded which version when; no content, so nothing is decrypted. Logged as
        a ``plan.read`` that disclosed only the versions' existence."""
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_plan")
            case, policy_version = opened.case, opened.permit.policy_version
            rows = PlanRepository.list_for_case(session, case.id)
            self._log.append(
                session,
                Event(
                    action=Action.PLAN_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=case.id,
                    object_ids=[r.id for r in rows],
                    disclosed={r.id: () for r in rows},
                    subject_pseudonyms=CaseRepository(session).pseudonyms_of_case(case.id),
                    reason="plan version list (metadata only)",
                    policy_version=policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return PlanVersionList(
                case_id=case.id,
                revision=PlanRepository.revision(session, case.id),
                versions=[_version_out(r) for r in rows],
            )

    # -- recording ---------------------------------------------------------------------------

    def record(self, viewer: Viewer, case_id: str, body: PlanIn) -> tuple[PlanRecorded, bool]:
        """Store `body` as the plan's next version; True when it is the first one.

        The writer names the revision it read: if anyone changed the plan since (a version
        or a status report), nothing is stored (409), so no report is silently overwritten.
        """
        document = PlanDocument.model_validate(body.model_dump(exclude={"based_on_revision"}))
        errors = _structure_errors(document)
        if errors:
            raise InvalidPlan(extra={"errors": errors})
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "record_plan")
            case, policy_version = opened.case, opened.permit.policy_version
            _lock(session, case)
            revision = PlanRepository.revision(session, case.id)
            if body.based_on_revision != revision:
                raise Conflict(
                    f"The plan changed since revision {body.based_on_revision}; it is at "
                    f"revision {revision}. Read it again and reapply your changes."
                )
            errors = self._case_errors(session, case, document)
            if errors:
                raise InvalidPlan(extra={"errors": errors})
            document = _with_sensitivities(session, case.id, document)
            current = PlanRepository.current(session, case.id)
            number = 1 if current is None else current.version + 1
            row_id = str(uuid.uuid4())
            row = PlanVersion(
                id=row_id,
                case_id=case.id,
                version=number,
                content_ct=self._vault.seal_document(
                    session,
                    case_id=case.id,
                    record="plan",
                    row_id=row_id,
                    schema_id=PLAN_SCHEMA,
                    document=document.model_dump(mode="json"),
                ),
                recorded_by_partner=viewer.partner,
                recorded_by_user=viewer.user,
            )
            session.add(row)
            PlanRepository.index_interventions(
                session,
                case.id,
                (
                    (i.id, i.owner, i.owner_user, i.deadline, i.status.value)
                    for i in document.interventions
                ),
            )
            session.flush()
            self._log_record(
                session,
                viewer,
                case,
                object_ids=[row.id],
                policy_version=policy_version,
                reason=f"plan version {number}",
            )
            out = PlanRecorded(**_version_out(row).model_dump(), revision=revision + 1)
            return out, number == 1

    # -- monitoring --------------------------------------------------------------------------

    def change_status(
        self, viewer: Viewer, case_id: str, intervention_id: str, body: StatusChangeIn
    ) -> StatusChangeOut:
        """Report an intervention's new status, with a note, against the current version.

        The rule is the policy's ``monitor_plan`` action (ADR 0007): the casusregisseur may
        report on any intervention, any other member only on one its own partner owns. The
        owner is sealed inside the plan, so the door first opens the version under a
        ``read_plan`` permit (logged) and the gate then decides with the owner as target.
        A refusal is logged by the gate."""
        with self._unit_of_work() as session:
            case = self._gate.load_case(session, viewer, case_id)
            policy_case = self._gate.case_input(session, case)
            release = self._gate.release_plan(session, viewer, policy_case)
            _lock(session, case)
            current = PlanRepository.current(session, case.id)
            if current is None:
                raise NotFound("No plan has been recorded for this case yet.")
            ref = self.door.intervention_for_monitoring(
                session, viewer, release, current, intervention_id
            )
            if ref is None:
                raise NotFound("The current plan version has no such intervention.")
            policy_version = self._gate.authorize_on_case(
                session, viewer, policy_case, "monitor_plan", target={"owner": ref.owner}
            ).policy_version
            if PlanRepository.count_notes_for_version(session, current.id) >= (
                MAX_NOTES_PER_VERSION
            ):
                raise Conflict(
                    "This plan version holds the maximum number of monitoring notes; the "
                    "casusregisseur records a new version first."
                )
            note_id = str(uuid.uuid4())
            note = PlanNote(
                id=note_id,
                case_id=case.id,
                plan_version_id=current.id,
                content_ct=self._vault.seal_document(
                    session,
                    case_id=case.id,
                    record="plan_note",
                    row_id=note_id,
                    schema_id=NOTE_SCHEMA,
                    document=NoteDocument(
                        intervention_id=ref.id,
                        status=body.status,
                        note=body.note,
                        life_domain=body.life_domain or ref.life_domain,
                        sensitivity=strictest([body.sensitivity, ref.sensitivity]),
                    ).model_dump(mode="json"),
                ),
                recorded_by_partner=viewer.partner,
                recorded_by_user=viewer.user,
            )
            session.add(note)
            PlanRepository.set_status(session, case.id, ref.id, body.status.value)
            session.flush()
            self._log_record(
                session,
                viewer,
                case,
                object_ids=[current.id, note.id],
                policy_version=policy_version,
                reason=f"monitoring note on plan version {current.version}",
            )
            return StatusChangeOut(
                id=note.id,
                case_id=case.id,
                plan_version_id=current.id,
                version=current.version,
                intervention_id=ref.id,
                status=body.status,
                revision=PlanRepository.revision(session, case.id),
                recorded_by=RecordedBy(partner=viewer.partner, user=viewer.user),
                recorded_at=note.recorded_at,
            )

    # -- helpers -----------------------------------------------------------------------------

    def _case_errors(
        self, session: Session, case: Case, document: PlanDocument
    ) -> list[FieldError]:
        """References that must hold in this case: facts current in it, owners taking part.

        The answer names the place of each bad reference, never the value (which may be an
        id the writer should not have, and which we do not echo)."""
        errors: list[FieldError] = []
        referenced = {f for a in document.analysis for f in a.fact_ids}
        current_facts = FactRepository(session).current_ids_among(case.id, referenced)
        for i, analysis in enumerate(document.analysis):
            for j, fact_id in enumerate(analysis.fact_ids):
                if fact_id not in current_facts:
                    errors.append(
                        {
                            "pointer": f"/analysis/{i}/fact_ids/{j}",
                            "problem": "not a current fact of this case",
                        }
                    )
        participants = CaseRepository(session).participants(case.id)
        owners = _possible_owners(case, participants)
        named = _named_only(case, participants)
        for i, intervention in enumerate(document.interventions):
            if intervention.owner not in owners:
                errors.append(
                    {
                        "pointer": f"/interventions/{i}/owner",
                        "problem": "not a participant partner of this case "
                        "nor the casusregisseur's partner",
                    }
                )
            elif (
                intervention.owner_user is not None
                and intervention.owner in named
                and intervention.owner_user not in named[intervention.owner]
            ):
                errors.append(
                    {
                        "pointer": f"/interventions/{i}/owner_user",
                        "problem": "not a professional of the owner invited to this case",
                    }
                )
        return errors[:100]

    def _log_record(
        self,
        session: Session,
        viewer: Viewer,
        case: Case,
        *,
        object_ids: list[str],
        policy_version: str,
        reason: str,
    ) -> None:
        self._log.append(
            session,
            Event(
                action=Action.PLAN_RECORD,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                object_ids=object_ids,
                subject_pseudonyms=CaseRepository(session).pseudonyms_of_case(case.id),
                reason=reason,
                policy_version=policy_version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )


def _with_sensitivities(session: Session, case_id: str, document: PlanDocument) -> PlanDocument:
    """The document as sealed: every part's sensitivity explicit, and an analysis at least as
    sensitive as the facts it cites (the policy caps special and criminal text, so an
    analysis must not read as less sensitive than what it was written from)."""
    cited = cited_sensitivities(
        session, case_id, (f for a in document.analysis for f in a.fact_ids)
    )
    return document.model_copy(
        update={
            "analysis": [
                a.model_copy(
                    update={
                        "sensitivity": strictest(
                            [a.sensitivity, *(cited.get(f) for f in a.fact_ids)]
                        )
                    }
                )
                for a in document.analysis
            ],
            "risk": document.risk.model_copy(
                update={"sensitivity": strictest([document.risk.sensitivity])}
            ),
            "goals": [
                g.model_copy(update={"sensitivity": strictest([g.sensitivity])})
                for g in document.goals
            ],
            "interventions": [
                i.model_copy(update={"sensitivity": strictest([i.sensitivity])})
                for i in document.interventions
            ],
        }
    )


def _structure_errors(document: PlanDocument) -> list[FieldError]:
    """Rules inside the document: one analysis per life domain, unique goal and
    intervention ids, and an intervention's goal must be one of the plan's goals."""
    errors: list[FieldError] = []
    errors += _duplicates("/analysis/{}/life_domain", (a.life_domain for a in document.analysis))
    errors += _duplicates("/goals/{}/id", (g.id for g in document.goals))
    errors += _duplicates("/interventions/{}/id", (i.id for i in document.interventions))
    for i, analysis in enumerate(document.analysis):
        errors += _duplicates(f"/analysis/{i}/fact_ids/{{}}", analysis.fact_ids)
    goals = {g.id for g in document.goals}
    for i, intervention in enumerate(document.interventions):
        if intervention.goal_id is not None and intervention.goal_id not in goals:
            errors.append(
                {"pointer": f"/interventions/{i}/goal_id", "problem": "not a goal of this plan"}
            )
    return errors[:100]


def _duplicates(pointer: str, values: Iterable[str]) -> list[FieldError]:
    seen: set[str] = set()
    errors: list[FieldError] = []
    for index, value in enumerate(values):
        if value in seen:
            errors.append({"pointer": pointer.format(index), "problem": "duplicate"})
        seen.add(value)
    return errors


def _possible_owners(case: Case, participants: Iterable[Participant]) -> set[str]:
    owners = {p.partner_id for p in participants if p.withdrawn_at is None}
    if case.casusregisseur_partner is not None:
        owners.add(case.casusregisseur_partner)
    return owners


def _named_only(case: Case, participants: Iterable[Participant]) -> dict[str, set[str]]:
    """Owner partners that take part only through named professionals -> those users (a
    partner invited as a whole, or the casusregisseur's, may name any of its people)."""
    named: dict[str, set[str]] = {}
    whole: set[str] = set()
    for p in participants:
        if p.withdrawn_at is not None:
            continue
        if p.user:
            named.setdefault(p.partner_id, set()).add(p.user)
        else:
            whole.add(p.partner_id)
    if case.casusregisseur_partner is not None:
        whole.add(case.casusregisseur_partner)
    return {partner: users for partner, users in named.items() if partner not in whole}


def _lock(session: Session, case: Case) -> None:
    """Serialise plan writers of one case, so version numbers and revisions cannot race
    (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already serialises writers)."""
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())


def _version_out(row: PlanVersion) -> PlanVersionOut:
    return PlanVersionOut(
        id=row.id,
        case_id=row.case_id,
        version=row.version,
        recorded_by=RecordedBy(partner=row.recorded_by_partner, user=row.recorded_by_user),
        recorded_at=row.recorded_at,
    )
