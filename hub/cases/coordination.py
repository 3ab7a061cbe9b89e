"""Coordination with another house or chain (afstemming, ADR 0014).

When screening finds that a subject is known elsewhere (another Veiligheidshuis, the justice
chain, youth protection, a partner kind), the procesregisseur records per counterpart who
coordinates the case with it (the regievoerder: a partner and a user's pseudonym) and whether
that is done: to coordinate, coordinated, not needed. Codes and pseudonyms only, no free text;
each change is an access-log entry, so the log holds the history.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.entry import Action
from hub.cases.models import CaseCoordination
from hub.cases.schemas import (
    CaseCoordinationOut,
    CoordinationIn,
    CoordinationOut,
    CoordinationStatus,
    RegisseurOut,
)
from hub.cases.usecase import CaseUseCase
from hub.errors import ValidationFailed
from hub.identity.viewer import Viewer


class UnknownRegievoerder(ValidationFailed):
    slug = "unknown-regievoerder"
    title = "Unknown regievoerder"
    default_detail = "The regievoerder's partner is not in the network registry."


class CoordinationService(CaseUseCase):
    def record(self, viewer: Viewer, case_id: str, body: CoordinationIn) -> CaseCoordinationOut:
        """Record (or change) who coordinates the case with `body.counterpart`, and the status.
        The body is checked before the case is looked at: an outsider learns nothing."""
        if body.regievoerder.partner not in self._registry.partners:
            raise UnknownRegievoerder()
        with self._unit_of_work() as session:
            # the row lock makes two records for one case take turns (one row per counterpart)
            opened = self._gate.open_case(
                session, viewer, case_id, "record_coordination", for_update=True
            )
            case = opened.case
            row = session.scalar(
                select(CaseCoordination).where(
                    CaseCoordination.case_id == case.id,
                    CaseCoordination.counterpart == body.counterpart.value,
                )
            )
            if row is None:
                row = CaseCoordination(
                    id=str(uuid.uuid4()), case_id=case.id, counterpart=body.counterpart.value
                )
                session.add(row)
            row.regievoerder_partner = body.regievoerder.partner
            row.regievoerder_user = body.regievoerder.user
            row.status = body.status.value
            row.recorded_by_partner = viewer.partner
            row.recorded_by_user = viewer.user
            row.recorded_at = datetime.now(UTC)
            session.flush()
            self._log_act(
                session,
                viewer,
                Action.CASE_RECORD_COORDINATION,
                case,
                policy_version=opened.permit.policy_version,
                object_ids=[row.id],
                reason=f"{row.counterpart}:{row.status}:{row.regievoerder_partner}",
            )
            return _out(case.id, self._rows(session, case.id))

    def read(self, viewer: Viewer, case_id: str) -> CaseCoordinationOut:
        """Who coordinates the case with which counterpart, for the case's members."""
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_coordination")
            rows = self._rows(session, opened.case.id)
            self._log_act(
                session,
                viewer,
                Action.CASE_READ,
                opened.case,
                policy_version=opened.permit.policy_version,
                object_ids=[r.id for r in rows],
                reason="coordination",
            )
            return _out(opened.case.id, rows)

    @staticmethod
    def _rows(session: Session, case_id: str) -> list[CaseCoordination]:
        return list(
            session.scalars(
                select(CaseCoordination)
                .where(CaseCoordination.case_id == case_id)
                .order_by(CaseCoordination.counterpart)
            )
        )


def _out(case_id: str, rows: list[CaseCoordination]) -> CaseCoordinationOut:
    return CaseCoordinationOut(
        case_id=case_id,
        coordination=[
            CoordinationOut(
                counterpart=r.counterpart,
                regievoerder=RegisseurOut(partner=r.regievoerder_partner, user=r.regievoerder_user),
                status=CoordinationStatus(r.status),
                recorded_by=RegisseurOut(partner=r.recorded_by_partner, user=r.recorded_by_user),
                recorded_at=r.recorded_at,
            )
            for r in rows
        ],
    )
