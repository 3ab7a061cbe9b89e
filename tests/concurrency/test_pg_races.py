"""Races that PostgreSQL lets happen and SQLite hides (issue 15), with real threads against
the real API over HTTP.

SQLite takes its write lock at ``BEGIN IMMEDIATE``, so two requests never interleave there and
these tests are skipped; on PostgreSQL (VHHUB_TEST_DATABASE_URL) requests run side by side
under READ COMMITTED, and each test repeats its race enough rounds for the old code to lose:

- a withdrawal and a correction of one fact: exactly one wins, the other gets 409, and the
  database and the log hold only the winner's change;
- concurrent publishes with one idempotency key, and concurrent identical invitations: every
  request answers as the retry it is (never 500), and one row is stored;
- two procesregisseurs taking one case: exactly one wins, the other gets 409, and one
  ``case.take`` is logged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select

from hub.audit.models import LogEntry
from hub.cases.models import Participant
from hub.facts.models import Fact
from tests.conftest import RunningHub, backend_url
from tests.support import As, ok

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        backend_url() is None,
        reason="SQLite serialises writers (BEGIN IMMEDIATE), so these races cannot happen; "
        "set VHHUB_TEST_DATABASE_URL to a PostgreSQL server to run them",
    ),
]

ROUNDS = 15
#: no race may keep the suite waiting longer than this
DEADLINE_S = 120.0
EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
INCIDENT = json.loads((EXAMPLES / "police.incident.1.json").read_text(encoding="utf-8"))


def race(hub: RunningHub, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[Any]:
    """Send every call from its own thread and connection, released together; the responses
    in call order (a 500 is returned, not raised, so the test can say what it got)."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        with hub.client() as http:
            http.timeout = 60
            try:
                barrier.wait(timeout=30)
                results[index] = calls[index](http)
            except BaseException as exc:  # reported below, on the main thread
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_S)
    for result in results:
        assert isinstance(result, httpx.Response), repr(result)
    return results


@dataclass
class World:
    hub: RunningHub
    http: httpx.Client
    engine: Engine
    politie: As
    zvh: As

    def register(self) -> tuple[str, str]:
        """A new case at intake (registered by politie); its id and its subject's id."""
        case = ok(
            self.politie.with_purpose("intake").post(
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
        return case["id"], case["subjects"][0]["id"]

    def to_screening(self, case_id: str) -> As:
        """Take the case and move it to screening; the procesregisseur, stating screening."""
        ok(self.zvh.post(f"/api/v1/cases/{case_id}/procesregie"))
        ok(self.zvh.post(f"/api/v1/cases/{case_id}/phase-changes", json={"to": "screening"}))
        return self.zvh.with_purpose("screening")

    def log(self, action: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(LogEntry).where(LogEntry.action == action).order_by(LogEntry.seq)
                ).all()
            )

    def scalar(self, statement: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.scalar(statement)


@pytest.fixture
def world(hub: RunningHub, http: httpx.Client) -> Iterator[World]:
    s = hub.settings
    engine = create_engine(s.effective_database_url)
    try:
        yield World(
            hub=hub,
            http=http,
            engine=engine,
            politie=As(http, s, "politie", "agent-1", ["publisher", "participant"], "intake"),
            zvh=As(http, s, "zvh", "pr-1", ["procesregisseur"], "intake"),
        )
    finally:
        engine.dispose()


def as_user(world: World, http: httpx.Client, actor: As) -> As:
    """The same user on another thread's connection."""
    return As(http, world.hub.settings, actor.partner, actor.user, actor.roles, actor.purpose)


def publisher_case(world: World) -> tuple[str, str, As]:
    """A case in preparation that politie publishes on: its id, its subject, politie."""
    case_id, subject_id = world.register()
    zvh = world.to_screening(case_id)
    criteria = {
        "multiple_life_domains": True,
        "criminal_or_nuisance_behaviour": True,
        "multiple_chains_needed": True,
        "impact_on_system_or_environment": True,
    }
    triage = {"criteria": criteria, "decision": "accept"}
    ok(zvh.post(f"/api/v1/cases/{case_id}/triage", json=triage))
    ok(zvh.post(f"/api/v1/cases/{case_id}/phase-changes", json={"to": "preparation"}))
    return case_id, subject_id, world.politie.with_purpose("preparation")


def fact_body(key: str, subject_id: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "type": "police.incident/1",
        "subject_id": subject_id,
        "legal_basis": "wpg_art_19",
        "content": INCIDENT,
    }


def test_a_withdrawal_and_a_correction_of_one_fact_one_wins(world: World) -> None:
    case_id, subject_id, politie = publisher_case(world)
    started = time.monotonic()
    outcomes: set[str] = set()
    for round_ in range(ROUNDS):
        published = ok(
            politie.post(
                f"/api/v1/cases/{case_id}/facts", json=fact_body(f"race-{round_}", subject_id)
            ),
            201,
        )
        fact_id = published["facts"][0]["id"]
        correction, withdrawal = race(
            world.hub,
            [
                lambda h: as_user(world, h, politie).post(
                    f"/api/v1/facts/{fact_id}/corrections", json={"content": INCIDENT}
                ),
                lambda h: as_user(world, h, politie).post(
                    f"/api/v1/facts/{fact_id}/withdrawal",
                    json={"reason_code": "published_in_error"},
                ),
            ],
        )
        codes = (correction.status_code, withdrawal.status_code)
        assert codes in ((201, 409), (409, 200)), f"round {round_}: {codes}"
        lineage = world.scalar(select(Fact.lineage_id).where(Fact.id == fact_id))
        current = world.scalar(
            select(func.count())
            .select_from(Fact)
            .where(Fact.lineage_id == lineage, Fact.status == "current")
        )
        versions = world.scalar(
            select(func.count()).select_from(Fact).where(Fact.lineage_id == lineage)
        )
        corrected = [e for e in world.log("fact.correct") if fact_id in e.object_ids]
        withdrawn = [e for e in world.log("fact.withdraw") if fact_id in e.object_ids]
        if codes[0] == 201:  # the correction won: a new current version, no withdrawal
            outcomes.add("corrected")
            assert (current, versions) == (1, 2)
            assert (len(corrected), len(withdrawn)) == (1, 0)
        else:  # the withdrawal won: nothing current, no new version
            outcomes.add("withdrawn")
            assert (current, versions) == (0, 1)
            assert (len(corrected), len(withdrawn)) == (0, 1)
        loser = withdrawal if codes[0] == 201 else correction
        assert loser.headers["content-type"] == "application/problem+json"
        assert time.monotonic() - started < DEADLINE_S * 2
    assert outcomes  # at least one round ran; which side wins is up to the scheduler


def test_concurrent_publishes_with_one_key_answer_as_retries(world: World) -> None:
    case_id, subject_id, politie = publisher_case(world)
    started = time.monotonic()
    for round_ in range(ROUNDS):
        key = f"same-key-{round_}"
        responses = race(
            world.hub,
            [
                lambda h: as_user(world, h, politie).post(
                    f"/api/v1/cases/{case_id}/facts", json=fact_body(key, subject_id)
                )
                for _ in range(4)
            ],
        )
        codes = [r.status_code for r in responses]
        # the first publish is 201, the retries answer as retries: 200 with the stored fact
        assert sorted(codes) == [200, 200, 200, 201], f"round {round_}: {codes}"
        facts = [r.json()["facts"][0] for r in responses]
        assert len({f["id"] for f in facts}) == 1, f"round {round_}: several facts"
        assert sorted(f["created"] for f in facts) == [False, False, False, True]
        stored = world.scalar(
            select(func.count())
            .select_from(Fact)
            .where(Fact.publisher_partner == "politie", Fact.idempotency_key == key)
        )
        assert stored == 1
        logged = [e for e in world.log("fact.publish") if facts[0]["id"] in e.object_ids]
        assert len(logged) == 1
        assert time.monotonic() - started < DEADLINE_S * 2
    # the losers logged no publish of a fact that was never stored
    every_logged = {i for e in world.log("fact.publish") for i in e.object_ids}
    with world.engine.connect() as conn:
        every_stored = set(conn.scalars(select(Fact.id).where(Fact.case_id == case_id)))
    assert every_logged == every_stored


def test_concurrent_identical_invitations_answer_as_retries(world: World) -> None:
    case_id, _ = world.register()
    zvh = world.to_screening(case_id)
    started = time.monotonic()
    for round_ in range(ROUNDS):
        body = {"partner": "om", "user": f"officier-{round_}"}
        responses = race(
            world.hub,
            [
                lambda h: as_user(world, h, zvh).post(
                    f"/api/v1/cases/{case_id}/participants", json=body
                )
                for _ in range(4)
            ],
        )
        codes = [r.status_code for r in responses]
        assert codes == [200] * 4, f"round {round_}: {codes}"
        stored = world.scalar(
            select(func.count())
            .select_from(Participant)
            .where(
                Participant.case_id == case_id,
                Participant.partner_id == "om",
                Participant.user == body["user"],
            )
        )
        assert stored == 1
        assert time.monotonic() - started < DEADLINE_S * 2


def test_two_procesregisseurs_taking_one_case_one_wins(world: World) -> None:
    started = time.monotonic()
    for round_ in range(ROUNDS):
        case_id, _ = world.register()
        takers = [
            As(world.http, world.hub.settings, "zvh", f"pr-{i}", ["procesregisseur"], "intake")
            for i in (1, 2)
        ]
        responses = race(
            world.hub,
            [
                lambda h, taker=taker: as_user(world, h, taker).post(
                    f"/api/v1/cases/{case_id}/procesregie"
                )
                for taker in takers
            ],
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], f"round {round_}: {codes}"
        winner = next(r for r in responses if r.status_code == 200).json()
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.headers["content-type"] == "application/problem+json"
        taken = [e for e in world.log("case.take") if e.case_id == case_id]
        assert len(taken) == 1, f"round {round_}: {len(taken)} case.take entries"
        assert taken[0].outcome == "allowed"
        assert taken[0].actor_user == winner["procesregisseur"]["user"]
        assert time.monotonic() - started < DEADLINE_S * 2
