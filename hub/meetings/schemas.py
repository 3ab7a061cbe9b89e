"""Request and response bodies of case conferences (ADR 0013)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from hub.vocabulary import LifeDomain, Sensitivity, TableId

#: a partner id or a user pseudonym, as elsewhere in the API
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
#: the years a meeting may be in: a typing error (0001, 9999) is refused at the edge, never
#: carried into time-zone arithmetic that overflows at the ends of the calendar
EARLIEST_YEAR: Final = 2000
LATEST_YEAR: Final = 2100
#: the text of a minutes part or a decision (sealed)
MinutesText = Annotated[str, Field(min_length=1, max_length=8000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChairRole(StrEnum):
    PROCESREGISSEUR = "procesregisseur"
    CASUSREGISSEUR = "casusregisseur"


class Attendance(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    EXCUSED = "excused"


class DecisionCode(StrEnum):
    """What the table decided about a case (a closed vocabulary; any text is sealed)."""

    DRAW_UP_PLAN = "draw_up_plan"  # een plan van aanpak opstellen
    GATHER_INFORMATION = "gather_information"  # eerst meer informatie verzamelen
    ASSIGN_CASUSREGISSEUR = "assign_casusregisseur"  # casusregie beleggen
    REFER_TO_PARTNER = "refer_to_partner"  # overdragen aan een partner (regulier)
    ESCALATE = "escalate"  # opschalen (bestuurlijk of naar het OM)
    DISCUSS_AGAIN = "discuss_again"  # opnieuw bespreken
    CLOSE_CASE = "close_case"  # de casus afsluiten


class Chair(Strict):
    partner: Name
    user: Name
    role: ChairRole


class MeetingIn(Strict):
    table: TableId
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="A room; never a subject's address. Give this or video_link."
    )
    video_link: Annotated[str, Field(max_length=500, pattern=r"^https://[^\s]+$")] | None = Field(
        default=None, description="An https link to the video meeting."
    )
    chair: Chair

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _plausible_year(cls, value: datetime) -> datetime:
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            # a fixed text without the input: the problem body may name it (hub.http)
            raise PydanticCustomError(
                "year_out_of_range",
                f"a meeting must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}",
            )
        return value

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.location is None) == (self.video_link is None):
            raise ValueError("give exactly one of location and video_link")
        if self.ends_at <= self.starts_at:
            raise ValueError("the meeting must end after it starts")
        return self


class ItemIn(Strict):
    case_id: Annotated[str, Field(min_length=1, max_length=36)]


class InviteeIn(Strict):
    partner: Name
    user: Name | None = Field(default=None, description="A named professional; none: the partner")


class AttendanceEntry(Strict):
    partner: Name
    user: Name | None = None
    status: Attendance


class AttendanceIn(Strict):
    attendance: list[AttendanceEntry] = Field(min_length=1, max_length=50)


class MinutesPartIn(Strict):
    life_domain: LifeDomain
    sensitivity: Sensitivity = Sensitivity.ORDINARY
    text: MinutesText


class DecisionIn(Strict):
    code: DecisionCode
    life_domain: LifeDomain | None = Field(
        default=None, description="Needed with a text: the text is released per life domain."
    )
    sensitivity: Sensitivity = Sensitivity.ORDINARY
    text: MinutesText | None = None

    @model_validator(mode="after")
    def _domain_with_text(self) -> Self:
        if self.text is not None and self.life_domain is None:
            raise ValueError("a decision's text needs its life domain")
        return self


class MinutesIn(Strict):
    parts: list[MinutesPartIn] = Field(default_factory=list, max_length=len(LifeDomain) * 4)
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.parts and not self.decisions:
            raise ValueError("record at least one minutes part or decision")
        return self


class InviteeOut(BaseModel):
    partner: str
    user: str | None
    attendance: Attendance | None


class DecisionOut(BaseModel):
    id: str
    code: DecisionCode


class ItemOut(BaseModel):
    id: str
    position: int
    case_id: str
    case_reference: str
    invitees: list[InviteeOut]
    decisions: list[DecisionOut]


class MeetingOut(BaseModel):
    id: str
    table: TableId
    starts_at: datetime
    ends_at: datetime
    location: str | None
    video_link: str | None
    chair: Chair
    status: str
    #: only the cases this viewer may read; other cases on the meeting are left out
    items: list[ItemOut]


class MinutesRecorded(BaseModel):
    item_id: str
    part_ids: list[str]
    decision_ids: list[str]


class MinutesPartOut(BaseModel):
    id: str
    kind: str
    decision_code: DecisionCode | None
    life_domain: LifeDomain | None
    released: bool
    sensitivity: Sensitivity | None
    text: str | None
    reason: str
    recorded_by_partner: str
    recorded_at: datetime


class MinutesOut(BaseModel):
    meeting_id: str
    item_id: str
    case_id: str
    parts: list[MinutesPartOut]
