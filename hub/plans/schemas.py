"""API and storage models of the integral analysis and the plan of approach.

Every incoming model forbids unknown keys and bounds every string and list, so a body is
either a plan or a 422 that names the place, never the value. `PlanDocument` is the sealed
form (schema id ``plan/1``): the door validates what it decrypts against it, so a stored
document that does not fit is an integrity error, not a half-shown plan.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.vocabulary import LifeDomain

#: The sealed document's schema id; part of the ciphertext's associated data.
PLAN_SCHEMA = "plan/1"
NOTE_SCHEMA = "plan_note/1"

#: Ids the casusregisseur chooses for goals and interventions: short labels ("g1",
#: "i-3"), not text, because they appear in URLs and clear columns never hold them.
LocalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
FactId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,36}$")]
PartnerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


# stripped, non-empty and bounded: a 422 names the bound, never the value
AssessmentText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
GoalText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
InterventionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

MAX_FACT_REFS = 100
MAX_GOALS = 50
MAX_INTERVENTIONS = 100


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    ACUTE = "acute"


class InterventionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STOPPED = "stopped"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- the document (what the casusregisseur writes, and what is sealed) -------------------------


class DomainAnalysis(Strict):
    """The problem analysis of one life domain: an assessment and the facts it rests on.

    Facts are referenced by id, never copied: a reader sees their content only through the
    briefing, under the disclosure policy, so the plan cannot become a side door."""

    life_domain: LifeDomain
    assessment: AssessmentText
    fact_ids: list[FactId] = Field(default_factory=list, max_length=MAX_FACT_REFS)


class RiskAssessment(Strict):
    level: RiskLevel
    assessment: AssessmentText


class Goal(Strict):
    id: LocalId
    text: GoalText


class Intervention(Strict):
    id: LocalId
    text: InterventionText
    owner: PartnerId = Field(
        description="Partner id responsible for the intervention: a participant partner of "
        "the case or the casusregisseur's partner."
    )
    deadline: date
    status: InterventionStatus = InterventionStatus.PLANNED
    goal_id: LocalId | None = None


class PlanDocument(Strict):
    """The sealed content of one plan version (schema ``plan/1``)."""

    analysis: list[DomainAnalysis] = Field(default_factory=list, max_length=len(LifeDomain))
    risk: RiskAssessment
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS)
    interventions: list[Intervention] = Field(default_factory=list, max_length=MAX_INTERVENTIONS)


class PlanIn(PlanDocument):
    """A new version of the plan, based on the revision the writer last read."""

    based_on_revision: int = Field(
        ge=0,
        le=1_000_000,
        description="The plan revision you last read (0 when there is no plan yet). If the "
        "plan changed since (a new version or a status change), nothing is stored and the "
        "answer is 409: read it again and reapply your changes.",
    )


class NoteDocument(Strict):
    """The sealed content of one monitoring note (schema ``plan_note/1``)."""

    intervention_id: LocalId
    status: InterventionStatus
    note: NoteText | None = None


class StatusChangeIn(Strict):
    status: InterventionStatus
    note: NoteText | None = Field(
        default=None, description="What happened; read by the case's participants."
    )


# -- answers ---------------------------------------------------------------------------------


class RecordedBy(BaseModel):
    partner: str
    user: str


class PlanVersionOut(BaseModel):
    """A version's metadata: who recorded it and when, never its content."""

    id: str
    case_id: str
    version: int
    recorded_by: RecordedBy
    recorded_at: datetime


class PlanRecorded(PlanVersionOut):
    revision: int = Field(description="The plan's revision after this change.")


class PlanVersionList(BaseModel):
    case_id: str
    revision: int
    versions: list[PlanVersionOut]


class MonitoringNoteOut(BaseModel):
    id: str
    status: InterventionStatus
    note: str | None
    recorded_by: RecordedBy
    recorded_at: datetime


class InterventionOut(BaseModel):
    id: str
    text: str
    owner: str
    deadline: date
    goal_id: str | None
    status: InterventionStatus = Field(
        description="The current status: the latest monitoring note's, else as recorded."
    )
    recorded_status: InterventionStatus = Field(description="The status this version recorded.")
    monitoring: list[MonitoringNoteOut] = Field(
        description="Status changes reported against this version, oldest first."
    )


class DomainAnalysisOut(BaseModel):
    life_domain: LifeDomain
    assessment: str
    fact_ids: list[str]
    stale_fact_ids: list[str] = Field(
        description="Referenced facts that have since been corrected or withdrawn."
    )


class PlanOut(BaseModel):
    id: str = Field(description="The plan version id (named in the access log).")
    case_id: str
    version: int
    latest: bool = Field(description="Whether this is the case's current plan version.")
    revision: int
    recorded_by: RecordedBy
    recorded_at: datetime
    analysis: list[DomainAnalysisOut]
    risk: RiskAssessment
    goals: list[Goal]
    interventions: list[InterventionOut]
    policy_version: str
    log_seq: int = Field(description="The access-log entry that records this read.")


class StatusChangeOut(BaseModel):
    id: str = Field(description="The monitoring note id.")
    case_id: str
    plan_version_id: str
    version: int
    intervention_id: str
    status: InterventionStatus
    revision: int
    recorded_by: RecordedBy
    recorded_at: datetime
