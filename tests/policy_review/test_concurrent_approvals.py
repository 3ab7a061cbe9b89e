"""Approvals racing each other, with real threads against the real API (on PostgreSQL when
VHHUB_TEST_DATABASE_URL says so; SQLite serialises writers anyway).

Two things must hold however the requests interleave: one partner's officers approving at the
same instant are one vote (never two), and a version is activated at most once - and of two
versions completed at the same instant, only one becomes active; the other's approval was
given on a diff against a version that is no longer active, and is refused (409).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from hub.policy_review.models import PolicyVersion
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.policy_review.conftest import (
    approval,
    log_entries,
    officer,
    officer_of,
    policy_copy,
    set_cell,
)
from tests.policy_review.test_approval import candidate, digest_for, loaded_by, status_of
from tests.support import ok

pytestmark = pytest.mark.slow


def race(hub: RunningHub, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[int]:
    """Send every call from its own thread and connection, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        with hub.client() as http:
            http.timeout = 120
            barrier.wait()
            try:
                results[index] = calls[index](http)
            except BaseException as exc:  # reported below, on the main thread
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = []
    for result in results:
        assert isinstance(result, httpx.Response), result
        statuses.append(result.status_code)
        assert result.status_code in (200, 201, 409), result.text
    return statuses


def approver(
    settings: Settings, partner: str, user: str, version: str, digest: str
) -> Callable[[httpx.Client], httpx.Response]:
    def call(http: httpx.Client) -> httpx.Response:
        return approval(officer_of(http, settings, partner, user), version, digest)

    return call


def active_rows(settings: Settings) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(PolicyVersion)
                .where(PolicyVersion.status == "active")
            )
    finally:
        engine.dispose()
    return int(count or 0)


def test_concurrent_approvals_of_one_partner_count_once_and_activate_once(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    version = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path))
    digest = digest_for(http, settings, version)

    # eight officers of the police at the same instant: one vote
    statuses = race(
        hub, [approver(settings, "politie", f"po-{i}", version, digest) for i in range(8)]
    )
    assert sorted(statuses) == [200] * 7 + [201]
    seen = status_of(http, settings, version)
    assert seen["status"] == "inactive" and seen["approvals_counted"] == ["politie"]

    # twelve officers of four other key partners: the version is activated exactly once
    others = [("ggz", 3), ("om", 3), ("gemeente-leerplicht", 3), ("reclassering", 3)]
    calls = [
        approver(settings, partner, f"{partner}-{i}", version, digest)
        for partner, n in others
        for i in range(n)
    ]
    statuses = race(hub, calls)
    assert 201 in statuses
    assert status_of(http, settings, version)["status"] == "active"
    assert active_rows(settings) == 1
    activations = [
        e for e in log_entries(settings, "policy.activate") if e.policy_version == version
    ]
    assert len(activations) == 1
    allowed = [
        e
        for e in log_entries(settings, "policy.approve")
        if e.outcome == "allowed" and e.reason.startswith("approval ")
    ]
    # only the approvals recorded before the activation: the police's and the one completing
    assert [e.reason for e in allowed] == ["approval 1 of 2", "approval 2 of 2"]
    assert hub.context.gate.version == version


def test_two_versions_completed_at_the_same_instant_activate_one(
    shipped: str, hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    settings = hub.settings
    first = loaded_by(http, settings, "fg-gemeente", candidate(tmp_path, "first"))
    other = policy_copy(tmp_path, "second")
    set_cell(other, "youth", "housing", "execution", "execution", "social_work_needs")
    second = loaded_by(http, settings, "fg-gemeente", other)
    digests = {v: digest_for(http, settings, v) for v in (first, second)}
    for version in (first, second):
        ok(approval(officer(http, settings, "fg-politie"), version, digests[version]), 201)

    statuses = race(
        hub,
        [
            approver(settings, "ggz", "fg-ggz", first, digests[first]),
            approver(settings, "om", "fg-om", second, digests[second]),
        ],
    )
    assert sorted(statuses) == [201, 409]
    assert active_rows(settings) == 1
    states = {v: status_of(http, settings, v)["status"] for v in (first, second)}
    assert sorted(states.values()) == ["active", "inactive"]
    winner = next(v for v, s in states.items() if s == "active")
    loser = first if winner == second else second
    activations = [e for e in log_entries(settings, "policy.activate")]
    assert [e.policy_version for e in activations] == [winner]
    assert activations[0].object_ids == sorted([winner, shipped])
    # the loser's approvals were on the diff against the retired version: none counts now
    assert status_of(http, settings, loser)["approvals_counted"] == []
    denied = [e for e in log_entries(settings, "policy.approve") if e.outcome == "denied"]
    assert len(denied) == 1 and loser in denied[0].object_ids
