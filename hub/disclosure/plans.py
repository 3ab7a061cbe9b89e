"""The door's part for plans: the analysis and plan of approach leave the vault only here.

The promise, checkable in this one module: a plan version (and the monitoring notes reported
against it) is decrypted only with a `PlanRelease`, and a `PlanRelease` is only built from
an allowing ``read_plan`` verdict of the policy for this viewer and this case. Every
decryption writes a ``plan.read`` entry naming the plan version id, in the caller's unit of
work, so it commits before anything is answered (ADR 0003, ADR 0007).

Referenced facts stay facts: the plan holds their ids, and a reader sees their content only
through the briefing, under the disclosure policy. Here we look at the facts' clear status
column only, to flag references that have gone stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import Event
from hub.cases.models import Case
from hub.disclosure.vault import IntegrityFailure, PlanRelease
from hub.errors import NotFound
from hub.facts.models import Fact
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

if TYPE_CHECKING:
    from hub.cases.service import CaseService
    from hub.context import HubContext

#: The sections of a plan version a full read discloses (the log's `disclosed` field names).
PLAN_SECTIONS: Final = ("analysis", "goals", "interventions", "monitoring", "risk")


@dataclass(frozen=True)
class InterventionRef:
    """What monitoring needs to know of one intervention, and nothing more."""

    id: str
    owner: str


class PlanDisclosure:
    def __init__(self, ctx: HubContext, cases: CaseService) -> None:
        self.ctx = ctx
        self.cases = cases

    # -- the decision --------------------------------------------------------------------

    def release(self, session: Session, viewer: Viewer, case: Case) -> PlanRelease:
        """Ask the policy for ``read_plan``. A viewer who may not read the case gets 404, a
        member outside the plan's phases or purposes 403; both denials are logged."""
        policy_version = self.cases.authorize(session, viewer, case, "read_plan")
        return PlanRelease(case_id=case.id, policy_version=policy_version)

    # -- decryption (private: every public path logs) ---------------------------------------

    def _open_version(
        self, session: Session, row: PlanVersion, release: PlanRelease
    ) -> PlanDocument:
        document = self.ctx.vault.open_document(
            session,
            case_id=row.case_id,
            record="plan",
            row_id=row.id,
            schema_id=PLAN_SCHEMA,
            ciphertext=row.content_ct,
            release=release,
        )
        try:
            return PlanDocument.model_validate(document)
        except ValidationError:
            raise IntegrityFailure(case_id=row.case_id, row_id=row.id) from None

    def _open_note(self, session: Session, row: PlanNote, release: PlanRelease) -> NoteDocument:
        document = self.ctx.vault.open_document(
            session,
            case_id=row.case_id,
            record="plan_note",
            row_id=row.id,
            schema_id=NOTE_SCHEMA,
            ciphertext=row.content_ct,
            release=release,
        )
        try:
            return NoteDocument.model_validate(document)
        except ValidationError:
            raise IntegrityFailure(case_id=row.case_id, row_id=row.id) from None

    def _log_read(
        self,
        session: Session,
        viewer: Viewer,
        release: PlanRelease,
        row: PlanVersion,
        *,
        sections: Sequence[str],
        notes: Sequence[PlanNote] = (),
        reason: str,
    ) -> int:
        entry = self.ctx.log.append(
            session,
            Event(
                action=Action.PLAN_READ,
                outcome=Outcome.ALLOWED,
                case_id=row.case_id,
                object_ids=[row.id, *(n.id for n in notes)],
                disclosed={row.id: tuple(sections)},
                subject_pseudonyms=self.cases.case_pseudonyms(session, row.case_id),
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
        with self.ctx.unit_of_work() as session:
            case = self.cases.load(session, viewer, case_id)
            release = self.release(session, viewer, case)
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
        release: PlanRelease,
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
        release: PlanRelease,
        log_seq: int,
    ) -> PlanOut:
        referenced = {f for a in document.analysis for f in a.fact_ids}
        current_facts: set[str] = set()
        if referenced:
            current_facts = set(
                session.scalars(
                    select(Fact.id).where(
                        Fact.case_id == row.case_id,
                        Fact.id.in_(referenced),
                        Fact.status == "current",
                    )
                )
            )
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
