"""Every word of the data-subject access report is Dutch a citizen can read: each vocabulary
the log speaks in has a Dutch wording for every member, and none of them is a code."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hub.audit.entry import Action
from hub.audit.report import (
    ACTION_NL,
    FACT_NL,
    KIND_NL,
    LEVEL_NL,
    PURPOSE_NL,
    ActView,
    FactView,
    Wording,
    date_nl,
)
from hub.facts.catalog import FactTypeCatalog
from hub.settings import PROJECT_ROOT
from hub.vocabulary import DisclosureLevel, PartnerKind, Purpose

CATALOG = FactTypeCatalog.load(PROJECT_ROOT / "schemas")
CODE = re.compile(r"[a-z]+_[a-z_]+|[a-z_]+\.[a-z_]+/\d|\b(summary|full|existence|none)\b")


def test_every_vocabulary_member_has_a_dutch_wording() -> None:
    assert set(ACTION_NL) == set(Action)
    assert set(KIND_NL) == set(PartnerKind)
    assert set(PURPOSE_NL) == set(Purpose)
    assert set(LEVEL_NL) == set(DisclosureLevel)
    assert set(FACT_NL) == {t.name for t in CATALOG}
    for text in [
        *ACTION_NL.values(),
        *KIND_NL.values(),
        *PURPOSE_NL.values(),
        *LEVEL_NL.values(),
        *(phrase for phrase, _ in FACT_NL.values()),
    ]:
        assert text and not CODE.search(text), text


def test_every_fact_phrase_names_the_person() -> None:
    for phrase, _ in FACT_NL.values():
        assert re.search(r"\b(u|uw)\b", phrase) or "gezin" in phrase or "leerplicht" in phrase


def _act(action: Action, outcome: str = "allowed", **kw: object) -> ActView:
    base: dict[str, object] = {
        "seq": 1,
        "time_us": 1_700_000_000_000_000,
        "action": action,
        "outcome": outcome,
        "actor_partner": "x",
        "actor_partner_kind": "housing",
        "actor_roles": ("participant",),
        "purpose": "case_conference",
        "case_id": "c-1",
        "object_ids": (),
        "disclosed_sections": (),
        "leaf_hash": bytes(32),
    }
    base.update(kw)
    return ActView(**base)  # type: ignore[arg-type]


def test_every_act_reads_as_a_dutch_sentence() -> None:
    wording = Wording(CATALOG, {"x": "Woonstichting Demo"})
    nuisance = FactView("police.nuisance_report/1", "p", "police", ("incident_date",))
    for action in Action:
        for outcome in ("allowed", "denied", "error"):
            act = wording.describe(_act(action, outcome, facts=(nuisance,)), None)
            assert act is not None, action
            for line in act.lines:
                assert line.text[0].isupper() and line.text.endswith("."), line.text
                assert not CODE.search(line.text), line.text
                assert not CODE.search(line.level), line.level
    read = wording.describe(
        _act(
            Action.BRIEFING_READ,
            facts=(FactView("police.nuisance_report/1", "p", "police", ("report_date",)),),
        ),
        None,
    )
    assert read is not None
    assert read.lines[0].text == (
        "De woningcorporatie heeft een samenvatting van een overlastmelding over u ingezien "
        "voor het casusoverleg."
    )
    assert read.lines[0].level == "samenvatting"


def test_times_are_given_on_the_dutch_clock() -> None:
    assert date_nl(datetime(2026, 12, 3, 13, 5, tzinfo=UTC)) == "3 december 2026 om 14:05"
    assert date_nl(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "2 juli 2026 om 00:30"


def test_a_plan_read_says_how_much_of_the_plan_was_shown() -> None:
    """Plan text is released part by part: the report must not call a read that showed only
    the structure, or nothing at all, a read of the whole plan."""
    wording = Wording(CATALOG, {"x": "Woonstichting Demo"})

    def level(sections: tuple[str, ...]) -> str:
        act = wording.describe(_act(Action.PLAN_READ, disclosed_sections=sections), None)
        assert act is not None
        return act.lines[0].level

    assert level(("structure", "text")) == "opzet en gedeelde teksten van het plan"
    assert level(("structure",)) == "alleen de opzet van het plan"
    assert level(()) == "niets uit het plan getoond"
    # entries from before plan parts named the sections they showed
    assert level(("analysis", "goals", "interventions")) == "opzet en gedeelde teksten van het plan"


def test_a_notice_says_when_and_how_the_person_was_informed_but_not_why_it_waits() -> None:
    """ADR 0012: the person reads when, how and by whom they (or their parents or guardians)
    were informed, or that informing was postponed and until when -- never the reason of a
    postponement, which could do the harm the postponement prevents."""
    wording = Wording(CATALOG, {"x": "Woonstichting Demo", "politie-zaanstad": "Politie Zaanstad"})

    def text(reason: str) -> str:
        act = wording.describe(_act(Action.CASE_RECORD_NOTICE, reason=reason), None)
        assert act is not None and len(act.lines) == 1
        assert act.lines[0].level == "geen informatie getoond"
        assert not CODE.search(act.lines[0].text), act.lines[0].text
        return act.lines[0].text

    assert text("informed:in_person:subject:2026-12-03:politie-zaanstad") == (
        "De woningcorporatie heeft vastgelegd dat u op 3 december 2026 in een persoonlijk "
        "gesprek door Politie Zaanstad bent geïnformeerd dat uw situatie in het Zorg- en "
        "Veiligheidshuis wordt besproken."
    )
    assert "dat uw ouders of verzorgers op 1 juli 2026 per brief door Woonstichting Demo zijn" in (
        text("informed:letter:parents_or_guardians:2026-07-01:x")
    )
    assert "dat u en uw ouders of verzorgers op" in text("informed:phone:both:2026-07-01:x")
    for reason in ("risk_to_safety", "risk_to_investigation", "subject_unreachable", "other"):
        postponed = text(f"postponed:{reason}:2027-01-15")
        assert postponed == (
            "De woningcorporatie heeft vastgelegd dat het informeren van u over de bespreking "
            "van uw situatie in het Zorg- en Veiligheidshuis is uitgesteld; uiterlijk op 15 "
            "januari 2027 wordt opnieuw bekeken of u kunt worden geïnformeerd."
        )
    # an entry whose codes this hub does not know still reads as a sentence
    assert text("informed:carrier_pigeon:subject:2026-12-03:x") == (
        "De woningcorporatie heeft vastgelegd of en hoe u bent geïnformeerd dat uw casus wordt "
        "besproken."
    )
