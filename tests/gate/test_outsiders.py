"""An outsider learns nothing of a case, not even that it exists.

Every case-scoped operation of the OpenAPI document -- reads and actions, with the case (or
one of its facts, participants or interventions) in the path or in the body -- is sent by
viewers outside the case, once with the real ids and once with ids that do not exist. The
two answers must be the same: the same status and the same problem document (404; or 403
where the request is refused for the viewer's role or purpose before any case is looked at). A 403,
409 or 422 that only the real case gets would confirm to the outsider that the case exists,
and what state it is in.

The outsiders are those an attacker can be: a partner that was never invited (any role and
purpose its kind may claim), a second procesregisseur of the Veiligheidshuis who does not run
the case, and the privacy officer of a partner outside the case.

A case-scoped operation added to the API fails `test_every_case_scoped_operation_has_a_probe`
until it has a probe here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.cases.test_workflow import example
from tests.conftest import RunningHub
from tests.plans.conftest import PlanCase, _build
from tests.support import As, ok

UNKNOWN = "00000000-0000-4000-8000-000000000000"
CASE_WORK = ("intake", "screening", "preparation", "case_conference", "plan", "execution")
CRITERIA = {
    "multiple_life_domains": True,
    "criminal_or_nuisance_behaviour": True,
    "multiple_chains_needed": True,
    "impact_on_system_or_environment": True,
}


@dataclass(frozen=True)
class Ids:
    case: str
    fact: str
    participant: str
    intervention: str
    subject: str


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None


#: (method, OpenAPI path) -> the request for a given set of ids. Bodies are valid, so the
#: request reaches the case and is not refused for its shape.
Probe = Callable[[Ids], Request]


def _fact(key: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "type": "police.nuisance_report/1",
        "legal_basis": "wpg_art_19",
        "content": example("police.nuisance_report/1"),
    }


PLAN = "/api/v1/cases/{case_id}/plan"
PROBES: dict[tuple[str, str], Probe] = {
    ("get", "/api/v1/cases/{case_id}"): lambda i: Request("GET", f"/api/v1/cases/{i.case}"),
    ("post", "/api/v1/cases/{case_id}/procesregie"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/procesregie"
    ),
    ("post", "/api/v1/cases/{case_id}/screenings"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/screenings", {}
    ),
    ("post", "/api/v1/cases/{case_id}/triage"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/triage", {"criteria": CRITERIA, "decision": "accept"}
    ),
    ("post", "/api/v1/cases/{case_id}/participants"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/participants", {"partner": "ggz"}
    ),
    ("delete", "/api/v1/cases/{case_id}/participants/{participant_id}"): lambda i: Request(
        "DELETE", f"/api/v1/cases/{i.case}/participants/{i.participant}"
    ),
    ("put", "/api/v1/cases/{case_id}/subjects/{subject_id}"): lambda i: Request(
        "PUT",
        f"/api/v1/cases/{i.case}/subjects/{i.subject}",
        {"version": 1, "role_in_case": "resident", "bsn": "111222333"},
    ),
    ("post", "/api/v1/cases/{case_id}/subjects/{subject_id}/notices"): lambda i: Request(
        "POST",
        f"/api/v1/cases/{i.case}/subjects/{i.subject}/notices",
        {
            "state": "informed",
            "informed_on": "2025-06-02",
            "channel": "in_person",
            "informed_party": "subject",
            "age_band": "adult",
        },
    ),
    ("get", "/api/v1/cases/{case_id}/notices"): lambda i: Request(
        "GET", f"/api/v1/cases/{i.case}/notices"
    ),
    ("put", "/api/v1/cases/{case_id}/coordination"): lambda i: Request(
        "PUT",
        f"/api/v1/cases/{i.case}/coordination",
        {
            "counterpart": "other_zvh",
            "regievoerder": {"partner": "zvh", "user": "pr-1"},
            "status": "to_coordinate",
        },
    ),
    ("get", "/api/v1/cases/{case_id}/coordination"): lambda i: Request(
        "GET", f"/api/v1/cases/{i.case}/coordination"
    ),
    ("put", "/api/v1/cases/{case_id}/casusregisseur"): lambda i: Request(
        "PUT", f"/api/v1/cases/{i.case}/casusregisseur", {"partner": "ggz", "user": "g-1"}
    ),
    ("post", "/api/v1/cases/{case_id}/phase-changes"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/phase-changes", {"to": "execution"}
    ),
    ("post", "/api/v1/cases/{case_id}/closure"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/closure", {"outcome": "handed_back"}
    ),
    ("post", "/api/v1/cases/{case_id}/facts"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/facts", _fact("outsider-1")
    ),
    ("post", "/api/v1/cases/{case_id}/fact-batches"): lambda i: Request(
        "POST", f"/api/v1/cases/{i.case}/fact-batches", {"facts": [_fact("outsider-2")]}
    ),
    ("post", "/api/v1/facts/{fact_id}/corrections"): lambda i: Request(
        "POST",
        f"/api/v1/facts/{i.fact}/corrections",
        {"content": example("police.incident/1")},
    ),
    ("post", "/api/v1/facts/{fact_id}/withdrawal"): lambda i: Request(
        "POST", f"/api/v1/facts/{i.fact}/withdrawal", {"reason_code": "published_in_error"}
    ),
    ("get", "/api/v1/cases/{case_id}/briefing"): lambda i: Request(
        "GET", f"/api/v1/cases/{i.case}/briefing"
    ),
    ("get", "/api/v1/cases/{case_id}/updates"): lambda i: Request(
        "GET", f"/api/v1/cases/{i.case}/updates"
    ),
    ("get", PLAN): lambda i: Request("GET", PLAN.format(case_id=i.case)),
    ("put", PLAN): lambda i: Request("PUT", PLAN.format(case_id=i.case), None),  # body: below
    ("get", PLAN + "/versions"): lambda i: Request(
        "GET", PLAN.format(case_id=i.case) + "/versions"
    ),
    ("post", PLAN + "/interventions/{intervention_id}/status-changes"): lambda i: Request(
        "POST",
        PLAN.format(case_id=i.case) + f"/interventions/{i.intervention}/status-changes",
        {"status": "done"},
    ),
    # the case in the body
    ("post", "/api/v1/tables/{table}/agenda"): lambda i: Request(
        "POST",
        "/api/v1/tables/multi_problem/agenda",
        {"case_id": i.case, "meeting_date": "2027-01-12"},
    ),
    ("post", "/api/v1/policies/simulations"): lambda i: Request(
        "POST",
        "/api/v1/policies/simulations",
        {"viewer": {"partner": "woningcorporatie", "roles": ["participant"]}, "case_id": i.case},
    ),
}

#: Path parameters that name a case or one of its records.
CASE_PARAMETERS = ("{case_id}", "{fact_id}", "{participant_id}", "{intervention_id}")
#: Operations that take the case in the body.
CASE_IN_BODY = {
    ("post", "/api/v1/tables/{table}/agenda"),
    ("post", "/api/v1/policies/simulations"),
    ("post", "/api/v1/meetings/{meeting_id}/items"),
}
#: the case conference the world schedules (ADR 0013): an outsider putting the real case on
#: it gets what an unknown case gets
MEETING: dict[str, str] = {}
PROBES[("post", "/api/v1/meetings/{meeting_id}/items")] = lambda i: Request(
    "POST", f"/api/v1/meetings/{MEETING['id']}/items", {"case_id": i.case}
)


# -- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    hub: RunningHub
    http: httpx.Client
    plan: PlanCase
    #: a second case, registered and waiting at intake: only procesregisseurs see it
    intake_case: str


@pytest.fixture
def world(hub: RunningHub, db_url: str) -> Iterator[World]:
    with hub.client() as http:
        builder = _build(hub, http, db_url, to_plan=True)
        plan = next(builder)
        try:
            ok(plan.casusregisseur.put(plan.plan_path, json=plan.plan_body()), 201)
            meeting = ok(
                plan.procesregisseur.post(
                    "/api/v1/meetings",
                    purpose="case_conference",
                    json={
                        "table": "multi_problem",
                        "starts_at": "2027-01-12T09:00:00+01:00",
                        "ends_at": "2027-01-12T10:30:00+01:00",
                        "location": "Veiligheidshuis, zaal 2",
                        "chair": {"partner": "zvh", "user": "pr-1", "role": "procesregisseur"},
                    },
                ),
                201,
            )
            MEETING["id"] = meeting["id"]
            police = As(http, hub.settings, "politie", "agent-2", ["publisher"], "intake")
            intake = ok(
                police.post(
                    "/api/v1/cases",
                    json={
                        "kind": "person",
                        "proposed_table": "adults",
                        "reason": "Zorgmelding",
                        "subjects": [{"role_in_case": "resident", "bsn": "111222333"}],
                    },
                ),
                201,
            )
            yield World(hub, http, plan, intake["id"])
        finally:
            next(builder, None)


def _real_ids(world: World, case_id: str) -> Ids:
    members = ok(world.plan.procesregisseur.get(f"/api/v1/cases/{world.plan.case_id}"))
    participant = next(p["id"] for p in members["participants"] if p["partner"] == "om")
    subject = members["subjects"][0]["id"]
    return Ids(case_id, world.plan.fact_ids["police"], participant, "i1", subject)


UNKNOWN_IDS = Ids(UNKNOWN, UNKNOWN, UNKNOWN, "i1", UNKNOWN)


def _outsiders(world: World) -> list[As]:
    s, http = world.hub.settings, world.http
    ggz = [
        As(http, s, "ggz", "g-1", ["participant", "publisher"], purpose) for purpose in CASE_WORK
    ]
    other_procesregisseur = [
        As(http, s, "zvh", "pr-2", ["procesregisseur"], purpose) for purpose in CASE_WORK
    ]
    return [
        *ggz,
        *other_procesregisseur,
        As(http, s, "ggz", "fg-ggz", ["privacy_officer"], "policy_review"),
        As(http, s, "gemeente-leerplicht", "aud-1", ["auditor"], "policy_review"),
    ]


def _send(who: As, request: Request, plan: PlanCase) -> httpx.Response:
    body = request.body
    if request.method == "PUT" and request.path.endswith("/plan"):
        body = plan.plan_body()
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    return getattr(who, request.method.lower())(request.path, **kwargs)


def _comparable(response: httpx.Response) -> tuple[int, str, Any]:
    content_type = response.headers.get("content-type", "")
    try:
        document = response.json()
    except json.JSONDecodeError:
        document = response.text
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if k != "instance"}
    return response.status_code, content_type, document


# -- the tests ------------------------------------------------------------------------------------


def test_every_case_scoped_operation_has_a_probe(http: httpx.Client) -> None:
    spec = ok(http.get("/api/v1/openapi.json"))
    scoped = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method in operations
        if any(p in path for p in CASE_PARAMETERS)
    } | CASE_IN_BODY
    missing = sorted(scoped - set(PROBES))
    assert not missing, f"case-scoped operations without an outsider probe: {missing}"
    stale = sorted(
        k for k in PROBES if k[1] not in spec["paths"] or k[0] not in spec["paths"][k[1]]
    )
    assert not stale, f"probes for operations the API no longer has: {stale}"


def test_an_outsider_gets_for_a_real_case_exactly_what_an_unknown_id_gets(world: World) -> None:
    real_plan_case = _real_ids(world, world.plan.case_id)
    leaks: list[str] = []
    for who in _outsiders(world):
        for (method, path), probe in PROBES.items():
            unknown = _comparable(_send(who, probe(UNKNOWN_IDS), world.plan))
            real = _comparable(_send(who, probe(real_plan_case), world.plan))
            where = f"{who.partner}/{who.user} ({who.purpose}) {method.upper()} {path}"
            if real != unknown:
                leaks.append(f"{where}: real {real[:1]} {real[2]!r:.160} vs unknown {unknown[:1]}")
            elif unknown[0] not in (403, 404):  # 403: refused before any case is looked at
                leaks.append(f"{where}: an unknown id answers {unknown[0]}")
    assert not leaks, "an outsider can tell the case exists:\n" + "\n".join(leaks)


def test_at_intake_only_a_procesregisseur_sees_that_a_case_waits(world: World) -> None:
    """The intake queue is open to the Veiligheidshuis's procesregisseurs (the policy's
    list_intake_queue); to any other partner the waiting case does not exist."""
    s, http = world.hub.settings, world.http
    ids = Ids(world.intake_case, world.plan.fact_ids["police"], UNKNOWN, "i1", UNKNOWN)
    leaks: list[str] = []
    for who in [As(http, s, "ggz", "g-1", ["participant", "publisher"], p) for p in CASE_WORK]:
        for (method, path), probe in PROBES.items():
            if "fact_id" in path or "participant_id" in path or "intervention_id" in path:
                continue  # those name the plan case's records, covered above
            unknown = _comparable(_send(who, probe(UNKNOWN_IDS), world.plan))
            real = _comparable(_send(who, probe(ids), world.plan))
            if real != unknown:
                leaks.append(f"{who.purpose} {method.upper()} {path}: {real[:1]} vs {unknown[:1]}")
    assert not leaks, "\n".join(leaks)
    pr2 = As(http, s, "zvh", "pr-2", ["procesregisseur"], "intake")
    ok(pr2.post(f"/api/v1/cases/{world.intake_case}/procesregie"))
