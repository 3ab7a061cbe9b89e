"""Plan text through the one door, over real HTTP (issue 14, item 4).

Every free text of the integral analysis and the plan -- an analysis per life domain, the risk
assessment, a goal, an intervention, a monitoring note -- is released part by part by the
policy, as a plan-note fact of its life domain and sensitivity: the housing corporation no
longer reads "Moeder in behandeling..." while it gets only summaries of the facts behind it.
The casusregisseur reads all it wrote, an intervention's owner always reads its intervention,
and every read's log entry says per part whether its text left the hub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit.models import LogEntry
from hub.context import HubContext
from hub.facts.models import Fact
from hub.plans.models import PlanNote, PlanVersion
from hub.rego.engine import DECISIONS_RULE
from tests.cases.test_workflow import example
from tests.conftest import RunningHub
from tests.disclosure.test_fail_closed import opa_hub  # noqa: F401
from tests.gate.test_fail_closed_actions import ScopedDouble, opa  # noqa: F401
from tests.plans.conftest import JUSTICE_ANALYSIS, MENTAL_HEALTH_ANALYSIS, PlanCase, _build
from tests.support import As, ok

pytestmark = pytest.mark.e2e

PROBLEM_JSON = "application/problem+json"
MENTAL_HEALTH_PLACEHOLDER = "analyse van leefgebied geestelijke gezondheid niet gedeeld"
JUSTICE_PLACEHOLDER = "analyse van leefgebied justitie niet gedeeld"


def _reads(world: PlanCase, partner: str) -> list[LogEntry]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(LogEntry)
            .where(
                LogEntry.case_id == world.case_id,
                LogEntry.action == "plan.read",
                LogEntry.actor_partner == partner,
            )
            .order_by(LogEntry.seq)
        ).all()
    return [LogEntry(**row._mapping) for row in rows]


def _analysis(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["life_domain"]: a for a in plan["analysis"]}


def _record(world: PlanCase, body: dict[str, Any] | None = None) -> str:
    recorded = ok(world.casusregisseur.put(world.plan_path, json=body or world.plan_body()), 201)
    version_id: str = recorded["id"]
    return version_id


def _with_owned_mental_health_work(world: PlanCase) -> dict[str, Any]:
    """The role-play plan plus a goal and an intervention the housing corporation owns on a
    life domain its matrix cell gives it only as a summary (special-category data, too)."""
    body = world.plan_body()
    body["goals"].append(
        {"id": "g3", "text": "Behandeling blijft thuis mogelijk.", "life_domain": "mental_health"}
    )
    body["interventions"].append(
        {
            "id": "i3",
            "text": "Woonbegeleiding afstemmen met de behandelaar.",
            "owner": "woningcorporatie",
            "deadline": "2027-04-01",
            "goal_id": "g3",
            "life_domain": "mental_health",
            "sensitivity": "special",
        }
    )
    return body


# -- what each viewer reads -----------------------------------------------------------------------


def test_housing_reads_neither_the_mental_health_nor_the_justice_analysis(
    plan_case: PlanCase,
) -> None:
    _record(plan_case)
    response = plan_case.woningcorporatie.get(plan_case.plan_path)
    plan = ok(response)
    analysis = _analysis(plan)

    assert MENTAL_HEALTH_ANALYSIS not in response.text
    assert JUSTICE_ANALYSIS not in response.text
    assert analysis["mental_health"]["assessment"] == MENTAL_HEALTH_PLACEHOLDER
    assert analysis["justice"]["assessment"] == JUSTICE_PLACEHOLDER
    for domain in ("mental_health", "justice"):
        assert analysis[domain]["released"] is False
        assert analysis[domain]["sensitivity"] is None  # not even how sensitive it is
    # what its matrix cell gives it in full, it reads
    assert analysis["housing"]["assessment"] == "Huurachterstand, dreigende ontruiming."
    assert analysis["housing"]["released"] is True
    assert plan["risk"]["assessment"] == "Ontruiming binnen drie maanden."
    # the structure stays readable under read_plan: domains, owners, deadlines, statuses
    assert [a["life_domain"] for a in plan["analysis"]] == [
        "safety",
        "housing",
        "mental_health",
        "justice",
    ]
    assert [(i["id"], i["owner"]) for i in plan["interventions"]] == [
        ("i1", "woningcorporatie"),
        ("i2", "gemeente-wi"),
    ]


def test_an_analysis_is_as_sensitive_as_the_facts_it_cites(plan_case: PlanCase) -> None:
    """The safety analysis cites a police incident (criminal-law data): the housing
    corporation's cell gives it safety in full, yet the analysis reaches it as the incident
    does, without the text -- even when the writer calls it ordinary."""
    body = plan_case.plan_body()
    body["analysis"][0]["sensitivity"] = "ordinary"
    _record(plan_case, body)

    safety = _analysis(ok(plan_case.woningcorporatie.get(plan_case.plan_path)))["safety"]
    assert safety["assessment"] == "analyse van leefgebied veiligheid niet gedeeld"
    assert safety["released"] is False
    assert "Criminal-law data" in safety["reason"]

    written = _analysis(ok(plan_case.casusregisseur.get(plan_case.plan_path)))["safety"]
    assert written["assessment"] == "Herhaalde overlast in de buurt."
    assert written["sensitivity"] == "criminal"


def test_an_analysis_takes_the_category_a_cited_fact_has_by_its_publisher(
    plan_case: PlanCase,
) -> None:
    """A police nuisance report is of an ordinary type, but what the police register is
    criminal-law data (the publisher's kind decides too): an analysis written from it only,
    and called ordinary, still does not reach the housing corporation in full."""
    report = ok(
        plan_case.politie.post(
            f"/api/v1/cases/{plan_case.case_id}/facts",
            json={
                "idempotency_key": "plan-parts-nuisance",
                "type": "police.nuisance_report/1",
                "legal_basis": "wpg_art_19",
                "content": example("police.nuisance_report/1"),
            },
        ),
        201,
    )["facts"][0]["id"]
    body = plan_case.plan_body()
    body["analysis"][0].update(fact_ids=[report], sensitivity="ordinary")
    _record(plan_case, body)

    safety = _analysis(ok(plan_case.woningcorporatie.get(plan_case.plan_path)))["safety"]
    assert safety["assessment"] == "analyse van leefgebied veiligheid niet gedeeld"
    assert safety["released"] is False
    assert "Criminal-law data" in safety["reason"]
    # the housing analysis, written from the housing corporation's own fact, still reads
    housing = _analysis(ok(plan_case.woningcorporatie.get(plan_case.plan_path)))["housing"]
    assert housing["released"] is True


def test_police_reads_the_safety_and_justice_analysis_in_full_and_not_the_rest(
    plan_case: PlanCase,
) -> None:
    _record(plan_case)
    response = plan_case.politie.get(plan_case.plan_path)
    analysis = _analysis(ok(response))

    assert analysis["safety"]["assessment"] == "Herhaalde overlast in de buurt."
    assert analysis["safety"]["released"] is True
    assert analysis["safety"]["sensitivity"] == "criminal"
    assert analysis["safety"]["reason"].startswith("At the multi_problem table")
    assert analysis["justice"]["assessment"] == JUSTICE_ANALYSIS
    assert analysis["mental_health"]["assessment"] == MENTAL_HEALTH_PLACEHOLDER
    assert analysis["housing"]["assessment"] == "analyse van leefgebied huisvesting niet gedeeld"
    assert MENTAL_HEALTH_ANALYSIS not in response.text


def test_an_owner_always_reads_its_intervention_its_goal_and_its_monitoring(
    plan_case: PlanCase,
) -> None:
    version_id = _record(plan_case, _with_owned_mental_health_work(plan_case))
    note = ok(
        plan_case.casusregisseur.post(
            plan_case.status_path("i3"),
            json={"status": "in_progress", "note": "Eerste afstemming gepland."},
        ),
        201,
    )

    plan = ok(plan_case.woningcorporatie.get(plan_case.plan_path))
    i3 = plan["interventions"][2]
    assert i3["text"] == "Woonbegeleiding afstemmen met de behandelaar."
    assert (i3["released"], i3["sensitivity"]) == (True, "special")
    assert "monitor_plan" in i3["reason"]
    assert plan["goals"][2]["text"] == "Behandeling blijft thuis mogelijk."
    assert i3["monitoring"][0]["note"] == "Eerste afstemming gepland."
    # the mental-health analysis itself stays withheld: owning work is not a matrix grant
    assert _analysis(plan)["mental_health"]["assessment"] == MENTAL_HEALTH_PLACEHOLDER

    other = ok(plan_case.om.get(plan_case.plan_path))
    assert other["interventions"][2]["text"] == (
        "interventie van leefgebied geestelijke gezondheid niet gedeeld"
    )
    assert other["goals"][2]["text"] == "doel van leefgebied geestelijke gezondheid niet gedeeld"
    assert other["interventions"][2]["monitoring"][0]["note"] == (
        "voortgangsnotitie van leefgebied geestelijke gezondheid niet gedeeld"
    )
    assert other["interventions"][2]["owner"] == "woningcorporatie"

    entry = _reads(plan_case, "woningcorporatie")[-1]
    assert entry.disclosed[f"{version_id}/interventions/2"] == ["text"]
    assert entry.disclosed[f"{version_id}/goals/2"] == ["text"]
    assert entry.disclosed[note["id"]] == ["text"]
    assert entry.disclosed[f"{version_id}/analysis/mental_health"] == []
    om_entry = _reads(plan_case, "om")[-1]
    assert om_entry.disclosed[f"{version_id}/interventions/2"] == []
    assert om_entry.disclosed[note["id"]] == []


def test_a_reporter_may_mark_its_monitoring_note_more_sensitive(plan_case: PlanCase) -> None:
    _record(plan_case)
    ok(
        plan_case.woningcorporatie.post(
            plan_case.status_path("i1"),
            json={
                "status": "in_progress",
                "note": "Huurder is opgenomen geweest.",
                "life_domain": "mental_health",
                "sensitivity": "special",
            },
        ),
        201,
    )
    om_note = ok(plan_case.om.get(plan_case.plan_path))["interventions"][0]["monitoring"][0]
    assert om_note["note"] == "voortgangsnotitie van leefgebied geestelijke gezondheid niet gedeeld"
    assert (om_note["life_domain"], om_note["released"]) == ("mental_health", False)
    cr_note = ok(plan_case.casusregisseur.get(plan_case.plan_path))["interventions"][0]
    assert cr_note["monitoring"][0]["note"] == "Huurder is opgenomen geweest."
    assert cr_note["monitoring"][0]["sensitivity"] == "special"


def test_the_casusregisseur_reads_everything_it_wrote(plan_case: PlanCase) -> None:
    """cr-1 acts as casusregisseur only, whose matrix row gives summaries: it reads the
    whole plan because the policy lets it record the plan (record_plan)."""
    _record(plan_case)
    plan = ok(plan_case.casusregisseur.get(plan_case.plan_path))
    analysis = _analysis(plan)
    assert analysis["mental_health"]["assessment"] == MENTAL_HEALTH_ANALYSIS
    assert analysis["justice"]["assessment"] == JUSTICE_ANALYSIS
    assert {a: p["sensitivity"] for a, p in analysis.items()} == {
        "safety": "criminal",
        "housing": "ordinary",
        "mental_health": "special",
        "justice": "criminal",
    }
    parts = [*plan["analysis"], plan["risk"], *plan["goals"], *plan["interventions"]]
    assert all(p["released"] for p in parts)
    assert "record_plan" in analysis["mental_health"]["reason"]


def test_every_plan_read_logs_per_part_what_was_released(plan_case: PlanCase) -> None:
    version_id = _record(plan_case)
    read = ok(plan_case.woningcorporatie.get(plan_case.plan_path))

    entries = _reads(plan_case, "woningcorporatie")
    assert [e.seq for e in entries] == [read["log_seq"]]
    v = version_id
    assert entries[0].disclosed == {
        v: ["structure"],
        f"{v}/analysis/safety": [],
        f"{v}/analysis/housing": ["text"],
        f"{v}/analysis/mental_health": [],
        f"{v}/analysis/justice": [],
        f"{v}/risk": ["text"],
        f"{v}/goals/0": ["text"],
        f"{v}/goals/1": ["text"],
        f"{v}/interventions/0": ["text"],
        f"{v}/interventions/1": ["text"],
    }
    assert entries[0].reason == "plan version 1: text of 6 of 9 parts, 0 monitoring notes"
    assert entries[0].policy_version == read["policy_version"]
    for spelling in (MENTAL_HEALTH_ANALYSIS, JUSTICE_ANALYSIS, "Huurachterstand"):
        assert spelling not in str(entries[0].disclosed) + str(entries[0].reason)


def test_the_parts_decision_fails_closed_with_a_logged_503(
    opa: ScopedDouble,  # noqa: F811
    opa_hub: RunningHub,  # noqa: F811
) -> None:
    with opa_hub.client() as http:
        builder = _build(opa_hub, http, opa_hub.settings.effective_database_url, to_plan=True)
        world = next(builder)
        try:
            version_id = _record(world)
            before = len(_reads(world, "om"))
            opa.fault, opa.rule, opa.injected = "http_500", DECISIONS_RULE, 0
            try:
                response = world.om.get(world.plan_path)
            finally:
                opa.fault, opa.rule = None, None
            assert opa.injected, "the read never asked the parts decision"
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            assert response.json()["type"].endswith("/policy-error")
            assert "Herhaalde overlast" not in response.text
            # the version was decrypted, so the read is logged -- disclosing nothing
            reads = _reads(world, "om")[before:]
            assert [e.disclosed for e in reads] == [{version_id: []}]
            with world.engine.connect() as conn:
                errors = conn.execute(
                    select(LogEntry).where(
                        LogEntry.case_id == world.case_id, LogEntry.action == "policy.error"
                    )
                ).all()
            assert [e.actor_partner for e in errors] == ["om"]
            # and without the fault the same read answers
            assert ok(world.om.get(world.plan_path))["id"] == version_id
        finally:
            builder.close()


# -- documents recorded before parts carried a life domain ------------------------------------


@pytest.fixture
def operator(plan_case: PlanCase) -> Iterator[HubContext]:
    ctx = HubContext.open(plan_case.settings)
    yield ctx
    ctx.close()


def _seal_old_version(world: PlanCase, ctx: HubContext) -> tuple[str, str]:
    """A plan/1 version and note in the shape recorded before this change: no life domain
    or sensitivity on the risk, goals, interventions or notes, none on the analyses."""
    version_id, note_id = str(uuid.uuid4()), str(uuid.uuid4())
    document = {
        "analysis": [
            {
                "life_domain": "housing",
                "assessment": "Huurachterstand, dreigende ontruiming.",
                "fact_ids": [world.fact_ids["housing"]],
            },
            {"life_domain": "mental_health", "assessment": MENTAL_HEALTH_ANALYSIS, "fact_ids": []},
        ],
        "risk": {"level": "high", "assessment": "Ontruiming binnen drie maanden."},
        "goals": [{"id": "g1", "text": "Woning behouden."}],
        "interventions": [
            {
                "id": "i1",
                "text": "Betalingsregeling en schuldhulp.",
                "owner": "woningcorporatie",
                "deadline": "2027-03-01",
                "status": "planned",
                "goal_id": "g1",
            }
        ],
    }
    note = {"intervention_id": "i1", "status": "in_progress", "note": "Regeling loopt."}
    with ctx.unit_of_work() as session:
        session.add(
            PlanVersion(
                id=version_id,
                case_id=world.case_id,
                version=1,
                content_ct=ctx.vault.seal_document(
                    session,
                    case_id=world.case_id,
                    record="plan",
                    row_id=version_id,
                    schema_id="plan/1",
                    document=document,
                ),
                recorded_by_partner="gemeente-wi",
                recorded_by_user="cr-1",
            )
        )
        session.flush()
        session.add(
            PlanNote(
                id=note_id,
                case_id=world.case_id,
                plan_version_id=version_id,
                content_ct=ctx.vault.seal_document(
                    session,
                    case_id=world.case_id,
                    record="plan_note",
                    row_id=note_id,
                    schema_id="plan_note/1",
                    document=note,
                ),
                recorded_by_partner="gemeente-wi",
                recorded_by_user="cr-1",
            )
        )
    return version_id, note_id


def test_a_plan_recorded_in_the_old_shape_still_reads(
    plan_case: PlanCase, operator: HubContext
) -> None:
    version_id, note_id = _seal_old_version(plan_case, operator)

    written = ok(plan_case.casusregisseur.get(plan_case.plan_path))
    assert written["id"] == version_id
    assert written["risk"]["assessment"] == "Ontruiming binnen drie maanden."
    assert written["risk"]["life_domain"] is None
    assert written["goals"][0]["text"] == "Woning behouden."
    assert written["interventions"][0]["monitoring"][0]["note"] == "Regeling loopt."

    # parts without a life domain do not match the catalogue: the policy withholds them,
    # except from the owner of the intervention they belong to
    owner = ok(plan_case.woningcorporatie.get(plan_case.plan_path))
    assert _analysis(owner)["housing"]["released"] is True
    assert _analysis(owner)["mental_health"]["assessment"] == MENTAL_HEALTH_PLACEHOLDER
    assert (
        owner["risk"]["assessment"]
        == "risico-inschatting niet gedeeld (geen leefgebied vastgelegd)"
    )
    assert owner["risk"]["reason"].startswith("This fact's type, life domain or sensitivity")
    assert owner["goals"][0]["text"] == "Woning behouden."
    assert owner["interventions"][0]["text"] == "Betalingsregeling en schuldhulp."
    assert owner["interventions"][0]["monitoring"][0]["note"] == "Regeling loopt."

    other = ok(plan_case.om.get(plan_case.plan_path))
    assert other["goals"][0]["text"] == "doel niet gedeeld (geen leefgebied vastgelegd)"
    assert other["interventions"][0]["text"] == (
        "interventie niet gedeeld (geen leefgebied vastgelegd)"
    )
    entry = _reads(plan_case, "om")[-1]
    assert entry.disclosed[f"{version_id}/risk"] == []
    assert entry.disclosed[note_id] == []


# -- writing: every part names its life domain, bad input changes nothing ----------------------


def test_a_part_without_a_life_domain_or_with_a_bad_label_is_refused_without_echo(
    plan_case: PlanCase,
) -> None:
    marker = "Geheim-MARKER-K3P"
    cases: list[tuple[dict[str, Any], str]] = []
    for section in ("goals", "interventions"):
        body = plan_case.plan_body()
        del body[section][1]["life_domain"]
        cases.append((body, f"/{section}/1/life_domain"))
    body = plan_case.plan_body()
    del body["risk"]["life_domain"]
    cases.append((body, "/risk/life_domain"))
    body = plan_case.plan_body()
    body["analysis"][2]["sensitivity"] = marker
    cases.append((body, "/analysis/2/sensitivity"))
    body = plan_case.plan_body()
    body["goals"][0]["life_domain"] = marker
    cases.append((body, "/goals/0/life_domain"))
    for bad, pointer in cases:
        response = plan_case.casusregisseur.put(plan_case.plan_path, json=bad)
        assert response.status_code == 400, (pointer, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert pointer in str(response.json()), (pointer, response.text)
        assert marker not in response.text
    assert ok(plan_case.casusregisseur.get(f"{plan_case.plan_path}/versions"))["versions"] == []

    _record(plan_case)
    refused = plan_case.woningcorporatie.post(
        plan_case.status_path("i1"), json={"status": "done", "sensitivity": marker}
    )
    assert refused.status_code == 400
    assert marker not in refused.text
    assert ok(plan_case.casusregisseur.get(plan_case.plan_path))["revision"] == 1


def test_plan_notes_cannot_be_published_as_facts(plan_case: PlanCase) -> None:
    """The plan-note types exist for the policy to decide plan text; no partner publishes
    one through the facts API, not even the casusregisseur's organisation."""
    publishers = (
        plan_case.woningcorporatie,
        As(plan_case.http, plan_case.settings, "gemeente-wi", "w-9", ["publisher"], "plan"),
    )
    for number, type_id in enumerate(
        ("plan.note/1", "plan.note_special/1", "plan.note_criminal/1")
    ):
        for publisher in publishers:
            response = publisher.post(
                f"/api/v1/cases/{plan_case.case_id}/facts",
                json={
                    "idempotency_key": f"plan-note-{number}-{publisher.partner}",
                    "type": type_id,
                    "subject_id": plan_case.subject_id,
                    "legal_basis": "convenant_zvh",
                    "content": {
                        "recorded_on": "2026-12-01",
                        "life_domain": "housing",
                        "text": "Poging om plantekst als feit te delen.",
                    },
                },
            )
            assert response.status_code == 403, (type_id, publisher.partner, response.text)
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
    with plan_case.engine.connect() as conn:
        stored = conn.execute(
            select(Fact.id).where(Fact.case_id == plan_case.case_id, Fact.fact_type.like("plan.%"))
        ).all()
        denied = conn.execute(
            select(LogEntry).where(
                LogEntry.case_id == plan_case.case_id, LogEntry.action == "fact.publish_denied"
            )
        ).all()
    assert stored == []
    assert len(denied) == 6
