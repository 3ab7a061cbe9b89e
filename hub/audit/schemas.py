"""API models of the auditor's tools. Entries hold ids and pseudonyms, never content."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from hub.audit.models import Checkpoint


class CheckpointOut(BaseModel):
    tree_size: int
    root_hash: str = Field(description="hex")
    note: str = Field(description="C2SP signed note (tlog-checkpoint)")
    verifier_key: str
    signed_at: datetime

    @classmethod
    def of(cls, checkpoint: Checkpoint, verifier_key: str) -> CheckpointOut:
        return cls(
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash.hex(),
            note=checkpoint.note,
            verifier_key=verifier_key,
            signed_at=checkpoint.signed_at,
        )


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


class InclusionCheckOut(BaseModel):
    """The hub's own check of an entry's inclusion proof (hub/audit/proof_check.py)."""

    ok: bool
    tree_size: int | None = Field(description="The size the signed checkpoint states.")
    problem: str | None = Field(
        description="What failed first: entry_changed, entry_invalid, signature, other_log, "
        "checkpoint_mismatch or proof; null when the check passed."
    )


class EntryDetailOut(BaseModel):
    """One entry, its inclusion proof in a signed checkpoint, and the result of checking it
    (recomputed leaf hash, checkpoint signature under the hub's verifier key, Merkle path)."""

    entry: EntryOut
    inclusion: InclusionProofOut
    check: InclusionCheckOut


class VerificationOut(BaseModel):
    """A live verification of the whole log, as its own log entry records it."""

    seq: int = Field(description="The log entry that records this verification.")
    time: datetime
    ok: bool
    entries_checked: int | None
    checkpoints_checked: int | None
    first_broken_seq: int | None
    actor_partner: str | None
    actor_user: str | None


class LogStatusOut(BaseModel):
    size: int = Field(description="Entries in the log.")
    checkpoint: CheckpointOut | None = Field(description="The newest signed checkpoint.")
    checkpoint_age_s: int | None
    last_verification: VerificationOut | None
    cosigners: list[str] = Field(
        description="Key names of witnesses that cosigned the newest checkpoint (issue 21)."
    )


# -- witnesses and log keys (ADR 0406) ----------------------------------------------------------


class WitnessViewOut(BaseModel):
    """What a witness fetches before it cosigns."""

    tree_size: int
    note: str = Field(description="The newest checkpoint, with the cosignatures so far.")
    old_size: int = Field(description="The size the consistency proof starts from.")
    proof: list[str] = Field(description="Consistency proof old_size -> tree_size, hex.")
    key_lists: list[str] = Field(
        description="The log's signed key lists, oldest first (none before a key rotation)."
    )


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cosignature: str = Field(
        max_length=1000,
        description="One C2SP tlog-cosignature line: '— <name> <base64>' (cosignature/v1).",
    )


class CosignedCheckpointOut(BaseModel):
    tree_size: int
    note: str = Field(description="The checkpoint with every cosignature the hub holds.")


class WitnessKeyRotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: str = Field(
        max_length=4096,
        description="vhhub-witness-key-rotation/v1 statement signed by the old and new key.",
    )


class WitnessKeyRotationOut(BaseModel):
    accepted: bool


class LogKeysOut(BaseModel):
    verifier_key: str = Field(description="The current checkpoint verifier key.")
    key_lists: list[str] = Field(description="Signed key lists, oldest first.")
    witness_keys: list[str] = Field(description="Registered witness keys in use (vkeys).")
    witness_rotations: list[str] = Field(
        description="Witness key rotation statements, each signed by the old and new key."
    )
