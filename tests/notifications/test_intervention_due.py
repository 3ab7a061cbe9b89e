"""An intervention whose deadline has come is announced to its owner, once per deadline,
through the same outbox: the deliverer writes the reminder and its event in one unit of
work. Over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from tests.notifications.conftest import Receiver
from tests.notifications.test_delivery import deliver, subscribe
from tests.plans.conftest import PlanCase, plan_case  # noqa: F401 - the fixture
from tests.support import ok

DUE = "nl.vhhub.case.intervention-due"


def test_an_intervention_past_its_deadline_is_announced_to_its_owner_once(
    plan_case: PlanCase,  # noqa: F811 - the fixture
    receiver: Receiver,
) -> None:
    case = plan_case
    settings = case.settings
    subscribe(case.http, settings, receiver, "woningcorporatie", [DUE])
    subscribe(case.http, settings, receiver, "politie", [DUE])
    body = case.plan_body()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    body["interventions"][0]["deadline"] = yesterday  # owned by woningcorporatie
    ok(case.casusregisseur.put(case.plan_path, json=body), 201)

    first = deliver(settings)
    assert first.announced == 1
    [got] = receiver.got()
    event = got.json()
    assert got.partner == "woningcorporatie"  # the owner; politie owns nothing
    assert event["type"] == DUE and event["subject"] == case.case_id
    assert event["dataref"] == f"https://vhhub.test/api/v1/cases/{case.case_id}/plan"
    # the intervention's text, goal or deadline are not in it
    for text in ("Betalingsregeling", "i1", yesterday):
        assert text not in got.body.decode()
    # announced once: later runs find it announced
    assert deliver(settings).announced == 0
    assert len(receiver.got()) == 1
