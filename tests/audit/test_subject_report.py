"""The data-subject access report (AVG art. 15) of one person in a household, over real HTTP.

A family case with a father and a mother: the police record a nuisance report about the
father, the municipality debts of the mother, the GGZ the mother's care, the housing
corporation rent arrears of both and an eviction of the whole case. Five partners read
their briefings, one the updates feed, the plan of approach is recorded and read, one fact
is corrected. Then each parent's report must list exactly the acts on data about that
parent -- never the other parent's mental-health or debt facts -- in plain Dutch, with the
disclosure level of each act and what art. 15(1) requires, every act provable against the
signed checkpoint; and a report being streamed must hold no lock a write waits for.

Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.audit.checkpoints import parse_and_verify_checkpoint
from hub.audit.entry import Action, Outcome
from hub.audit.log import Actor, Event, RequestInfo
from hub.audit.merkle import verify_inclusion
from hub.audit.schemas import SubjectIdentifiers
from hub.cases.intake import subject_pseudonyms
from hub.cases.schemas import SubjectIn
from hub.context import HubContext
from hub.facts.catalog import FactTypeCatalog
from hub.identity.viewer import Viewer
from hub.settings import Settings
from hub.vocabulary import PartnerKind, Purpose, Role
from tests.conftest import RunningHub
from tests.disclosure.scenario import example, log_size, log_snapshot
from tests.support import As, inform_all, ok

pytestmark = pytest.mark.e2e

FATHER_BSN = "123456782"
FATHER_NAME = "Pieter Markerjansen"
FATHER_DOB = "1983-04-05"
MOTHER_BSN = "111222333"
MOTHER_NAME = "Anna Markervrouw"
MOTHER_DOB = "1986-09-30"
MARKER = "MARKERCONTENT-8d2e"
RETENTION_DAYS = 400

NUISANCE = "police.nuisance_report/1"
DEBT = "municipality.income_debt/1"
CARE = "mental_health.involvement/1"
ARREARS = "housing.rent_arrears/1"
EVICTION = "housing.eviction/1"
#: label -> (publisher, type, whom it concerns: "father", "mother", both, or the whole case)
FACTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "nuisance": ("politie", NUISANCE, ("father",)),
    "debt": ("gemeente-wi", DEBT, ("mother",)),
    "care": ("ggz", CARE, ("mother",)),
    "arrears": ("woningcorporatie", ARREARS, ("father", "mother")),
    "eviction": ("woningcorporatie", EVICTION, ()),
}
ROLES = ["publisher", "participant"]
READERS = ("politie", "woningcorporatie", "gemeente-wi", "om", "ggz")
#: what a citizen must never read: type ids, action codes, English vocabulary, snake_case
_CODES = sorted(
    {a.value for a in Action}
    | {t.id for t in FactTypeCatalog.load(Path(__file__).resolve().parents[2] / "schemas")}
    | {t.name for t in FactTypeCatalog.load(Path(__file__).resolve().parents[2] / "schemas")}
    | {k.value for k in PartnerKind}
    | {"summary", "full", "existence", "none", "allowed", "denied", "error"}
    | {"preparation", "case_conference", "execution", "policy_review", "subject_access"},
    key=len,
    reverse=True,
)
CODE = re.compile(r"\b(" + "|".join(map(re.escape, _CODES)) + r")\b|\b[a-z]+_[a-z_]+\b")

CATALOG = FactTypeCatalog.load(Path(__file__).resolve().parents[2] / "schemas")
LEVEL_WORD = {"summary": "samenvatting", "full": "volledig", "existence": "alleen het bestaan"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        checkpoint_every=16,
        retention_closed_days=RETENTION_DAYS,
    )


@dataclass
class Household:
    settings: Settings
    case_id: str
    subjects: dict[str, str]  # father/mother -> subject id
    facts: dict[str, str] = field(default_factory=dict)  # label -> fact id (latest version)
    corrected: dict[str, str] = field(default_factory=dict)  # old fact id -> label
    auditor: As | None = None

    def concerns(self, fact_id: str, person: str) -> bool:
        label = self.label(fact_id)
        whom = FACTS[label][2]
        return not whom or person in whom

    def label(self, fact_id: str) -> str:
        for label, fid in self.facts.items():
            if fid == fact_id:
                return label
        return self.corrected[fact_id]

    def report(self, person: str, fmt: str = "") -> httpx.Response:
        assert self.auditor is not None
        body = {"bsn": FATHER_BSN} if person == "father" else {"bsn": MOTHER_BSN}
        path = "/api/v1/audit/subject-access-reports" + (f"/{fmt}" if fmt else "")
        return self.auditor.post(path, json=body)


def _as(http: httpx.Client, s: Settings, partner: str, purpose: str) -> As:
    return As(http, s, partner, f"u-{partner}", ROLES, purpose)


@pytest.fixture
def household(hub: RunningHub) -> Iterator[Household]:
    s = hub.settings
    with hub.client() as http:
        politie = _as(http, s, "politie", "intake")
        case = ok(
            politie.post(
                "/api/v1/cases",
                json={
                    "kind": "family",
                    "proposed_table": "multi_problem",
                    "reason": f"Overlast en schulden {MARKER}",
                    "subjects": [
                        {
                            "role_in_case": "vader",
                            "bsn": FATHER_BSN,
                            "name": FATHER_NAME,
                            "date_of_birth": FATHER_DOB,
                        },
                        {
                            "role_in_case": "moeder",
                            "bsn": MOTHER_BSN,
                            "name": MOTHER_NAME,
                            "date_of_birth": MOTHER_DOB,
                        },
                    ],
                },
            ),
            201,
        )
        cid = case["id"]
        ids = {s_["role_in_case"]: s_["id"] for s_ in case["subjects"]}
        world = Household(s, cid, {"father": ids["vader"], "mother": ids["moeder"]})
        zvh = As(http, s, "zvh", "pr-1", ["procesregisseur"], "intake")
        ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
        zvh = zvh.with_purpose("screening")
        ok(zvh.post(f"/api/v1/cases/{cid}/screenings", json={}))
        criteria = {
            "multiple_life_domains": True,
            "criminal_or_nuisance_behaviour": True,
            "multiple_chains_needed": True,
            "impact_on_system_or_environment": True,
        }
        ok(
            zvh.post(
                f"/api/v1/cases/{cid}/triage", json={"criteria": criteria, "decision": "accept"}
            )
        )
        for partner in ("woningcorporatie", "gemeente-wi", "om", "ggz"):
            ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": partner}))
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))

        for label, (publisher, fact_type, whom) in FACTS.items():
            body: dict[str, Any] = {
                "idempotency_key": f"hh-{label}",
                "type": fact_type,
                "legal_basis": "convenant_zvh",
                "content": example(fact_type.replace("/", ".")),
            }
            if label == "care":  # the older single-subject field still works
                body["subject_id"] = world.subjects["mother"]
            elif whom:
                body["subject_ids"] = [world.subjects[w] for w in whom]
            out = ok(
                _as(http, s, publisher, "preparation").post(
                    f"/api/v1/cases/{cid}/facts", json=body
                ),
                201,
            )
            world.facts[label] = out["facts"][0]["id"]
            assert out["facts"][0]["subject_ids"] == sorted(world.subjects[w] for w in whom)

        for reader in READERS:
            ok(_as(http, s, reader, "preparation").get(f"/api/v1/cases/{cid}/briefing"))
        ok(
            _as(http, s, "om", "preparation").get(
                f"/api/v1/cases/{cid}/updates", params={"cursor": 0}
            )
        )
        corrected = ok(
            _as(http, s, "gemeente-wi", "preparation").post(
                f"/api/v1/facts/{world.facts['debt']}/corrections",
                json={"content": example("municipality.income_debt.1")},
            ),
            201,
        )
        world.corrected[world.facts["debt"]] = "debt"
        world.facts["debt"] = corrected["id"]

        zvh = zvh.with_purpose("preparation")
        inform_all(zvh, cid)
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
        ok(
            zvh.with_purpose("case_conference").put(
                f"/api/v1/cases/{cid}/casusregisseur",
                json={"partner": "gemeente-wi", "user": "cr-1"},
            )
        )
        regisseur = As(http, s, "gemeente-wi", "cr-1", ["casusregisseur"], "case_conference")
        ok(_as(http, s, "woningcorporatie", "case_conference").get(f"/api/v1/cases/{cid}/briefing"))
        ok(regisseur.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "plan"}))
        ok(
            regisseur.with_purpose("plan").put(
                f"/api/v1/cases/{cid}/plan",
                json={
                    "based_on_revision": 0,
                    "analysis": [
                        {
                            "life_domain": "housing",
                            "assessment": "Ontruiming dreigt.",
                            "fact_ids": [world.facts["arrears"], world.facts["eviction"]],
                        }
                    ],
                    "risk": {
                        "level": "high",
                        "assessment": "Huisuitzetting binnen drie maanden.",
                        "life_domain": "housing",
                    },
                    "goals": [
                        {"id": "g1", "text": "Ontruiming voorkomen", "life_domain": "housing"}
                    ],
                    "interventions": [
                        {
                            "id": "i1",
                            "text": "Betalingsregeling",
                            "owner": "woningcorporatie",
                            "deadline": "2027-01-31",
                            "goal_id": "g1",
                            "life_domain": "finances",
                        }
                    ],
                },
            ),
            201,
        )
        ok(_as(http, s, "woningcorporatie", "plan").get(f"/api/v1/cases/{cid}/plan"))

    with httpx.Client(base_url=hub.base_url, timeout=60) as audit_http:
        world.auditor = As(audit_http, s, "zvh", "aud-1", ["auditor"], "subject_access")
        yield world


# -- helpers --------------------------------------------------------------------------------------


def jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.headers["cache-control"] == "no-store"
    return [json.loads(line) for line in response.text.splitlines()]


def acts_of(report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in report if line["type"] == "act"]


def level_of(fact_type: str, fields: list[str]) -> str:
    """The disclosure level a read had, from the fields it released (independently of the
    hub's code: the fact type's field classes)."""
    if not fields:
        return "alleen het bestaan"
    classes = CATALOG.get(fact_type).disclosure_classes()
    return "samenvatting" if all(classes[f] == "summary" for f in fields) else "volledig"


def expected_fact_lines(world: Household, person: str) -> set[tuple[int, str, str]]:
    """(seq, kind of information, level) of every act on a fact about `person`, from the raw
    log and what the test published -- the report must list exactly these."""
    out: set[tuple[int, str, str]] = set()
    for row in log_snapshot(world.settings):
        if row["case_id"] != world.case_id or row["outcome"] != "allowed":
            continue
        action = row["action"]
        if action in ("briefing.read", "updates.read"):
            named = [
                (f, level_of(FACTS[world.label(f)][1], v)) for f, v in row["disclosed"].items()
            ]
            named += [
                (f, "alleen het bestaan") for f in row["object_ids"] if f not in row["disclosed"]
            ]
        elif action in ("fact.publish", "fact.correct", "fact.withdraw"):
            named = [(f, "geen informatie getoond") for f in row["object_ids"]]
        else:
            continue
        for fact_id, level in named:
            if world.concerns(fact_id, person):
                title = CATALOG.get(FACTS[world.label(fact_id)][1]).title
                out.add((row["seq"], title, level))
    return out


def fact_lines(report: list[dict[str, Any]]) -> set[tuple[int, str, str]]:
    return {
        (act["seq"], line["information"], line["level"])
        for act in acts_of(report)
        for line in act["lines"]
        if line["information"] is not None
    }


def texts(report: list[dict[str, Any]]) -> list[str]:
    """Every string a citizen reads in the JSON report (not the proofs, hashes and seal)."""
    technical = {"leaf_hash", "inclusion_proof", "checkpoint", "verifier_key", "type", "time"}
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in technical and key != "generated_at":
                    walk(item)

    for line in report:
        walk(line)
    return out


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip = tag in ("style", "title") or ("class", "mono") in attrs

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


# -- only the person's own data ------------------------------------------------------------------


@pytest.mark.parametrize("person", ["father", "mother"])
def test_a_report_lists_exactly_the_acts_on_data_about_that_person(
    household: Household, person: str
) -> None:
    report = jsonl(household.report(person))
    assert fact_lines(report) == expected_fact_lines(household, person)
    other = "mother" if person == "father" else "father"
    only_other = {CATALOG.get(t).title for label, (_, t, whom) in FACTS.items() if whom == (other,)}
    shown = {line["information"] for act in acts_of(report) for line in act["lines"]}
    assert only_other and not only_other & shown
    # the household's and the whole case's facts are in both reports
    assert {CATALOG.get(ARREARS).title, CATALOG.get(EVICTION).title} <= shown
    # the other parent's own publications are not acts on this person's data
    log = log_snapshot(household.settings)
    theirs = {
        r["seq"]
        for r in log
        if r["action"] == "fact.publish"
        and all(not household.concerns(f, person) for f in r["object_ids"])
    }
    assert theirs and not theirs & {a["seq"] for a in acts_of(report)}
    # case-level acts (registration, screening, the plan) are in both, and say the plan is
    # about the whole case
    case_texts = [x["text"] for a in acts_of(report) for x in a["lines"] if not x["information"]]
    assert any("heeft u aangemeld bij het Zorg- en Veiligheidshuis" in t for t in case_texts)
    assert any("(screening)" in t for t in case_texts)
    assert any(
        "heeft het plan van aanpak voor uw casus ingezien" in t and "hele casus" in t
        for t in case_texts
    )


def test_the_fathers_report_names_neither_the_mothers_care_nor_her_debts(
    household: Household,
) -> None:
    """The bug of issue 14 item 6, as the father would read it."""
    for response in (household.report("father"), household.report("father", "html")):
        assert response.status_code == 200
        page = response.text
        for words in ("GGZ: betrokkenheid", "zorg bij de GGZ", "inkomen en schulden"):
            assert words not in page, words
    mother = household.report("mother").text
    assert "zorg bij de GGZ" in mother and "inkomen en schulden" in mother


# -- plain Dutch, the level of each act, art. 15(1) ------------------------------------------------


def test_every_read_states_its_level_in_a_plain_dutch_sentence(household: Household) -> None:
    report = jsonl(household.report("father"))
    sentences = {
        (act["seq"], line["information"]): line
        for act in acts_of(report)
        for line in act["lines"]
        if line["information"]
    }
    nuisance = CATALOG.get(NUISANCE).title
    reads = [
        (row, level_of(NUISANCE, row["disclosed"][household.facts["nuisance"]]))
        for row in log_snapshot(household.settings)
        if row["action"] == "briefing.read" and household.facts["nuisance"] in row["disclosed"]
    ]
    assert len(reads) >= len(READERS)
    who = {
        "politie": "De politie",
        "woningcorporatie": "De woningcorporatie",
        "gemeente-wi": "De gemeente",
        "om": "Het Openbaar Ministerie",
        "ggz": "De GGZ-instelling",
    }
    why = {
        "preparation": "voor de voorbereiding van het casusoverleg",
        "case_conference": "voor het casusoverleg",
    }
    for row, level in reads:
        line = sentences[(row["seq"], nuisance)]
        assert line["level"] == level
        subject, purpose = who[row["actor_partner"]], why[row["purpose"]]
        expected = {
            "volledig": f"{subject} heeft een overlastmelding over u volledig ingezien {purpose}.",
            "samenvatting": f"{subject} heeft een samenvatting van een overlastmelding over u "
            f"ingezien {purpose}.",
            "alleen het bestaan": f"{subject} heeft alleen gezien dat er een overlastmelding "
            f"over u is, niet wat erin staat, {purpose}.",
        }[level]
        assert line["text"] == expected
        assert line["source"] == "Politie, basisteam Demo-Centrum"
    assert {level for _, level in reads} >= {"volledig"}  # the publisher's own read
    for act in acts_of(report):
        for line in act["lines"]:
            assert line["level"] in {
                "volledig",
                "samenvatting",
                "alleen het bestaan",
                "geen informatie getoond",
                "alleen of u bekend bent",
                "opzet en gedeelde teksten van het plan",
                "alleen de opzet van het plan",
                "niets uit het plan getoond",
                "alleen het logboek, niet de inhoud",
            }, line


def test_the_report_speaks_plain_dutch_without_codes(household: Household) -> None:
    report = jsonl(household.report("mother"))
    words = texts(report)
    assert len(words) > 50
    for text in words:
        assert not CODE.search(text), text
    page = household.report("mother", "html")
    assert page.headers["content-type"].startswith("text/html")
    visible = html_text(page.text)
    assert not CODE.search(visible), CODE.search(visible)
    assert "heeft een samenvatting van" in visible or "volledig ingezien" in visible


def test_the_report_holds_what_article_15_requires(household: Household) -> None:
    report = jsonl(household.report("father"))
    header, summary, end = report[0], report[-2], report[-1]
    assert header["type"] == "header" and summary["type"] == "summary" and end["type"] == "end"
    about = header["explanation"]
    # purposes, recipients, retention (from the settings), source, rights, complaint
    assert "casusoverleg" in about["doelen"] and "plan van aanpak" in about["doelen"]
    assert "organisaties" in about["ontvangers"].lower()
    assert f"{RETENTION_DAYS} dagen" in about["bewaartermijn"]
    assert "vastgelegd" in about["bron"]
    for right in ("rectificatie", "wissing", "beperking", "bezwaar"):
        assert right in about["rechten"], right
    assert "Autoriteit Persoonsgegevens" in about["klacht"]
    # the person's own recipients and sources, by organisation name
    log = log_snapshot(household.settings)
    names = {
        "politie": "Politie, basisteam Demo-Centrum",
        "woningcorporatie": "Woonstichting Demo",
        "gemeente-wi": "Gemeente Demo, Werk & Inkomen",
        "om": "Openbaar Ministerie, arrondissementsparket Demo",
        "ggz": "GGZ Demo",
    }
    readers = {
        names[r["actor_partner"]]
        for r in log
        if r["case_id"] == household.case_id
        and r["action"] in ("briefing.read", "updates.read", "plan.read")
        and (
            r["action"] == "plan.read"
            or any(household.concerns(f, "father") for f in r["object_ids"])
        )
    }
    assert set(summary["recipients"]) == readers
    assert set(summary["sources"]) == {names["politie"], names["woningcorporatie"]}
    assert "voor het casusoverleg" in summary["purposes"]
    assert summary["cases"] and "loopt nog" in summary["cases"][0]
    assert (end["acts"], end["lines"]) == (
        len(acts_of(report)),
        sum(len(a["lines"]) for a in acts_of(report)),
    )
    page = html_text(household.report("father", "html").text)
    for words in (
        f"{RETENTION_DAYS} dagen",
        "rectificatie",
        "wissing",
        "beperking",
        "bezwaar",
        "Autoriteit Persoonsgegevens",
        "Woonstichting Demo",
        "Bron",
    ):
        assert words in page, words


def test_no_identifier_or_content_reaches_the_report(household: Household) -> None:
    example_values = [
        str(v)
        for label in FACTS
        for v in example(FACTS[label][1].replace("/", ".")).values()
        if isinstance(v, str) and len(v) > 8 and not v[:4].isdigit()
    ]
    assert example_values
    for person in ("father", "mother"):
        for fmt in ("", "html"):
            page = household.report(person, fmt).text
            for secret in (
                FATHER_BSN,
                MOTHER_BSN,
                FATHER_NAME,
                MOTHER_NAME,
                "Markerjansen",
                FATHER_DOB,
                MOTHER_DOB,
                MARKER,
                *household.subjects.values(),
                *example_values,
            ):
                assert secret not in page, secret


# -- provable, from one snapshot, without a lock ---------------------------------------------------


def test_every_act_is_proven_against_the_signed_checkpoint(household: Household) -> None:
    ctx = HubContext.open(household.settings)
    verifier_key = ctx.log.signer.verifier_key  # pinned out of band
    ctx.close()
    report = jsonl(household.report("father"))
    checkpoint = report[0]["checkpoint"]
    signed = parse_and_verify_checkpoint(checkpoint["note"], verifier_key)
    assert signed.tree_size == checkpoint["tree_size"]
    stored = {r["seq"]: r["leaf_hash"] for r in log_snapshot(household.settings)}
    seqs = [a["seq"] for a in acts_of(report)]
    assert seqs == sorted(set(seqs)) and len(seqs) > 10
    for act in acts_of(report):
        assert act["seq"] < signed.tree_size
        assert bytes.fromhex(act["leaf_hash"]) == stored[act["seq"]]
        verify_inclusion(
            act["seq"],
            signed.tree_size,
            stored[act["seq"]],
            [bytes.fromhex(h) for h in act["inclusion_proof"]],
            signed.root,
        )
    # the report's own request is its last act: it is logged before the checkpoint is signed
    assert "inzageoverzicht over u opgesteld" in acts_of(report)[-1]["lines"][0]["text"]
    assert acts_of(report)[-1]["seq"] == signed.tree_size - 1


def _auditor(ctx: HubContext) -> Viewer:
    return Viewer(
        partner="zvh",
        partner_kind=PartnerKind.ZVH_STAFF,
        user="aud-1",
        roles=frozenset({Role.AUDITOR}),
        purpose=Purpose.SUBJECT_ACCESS,
        request=RequestInfo(source="test", purpose=Purpose.SUBJECT_ACCESS),
    )


def test_a_write_completes_while_a_report_stream_is_open(
    household: Household, hub: RunningHub
) -> None:
    """The report reads one snapshot and holds no lock: a publish (which locks the log head
    to append its entry) finishes while the stream stands still in the middle, and nothing
    it wrote shows up in the report."""
    ctx = HubContext.open(household.settings)
    try:
        stream = ctx.audit.subject_report(
            _auditor(ctx), SubjectIdentifiers(bsn=FATHER_BSN), fmt="jsonl"
        )
        header = json.loads(next(stream))
        first_act = json.loads(next(stream))  # the snapshot is open and being read
        assert (header["type"], first_act["type"]) == ("header", "act")
        size = header["checkpoint"]["tree_size"]

        done: list[int] = []

        def publish() -> None:
            with hub.client() as http:
                out = ok(
                    _as(http, household.settings, "politie", "plan").post(
                        f"/api/v1/cases/{household.case_id}/facts",
                        json={
                            "idempotency_key": "during-report",
                            "type": NUISANCE,
                            "subject_ids": [household.subjects["father"]],
                            "legal_basis": "convenant_zvh",
                            "content": example("police.nuisance_report.1"),
                        },
                    ),
                    201,
                )
                done.append(len(out["facts"]))

        writer = threading.Thread(target=publish)
        writer.start()
        writer.join(timeout=20)
        assert not writer.is_alive() and done == [1], "the write waited for the report"
        assert log_size(household.settings) > size

        rest = [json.loads(line) for line in stream]
        assert rest[-1]["type"] == "end"
        assert all(line["seq"] < size for line in [first_act, *rest] if line["type"] == "act")
    finally:
        ctx.close()


def test_bad_identifiers_are_refused_before_anything_is_logged(household: Household) -> None:
    assert household.auditor is not None
    before = log_size(household.settings)
    for body in ({}, {"bsn": "123456789"}, {"name": FATHER_NAME}, {"bsn": FATHER_BSN, "x": 1}):
        response = household.auditor.post("/api/v1/audit/subject-access-reports", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "123456789" not in response.text and FATHER_NAME not in response.text
    assert log_size(household.settings) == before


# -- entries written before format v2 ------------------------------------------------------------


def test_older_entries_are_filtered_through_the_facts_subjects(household: Household) -> None:
    """Before entry format v2 a briefing entry named every subject of the case and not per
    fact; the report then asks which subjects each fact concerns."""
    ctx = HubContext.open(household.settings)
    try:
        indexer = ctx.keys.blind_indexer()
        everyone = sorted(
            set(subject_pseudonyms(indexer, SubjectIn(role_in_case="x", bsn=FATHER_BSN)).values())
            | set(subject_pseudonyms(indexer, SubjectIn(role_in_case="x", bsn=MOTHER_BSN)).values())
            | {
                subject_pseudonyms(
                    indexer,
                    SubjectIn(role_in_case="x", name=n, date_of_birth=d),  # type: ignore[arg-type]
                )["name_dob"]
                for n, d in ((FATHER_NAME, FATHER_DOB), (MOTHER_NAME, MOTHER_DOB))
            }
        )
        facts = household.facts
        disclosed = {facts["care"]: ("care_status", "since"), facts["nuisance"]: ("incident_date",)}
        with ctx.db.transaction() as session:
            entry = ctx.log.append(
                session,
                Event(
                    action=Action.BRIEFING_READ,
                    outcome=Outcome.ALLOWED,
                    case_id=household.case_id,
                    object_ids=sorted(disclosed),
                    disclosed=disclosed,
                    subject_pseudonyms=everyone,  # the old way: the whole case, per entry
                ),
                actor=Actor("om", PartnerKind.PROSECUTION, "o-1", (Role.PARTICIPANT,)),
                request=RequestInfo(purpose=Purpose.CASE_CONFERENCE),
            )
        assert not entry.fact_subjects
    finally:
        ctx.close()
    for person, label, other in (("father", "nuisance", "care"), ("mother", "care", "nuisance")):
        report = jsonl(household.report(person))
        [act] = [a for a in acts_of(report) if a["seq"] == entry.seq]
        shown = {line["information"] for line in act["lines"]}
        assert shown == {CATALOG.get(FACTS[label][1]).title}
        assert CATALOG.get(FACTS[other][1]).title not in shown
