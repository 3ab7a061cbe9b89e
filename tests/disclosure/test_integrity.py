"""A ciphertext moved to another row fails closed: nothing is disclosed, and the failure is
logged as integrity.error (docs/principles.md, section 10,
"Encryption at rest": the associated data binds each
ciphertext to its case, row and schema)."""

from __future__ import annotations

import pytest

from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import (
    case_in_preparation,
    execute,
    log_actions,
    log_size,
    released,
    scalar,
)
from tests.support import ok

pytestmark = pytest.mark.e2e


def _swap_ciphertext(settings: Settings, *, into: str, from_: str) -> None:
    """What an attacker with write access to the database would try (no keys needed)."""
    other = scalar(settings, "SELECT content_ct FROM facts WHERE id = :id", id=from_)
    execute(settings, "UPDATE facts SET content_ct = :ct WHERE id = :id", ct=other, id=into)


def test_ciphertext_moved_to_another_fact_row_fails_closed_and_is_logged(
    hub: RunningHub, initialised: Settings
) -> None:
    with hub.client() as http:
        world = case_in_preparation(http, initialised)
        first = world.publish_incident("k1", description="Eerste melding, galerij")
        second = world.publish_incident("k2", description="Tweede melding, trappenhuis")
        assert released(ok(world.briefing(world.police)))[first]["description"].startswith("Eerste")

        # same case, same type, same schema: only the row id in the AAD differs
        _swap_ciphertext(initialised, into=first, from_=second)
        before = log_size(initialised)
        for viewer in (world.police, world.housing):
            response = world.briefing(viewer)
            assert response.status_code == 500
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["type"] == "https://vhhub.nl/problems/integrity-error"
            assert "nothing was disclosed" in problem["detail"]
            assert "domains" not in problem
            assert "melding" not in response.text

    entries = log_actions(initialised, since=before)
    assert [(e[1], e[2], e[3], e[4]) for e in entries] == [
        ("integrity.error", "error", world.case_id, [first]),
        ("integrity.error", "error", world.case_id, [first]),
    ]
    assert not [e for e in entries if e[1] == "briefing.read"]


def test_ciphertext_moved_from_another_case_fails_closed(
    hub: RunningHub, initialised: Settings
) -> None:
    with hub.client() as http:
        mine = case_in_preparation(http, initialised)
        theirs = case_in_preparation(
            http, initialised, subject={"role_in_case": "parent", "bsn": "111222333"}
        )
        target = mine.publish_incident("m1")
        source = theirs.publish_incident("t1", description="Andere casus")
        _swap_ciphertext(initialised, into=target, from_=source)
        before = log_size(initialised)
        response = mine.briefing(mine.police)
        assert response.status_code == 500
        assert "Andere casus" not in response.text
        assert ok(theirs.briefing(theirs.police))  # the untouched case still reads

    actions = [(e[1], e[4]) for e in log_actions(initialised, since=before)]
    assert ("integrity.error", [target]) in actions
