"""The plan of approach over real HTTP: who records it, who reads it, what is refused, and
what the access log and the raw database hold afterwards."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit.models import LogEntry
from hub.settings import Settings
from tests.plans.conftest import PlanCase
from tests.support import ok

pytestmark = pytest.mark.e2e

PROBLEM_JSON = "application/problem+json"


def _log(world: PlanCase, action: str) -> list[LogEntry]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(LogEntry).where(LogEntry.case_id == world.case_id, LogEntry.action == action)
        ).all()
    return [LogEntry(**row._mapping) for row in rows]


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    return body


# -- recording and versions ---------------------------------------------------------------------


def test_casusregisseur_records_the_plan_and_every_change_is_a_new_version(
    plan_case: PlanCase,
) -> None:
    cr = plan_case.casusregisseur
    first = ok(cr.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    assert first["version"] == 1
    assert first["revision"] == 1
    assert first["recorded_by"] == {"partner": "gemeente-wi", "user": "cr-1"}

    changed = plan_case.plan_body(
        based_on_revision=1,
        risk={"level": "medium", "assessment": "Regeling getroffen.", "life_domain": "housing"},
    )
    second = ok(cr.put(plan_case.plan_path, json=changed), 200)
    assert second["version"] == 2
    assert second["id"] != first["id"]

    current = ok(cr.get(plan_case.plan_path))
    assert current["version"] == 2
    assert current["latest"] is True
    assert current["risk"]["level"] == "medium"

    older = ok(cr.get(plan_case.plan_path, params={"version": 1}))
    assert older["id"] == first["id"]
    assert older["latest"] is False
    assert (older["risk"]["level"], older["risk"]["assessment"]) == (
        "high",
        "Ontruiming binnen drie maanden.",
    )

    missing = _problem(cr.get(plan_case.plan_path, params={"version": 9}), 404)
    assert missing["type"].endswith("/not-found")


def test_version_list_names_who_and_when_but_holds_no_content(plan_case: PlanCase) -> None:
    cr = plan_case.casusregisseur
    ok(cr.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    ok(cr.put(plan_case.plan_path, json=plan_case.plan_body(based_on_revision=1)))

    listing = ok(plan_case.om.get(f"{plan_case.plan_path}/versions"))
    assert listing["revision"] == 2
    assert [v["version"] for v in listing["versions"]] == [1, 2]
    for version in listing["versions"]:
        assert set(version) == {"id", "case_id", "version", "recorded_by", "recorded_at"}
        assert version["recorded_by"] == {"partner": "gemeente-wi", "user": "cr-1"}
    assert "Ontruiming" not in str(listing)


def test_a_plan_recorded_from_a_stale_revision_is_refused_and_changes_nothing(
    plan_case: PlanCase,
) -> None:
    cr = plan_case.casusregisseur
    ok(cr.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    stale = _problem(cr.put(plan_case.plan_path, json=plan_case.plan_body()), 409)
    assert stale["type"].endswith("/conflict")
    assert ok(cr.get(plan_case.plan_path))["version"] == 1


def test_reading_before_any_plan_is_recorded_is_404_for_members(plan_case: PlanCase) -> None:
    body = _problem(plan_case.om.get(plan_case.plan_path), 404)
    assert "No plan" in body["detail"]


# -- who may read and record -----------------------------------------------------------------


def test_a_participant_reads_the_plan_with_fact_references_but_not_fact_content(
    plan_case: PlanCase,
) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    plan = ok(plan_case.woningcorporatie.get(plan_case.plan_path))
    assert plan["version"] == 1
    assert [a["life_domain"] for a in plan["analysis"]] == [
        "safety",
        "housing",
        "mental_health",
        "justice",
    ]
    assert plan["analysis"][0]["fact_ids"] == [plan_case.fact_ids["police"]]
    assert plan["analysis"][0]["stale_fact_ids"] == []
    assert [g["id"] for g in plan["goals"]] == ["g1", "g2"]
    first = plan["interventions"][0]
    assert first["owner"] == "woningcorporatie"
    assert first["status"] == first["recorded_status"] == "planned"
    assert first["monitoring"] == []
    # the plan points at facts; their content stays behind the briefing's policy
    assert "fields" not in str(plan["analysis"])


def test_a_partner_outside_the_case_gets_404_for_everything_plan(plan_case: PlanCase) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    outsider = plan_case.outsider
    for response in (
        outsider.get(plan_case.plan_path),
        outsider.get(f"{plan_case.plan_path}/versions"),
        outsider.put(plan_case.plan_path, json=plan_case.plan_body(based_on_revision=1)),
        outsider.post(plan_case.status_path("i1"), json={"status": "done"}),
    ):
        body = _problem(response, 404)
        assert "Ontruiming" not in response.text
        assert body["type"].endswith("/not-found")


def test_a_participant_who_is_not_casusregisseur_cannot_record_the_plan(
    plan_case: PlanCase,
) -> None:
    for member in (plan_case.woningcorporatie, plan_case.om, plan_case.procesregisseur):
        _problem(member.put(plan_case.plan_path, json=plan_case.plan_body()), 403)
    denials = [e for e in _log(plan_case, "plan.record") if e.outcome == "denied"]
    assert len(denials) == 3
    assert ok(plan_case.casusregisseur.get(f"{plan_case.plan_path}/versions"))["versions"] == []


def test_the_plan_is_neither_recorded_nor_read_before_the_plan_phase(
    conference_case: PlanCase,
) -> None:
    cr = conference_case.casusregisseur
    _problem(cr.put(conference_case.plan_path, json=conference_case.plan_body()), 403)
    _problem(cr.get(conference_case.plan_path), 403)
    _problem(conference_case.om.get(conference_case.plan_path), 403)


# -- validation --------------------------------------------------------------------------------


def test_references_to_facts_outside_the_case_are_refused_without_echo(
    plan_case: PlanCase,
) -> None:
    unknown = "00000000-0000-4000-8000-00000000beef"
    body = plan_case.plan_body()
    body["analysis"][1]["fact_ids"] = [plan_case.fact_ids["housing"], unknown]
    problem = _problem(plan_case.casusregisseur.put(plan_case.plan_path, json=body), 400)
    assert problem["type"].endswith("/invalid-plan")
    assert problem["errors"] == [
        {"pointer": "/analysis/1/fact_ids/1", "problem": "not a current fact of this case"}
    ]
    assert unknown not in str(problem)
    assert ok(plan_case.casusregisseur.get(f"{plan_case.plan_path}/versions"))["versions"] == []


def test_a_withdrawn_fact_shows_as_stale_and_can_no_longer_be_referenced(
    plan_case: PlanCase,
) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    housing = plan_case.fact_ids["housing"]
    ok(
        plan_case.woningcorporatie.post(
            f"/api/v1/facts/{housing}/withdrawal", json={"reason_code": "published_in_error"}
        )
    )
    plan = ok(plan_case.om.get(plan_case.plan_path))
    assert plan["analysis"][1]["fact_ids"] == [housing]
    assert plan["analysis"][1]["stale_fact_ids"] == [housing]
    refused = plan_case.casusregisseur.put(
        plan_case.plan_path, json=plan_case.plan_body(based_on_revision=1)
    )
    assert _problem(refused, 400)["errors"] == [
        {"pointer": "/analysis/1/fact_ids/0", "problem": "not a current fact of this case"}
    ]


def test_an_owner_outside_the_case_is_refused(plan_case: PlanCase) -> None:
    body = plan_case.plan_body()
    body["interventions"][0]["owner"] = "ggz"
    problem = _problem(plan_case.casusregisseur.put(plan_case.plan_path, json=body), 400)
    assert problem["errors"][0]["pointer"] == "/interventions/0/owner"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda b: b["interventions"].append(dict(b["interventions"][0])), "/interventions/2/id"),
        (lambda b: b["interventions"][0].update(goal_id="g9"), "/interventions/0/goal_id"),
        (lambda b: b["analysis"].append(dict(b["analysis"][0])), "/analysis/4/life_domain"),
    ],
    ids=["duplicate-intervention", "unknown-goal", "domain-twice"],
)
def test_a_plan_that_contradicts_itself_is_refused(
    plan_case: PlanCase, change: Any, pointer: str
) -> None:
    body = plan_case.plan_body()
    change(body)
    problem = _problem(plan_case.casusregisseur.put(plan_case.plan_path, json=body), 400)
    assert pointer in [e["pointer"] for e in problem["errors"]]


def test_malformed_bodies_get_400_that_never_echo_the_value(plan_case: PlanCase) -> None:
    marker = "Geheim-MARKER-Z8Q"
    cases: list[dict[str, Any]] = []
    body = plan_case.plan_body()
    body["risk"]["assessment"] = marker * 200  # too long
    cases.append(body)
    body = plan_case.plan_body()
    body["interventions"][0]["status"] = marker  # not a status
    cases.append(body)
    body = plan_case.plan_body()
    body["risk"]["level"] = "medium"
    body["unexpected"] = marker  # extra="forbid"
    cases.append(body)
    body = plan_case.plan_body()
    body["analysis"][0]["life_domain"] = marker
    cases.append(body)
    for bad in cases:
        response = plan_case.casusregisseur.put(plan_case.plan_path, json=bad)
        problem = _problem(response, 400)
        assert problem["type"].endswith("/validation-failed")
        assert marker not in response.text
        assert marker.lower() not in response.text.lower()


# -- monitoring --------------------------------------------------------------------------------


def test_the_owner_partner_changes_its_interventions_status_with_a_note(
    plan_case: PlanCase,
) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    change = ok(
        plan_case.woningcorporatie.post(
            plan_case.status_path("i1"),
            json={"status": "in_progress", "note": "Regeling loopt sinds deze week."},
        ),
        201,
    )
    assert change["intervention_id"] == "i1"
    assert change["status"] == "in_progress"
    assert change["version"] == 1
    assert change["revision"] == 2

    plan = ok(plan_case.casusregisseur.get(plan_case.plan_path))
    i1 = plan["interventions"][0]
    assert i1["recorded_status"] == "planned"
    assert i1["status"] == "in_progress"
    assert [(m["status"], m["note"]) for m in i1["monitoring"]] == [
        ("in_progress", "Regeling loopt sinds deze week.")
    ]
    assert i1["monitoring"][0]["recorded_by"] == {"partner": "woningcorporatie", "user": "w-1"}
    assert plan["revision"] == 2
    # a version is still only recorded by the casusregisseur
    assert ok(plan_case.om.get(f"{plan_case.plan_path}/versions"))["versions"][0]["version"] == 1


def test_another_participant_cannot_change_an_intervention_it_does_not_own(
    plan_case: PlanCase,
) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    for member in (plan_case.om, plan_case.politie, plan_case.woningcorporatie):
        intervention = "i2" if member is plan_case.woningcorporatie else "i1"
        _problem(member.post(plan_case.status_path(intervention), json={"status": "done"}), 403)
    denials = [e for e in _log(plan_case, "plan.record") if e.outcome == "denied"]
    assert len(denials) == 3
    plan = ok(plan_case.casusregisseur.get(plan_case.plan_path))
    assert all(i["monitoring"] == [] for i in plan["interventions"])
    assert plan["revision"] == 1


def test_the_casusregisseur_may_change_any_interventions_status(plan_case: PlanCase) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    ok(plan_case.casusregisseur.post(plan_case.status_path("i1"), json={"status": "done"}), 201)
    plan = ok(plan_case.om.get(plan_case.plan_path))
    assert plan["interventions"][0]["status"] == "done"
    assert plan["interventions"][0]["monitoring"][0]["note"] is None


def test_status_changes_need_a_plan_and_a_known_intervention(plan_case: PlanCase) -> None:
    no_plan = plan_case.woningcorporatie.post(plan_case.status_path("i1"), json={"status": "done"})
    assert "No plan" in _problem(no_plan, 404)["detail"]
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    unknown = plan_case.casusregisseur.post(plan_case.status_path("i9"), json={"status": "done"})
    _problem(unknown, 404)
    bad_id = plan_case.casusregisseur.post(
        plan_case.status_path("not%20an%20id"), json={"status": "done"}
    )
    _problem(bad_id, 400)


def test_a_status_report_makes_a_plan_written_from_before_it_stale(plan_case: PlanCase) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    ok(plan_case.woningcorporatie.post(plan_case.status_path("i1"), json={"status": "done"}), 201)
    stale = plan_case.casusregisseur.put(
        plan_case.plan_path, json=plan_case.plan_body(based_on_revision=1)
    )
    _problem(stale, 409)
    fresh = ok(
        plan_case.casusregisseur.put(
            plan_case.plan_path, json=plan_case.plan_body(based_on_revision=2)
        )
    )
    assert fresh["version"] == 2
    # the new version starts its own monitoring; the report stays with version 1
    assert ok(plan_case.om.get(plan_case.plan_path))["interventions"][0]["monitoring"] == []
    old = ok(plan_case.om.get(plan_case.plan_path, params={"version": 1}))
    assert old["interventions"][0]["status"] == "done"


# -- the log and the raw database ----------------------------------------------------------------


def test_the_log_names_the_plan_version_on_record_and_on_read(plan_case: PlanCase) -> None:
    recorded = ok(
        plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201
    )
    version_id = recorded["id"]
    read = ok(plan_case.om.get(plan_case.plan_path))
    note = ok(
        plan_case.woningcorporatie.post(plan_case.status_path("i1"), json={"status": "done"}),
        201,
    )

    records = [e for e in _log(plan_case, "plan.record") if e.outcome == "allowed"]
    assert [e.object_ids for e in records] == [[version_id], sorted([version_id, note["id"]])]
    assert records[0].actor_partner == "gemeente-wi"
    assert records[1].actor_partner == "woningcorporatie"
    assert all(e.policy_version and e.subject_pseudonyms for e in records)

    reads = _log(plan_case, "plan.read")
    full = [e for e in reads if e.actor_partner == "om"]
    assert len(full) == 1
    assert full[0].seq == read["log_seq"]
    assert full[0].object_ids == [version_id]
    # per part: the text of what the OM's matrix cell gives it at full (safety, justice)
    v = version_id
    assert full[0].disclosed == {
        v: ["structure"],
        f"{v}/analysis/safety": ["text"],
        f"{v}/analysis/housing": [],
        f"{v}/analysis/mental_health": [],
        f"{v}/analysis/justice": ["text"],
        f"{v}/risk": [],
        f"{v}/goals/0": [],
        f"{v}/goals/1": ["text"],
        f"{v}/interventions/0": [],
        f"{v}/interventions/1": ["text"],
    }
    assert full[0].purpose == "plan"
    # the owner check of the status change decrypted the version: logged, nothing disclosed
    check = [e for e in reads if e.actor_partner == "woningcorporatie"]
    assert [e.disclosed for e in check] == [{version_id: []}]


def _raw_storage(settings: Settings) -> bytes:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        db = Path(url.removeprefix("sqlite+pysqlite:///"))
        files = [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]
        assert files, "the SQLite database file is missing"
        return b"".join(p.read_bytes() for p in files)
    candidates = [shutil.which("pg_dump"), "/usr/bin/pg_dump"]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    pg_dump = next((c for c in candidates if c and Path(c).exists()), None)
    if pg_dump is None:
        pytest.skip("pg_dump not found")
    dump = subprocess.run(
        [pg_dump, "--no-owner", "--dbname", url.replace("+psycopg", "", 1)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dump.stdout


def test_plan_content_and_monitoring_notes_never_reach_the_raw_database(
    plan_case: PlanCase, capfd: pytest.CaptureFixture[str]
) -> None:
    markers = {
        "assessment": "Analyse-MARKER-Q4T schulden",
        "risk": "Risico-MARKER-H7K ontruiming",
        "goal": "Doel-MARKER-B2M woning",
        "intervention": "Interventie-MARKER-V5N budgetcoach",
        "note": "Notitie-MARKER-C9R eerste gesprek",
    }
    body = plan_case.plan_body()
    body["analysis"][0]["assessment"] = markers["assessment"]
    body["risk"]["assessment"] = markers["risk"]
    body["goals"][0]["text"] = markers["goal"]
    body["interventions"][0]["text"] = markers["intervention"]
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=body), 201)
    ok(
        plan_case.woningcorporatie.post(
            plan_case.status_path("i1"), json={"status": "in_progress", "note": markers["note"]}
        ),
        201,
    )
    plan = ok(plan_case.casusregisseur.get(plan_case.plan_path))
    assert plan["interventions"][0]["monitoring"][0]["note"] == markers["note"]

    raw = _raw_storage(plan_case.settings)
    logs = capfd.readouterr()
    for name, marker in markers.items():
        for spelling in (marker.encode(), marker.encode().hex().encode()):
            assert spelling not in raw, f"{name} found in the raw database"
        assert marker not in logs.out + logs.err, f"{name} found in the process logs"
