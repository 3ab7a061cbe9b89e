"""The integral analysis and plan of approach, versioned and stored encrypted.

Only what the hub needs to decide and to order in clear columns: which case, which version,
who recorded it and when. Analysis texts, goals, interventions, owners, deadlines, statuses
and monitoring notes live only in ``content_ct``, sealed with the case's data key
(docs/adr/0007-plans.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow


class PlanVersion(Base):
    """One recorded version of a case's analysis and plan; never updated, never deleted
    (the case's crypto-shredding removes them all)."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    content_ct: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_by_partner: Mapped[str] = mapped_column(String(64))
    recorded_by_user: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanNote(Base):
    """A monitoring note: one intervention's status change, reported against the plan
    version that was current at the time. Append-only, like the versions.

    Why a row of its own and not a new plan version: the plan is the casusregisseur's
    agreement, while progress is reported by each intervention's owner; keeping the two
    apart means an owner's report never rewrites the plan, and a new plan version never
    silently erases a report (ADR 0007).
    """

    __tablename__ = "plan_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    plan_version_id: Mapped[str] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True
    )
    #: intervention id, status and note text, sealed together (schema "plan_note/1")
    content_ct: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_by_partner: Mapped[str] = mapped_column(String(64))
    recorded_by_user: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InterventionIndex(Base):
    """What the caseload and the closing check need of each intervention of a case's current
    plan, in clear: who owns it, its deadline and its status. No text, goal or life domain:
    those stay sealed in the plan (ADR 0007, amended by ADR 0011). Rewritten with every plan
    version; a monitoring note updates the status."""

    __tablename__ = "intervention_index"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    intervention_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_partner: Mapped[str] = mapped_column(String(64), index=True)
    owner_user: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PlanRepository:
    """The plan queries, named for what they return; callers bring their unit of work.

    Kept beside the tables so the service and the disclosure door ask the same questions
    the same way (neither imports the other's internals).
    """

    @staticmethod
    def current(session: Session, case_id: str) -> PlanVersion | None:
        return session.scalars(
            select(PlanVersion)
            .where(PlanVersion.case_id == case_id)
            .order_by(PlanVersion.version.desc())
            .limit(1)
        ).one_or_none()

    @staticmethod
    def by_number(session: Session, case_id: str, version: int) -> PlanVersion | None:
        return session.scalars(
            select(PlanVersion).where(
                PlanVersion.case_id == case_id, PlanVersion.version == version
            )
        ).one_or_none()

    @staticmethod
    def list_for_case(session: Session, case_id: str) -> list[PlanVersion]:
        return list(
            session.scalars(
                select(PlanVersion)
                .where(PlanVersion.case_id == case_id)
                .order_by(PlanVersion.version)
            )
        )

    @staticmethod
    def notes_for_version(session: Session, plan_version_id: str) -> list[PlanNote]:
        return list(
            session.scalars(
                select(PlanNote)
                .where(PlanNote.plan_version_id == plan_version_id)
                .order_by(PlanNote.recorded_at, PlanNote.id)
            )
        )

    @staticmethod
    def count_notes_for_version(session: Session, plan_version_id: str) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(PlanNote)
                .where(PlanNote.plan_version_id == plan_version_id)
            )
            or 0
        )

    @staticmethod
    def revision(session: Session, case_id: str) -> int:
        """How often the plan changed: versions recorded plus status changes reported.

        Rows are never updated or deleted one by one, so the count only grows; a writer
        that names the revision it read therefore detects every change made since."""
        versions = session.scalar(
            select(func.count()).select_from(PlanVersion).where(PlanVersion.case_id == case_id)
        )
        notes = session.scalar(
            select(func.count()).select_from(PlanNote).where(PlanNote.case_id == case_id)
        )
        return int(versions or 0) + int(notes or 0)

    # -- the intervention index (clear metadata for caseloads and closing) --------------------

    @staticmethod
    def index_interventions(
        session: Session,
        case_id: str,
        interventions: Iterable[tuple[str, str, str | None, date, str]],
    ) -> None:
        """Replace the case's index with the interventions of its new current version:
        (id, owner partner, owner user, deadline, status)."""
        session.execute(delete(InterventionIndex).where(InterventionIndex.case_id == case_id))
        for intervention_id, owner, owner_user, deadline, status in interventions:
            session.add(
                InterventionIndex(
                    case_id=case_id,
                    intervention_id=intervention_id,
                    owner_partner=owner,
                    owner_user=owner_user,
                    deadline=deadline,
                    status=status,
                )
            )

    @staticmethod
    def set_status(session: Session, case_id: str, intervention_id: str, status: str) -> None:
        row = session.get(InterventionIndex, (case_id, intervention_id))
        if row is not None:
            row.status = status

    @staticmethod
    def interventions(session: Session, case_ids: Iterable[str]) -> list[InterventionIndex]:
        ids = sorted(set(case_ids))
        if not ids:
            return []
        return list(
            session.scalars(
                select(InterventionIndex)
                .where(InterventionIndex.case_id.in_(ids))
                .order_by(InterventionIndex.case_id, InterventionIndex.deadline)
            )
        )
