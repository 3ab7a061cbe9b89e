"""API and storage models of the integral analysis and the plan of approach.

Every incoming model forbids unknown keys and bounds every string and list, so a body is
either a plan or a 400 that names the place, never the value. `PlanDocument` is the sealed
form (schema id ``plan/1``): the door validates what it decrypts against it, so a stored
document that does not fit is an integrity error, not a half-shown plan.

Every text-bearing part (an analysis, the risk assessment, a goal, an intervention, a
monitoring note) carries a life domain and a sensitivity: the policy decides per part, as a
plan-note fact (schemas/plan.note*.1.json), who reads its text (ADR 0007). In the sealed
document both are optional, so versions recorded before parts carried them still open; a
new version must name the life domain of every part.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hub.vocabulary import LifeDomain, Sensitivity

#: The sealed document's schema id; part of the ciphertext's associated data.
PLAN_SCHEMA = "plan/1"
NOTE_SCHEMA = "plan_note/1"

#: Ids the casusregisseur chooses for goals and interventions: short labels ("g1",
#: "i-3"), not text, because they appear in URLs and clear columns never hold them.
LocalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
FactId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,36}$")]
PartnerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


# stripped, non-empty and bounded: a 400 names the bound, never the value
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
    #: handed over to another organisation or chain outside this case (with a note why)
    HANDED_OVER = "handed_over"


#: statuses that end an intervention: a case closes only when all its interventions have one
ENDED_STATUSES = frozenset(
    {InterventionStatus.DONE, InterventionStatus.STOPPED, InterventionStatus.HANDED_OVER}
)
#: statuses a monitoring note must explain (why it stopped, to whom it was handed over)
EXPLAINED_STATUSES = frozenset({InterventionStatus.STOPPED, InterventionStatus.HANDED_OVER})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- the document (what the casusregisseur writes, and what is sealed) -------------------------


SENSITIVITY_DESCRIPTION = (
    "How sensitive the text is: ordinary, special (AVG art. 9, e.g. health) or criminal "
    "(AVG art. 10). Default ordinary; an analysis is at least as sensitive as the facts it "
    "cites. The policy caps special and criminal text for partners without the task for it."
)
DOMAIN_DESCRIPTION = (
    "The life domain the text is about: the disclosure matrix decides per domain who reads "
    "it (the text at level full; the domain itself is always shown)."
)


class DomainAnalysis(Strict):
    """The problem analysis of one life domain: an assessment and the facts it rests on.

    Facts are referenced by id, never copied: a reader sees their content only through the
    briefing, under the disclosure policy, so the plan cannot become a side door."""

    life_domain: LifeDomain = Field(description=DOMAIN_DESCRIPTION)
    assessment: AssessmentText
    fact_ids: list[FactId] = Field(default_factory=list, max_length=MAX_FACT_REFS)
    sensitivity: Sensitivity | None = Field(default=None, description=SENSITIVITY_DESCRIPTION)


class RiskAssessment(Strict):
    level: RiskLevel
    assessment: AssessmentText
    #: None only in versions recorded before parts carried a life domain
    life_domain: LifeDomain | None = Field(default=None, description=DOMAIN_DESCRIPTION)
    sensitivity: Sensitivity | None = Field(default=None, description=SENSITIVITY_DESCRIPTION)


class Goal(Strict):
    id: LocalId
    text: GoalText
    life_domain: LifeDomain | None = Field(default=None, description=DOMAIN_DESCRIPTION)
    sensitivity: Sensitivity | None = Field(default=None, description=SENSITIVITY_DESCRIPTION)


class Intervention(Strict):
    id: LocalId
    text: InterventionText
    owner: PartnerId = Field(
        description="Partner id responsible for the intervention: a participant partner of "
        "the case or the casusregisseur's partner. The owner always reads its intervention, "
        "the intervention's goal and its monitoring notes."
    )
    owner_user: UserId | None = Field(
        default=None,
        description="The named professional of the owner partner who carries it out (their "
        "pseudonymous user id, as in invitations); the intervention then shows in their "
        "caseload.",
    )
    deadline: date
    status: InterventionStatus = InterventionStatus.PLANNED
    goal_id: LocalId | None = None
    life_domain: LifeDomain | None = Field(default=None, description=DOMAIN_DESCRIPTION)
    sensitivity: Sensitivity | None = Field(default=None, description=SENSITIVITY_DESCRIPTION)


class PlanDocument(Strict):
    """The sealed content of one plan version (schema ``plan/1``)."""

    analysis: list[DomainAnalysis] = Field(default_factory=list, max_length=len(LifeDomain))
    risk: RiskAssessment
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS)
    interventions: list[Intervention] = Field(default_factory=list, max_length=MAX_INTERVENTIONS)


# -- what a writer sends: the same, with a life domain on every part --------------------------


class RiskIn(RiskAssessment):
    life_domain: LifeDomain = Field(description=DOMAIN_DESCRIPTION)


class GoalIn(Goal):
    life_domain: LifeDomain = Field(description=DOMAIN_DESCRIPTION)


class InterventionIn(Intervention):
    life_domain: LifeDomain = Field(description=DOMAIN_DESCRIPTION)


class PlanIn(Strict):
    """A new version of the plan, based on the revision the writer last read."""

    analysis: list[DomainAnalysis] = Field(default_factory=list, max_length=len(LifeDomain))
    risk: RiskIn
    goals: list[GoalIn] = Field(default_factory=list, max_length=MAX_GOALS)
    interventions: list[InterventionIn] = Field(default_factory=list, max_length=MAX_INTERVENTIONS)
    based_on_revision: int = Field(
        ge=0,
        le=1_000_000,
        description="The plan revision you last read (0 when there is no plan yet). If the "
        "plan changed since (a new version or a status change), nothing is stored and the "
        "answer is 409: read it again and reapply your changes.",
    )


class NoteDocument(Strict):
    """The sealed content of one monitoring note (schema ``plan_note/1``). Life domain and
    sensitivity are those of the note's intervention unless the reporter named others; notes
    recorded before notes carried them take the intervention's at read time."""

    intervention_id: LocalId
    status: InterventionStatus
    note: NoteText | None = None
    life_domain: LifeDomain | None = None
    sensitivity: Sensitivity | None = None


class StatusChangeIn(Strict):
    status: InterventionStatus
    note: NoteText | None = Field(
        default=None,
        description="What happened; read by the casusregisseur, the intervention's owner and "
        "the members the policy gives its life domain at level full.",
    )
    life_domain: LifeDomain | None = Field(
        default=None, description="The note's life domain; default the intervention's."
    )
    sensitivity: Sensitivity | None = Field(
        default=None,
        description="The note's sensitivity; default the intervention's. "
        + SENSITIVITY_DESCRIPTION,
    )

    @model_validator(mode="after")
    def _explained(self) -> StatusChangeIn:
        # a stopped or handed-over intervention ends without being done: the table must be
        # able to read why (and to whom it went), so the note is required
        if self.status in EXPLAINED_STATUSES and not (self.note and self.note.strip()):
            raise ValueError("a stopped or handed-over intervention needs a note saying why")
        return self


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


class PartOut(BaseModel):
    """What every text-bearing part of a read says about its own release."""

    life_domain: LifeDomain | None = Field(
        description="The part's life domain (null only in versions recorded before parts "
        "carried one)."
    )
    sensitivity: Sensitivity | None = Field(
        description="The text's sensitivity; null when the text was not released to you."
    )
    released: bool = Field(
        description="Whether the policy released this part's text to you. If not, the text "
        "is a placeholder saying which life domain's text was not shared."
    )
    reason: str = Field(description="The policy's reason for what you see of this part.")


class MonitoringNoteOut(PartOut):
    id: str
    status: InterventionStatus
    note: str | None
    recorded_by: RecordedBy
    recorded_at: datetime


class InterventionOut(PartOut):
    id: str
    text: str
    owner: str
    #: the named professional who carries it out, when the plan names one (pseudonymous id)
    owner_user: str | None = None
    deadline: date
    goal_id: str | None
    status: InterventionStatus = Field(
        description="The current status: the latest monitoring note's, else as recorded."
    )
    recorded_status: InterventionStatus = Field(description="The status this version recorded.")
    monitoring: list[MonitoringNoteOut] = Field(
        description="Status changes reported against this version, oldest first."
    )


class GoalOut(PartOut):
    id: str
    text: str


class RiskOut(PartOut):
    level: RiskLevel
    assessment: str


class DomainAnalysisOut(PartOut):
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
    risk: RiskOut
    goals: list[GoalOut]
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
