"""What a viewer receives: released facts grouped by life domain, with the policy's reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub.vocabulary import DisclosureLevel, Purpose


class ReleasedFact(BaseModel):
    id: str
    type: str
    title: str
    life_domain: str
    sensitivity: str
    publisher: str
    publisher_kind: str
    subject_id: str | None
    published_at: datetime
    version: int
    level: DisclosureLevel
    fields: dict[str, Any]
    withheld_fields: list[str] = Field(description="Fields of this type you do not see.")
    reason: str
    rule: str


class ExistenceNote(BaseModel):
    """Only this: partner kind X holds information on life domain D."""

    publisher_kind: str
    life_domain: str
    reason: str


class DomainSection(BaseModel):
    life_domain: str
    facts: list[ReleasedFact]
    existence: list[ExistenceNote]


class Briefing(BaseModel):
    case_id: str
    table: str | None
    phase: str
    purpose: Purpose
    policy_version: str
    log_seq: int = Field(description="The access-log entry that records this disclosure.")
    domains: list[DomainSection]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page of this briefing; null on the last "
        "page. Each page is its own disclosure with its own access-log entry (`log_seq`).",
    )


class Updates(BaseModel):
    case_id: str
    cursor: str = Field(description="The cursor this page started from (`0`: the start).")
    next_cursor: str = Field(
        description="Where the next read starts: the next page while `has_more`, and after "
        "the last page the point to poll from later. Opaque; pass it back as `cursor`."
    )
    has_more: bool
    facts: list[ReleasedFact]
    existence: list[ExistenceNote]
    removed: list[str] = Field(description="Facts you saw that were corrected or withdrawn.")
    policy_version: str
