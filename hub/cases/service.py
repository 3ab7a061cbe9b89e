"""The case workflow: intake, procesregie, screening, triage, participants, phases, agenda.

Every use case is one unit of work: authorise through the policy (denials are logged and
committed), change state, log the act, commit, then return. Identifiers are sealed in the
case vault and blind-indexed; they never come back out of this service.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import Event
from hub.cases.models import AgendaItem, Case, Participant, Subject, SubjectIndex
from hub.cases.policy_input import case_policy_input
from hub.cases.schemas import (
    AgendaItemOut,
    CaseIn,
    CaseOut,
    ParticipantOut,
    RegisseurOut,
    ScreeningHit,
    ScreeningIn,
    ScreeningOut,
    SubjectIn,
    SubjectOut,
    TriageIn,
)
from hub.crypto.blind_index import bsn_index, name_dob_index
from hub.crypto.errors import InvalidIdentifier
from hub.disclosure.vault import CaseShredded
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.facts.models import Fact
from hub.identity.viewer import Viewer
from hub.vocabulary import PHASE_ORDER, Phase, Role, TableId

if TYPE_CHECKING:
    from hub.context import HubContext


class InvalidSubject(ValidationFailed):
    slug = "invalid-subject"
    title = "Invalid subject identifiers"
    default_detail = (
        "Each subject needs a valid BSN, or a name with a date of birth; "
        "identifiers are never echoed back."
    )


def _now() -> datetime:
    return datetime.now(UTC)


def subject_pseudonyms(blind_key: bytes, subject: SubjectIn) -> dict[str, str]:
    """kind -> blind index of the identifiers given; raises InvalidSubject."""
    out: dict[str, str] = {}
    try:
        if subject.bsn:
            out["bsn"] = bsn_index(blind_key, subject.bsn)
        if subject.name and subject.date_of_birth:
            out["name_dob"] = name_dob_index(blind_key, subject.name, subject.date_of_birth)
    except InvalidIdentifier:
        raise InvalidSubject() from None
    if not out:
        raise InvalidSubject()
    return out


class CaseService:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    # -- helpers ------------------------------------------------------------------------------

    def _unit(self) -> Any:
        return self.ctx.unit_of_work()

    def load(self, session: Session, viewer: Viewer, case_id: str) -> Case:
        """The case, or a logged 404 when it does not exist (same answer as 'not yours')."""
        case = session.get(Case, case_id) if _plausible_id(case_id) else None
        if case is None:
            self.ctx.log.append(
                session,
                Event(action=Action.CASE_DENIED, outcome=Outcome.DENIED, reason="unknown case"),
                actor=viewer.actor,
                request=viewer.request,
            )
            raise NotFound()
        if case.status == "shredded":
            raise CaseShredded()
        return case

    def participants(self, session: Session, case_id: str) -> list[Participant]:
        return list(
            session.scalars(
                select(Participant)
                .where(Participant.case_id == case_id)
                .order_by(Participant.invited_at, Participant.id)
            )
        )

    def policy_case(self, session: Session, case: Case) -> dict[str, Any]:
        return case_policy_input(case, self.participants(session, case.id))

    def authorize(
        self,
        session: Session,
        viewer: Viewer,
        case: Case,
        action: str,
        *,
        target: dict[str, Any] | None = None,
        policy_case: dict[str, Any] | None = None,
    ) -> str:
        """Ask the policy; a viewer who may not even read the case gets 404. Returns the
        policy version of the allowing decision. Pass `policy_case` when the caller has
        built it already (it costs a query)."""
        policy_case = policy_case or self.policy_case(session, case)
        gate = self.ctx.gate
        hide = (
            action == "read_case"
            or not gate.engine.allow_action(
                {
                    "viewer": viewer.policy_input(),
                    "purpose": viewer.purpose.value,
                    "action": "read_case",
                    "case": policy_case,
                    "target": None,
                }
            ).allowed
        )
        verdict = gate.authorize(
            session, viewer, action, case=policy_case, target=target, hide_case=hide
        )
        return verdict.policy_version

    def _log(
        self,
        session: Session,
        viewer: Viewer,
        action: Action,
        case: Case,
        *,
        policy_version: str | None,
        object_ids: Sequence[str] = (),
        pseudonyms: Sequence[str] = (),
        reason: str | None = None,
    ) -> None:
        self.ctx.log.append(
            session,
            Event(
                action=action,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                object_ids=object_ids,
                subject_pseudonyms=pseudonyms,
                reason=reason,
                policy_version=policy_version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )

    def case_pseudonyms(self, session: Session, case_id: str) -> list[str]:
        return sorted(
            set(session.scalars(select(SubjectIndex.value).where(SubjectIndex.case_id == case_id)))
        )

    def to_out(self, session: Session, case: Case) -> CaseOut:
        subjects = session.scalars(
            select(Subject).where(Subject.case_id == case.id).order_by(Subject.created_at)
        ).all()
        kinds = {p.id: p.kind.value for p in self.ctx.registry.partners.values()}
        return CaseOut(
            id=case.id,
            kind=case.kind,
            proposed_table=case.proposed_table,
            table=case.table_id,
            phase=case.phase,
            status=case.status,
            registered_by=case.registered_by_partner,
            registered_at=case.registered_at,
            procesregisseur=_regisseur_out(case.procesregisseur_partner, case.procesregisseur_user),
            casusregisseur=_regisseur_out(case.casusregisseur_partner, case.casusregisseur_user),
            subjects=[SubjectOut(id=s.id, role_in_case=s.role_in_case) for s in subjects],
            participants=[
                ParticipantOut(
                    id=p.id,
                    partner=p.partner_id,
                    partner_kind=kinds.get(p.partner_id, "unknown"),
                    user=p.user or None,
                    invited_at=p.invited_at,
                )
                for p in self.participants(session, case.id)
                if p.withdrawn_at is None
            ],
            triage=case.triage,
            outcome=case.outcome,
            closed_at=case.closed_at,
            retention_until=case.retention_until,
        )

    # -- intake ---------------------------------------------------------------------------------

    def register(self, viewer: Viewer, body: CaseIn) -> CaseOut:
        blind_key = self.ctx.keys.blind_index_key()
        indexes = [subject_pseudonyms(blind_key, s) for s in body.subjects]
        with self._unit() as session:
            verdict = self.ctx.gate.authorize(session, viewer, "register_case", case=None)
            case = Case(
                id=str(uuid.uuid4()),
                kind=body.kind.value,
                proposed_table=body.proposed_table.value,
                phase=Phase.INTAKE.value,
                status="open",
                registered_by_partner=viewer.partner,
                registered_by_user=viewer.user,
            )
            session.add(case)
            session.flush()
            vault = self.ctx.vault
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
            self._log(
                session,
                viewer,
                Action.CASE_REGISTER,
                case,
                policy_version=verdict.policy_version,
                pseudonyms=pseudonyms,
            )
            return self.to_out(session, case)

    def get(self, viewer: Viewer, case_id: str) -> CaseOut:
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(session, viewer, case, "read_case")
            self._log(
                session,
                viewer,
                Action.CASE_READ,
                case,
                policy_version=version,
                reason="case metadata",
            )
            return self.to_out(session, case)

    def list_for(self, viewer: Viewer) -> list[CaseOut]:
        """Cases the viewer belongs to; procesregisseurs also see the intake queue."""
        with self._unit() as session:
            member_ids = set(
                session.scalars(
                    select(Participant.case_id).where(
                        Participant.partner_id == viewer.partner,
                        Participant.withdrawn_at.is_(None),
                        Participant.user.in_(["", viewer.user]),
                    )
                )
            )
            member_ids |= set(
                session.scalars(
                    select(Case.id).where(
                        (
                            (Case.procesregisseur_partner == viewer.partner)
                            & (Case.procesregisseur_user == viewer.user)
                        )
                        | (
                            (Case.casusregisseur_partner == viewer.partner)
                            & (Case.casusregisseur_user == viewer.user)
                        )
                    )
                )
            )
            if viewer.has_role(Role.PROCESREGISSEUR):
                member_ids |= set(
                    session.scalars(
                        select(Case.id).where(
                            Case.phase == Phase.INTAKE.value, Case.procesregisseur_partner.is_(None)
                        )
                    )
                )
            cases = [session.get(Case, cid) for cid in sorted(member_ids)]
            visible: list[CaseOut] = []
            for case in cases:
                if case is None or case.status == "shredded":
                    continue
                policy_case = self.policy_case(session, case)
                allowed = self.ctx.gate.engine.allow_action(
                    {
                        "viewer": viewer.policy_input(),
                        "purpose": viewer.purpose.value,
                        "action": "read_case",
                        "case": policy_case,
                        "target": None,
                    }
                ).allowed or (
                    case.phase == Phase.INTAKE.value and viewer.has_role(Role.PROCESREGISSEUR)
                )
                if allowed:
                    visible.append(self.to_out(session, case))
            self.ctx.log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.ALLOWED,
                    object_ids=[c.id for c in visible][:200],
                    reason="case list",
                    policy_version=self.ctx.gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return visible

    # -- procesregie ---------------------------------------------------------------------------

    def take(self, viewer: Viewer, case_id: str) -> CaseOut:
        """A procesregisseur takes on a case at intake (becomes its procesregisseur)."""
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            verdict = self.ctx.gate.authorize(
                session,
                viewer,
                "take_case",
                case=self.policy_case(session, case),
                hide_case=False,
            )
            if case.procesregisseur_partner is not None:
                raise Conflict("This case already has a procesregisseur.")
            case.procesregisseur_partner = viewer.partner
            case.procesregisseur_user = viewer.user
            self._log(
                session,
                viewer,
                Action.CASE_TAKE,
                case,
                policy_version=verdict.policy_version,
                reason="procesregie taken on",
            )
            return self.to_out(session, case)

    def screen(self, viewer: Viewer, case_id: str, body: ScreeningIn) -> ScreeningOut:
        """Hit/no-hit per subject: which partner kinds hold facts or signals, and whether
        an open case exists elsewhere. Never content; every hit is logged."""
        blind_key = self.ctx.keys.blind_index_key()
        requested = [subject_pseudonyms(blind_key, s) for s in body.subjects]
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(session, viewer, case, "screen")
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
                hit = self._screen_one(session, case, values)
                results.append(ScreeningHit(subject=label, **hit))
                if hit["known"]:
                    self._log(
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
            self._log(
                session,
                viewer,
                Action.CASE_SCREEN,
                case,
                policy_version=version,
                pseudonyms=all_values,
                reason=f"{sum(r.known for r in results)} of {len(results)} known",
            )
            return ScreeningOut(case_id=case.id, results=results)

    @staticmethod
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
        rows = session.execute(
            select(Fact.publisher_kind, Fact.publisher_partner).where(
                Fact.subject_id.in_(subject_ids), Fact.status == "current"
            )
        ).all()
        open_elsewhere = (
            bool(other_cases)
            and session.scalar(
                select(Case.id).where(Case.id.in_(other_cases), Case.status == "open").limit(1)
            )
            is not None
        )
        kinds = sorted({r[0] for r in rows})
        return {
            "known": bool(kinds) or open_elsewhere,
            "partner_kinds": kinds,
            "open_case_elsewhere": open_elsewhere,
            "_partners": sorted({r[1] for r in rows}),
        }

    def triage(self, viewer: Viewer, case_id: str, body: TriageIn) -> CaseOut:
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(session, viewer, case, "triage")
            c = body.criteria
            complex_problems = (
                c.multiple_life_domains
                and c.criminal_or_nuisance_behaviour
                and c.multiple_chains_needed
                and c.impact_on_system_or_environment
            ) or c.area_bound_safety_problem
            if body.decision == "accept" and not complex_problems:
                raise Conflict(
                    "The Landelijk kader criteria for complex problems are not met; "
                    "reject the case or record the criteria that apply."
                )
            if body.decision == "reject" and not body.reason_code:
                raise ValidationFailed("A rejection needs a reason_code.")
            case.triage = {
                **c.model_dump(),
                "decision": body.decision,
                "reason_code": body.reason_code,
                "complex_problems": complex_problems,
            }
            if body.decision == "accept":
                case.table_id = (body.table or TableId(case.proposed_table)).value
            else:
                now = _now()
                case.phase = Phase.CLOSED.value
                case.status = "rejected"
                case.outcome = body.reason_code
                case.closed_at = now
                case.retention_until = now + timedelta(
                    days=self.ctx.settings.retention_rejected_days
                )
            self._log(
                session,
                viewer,
                Action.CASE_TRIAGE,
                case,
                policy_version=version,
                reason=f"{body.decision}: {body.reason_code or case.table_id}",
            )
            return self.to_out(session, case)

    # -- participants ---------------------------------------------------------------------------

    def invite(self, viewer: Viewer, case_id: str, partner: str, user: str | None) -> CaseOut:
        if partner not in self.ctx.registry.partners:
            raise ValidationFailed("Unknown partner: see `vhhub partners list`.")
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(
                session, viewer, case, "invite", target={"partner": partner, "user": user}
            )
            existing = session.scalars(
                select(Participant).where(
                    Participant.case_id == case.id,
                    Participant.partner_id == partner,
                    Participant.user == (user or ""),
                )
            ).one_or_none()
            if existing is None:
                existing = Participant(
                    id=str(uuid.uuid4()),
                    case_id=case.id,
                    partner_id=partner,
                    user=user or "",
                    invited_by_partner=viewer.partner,
                    invited_by_user=viewer.user,
                )
                session.add(existing)
            else:
                existing.withdrawn_at = None
            session.flush()
            self._log(
                session,
                viewer,
                Action.CASE_INVITE,
                case,
                policy_version=version,
                object_ids=[existing.id, partner],
            )
            return self.to_out(session, case)

    def withdraw(self, viewer: Viewer, case_id: str, participant_id: str) -> CaseOut:
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(session, viewer, case, "withdraw_invitation")
            participant = session.get(Participant, participant_id)
            if participant is None or participant.case_id != case.id:
                raise NotFound()
            participant.withdrawn_at = _now()
            self._log(
                session,
                viewer,
                Action.CASE_WITHDRAW_INVITATION,
                case,
                policy_version=version,
                object_ids=[participant.id, participant.partner_id],
            )
            return self.to_out(session, case)

    def assign_casusregisseur(
        self, viewer: Viewer, case_id: str, partner: str, user: str
    ) -> CaseOut:
        if Role.CASUSREGISSEUR not in self.ctx.registry.allowed_roles(partner):
            raise ValidationFailed("This partner's kind may not act as casusregisseur.")
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(
                session,
                viewer,
                case,
                "assign_casusregisseur",
                target={"partner": partner, "user": user},
            )
            case.casusregisseur_partner = partner
            case.casusregisseur_user = user
            self._log(
                session,
                viewer,
                Action.CASE_ASSIGN_CASUSREGISSEUR,
                case,
                policy_version=version,
                object_ids=[partner],
            )
            return self.to_out(session, case)

    # -- phases ---------------------------------------------------------------------------------

    def change_phase(self, viewer: Viewer, case_id: str, to: Phase) -> CaseOut:
        if to is Phase.CLOSED:
            raise ValidationFailed("Close a case through its closure, with an outcome.")
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(
                session, viewer, case, "change_phase", target={"phase": to.value}
            )
            current = Phase(case.phase)
            if PHASE_ORDER.index(to) != PHASE_ORDER.index(current) + 1:
                raise Conflict("A case moves one phase forward at a time.")
            if to is Phase.PREPARATION and case.table_id is None:
                raise Conflict("Triage the case onto a table before preparation.")
            case.phase = to.value
            self._log(
                session,
                viewer,
                Action.CASE_CHANGE_PHASE,
                case,
                policy_version=version,
                reason=f"{current.value} -> {to.value}",
            )
            return self.to_out(session, case)

    def close(self, viewer: Viewer, case_id: str, outcome: str) -> CaseOut:
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(session, viewer, case, "close")
            now = _now()
            previous = case.phase
            case.phase = Phase.CLOSED.value
            case.status = "closed"
            case.outcome = outcome
            case.closed_at = now
            case.retention_until = now + timedelta(days=self.ctx.settings.retention_closed_days)
            self._log(
                session,
                viewer,
                Action.CASE_CLOSE,
                case,
                policy_version=version,
                reason=f"{previous} -> closed: {outcome}",
            )
            return self.to_out(session, case)

    # -- agenda ---------------------------------------------------------------------------------

    def schedule(
        self, viewer: Viewer, table: TableId, case_id: str, meeting: date
    ) -> AgendaItemOut:
        with self._unit() as session:
            case = self.load(session, viewer, case_id)
            version = self.authorize(
                session, viewer, case, "schedule", target={"table": table.value}
            )
            if case.table_id != table.value:
                raise Conflict("The case is not on this table.")
            exists = session.scalars(
                select(AgendaItem).where(
                    AgendaItem.table_id == table.value,
                    AgendaItem.case_id == case.id,
                    AgendaItem.meeting_date == meeting,
                )
            ).one_or_none()
            if exists is None:
                session.add(
                    AgendaItem(
                        id=str(uuid.uuid4()),
                        table_id=table.value,
                        case_id=case.id,
                        meeting_date=meeting,
                    )
                )
            self._log(
                session,
                viewer,
                Action.CASE_SCHEDULE,
                case,
                policy_version=version,
                reason=f"agenda {table.value} {meeting.isoformat()}",
            )
            return AgendaItemOut(
                case_id=case.id, table=table, meeting_date=meeting, phase=Phase(case.phase)
            )

    def agenda(self, viewer: Viewer, table: TableId, since: date | None) -> list[AgendaItemOut]:
        """The table's agenda, limited to cases the viewer may read."""
        with self._unit() as session:
            query = select(AgendaItem).where(AgendaItem.table_id == table.value)
            if since is not None:
                query = query.where(AgendaItem.meeting_date >= since)
            items = session.scalars(query.order_by(AgendaItem.meeting_date)).all()
            visible: list[AgendaItemOut] = []
            for item in items:
                case = session.get(Case, item.case_id)
                if case is None:
                    continue
                allowed = self.ctx.gate.engine.allow_action(
                    {
                        "viewer": viewer.policy_input(),
                        "purpose": viewer.purpose.value,
                        "action": "read_case",
                        "case": self.policy_case(session, case),
                        "target": None,
                    }
                ).allowed
                if allowed:
                    visible.append(
                        AgendaItemOut(
                            case_id=case.id,
                            table=table,
                            meeting_date=item.meeting_date,
                            phase=Phase(case.phase),
                        )
                    )
            self.ctx.log.append(
                session,
                Event(
                    action=Action.CASE_READ,
                    outcome=Outcome.ALLOWED,
                    object_ids=[i.case_id for i in visible][:200],
                    reason=f"agenda {table.value}",
                    policy_version=self.ctx.gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return visible


def _regisseur_out(partner: str | None, user: str | None) -> RegisseurOut | None:
    if partner is None or user is None:
        return None
    return RegisseurOut(partner=partner, user=user)


def _plausible_id(value: str) -> bool:
    return 0 < len(value) <= 36 and all(c.isalnum() or c == "-" for c in value)
