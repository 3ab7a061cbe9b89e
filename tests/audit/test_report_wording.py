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
