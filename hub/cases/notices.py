"""Informing the subject (issue 16 item 5, ADR 0012): per subject, whether they were told that
their case is discussed in the Veiligheidshuis -- when, how, by whom and who was informed at
which age -- or why informing is postponed and until when.

Notices are append-only rows (`SubjectNotice`); a subject's current state is its latest row.
Only codes and dates are stored, so nothing needs sealing. The age rule of the privacy
protocols is checked against the age band the recorder states (`REQUIRED_PARTY`): the hub
never opens a date of birth for it. A case enters the case conference only when every
subject has a current notice (`missing_notices`, asked by hub/cases/phases.py).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Subject, SubjectNotice
from hub.cases.repository import CaseRepository
from hub.cases.schemas import (
    REQUIRED_PARTY,
    AgeBand,
    CaseNoticesOut,
    InformedIn,
    InformedParty,
    NoticeChannel,
    NoticeOut,
    NoticeState,
    PostponedIn,
    PostponeReason,
    RegisseurOut,
    SubjectNoticesOut,
)
from hub.cases.usecase import CaseUseCase
from hub.db.session import UnitOfWork
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.facts.subjects import pseudonyms_of_subjects
from hub.gate.gate import Gate
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer

#: The protocols' dates are Dutch calendar days.
ZONE: Final = ZoneInfo("Europe/Amsterdam")
#: A postponement is reviewed at the latest a year after it is recorded.
MAX_POSTPONEMENT: Final = timedelta(days=366)
#: The catalogue actions that record a notice: a regisseur of the case, or a member of the
#: partner that registered it (asked second; its refusal is the one logged).
RECORD_AS_REGISSEUR: Final = "record_notice"
RECORD_AS_REGISTRANT: Final = "record_notice_as_registrant"


def dutch_today() -> date:
    return datetime.now(ZONE).date()


class InvalidNotice(ValidationFailed):
    slug = "invalid-notice"
    title = "Invalid notice"
    default_detail = "The notice does not hold together."


class AgeRuleViolated(ValidationFailed):
    slug = "notice-age-rule"
    title = "Het verkeerde persoon is geïnformeerd voor deze leeftijd"
    default_detail = (
        "Volgens de leeftijdsregel van het privacyprotocol worden bij een kind onder de 12 "
        "de ouders of verzorgers geïnformeerd, bij 12 tot en met 15 jaar het kind én de ouders "
        "of verzorgers, en vanaf 16 jaar de jongere zelf."
    )


class NoticeRecordedMeanwhile(Conflict):
    slug = "notice-recorded-meanwhile"
    title = "Notice recorded meanwhile"
    default_detail = (
        "Another notice for this subject was recorded at the same moment; read the notices "
        "and record again if needed."
    )


class NoticesMissing(Conflict):
    slug = "subjects-not-informed"
    title = "Betrokkenen niet geïnformeerd"


def notice_code(notice: SubjectNotice) -> str:
    """The access-log reason of a recorded notice: codes and dates only, read back by the
    art. 15 report (hub/audit/report.py, `parse_notice_code`):
    ``informed:<channel>:<party>:<informed_on>:<informer partner>`` or
    ``postponed:<reason>:<review_on>``."""
    if notice.state == NoticeState.INFORMED:
        assert notice.informed_on is not None
        return ":".join(
            (
                NoticeState.INFORMED.value,
                notice.channel or "",
                notice.informed_party or "",
                notice.informed_on.isoformat(),
                notice.informed_by_partner or "",
            )
        )
    assert notice.review_on is not None
    return ":".join(
        (NoticeState.POSTPONED.value, notice.postpone_reason or "", notice.review_on.isoformat())
    )


def is_current(notice: SubjectNotice | None, today: date) -> bool:
    """A notice counts when the subject was informed, or informing is postponed and the
    review date has not passed."""
    if notice is None:
        return False
    if notice.state == NoticeState.INFORMED:
        return True
    return notice.review_on is not None and notice.review_on >= today


def latest_notices(session: Session, case_id: str) -> dict[str, SubjectNotice]:
    """subject id -> its latest notice, for the subjects of the case that have one."""
    rows = session.scalars(
        select(SubjectNotice)
        .where(SubjectNotice.case_id == case_id)
        .order_by(SubjectNotice.subject_id, SubjectNotice.version)
    )
    return {row.subject_id: row for row in rows}


def missing_notices(session: Session, case_id: str, today: date) -> tuple[int, int]:
    """(subjects without a current notice, all subjects) of the case."""
    subject_ids = list(session.scalars(select(Subject.id).where(Subject.case_id == case_id)))
    latest = latest_notices(session, case_id)
    missing = sum(1 for s in subject_ids if not is_current(latest.get(s), today))
    return missing, len(subject_ids)


def notices_missing_error(missing: int, total: int) -> NoticesMissing:
    """The 409 of a case that may not enter the case conference yet (counts, never names)."""
    who = "betrokkene heeft" if missing == 1 else "betrokkenen hebben"
    return NoticesMissing(
        f"{missing} van de {total} {who} geen geldige vastlegging van het informeren: leg per "
        "betrokkene vast wanneer, hoe en door wie die is geïnformeerd dat de casus wordt "
        "besproken, of waarom het informeren is uitgesteld en tot wanneer (een uitstel "
        "waarvan de herbeoordelingsdatum voorbij is, telt niet). Daarna kan de casus naar "
        "het casusoverleg.",
        extra={"subjects_without_notice": missing},
    )


def _notice_out(notice: SubjectNotice) -> NoticeOut:
    informer = (
        RegisseurOut(partner=notice.informed_by_partner, user=notice.informed_by_user)
        if notice.informed_by_partner and notice.informed_by_user
        else None
    )
    return NoticeOut(
        id=notice.id,
        subject_id=notice.subject_id,
        version=notice.version,
        state=NoticeState(notice.state),
        informed_on=notice.informed_on,
        channel=NoticeChannel(notice.channel) if notice.channel else None,
        informed_party=InformedParty(notice.informed_party) if notice.informed_party else None,
        age_band=AgeBand(notice.age_band) if notice.age_band else None,
        informed_by=informer,
        reason=PostponeReason(notice.postpone_reason) if notice.postpone_reason else None,
        review_on=notice.review_on,
        recorded_by=RegisseurOut(partner=notice.recorded_by_partner, user=notice.recorded_by_user),
        recorded_at=notice.recorded_at,
    )


class NoticeService(CaseUseCase):
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        access_log: AccessLog,
        registry: NetworkRegistry,
    ) -> None:
        super().__init__(unit_of_work, gate, access_log, registry)

    def _check(self, body: InformedIn | PostponedIn, today: date) -> None:
        """What the body alone decides (before any case is looked at, so an outsider gets
        the same answer for a real and an unknown case)."""
        if isinstance(body, InformedIn):
            if body.informed_on > today:
                raise InvalidNotice("The day the subject was informed lies in the future.")
            if body.informed_by is not None and body.informed_by.partner not in (
                self._registry.partners
            ):
                raise InvalidNotice("The organisation that informed the subject is unknown.")
            if body.informed_party is not REQUIRED_PARTY[body.age_band]:
                raise AgeRuleViolated()
            return
        if body.review_on < today:
            raise InvalidNotice("The review date of a postponement lies in the past.")
        if body.review_on > today + MAX_POSTPONEMENT:
            raise InvalidNotice("A postponement is reviewed within a year.")

    def record(
        self, viewer: Viewer, case_id: str, subject_id: str, body: InformedIn | PostponedIn
    ) -> NoticeOut:
        """Record a notice for one subject of the case: a regisseur of the case or a member
        of the registering partner; logged with the subject's pseudonyms (the subject's art.
        15 report shows it). A subject of another case is the 404 of an unknown one."""
        today = dutch_today()
        self._check(body, today)
        with self._unit_of_work() as session:
            case = self._gate.load_case(session, viewer, case_id)
            policy = self._gate.case_input(session, case)
            action = (
                RECORD_AS_REGISSEUR
                if self._gate.allows(session, viewer, RECORD_AS_REGISSEUR, policy)
                else RECORD_AS_REGISTRANT
            )
            permit = self._gate.authorize_on_case(session, viewer, policy, action)
            subject = session.get(Subject, subject_id)
            if subject is None or subject.case_id != case.id:
                raise NotFound()
            version = (
                session.scalar(
                    select(func.max(SubjectNotice.version)).where(
                        SubjectNotice.subject_id == subject.id
                    )
                )
                or 0
            ) + 1
            notice = SubjectNotice(
                id=str(uuid.uuid4()),
                case_id=case.id,
                subject_id=subject.id,
                version=version,
                state=body.state.value,
                recorded_by_partner=viewer.partner,
                recorded_by_user=viewer.user,
            )
            if isinstance(body, InformedIn):
                informer = body.informed_by
                notice.informed_on = body.informed_on
                notice.channel = body.channel.value
                notice.informed_party = body.informed_party.value
                notice.age_band = body.age_band.value
                notice.informed_by_partner = informer.partner if informer else viewer.partner
                notice.informed_by_user = informer.user if informer else viewer.user
            else:
                notice.postpone_reason = body.reason.value
                notice.review_on = body.review_on
            session.add(notice)
            try:
                session.flush()
            except IntegrityError:
                raise NoticeRecordedMeanwhile() from None
            self._log_act(
                session,
                viewer,
                Action.CASE_RECORD_NOTICE,
                case,
                policy_version=permit.policy_version,
                object_ids=[subject.id, notice.id],
                pseudonyms=pseudonyms_of_subjects(session, [subject.id])[subject.id],
                reason=notice_code(notice),
            )
            return _notice_out(notice)

    def read(self, viewer: Viewer, case_id: str) -> CaseNoticesOut:
        """Per subject of the case: its current state and every notice recorded, for a
        member. Logged as a read of the case's process data (no pseudonyms, like a case
        read: ADR 0403)."""
        today = dutch_today()
        with self._unit_of_work() as session:
            opened = self._gate.open_case(session, viewer, case_id, "read_notices")
            subjects = CaseRepository(session).subjects(opened.case.id)
            history: dict[str, list[SubjectNotice]] = {}
            for row in session.scalars(
                select(SubjectNotice)
                .where(SubjectNotice.case_id == opened.case.id)
                .order_by(SubjectNotice.subject_id, SubjectNotice.version)
            ):
                history.setdefault(row.subject_id, []).append(row)
            out: list[SubjectNoticesOut] = []
            for subject in subjects:
                rows = history.get(subject.id, [])
                latest = rows[-1] if rows else None
                status = (
                    "missing" if latest is None or not is_current(latest, today) else latest.state
                )
                out.append(
                    SubjectNoticesOut(
                        subject_id=subject.id,
                        role_in_case=subject.role_in_case,
                        status=status,
                        current=_notice_out(latest) if latest is not None else None,
                        history=[_notice_out(r) for r in rows],
                    )
                )
            self._log.append(
                session,
                Event(
                    action=Action.CASE_READ_NOTICES,
                    outcome=Outcome.ALLOWED,
                    case_id=opened.case.id,
                    object_ids=[s.id for s in subjects],
                    reason="subject notices",
                    policy_version=opened.permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return CaseNoticesOut(
                case_id=opened.case.id,
                missing=sum(1 for s in out if s.status == "missing"),
                subjects=out,
            )
