"""API models for publishing facts. Content is validated against its fact-type schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from hub.vocabulary import DisclosureLevel

_KEY = r"^[A-Za-z0-9._:-]{1,128}$"
_SUBJECT_ID = r"^[A-Za-z0-9-]{1,36}$"
#: A household is a few people; a fact about more than this many is about the whole case.
MAX_SUBJECTS_PER_FACT = 20

#: Legal bases a publisher names for sharing (Handvat gegevensdeling ZVH 2017/2020).
LEGAL_BASIS_PATTERN = (
    r"^(avg_6_1_[a-f]|avg_9_2_[a-j]|avg_10|wpg_(art_)?\d+[a-z]?|wjsg_(art_)?\d+[a-z]?"
    r"|jeugdwet_[0-9_.a-z]+|wmo_[0-9_.a-z]+|participatiewet_[0-9_.a-z]+|convenant_zvh)$"
)


#: a publish as a police application sends it (the content is `schemas/examples`' incident)
_FACT_EXAMPLE: dict[str, Any] = {
    "idempotency_key": "politie-2026-000123",
    "type": "police.incident/1",
    "subject_ids": ["9b2f3c1e-0d4a-4c55-9a57-3f1f7f0e2a11"],
    "legal_basis": "wpg_art_19",
    "shareable": False,
    "content": {
        "incident_date": "2026-11-14",
        "incident_category": "domestic_violence",
        "subject_role": "suspect",
        "registration_kind": "crime_report",
        "status": "sent_to_prosecution",
        "weapon_involved": False,
        "substance_use_involved": True,
        "area": "Leiden, Stevenshof",
        "description": "Ruzie in de woning liep uit de hand; aangifte door huisgenoot.",
    },
}


class FactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_FACT_EXAMPLE]})

    idempotency_key: str = Field(
        pattern=_KEY,
        description="Chosen by the publisher; a retry with the same key creates nothing twice.",
    )
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+/\d+$", examples=["police.incident/1"])
    subject_ids: list[Annotated[str, Field(pattern=_SUBJECT_ID)]] | None = Field(
        default=None,
        max_length=MAX_SUBJECTS_PER_FACT,
        description="The subjects of the case this fact concerns: one, or several members of "
        "a household (ids from the case's `subjects`, each at most once). Absent, null or "
        "empty: the fact concerns the whole case, i.e. every subject of it. Each person's "
        "data-subject access report lists only acts on facts that concern them.",
        examples=[["9b2f3c1e-0d4a-4c55-9a57-3f1f7f0e2a11"]],
    )
    subject_id: str | None = Field(
        default=None,
        pattern=_SUBJECT_ID,
        # deprecated in the OpenAPI document only: reading it must not warn in the service
        json_schema_extra={"deprecated": True},
        description="Deprecated: use `subject_ids`. One subject the fact concerns; the same as "
        "`subject_ids: [subject_id]`. Giving both is refused (400).",
    )
    legal_basis: str = Field(pattern=LEGAL_BASIS_PATTERN, examples=["wpg_art_19", "avg_6_1_e"])
    shareable: bool = Field(
        default=False,
        description="Special-category details may go "
        "beyond summary to police/OM (publisher's explicit choice).",
    )
    content: dict[str, Any]


class FactBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: list[FactIn] = Field(min_length=1, max_length=500)


class CorrectionIn(BaseModel):
    """The whole corrected content of your fact (its type stays), as a new version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "content": {**_FACT_EXAMPLE["content"], "status": "closed_no_further_action"},
                    "shareable": False,
                }
            ]
        },
    )

    content: dict[str, Any]
    shareable: bool | None = None


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(pattern=r"^[a-z_]{1,48}$", examples=["published_in_error"])


class PublishedFact(BaseModel):
    id: str
    idempotency_key: str
    type: str
    version: int
    status: str
    created: bool = Field(description="False when an earlier request already created it.")
    subject_ids: list[str] = Field(
        default_factory=list,
        description="The subjects the fact concerns; empty: the whole case.",
    )
    receipt: str | None = Field(
        default=None,
        description="The hub's signed receipt of this act (ADR 0405): a compact JWS "
        "(EdDSA, `typ` vhhub-receipt+jws) signed with the access log's key, naming the fact, "
        "its version, a keyed digest of the content as received and the access-log entry "
        "(seq, leaf hash). A retry answers with the original receipt. Check it offline "
        "with `vhhub receipt verify`. Null only for facts published before receipts existed.",
    )
    receipt_salt: str | None = Field(
        default=None,
        description="The 32-byte key (base64url) of the receipt's `content_digest` "
        "(HMAC-SHA256 over the RFC 8785 canonical JSON of `content`). Handed out once, in the "
        "answer that created the receipt, and kept by nobody else: keep it with the content "
        "to prove what you sent. Null on a retry and for a withdrawal.",
    )


class PublishOut(BaseModel):
    case_id: str
    facts: list[PublishedFact]


class FactMeta(BaseModel):
    """What a briefing entry says about a fact besides its released fields."""

    id: str
    type: str
    life_domain: str
    sensitivity: str
    publisher: str
    publisher_kind: str
    published_at: datetime
    version: int
    level: DisclosureLevel
    fields: dict[str, Any]
    withheld_fields: list[str]
    reason: str
