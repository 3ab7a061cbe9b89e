"""The caseload (mijn casussen) and interventions owned by people: what a person lists of the
cases they work on, with open and overdue interventions, and the closing check that no
intervention is left open. Over real HTTP, on the plan-phase case of tests/plans."""

from __future__ import annotations

import json
from typing import Any

from tests.cases.test_workflow import log_rows
from tests.plans.conftest import PlanCase
from tests.support import As, ok


def caseload(actor: As, **params: Any) -> Any:
    return ok(actor.with_purpose("case_management").get("/api/v1/caseload", params=params))


def overdue_plan(plan_case: PlanCase) -> None:
    body = plan_case.plan_body()
    body["interventions"][0] |= {"deadline": "2020-01-01", "owner_user": "w-1"}
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=body), 201)


def test_a_member_lists_its_case_with_open_and_overdue_interventions(
    plan_case: PlanCase,
) -> None:
    overdue_plan(plan_case)
    out = caseload(plan_case.woningcorporatie)
    (item,) = [c for c in out["cases"] if c["id"] == plan_case.case_id]
    assert item["phase"] == "plan"
    assert item["my_roles"] == ["participant"]
    assert (item["open_interventions"], item["overdue_interventions"]) == (2, 1)
    # i1 is the housing corporation's, named to w-1, and overdue
    assert (item["my_open_interventions"], item["my_overdue_interventions"]) == (1, 1)
    assert item["next_deadline"] == "2020-01-01"
    regisseur = caseload(plan_case.casusregisseur)["cases"]
    (mine,) = [c for c in regisseur if c["id"] == plan_case.case_id]
    assert "casusregisseur" in mine["my_roles"]
    # the overview holds no content: no intervention text, no BSN
    text = json.dumps(out)
    assert "Betalingsregeling" not in text and "123456782" not in text


def test_filters_narrow_the_caseload(plan_case: PlanCase) -> None:
    overdue_plan(plan_case)
    actor = plan_case.woningcorporatie
    assert [c["id"] for c in caseload(actor, overdue_only="true")["cases"]] == [plan_case.case_id]
    assert caseload(actor, phase="intake")["cases"] == []
    assert caseload(actor, role="casusregisseur")["cases"] == []
    assert caseload(actor, table="youth")["cases"] == []
    bad = actor.with_purpose("case_management").get("/api/v1/caseload", params={"sort": "x"})
    assert bad.status_code == 400


def test_the_caseload_reveals_nothing_about_cases_outside_it(plan_case: PlanCase) -> None:
    assert caseload(plan_case.outsider)["cases"] == []
    entries = log_rows(plan_case.settings, action="case.read", actor_partner="ggz")
    assert [list(e.object_ids) for e in entries if e.reason == "caseload"] == [[]]


def test_the_caseload_has_its_own_purpose_and_is_logged(plan_case: PlanCase) -> None:
    wrong = plan_case.woningcorporatie.get("/api/v1/caseload")  # purpose "plan"
    assert wrong.status_code == 400
    assert wrong.headers["content-type"].startswith("application/problem+json")
    caseload(plan_case.woningcorporatie)
    (entry,) = [
        e
        for e in log_rows(plan_case.settings, action="case.read", actor_partner="woningcorporatie")
        if e.reason == "caseload"
    ]
    assert list(entry.object_ids) == [plan_case.case_id]
    assert entry.purpose == "case_management"


def test_the_caseload_purpose_opens_no_fact_content(plan_case: PlanCase) -> None:
    briefing = plan_case.politie.with_purpose("case_management").get(
        f"/api/v1/cases/{plan_case.case_id}/briefing"
    )
    if briefing.status_code == 200:
        facts = [f for d in briefing.json()["domains"] for f in d["facts"]]
        assert all(f["level"] == "none" or not f.get("content") for f in facts)
    else:
        assert briefing.status_code in (403, 404)


def test_a_case_closes_only_when_every_intervention_has_ended(plan_case: PlanCase) -> None:
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=plan_case.plan_body()), 201)
    closing = {"outcome": "handed_back"}
    refused = plan_case.procesregisseur.post(
        f"/api/v1/cases/{plan_case.case_id}/closure", json=closing
    )
    assert refused.status_code == 409
    assert "2 intervention" in refused.json()["detail"]
    # handing over needs a note saying why and to whom
    silent = plan_case.woningcorporatie.post(
        plan_case.status_path("i1"), json={"status": "handed_over"}
    )
    assert silent.status_code == 400
    ok(
        plan_case.woningcorporatie.post(
            plan_case.status_path("i1"),
            json={"status": "handed_over", "note": "Overgedragen aan schuldhulp gemeente."},
        ),
        201,
    )
    ok(plan_case.casusregisseur.post(plan_case.status_path("i2"), json={"status": "done"}), 201)
    closed = ok(
        plan_case.procesregisseur.post(f"/api/v1/cases/{plan_case.case_id}/closure", json=closing)
    )
    assert closed["phase"] == "closed"


def test_an_owner_user_must_be_a_professional_invited_for_a_named_only_partner(
    plan_case: PlanCase,
) -> None:
    # maatschappelijk werk takes part through one named professional only
    invite = {"partner": "maatschappelijk-werk", "user": "mw-1"}
    ok(
        plan_case.procesregisseur.post(
            f"/api/v1/cases/{plan_case.case_id}/participants", json=invite
        )
    )
    body = plan_case.plan_body()
    body["interventions"][0] |= {"owner": "maatschappelijk-werk", "owner_user": "someone-else"}
    response = plan_case.casusregisseur.put(plan_case.plan_path, json=body)
    assert response.status_code == 400
    assert "someone-else" not in response.text
    body["interventions"][0]["owner_user"] = "mw-1"
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=body), 201)
    # a partner invited as a whole may name any of its professionals
    body["interventions"][1] |= {"owner_user": "gw-7"}
    body["based_on_revision"] = 1
    ok(plan_case.casusregisseur.put(plan_case.plan_path, json=body))
