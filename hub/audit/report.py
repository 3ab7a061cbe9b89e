"""The data-subject access report (AVG art. 15) in plain Dutch: every word a citizen reads.

One module holds the whole vocabulary -- partner kinds, fact types, disclosure levels,
purposes and actions -- and the two renderings of the report: JSON Lines (with an inclusion
proof per act, for whoever checks the report) and a printable HTML page, from the autoescaped
Jinja2 template `templates/report.html` (which the auditor's web page and the PDF share,
hub/audit/pdf.py). Both are streamed:
the renderers take the acts as an iterator and write a line (or a table row) per act, so a
report of thousands of acts never sits in memory (ADR 0403).

Nothing here touches the database or knows an identifier: an act arrives as the log entry's
ids and codes plus the metadata of the facts about this person (type, publisher), and leaves
as sentences. No type id, action code or English word reaches the citizen: a test walks every
member of every vocabulary below.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.audit.entry import Action, utc_moment
from hub.facts.catalog import FactTypeCatalog, UnknownFactType
from hub.vocabulary import DisclosureClass, DisclosureLevel, PartnerKind, Purpose

__all__ = [
    "ACTION_NL",
    "FACT_NL",
    "KIND_NL",
    "LEVEL_NL",
    "PURPOSE_NL",
    "ActView",
    "FactView",
    "ReportAct",
    "ReportCase",
    "ReportFailed",
    "ReportHead",
    "ReportLine",
    "Summary",
    "Wording",
    "render_html",
    "render_jsonl",
]

ZONE: Final = ZoneInfo("Europe/Amsterdam")
HUB: Final = "het Zorg- en Veiligheidshuis"

#: Who acted, by the kind of organisation (the sentence subject; lower case, with article).
KIND_NL: Final[Mapping[PartnerKind, str]] = {
    PartnerKind.POLICE: "de politie",
    PartnerKind.PROSECUTION: "het Openbaar Ministerie",
    PartnerKind.PROBATION: "de reclassering",
    PartnerKind.CHILD_PROTECTION: "de Raad voor de Kinderbescherming",
    PartnerKind.MUNICIPALITY: "de gemeente",
    PartnerKind.MENTAL_HEALTH: "de GGZ-instelling",
    PartnerKind.YOUTH_CARE: "de jeugdhulp",
    PartnerKind.HOUSING: "de woningcorporatie",
    PartnerKind.SOCIAL_WORK: "het maatschappelijk werk",
    PartnerKind.VEILIG_THUIS: "Veilig Thuis",
    PartnerKind.CUSTODIAL: "de Dienst Justitiële Inrichtingen",
    PartnerKind.ZVH_STAFF: HUB,
}

#: What the information is, per fact type (without version): the phrase names the person
#: ("over u", "uw"), and whether it is plural (for "is"/"zijn").
FACT_NL: Final[Mapping[str, tuple[str, bool]]] = {
    "child_protection.investigation": (
        "een onderzoek van de Raad voor de Kinderbescherming waarbij u betrokken bent",
        False,
    ),
    "custodial.detention": ("gegevens over uw detentie", True),
    "housing.eviction": ("gegevens over een ontruiming van uw woning", True),
    "housing.nuisance_complaint": ("een overlastklacht over u", False),
    "housing.rent_arrears": ("gegevens over uw huurachterstand", True),
    "mental_health.involvement": ("gegevens over uw zorg bij de GGZ", True),
    "municipality.income_debt": ("gegevens over uw inkomen en schulden", True),
    "municipality.school_attendance": ("gegevens over leerplicht en schoolverzuim", True),
    "network.involvement_signal": ("een signaal dat een organisatie bij u betrokken is", False),
    "police.incident": (
        "een melding van een incident of strafbaar feit waarbij u betrokken bent",
        False,
    ),
    "plan.note": ("een notitie over uw casus in het plan van aanpak", False),
    "plan.note_criminal": (
        "een notitie over uw casus in het plan van aanpak, met strafrechtelijke gegevens",
        False,
    ),
    "plan.note_special": (
        "een notitie over uw casus in het plan van aanpak, met gevoelige gegevens zoals over "
        "gezondheid",
        False,
    ),
    "police.nuisance_report": ("een overlastmelding over u", False),
    "probation.supervision": ("gegevens over uw toezicht door de reclassering", True),
    "prosecution.case_status": ("gegevens over uw strafzaak", True),
    "social_work.involvement": (
        "gegevens over uw begeleiding door het maatschappelijk werk",
        True,
    ),
    "veilig_thuis.report": ("een melding bij Veilig Thuis waarbij u betrokken bent", False),
    "youth_care.involvement": ("gegevens over jeugdhulp in uw gezin", True),
}

#: How much of a fact left the hub in a read.
LEVEL_NL: Final[Mapping[DisclosureLevel, str]] = {
    DisclosureLevel.FULL: "volledig",
    DisclosureLevel.SUMMARY: "samenvatting",
    DisclosureLevel.EXISTENCE: "alleen het bestaan",
    DisclosureLevel.NONE: "niets",
}

#: Why, as the end of a sentence.
PURPOSE_NL: Final[Mapping[Purpose, str]] = {
    Purpose.INTAKE: "voor de aanmelding van de casus",
    Purpose.SCREENING: "voor de screening van de casus",
    Purpose.PREPARATION: "voor de voorbereiding van het casusoverleg",
    Purpose.CASE_CONFERENCE: "voor het casusoverleg",
    Purpose.PLAN: "voor het opstellen van het plan van aanpak",
    Purpose.EXECUTION: "voor de uitvoering van het plan van aanpak",
    Purpose.AUDIT: "voor een controle van het logboek",
    Purpose.POLICY_REVIEW: "voor een toetsing van de privacyregels",
    Purpose.SUBJECT_ACCESS: "voor een inzageverzoek",
    Purpose.CASE_MANAGEMENT: "voor het overzicht van de eigen casussen",
    Purpose.MANAGEMENT_INFORMATION: "voor de cijfers over het werk van het Veiligheidshuis",
}
NO_PURPOSE: Final = "zonder dat een doel is opgegeven"

#: Every act, as what the actor did (after "heeft"); the fact and case acts below get
#: sentences of their own, this is the wording for everything else.
ACTION_NL: Final[Mapping[Action, str]] = {
    Action.FACT_PUBLISH: "informatie over u vastgelegd",
    Action.FACT_CORRECT: "informatie over u gecorrigeerd",
    Action.FACT_WITHDRAW: "informatie over u ingetrokken",
    Action.FACT_PUBLISH_DENIED: "geprobeerd informatie over u vast te leggen",
    Action.BRIEFING_READ: "informatie over u ingezien",
    Action.UPDATES_READ: "nieuwe informatie over u ingezien",
    Action.ACCESS_BREAK_GLASS: "met spoedtoegang (in een noodsituatie) gegevens over u ingezien",
    Action.CASE_REGISTER: "u aangemeld bij het Zorg- en Veiligheidshuis",
    Action.CASE_TAKE: "de regie over uw casus op zich genomen",
    Action.CASE_SCREEN: (
        "nagegaan of u al bekend bent bij de partners van het Zorg- en Veiligheidshuis"
    ),
    Action.SCREENING_HIT: "bij de screening gezien dat u al bekend bent",
    Action.CASE_TRIAGE: "besloten of uw casus in behandeling wordt genomen",
    Action.CASE_INVITE: "een organisatie uitgenodigd om aan uw casus mee te werken",
    Action.CASE_WITHDRAW_INVITATION: "een organisatie van uw casus afgehaald",
    Action.CASE_ASSIGN_CASUSREGISSEUR: "een casusregisseur voor uw casus aangewezen",
    Action.CASE_CHANGE_PHASE: "uw casus naar een volgende stap gebracht",
    Action.CASE_SCHEDULE: "uw casus op de agenda van een overleg gezet",
    Action.CASE_CLOSE: "uw casus afgesloten",
    Action.CASE_CORRECT_SUBJECT: "uw persoonsgegevens in uw casus verbeterd",
    Action.CASE_READ: "de gegevens van uw casus bekeken",
    Action.CASE_DENIED: "gevraagd om gegevens uit uw casus",
    Action.PLAN_RECORD: "het plan van aanpak voor uw casus vastgelegd",
    Action.PLAN_READ: "het plan van aanpak voor uw casus ingezien",
    Action.AUTH_FAILURE: "zich niet kunnen aanmelden bij het systeem",
    Action.REQUEST_REJECTED: "een verzoek gedaan dat niet is uitgevoerd",
    Action.POLICY_ERROR: "een verzoek gedaan dat door een storing niet is uitgevoerd",
    Action.POLICY_LOAD: "nieuwe privacyregels klaargezet",
    Action.POLICY_APPROVE: "nieuwe privacyregels goedgekeurd",
    Action.POLICY_ACTIVATE: "nieuwe privacyregels in gebruik genomen",
    Action.POLICY_SIMULATE: "nagegaan wat nieuwe privacyregels voor uw casus zouden betekenen",
    Action.POLICY_READ: "de privacyregels bekeken",
    Action.KEY_ROTATE: "de sleutels van de versleuteling vervangen",
    Action.CASE_SHRED: "de gegevens van uw casus vernietigd",
    Action.RETENTION_RUN: "de bewaartermijnen nagelopen",
    Action.LOG_QUERY: "in het logboek opgezocht wat er met uw gegevens is gedaan",
    Action.LOG_EXPORT: "logboekgegevens over u uitgevoerd",
    Action.LOG_VERIFY: "het logboek gecontroleerd",
    Action.SUBJECT_ACCESS_REPORT: "een inzageoverzicht over u opgesteld (zoals dit overzicht)",
    Action.INTEGRITY_ERROR: "een verzoek gedaan dat niet is uitgevoerd",
    Action.CHECKPOINT_SIGN: "het logboek laten verzegelen",
    Action.CASE_RECORD_NOTICE: (
        "vastgelegd of en hoe u bent geïnformeerd dat uw casus wordt besproken"
    ),
    Action.CASE_READ_NOTICES: (
        "bekeken of en hoe de betrokkenen zijn geïnformeerd dat hun casus wordt besproken"
    ),
    Action.MEETING_SCHEDULE: "een casusoverleg gepland",
    Action.MEETING_PLAN: "uw casus op een casusoverleg gezet of partners daarvoor uitgenodigd",
    Action.MEETING_READ: "bekeken op welk casusoverleg uw casus wordt besproken",
    Action.MEETING_ATTENDANCE: (
        "vastgelegd wie aanwezig was bij de bespreking van uw casus in het casusoverleg"
    ),
    Action.MINUTES_RECORD: (
        "het verslag en de besluiten van het casusoverleg over uw casus vastgelegd"
    ),
    Action.MINUTES_READ: "het verslag van het casusoverleg over uw casus ingezien",
    Action.CASE_RECORD_COORDINATION: (
        "vastgelegd wie uw casus afstemt met een ander Zorg- en Veiligheidshuis of een andere keten"
    ),
    Action.STATISTICS_READ: "cijfers over het werk van het Zorg- en Veiligheidshuis opgevraagd",
    Action.SESSION_START: "zich aangemeld bij het systeem",
    Action.SESSION_END: "zich afgemeld bij het systeem",
    Action.SUBSCRIPTION_CREATE: "zich aangemeld voor meldingen over wijzigingen",
    Action.SUBSCRIPTION_END: "zich afgemeld voor meldingen over wijzigingen",
    Action.SUBSCRIPTION_LIST: "zijn aanmeldingen voor meldingen over wijzigingen bekeken",
}

#: How a subject was informed (ADR 0012), after "is/zijn ... geïnformeerd".
NOTICE_CHANNEL_NL: Final[Mapping[str, str]] = {
    "in_person": "in een persoonlijk gesprek",
    "letter": "per brief",
    "phone": "telefonisch",
    "video": "in een videogesprek",
}
#: Who was informed, as the sentence subject (with the verb's number).
NOTICE_PARTY_NL: Final[Mapping[str, tuple[str, bool]]] = {
    "subject": ("u", False),
    "parents_or_guardians": ("uw ouders of verzorgers", True),
    "both": ("u en uw ouders of verzorgers", True),
}

#: Identifying data and the registration reason, as a case read names them (in this order).
IDENTITY_NL: Final = {
    "name": "naam",
    "date_of_birth": "geboortedatum",
    "address": "adres",
    "bsn": "burgerservicenummer",
    "reason": "de reden van aanmelding",
}


def _enumerate(words: Sequence[str]) -> str:
    """ "a", "a en b", "a, b en c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " en " + words[-1]


#: What the level column says for acts that are not reads of facts.
NOT_SHOWN: Final = "geen informatie getoond"
CASE_STATUS_NL: Final[Mapping[str, str]] = {
    "open": "loopt nog",
    "rejected": "niet in behandeling genomen",
    "closed": "afgesloten",
    "shredded": "afgesloten; de gegevens zijn vernietigd",
}
MONTHS_NL: Final = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_FACT_READS: Final = frozenset({Action.BRIEFING_READ, Action.UPDATES_READ})
_FACT_WRITES: Final = frozenset({Action.FACT_PUBLISH, Action.FACT_CORRECT, Action.FACT_WITHDRAW})
FACT_ACTIONS: Final = _FACT_READS | _FACT_WRITES


def date_nl(moment: datetime, *, with_time: bool = True) -> str:
    """ "3 december 2026 om 14:05" in Dutch time (the citizen's clock, not UTC)."""
    local = moment.astimezone(ZONE)
    day = f"{local.day} {MONTHS_NL[local.month - 1]} {local.year}"
    return f"{day} om {local:%H:%M}" if with_time else day


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the inputs: one log entry and the facts of it that concern this person ---------------------


@dataclass(frozen=True, slots=True)
class FactView:
    """A fact named by an entry, that concerns the person: type and publisher, no content.

    `fields` are the fields a read disclosed (empty: only its existence); None for writes.
    `gone` marks a fact an updates feed reported as no longer current."""

    type_id: str
    publisher_partner: str
    publisher_kind: str
    fields: tuple[str, ...] | None = None
    gone: bool = False


@dataclass(frozen=True, slots=True)
class ActView:
    """One log entry as the report sees it (codes and ids only)."""

    seq: int
    time_us: int
    action: Action
    outcome: str
    actor_partner: str | None
    actor_partner_kind: str | None
    actor_roles: tuple[str, ...]
    purpose: str | None
    case_id: str | None
    object_ids: tuple[str, ...]
    disclosed_sections: tuple[str, ...]
    leaf_hash: bytes
    facts: tuple[FactView, ...] = ()
    #: the entry's reason, where an act's sentence is built from its codes (a notice)
    reason: str | None = None


# -- the outputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportLine:
    text: str
    #: how much was shown (Dutch), or NOT_SHOWN
    level: str
    #: what kind of information (the fact type's Dutch title), if a fact
    information: str | None = None
    #: who recorded the information (organisation name), if a fact
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ReportAct:
    seq: int
    time_us: int
    organisation: str
    purpose: str
    lines: tuple[ReportLine, ...]
    leaf_hash: bytes
    proof: tuple[bytes, ...] | None
    case_id: str | None
    #: the organisation received information about the person in this act
    disclosed: bool


@dataclass(frozen=True, slots=True)
class ReportCase:
    """A case the person is a subject of, as far as retention goes."""

    registered_at: datetime
    status: str
    retention_until: datetime | None
    legal_hold: bool


@dataclass(frozen=True)
class ReportHead:
    generated_at: datetime
    checkpoint: Mapping[str, Any]
    verifier_key: str
    retention_closed_days: int
    retention_rejected_days: int


@dataclass
class Summary:
    """What the report found, gathered while its acts stream past (AVG art. 15(1))."""

    acts: int = 0
    lines: int = 0
    purposes: set[str] = field(default_factory=set)
    recipients: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    case_ids: set[str] = field(default_factory=set)
    cases: list[ReportCase] = field(default_factory=list)

    def add(self, act: ReportAct) -> None:
        self.acts += 1
        self.lines += len(act.lines)
        self.purposes.add(act.purpose)
        if act.disclosed:
            self.recipients.add(act.organisation)
        for line in act.lines:
            if line.source:
                self.sources.add(line.source)
            if line.information:
                self.categories.add(line.information)
        if act.case_id:
            self.case_ids.add(act.case_id)


class ReportFailed(Exception):
    """The stored log does not reproduce the signed checkpoint: no proof can be trusted."""


# -- the wording ------------------------------------------------------------------------------


class Wording:
    """Turns acts into Dutch sentences, with the network's organisation names and the fact
    types' titles and field classes (to say how much of a fact a read showed)."""

    def __init__(self, catalog: FactTypeCatalog, partner_names: Mapping[str, str]) -> None:
        self._catalog = catalog
        self._names = partner_names

    # -- words

    def organisation(self, partner: str | None, kind: str | None) -> str:
        if partner and partner in self._names:
            return self._names[partner]
        return _sentence(self.kind(kind))

    @staticmethod
    def kind(kind: str | None) -> str:
        try:
            return KIND_NL[PartnerKind(kind)] if kind else HUB
        except ValueError:
            return "een organisatie"

    def actor(self, act: ActView) -> str:
        who = self.kind(act.actor_partner_kind)
        if "auditor" in act.actor_roles:
            return f"een controleur van {who}"
        return who

    @staticmethod
    def purpose(purpose: str | None) -> str:
        try:
            return PURPOSE_NL[Purpose(purpose)] if purpose else NO_PURPOSE
        except ValueError:
            return NO_PURPOSE

    def fact(self, type_id: str) -> tuple[str, bool, str]:
        """(phrase, plural, Dutch title) of a fact type."""
        name = type_id.partition("/")[0]
        try:
            title = self._catalog.get(type_id).title
        except UnknownFactType:
            title = "informatie"
        phrase, plural = FACT_NL.get(name, (f"informatie over u van de soort ‘{title}’", True))
        return phrase, plural, title

    def level(self, fact: FactView) -> DisclosureLevel:
        """How much of the fact a read showed, from the fields it disclosed."""
        if not fact.fields:
            return DisclosureLevel.EXISTENCE
        try:
            classes = self._catalog.get(fact.type_id).disclosure_classes()
        except UnknownFactType:
            return DisclosureLevel.FULL
        if all(classes.get(f) == DisclosureClass.SUMMARY.value for f in fact.fields):
            return DisclosureLevel.SUMMARY
        return DisclosureLevel.FULL

    # -- sentences

    def describe(self, act: ActView, proof: Sequence[bytes] | None) -> ReportAct | None:
        """The act in Dutch, or None when nothing in it concerns the person."""
        who = _sentence(self.actor(act))
        why = self.purpose(act.purpose)
        if act.action in FACT_ACTIONS and act.outcome == "allowed":
            lines = self._fact_lines(act, who, why)
            disclosed = act.action in _FACT_READS
        else:
            lines = [self._case_line(act, who, why)]
            disclosed = act.outcome == "allowed" and (
                act.action is Action.ACCESS_BREAK_GLASS
                or (act.action is Action.PLAN_READ and bool(act.disclosed_sections))
            )
        if not lines:
            return None
        return ReportAct(
            seq=act.seq,
            time_us=act.time_us,
            organisation=self.organisation(act.actor_partner, act.actor_partner_kind),
            purpose=why,
            lines=tuple(lines),
            leaf_hash=act.leaf_hash,
            proof=None if proof is None else tuple(proof),
            case_id=act.case_id,
            disclosed=disclosed,
        )

    def _fact_lines(self, act: ActView, who: str, why: str) -> list[ReportLine]:
        lines: list[ReportLine] = []
        seen: set[str] = set()
        for fact in act.facts:
            phrase, plural, title = self.fact(fact.type_id)
            source = self.organisation(fact.publisher_partner, fact.publisher_kind)
            if act.action in _FACT_READS:
                level = DisclosureLevel.EXISTENCE if fact.gone else self.level(fact)
                if fact.gone:
                    verb = "gelden" if plural else "geldt"
                    text = f"{who} heeft gezien dat {phrase} niet meer {verb}, {why}."
                elif level is DisclosureLevel.FULL:
                    text = f"{who} heeft {phrase} volledig ingezien {why}."
                elif level is DisclosureLevel.SUMMARY:
                    text = f"{who} heeft een samenvatting van {phrase} ingezien {why}."
                else:
                    verb = "zijn" if plural else "is"
                    text = (
                        f"{who} heeft alleen gezien dat er {phrase} {verb}, "
                        f"niet wat erin staat, {why}."
                    )
                shown = LEVEL_NL[level]
            elif act.action is Action.FACT_PUBLISH:
                text, shown = f"{who} heeft {phrase} vastgelegd {why}.", NOT_SHOWN
            elif act.action is Action.FACT_CORRECT:
                text, shown = f"{who} heeft {phrase} gecorrigeerd {why}.", NOT_SHOWN
            else:
                verb = "worden ze" if plural else "wordt het"
                text = f"{who} heeft {phrase} ingetrokken; vanaf nu {verb} niet meer gedeeld."
                shown = NOT_SHOWN
            if text in seen:  # a correction names the old and the new version
                continue
            seen.add(text)
            lines.append(ReportLine(text, shown, title, source))
        return sorted(lines, key=lambda line: (line.information or "", line.text))

    def _case_line(self, act: ActView, who: str, why: str) -> ReportLine:
        a = act.action
        if act.outcome == "denied":
            if a is Action.FACT_PUBLISH_DENIED:
                text = (
                    f"{who} wilde informatie over u vastleggen, maar dat mag niet volgens de "
                    "afspraken; er is niets vastgelegd."
                )
            elif a in (Action.CASE_DENIED, Action.BRIEFING_READ, Action.UPDATES_READ):
                text = (
                    f"{who} vroeg om informatie uit uw casus, maar kreeg daarvoor geen "
                    "toestemming; er is niets gedeeld."
                )
            else:
                text = (
                    f"{who} wilde iets doen met informatie over u, maar kreeg daarvoor geen "
                    "toestemming; er is niets gedeeld."
                )
            return ReportLine(text, NOT_SHOWN)
        if act.outcome != "allowed":
            text = f"Bij een verzoek van {self.actor(act)} ging iets mis; er is niets gedeeld."
            return ReportLine(text, NOT_SHOWN)
        if a is Action.CASE_REGISTER:
            return ReportLine(
                f"{who} heeft u aangemeld bij het Zorg- en Veiligheidshuis.", NOT_SHOWN
            )
        if a is Action.CASE_SCREEN:
            return ReportLine(
                f"{who} heeft nagegaan of u al bekend bent bij de andere organisaties (screening).",
                "alleen of u bekend bent",
            )
        if a is Action.SCREENING_HIT:
            names = sorted({self._names[p] for p in act.object_ids if p in self._names})
            where = ": " + ", ".join(names) if names else ""
            return ReportLine(
                f"{who} heeft bij de screening gezien dat u al bekend bent{where}.",
                "alleen of u bekend bent",
            )
        if a is Action.CASE_READ and act.outcome == "allowed":
            shown = [IDENTITY_NL[c] for c in IDENTITY_NL if c in act.disclosed_sections]
            if shown:
                return ReportLine(
                    f"{who} heeft de gegevens van uw casus bekeken {why}, met "
                    f"{_enumerate(shown)} van de betrokkenen.",
                    "persoonsgegevens: " + ", ".join(shown),
                )
            return ReportLine(
                f"{who} heeft de gegevens van uw casus bekeken {why}, zonder uw persoonsgegevens.",
                "alleen dat de casus bestaat",
            )
        if a is Action.PLAN_READ:
            # a read logs per part whether its text left ("text"), besides the plan's
            # structure; entries from before plan parts name the sections they showed
            sections = set(act.disclosed_sections)
            if sections - {"structure"}:
                return ReportLine(
                    f"{who} heeft het plan van aanpak voor uw casus ingezien {why}: de opzet "
                    "en de teksten die deze organisatie mocht lezen. Het plan gaat over de "
                    "hele casus, niet alleen over u.",
                    "opzet en gedeelde teksten van het plan",
                )
            if sections:
                return ReportLine(
                    f"{who} heeft de opzet van het plan van aanpak voor uw casus ingezien "
                    f"{why} (leefgebieden, afspraken en termijnen), maar geen van de teksten.",
                    "alleen de opzet van het plan",
                )
            return ReportLine(
                f"{who} heeft het plan van aanpak voor uw casus geopend voor een controle; "
                "er is niets uit het plan getoond.",
                "niets uit het plan getoond",
            )
        if a is Action.CASE_RECORD_NOTICE:
            return self._notice_line(act, who)
        if a is Action.PLAN_RECORD:
            return ReportLine(
                f"{who} heeft het plan van aanpak voor uw casus vastgelegd. Het plan gaat over "
                "de hele casus, niet alleen over u.",
                NOT_SHOWN,
            )
        if a is Action.CASE_SHRED:
            return ReportLine(
                "De gegevens van uw casus zijn onleesbaar gemaakt en vernietigd, omdat de "
                "bewaartermijn voorbij is.",
                NOT_SHOWN,
            )
        if a in (Action.LOG_QUERY, Action.LOG_EXPORT, Action.SUBJECT_ACCESS_REPORT):
            return ReportLine(
                f"{who} heeft {ACTION_NL[a]} {why}.", "alleen het logboek, niet de inhoud"
            )
        if a is Action.ACCESS_BREAK_GLASS:
            return ReportLine(f"{who} heeft {ACTION_NL[a]}.", LEVEL_NL[DisclosureLevel.FULL])
        return ReportLine(f"{who} heeft {ACTION_NL[a]}.", NOT_SHOWN)

    def _notice_line(self, act: ActView, who: str) -> ReportLine:
        """When and how the person (or their parents or guardians) was informed, and by
        whom; or that informing was postponed and until when. The reason of a postponement
        is left out on purpose: naming "a risk to an investigation" or "a risk to safety"
        to the person it concerns can cause the very harm the postponement prevents
        (ADR 0012)."""
        parts = (act.reason or "").split(":")
        try:
            if parts[0] == "informed" and len(parts) == 5:
                _, channel, party, day, informer = parts
                whom, plural = NOTICE_PARTY_NL[party]
                how = NOTICE_CHANNEL_NL[channel]
                when = date_nl(_noon(day), with_time=False)
                by = self._names.get(informer, "een organisatie")
                verb = "zijn" if plural else "bent" if whom == "u" else "is"
                return ReportLine(
                    f"{who} heeft vastgelegd dat {whom} op {when} {how} door {by} "
                    f"{verb} geïnformeerd dat uw situatie in {HUB} wordt besproken.",
                    NOT_SHOWN,
                )
            if parts[0] == "postponed" and len(parts) == 3:
                until = date_nl(_noon(parts[2]), with_time=False)
                return ReportLine(
                    f"{who} heeft vastgelegd dat het informeren van u over de bespreking van "
                    f"uw situatie in {HUB} is uitgesteld; uiterlijk op {until} wordt opnieuw "
                    "bekeken of u kunt worden geïnformeerd.",
                    NOT_SHOWN,
                )
        except (KeyError, ValueError):
            pass
        return ReportLine(f"{who} heeft {ACTION_NL[act.action]}.", NOT_SHOWN)


def _noon(day: str) -> datetime:
    """A calendar day of the Dutch clock as a moment on it (for `date_nl`)."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=ZONE)


# -- what art. 15(1) requires besides the acts ----------------------------------------------------


def _days(days: int) -> str:
    years = days / 365
    if days >= 365 and abs(years - round(years)) < 0.02:
        n = round(years)
        return f"{days} dagen ({n} jaar)"
    if days % 7 == 0 and days < 365:
        return f"{days} dagen ({days // 7} weken)"
    return f"{days} dagen"


def explanation(head: ReportHead) -> dict[str, str]:
    """The fixed paragraphs of art. 15(1): purposes, recipients, retention, source, the
    rights, the supervisory authority, automated decisions; and how to check the report."""
    return {
        "wat": (
            "Dit overzicht laat zien welke organisaties in het Zorg- en Veiligheidshuis "
            "informatie over u hebben vastgelegd, wie welke soort informatie over u heeft "
            "ingezien, hoeveel daarvan, wanneer en waarvoor (artikel 15 van de Algemene "
            "verordening gegevensbescherming, AVG). De inhoud van de informatie zelf staat "
            "hier niet in. Informatie over andere mensen in uw casus staat er ook niet in, "
            "behalve het plan van aanpak, dat over de hele casus gaat."
        ),
        "doelen": (
            "Het Zorg- en Veiligheidshuis brengt organisaties samen om mensen met problemen "
            "op meerdere terreinen te helpen en om onveilige situaties en criminaliteit te "
            "stoppen. Informatie wordt alleen gedeeld voor de stap waarin uw casus is: de "
            "aanmelding, de screening, de voorbereiding van het casusoverleg, het casusoverleg "
            "zelf, het opstellen en het uitvoeren van het plan van aanpak. Bij elke regel "
            "staat waarvoor het was."
        ),
        "ontvangers": (
            "Organisaties die aan uw casus meewerken, zien alleen wat zij voor hun taak nodig "
            "hebben: soms alleen dat er informatie is, soms een samenvatting, soms alles. Bij "
            "elke regel staat wie het was en hoeveel die organisatie zag; onderaan staat een "
            "lijst van alle organisaties die informatie over u hebben gezien."
        ),
        "bewaartermijn": (
            f"Informatie in een casus wordt bewaard tot {_days(head.retention_closed_days)} "
            "nadat de casus is afgesloten, of "
            f"{_days(head.retention_rejected_days)} nadat is besloten de casus niet in "
            "behandeling te nemen. Daarna wordt de informatie onleesbaar gemaakt en "
            "vernietigd. Het logboek van wie wat heeft gedaan blijft bewaard, zonder de "
            "inhoud van de informatie."
        ),
        "bron": (
            "De informatie komt van de organisaties die haar hebben vastgelegd; bij elke "
            "regel staat de bron. Het Zorg- en Veiligheidshuis verzamelt zelf geen "
            "informatie over u."
        ),
        "rechten": (
            "U hebt het recht om onjuiste informatie te laten verbeteren (rectificatie), "
            "informatie te laten verwijderen (wissing), het gebruik ervan te laten beperken "
            "(beperking) en bezwaar te maken tegen het gebruik (bezwaar). Vraag dat aan de "
            "organisatie die de informatie heeft vastgelegd (de bron), of aan het Zorg- en "
            "Veiligheidshuis; dan geven wij uw verzoek door."
        ),
        "klacht": (
            "Bent u het niet eens met hoe er met uw gegevens is omgegaan? Dan kunt u een "
            "klacht indienen bij de Autoriteit Persoonsgegevens "
            "(www.autoriteitpersoonsgegevens.nl)."
        ),
        "besluiten": (
            "Er worden over u geen besluiten genomen die alleen door een computer worden "
            "gemaakt. Vaste afspraken bepalen wel automatisch welke organisatie welke "
            "informatie mag zien; die afspraken zijn vooraf door de privacy-functionarissen "
            "van de organisaties goedgekeurd."
        ),
        "controle": (
            "Elke regel komt uit het beveiligde logboek van het Zorg- en Veiligheidshuis. Dat "
            "logboek is verzegeld met een digitale handtekening (het controlepunt hieronder); "
            "met de digitale versie van dit overzicht kan een deskundige van elke regel "
            "nagaan dat hij echt in het logboek staat en niet is veranderd."
        ),
    }


def _cases_nl(summary: Summary) -> list[str]:
    out = []
    for case in summary.cases:
        text = (
            f"Uw casus, aangemeld op {date_nl(case.registered_at, with_time=False)}, "
            f"{CASE_STATUS_NL.get(case.status, 'loopt nog')}."
        )
        if case.status == "shredded":
            pass
        elif case.legal_hold:
            text += (
                " De gegevens worden voorlopig langer bewaard, omdat daar een juridische reden "
                "voor is (bijvoorbeeld een klacht of een rechtszaak)."
            )
        elif case.retention_until is not None:
            text += (
                " De gegevens worden vernietigd op "
                f"{date_nl(case.retention_until, with_time=False)}."
            )
        else:
            text += " De bewaartermijn begint als de casus wordt afgesloten."
        out.append(text)
    return out


def _summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "type": "summary",
        "acts": summary.acts,
        "lines": summary.lines,
        "purposes": sorted(summary.purposes),
        "recipients": sorted(summary.recipients),
        "sources": sorted(summary.sources),
        "categories": sorted(summary.categories),
        "cases": _cases_nl(summary),
    }


# -- JSON Lines -------------------------------------------------------------------------------

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _line(obj: Mapping[str, Any]) -> str:
    return _ENCODER.encode(obj) + "\n"


def _act_json(act: ReportAct) -> dict[str, Any]:
    time = utc_moment(act.time_us)
    body: dict[str, Any] = {
        "type": "act",
        "seq": act.seq,
        "time": time.isoformat().replace("+00:00", "Z"),
        "when": date_nl(time),
        "organisation": act.organisation,
        "purpose": act.purpose,
        "lines": [
            {
                "text": line.text,
                "level": line.level,
                "information": line.information,
                "source": line.source,
            }
            for line in act.lines
        ],
        "leaf_hash": act.leaf_hash.hex(),
    }
    if act.proof is not None:
        body["inclusion_proof"] = [h.hex() for h in act.proof]
    return body


def render_jsonl(
    head: ReportHead,
    acts: Iterable[ReportAct],
    summary: Summary,
) -> Iterator[str]:
    """header, one line per act (with its inclusion proof), summary, end: the last line
    says how many acts came, so a cut-off stream is recognisable."""
    yield _line(
        {
            "type": "header",
            "title": "Inzageoverzicht persoonsgegevens (artikel 15 AVG)",
            "generated_at": head.generated_at.isoformat().replace("+00:00", "Z"),
            "checkpoint": dict(head.checkpoint),
            "verifier_key": head.verifier_key,
            "explanation": explanation(head),
        }
    )
    try:
        for act in acts:
            summary.add(act)
            yield _line(_act_json(act))
    except ReportFailed as exc:
        yield _line({"type": "error", "problem": str(exc)})
        return
    yield _line(_summary_json(summary))
    yield _line({"type": "end", "acts": summary.acts, "lines": summary.lines})


# -- HTML ----------------------------------------------------------------------------------------

_HERE: Final = Path(__file__).resolve().parent / "templates"
#: the report's stylesheet, embedded (API answer) or handed over as a string (PDF): a
#: document that links nothing can be rendered without fetching anything
REPORT_CSS: Final = (_HERE / "report.css").read_text(encoding="utf-8")


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["split_lines"] = str.splitlines
    return env


_MACROS: Final = _templates().get_template("report.html").module


def render_html(
    head: ReportHead,
    acts: Iterable[ReportAct],
    summary: Summary,
    *,
    standalone: bool = True,
) -> Iterator[str]:
    """A printable page, written act by act from the Jinja2 template `report.html`
    (autoescaped): the explanation, a table of what happened (in time order), the summary
    (who saw, where it came from, how long it is kept), the rights and the seal.

    `standalone`: a whole document with the stylesheet embedded (the API's answer, the PDF);
    otherwise a fragment for the auditor's web page, which styles it under its own CSP."""
    info = explanation(head)
    m: Any = _MACROS
    yield str(m.start(standalone, REPORT_CSS, info, date_nl(head.generated_at)))
    try:
        for act in acts:
            summary.add(act)
            yield str(m.act_rows(act, date_nl(utc_moment(act.time_us))))
    except ReportFailed:
        yield str(m.failed(standalone))
        return
    checkpoint = {
        "tree_size": int(head.checkpoint["tree_size"]),
        "root_hash": str(head.checkpoint["root_hash"]),
        "note": str(head.checkpoint["note"]),
    }
    yield str(
        m.finish(standalone, info, summary, _cases_nl(summary), checkpoint, head.verifier_key)
    )
