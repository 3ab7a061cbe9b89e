"""Case conferences (casusoverleg): scheduling, the ordered cases, invitees, attendance,
minutes and the calendar file (ADR 0013).

Every act on an item asks the gate about that item's case (so an outsider gets the logged
404 of an unknown id); a viewer sees a meeting only with the items of cases it may read
(``read_meeting``), and a meeting in none of whose cases it takes part -- unless it chairs or
scheduled it -- is the logged 404 of an unknown meeting. Minutes text is sealed here and
opened only by hub.disclosure.minutes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.cases.models import Case
from hub.cases.repository import CaseRepository
from hub.db.session import UnitOfWork
from hub.disclosure.vault import CaseVault
from hub.errors import Conflict, ValidationFailed
from hub.gate.gate import Gate
from hub.gate.inputs import CaseInput
from hub.identity.registry import NetworkRegistry
from hub.identity.viewer import Viewer
from hub.meetings.ical import meeting_calendar
from hub.meetings.lookup import case_reference, load_item, load_meeting, unknown_meeting
from hub.meetings.models import (
    MINUTES_SCHEMA,
    Meeting,
    MeetingInvitee,
    MeetingItem,
    MeetingMinutes,
    MeetingRepository,
)
from hub.meetings.schemas import (
    Attendance,
    AttendanceIn,
    Chair,
    ChairRole,
    DecisionCode,
    DecisionOut,
    InviteeIn,
    InviteeOut,
    ItemIn,
    ItemOut,
    MeetingIn,
    MeetingOut,
    MinutesIn,
    MinutesRecorded,
)
from hub.notifications.outbox import EventKind, record
from hub.vocabulary import LifeDomain, Role, Sensitivity, TableId

#: the most cases one meeting holds (a table discusses a handful per session)
MAX_ITEMS = 40
#: the most invitees one item holds
MAX_INVITEES = 50
#: the most meetings one list looks at (a house holds a few case conferences a week)
MAX_LISTED = 200


class InvalidMeeting(ValidationFailed):
    slug = "invalid-meeting"
    title = "The meeting request does not fit the meeting or the case"
    default_detail = "The request does not fit this meeting or case."


class MeetingService:
    def __init__(
        self,
        unit_of_work: UnitOfWork,
        gate: Gate,
        vault: CaseVault,
        access_log: AccessLog,
        registry: NetworkRegistry,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._gate = gate
        self._vault = vault
        self._log = access_log
        self._registry = registry

    # -- scheduling -------------------------------------------------------------------------

    def schedule(self, viewer: Viewer, body: MeetingIn) -> MeetingOut:
        with self._unit_of_work() as session:
            permit = self._gate.authorize(session, viewer, "schedule_meeting")
            chair = body.chair
            if chair.partner not in self._registry.partners:
                raise InvalidMeeting("The chair's organisation is not in the network.")
            role = Role(chair.role.value)
            if role not in self._registry.allowed_roles(chair.partner):
                raise InvalidMeeting("The chair's organisation cannot hold that role.")
            meeting = Meeting(
                id=str(uuid.uuid4()),
                table_id=body.table.value,
                starts_at=body.starts_at.astimezone(UTC),
                ends_at=body.ends_at.astimezone(UTC),
                location=body.location,
                video_link=body.video_link,
                chair_partner=chair.partner,
                chair_user=chair.user,
                chair_role=chair.role.value,
                status="scheduled",
                scheduled_by_partner=viewer.partner,
                scheduled_by_user=viewer.user,
            )
            session.add(meeting)
            session.flush()
            self._log.append(
                session,
                Event(
                    action=Action.MEETING_SCHEDULE,
                    outcome=Outcome.ALLOWED,
                    object_ids=[meeting.id],
                    reason=f"casusoverleg {body.table.value}",
                    policy_version=permit.policy_version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return _meeting_out(meeting, [])

    def add_item(self, viewer: Viewer, meeting_id: str, body: ItemIn) -> ItemOut:
        """Put a case on the meeting, after the cases already on it. Only the case's
        procesregisseur (``add_meeting_item``); the case must be on the meeting's table."""
        with self._unit_of_work() as session:
            meeting = load_meeting(session, self._log, viewer, meeting_id)
            opened = self._gate.open_case(
                session, viewer, body.case_id, "add_meeting_item", for_update=True
            )
            case = opened.case
            if meeting.status != "scheduled":
                raise Conflict("The meeting was cancelled.")
            if case.table_id != meeting.table_id:
                raise Conflict("The case is not on this meeting's table.")
            items = MeetingRepository.items(session, meeting.id)
            if any(i.case_id == case.id for i in items):
                raise Conflict("The case is already on this meeting.")
            if len(items) >= MAX_ITEMS:
                raise Conflict("The meeting holds no more cases.")
            position = (
                session.scalar(
                    select(func.max(MeetingItem.position)).where(
                        MeetingItem.meeting_id == meeting.id
                    )
                )
                or 0
            ) + 1
            item = MeetingItem(
                id=str(uuid.uuid4()),
                meeting_id=meeting.id,
                case_id=case.id,
                position=position,
                added_by_partner=viewer.partner,
                added_by_user=viewer.user,
            )
            session.add(item)
            session.flush()
            self._log_case_act(
                session,
                viewer,
                Action.MEETING_PLAN,
                case,
                [meeting.id, item.id],
                opened.permit.policy_version,
                f"on meeting at position {position}",
            )
            record(session, EventKind.MEETING, case.id, [meeting.id], actor_partner=viewer.partner)
            return _item_out(item, [], [])

    def invite(self, viewer: Viewer, meeting_id: str, item_id: str, body: InviteeIn) -> ItemOut:
        """Invite a partner of the case (or one named professional of it) to discuss it."""
        with self._unit_of_work() as session:
            _meeting, item = load_item(session, self._log, viewer, meeting_id, item_id)
            opened = self._gate.open_case(session, viewer, item.case_id, "add_meeting_item")
            if not _takes_part(opened.policy, body.partner, body.user):
                raise InvalidMeeting(
                    "Only a partner (or named professional) taking part in the case can be "
                    "invited to discuss it."
                )
            user = body.user or ""
            invitees = MeetingRepository.invitees(session, [item.id])
            if not any((i.partner_id, i.user) == (body.partner, user) for i in invitees):
                if len(invitees) >= MAX_INVITEES:
                    raise Conflict("This case has no room for more invitees.")
                session.add(
                    MeetingInvitee(
                        id=str(uuid.uuid4()),
                        item_id=item.id,
                        case_id=item.case_id,
                        partner_id=body.partner,
                        user=user,
                    )
                )
                session.flush()
            self._log_case_act(
                session,
                viewer,
                Action.MEETING_PLAN,
                opened.case,
                [item.meeting_id, item.id],
                opened.permit.policy_version,
                f"invited {body.partner}",
            )
            record(
                session,
                EventKind.MEETING,
                item.case_id,
                [item.meeting_id],
                audience=body.partner,
                actor_partner=viewer.partner,
            )
            return self._item(session, item)

    def record_attendance(
        self, viewer: Viewer, meeting_id: str, item_id: str, body: AttendanceIn
    ) -> ItemOut:
        with self._unit_of_work() as session:
            _meeting, item = load_item(session, self._log, viewer, meeting_id, item_id)
            opened = self._gate.open_case(session, viewer, item.case_id, "record_attendance")
            invitees = {
                (i.partner_id, i.user): i for i in MeetingRepository.invitees(session, [item.id])
            }
            now = datetime.now(UTC)
            counts: dict[str, int] = defaultdict(int)
            for pointer, entry in enumerate(body.attendance):
                invitee = invitees.get((entry.partner, entry.user or ""))
                if invitee is None:
                    raise InvalidMeeting(
                        f"Attendance entry /attendance/{pointer} names no invitee of this case."
                    )
                invitee.attendance = entry.status.value
                invitee.attendance_recorded_at = now
                counts[entry.status.value] += 1
            self._log_case_act(
                session,
                viewer,
                Action.MEETING_ATTENDANCE,
                opened.case,
                [item.meeting_id, item.id],
                opened.permit.policy_version,
                ", ".join(f"{s.value} {counts[s.value]}" for s in Attendance),
            )
            return self._item(session, item)

    def record_minutes(
        self, viewer: Viewer, meeting_id: str, item_id: str, body: MinutesIn
    ) -> MinutesRecorded:
        """Seal each minutes part and decision text with the case's data key; the recorder's
        partner is the part's author (it reads its own text, ``publisher_sees_own``)."""
        with self._unit_of_work() as session:
            _meeting, item = load_item(session, self._log, viewer, meeting_id, item_id)
            opened = self._gate.open_case(
                session, viewer, item.case_id, "record_minutes", for_update=True
            )
            part_ids: list[str] = []
            decision_ids: list[str] = []
            rows: list[
                tuple[str, DecisionCode | None, LifeDomain | None, Sensitivity, str | None]
            ] = [("minutes", None, p.life_domain, p.sensitivity, p.text) for p in body.parts]
            rows += [
                ("decision", d.code, d.life_domain, d.sensitivity, d.text) for d in body.decisions
            ]
            for kind, code, domain, sensitivity, text in rows:
                row_id = str(uuid.uuid4())
                sealed = (
                    self._vault.seal_document(
                        session,
                        case_id=item.case_id,
                        record="meeting_minutes",
                        row_id=row_id,
                        schema_id=MINUTES_SCHEMA,
                        document={"text": text},
                    )
                    if text is not None
                    else None
                )
                session.add(
                    MeetingMinutes(
                        id=row_id,
                        item_id=item.id,
                        case_id=item.case_id,
                        kind=kind,
                        decision_code=code.value if code is not None else None,
                        life_domain=domain.value if domain is not None else None,
                        sensitivity=sensitivity.value,
                        text_ct=sealed,
                        recorded_by_partner=viewer.partner,
                        recorded_by_user=viewer.user,
                    )
                )
                (part_ids if kind == "minutes" else decision_ids).append(row_id)
            session.flush()
            self._log_case_act(
                session,
                viewer,
                Action.MINUTES_RECORD,
                opened.case,
                [item.meeting_id, item.id, *part_ids, *decision_ids],
                opened.permit.policy_version,
                f"{len(part_ids)} minutes parts, {len(decision_ids)} decisions",
            )
            return MinutesRecorded(item_id=item.id, part_ids=part_ids, decision_ids=decision_ids)

    # -- reading ----------------------------------------------------------------------------

    def read(self, viewer: Viewer, meeting_id: str) -> MeetingOut:
        with self._unit_of_work() as session:
            meeting, visible = self._visible(session, viewer, meeting_id)
            items = [self._item(session, item) for item, _case in visible]
            self._log_read(session, viewer, meeting, visible, "meeting")
            return _meeting_out(meeting, items)

    def upcoming(self, viewer: Viewer, since: datetime) -> list[MeetingOut]:
        """The scheduled meetings from `since` on, earliest first, that `viewer` may see: each
        with only the items of cases it may read (``read_meeting``), and a meeting with none
        of them only when the policy lets it see the frame (``read_meeting_frame``). The
        others are left out, uncounted, as a read of each would answer 404."""
        with self._unit_of_work() as session:
            listed: list[MeetingOut] = []
            seen: list[tuple[MeetingItem, Case]] = []
            for meeting in MeetingRepository.scheduled_from(
                session, since.astimezone(UTC), MAX_LISTED
            ):
                visible = self._readable_items(session, viewer, meeting)
                if not visible and not self._sees_frame(session, viewer, meeting):
                    continue
                listed.append(
                    _meeting_out(meeting, [self._item(session, item) for item, _c in visible])
                )
                seen.extend(visible)
            repo = CaseRepository(session)
            pseudonyms = sorted({p for _i, case in seen for p in repo.pseudonyms_of_case(case.id)})
            self._log.append(
                session,
                Event(
                    action=Action.MEETING_READ,
                    outcome=Outcome.ALLOWED,
                    object_ids=[
                        *(m.id for m in listed),
                        *sorted({case.id for _i, case in seen}),
                    ],
                    subject_pseudonyms=pseudonyms,
                    reason=f"list: {len(listed)} meetings, {len(seen)} cases",
                    policy_version=self._gate.version,
                ),
                actor=viewer.actor,
                request=viewer.request,
            )
            return listed

    def calendar(self, viewer: Viewer, meeting_id: str) -> bytes:
        """The meeting as an iCalendar file holding only the references of the cases this
        viewer may read (ADR 0013)."""
        with self._unit_of_work() as session:
            meeting, visible = self._visible(session, viewer, meeting_id)
            table = self._registry.tables.get(TableId(meeting.table_id))
            data = meeting_calendar(
                meeting_id=meeting.id,
                table_name=table.name if table is not None else meeting.table_id,
                starts_at=meeting.starts_at,
                ends_at=meeting.ends_at,
                location=meeting.location,
                video_link=meeting.video_link,
                case_references=[case_reference(case.id) for _item, case in visible],
                stamp=meeting.created_at,
                domain="vhhub",
            )
            self._log_read(session, viewer, meeting, visible, "calendar")
            return data

    def _visible(
        self, session: Session, viewer: Viewer, meeting_id: str
    ) -> tuple[Meeting, list[tuple[MeetingItem, Case]]]:
        """The meeting and the items of the cases `viewer` may read (``read_meeting``); the
        logged 404 of an unknown meeting when it reads none and the policy does not let it
        see the meeting's frame (``read_meeting_frame``: its chair or the one who scheduled
        it). Other cases' items are left out, uncounted."""
        meeting = load_meeting(session, self._log, viewer, meeting_id)
        visible = self._readable_items(session, viewer, meeting)
        if not visible and not self._sees_frame(session, viewer, meeting):
            unknown_meeting(session, self._log, viewer)
        return meeting, visible

    def _readable_items(
        self, session: Session, viewer: Viewer, meeting: Meeting
    ) -> list[tuple[MeetingItem, Case]]:
        visible: list[tuple[MeetingItem, Case]] = []
        for item in MeetingRepository.items(session, meeting.id):
            case = CaseRepository(session).get(item.case_id)
            if case is None:
                continue
            policy_case = self._gate.case_input(session, case)
            if self._gate.allows(session, viewer, "read_meeting", policy_case):
                visible.append((item, case))
        return visible

    def _sees_frame(self, session: Session, viewer: Viewer, meeting: Meeting) -> bool:
        return self._gate.allows_without_case(
            session,
            viewer,
            "read_meeting_frame",
            {
                "chair": {"partner": meeting.chair_partner, "user": meeting.chair_user},
                "scheduled_by": {
                    "partner": meeting.scheduled_by_partner,
                    "user": meeting.scheduled_by_user,
                },
            },
        )

    def _log_read(
        self,
        session: Session,
        viewer: Viewer,
        meeting: Meeting,
        visible: Sequence[tuple[MeetingItem, Case]],
        what: str,
    ) -> None:
        repo = CaseRepository(session)
        pseudonyms = sorted({p for _i, case in visible for p in repo.pseudonyms_of_case(case.id)})
        self._log.append(
            session,
            Event(
                action=Action.MEETING_READ,
                outcome=Outcome.ALLOWED,
                object_ids=[meeting.id, *(case.id for _i, case in visible)],
                subject_pseudonyms=pseudonyms,
                reason=f"{what}: {len(visible)} cases",
                policy_version=self._gate.version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )

    def _item(self, session: Session, item: MeetingItem) -> ItemOut:
        invitees = MeetingRepository.invitees(session, [item.id])
        decisions = [m for m in MeetingRepository.minutes(session, item.id) if m.kind == "decision"]
        return _item_out(item, invitees, decisions)

    def _log_case_act(
        self,
        session: Session,
        viewer: Viewer,
        action: Action,
        case: Case,
        object_ids: Sequence[str],
        policy_version: str,
        reason: str,
    ) -> None:
        self._log.append(
            session,
            Event(
                action=action,
                outcome=Outcome.ALLOWED,
                case_id=case.id,
                object_ids=object_ids,
                subject_pseudonyms=CaseRepository(session).pseudonyms_of_case(case.id),
                reason=reason,
                policy_version=policy_version,
            ),
            actor=viewer.actor,
            request=viewer.request,
        )


def _takes_part(case: CaseInput, partner: str, user: str | None) -> bool:
    """Whether `partner` (and the named `user`) takes part in the case: an invited partner
    (a named professional among its named users, when users are named) or a regisseur."""
    for regisseur in (case["procesregisseur"], case["casusregisseur"]):
        if (
            regisseur is not None
            and regisseur["partner"] == partner
            and user in (None, regisseur["user"])
        ):
            return True
    invitation = case["participants"].get(partner)
    if invitation is None:
        return False
    named = invitation["users"]
    return not named or (user is not None and user in named)


def _item_out(
    item: MeetingItem,
    invitees: Sequence[MeetingInvitee],
    decisions: Sequence[MeetingMinutes],
) -> ItemOut:
    return ItemOut(
        id=item.id,
        position=item.position,
        case_id=item.case_id,
        case_reference=case_reference(item.case_id),
        invitees=[
            InviteeOut(
                partner=i.partner_id,
                user=i.user or None,
                attendance=Attendance(i.attendance) if i.attendance else None,
            )
            for i in invitees
        ],
        decisions=[
            DecisionOut(id=d.id, code=DecisionCode(d.decision_code))
            for d in decisions
            if d.decision_code is not None
        ],
    )


def _meeting_out(meeting: Meeting, items: list[ItemOut]) -> MeetingOut:
    return MeetingOut(
        id=meeting.id,
        table=TableId(meeting.table_id),
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        location=meeting.location,
        video_link=meeting.video_link,
        chair=Chair(
            partner=meeting.chair_partner,
            user=meeting.chair_user,
            role=ChairRole(meeting.chair_role),
        ),
        status=meeting.status,
        items=items,
    )
