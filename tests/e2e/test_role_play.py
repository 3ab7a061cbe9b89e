"""The role play of the D66 work visit to Veiligheidshuis Hollands Midden, over real HTTP.

One family; six partners (police, OM, municipality work & income, housing corporation,
social work, probation) each publish what they hold. Each partner's briefing must show
exactly what the network's rules allow, in preparation and in the case conference, and the
access log must name every fact and field that left the hub.

The expected levels below are written from the rules (issue "policies", item 3, and the
role profiles of the disclosure matrix), not read back from the policy's answers:
- the publisher always sees its own facts in full;
- preparation: invited table members get summaries of everything;
- case conference: full on the life domains a partner's role needs, summary elsewhere;
  criminal-law data (by its type, or because police, OM or probation published it) reaches
  non-justice partners at summary only;
- a summary for a partner with neither a care nor a justice task (municipality, housing)
  holds no field that reveals an offence category or a procedural role (ADR 0104).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from hub.audit.models import LogEntry
from hub.facts.catalog import FactTypeCatalog
from hub.settings import PROJECT_ROOT, Settings
from hub.vocabulary import DisclosureLevel
from tests.conftest import RunningHub
from tests.support import As, inform_all, ok

EXAMPLES = PROJECT_ROOT / "schemas" / "examples"
CATALOG = FactTypeCatalog.load(PROJECT_ROOT / "schemas")

#: fact key -> (publisher, fact type)
FACTS: dict[str, tuple[str, str]] = {
    "nuisance": ("politie", "police.nuisance_report/1"),
    "incident": ("politie", "police.incident/1"),
    "prosecution": ("om", "prosecution.case_status/1"),
    "income": ("gemeente-wi", "municipality.income_debt/1"),
    "arrears": ("woningcorporatie", "housing.rent_arrears/1"),
    "eviction": ("woningcorporatie", "housing.eviction/1"),
    "complaint": ("woningcorporatie", "housing.nuisance_complaint/1"),
    "social_work": ("maatschappelijk-werk", "social_work.involvement/1"),
    "supervision": ("reclassering", "probation.supervision/1"),
}
PARTNERS = {
    "politie": ["publisher", "participant"],
    "om": ["publisher", "participant"],
    "gemeente-wi": ["publisher", "participant"],
    "woningcorporatie": ["publisher", "participant"],
    "maatschappelijk-werk": ["publisher", "participant"],
    "reclassering": ["publisher", "participant"],
}
S, F = DisclosureLevel.SUMMARY, DisclosureLevel.FULL
#: partners with neither a care nor a justice task (policies/data/network.json)
WITHOUT_TASK = {"gemeente-wi", "woningcorporatie"}

#: case conference, viewer -> fact -> level, for facts the viewer did not publish
CASE_CONFERENCE: dict[str, dict[str, DisclosureLevel]] = {
    # police: full on safety and justice
    "politie": {
        "prosecution": F,
        "income": S,
        "arrears": S,
        "eviction": S,
        "complaint": S,
        "social_work": S,
        "supervision": F,
    },
    # OM: full on justice and safety
    "om": {
        "nuisance": F,
        "incident": F,
        "income": S,
        "arrears": S,
        "eviction": S,
        "complaint": S,
        "social_work": S,
        "supervision": F,
    },
    # municipality: full on finances, housing, daytime, social network; criminal at summary
    "gemeente-wi": {
        "nuisance": S,
        "incident": S,
        "prosecution": S,
        "arrears": F,
        "eviction": F,
        "complaint": F,
        "social_work": F,
        "supervision": S,
    },
    # housing corporation: full on housing, finances, safety; criminal (police data) at summary
    "woningcorporatie": {
        "nuisance": S,
        "incident": S,
        "prosecution": S,
        "income": F,
        "social_work": S,
        "supervision": S,
    },
    # social work: full on social network, finances, family relations; criminal at summary
    "maatschappelijk-werk": {
        "nuisance": S,
        "incident": S,
        "prosecution": S,
        "income": F,
        "arrears": F,
        "eviction": S,
        "complaint": S,
        "supervision": S,
    },
    # probation: full on justice, safety, addiction, daytime activity
    "reclassering": {
        "nuisance": F,
        "incident": F,
        "prosecution": F,
        "income": S,
        "arrears": S,
        "eviction": S,
        "complaint": S,
        "social_work": S,
    },
}


def expected_fields(viewer: str, key: str, level: DisclosureLevel) -> set[str]:
    publisher, type_id = FACTS[key]
    fact_type = CATALOG.get(type_id)
    example = json.loads((EXAMPLES / f"{type_id.replace('/', '.')}.json").read_text())
    if viewer == publisher:
        return set(example)
    fields = set(example) & set(fact_type.fields_at(level))
    if level is S and viewer in WITHOUT_TASK:
        fields -= set(fact_type.revealing_fields())
    return fields


def briefing_facts(briefing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for d in briefing["domains"] for f in d["facts"]}


def run_scenario(hub: RunningHub) -> dict[str, Any]:
    settings: Settings = hub.settings
    with hub.client() as http:
        police = As(http, settings, "politie", "wijkagent-17", PARTNERS["politie"], "intake")
        case = ok(
            police.post(
                "/api/v1/cases",
                json={
                    "kind": "family",
                    "proposed_table": "multi_problem",
                    "reason": "Gezin met overlast, schulden en dreigende huisuitzetting",
                    "subjects": [{"role_in_case": "parent", "bsn": "111222333"}],
                },
            ),
            201,
        )
        cid, subject = case["id"], case["subjects"][0]["id"]
        zvh = As(http, settings, "zvh", "procesregisseur-1", ["procesregisseur"], "intake")
        ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
        zvh = zvh.with_purpose("screening")
        ok(
            zvh.post(
                f"/api/v1/cases/{cid}/triage",
                json={
                    "criteria": {
                        "multiple_life_domains": True,
                        "criminal_or_nuisance_behaviour": True,
                        "multiple_chains_needed": True,
                        "impact_on_system_or_environment": True,
                    },
                    "decision": "accept",
                    "table": "multi_problem",
                },
            )
        )
        for partner in PARTNERS:
            if partner != "politie":
                ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": partner}))
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))

        ids: dict[str, str] = {}
        for key, (publisher, type_id) in FACTS.items():
            actor = As(
                http, settings, publisher, f"{publisher}-user", PARTNERS[publisher], "preparation"
            )
            example = json.loads((EXAMPLES / f"{type_id.replace('/', '.')}.json").read_text())
            published = ok(
                actor.post(
                    f"/api/v1/cases/{cid}/facts",
                    json={
                        "idempotency_key": f"roleplay-{key}",
                        "type": type_id,
                        "subject_id": subject,
                        "legal_basis": "convenant_zvh",
                        "content": example,
                    },
                ),
                201,
            )
            ids[key] = published["facts"][0]["id"]

        def briefings(purpose: str) -> dict[str, dict[str, Any]]:
            return {
                partner: ok(
                    As(http, settings, partner, f"{partner}-user", roles, purpose).get(
                        f"/api/v1/cases/{cid}/briefing"
                    )
                )
                for partner, roles in PARTNERS.items()
            }

        preparation = briefings("preparation")
        zvh = zvh.with_purpose("preparation")
        inform_all(zvh, cid)
        ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
        conference = briefings("case_conference")
    return {"case": cid, "ids": ids, "preparation": preparation, "conference": conference}


def assert_briefing(
    viewer: str, briefing: dict[str, Any], ids: dict[str, str], expected: dict[str, DisclosureLevel]
) -> None:
    shown = briefing_facts(briefing)
    by_id = {v: k for k, v in ids.items()}
    seen = {by_id[i]: f for i, f in shown.items()}
    assert set(seen) == set(FACTS), f"{viewer} must see every fact at some level"
    for key, fact in seen.items():
        publisher, _ = FACTS[key]
        level = F if publisher == viewer else expected[key]
        assert fact["level"] == level.value, f"{viewer} sees {key} at {fact['level']}"
        assert set(fact["fields"]) == expected_fields(viewer, key, level), (viewer, key)
        assert fact["reason"], "every decision names its reason"


def test_each_partner_sees_exactly_what_the_rules_allow(hub: RunningHub) -> None:
    result = run_scenario(hub)
    ids = result["ids"]
    for viewer, briefing in result["preparation"].items():
        assert_briefing(viewer, briefing, ids, dict.fromkeys(FACTS, S))
    for viewer, briefing in result["conference"].items():
        assert_briefing(viewer, briefing, ids, CASE_CONFERENCE[viewer])

    # never-shared fields (e.g. victim details of a police incident) reach no one else
    never = {
        f
        for f, spec in CATALOG.get("police.incident/1").fields.items()
        if spec.disclosure.value == "never"
    }
    assert never
    for phase in ("preparation", "conference"):
        for viewer, briefing in result[phase].items():
            if viewer != "politie":
                incident = briefing_facts(briefing)[ids["incident"]]
                assert not never & set(incident["fields"])

    # the log names every fact and field each briefing disclosed
    engine = create_engine(hub.settings.effective_database_url)
    with engine.connect() as conn:
        for phase in ("preparation", "conference"):
            for viewer, briefing in result[phase].items():
                row = conn.execute(
                    select(LogEntry).where(LogEntry.seq == briefing["log_seq"])
                ).one()
                assert row.action == "briefing.read"
                assert row.actor_partner == viewer
                assert row.case_id == result["case"]
                disclosed = {k: set(v) for k, v in row.disclosed.items()}
                assert disclosed == {
                    i: set(f["fields"]) for i, f in briefing_facts(briefing).items()
                }
    engine.dispose()


def test_an_outsider_learns_nothing_not_even_that_the_case_exists(hub: RunningHub) -> None:
    result = run_scenario(hub)
    with hub.client() as http:
        ggz = As(http, hub.settings, "ggz", "ggz-user", ["participant"], "case_conference")
        missing = ggz.get(f"/api/v1/cases/{result['case']}/briefing")
        unknown = ggz.get("/api/v1/cases/00000000-0000-0000-0000-000000000000/briefing")
    assert missing.status_code == unknown.status_code == 404
    assert missing.json()["detail"] == unknown.json()["detail"]


def test_examples_exist_for_every_role_play_fact() -> None:
    for _, type_id in FACTS.values():
        assert Path(EXAMPLES / f"{type_id.replace('/', '.')}.json").is_file()


def test_the_case_conference_minutes_are_released_per_life_domain(hub: RunningHub) -> None:
    """The procesregisseur puts the case on a case conference and records its minutes on two
    life domains (ADR 0013): the housing corporation reads the housing part and not the
    mental-health part, the recorder reads what it wrote, and the log names per part whether
    its text left."""
    result = run_scenario(hub)
    cid = result["case"]
    with hub.client() as http:
        zvh = As(
            http, hub.settings, "zvh", "procesregisseur-1", ["procesregisseur"], "case_conference"
        )
        meeting = ok(
            zvh.post(
                "/api/v1/meetings",
                json={
                    "table": "multi_problem",
                    "starts_at": "2027-01-12T09:00:00+01:00",
                    "ends_at": "2027-01-12T10:30:00+01:00",
                    "video_link": "https://overleg.example.nl/o3",
                    "chair": {
                        "partner": "zvh",
                        "user": "procesregisseur-1",
                        "role": "procesregisseur",
                    },
                },
            ),
            201,
        )
        base = f"/api/v1/meetings/{meeting['id']}"
        item = ok(zvh.post(f"{base}/items", json={"case_id": cid}), 201)
        minutes_path = f"{base}/items/{item['id']}/minutes"
        recorded = ok(
            zvh.post(
                minutes_path,
                json={
                    "parts": [
                        {"life_domain": "housing", "text": "Betalingsregeling afgesproken."},
                        {
                            "life_domain": "mental_health",
                            "sensitivity": "special",
                            "text": "Behandeling loopt; behandelaar sluit aan.",
                        },
                    ]
                },
            ),
            201,
        )
        housing_id, health_id = recorded["part_ids"]

        def released(partner: str) -> dict[str, bool]:
            who = As(
                http, hub.settings, partner, f"{partner}-user", PARTNERS[partner], "case_conference"
            )
            return {p["id"]: p["released"] for p in ok(who.get(minutes_path))["parts"]}

        assert released("woningcorporatie") == {housing_id: True, health_id: False}
        own = {p["id"]: p["released"] for p in ok(zvh.get(minutes_path))["parts"]}
        assert own == {housing_id: True, health_id: True}
    engine = create_engine(hub.settings.effective_database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(LogEntry).where(
                LogEntry.action == "minutes.read", LogEntry.actor_partner == "woningcorporatie"
            )
        ).all()
    engine.dispose()
    assert [(r.disclosed[housing_id], r.disclosed[health_id]) for r in rows] == [(["text"], [])]
