"""API models of each partner's own access log (ADR 0405)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hub.audit.schemas import CheckpointOut

_ENTRY_EXAMPLE: dict[str, Any] = {
    "seq": 41,
    "time_us": 1764945900000000,
    "action": "briefing.read",
    "outcome": "allowed",
    "actor_partner": "gemeente",
    "actor_partner_kind": "municipality",
    "actor_user": None,
    "actor_roles": ["participant"],
    "purpose": "case_conference",
    "case_id": "3f2b1c4e-8d7a-4b6e-9c1d-2a3b4c5d6e7f",
    "subject_pseudonyms": ["b1x5K3..."],
    "object_ids": ["6a1d1c0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"],
    "disclosed": {"6a1d1c0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e": ["summary"]},
    "reason": "policy:summary",
    "policy_version": "sha256:9f86d081884c7d65",
    "request_id": "4bf92f3577b34da6a3ce929d0e0e4736.00f067aa0ba902b7",
    "source": None,
}


class PartnerLogRecord(BaseModel):
    """One access-log entry as the viewing partner may see it, with its inclusion proof."""

    seq: int
    role: list[str] = Field(
        description="Why this entry is in your log: `actor` (your user acted) and/or "
        "`source` (it names a fact you published).",
        examples=[["source"]],
    )
    redacted: bool = Field(
        description="True when fields naming other partners' facts or users were removed. "
        "The leaf hash and proof are those of the full entry; only an unredacted entry can "
        "be re-hashed from `entry` (ADR 0405)."
    )
    redacted_fields: list[str] = Field(
        default_factory=list, description="The entry keys whose values were narrowed."
    )
    entry: dict[str, Any] = Field(
        description="The entry in the export form of ADR 0401 (`time_us`, every key), "
        "possibly narrowed as `redacted_fields` says.",
        examples=[_ENTRY_EXAMPLE],
    )
    leaf_hash: str = Field(description="The full entry's RFC 6962 leaf hash (hex).")
    proof: list[str] = Field(description="Inclusion proof (hex hashes) up to `tree_size`.")
    tree_size: int = Field(description="Size of the signed checkpoint the proof leads to.")


class PartnerLogPage(BaseModel):
    """A page of your own access log: every record with its proof against one checkpoint."""

    partner: str
    records: list[PartnerLogRecord]
    checkpoint: CheckpointOut = Field(
        description="The signed checkpoint every proof of this page leads to."
    )
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class PartnerLogEntryOut(PartnerLogRecord):
    """One entry of your own log: the record, its proof and the signed checkpoint (the file
    `vhhub receipt verify --proof` reads)."""

    checkpoint: CheckpointOut
