"""The hub's shared vocabulary: the closed sets every layer speaks in.

These names are the API, the policy input and the access log's language at once, so they live
in one module that both infrastructure and feature packages may import. Dutch equivalents are
in docs/glossary.md; code and API stay English.
"""

from __future__ import annotations

from enum import StrEnum


class PartnerKind(StrEnum):
    POLICE = "police"
    PROSECUTION = "prosecution"
    PROBATION = "probation"
    CHILD_PROTECTION = "child_protection"
    MUNICIPALITY = "municipality"
    MENTAL_HEALTH = "mental_health"
    YOUTH_CARE = "youth_care"
    HOUSING = "housing"
    SOCIAL_WORK = "social_work"
    VEILIG_THUIS = "veilig_thuis"
    CUSTODIAL = "custodial"
    ZVH_STAFF = "zvh_staff"


#: Partner kinds of the justice chain (strafrechtketen); criminal-law data (AVG art. 10)
#: reaches partners outside this set at summary level at most.
JUSTICE_KINDS: frozenset[PartnerKind] = frozenset(
    {
        PartnerKind.POLICE,
        PartnerKind.PROSECUTION,
        PartnerKind.PROBATION,
        PartnerKind.CUSTODIAL,
        PartnerKind.CHILD_PROTECTION,
    }
)


class Role(StrEnum):
    PARTICIPANT = "participant"
    PUBLISHER = "publisher"
    PROCESREGISSEUR = "procesregisseur"
    CASUSREGISSEUR = "casusregisseur"
    PRIVACY_OFFICER = "privacy_officer"
    AUDITOR = "auditor"


class Phase(StrEnum):
    INTAKE = "intake"
    SCREENING = "screening"
    PREPARATION = "preparation"
    CASE_CONFERENCE = "case_conference"
    PLAN = "plan"
    EXECUTION = "execution"
    CLOSED = "closed"


#: The only forward path a case takes; closing is allowed from every open phase.
PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class Purpose(StrEnum):
    INTAKE = "intake"
    SCREENING = "screening"
    PREPARATION = "preparation"
    CASE_CONFERENCE = "case_conference"
    PLAN = "plan"
    EXECUTION = "execution"
    AUDIT = "audit"
    POLICY_REVIEW = "policy_review"
    SUBJECT_ACCESS = "subject_access"
    #: the caseload: an overview of one's own cases, never fact content (ADR 0011)
    CASE_MANAGEMENT = "case_management"
    #: management information: counts for the annual report, no case ids (ADR 0014)
    MANAGEMENT_INFORMATION = "management_information"


class LifeDomain(StrEnum):
    HOUSING = "housing"
    FINANCES = "finances"
    WORK_DAYTIME = "work_daytime"
    MENTAL_HEALTH = "mental_health"
    PHYSICAL_HEALTH = "physical_health"
    ADDICTION = "addiction"
    JUSTICE = "justice"
    FAMILY_RELATIONS = "family_relations"
    PARENTING = "parenting"
    SAFETY = "safety"
    SOCIAL_NETWORK = "social_network"


class Sensitivity(StrEnum):
    ORDINARY = "ordinary"
    SPECIAL = "special"  # AVG art. 9: health, among others
    CRIMINAL = "criminal"  # AVG art. 10: criminal convictions and offences


class DisclosureClass(StrEnum):
    """Per field, in the fact-type schema: the lowest level at which the field may be shown."""

    SUMMARY = "summary"
    FULL = "full"
    NEVER = "never"  # never shared beyond the publisher


class DisclosureLevel(StrEnum):
    NONE = "none"
    EXISTENCE = "existence"
    SUMMARY = "summary"
    FULL = "full"


LEVEL_RANK: dict[DisclosureLevel, int] = {
    DisclosureLevel.NONE: 0,
    DisclosureLevel.EXISTENCE: 1,
    DisclosureLevel.SUMMARY: 2,
    DisclosureLevel.FULL: 3,
}


class TableId(StrEnum):
    YOUTH = "youth"
    ADULTS = "adults"
    DOMESTIC_VIOLENCE = "domestic_violence"
    MULTI_PROBLEM = "multi_problem"


class CaseKind(StrEnum):
    PERSON = "person"
    FAMILY = "family"
    GROUP = "group"
    AREA = "area"


class CaseStatus(StrEnum):
    """Where a case stands as a record (the phase says where its work stands)."""

    OPEN = "open"
    REJECTED = "rejected"  # triage declined it; kept for the short retention period
    CLOSED = "closed"
    SHREDDED = "shredded"  # crypto-shredded after retention: metadata only, no key


class FactStatus(StrEnum):
    """A fact version's state: only `current` versions reach a briefing."""

    CURRENT = "current"
    SUPERSEDED = "superseded"  # a correction replaced it
    WITHDRAWN = "withdrawn"


class PolicyVersionStatus(StrEnum):
    """A loaded policy version; at most one is `active` (a partial unique index)."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    RETIRED = "retired"
