"""API models of the auditor's tools. Entries hold ids and pseudonyms, never content."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class CheckpointOut(BaseModel):
    tree_size: int
    root_hash: str = Field(description="hex")
    note: str = Field(description="C2SP signed note (tlog-checkpoint)")
    verifier_key: str
    signed_at: datetime


class InclusionProofOut(BaseModel):
    seq: int
    tree_size: int
    leaf_hash: str
    proof: list[str]
    checkpoint: CheckpointOut


class ConsistencyProofOut(BaseModel):
    old_size: int
    new_size: int
    proof: list[str]


class EntryOut(BaseModel):
    seq: int
    time: datetime
    actor_partner: str | None
    actor_partner_kind: str | None
    actor_user: str | None
    actor_roles: list[str]
    action: str
    purpose: str | None
    case_id: str | None
    subject_pseudonyms: list[str]
    object_ids: list[str]
    disclosed: dict[str, list[str]]
    outcome: str
    reason: str | None
    policy_version: str | None
    request_id: str | None
    source: str | None
    fact_subjects: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Entry format v2 (ADR 0403): for each fact the entry names, the "
        "pseudonyms of the subjects it concerns; empty for other entries and older ones.",
    )
    count: int | None = Field(
        default=None,
        description="Entry format v3 (ADR 0404): how many identical refusals this one entry "
        "stands for (repeated from one source in one minute); null for an entry of one act.",
    )
    leaf_hash: str


class EntryPage(BaseModel):
    entries: list[EntryOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page.")


class SubjectIdentifiers(BaseModel):
    """A person, by BSN or by name and date of birth; never put these in a URL."""

    model_config = ConfigDict(extra="forbid")

    bsn: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None


class SubjectQuery(SubjectIdentifiers):
    cursor: int | None = Field(default=None, ge=-1)
    limit: int = Field(default=100, ge=1, le=1000)
