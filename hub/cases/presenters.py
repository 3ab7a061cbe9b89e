"""A case's metadata as the API answers it (ids, table, phase, who takes part; no content)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.cases.models import Case
from hub.cases.repository import CaseRepository
from hub.cases.schemas import CaseOut, IdentityOut, ParticipantOut, RegisseurOut, SubjectOut
from hub.disclosure.identity import IdentityView
from hub.identity.registry import NetworkRegistry


def case_out(session: Session, registry: NetworkRegistry, case: Case) -> CaseOut:
    repo = CaseRepository(session)
    kinds = {p.id: p.kind.value for p in registry.partners.values()}
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
        subjects=[SubjectOut(id=s.id, role_in_case=s.role_in_case) for s in repo.subjects(case.id)],
        participants=[
            ParticipantOut(
                id=p.id,
                partner=p.partner_id,
                partner_kind=kinds.get(p.partner_id, "unknown"),
                user=p.user or None,
                invited_at=p.invited_at,
            )
            for p in repo.participants(case.id)
            if p.withdrawn_at is None
        ],
        triage=case.triage,
        outcome=case.outcome,
        closed_at=case.closed_at,
        retention_until=case.retention_until,
        urgency=case.urgency,
        review_on=case.review_on,
        preparation_due=case.preparation_due,
        case_conference_due=case.case_conference_due,
    )


def with_identity(out: CaseOut, view: IdentityView) -> CaseOut:
    """The case as read by one viewer: its subjects as far as the identity decision released
    them, and the registration reason when released."""
    released = set(view.permit.subject_fields)
    withheld = sorted({"name", "date_of_birth", "address", "bsn"} - released)
    subjects = [
        SubjectOut(
            id=v.subject.id,
            role_in_case=v.subject.role_in_case,
            version=v.subject.version,
            withheld=withheld,
            **dict(v.released),
        )
        for v in view.subjects
    ]
    return out.model_copy(
        update={
            "subjects": subjects,
            "reason": view.reason,
            "identity": IdentityOut(
                released=list(view.permit.classes),
                rule=view.permit.rule,
                reason=view.permit.reason,
            ),
        }
    )


def _regisseur_out(partner: str | None, user: str | None) -> RegisseurOut | None:
    if partner is None or user is None:
        return None
    return RegisseurOut(partner=partner, user=user)
