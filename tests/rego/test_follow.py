"""Following the version active in the database (ADR 0103), one probe for many requests.

Every request asks which version is active before its work. Requests that arrive while such a
read is under way wait for the next read and share it (ADR 0020, section 17); what must not
change is that no request is answered by a read that began before it arrived: an activation
committed before a request arrives is followed by that request. These tests use the hub's own
probe on the real test database (SQLite or PostgreSQL) and the real loader of stored versions;
the probe is only held at the moment it has its answer, so the test decides which requests
arrive while a read is under way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

import hub.rego.serving as serving_module
from hub.policy_review.models import PolicyVersion
from hub.policy_review.store import (
    ActiveVersionProbe,
    file_manifest,
    pack_files,
    read_bundle_bytes,
    version_of_files,
)
from hub.policy_review.versions import engine_for_stored_version
from hub.rego.engine import PolicyEngine
from hub.rego.serving import ServingEngine
from hub.settings import Settings
from tests.policy_review.conftest import bundle_of, policy_copy, set_cell

WAITERS = 8


class HeldProbe(ActiveVersionProbe):
    """The hub's probe; each read keeps its answer until the test lets it go."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reads = 0
        self.answered = threading.Event()
        self.go_on = threading.Event()
        self.go_on.set()

    def active_version(self) -> str | None:
        answer = super().active_version()
        self.reads += 1
        self.answered.set()
        assert self.go_on.wait(30), "the test never let the probe go on"
        return answer


def waiting_for_a_probe(serving: ServingEngine) -> int:
    # CPython's Condition keeps its waiters in `_waiters`: the count of requests that arrived
    # during the held read and wait for the next one (not a public API; the test's own clock)
    return len(serving._probes._waiters)  # type: ignore[attr-defined]


@pytest.fixture
def probe(initialised: Settings) -> Iterator[HeldProbe]:
    held = HeldProbe(initialised.effective_database_url)
    yield held
    held.go_on.set()
    held.dispose()


def serving_for(settings: Settings, probe: HeldProbe) -> ServingEngine:
    def stored(version: str, bundle: bytes) -> PolicyEngine:
        return engine_for_stored_version(
            version, bundle, kind="embedded", opa_url=None, timeout_s=settings.policy_timeout_s
        )

    def no_fallback() -> PolicyEngine:
        raise AssertionError("`vhhub init` registered the shipped version")

    return ServingEngine.open(probe, stored, no_fallback)


def activate_candidate(settings: Settings, tmp_path: Path) -> str:
    """Store a new version and make it the active one, as a four-eyes activation on another
    replica leaves the database; return its version."""
    policy_dir = policy_copy(tmp_path, "candidate")
    set_cell(policy_dir, "youth", "housing", "execution", "execution", "summary_all")
    files = read_bundle_bytes(bundle_of(policy_dir))
    version = version_of_files(files)
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(PolicyVersion)
                .where(PolicyVersion.status == "active")
                .values(status="retired")
            )
            connection.execute(
                PolicyVersion.__table__.insert().values(
                    version=version,
                    files=file_manifest(files),
                    bundle=pack_files(files),
                    status="active",
                    origin="cli",
                )
            )
    finally:
        engine.dispose()
    return version


def test_requests_during_a_read_share_the_next_one_and_follow_what_it_finds(
    initialised: Settings, probe: HeldProbe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the waits below are the test's; a slow machine must not turn them into NO_ANSWER
    monkeypatch.setattr(serving_module, "PROBE_WAIT_S", 30.0)
    serving = serving_for(initialised, probe)
    shipped = serving.version
    probe.reads = 0
    probe.answered.clear()
    probe.go_on.clear()

    # a request's read finds the shipped version and is held there, its answer in hand
    first = threading.Thread(target=serving.follow)
    first.start()
    assert probe.answered.wait(30)
    # meanwhile the candidate is activated, and then eight more requests arrive
    candidate = activate_candidate(initialised, tmp_path)
    later = [threading.Thread(target=serving.follow) for _ in range(WAITERS)]
    for thread in later:
        thread.start()
    deadline = time.monotonic() + 30
    while waiting_for_a_probe(serving) < WAITERS:
        assert time.monotonic() < deadline, "the later requests did not wait for a probe"
        time.sleep(0.01)
    assert serving.version == shipped

    probe.go_on.set()
    for thread in [first, *later]:
        thread.join(60)
        assert not thread.is_alive()
    # one read for the first request, and ONE more for the eight that arrived during it,
    # instead of nine reads taking turns
    assert probe.reads == 2
    # the first read began before the activation; the eight were not answered by it: they
    # arrived after the activation committed, and the replica serves the candidate
    assert serving.version == candidate
    assert candidate != shipped
    serving.close()


def test_a_request_arriving_after_a_read_ended_reads_again(
    initialised: Settings, probe: HeldProbe, tmp_path: Path
) -> None:
    serving = serving_for(initialised, probe)
    shipped = serving.version
    serving.follow()
    reads = probe.reads
    assert serving.version == shipped
    candidate = activate_candidate(initialised, tmp_path)
    # no read is under way: the next request reads the database itself, and follows
    serving.follow()
    assert probe.reads == reads + 1
    assert serving.version == candidate
    serving.close()
