"""The door's part for plans: the analysis and plan of approach leave the vault only here.

The promise, checkable in this one module: a plan version (and the monitoring notes reported
against it) is decrypted only with a `PlanPermit`, and only the gate mints one, from an
allowing ``read_plan`` verdict of the policy for this viewer and this case. Every
decryption writes a ``plan.read`` entry naming the plan version id, in the caller's unit of
work, so it commits before anything is answered (ADR 0003, ADR 0007).

Referenced facts stay facts: the plan holds their ids, and a reader sees their content only
through the briefing, under the disclosure policy. Here we look at the facts' clear status
column only, to flag references that have gone stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.disclosure.vault import CaseVault, IntegrityFailure
from hub.errors import NotFound
from hub.facts.repository import FactRepository
from hub.gate.gate import Gate
from hub.gate.permits import PlanPermit
from hub.identity.viewer import Viewer
from hub.plans.models import PlanNote, PlanRepository, PlanVersion
from hub.plans.schemas import (
    NOTE_SCHEMA,
    PLAN_SCHEMA,
    DomainAnalysisOut,
    InterventionOut,
    MonitoringNoteOut,
    NoteDocument,
    PlanDocument,
    PlanOut,
    RecordedBy,
)

#: The sections of a plan version a full read discloses (the log's `disclosed` field names).
PLAN_SECTIONS: Final = ("analysis", "goals", "interventions", "monitoring", "risk")


@dataclass(frozen=True)
class InterventionRef:
    """What monitoring needs to know of one intervention, and nothing more."""

    id: str
    owner: str


class PlanDisclosure:
    def __init__(
        self, unit_of_work: UnitOfWork, gate: Gate, vault: CaseVault, access_log: AccessLog
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._vault = vault
        self._log = access_log

    # -- decryption (private: every public path logs) ---------------------------------------

    def _open_version(
        self, session: Session, row: PlanVersion, release: PlanPermit
    ) -> PlanDocument:
        document = self._vault.open_document(
            session,
            case_id=row.case_id,
            record="plan",
            row_id=row.id,
            schema_id=PLAN_SCHEMA,
            ciphertext=row.content_ct,
            permit=release,
        )
        try:
            return PlanDocument.model_validate(document)
        except ValidationError:
            raise IntegrityFailure(case_id=row.case_id, row_id=row.id) from None

    def _open_note(self, session: Session, row: PlanNote, release: PlanPermit) -> NoteDocument:
        document = self._vault.open_document(
            session,
            case_id=row.case_id,
            record="plan_note",
            row_id=row.id,
            schema_id=NOTE_SCHEMA,
            ciphertext=row.content_ct,
            permit=release,
        )
        try:
            return NoteDocument.model_validate(document)
        except ValidationError:
            raise IntegrityFailure(case_id=row.case_id, row_id=row.id) from None

    def _log_read(
        self,
        session: Session,
        viewer: Viewer,
        release: PlanPermit,
        row: PlanVersion,
        *,
        sections: Sequence[str],
        notes: Sequence[PlanNote] = (),
        reason: str,
    ) -> int:
        entry = self._log.append(
            session,
            Event(
                action=Action.PLAN_READ,
                outcome=Outcome.ALLOWED,
                case_id=row.case_id,
                object_ids=[row.id, *(n.id for n in notes)],
                disclosed={row.id: tuple(sections)},
                subject_pseudonyms=CaseRepository(session).pseudonyms_of_case(row.case_id),
                reason=reason,
                policy_version=release.policy_version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )
        return entry.seq

    # -- use cases ---------------------------------------------------------------------------

    def read(self, viewer: Viewer, case_id: str, version: int | None) -> PlanOut:
        """The current plan version (or version `version`) with the monitoring reported
        against it, as the policy allows this viewer to read it."""
        with self._unit_of_work() as session:
            case = self._gate.load_case(session, viewer, case_id)
            release = self._gate.release_plan(session, viewer, self._gate.case_input(session, case))
            current = PlanRepository.current(session, case.id)
            if version is None or (current is not None and current.version == version):
                row = current
            else:
                row = PlanRepository.by_number(session, case.id, version)
            if row is None:
                raise NotFound(
                    "No plan has been recorded for this case yet."
                    if current is None
                    else "This case's plan has no such version."
                )
            document = self._open_version(session, row, release)
            note_rows = PlanRepository.notes_for_version(session, row.id)
            notes = [(n, self._open_note(session, n, release)) for n in note_rows]
            log_seq = self._log_read(
                session,
                viewer,
                release,
                row,
                sections=PLAN_SECTIONS,
                notes=note_rows,
                reason=f"plan version {row.version}, {len(note_rows)} monitoring notes",
            )
            return self._plan_out(
                session,
                row,
                document,
                notes,
                latest=current is not None and current.id == row.id,
                revision=PlanRepository.revision(session, case.id),
                release=release,
                log_seq=log_seq,
            )

    def intervention_for_monitoring(
        self,
        session: Session,
        viewer: Viewer,
        release: PlanPermit,
        row: PlanVersion,
        intervention_id: str,
    ) -> InterventionRef | None:
        """The owner of one intervention of `row`, for the monitoring rule.

        The whole version is decrypted to find it, so this is logged as a ``plan.read``
        that disclosed nothing but the plan version's existence: the caller answers only
        with what the viewer sent."""
        document = self._open_version(session, row, release)
        match = next((i for i in document.interventions if i.id == intervention_id), None)
        self._log_read(
            session,
            viewer,
            release,
            row,
            sections=(),
            reason=f"plan version {row.version}: intervention owner check for monitoring",
        )
        if match is None:
            return None
        return InterventionRef(id=match.id, owner=match.owner)

    # -- shaping -----------------------------------------------------------------------------

    def _plan_out(
        self,
        session: Session,
        row: PlanVersion,
        document: PlanDocument,
        notes: Sequence[tuple[PlanNote, NoteDocument]],
        *,
        latest: bool,
        revision: int,
        release: PlanPermit,
        log_seq: int,
    ) -> PlanOut:
        referenced = {f for a in document.analysis for f in a.fact_ids}
        current_facts = FactRepository(session).current_ids_among(row.case_id, referenced)
        by_intervention: dict[str, list[MonitoringNoteOut]] = {}
        for note_row, note in notes:
            by_intervention.setdefault(note.intervention_id, []).append(
                MonitoringNoteOut(
                    id=note_row.id,
                    status=note.status,
                    note=note.note,
                    recorded_by=RecordedBy(
                        partner=note_row.recorded_by_partner, user=note_row.recorded_by_user
                    ),
                    recorded_at=note_row.recorded_at,
                )
            )
        interventions = []
        for item in document.interventions:
            monitoring = by_intervention.get(item.id, [])
            interventions.append(
                InterventionOut(
                    id=item.id,
                    text=item.text,
                    owner=item.owner,
                    deadline=item.deadline,
                    goal_id=item.goal_id,
                    status=monitoring[-1].status if monitoring else item.status,
                    recorded_status=item.status,
                    monitoring=monitoring,
                )
            )
        return PlanOut(
            id=row.id,
            case_id=row.case_id,
            version=row.version,
            latest=latest,
            revision=revision,
            recorded_by=RecordedBy(partner=row.recorded_by_partner, user=row.recorded_by_user),
            recorded_at=row.recorded_at,
            analysis=[
                DomainAnalysisOut(
                    life_domain=a.life_domain,
                    assessment=a.assessment,
                    fact_ids=list(a.fact_ids),
                    stale_fact_ids=[f for f in a.fact_ids if f not in current_facts],
                )
                for a in document.analysis
            ],
            risk=document.risk,
            goals=list(document.goals),
            interventions=interventions,
            policy_version=release.policy_version,
            log_seq=log_seq,
        )
