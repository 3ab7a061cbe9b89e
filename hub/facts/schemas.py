"""API models for publishing facts. Content is validated against its fact-type schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.vocabulary import DisclosureLevel

_KEY = r"^[A-Za-z0-9._:-]{1,128}$"

#: Legal bases a publisher names for sharing (Handvat gegevensdeling ZVH 2017/2020).
LEGAL_BASIS_PATTERN = (
    r"^(avg_6_1_[a-f]|avg_9_2_[a-j]|avg_10|wpg_(art_)?\d+[a-z]?|wjsg_(art_)?\d+[a-z]?"
    r"|jeugdwet_[0-9_.a-z]+|wmo_[0-9_.a-z]+|participatiewet_[0-9_.a-z]+|convenant_zvh)$"
)


class FactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(
        pattern=_KEY,
        description="Chosen by the publisher; a retry with the same key creates nothing twice.",
    )
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+/\d+$", examples=["police.incident/1"])
    subject_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{1,36}$",
        description="The case subject it concerns; null = the case.",
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
    model_config = ConfigDict(extra="forbid")

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
