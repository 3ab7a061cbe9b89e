"""Writing to the transactional outbox: the one call a use case makes to announce a change.

`record` adds a row to the caller's session, so the announcement commits or rolls back with
the change itself (ADR 0019): no event for a change that did not happen, no change whose
event can be lost between a commit and a send. It holds ids and a kind, never content.

This module imports nothing of the hub but the models, so every feature can call it
without an import cycle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy.orm import Session

from hub.notifications.models import OutboxEvent


class EventKind(StrEnum):
    """What a partner can be told; the CloudEvents `type` is ``nl.vhhub.case.<kind>``."""

    FACTS_RELEASED = "facts-released"
    PHASE_CHANGED = "phase-changed"
    INVITATION = "invitation"
    MEETING = "meeting"
    INTERVENTION_DUE = "intervention-due"

    @property
    def cloudevent_type(self) -> str:
        return f"nl.vhhub.case.{self.value}"


def record(
    session: Session,
    kind: EventKind,
    case_id: str,
    object_ids: Sequence[str] = (),
    *,
    audience: str | None = None,
    actor_partner: str | None = None,
) -> None:
    """Announce a change in the caller's unit of work (ids only).

    `audience` limits the event to one partner (the invited one, an intervention's owner);
    `actor_partner` is not told of its own act. Who else is told, and whether at all, is
    decided at delivery, by the participation and the policy of that moment."""
    session.add(
        OutboxEvent(
            id=str(uuid.uuid4()),
            kind=kind.value,
            case_id=case_id,
            object_ids=json.dumps(sorted(set(object_ids))),
            audience=audience,
            actor_partner=actor_partner,
            fanned_out=False,
        )
    )
