"""The Dutch words for the hub's codes, wherever people read them: the web application and
the command line's HTML matrix (UI text is Dutch; codes stay English, see docs/glossary.md).
Organisation kinds and disclosure levels reuse the wording of the art. 15 report
(hub.audit.report), so a citizen and a professional read the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hub.audit.entry import Action
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


#: the access log's actions, as an auditor or privacy officer reads them (neutral; the
#: citizen's report speaks to the person instead, hub.audit.report)
LOG_ACTION: Final[Mapping[str, str]] = {
    Action.FACT_PUBLISH: "Informatie vastgelegd",
    Action.FACT_CORRECT: "Informatie gecorrigeerd",
    Action.FACT_WITHDRAW: "Informatie ingetrokken",
    Action.FACT_PUBLISH_DENIED: "Vastleggen geweigerd",
    Action.BRIEFING_READ: "Briefing ingezien",
    Action.UPDATES_READ: "Nieuwe informatie ingezien",
    Action.ACCESS_BREAK_GLASS: "Spoedtoegang",
    Action.CASE_REGISTER: "Casus aangemeld",
    Action.CASE_TAKE: "Regie op casus genomen",
    Action.CASE_SCREEN: "Screening",
    Action.SCREENING_HIT: "Treffer bij screening",
    Action.CASE_TRIAGE: "Besluit over in behandeling nemen",
    Action.CASE_INVITE: "Partner uitgenodigd",
    Action.CASE_WITHDRAW_INVITATION: "Uitnodiging ingetrokken",
    Action.CASE_ASSIGN_CASUSREGISSEUR: "Casusregisseur aangewezen",
    Action.CASE_CHANGE_PHASE: "Fase van casus gewijzigd",
    Action.CASE_SCHEDULE: "Casus geagendeerd",
    Action.CASE_CLOSE: "Casus afgesloten",
    Action.CASE_CORRECT_SUBJECT: "Persoonsgegevens verbeterd",
    Action.CASE_READ: "Casus ingezien",
    Action.CASE_DENIED: "Inzage in casus geweigerd",
    Action.PLAN_RECORD: "Plan van aanpak vastgelegd",
    Action.PLAN_READ: "Plan van aanpak ingezien",
    Action.AUTH_FAILURE: "Aanmelden mislukt",
    Action.REQUEST_REJECTED: "Verzoek afgewezen",
    Action.POLICY_ERROR: "Storing in de privacyregels",
    Action.POLICY_LOAD: "Privacyregels klaargezet",
    Action.POLICY_APPROVE: "Privacyregels goedgekeurd",
    Action.POLICY_ACTIVATE: "Privacyregels in gebruik genomen",
    Action.POLICY_SIMULATE: "Privacyregels gesimuleerd",
    Action.POLICY_READ: "Privacyregels bekeken",
    Action.KEY_ROTATE: "Sleutels vervangen",
    Action.CASE_SHRED: "Casus vernietigd",
    Action.RETENTION_RUN: "Bewaartermijnen nagelopen",
    Action.LOG_QUERY: "Logboek geraadpleegd",
    Action.LOG_EXPORT: "Logboek geëxporteerd",
    Action.LOG_VERIFY: "Logboek gecontroleerd",
    Action.SUBJECT_ACCESS_REPORT: "Inzageoverzicht opgesteld",
    Action.INTEGRITY_ERROR: "Integriteitsfout",
    Action.CHECKPOINT_SIGN: "Controlepunt ondertekend",
    Action.CASE_RECORD_NOTICE: "Informeren van betrokkene vastgelegd",
    Action.CASE_READ_NOTICES: "Informeren van betrokkenen bekeken",
    Action.MEETING_SCHEDULE: "Casusoverleg gepland",
    Action.MEETING_PLAN: "Casusoverleg voorbereid",
    Action.MEETING_READ: "Casusoverleg bekeken",
    Action.MEETING_ATTENDANCE: "Aanwezigheid vastgelegd",
    Action.MINUTES_RECORD: "Verslag vastgelegd",
    Action.MINUTES_READ: "Verslag ingezien",
    Action.CASE_RECORD_COORDINATION: "Afstemming met andere keten vastgelegd",
    Action.STATISTICS_READ: "Cijfers opgevraagd",
    Action.SESSION_START: "Aangemeld",
    Action.SESSION_END: "Afgemeld",
    Action.SUBSCRIPTION_CREATE: "Meldingen aangevraagd",
    Action.SUBSCRIPTION_END: "Meldingen stopgezet",
    Action.SUBSCRIPTION_LIST: "Meldingen bekeken",
}

#: the outcome of a logged act
OUTCOME: Final[Mapping[str, str]] = {
    "allowed": "toegestaan",
    "denied": "geweigerd",
    "error": "fout",
}

#: what the hub's check of an inclusion proof found (hub.audit.proof_check.ProofProblem)
PROOF_PROBLEM: Final[Mapping[str, str]] = {
    "entry_changed": (
        "De velden van deze regel passen niet bij de vingerafdruk (hash) die in het logboek "
        "is opgenomen: de regel is veranderd nadat hij is vastgelegd."
    ),
    "entry_invalid": "Deze regel is niet in de vorm die het logboek voorschrijft.",
    "signature": (
        "De handtekening onder het controlepunt klopt niet met de publieke sleutel van de hub: "
        "het controlepunt is niet door de hub ondertekend of is veranderd."
    ),
    "other_log": "Het controlepunt hoort bij een ander logboek.",
    "checkpoint_mismatch": (
        "Het bewijs is gemaakt voor een ander controlepunt dan het ondertekende."
    ),
    "proof": (
        "Het bewijs leidt niet naar het ondertekende controlepunt: de regel staat niet, of "
        "niet op deze plaats, in het ondertekende logboek."
    ),
}

#: the fields of an access-log entry, in the order the entry page shows them
LOG_FIELD: Final[Mapping[str, str]] = {
    "seq": "Volgnummer",
    "time": "Tijdstip",
    "actor_partner": "Organisatie",
    "actor_partner_kind": "Soort organisatie",
    "actor_user": "Gebruiker",
    "actor_roles": "Rollen",
    "action": "Handeling",
    "purpose": "Doel",
    "outcome": "Uitkomst",
    "reason": "Reden (technisch)",
    "case_id": "Casus",
    "subject_pseudonyms": "Betrokkenen (pseudoniemen)",
    "object_ids": "Objecten",
    "disclosed": "Gedeelde velden",
    "fact_subjects": "Betrokkenen per feit",
    "count": "Aantal gelijke weigeringen",
    "policy_version": "Versie van de privacyregels",
    "request_id": "Verzoeknummer",
    "source": "Herkomst",
    "leaf_hash": "Vingerafdruk (leaf hash)",
}

#: a misuse signal's kind, as a short name (hub.audit.signals)
SIGNAL_KIND: Final[Mapping[str, str]] = {
    "volume": "Ongewoon veel gelezen",
    "off_hours": "Buiten kantoortijd",
    "outside_tables": "Buiten de eigen tafels",
    "refusals": "Geweigerd",
}

#: a policy version's status (ADR 0103)
POLICY_STATUS: Final[Mapping[str, str]] = {
    "active": "actief",
    "inactive": "voorgesteld",
    "retired": "vervangen",
}
#: where a policy version came from
POLICY_ORIGIN: Final[Mapping[str, str]] = {
    "shipped": "meegeleverd (vhhub init)",
    "cli": "geladen door de beheerder",
    "upload": "geüpload door een privacyfunctionaris",
}
#: which way a policy change moves a decision
CHANGE_DIRECTION: Final[Mapping[str, str]] = {"more": "meer", "less": "minder", "other": "anders"}
#: what a sensitivity category is called (AVG art. 9 and 10)
SENSITIVITY: Final[Mapping[str, str]] = {
    "special": "bijzonder persoonsgegeven",
    "criminal": "strafrechtelijk gegeven",
    "ordinary": "gewoon gegeven",
}
