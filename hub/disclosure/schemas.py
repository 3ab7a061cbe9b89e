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


class Updates(BaseModel):
    case_id: str
    cursor: int
    next_cursor: int
    has_more: bool
    facts: list[ReleasedFact]
    existence: list[ExistenceNote]
    removed: list[str] = Field(description="Facts you saw that were corrected or withdrawn.")
    policy_version: str
