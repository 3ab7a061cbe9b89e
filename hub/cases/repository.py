"""The queries about cases that several use cases share, each named for what it returns.

Only clear metadata columns are read here (ids, table, phase, participants, blind-index
values); nothing is decrypted. Services own the transaction and pass their session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.cases.models import Case, Invitation, Participant, Subject, SubjectIndex
from hub.ids import plausible_id
from hub.vocabulary import CaseStatus, Phase

#: A case id is a UUID; anything longer or stranger is not looked up at all.
plausible_case_id = plausible_id


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, case_id: str, *, for_update: bool = False) -> Case | None:
        if not plausible_case_id(case_id):
            return None
        if for_update:
            return self.session.get(Case, case_id, with_for_update=True)
        return self.session.get(Case, case_id)

    def get_with_invitations(
        self, case_id: str, *, for_update: bool = False
    ) -> tuple[Case, list[Invitation]] | None:
        """The case and the columns the policy input reads of each of its invitations (in
        `participants` order, withdrawn ones included), in one statement: every case-scoped
        request reads both before its policy decision, and each statement and each ORM entity
        costs a round of SQLAlchemy's work (ADR 0020)."""
        if not plausible_case_id(case_id):
            return None
        query = (
            select(Case, Participant.partner_id, Participant.user, Participant.withdrawn_at)
            .outerjoin(Participant, Participant.case_id == Case.id)
            .where(Case.id == case_id)
            .order_by(Participant.invited_at, Participant.id)
        )
        if for_update:
            # the case row only (the invitations are the nullable side of the join), read
            # fresh as `get(for_update=True)` reads it
            query = query.with_for_update(of=Case).execution_options(populate_existing=True)
        rows = self.session.execute(query).all()
        if not rows:
            return None
        invitations = [
            Invitation(partner_id, user, withdrawn_at)
            for _, partner_id, user, withdrawn_at in rows
            if partner_id is not None  # a case without invitations: one row, no partner
        ]
        return rows[0][0], invitations

    def participants(self, case_id: str) -> list[Participant]:
        """Every invitation of the case, withdrawn ones included, oldest first."""
        return list(
            self.session.scalars(
                select(Participant)
                .where(Participant.case_id == case_id)
                .order_by(Participant.invited_at, Participant.id)
            )
        )

    def participant(self, case_id: str, partner: str, user: str) -> Participant | None:
        return self.session.scalars(
            select(Participant).where(
                Participant.case_id == case_id,
                Participant.partner_id == partner,
                Participant.user == user,
            )
        ).one_or_none()

    def subjects(self, case_id: str) -> list[Subject]:
        return list(
            self.session.scalars(
                select(Subject).where(Subject.case_id == case_id).order_by(Subject.created_at)
            )
        )

    def pseudonyms_of_case(self, case_id: str) -> list[str]:
        """The blind-index values of every subject of the case (log entries name them)."""
        return sorted(
            set(
                self.session.scalars(
                    select(SubjectIndex.value).where(SubjectIndex.case_id == case_id)
                )
            )
        )

    def pseudonyms_of_subject(self, subject_id: str | None) -> list[str]:
        if subject_id is None:
            return []
        return list(
            self.session.scalars(
                select(SubjectIndex.value).where(SubjectIndex.subject_id == subject_id)
            )
        )

    def candidate_ids_for(self, partner: str, user: str, *, intake_queue: bool) -> list[str]:
        """Cases the person stands in (invited, or named regisseur), plus, with
        `intake_queue`, the registered cases no procesregisseur has taken yet. The policy
        still decides per case which of them the person may see."""
        ids = set(
            self.session.scalars(
                select(Participant.case_id).where(
                    Participant.partner_id == partner,
                    Participant.withdrawn_at.is_(None),
                    Participant.user.in_(["", user]),
                )
            )
        )
        ids |= set(
            self.session.scalars(
                select(Case.id).where(
                    (
                        (Case.procesregisseur_partner == partner)
                        & (Case.procesregisseur_user == user)
                    )
                    | (
                        (Case.casusregisseur_partner == partner)
                        & (Case.casusregisseur_user == user)
                    )
                )
            )
        )
        if intake_queue:
            ids |= set(self.session.scalars(_intake_queue()))
        return sorted(ids)

    def cases_by_ids(self, ids: Sequence[str]) -> list[Case]:
        """The cases among `ids` that still hold data (shredded ones are left out)."""
        if not ids:
            return []
        rows = self.session.scalars(
            select(Case).where(Case.id.in_(ids), Case.status != CaseStatus.SHREDDED)
        )
        return sorted(rows, key=lambda c: c.id)

    def open_case_among(self, ids: set[str]) -> bool:
        if not ids:
            return False
        found = self.session.scalar(
            select(Case.id).where(Case.id.in_(ids), Case.status == CaseStatus.OPEN).limit(1)
        )
        return found is not None


def _intake_queue() -> Select[Any]:
    return select(Case.id).where(Case.phase == Phase.INTAKE, Case.procesregisseur_partner.is_(None))
