"""A case brought, over real HTTP, to the plan phase: what every plan test starts from.

politie registers a family case at the O3 table; the Veiligheidshuis takes and triages it and
invites the housing corporation, Werk & Inkomen and the OM; politie and the housing
corporation publish a fact each; Werk & Inkomen's cr-1 becomes casusregisseur and moves the
case through the case conference to the plan phase (`plan_case`), or leaves it in the case
conference (`conference_case`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from hub.cases.notices import dutch_today
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.support import As, inform_all, ok

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"

#: The analyses the issue found the housing corporation reading (issue 14, item 4).
MENTAL_HEALTH_ANALYSIS = "Moeder in behandeling; afstemming met de behandelaar nodig."
JUSTICE_ANALYSIS = "Vader onder toezicht; strafzaak loopt."


@dataclass
class PlanCase:
    http: httpx.Client
    settings: Settings
    case_id: str
    fact_ids: dict[str, str]
    casusregisseur: As
    procesregisseur: As
    politie: As
    woningcorporatie: As
    om: As
    outsider: As
    engine: Engine = field(repr=False)
    subject_id: str = ""

    @property
    def plan_path(self) -> str:
        return f"/api/v1/cases/{self.case_id}/plan"

    def status_path(self, intervention_id: str) -> str:
        return f"{self.plan_path}/interventions/{intervention_id}/status-changes"

    def plan_body(self, *, based_on_revision: int = 0, **overrides: Any) -> dict[str, Any]:
        """A complete, valid plan as in the role play: an analysis of four life domains (two
        of them special or criminal), one risk, two goals, two interventions; every part
        names its life domain. Both deadlines lie weeks ahead of today (the Dutch day, as the
        hub counts overdue and due interventions), i2's before i1's: neither is due yet."""
        today = dutch_today()
        body: dict[str, Any] = {
            "based_on_revision": based_on_revision,
            "analysis": [
                {
                    "life_domain": "safety",
                    "assessment": "Herhaalde overlast in de buurt.",
                    "fact_ids": [self.fact_ids["police"]],
                },
                {
                    "life_domain": "housing",
                    "assessment": "Huurachterstand, dreigende ontruiming.",
                    "fact_ids": [self.fact_ids["housing"]],
                },
                {
                    "life_domain": "mental_health",
                    "assessment": MENTAL_HEALTH_ANALYSIS,
                    "sensitivity": "special",
                },
                {
                    "life_domain": "justice",
                    "assessment": JUSTICE_ANALYSIS,
                    "sensitivity": "criminal",
                },
            ],
            "risk": {
                "level": "high",
                "assessment": "Ontruiming binnen drie maanden.",
                "life_domain": "housing",
            },
            "goals": [
                {"id": "g1", "text": "Woning behouden.", "life_domain": "housing"},
                {"id": "g2", "text": "Overlast stopt.", "life_domain": "safety"},
            ],
            "interventions": [
                {
                    "id": "i1",
                    "text": "Betalingsregeling en schuldhulp.",
                    "owner": "woningcorporatie",
                    "deadline": (today + timedelta(weeks=12)).isoformat(),
                    "status": "planned",
                    "goal_id": "g1",
                    "life_domain": "finances",
                },
                {
                    "id": "i2",
                    "text": "Gesprek wijkagent en gezin.",
                    "owner": "gemeente-wi",
                    "deadline": (today + timedelta(weeks=8)).isoformat(),
                    "status": "in_progress",
                    "goal_id": "g2",
                    "life_domain": "safety",
                },
            ],
        }
        body.update(overrides)
        return body


def _publish(actor: As, case_id: str, subject_id: str, fact_type: str, basis: str) -> str:
    example = EXAMPLES / (fact_type.replace("/", ".") + ".json")
    out = ok(
        actor.post(
            f"/api/v1/cases/{case_id}/facts",
            json={
                "idempotency_key": "plan-test-" + fact_type.replace("/", "-"),
                "type": fact_type,
                "subject_id": subject_id,
                "legal_basis": basis,
                "content": json.loads(example.read_text(encoding="utf-8")),
            },
        ),
        201,
    )
    fact_id: str = out["facts"][0]["id"]
    return fact_id


def _build(
    hub: RunningHub, http: httpx.Client, db_url: str, *, to_plan: bool
) -> Iterator[PlanCase]:
    s = hub.settings
    politie = As(http, s, "politie", "agent-1", ["publisher", "participant"], "intake")
    case = ok(
        politie.post(
            "/api/v1/cases",
            json={
                "kind": "family",
                "proposed_table": "multi_problem",
                "reason": "Overlast en schulden",
                "subjects": [{"role_in_case": "parent", "bsn": "123456782"}],
            },
        ),
        201,
    )
    cid = case["id"]
    subject_id = case["subjects"][0]["id"]
    zvh = As(http, s, "zvh", "pr-1", ["procesregisseur"], "intake")
    ok(zvh.post(f"/api/v1/cases/{cid}/procesregie"))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "screening"}))
    zvh = zvh.with_purpose("screening")
    criteria = {
        "multiple_life_domains": True,
        "criminal_or_nuisance_behaviour": True,
        "multiple_chains_needed": True,
        "impact_on_system_or_environment": True,
    }
    ok(zvh.post(f"/api/v1/cases/{cid}/triage", json={"criteria": criteria, "decision": "accept"}))
    for partner in ("woningcorporatie", "gemeente-wi", "om"):
        ok(zvh.post(f"/api/v1/cases/{cid}/participants", json={"partner": partner}))
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "preparation"}))
    woning = As(http, s, "woningcorporatie", "w-1", ["publisher", "participant"], "preparation")
    fact_ids = {
        "police": _publish(
            politie.with_purpose("preparation"),
            cid,
            subject_id,
            "police.incident/1",
            "wpg_art_19",
        ),
        "housing": _publish(woning, cid, subject_id, "housing.rent_arrears/1", "avg_6_1_e"),
    }
    zvh = zvh.with_purpose("preparation")
    inform_all(zvh, cid)
    ok(zvh.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "case_conference"}))
    zvh = zvh.with_purpose("case_conference")
    ok(
        zvh.put(
            f"/api/v1/cases/{cid}/casusregisseur",
            json={"partner": "gemeente-wi", "user": "cr-1"},
        )
    )
    regisseur = As(http, s, "gemeente-wi", "cr-1", ["casusregisseur"], "case_conference")
    purpose = "case_conference"
    if to_plan:
        ok(regisseur.post(f"/api/v1/cases/{cid}/phase-changes", json={"to": "plan"}))
        purpose = "plan"
    engine = create_engine(db_url)
    try:
        yield PlanCase(
            http=http,
            settings=s,
            case_id=cid,
            fact_ids=fact_ids,
            casusregisseur=regisseur.with_purpose(purpose),
            procesregisseur=zvh.with_purpose(purpose),
            politie=politie.with_purpose(purpose),
            woningcorporatie=woning.with_purpose(purpose),
            om=As(http, s, "om", "o-1", ["participant"], purpose),
            outsider=As(http, s, "ggz", "g-1", ["participant", "publisher"], purpose),
            engine=engine,
            subject_id=subject_id,
        )
    finally:
        engine.dispose()


@pytest.fixture
def plan_case(hub: RunningHub, http: httpx.Client, db_url: str) -> Iterator[PlanCase]:
    """The case in the plan phase; every actor states the purpose ``plan``."""
    yield from _build(hub, http, db_url, to_plan=True)


@pytest.fixture
def conference_case(hub: RunningHub, http: httpx.Client, db_url: str) -> Iterator[PlanCase]:
    """The same case one step earlier: in the case conference, casusregisseur assigned."""
    yield from _build(hub, http, db_url, to_plan=False)
