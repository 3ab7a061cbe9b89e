"""Fail closed for EVERY action of the policy's catalogue, and for the paths that ask the
policy without a single target (the case list, the agenda) and for publishing.

The design promises that when the policy engine errors, times out or answers garbage, the
request is refused with 503 problem+json (`.../policy-error`), a `policy.error` entry with
outcome `error` is written to the access log, and nothing is disclosed or changed.
tests/disclosure/test_fail_closed.py proves it for the briefing; this module proves it per
action. Each case drives the real HTTP API of a hub (policy engine "opa", answered by the OPA
test double) to a state in which the action would be allowed, injects the fault, sends the
one request that exercises the action, checks the refusal, the log and the unchanged
database, and then sends the same request again without the fault: it must succeed, so the
state really was one in which the action is allowed.

A new action in policies/data/action_rules.json fails here until it has a probe in ACTIONS
(test_every_catalogue_action_has_a_probe, and its own parametrised case).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from hub.settings import PROJECT_ROOT, Settings
from tests.cases.test_workflow import CRITERIA, example, log_rows, new_case
from tests.conftest import RunningHub
from tests.disclosure.scenario import World, case_in_preparation, log_size, raw_engine

# the hub on the OPA test double; its `opa` is overridden below by the scoped double
from tests.disclosure.test_fail_closed import opa_hub  # noqa: F401
from tests.plans.conftest import PlanCase, _build
from tests.policy_review.conftest import bundle_of, officer
from tests.policy_review.test_approval import candidate, digest_for, loaded_by
from tests.rego.opa_test_double import OpaTestDouble
from tests.support import As, inform_all, ok

CATALOGUE: dict[str, Any] = json.loads(
    (PROJECT_ROOT / "policies" / "data" / "action_rules.json").read_text()
)
#: The publish policy's rule path, as the OPA Data API sees it (policies/publish.rego).
PUBLISH_RULE = "data.vhhub.publish.decision"
#: Tables the refusal itself writes (the access log) or that every request touches (the
#: replay store); everything else must be byte-for-byte unchanged after a refusal.
LOG_TABLES = frozenset(
    {"access_log", "access_log_subjects", "access_log_head", "checkpoints", "used_tokens"}
)
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
FAULTS = ("http_500", "garbage")
BSN = "123456782"
REGISTRATION = {
    "kind": "person",
    "proposed_table": "multi_problem",
    "reason": "overlast",
    "subjects": [{"role_in_case": "resident", "bsn": "111222333"}],
}


# -- the double, with a fault that can be limited to one rule -------------------------------------


class ScopedDouble(OpaTestDouble):
    """The OPA test double; `rule` limits the injected fault to one rule path (so publishing
    can fail in the publish policy itself, after the read_case check has passed), and
    `injected` counts the answers the fault actually bent."""

    def __init__(self) -> None:
        super().__init__()
        self.rule: str | None = None
        self.action: str | None = None
        self.injected = 0
        self._asked: str | None = None
        self._asked_action: Any = None
        evaluate = self.engine.evaluate_raw

        def recording(rule: str, input: Mapping[str, Any]) -> Any | None:
            # the server is single-threaded: this is the current request
            self._asked, self._asked_action = rule, input.get("action")
            return evaluate(rule, input)

        self.engine.evaluate_raw = recording  # type: ignore[method-assign]

    def respond(self, value: Any, with_provenance: bool) -> tuple[int, bytes]:
        fault = self.fault
        if fault is not None and (
            self.rule not in (None, self._asked) or self.action not in (None, self._asked_action)
        ):
            self.fault = None
            try:
                return super().respond(value, with_provenance)
            finally:
                self.fault = fault
        if fault is not None:
            self.injected += 1
        return super().respond(value, with_provenance)


@pytest.fixture
def opa() -> Iterator[ScopedDouble]:
    """Overrides the plain double that `opa_hub` asks for."""
    double = ScopedDouble()
    with double:
        yield double


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Free embedded engines (the double's, reviewed policy versions) here, not in a server
    thread (see tests/disclosure/conftest.py)."""
    yield
    gc.collect()


# -- the state an action needs ----------------------------------------------------------------


@dataclass
class Ground:
    hub: RunningHub
    http: httpx.Client
    tmp_path: Path
    stack: ExitStack


@dataclass
class Stage:
    """A state built over HTTP, and the actors the probes act as."""

    http: httpx.Client
    settings: Settings
    tmp_path: Path
    case_id: str = ""
    plan_case: PlanCase | None = None
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def case(self) -> str:
        return f"/api/v1/cases/{self.case_id}"

    @property
    def plan(self) -> PlanCase:
        assert self.plan_case is not None, "this probe needs a plan stage"
        return self.plan_case

    def as_(self, partner: str, user: str, roles: list[str], purpose: str) -> As:
        return As(self.http, self.settings, partner, user, roles, purpose)

    def police(self, purpose: str) -> As:
        return self.as_("politie", "agent-1", ["publisher", "participant"], purpose)

    def procesregisseur(self, purpose: str) -> As:
        return self.as_("zvh", "pr-1", ["procesregisseur"], purpose)

    @property
    def housing(self) -> As:
        return self.as_("woningcorporatie", "w-1", ["publisher", "participant"], "preparation")

    @property
    def auditor(self) -> As:
        return self.as_("zvh", "aud-1", ["auditor"], "audit")

    def officer(self, name: str) -> As:
        return officer(self.http, self.settings, name)


def nothing(g: Ground) -> Stage:
    return Stage(g.http, g.hub.settings, g.tmp_path)


def at_intake(g: Ground) -> Stage:
    """A case registered by the police, not yet taken on."""
    stage = nothing(g)
    case = ok(stage.police("intake").post("/api/v1/cases", json=REGISTRATION), 201)
    stage.case_id = case["id"]
    stage.ids["subject"] = case["subjects"][0]["id"]
    return stage


def in_screening(g: Ground) -> Stage:
    case = new_case(g.http, g.hub.settings, to="screening")
    return Stage(g.http, g.hub.settings, g.tmp_path, case_id=case["id"])


def _preparation(g: Ground) -> tuple[Stage, World]:
    world = case_in_preparation(g.http, g.hub.settings, subject={"role_in_case": "x", "bsn": BSN})
    return Stage(g.http, g.hub.settings, g.tmp_path, case_id=world.case_id), world


def in_preparation(g: Ground) -> Stage:
    """Triaged onto multi_problem; woningcorporatie, gemeente-wi and om take part."""
    stage, _ = _preparation(g)
    participants = ok(stage.procesregisseur("preparation").get(stage.case))["participants"]
    stage.ids = {p["partner"]: p["id"] for p in participants}
    return stage


def with_subject(g: Ground) -> Stage:
    """In preparation, with the case's subject id at hand."""
    stage, world = _preparation(g)
    stage.ids["subject"] = world.subject_id
    return stage


def ready_for_conference(g: Ground) -> Stage:
    """In preparation, every subject informed (what the case conference needs)."""
    stage = in_preparation(g)
    inform_all(stage.procesregisseur("preparation"), stage.case_id)
    return stage


def with_fact(g: Ground) -> Stage:
    """In preparation, with one police incident published."""
    stage, world = _preparation(g)
    stage.ids["fact"] = world.publish_incident("incident")
    return stage


def on_the_agenda(g: Ground) -> Stage:
    stage, _ = _preparation(g)
    ok(_schedule(stage).send(), 201)
    return stage


def in_plan(g: Ground) -> Stage:
    """tests/plans' case: in the plan phase, gemeente-wi's cr-1 is casusregisseur."""
    builder = _build(g.hub, g.http, g.hub.settings.effective_database_url, to_plan=True)
    plan_case = next(builder)
    g.stack.callback(next, builder, None)  # resumed, it disposes of its engine
    return Stage(g.http, g.hub.settings, g.tmp_path, case_id=plan_case.case_id, plan_case=plan_case)


def plan_recorded(g: Ground) -> Stage:
    stage = in_plan(g)
    ok(stage.plan.casusregisseur.put(stage.plan.plan_path, json=stage.plan.plan_body()), 201)
    return stage


def in_conference(g: Ground) -> Stage:
    """tests/plans' case in the case conference, gemeente-wi's cr-1 casusregisseur."""
    builder = _build(g.hub, g.http, g.hub.settings.effective_database_url, to_plan=False)
    plan_case = next(builder)
    g.stack.callback(next, builder, None)
    return Stage(g.http, g.hub.settings, g.tmp_path, case_id=plan_case.case_id, plan_case=plan_case)


MEETING = {
    "table": "multi_problem",
    "starts_at": "2027-01-12T09:00:00+01:00",
    "ends_at": "2027-01-12T10:30:00+01:00",
    "location": "Veiligheidshuis, zaal 2",
    "chair": {"partner": "zvh", "user": "pr-1", "role": "procesregisseur"},
}


def meeting_scheduled(g: Ground) -> Stage:
    """A case conference scheduled for the table of a case in the case conference."""
    stage = in_conference(g)
    meeting = ok(stage.plan.procesregisseur.post("/api/v1/meetings", json=MEETING), 201)
    stage.ids["meeting"] = f"/api/v1/meetings/{meeting['id']}"
    return stage


def on_a_meeting(g: Ground) -> Stage:
    """The case on a case conference, the housing corporation invited, minutes recorded."""
    stage = meeting_scheduled(g)
    p = stage.plan
    meeting = stage.ids["meeting"]
    item = ok(p.procesregisseur.post(f"{meeting}/items", json={"case_id": p.case_id}), 201)
    stage.ids["item"] = f"{meeting}/items/{item['id']}"
    invitee = {"partner": "woningcorporatie"}
    ok(p.procesregisseur.post(f"{stage.ids['item']}/invitees", json=invitee))
    ok(p.casusregisseur.post(f"{stage.ids['item']}/minutes", json=MINUTES), 201)
    return stage


MINUTES = {"parts": [{"life_domain": "housing", "text": "Huurachterstand besproken."}]}


def shredded(g: Ground) -> Stage:
    """A case in preparation marked shredded (what retention leaves: metadata, no key)."""
    stage = in_preparation(g)
    with raw_engine(stage.settings) as engine, engine.begin() as conn:
        conn.execute(
            text("UPDATE cases SET status = 'shredded' WHERE id = :c"), {"c": stage.case_id}
        )
    return stage


def policy_loaded(g: Ground) -> Stage:
    """A candidate policy version loaded by one privacy officer, not yet approved, and the
    digest of its diff against the active version (what an approval quotes)."""
    stage = nothing(g)
    stage.ids["version"] = loaded_by(g.http, stage.settings, "fg-gemeente", candidate(g.tmp_path))
    stage.ids["digest"] = digest_for(g.http, stage.settings, stage.ids["version"])
    return stage


# -- the one request per action ---------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request, sendable twice (every send mints a fresh token)."""

    who: As
    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None
    content: bytes | None = None
    content_type: str | None = None

    def send(self) -> httpx.Response:
        # a connection of its own: after a 500 uvicorn drops the connection, and a pooled
        # one would then fail the next request with "connection reset"
        headers = {**self.who.headers(), "Connection": "close"}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        return self.who.http.request(
            self.method,
            self.path,
            headers=headers,
            json=self.json,
            params=self.params,
            content=self.content,
        )


@dataclass(frozen=True)
class Probe:
    stage: Callable[[Ground], Stage]
    call: Callable[[Stage], Call]
    allowed: int = 200  # the status of the same request when the engine answers
    rule: str | None = None  # inject the fault only into this rule's answers
    tables: frozenset[str] = frozenset()  # log-side tables this action would change too
    #: inject the fault only into the decision on this catalogue action (a request that asks
    #: another action first, such as read_plan before monitor_plan, reaches it)
    action: str | None = None
    #: allowed entries the request writes before it reaches the failing decision: reads that
    #: really decrypted (and disclosed nothing), which the log must keep
    reads: frozenset[str] = frozenset()


def _schedule(s: Stage) -> Call:
    body = {"case_id": s.case_id, "meeting_date": "2026-12-01"}
    return Call(
        s.procesregisseur("preparation"), "POST", "/api/v1/tables/multi_problem/agenda", body
    )


def _plan_status_change(s: Stage) -> Call:
    body = {"status": "in_progress", "note": "Regeling loopt."}
    return Call(s.plan.woningcorporatie, "POST", s.plan.status_path("i1"), json=body)


def _publish(s: Stage) -> Call:
    body = {
        "idempotency_key": "gate-1",
        "type": "police.nuisance_report/1",
        "legal_basis": "convenant_zvh",
        "content": example("police.nuisance_report/1"),
    }
    return Call(s.police("preparation"), "POST", f"{s.case}/facts", json=body)


def _correct(s: Stage) -> Call:
    body = {"content": example("police.incident/1")}
    path = f"/api/v1/facts/{s.ids['fact']}/corrections"
    return Call(s.police("preparation"), "POST", path, json=body)


def _load_policy(s: Stage) -> Call:
    data = bundle_of(candidate(s.tmp_path))
    return Call(
        s.officer("fg-gemeente"),
        "POST",
        "/api/v1/policies",
        content=data,
        content_type="application/gzip",
    )


INFORMED = {
    "state": "informed",
    "informed_on": "2025-06-02",
    "channel": "letter",
    "informed_party": "subject",
    "age_band": "adult",
}


def _notices(s: Stage) -> str:
    return f"{s.case}/subjects/{s.ids['subject']}/notices"


COORD = {
    "counterpart": "other_zvh",
    "regievoerder": {"partner": "zvh", "user": "pr-1"},
    "status": "to_coordinate",
}
SIMULATION = {
    "viewer": {"partner_kind": "housing", "roles": ["participant"]},
    "table": "multi_problem",
    "phase": "case_conference",
    "fact_types": ["police.incident/1"],
}
CHECKPOINTS = frozenset({"checkpoints"})

#: Every action of policies/data/action_rules.json -> the state it needs and its request.
ACTIONS: dict[str, Probe] = {
    "register_case": Probe(
        nothing, lambda s: Call(s.police("intake"), "POST", "/api/v1/cases", REGISTRATION), 201
    ),
    "take_case": Probe(
        at_intake, lambda s: Call(s.procesregisseur("intake"), "POST", f"{s.case}/procesregie")
    ),
    "screen": Probe(
        in_screening,
        lambda s: Call(s.procesregisseur("screening"), "POST", f"{s.case}/screenings", {}),
    ),
    "triage": Probe(
        in_screening,
        lambda s: Call(
            s.procesregisseur("screening"),
            "POST",
            f"{s.case}/triage",
            {"criteria": CRITERIA, "decision": "accept"},
        ),
    ),
    "invite": Probe(
        in_preparation,
        lambda s: Call(
            s.procesregisseur("preparation"),
            "POST",
            f"{s.case}/participants",
            {"partner": "ggz"},
        ),
    ),
    "withdraw_invitation": Probe(
        in_preparation,
        lambda s: Call(
            s.procesregisseur("preparation"), "DELETE", f"{s.case}/participants/{s.ids['om']}"
        ),
    ),
    "assign_casusregisseur": Probe(
        in_preparation,
        lambda s: Call(
            s.procesregisseur("preparation"),
            "PUT",
            f"{s.case}/casusregisseur",
            {"partner": "gemeente-wi", "user": "cr-1"},
        ),
    ),
    "schedule": Probe(in_preparation, _schedule, 201),
    "change_phase": Probe(
        ready_for_conference,
        lambda s: Call(
            s.procesregisseur("preparation"),
            "POST",
            f"{s.case}/phase-changes",
            {"to": "case_conference"},
        ),
    ),
    "close": Probe(
        in_preparation,
        lambda s: Call(
            s.procesregisseur("preparation"),
            "POST",
            f"{s.case}/closure",
            {"outcome": "handed_back"},
        ),
    ),
    "read_case": Probe(in_preparation, lambda s: Call(s.housing, "GET", s.case)),
    "list_caseload": Probe(
        in_preparation,
        lambda s: Call(
            s.as_("woningcorporatie", "w-1", ["publisher", "participant"], "case_management"),
            "GET",
            "/api/v1/caseload",
        ),
    ),
    "correct_subject": Probe(
        at_intake,
        lambda s: Call(
            s.police("intake"),
            "PUT",
            f"{s.case}/subjects/{s.ids['subject']}",
            {"version": 1, "role_in_case": "resident", "bsn": BSN},
        ),
    ),
    "record_notice": Probe(
        with_subject,
        lambda s: Call(s.procesregisseur("preparation"), "POST", _notices(s), INFORMED),
        201,
    ),
    # the registering partner: record_notice is asked first (no), then this one fails
    "record_notice_as_registrant": Probe(
        with_subject,
        lambda s: Call(s.police("preparation"), "POST", _notices(s), INFORMED),
        201,
        action="record_notice_as_registrant",
    ),
    "read_notices": Probe(in_preparation, lambda s: Call(s.housing, "GET", f"{s.case}/notices")),
    "record_plan": Probe(
        in_plan,
        lambda s: Call(s.plan.casusregisseur, "PUT", s.plan.plan_path, s.plan.plan_body()),
        201,
    ),
    "read_plan": Probe(plan_recorded, lambda s: Call(s.plan.om, "GET", s.plan.plan_path)),
    # the owner is sealed in the plan: the door opens it under read_plan (logged, nothing
    # disclosed), then the gate asks monitor_plan with the owner as target
    "monitor_plan": Probe(
        plan_recorded,
        _plan_status_change,
        201,
        action="monitor_plan",
        reads=frozenset({"plan.read"}),
    ),
    "read_log": Probe(at_intake, lambda s: Call(s.auditor, "GET", "/api/v1/audit/entries")),
    "export_log": Probe(  # the verifiable export signs a checkpoint first
        at_intake, lambda s: Call(s.auditor, "GET", "/api/v1/audit/export"), tables=CHECKPOINTS
    ),
    "subject_access_report": Probe(
        at_intake,
        lambda s: Call(
            s.auditor, "POST", "/api/v1/audit/subject-access-reports", {"bsn": "111222333"}
        ),
    ),
    "read_misuse_signals": Probe(
        at_intake,
        lambda s: Call(
            s.officer("fg-gemeente").with_purpose("audit"), "GET", "/api/v1/audit/signals"
        ),
    ),
    "read_partner_log": Probe(
        at_intake, lambda s: Call(s.police("audit"), "GET", "/api/v1/partner-log/entries")
    ),
    "read_policies": Probe(
        nothing, lambda s: Call(s.officer("fg-gemeente"), "GET", "/api/v1/policies")
    ),
    "simulate_policy": Probe(
        nothing,
        lambda s: Call(
            s.officer("fg-gemeente"), "POST", "/api/v1/policies/simulations", SIMULATION
        ),
    ),
    "simulate_on_case": Probe(
        in_preparation,
        lambda s: Call(
            s.officer("fg-gemeente"),
            "POST",
            "/api/v1/policies/simulations",
            {
                "viewer": {"partner": "woningcorporatie", "roles": ["participant"]},
                "case_id": s.case_id,
            },
        ),
        action="simulate_on_case",
    ),
    "schedule_meeting": Probe(
        nothing,
        lambda s: Call(s.procesregisseur("case_conference"), "POST", "/api/v1/meetings", MEETING),
        201,
    ),
    "add_meeting_item": Probe(
        meeting_scheduled,
        lambda s: Call(
            s.plan.procesregisseur, "POST", f"{s.ids['meeting']}/items", {"case_id": s.case_id}
        ),
        201,
    ),
    "read_meeting": Probe(
        on_a_meeting, lambda s: Call(s.plan.woningcorporatie, "GET", s.ids["meeting"])
    ),
    # the chair reads its meeting before any case is on it
    "read_meeting_frame": Probe(
        meeting_scheduled,
        lambda s: Call(s.procesregisseur("case_conference"), "GET", s.ids["meeting"]),
    ),
    "record_attendance": Probe(
        on_a_meeting,
        lambda s: Call(
            s.plan.casusregisseur,
            "PUT",
            f"{s.ids['item']}/attendance",
            {"attendance": [{"partner": "woningcorporatie", "status": "present"}]},
        ),
    ),
    "record_minutes": Probe(
        on_a_meeting,
        lambda s: Call(s.plan.casusregisseur, "POST", f"{s.ids['item']}/minutes", MINUTES),
        201,
    ),
    "read_minutes": Probe(
        on_a_meeting,
        lambda s: Call(s.plan.woningcorporatie, "GET", f"{s.ids['item']}/minutes"),
    ),
    "load_policy": Probe(nothing, _load_policy, 201),
    "approve_policy": Probe(
        policy_loaded,
        lambda s: Call(
            s.officer("fg-politie"),
            "POST",
            f"/api/v1/policies/{s.ids['version']}/approvals",
            {"diff_digest": s.ids["digest"]},
        ),
        201,
    ),
    "record_coordination": Probe(
        in_preparation,
        lambda s: Call(s.procesregisseur("preparation"), "PUT", f"{s.case}/coordination", COORD),
    ),
    "read_coordination": Probe(
        in_preparation, lambda s: Call(s.housing, "GET", f"{s.case}/coordination")
    ),
    # a member learns that the case was shredded (410); the policy's see_shredded decides
    "see_shredded": Probe(shredded, lambda s: Call(s.housing, "GET", s.case), 410),
    "manage_subscriptions": Probe(
        nothing, lambda s: Call(s.housing, "GET", "/api/v1/subscriptions")
    ),
    "read_statistics": Probe(
        in_preparation,
        lambda s: Call(
            s.as_("zvh", "pr-1", ["procesregisseur"], "management_information"),
            "GET",
            "/api/v1/statistics",
        ),
    ),
}

#: Paths outside the catalogue that ask the policy too. A name the catalogue gains later
#: (list_intake_queue is planned) counts as that action's probe.
ELSEWHERE: dict[str, Probe] = {
    # read_case as a filter over many cases, no single target
    "list_cases": Probe(in_preparation, lambda s: Call(s.housing, "GET", "/api/v1/cases")),
    # the same list, for a procesregisseur: the untaken case at intake (the intake queue)
    "list_intake_queue": Probe(
        at_intake, lambda s: Call(s.procesregisseur("intake"), "GET", "/api/v1/cases")
    ),
    "agenda": Probe(
        on_the_agenda,
        lambda s: Call(
            s.procesregisseur("preparation"), "GET", "/api/v1/tables/multi_problem/agenda"
        ),
    ),
    # data.vhhub.publish itself fails, after the read_case check has passed
    "publish": Probe(in_preparation, _publish, 201, rule=PUBLISH_RULE),
    "correct_fact": Probe(with_fact, _correct, 201, rule=PUBLISH_RULE),
    # no publish decision here: only the read_case check guards a withdrawal
    "withdraw_fact": Probe(
        with_fact,
        lambda s: Call(
            s.police("preparation"),
            "POST",
            f"/api/v1/facts/{s.ids['fact']}/withdrawal",
            {"reason_code": "published_in_error"},
        ),
    ),
    # writes guarded by a read action
    "sign_checkpoint": Probe(
        at_intake,
        lambda s: Call(s.auditor, "POST", "/api/v1/audit/checkpoints"),
        tables=CHECKPOINTS,
    ),
    # the same request failing at its first question (read_plan)
    "plan_status_change": Probe(plan_recorded, _plan_status_change, 201),
    # disclosure besides the briefing
    "updates": Probe(with_fact, lambda s: Call(s.housing, "GET", f"{s.case}/updates")),
}


# -- looking at the database ------------------------------------------------------------------


def state(settings: Settings, extra: frozenset[str]) -> dict[str, list[str]]:
    """Every row of every table but the log's (plus `extra`), in a comparable form."""
    with raw_engine(settings) as engine, engine.connect() as conn:
        tables = [
            t
            for t in inspect(conn).get_table_names()
            if t != "alembic_version" and (t not in LOG_TABLES or t in extra)
        ]
        return {
            t: sorted(repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{t}"')))
            for t in tables
        }


def entries_since(settings: Settings, seq: int) -> list[Any]:
    return [row for row in log_rows(settings) if row.seq >= seq]


# -- the tests --------------------------------------------------------------------------------


def test_every_catalogue_action_has_a_probe() -> None:
    missing = sorted(set(CATALOGUE) - set(ACTIONS) - set(ELSEWHERE))
    stale = sorted(set(ACTIONS) - set(CATALOGUE))
    assert not missing, (
        f"actions in policies/data/action_rules.json without a probe in ACTIONS: {missing}; "
        "add the request that exercises each, so its fail-closed behaviour is tested"
    )
    assert not stale, f"ACTIONS names actions the catalogue no longer has: {stale}"


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    "name", [*sorted(CATALOGUE), *(n for n in ELSEWHERE if n not in CATALOGUE)]
)
def test_a_failing_policy_engine_refuses_the_action_and_logs_it(
    name: str,
    fault: str,
    opa: ScopedDouble,
    opa_hub: RunningHub,  # noqa: F811
    tmp_path: Path,
) -> None:
    probe = ACTIONS.get(name) or ELSEWHERE.get(name)
    if probe is None:
        pytest.fail(
            f"catalogue action {name!r} has no probe in ACTIONS: add the request that exercises it"
        )
    settings = opa_hub.settings
    with ExitStack() as stack, opa_hub.client() as http:
        stage = probe.stage(Ground(opa_hub, http, tmp_path, stack))
        call = probe.call(stage)
        before, first_new = state(settings, probe.tables), log_size(settings)
        opa.fault, opa.rule, opa.action, opa.injected = fault, probe.rule, probe.action, 0
        try:
            response = call.send()
        finally:
            opa.fault, opa.rule, opa.action = None, None, None
        injected = opa.injected
        new = entries_since(settings, first_new)
        after = state(settings, probe.tables)
        control = call.send()
        # a server thread may still be printing a 500's traceback, and in Python 3.11 both
        # that and pytest's failure report call ast.parse, which is not thread-safe there
        # ("AST constructor recursion depth mismatch"): let the hub finish first
        ok(http.get("/api/v1/health"))

    assert injected, f"{name}: the request never asked the policy rule under test"
    errors = [e for e in new if e.action == "policy.error"]
    seen = f"{name} [{fault}]: got {response.status_code}, new log entries " + str(
        [(e.action, e.outcome) for e in new]
    )
    assert response.status_code == 503, seen
    assert response.headers["content-type"].startswith("application/problem+json"), seen
    problem = response.json()
    assert problem["type"].endswith("/policy-error"), seen
    assert set(problem) <= PROBLEM_KEYS, f"{name}: the refusal carries {sorted(problem)}"
    assert errors, f"{seen}: no policy.error entry"
    assert [(e.outcome, e.actor_partner, e.actor_user) for e in errors] == [
        ("error", call.who.partner, call.who.user)
    ], seen
    assert not [e for e in new if e.outcome == "allowed" and e.action not in probe.reads], (
        f"{seen}: logged as done"
    )
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not changed, f"{name}: a refused request changed {changed}"
    assert control.status_code == probe.allowed, (
        f"{name}: without the fault the same request answers {control.status_code}, not "
        f"{probe.allowed}, so the state was not one that allows it: {control.text[:300]}"
    )
