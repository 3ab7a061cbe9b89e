"""The phase history of a case: when it entered each phase, and which partner moved it there
(ADR 0014). Every path that sets a case's phase writes one row here; the statistics read the
lead times from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from hub.cases.models import Case, CasePhaseHistory
from hub.vocabulary import Phase


def record_phase(
    session: Session, case: Case, phase: Phase, partner: str, *, at: datetime | None = None
) -> None:
    """Record that `case` entered `phase` now (or `at`), moved there by `partner`."""
    session.add(
        CasePhaseHistory(
            case_id=case.id,
            phase=phase.value,
            entered_at=at or datetime.now(UTC),
            entered_by_partner=partner,
        )
    )
