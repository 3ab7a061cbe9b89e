"""The door's part for plans: the analysis and plan of approach leave the vault only here.

The promise, checkable in this one module: a plan version (and the monitoring notes reported
against it) is decrypted only with a `PlanPermit`, and only the gate mints one, from an
allowing ``read_plan`` verdict of the policy for this viewer and this case. Every
decryption writes a ``plan.read`` entry naming the plan version id, in the caller's unit of
work, so it commits before anything is answered (ADR 0003, ADR 0007).

The ``read_plan`` permit releases the plan's structure (which life domains are analysed,
goals, interventions with owner, deadline and status, the risk level, fact references). The
free text of every part -- an analysis, the risk assessment, a goal, an intervention, a
monitoring note -- is released part by part: the gate asks the policy about each as a
plan-note fact of its life domain and sensitivity (``Gate.release_plan_parts``), and a part
whose text is not released reads "analyse van leefgebied X niet gedeeld". The read's log
entry names, per part, whether its text left the hub.

Referenced facts stay facts: the plan holds their ids, and a reader sees their content only
through the briefing, under the disclosure policy. Here we look at the facts' clear metadata
columns only: status, to flag references that have gone stale, and sensitivity, because an
analysis is at least as sensitive as the facts it cites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypedDict

from pydantic import ValidationError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.disclosure.vault import CaseVault, IntegrityFailure
from hub.errors import NotFound, PolicyUnavailable
from hub.facts.repository import FactRepository
from hub.gate.gate import Gate, PlanPart
from hub.gate.permits import PlanPartPermit, PlanPermit
from hub.identity.viewer import Viewer
from hub.plans.models import PlanNote, PlanRepository, PlanVersion
from hub.plans.parts import cited_facts, placeholder, strictest
from hub.plans.schemas import (
    NOTE_SCHEMA,
    PLAN_SCHEMA,
    DomainAnalysisOut,
    GoalOut,
    Intervention,
    InterventionOut,
    MonitoringNoteOut,
    NoteDocument,
    PlanDocument,
    PlanOut,
    RecordedBy,
    RiskOut,
)
from hub.vocabulary import LifeDomain, Sensitivity

#: What a read shows of a plan version under the ``read_plan`` permit alone: its structure
#: (life domains analysed, goals, interventions with owner, deadline and status, the risk
#: level, fact references). The log's `disclosed` names it for the version id.
STRUCTURE: Final = "structure"
#: What a read shows of a part whose text the policy released (the log's field name).
TEXT: Final = "text"


@dataclass(frozen=True)
class InterventionRef:
    """What monitoring needs to know of one intervention, and nothing more."""

    id: str
    owner: str
    life_domain: LifeDomain | None
    sensitivity: Sensitivity | None


@dataclass(frozen=True)
class _Parts:
    """The text-bearing parts of one read, by section, as the gate is asked about them."""

    analysis: list[PlanPart]
    risk: PlanPart
    goals: list[PlanPart]
    interventions: list[PlanPart]
    notes: dict[str, PlanPart]  # note id -> part

    def all(self) -> list[PlanPart]:
        return [
            *self.analysis,
            self.risk,
            *self.goals,
            *self.interventions,
            *self.notes.values(),
        ]


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
        disclosed: Mapping[str, Sequence[str]],
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
                disclosed=disclosed,
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
        against it, as the policy allows this viewer to read it: the structure under
        ``read_plan``, each part's text only where the policy released it."""
        with self._unit_of_work() as session:
            case = self._gate.load_case(session, viewer, case_id)
            policy_case = self._gate.case_input(session, case)
            release = self._gate.release_plan(session, viewer, policy_case)
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
            parts = _parts_of(session, row, document, notes)
            try:
                permits = self._gate.release_plan_parts(
                    session, viewer, policy_case, release, parts.all()
                )
            except PolicyUnavailable:
                # decrypted, then the policy failed: logged, and nothing was disclosed
                self._log_read(
                    session,
                    viewer,
                    release,
                    row,
                    disclosed={row.id: ()},
                    notes=note_rows,
                    reason=f"plan version {row.version}: policy failed, nothing disclosed",
                )
                raise
            disclosed: dict[str, tuple[str, ...]] = {row.id: (STRUCTURE,)}
            for part in parts.all():
                disclosed[part.key] = (TEXT,) if permits[part.key].releases_text else ()
            released = sum(1 for p in parts.all() if permits[p.key].releases_text)
            log_seq = self._log_read(
                session,
                viewer,
                release,
                row,
                disclosed=disclosed,
                notes=note_rows,
                reason=f"plan version {row.version}: text of {released} of "
                f"{len(parts.all())} parts, {len(note_rows)} monitoring notes",
            )
            return self._plan_out(
                session,
                row,
                document,
                notes,
                parts,
                permits,
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
            disclosed={row.id: ()},
            reason=f"plan version {row.version}: intervention owner check for monitoring",
        )
        if match is None:
            return None
        return InterventionRef(
            id=match.id,
            owner=match.owner,
            life_domain=match.life_domain,
            sensitivity=match.sensitivity,
        )

    # -- shaping -----------------------------------------------------------------------------

    def _plan_out(
        self,
        session: Session,
        row: PlanVersion,
        document: PlanDocument,
        notes: Sequence[tuple[PlanNote, NoteDocument]],
        parts: _Parts,
        permits: Mapping[str, PlanPartPermit],
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
            part = parts.notes[note_row.id]
            permit = permits[part.key]
            domain = _domain(part)
            by_intervention.setdefault(note.intervention_id, []).append(
                MonitoringNoteOut(
                    id=note_row.id,
                    status=note.status,
                    note=None if note.note is None else _text(note.note, permit, "note", domain),
                    recorded_by=RecordedBy(
                        partner=note_row.recorded_by_partner, user=note_row.recorded_by_user
                    ),
                    recorded_at=note_row.recorded_at,
                    **_release(part, permit),
                )
            )
        interventions = []
        for item, part in zip(document.interventions, parts.interventions, strict=True):
            permit = permits[part.key]
            monitoring = by_intervention.get(item.id, [])
            interventions.append(
                InterventionOut(
                    id=item.id,
                    text=_text(item.text, permit, "intervention", item.life_domain),
                    owner=item.owner,
                    owner_user=item.owner_user,
                    deadline=item.deadline,
                    goal_id=item.goal_id,
                    status=monitoring[-1].status if monitoring else item.status,
                    recorded_status=item.status,
                    monitoring=monitoring,
                    **_release(part, permit),
                )
            )
        goals = [
            GoalOut(
                id=goal.id,
                text=_text(goal.text, permits[part.key], "goal", goal.life_domain),
                **_release(part, permits[part.key]),
            )
            for goal, part in zip(document.goals, parts.goals, strict=True)
        ]
        analysis = []
        for domain_analysis, part in zip(document.analysis, parts.analysis, strict=True):
            permit = permits[part.key]
            analysis.append(
                DomainAnalysisOut(
                    assessment=_text(
                        domain_analysis.assessment, permit, "analysis", domain_analysis.life_domain
                    ),
                    fact_ids=list(domain_analysis.fact_ids),
                    stale_fact_ids=[f for f in domain_analysis.fact_ids if f not in current_facts],
                    **_release(part, permit),
                )
            )
        risk_permit = permits[parts.risk.key]
        risk = RiskOut(
            level=document.risk.level,
            assessment=_text(
                document.risk.assessment, risk_permit, "risk", document.risk.life_domain
            ),
            **_release(parts.risk, risk_permit),
        )
        return PlanOut(
            id=row.id,
            case_id=row.case_id,
            version=row.version,
            latest=latest,
            revision=revision,
            recorded_by=RecordedBy(partner=row.recorded_by_partner, user=row.recorded_by_user),
            recorded_at=row.recorded_at,
            analysis=analysis,
            risk=risk,
            goals=goals,
            interventions=interventions,
            policy_version=release.policy_version,
            log_seq=log_seq,
        )


def _parts_of(
    session: Session,
    row: PlanVersion,
    document: PlanDocument,
    notes: Sequence[tuple[PlanNote, NoteDocument]],
) -> _Parts:
    """The version's text-bearing parts with their effective life domain and sensitivity.

    An analysis is at least as sensitive as the facts it cites; a monitoring note at least as
    sensitive as its intervention, and of its domain unless the reporter named another. The
    version's parts were written by its recorder, a note by its reporter; an intervention,
    its goal and its notes belong to the intervention's owner."""
    author = row.recorded_by_partner
    cited = cited_facts(session, row.case_id, (f for a in document.analysis for f in a.fact_ids))
    owners_of_goal: dict[str, list[str]] = {}
    for item in document.interventions:
        if item.goal_id is not None:
            owners_of_goal.setdefault(item.goal_id, []).append(item.owner)
    by_id: dict[str, Intervention] = {i.id: i for i in document.interventions}
    risk = document.risk
    note_parts: dict[str, PlanPart] = {}
    for note_row, note in notes:
        intervention = by_id.get(note.intervention_id)
        base_domain = intervention.life_domain if intervention is not None else None
        base_sensitivity = intervention.sensitivity if intervention is not None else None
        note_parts[note_row.id] = PlanPart(
            key=note_row.id,
            life_domain=(note.life_domain or base_domain),
            sensitivity=strictest([note.sensitivity, base_sensitivity]).value,
            author=note_row.recorded_by_partner,
            owners=(intervention.owner,) if intervention is not None else (),
        )
    return _Parts(
        analysis=[
            PlanPart(
                key=f"{row.id}/analysis/{a.life_domain.value}",
                life_domain=a.life_domain,
                sensitivity=strictest(
                    [a.sensitivity, *(Sensitivity(cited[f][0]) for f in a.fact_ids if f in cited)]
                ).value,
                author=author,
                cites=tuple(cited[f] for f in a.fact_ids if f in cited),
            )
            for a in document.analysis
        ],
        risk=PlanPart(
            key=f"{row.id}/risk",
            life_domain=risk.life_domain,
            sensitivity=strictest([risk.sensitivity]).value,
            author=author,
        ),
        goals=[
            PlanPart(
                key=f"{row.id}/goals/{i}",
                life_domain=g.life_domain,
                sensitivity=strictest([g.sensitivity]).value,
                author=author,
                owners=tuple(dict.fromkeys(owners_of_goal.get(g.id, ()))),
            )
            for i, g in enumerate(document.goals)
        ],
        interventions=[
            PlanPart(
                key=f"{row.id}/interventions/{i}",
                life_domain=item.life_domain,
                sensitivity=strictest([item.sensitivity]).value,
                author=author,
                owners=(item.owner,),
            )
            for i, item in enumerate(document.interventions)
        ],
        notes=note_parts,
    )


def _domain(part: PlanPart) -> LifeDomain | None:
    return LifeDomain(part.life_domain) if part.life_domain else None


def _text(text: str, permit: PlanPartPermit, section: str, domain: LifeDomain | None) -> str:
    """The part's text when the policy released it, else the placeholder naming its domain."""
    return text if permit.releases_text else placeholder(section, domain)


class _Release(TypedDict):
    life_domain: LifeDomain | None
    sensitivity: Sensitivity | None
    released: bool
    reason: str


def _release(part: PlanPart, permit: PlanPartPermit) -> _Release:
    """What every part says about its own release; its sensitivity only with its text."""
    return {
        "life_domain": _domain(part),
        "sensitivity": Sensitivity(part.sensitivity) if permit.releases_text else None,
        "released": permit.releases_text,
        "reason": permit.reason,
    }
