"""A case conference as an iCalendar file (RFC 5545), per viewer (ADR 0013).

One VEVENT: a UID stable per meeting, start and end in UTC, the room or the video link, the
summary "Casusoverleg <table>", and a description that lists only the short references of
the cases this viewer may read. No names, no reasons, no subjects, no minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event

#: the product id the file names as its producer
PRODID = "-//vhhub//casusoverleg//NL"


def meeting_calendar(
    *,
    meeting_id: str,
    table_name: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str | None,
    video_link: str | None,
    case_references: Sequence[str],
    stamp: datetime,
    domain: str,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"meeting-{meeting_id}@{domain}")
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", f"Casusoverleg {table_name}")
    if location is not None:
        event.add("location", location)
    if video_link is not None:
        event.add("url", video_link)
        event.add("location", video_link)
    lines = ["Casussen (referentie):", *(f"- {ref}" for ref in case_references)]
    if not case_references:
        lines = ["Geen casussen die u mag inzien."]
    event.add("description", "\n".join(lines))
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
