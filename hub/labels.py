"""The Dutch words of the web application for the hub's codes (UI text is Dutch; codes stay
English, see docs/glossary.md). Organisation kinds and disclosure levels reuse the wording of
the art. 15 report (hub.audit.report), so a citizen and a professional read the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hub.vocabulary import (
    CaseKind,
    DisclosureLevel,
    LifeDomain,
    PartnerKind,
    Phase,
    Purpose,
    Role,
    TableId,
)

PHASE: Final[Mapping[str, str]] = {
    Phase.INTAKE: "Aanmelding",
    Phase.SCREENING: "Screening",
    Phase.PREPARATION: "Voorbereiding",
    Phase.CASE_CONFERENCE: "Casusoverleg",
    Phase.PLAN: "Plan van aanpak",
    Phase.EXECUTION: "Uitvoering",
    Phase.CLOSED: "Afgesloten",
}

#: the purposes a person states in the web application, as a noun phrase for "Doel: ..."
PURPOSE: Final[Mapping[str, str]] = {
    Purpose.INTAKE: "aanmelding",
    Purpose.SCREENING: "screening",
    Purpose.PREPARATION: "voorbereiding van het casusoverleg",
    Purpose.CASE_CONFERENCE: "casusoverleg",
    Purpose.PLAN: "opstellen van het plan van aanpak",
    Purpose.EXECUTION: "uitvoering van het plan van aanpak",
    Purpose.AUDIT: "controle van het logboek",
    Purpose.POLICY_REVIEW: "toetsing van de privacyregels",
    Purpose.SUBJECT_ACCESS: "inzageverzoek",
    Purpose.CASE_MANAGEMENT: "overzicht van mijn casussen",
    Purpose.MANAGEMENT_INFORMATION: "managementinformatie",
}

#: the purpose a case page is read for when the person did not choose one: its phase's
PHASE_PURPOSE: Final[Mapping[str, Purpose]] = {
    Phase.INTAKE: Purpose.INTAKE,
    Phase.SCREENING: Purpose.SCREENING,
    Phase.PREPARATION: Purpose.PREPARATION,
    Phase.CASE_CONFERENCE: Purpose.CASE_CONFERENCE,
    Phase.PLAN: Purpose.PLAN,
    Phase.EXECUTION: Purpose.EXECUTION,
    Phase.CLOSED: Purpose.EXECUTION,
}
#: the purposes a case page may be read for (the work on a case, in its order)
CASE_PURPOSES: Final = (
    Purpose.INTAKE,
    Purpose.SCREENING,
    Purpose.PREPARATION,
    Purpose.CASE_CONFERENCE,
    Purpose.PLAN,
    Purpose.EXECUTION,
)

TABLE: Final[Mapping[str, str]] = {
    TableId.YOUTH: "Jeugdtafel",
    TableId.ADULTS: "Volwassenentafel",
    TableId.DOMESTIC_VIOLENCE: "Tafel huiselijk geweld",
    TableId.MULTI_PROBLEM: "O3-tafel multiproblematiek",
}

CASE_KIND: Final[Mapping[str, str]] = {
    CaseKind.PERSON: "Persoon",
    CaseKind.FAMILY: "Gezin",
    CaseKind.GROUP: "Groep",
    CaseKind.AREA: "Gebied",
}

LIFE_DOMAIN: Final[Mapping[str, str]] = {
    LifeDomain.HOUSING: "Wonen",
    LifeDomain.FINANCES: "Financiën",
    LifeDomain.WORK_DAYTIME: "Werk en dagbesteding",
    LifeDomain.MENTAL_HEALTH: "Psychische gezondheid",
    LifeDomain.PHYSICAL_HEALTH: "Lichamelijke gezondheid",
    LifeDomain.ADDICTION: "Verslaving",
    LifeDomain.JUSTICE: "Justitie",
    LifeDomain.FAMILY_RELATIONS: "Gezinsrelaties",
    LifeDomain.PARENTING: "Opvoeding",
    LifeDomain.SAFETY: "Veiligheid",
    LifeDomain.SOCIAL_NETWORK: "Sociaal netwerk",
}

ROLE: Final[Mapping[str, str]] = {
    Role.PARTICIPANT: "deelnemer",
    Role.PUBLISHER: "informatieleverancier",
    Role.PROCESREGISSEUR: "procesregisseur",
    Role.CASUSREGISSEUR: "casusregisseur",
    Role.PRIVACY_OFFICER: "privacyfunctionaris",
    Role.AUDITOR: "auditor",
}

#: the organisation kind as a label (capitalised, no article)
PARTNER_KIND: Final[Mapping[str, str]] = {
    PartnerKind.POLICE: "Politie",
    PartnerKind.PROSECUTION: "Openbaar Ministerie",
    PartnerKind.PROBATION: "Reclassering",
    PartnerKind.CHILD_PROTECTION: "Raad voor de Kinderbescherming",
    PartnerKind.MUNICIPALITY: "Gemeente",
    PartnerKind.MENTAL_HEALTH: "GGZ",
    PartnerKind.YOUTH_CARE: "Jeugdhulp",
    PartnerKind.HOUSING: "Woningcorporatie",
    PartnerKind.SOCIAL_WORK: "Maatschappelijk werk",
    PartnerKind.VEILIG_THUIS: "Veilig Thuis",
    PartnerKind.CUSTODIAL: "Dienst Justitiële Inrichtingen",
    PartnerKind.ZVH_STAFF: "Zorg- en Veiligheidshuis",
}

LEVEL: Final[Mapping[str, str]] = {
    DisclosureLevel.FULL: "volledig",
    DisclosureLevel.SUMMARY: "samenvatting",
    DisclosureLevel.EXISTENCE: "alleen het bestaan",
    DisclosureLevel.NONE: "niet gedeeld",
}

IDENTITY_FIELD: Final[Mapping[str, str]] = {
    "name": "naam",
    "date_of_birth": "geboortedatum",
    "address": "adres",
    "bsn": "BSN",
}

INTERVENTION_STATUS: Final[Mapping[str, str]] = {
    "planned": "gepland",
    "in_progress": "in uitvoering",
    "done": "afgerond",
    "stopped": "gestopt",
    "handed_over": "overgedragen",
}

URGENCY: Final[Mapping[str, str]] = {"red": "rood", "amber": "oranje", "green": "groen"}


def word(mapping: Mapping[str, str], code: object) -> str:
    """The Dutch word of a code; an unknown code shows as itself (never an error page)."""
    text = str(code) if code is not None else ""
    return mapping.get(text, text)
