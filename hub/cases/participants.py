"""Who takes part in a case: invitations, their withdrawal, and the casusregisseur."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from hub.audit.entry import Action
from hub.cases.models import Participant
from hub.cases.repository import CaseRepository
from hub.cases.schemas import CaseOut
from hub.cases.usecase import CaseUseCase
from hub.errors import NotFound, ValidationFailed
from hub.identity.viewer import Viewer
from hub.notifications.outbox import EventKind, record
from hub.vocabulary import Role


class ParticipantService(CaseUseCase):
    def invite(self, viewer: Viewer, case_id: str, partner: str, user: str | None) -> CaseOut:
        if partner not in self._registry.partners:
            raise ValidationFailed("Unknown partner: see `vhhub partners list`.")
        with self._unit_of_work() as session:
            opened = self._gate.open_case(
                session, viewer, case_id, "invite", target={"partner": partner, "user": user}
            )
            case = opened.case
            repository = CaseRepository(session)
            existing = repository.participant(case.id, partner, user or "")
            if existing is None:
                try:
                    # a SAVEPOINT: an identical invitation committed meanwhile undoes only
                    # this insert, and this request answers as the retry it then is
                    with session.begin_nested():
                        invited = Participant(
                            id=str(uuid.uuid4()),
                            case_id=case.id,
                            partner_id=partner,
                            user=user or "",
                            invited_by_partner=viewer.partner,
                            invited_by_user=viewer.user,
                        )
                        session.add(invited)
                        session.flush()
                    existing = invited
                except IntegrityError:
                    existing = repository.participant(case.id, partner, user or "")
                    if existing is None:
                        raise
            if existing.withdrawn_at is not None:
                existing.withdrawn_at = None
            session.flush()
            self._log_act(
                session,
                viewer,
                Action.CASE_INVITE,
                case,
                policy_version=opened.permit.policy_version,
                object_ids=[existing.id, partner],
            )
            record(session, EventKind.INVITATION, case.id, [existing.id], audience=partner)
            return self._out(session, case)

    def withdraw(self, viewer: Viewer, case_id: str, participant_id: str) -> CaseOut:
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "withdraw_invitation")
            case = opened.case
            participant = session.get(Participant, participant_id)
            if participant is None or participant.case_id != case.id:
                raise NotFound()
            participant.withdrawn_at = datetime.now(UTC)
            self._log_act(
                session,
                viewer,
                Action.CASE_WITHDRAW_INVITATION,
                case,
                policy_version=opened.permit.policy_version,
                object_ids=[participant.id, participant.partner_id],
            )
            return self._out(session, case)

    def assign_casusregisseur(
        self, viewer: Viewer, case_id: str, partner: str, user: str
    ) -> CaseOut:
        if Role.CASUSREGISSEUR not in self._registry.allowed_roles(partner):
            raise ValidationFailed("This partner's kind may not act as casusregisseur.")
        with self._unit_of_work() as session:
            opened = self._gate.open_case(
                session,
                viewer,
                case_id,
                "assign_casusregisseur",
                target={"partner": partner, "user": user},
            )
            case = opened.case
            case.casusregisseur_partner = partner
            case.casusregisseur_user = user
            self._log_act(
                session,
                viewer,
                Action.CASE_ASSIGN_CASUSREGISSEUR,
                case,
                policy_version=opened.permit.policy_version,
                object_ids=[partner],
            )
            return self._out(session, case)
