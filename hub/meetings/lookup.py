"""Finding a meeting and an item, with the logged 404 an unknown id gets (ADR 0013)."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Event
from hub.errors import NotFound
from hub.identity.viewer import Viewer
from hub.ids import plausible_id
from hub.meetings.models import Meeting, MeetingItem, MeetingRepository


def unknown_meeting(session: Session, log: AccessLog, viewer: Viewer) -> NoReturn:
    """The answer to an unknown meeting, and to a meeting the viewer takes no part in."""
    log.append(
        session,
        Event(action=Action.CASE_DENIED, outcome=Outcome.DENIED, reason="unknown meeting"),
        actor=viewer.actor,
        request=viewer.request,
    )
    raise NotFound()


def load_meeting(session: Session, log: AccessLog, viewer: Viewer, meeting_id: str) -> Meeting:
    """The meeting, or the logged 404 of an unknown one (an implausible id is unknown)."""
    meeting = session.get(Meeting, meeting_id) if plausible_id(meeting_id) else None
    if meeting is None:
        unknown_meeting(session, log, viewer)
    return meeting


def load_item(
    session: Session, log: AccessLog, viewer: Viewer, meeting_id: str, item_id: str
) -> tuple[Meeting, MeetingItem]:
    """The meeting and its item, or the logged 404 of an unknown meeting. Whether the viewer
    may act on the item's case is the gate's question, asked next (an outsider then gets
    the same 404)."""
    meeting = load_meeting(session, log, viewer, meeting_id)
    item = MeetingRepository.item(session, meeting.id, item_id) if plausible_id(item_id) else None
    if item is None:
        unknown_meeting(session, log, viewer)
    return meeting, item


def case_reference(case_id: str) -> str:
    """The short reference of a case that an invitee's calendar shows: the first eight
    characters of its id, nothing about the people in it."""
    return case_id[:8]
