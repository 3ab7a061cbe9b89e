"""Procesregie, screening and triage: who takes a new case on, is the person already known,
and does the case meet the Landelijk kader criteria for complex problems.

Screening answers hit/no-hit only: which partner kinds hold current facts about a subject,
and whether an open case exists elsewhere. Never content; every hit is logged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action
from hub.audit.log import AccessLog
from hub.cases.history import record_phase
from hub.cases.intake import subject_pseudonyms
from hub.cases.models import Case, Subject, SubjectIndex
from hub.cases.notices import dutch_today
from hub.cases.repository import CaseRepository
from hub.cases.schemas import CaseOut, ScreeningHit, ScreeningIn, ScreeningOut, TriageIn
from hub.cases.usecase import CaseUseCase
from hub.crypto.blind_index import BlindIndexer
from hub.db.session import UnitOfWork
from hub.errors import Conflict, ValidationFailed
from hub.facts.repository import FactRepository
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.vocabulary import CaseStatus, Phase, TableId

#: how far ahead triage may set a review or due date
MAX_AHEAD = timedelta(days=366)


class InvalidTriagePlanning(ValidationFailed):
    slug = "invalid-triage-planning"
    title = "Invalid urgency or due dates"


def check_planning(body: TriageIn, today: date) -> None:
    """The urgency and dates of a triage (ADR 0014): only on an acceptance, dates need an
    urgency, every date from today up to a year ahead, preparation not after the case
    conference. Checked before the case is looked at, so an outsider learns nothing."""
    dates = {
        "review_on": body.review_on,
        "preparation_due": body.preparation_due,
        "case_conference_due": body.case_conference_due,
    }
    given = {k: v for k, v in dates.items() if v is not None}
    if body.decision == "reject":
        if body.urgency is not None or given:
            raise InvalidTriagePlanning("A rejected case takes no urgency, review or due dates.")
        return
    if given and body.urgency is None:
        raise InvalidTriagePlanning("Review and due dates need an urgency (red, amber, green).")
    for name, day in given.items():
        if not today <= day <= today + MAX_AHEAD:
            raise InvalidTriagePlanning(f"{name} must be from today up to a year ahead.")
    if (
        body.preparation_due is not None
        and body.case_conference_due is not None
        and body.preparation_due > body.case_conference_due
    ):
        raise InvalidTriagePlanning("preparation_due may not be after case_conference_due.")


class ScreeningService(CaseUseCase):
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        registry: NetworkRegistry,
        indexer: BlindIndexer,
        *,
        retention_rejected_days: int,
    ) -> None:
        super().__init__(unit_of_work, gate, access_log, registry)
        self._indexer = indexer
        self._retention_rejected = timedelta(days=retention_rejected_days)

    def take(self, viewer: Viewer, case_id: str) -> CaseOut:
        """A procesregisseur takes on a case at intake (becomes its procesregisseur)."""
        with self._unit_of_work() as session:
            # the row lock makes two procesregisseurs taking one case take turns: the later
            # one sees the earlier one's procesregie and gets 409, having logged nothing
            case = self._gate.load_case(session, viewer, case_id, for_update=True)
            permit = self._gate.authorize_on_case(
                session, viewer, self._gate.case_input(session, case), "take_case"
            )
            if case.procesregisseur_partner is not None:
                raise Conflict("This case already has a procesregisseur.")
            case.procesregisseur_partner = viewer.partner
            case.procesregisseur_user = viewer.user
            self._log_act(
                session,
                viewer,
                Action.CASE_TAKE,
                case,
                policy_version=permit.policy_version,
                reason="procesregie taken on",
            )
            return self._out(session, case)

    def screen(self, viewer: Viewer, case_id: str, body: ScreeningIn) -> ScreeningOut:
        """Hit/no-hit per subject: which partner kinds hold facts or signals, and whether
        an open case exists elsewhere. Never content; every hit is logged."""
        requested = [subject_pseudonyms(self._indexer, s) for s in body.subjects]
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "screen")
            case, version = opened.case, opened.permit.policy_version
            targets: list[tuple[str, list[str]]] = []
            if requested:
                targets = [(f"request-{i}", sorted(ix.values())) for i, ix in enumerate(requested)]
            else:
                for subject in session.scalars(select(Subject).where(Subject.case_id == case.id)):
                    values = session.scalars(
                        select(SubjectIndex.value).where(SubjectIndex.subject_id == subject.id)
                    ).all()
                    targets.append((subject.id, sorted(values)))
            results: list[ScreeningHit] = []
            for label, values in targets:
                hit = _screen_one(session, case, values)
                results.append(ScreeningHit(subject=label, **hit))
                if hit["known"]:
                    self._log_act(
                        session,
                        viewer,
                        Action.SCREENING_HIT,
                        case,
                        policy_version=version,
                        pseudonyms=values,
                        object_ids=hit.pop("_partners"),
                        reason="screening hit",
                    )
                else:
                    hit.pop("_partners")
            all_values = sorted({v for _, values in targets for v in values})
            self._log_act(
                session,
                viewer,
                Action.CASE_SCREEN,
                case,
                policy_version=version,
                pseudonyms=all_values,
                reason=f"{sum(r.known for r in results)} of {len(results)} known",
            )
            return ScreeningOut(case_id=case.id, results=results)

    def triage(self, viewer: Viewer, case_id: str, body: TriageIn) -> CaseOut:
        check_planning(body, dutch_today())
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "triage")
            case = opened.case
            c = body.criteria
            complex_problems = (
                c.multiple_life_domains
                and c.criminal_or_nuisance_behaviour
                and c.multiple_chains_needed
                and c.impact_on_system_or_environment
            ) or c.area_bound_safety_problem
            rejection: str | None = None  # the reason code of a rejection
            if body.decision == "reject":
                if not body.reason_code:
                    raise ValidationFailed("A rejection needs a reason_code.")
                rejection = body.reason_code
            elif not complex_problems:
                raise Conflict(
                    "The Landelijk kader criteria for complex problems are not met; "
                    "reject the case or record the criteria that apply."
                )
            case.triage = {
                **c.model_dump(),
                "decision": body.decision,
                "reason_code": body.reason_code,
                "complex_problems": complex_problems,
            }
            case.triaged_at = datetime.now(UTC)
            if rejection is None:
                case.table_id = (body.table or TableId(case.proposed_table)).value
                case.urgency = body.urgency.value if body.urgency is not None else None
                case.review_on = body.review_on
                case.preparation_due = body.preparation_due
                case.case_conference_due = body.case_conference_due
            else:
                case.end(
                    status=CaseStatus.REJECTED.value,
                    outcome=rejection,
                    keep_for=self._retention_rejected,
                )
                record_phase(session, case, Phase.CLOSED, viewer.partner, at=case.closed_at)
            self._log_act(
                session,
                viewer,
                Action.CASE_TRIAGE,
                case,
                policy_version=opened.permit.policy_version,
                reason=_triage_reason(body, case.table_id),
            )
            return self._out(session, case)


def _triage_reason(body: TriageIn, table: str | None) -> str:
    """The triage entry's reason: the decision, the table or rejection code, and on an
    acceptance the urgency and dates (codes and dates only)."""
    reason = f"{body.decision}: {body.reason_code or table}"
    if body.urgency is not None:
        reason += f"; urgency {body.urgency.value}"
    for name in ("review_on", "preparation_due", "case_conference_due"):
        day = getattr(body, name)
        if day is not None:
            reason += f"; {name} {day.isoformat()}"
    return reason


def _screen_one(session: Session, case: Case, values: list[str]) -> dict[str, Any]:
    if not values:
        return {
            "known": False,
            "partner_kinds": [],
            "open_case_elsewhere": False,
            "_partners": [],
        }
    subject_ids = set(
        session.scalars(select(SubjectIndex.subject_id).where(SubjectIndex.value.in_(values)))
    )
    other_cases = set(
        session.scalars(
            select(SubjectIndex.case_id).where(
                SubjectIndex.value.in_(values), SubjectIndex.case_id != case.id
            )
        )
    )
    rows = FactRepository(session).current_publishers_about(subject_ids)
    open_elsewhere = CaseRepository(session).open_case_among(other_cases)
    kinds = sorted({kind for kind, _ in rows})
    return {
        "known": bool(kinds) or open_elsewhere,
        "partner_kinds": kinds,
        "open_case_elsewhere": open_elsewhere,
        "_partners": sorted({partner for _, partner in rows}),
    }
