"""API models of the case workflow. Subject identifiers go in, never come back out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.vocabulary import CaseKind, PartnerKind, Phase, TableId

_ID = r"^[A-Za-z0-9._-]{1,64}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Urgency(StrEnum):
    """How urgent triage judges an accepted case (ADR 0014)."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class SubjectIn(Strict):
    """A betrokkene: at least a BSN or a name with date of birth, for the blind index."""

    role_in_case: str = Field(pattern=r"^[a-z_]{1,32}$", examples=["parent", "child"])
    bsn: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    address: str | None = Field(
        default=None, max_length=300, description="Woonadres: straat, huisnummer, postcode, plaats."
    )


class CaseIn(Strict):
    """A registration (aanmelding): the case, the table proposed and its subjects."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "family",
                    "proposed_table": "domestic_violence",
                    "reason": "Herhaald huiselijk geweld; meerdere partners betrokken.",
                    "subjects": [
                        {
                            "role_in_case": "parent",
                            "bsn": "999990019",
                            "name": "J. de Vries",
                            "date_of_birth": "1986-04-02",
                        },
                        {
                            "role_in_case": "child",
                            "name": "S. de Vries",
                            "date_of_birth": "2015-09-21",
                        },
                    ],
                }
            ]
        },
    )

    kind: CaseKind
    proposed_table: TableId
    reason: str = Field(min_length=1, max_length=4000, description="Reden van aanmelding.")
    subjects: list[SubjectIn] = Field(default_factory=list, max_length=50)


class SubjectCorrectionIn(Strict):
    """The corrected identifying data of one subject, as a whole (what is left out is
    cleared), with the version it corrects: a correction of a stale version is a 409."""

    version: int = Field(ge=1, le=1_000_000, description="The subject version you corrected.")
    role_in_case: str = Field(pattern=r"^[a-z_]{1,32}$", examples=["parent", "child"])
    bsn: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    date_of_birth: date | None = None
    address: str | None = Field(default=None, max_length=300)


class SubjectVersionOut(BaseModel):
    id: str
    version: int


class SubjectOut(BaseModel):
    """A betrokkene as far as the policy's identity decision releases it to this viewer: a
    field is null when it is withheld or was not registered (`withheld` says which)."""

    id: str
    role_in_case: str
    version: int = 1
    name: str | None = None
    date_of_birth: date | None = None
    address: str | None = None
    bsn: str | None = None
    #: identifying fields the policy withheld from this viewer (name, date_of_birth, ...)
    withheld: list[str] = Field(default_factory=list)


class IdentityOut(BaseModel):
    """The policy's identity decision for this viewer: what it shows of who the case is
    about, and why."""

    released: list[str]
    rule: str
    reason: str


class ParticipantOut(BaseModel):
    id: str
    partner: str
    partner_kind: str
    user: str | None
    invited_at: datetime


class RegisseurOut(BaseModel):
    partner: str
    user: str


class PhaseStepOut(BaseModel):
    """When the case entered a phase, and which partner moved it there (ADR 0014)."""

    phase: Phase
    entered_at: datetime
    entered_by: str


class CaseOut(BaseModel):
    """A case as the viewer may see it (subjects' identifying data per the identity decision)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "b3d9f806-6e93-4e92-9acd-c8c893481d06",
                    "kind": "family",
                    "proposed_table": "domestic_violence",
                    "table": "domestic_violence",
                    "phase": "preparation",
                    "status": "open",
                    "registered_by": "politie",
                    "registered_at": "2026-11-14T09:30:00Z",
                    "procesregisseur": {"partner": "zvh", "user": "pr-1"},
                    "casusregisseur": None,
                    "subjects": [
                        {
                            "id": "9b2f3c1e-0d4a-4c55-9a57-3f1f7f0e2a11",
                            "role_in_case": "parent",
                            "version": 1,
                            "name": None,
                            "date_of_birth": None,
                            "address": None,
                            "bsn": None,
                            "withheld": ["name", "date_of_birth", "address", "bsn"],
                        }
                    ],
                    "participants": [
                        {
                            "id": "4f0a7c55-2b1e-4d7a-8c3e-1a2b3c4d5e6f",
                            "partner": "woningcorporatie",
                            "partner_kind": "housing",
                            "user": None,
                            "invited_at": "2026-11-15T08:00:00Z",
                        }
                    ],
                    "triage": None,
                    "outcome": None,
                    "closed_at": None,
                    "retention_until": None,
                }
            ]
        }
    )

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
    #: the registration reason (reden van aanmelding), when the policy releases it
    reason: str | None = None
    #: the identity decision, on a read of one case (absent on lists and on acts)
    identity: IdentityOut | None = None
    #: set at triage (ADR 0014)
    urgency: Urgency | None = None
    review_on: date | None = None
    preparation_due: date | None = None
    case_conference_due: date | None = None
    #: on a read of one case: every phase it entered, oldest first (absent on lists and acts)
    phase_history: list[PhaseStepOut] | None = None


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
    #: an accepted case's urgency, the day triage is reviewed and the due dates of the next
    #: steps (ADR 0014): from today up to a year ahead; a rejection takes none of them
    urgency: Urgency | None = None
    review_on: date | None = Field(default=None, description="When the triage is reviewed.")
    preparation_due: date | None = Field(
        default=None, description="When the case should be in preparation."
    )
    case_conference_due: date | None = Field(
        default=None, description="When the case should be discussed at its table."
    )


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


# -- informing the subject (ADR 0012) ----------------------------------------------------------


class NoticeState(StrEnum):
    """Whether a subject was informed that their case is discussed, or informing was
    postponed for a reason until a review date."""

    INFORMED = "informed"
    POSTPONED = "postponed"


class NoticeChannel(StrEnum):
    """How the subject (or their parents or guardians) was informed."""

    IN_PERSON = "in_person"
    LETTER = "letter"
    PHONE = "phone"
    VIDEO = "video"


class InformedParty(StrEnum):
    """Who was informed: the subject, their parents or guardians, or both."""

    SUBJECT = "subject"
    PARENTS_OR_GUARDIANS = "parents_or_guardians"
    BOTH = "both"


class AgeBand(StrEnum):
    """The subject's age at the date they were informed, as the recorder states it: the
    band decides who has to be informed (ADR 0012). `adult` also covers an age that is not
    known to be under 18."""

    UNDER_12 = "under_12"
    FROM_12_TO_15 = "12_to_15"
    FROM_16_TO_17 = "16_plus"
    ADULT = "adult"


#: The age rule of the Veiligheidshuis privacy protocols: under 12 the parents or guardians
#: are informed instead of the child; from 12 to 15 the child and the parents or guardians;
#: from 16 the young person themself (and an adult, of course).
REQUIRED_PARTY: Final[Mapping[AgeBand, InformedParty]] = {
    AgeBand.UNDER_12: InformedParty.PARENTS_OR_GUARDIANS,
    AgeBand.FROM_12_TO_15: InformedParty.BOTH,
    AgeBand.FROM_16_TO_17: InformedParty.SUBJECT,
    AgeBand.ADULT: InformedParty.SUBJECT,
}


class PostponeReason(StrEnum):
    """Why informing the subject is postponed (a closed list: no free text in clear)."""

    RISK_TO_SAFETY = "risk_to_safety"
    RISK_TO_INVESTIGATION = "risk_to_investigation"
    SUBJECT_UNREACHABLE = "subject_unreachable"
    OTHER = "other"


class InformerIn(Strict):
    """Who informed the subject: a partner, and the professional's pseudonym there."""

    partner: str = Field(pattern=_ID)
    user: str = Field(pattern=_ID)


class InformedIn(Strict):
    """The subject was informed: when, how, by whom, and who was informed at which age."""

    state: Literal[NoticeState.INFORMED]
    informed_on: date = Field(description="The day the subject was informed (not in the future).")
    channel: NoticeChannel
    informed_party: InformedParty
    age_band: AgeBand = Field(
        description="The subject's age at `informed_on`; decides who has to be informed."
    )
    informed_by: InformerIn | None = Field(
        default=None, description="Who informed the subject; the recorder when left out."
    )


class PostponedIn(Strict):
    """Informing the subject is postponed, for a reason from the list, until `review_on`."""

    state: Literal[NoticeState.POSTPONED]
    reason: PostponeReason
    review_on: date = Field(
        description="The day the postponement is reviewed (today up to a year ahead)."
    )


NoticeIn = Annotated[InformedIn | PostponedIn, Field(discriminator="state")]


class NoticeOut(BaseModel):
    """One recorded notice of a subject (informed or postponed), with who recorded it."""

    id: str
    subject_id: str
    version: int
    state: NoticeState
    informed_on: date | None = None
    channel: NoticeChannel | None = None
    informed_party: InformedParty | None = None
    age_band: AgeBand | None = None
    informed_by: RegisseurOut | None = None
    reason: PostponeReason | None = None
    review_on: date | None = None
    recorded_by: RegisseurOut
    recorded_at: datetime


class SubjectNoticesOut(BaseModel):
    """Per subject: the current state (`missing`: no notice, or a postponement whose review
    date has passed), the current notice, and every notice recorded (oldest first)."""

    subject_id: str
    role_in_case: str
    status: Literal["informed", "postponed", "missing"]
    current: NoticeOut | None
    history: list[NoticeOut]


class CaseNoticesOut(BaseModel):
    case_id: str
    #: subjects without a current notice: the case cannot enter the case conference
    missing: int
    subjects: list[SubjectNoticesOut]


class CaseloadQuery(BaseModel):
    """Filters and order of a caseload."""

    phase: Phase | None = None
    table: TableId | None = None
    #: only cases where you are procesregisseur, casusregisseur or a participant
    role: Literal["procesregisseur", "casusregisseur", "participant"] | None = None
    #: only cases with an intervention past its deadline
    overdue_only: bool = False
    sort: Literal["registered_at", "next_case_conference", "next_deadline", "phase"] = (
        "next_case_conference"
    )


class CaseloadSubject(BaseModel):
    id: str
    role_in_case: str
    #: the name when the policy shows it for the caseload (purpose case_management)
    name: str | None = None


class DueStep(BaseModel):
    """A step triage set a date for that the case has not taken yet: the triage review, or
    reaching preparation or the case conference."""

    step: Literal["review", "preparation", "case_conference"]
    due_on: date
    overdue: bool


class CaseloadItem(BaseModel):
    id: str
    kind: CaseKind
    table: TableId | None
    phase: Phase
    #: how you take part: procesregisseur, casusregisseur, participant
    my_roles: list[str]
    registered_at: datetime
    next_case_conference: date | None
    subjects: list[CaseloadSubject]
    open_interventions: int
    overdue_interventions: int
    my_open_interventions: int
    my_overdue_interventions: int
    next_deadline: date | None
    #: triage's urgency and review date, and the steps due (ADR 0014)
    urgency: Urgency | None = None
    review_on: date | None = None
    due: list[DueStep] = Field(default_factory=list)
    #: how many of `due` are past their date
    overdue_steps: int = 0


class CaseloadOut(BaseModel):
    cases: list[CaseloadItem]
    #: more cases match than one answer lists (narrow the filters)
    more: bool
    #: the day "overdue" was measured against
    today: date


# -- coordination with another house or chain (ADR 0014) ------------------------------------------


class CoordinationChain(StrEnum):
    """The houses and chains outside this Veiligheidshuis a case may be coordinated with
    (a partner kind may be named instead)."""

    OTHER_ZVH = "other_zvh"  # another Zorg- en Veiligheidshuis
    ZSM = "zsm"  # the justice chain's ZSM table
    YOUTH_PROTECTION = "youth_protection"  # the youth protection chain
    DOMESTIC_VIOLENCE = "domestic_violence"  # the domestic violence and child abuse chain


class CoordinationStatus(StrEnum):
    """Whether the coordination is done: te afstemmen, afgestemd, niet nodig."""

    TO_COORDINATE = "to_coordinate"
    COORDINATED = "coordinated"
    NOT_NEEDED = "not_needed"


class CoordinationIn(Strict):
    """Who coordinates the case with a counterpart (the regievoerder), and the status."""

    counterpart: CoordinationChain | PartnerKind
    regievoerder: RegisseurIn
    status: CoordinationStatus


class CoordinationOut(BaseModel):
    counterpart: str
    regievoerder: RegisseurOut
    status: CoordinationStatus
    recorded_by: RegisseurOut
    recorded_at: datetime


class CaseCoordinationOut(BaseModel):
    case_id: str
    coordination: list[CoordinationOut]


# -- management information (ADR 0014) ----------------------------------------------------------


class Cell(BaseModel):
    """One count; null with marker "<5" when it is suppressed (a small cell, or one that
    would let a small cell be derived from the total)."""

    key: str
    count: int | None
    marker: str | None = None


class LeadTime(BaseModel):
    """Days from registration to a step, over the cases of the period that took it."""

    step: Literal["triage", "case_conference", "closed"]
    cases: int | None
    median_days: float | None
    p90_days: float | None
    marker: str | None = None


class StatisticsOut(BaseModel):
    period_from: date
    period_to: date
    #: counts below this are suppressed
    min_cell: int
    registered: Cell
    per_table: list[Cell]
    per_phase: list[Cell]
    per_intake_partner_kind: list[Cell]
    per_month: list[Cell]
    outcomes: list[Cell]
    lead_times: list[LeadTime]
