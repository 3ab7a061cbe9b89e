"""API models of the case workflow. Subject identifiers go in, never come back out."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from hub.vocabulary import CaseKind, Phase, TableId

_ID = r"^[A-Za-z0-9._-]{1,64}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectIn(Strict):
    """A betrokkene: at least a BSN or a name with date of birth, for the blind index."""

    role_in_case: str = Field(pattern=r"^[a-z_]{1,32}$", examples=["parent", "child"])
    bsn: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None


class CaseIn(Strict):
    kind: CaseKind
    proposed_table: TableId
    reason: str = Field(min_length=1, max_length=4000, description="Reden van aanmelding.")
    subjects: list[SubjectIn] = Field(default_factory=list, max_length=50)


class SubjectOut(BaseModel):
    id: str
    role_in_case: str


class ParticipantOut(BaseModel):
    id: str
    partner: str
    partner_kind: str
    user: str | None
    invited_at: datetime


class RegisseurOut(BaseModel):
    partner: str
    user: str


class CaseOut(BaseModel):
    id: str
    kind: CaseKind
    proposed_table: TableId
    table: TableId | None
    phase: Phase
    status: str
    registered_by: str
    registered_at: datetime
    procesregisseur: RegisseurOut | None
    casusregisseur: RegisseurOut | None
    subjects: list[SubjectOut]
    participants: list[ParticipantOut]
    triage: dict[str, object] | None
    outcome: str | None
    closed_at: datetime | None
    retention_until: datetime | None


class ScreeningIn(Strict):
    """Identifiers to screen; empty means: the case's own subjects."""

    subjects: list[SubjectIn] = Field(default_factory=list, max_length=50)


class ScreeningHit(BaseModel):
    subject: str = Field(description="The case subject id, or the position in the request.")
    known: bool
    partner_kinds: list[str] = Field(description="Partner kinds holding facts or signals.")
    open_case_elsewhere: bool


class ScreeningOut(BaseModel):
    case_id: str
    results: list[ScreeningHit]


class TriageCriteria(Strict):
    """The criteria of the Landelijk kader Veiligheidshuizen (2013) for complex problems."""

    multiple_life_domains: bool
    criminal_or_nuisance_behaviour: bool
    multiple_chains_needed: bool
    impact_on_system_or_environment: bool
    area_bound_safety_problem: bool = False


class TriageIn(Strict):
    criteria: TriageCriteria
    decision: str = Field(pattern="^(accept|reject)$")
    table: TableId | None = None
    reason_code: str | None = Field(default=None, pattern=r"^[a-z_]{1,48}$")


class InvitationIn(Strict):
    partner: str = Field(pattern=_ID)
    user: str | None = Field(default=None, pattern=_ID)


class RegisseurIn(Strict):
    partner: str = Field(pattern=_ID)
    user: str = Field(pattern=_ID)


class PhaseChangeIn(Strict):
    to: Phase


class ClosureIn(Strict):
    outcome: str = Field(pattern=r"^[a-z_]{1,32}$", examples=["plan_completed", "handed_back"])


class AgendaIn(Strict):
    case_id: str = Field(pattern=_ID)
    meeting_date: date


class AgendaItemOut(BaseModel):
    case_id: str
    table: TableId
    meeting_date: date
    phase: Phase
