"""What a viewer receives: released facts grouped by life domain, with the policy's reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.vocabulary import DisclosureLevel, Purpose


class ReleasedFact(BaseModel):
    """A fact as the policy releases it to this viewer: `fields` holds only the fields of
    its level; `reason` and `rule` say why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0d6c2a8e-3f41-4b8e-9a31-5c7f2e1d9b40",
                    "type": "police.incident/1",
                    "title": "Politie: incident of strafbaar feit",
                    "life_domain": "safety",
                    "sensitivity": "criminal",
                    "publisher": "politie",
                    "publisher_kind": "police",
                    "subject_id": "9b2f3c1e-0d4a-4c55-9a57-3f1f7f0e2a11",
                    "published_at": "2026-11-14T10:02:00Z",
                    "version": 1,
                    "level": "summary",
                    "fields": {
                        "incident_date": "2026-11-14",
                        "incident_category": "domestic_violence",
                    },
                    "withheld_fields": ["description", "area"],
                    "reason": "At the domestic_violence table in the case_conference phase the "
                    "disclosure matrix gives housing summary on safety facts (profile housing).",
                    "rule": "matrix_grant",
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "publisher_kind": "mental_health",
                    "life_domain": "health",
                    "reason": "The disclosure matrix tells this viewer only that health "
                    "information exists at this partner kind.",
                }
            ]
        }
    )

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
