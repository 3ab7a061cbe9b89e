"""The subscription API's models (NL API Design Rules: JSON, plural nouns, no extra fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from hub.notifications.outbox import EventKind

#: the CloudEvents types a partner can subscribe to
EVENT_TYPES = tuple(kind.cloudevent_type for kind in EventKind)
MAX_CASES = 100

CaseId = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where the hub POSTs the notifications: one of the callback URLs the "
        "network file allows for your organisation (or a URL under one ending in '/').",
        examples=["https://vhhub-koppeling.politie.example/notifications"],
    )
    types: list[str] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES),
        description="The CloudEvents types to receive: " + ", ".join(EVENT_TYPES) + ".",
        examples=[["nl.vhhub.case.facts-released", "nl.vhhub.case.phase-changed"]],
    )
    case_ids: list[CaseId] | None = Field(
        default=None,
        max_length=MAX_CASES,
        description="Only these cases (each one your organisation takes part in now); "
        "absent: every case your organisation takes part in when a change happens.",
    )


class SubscriptionOut(BaseModel):
    id: str
    callback_url: str
    types: list[str]
    case_ids: list[str] | None
    created_at: datetime
    created_by_user: str
    #: the last `sequence` given to an event of this subscription (0: none yet)
    last_sequence: int


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]
