"""What a copy of the database holds: ciphertext, pseudonyms and metadata -- never the
content partners published nor the identifiers of the people concerned.

The attacker we plan for (docs/principles.md, section 9) reads the database
(a backup, a replica, a DBA), not the
keys. So these tests publish marker strings over real HTTP and then search the raw storage
for them: on SQLite the database file and its WAL byte by byte, on PostgreSQL a pg_dump.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import (
    bsn_is_valid,
    case_in_preparation,
    data_files,
    example,
    log_size,
    released,
    scalar,
)
from tests.support import ok

pytestmark = pytest.mark.e2e

NAME = "Zwanhilde Markeringa"
BSN = "111222333"
BIRTH_DATE = "1961-07-13"
REASON = "Aanmeldreden-MARKER-7QX overlast trappenhuis"
DESCRIPTION = "Omschrijving-MARKER-K9F ruzie op de galerij"
VICTIM = "Slachtoffer-MARKER-P2W lichte verwondingen"
TENANCY = "HUUR-MARKER-4471"


def _pg_dump() -> str | None:
    candidates = [shutil.which("pg_dump"), "/usr/bin/pg_dump"]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    return next((c for c in candidates if c and Path(c).exists()), None)


def _raw_storage(settings: Settings) -> bytes:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        files = data_files(settings)
        assert files, "the SQLite database file is missing"
        return b"".join(p.read_bytes() for p in files)
    pg_dump = _pg_dump()
    if pg_dump is None:
        pytest.skip("pg_dump not found")
    dump = subprocess.run(
        [pg_dump, "--no-owner", "--dbname", url.replace("+psycopg", "", 1)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dump.stdout


def _spellings(marker: str) -> list[bytes]:
    """The marker as text, lower-cased (blind-index normalisation) and as bytea hex."""
    raw = marker.encode()
    return [
        raw,
        marker.lower().encode(),
        raw.hex().encode(),
        marker.lower().encode().hex().encode(),
    ]


def test_marker_bsn_is_a_valid_bsn() -> None:
    assert bsn_is_valid(BSN)


def test_raw_database_holds_no_published_content_or_identifiers(
    hub: RunningHub, initialised: Settings
) -> None:
    with hub.client() as http:
        world = case_in_preparation(
            http,
            initialised,
            reason=REASON,
            subject={
                "role_in_case": "parent",
                "bsn": BSN,
                "name": NAME,
                "date_of_birth": BIRTH_DATE,
            },
        )
        incident = world.publish_incident("k1", description=DESCRIPTION, victim_details=VICTIM)
        contact = example("housing.rent_arrears.1")["housing_contact"]
        arrears = world.publish_arrears("k2", tenancy_reference=TENANCY, housing_contact=contact)
        # not vacuous: the content went in, and the door gives it back to those it is for
        own = released(ok(world.briefing(world.police)))
        assert own[incident]["description"] == DESCRIPTION
        assert released(ok(world.briefing(world.housing)))[arrears]["tenancy_reference"] == TENANCY

    storage = _raw_storage(initialised)
    # positive control: the search sees the rows (clear policy metadata is there)
    assert b"police.incident/1" in storage and b"housing.rent_arrears/1" in storage
    assert log_size(initialised) > 0
    for marker in (NAME, BSN, BIRTH_DATE, REASON, DESCRIPTION, VICTIM, TENANCY):
        for spelling in _spellings(marker):
            assert spelling not in storage, f"{marker!r} found in the raw database"
    for part in NAME.split():  # not even a part of the name
        assert part.encode() not in storage and part.lower().encode() not in storage


def test_batch_with_one_invalid_fact_stores_nothing(hub: RunningHub, initialised: Settings) -> None:
    with hub.client() as http:
        world = case_in_preparation(http, initialised)
        facts_before = scalar(initialised, "SELECT count(*) FROM facts")
        log_before = log_size(initialised)
        good = example("police.incident.1")
        bad = example("police.incident.1") | {"incident_category": "not-a-category"}
        batch = [
            {
                "idempotency_key": f"b{i}",
                "type": "police.incident/1",
                "subject_id": world.subject_id,
                "legal_basis": "wpg_art_19",
                "content": content,
            }
            for i, content in enumerate([good, good, bad, good])
        ]
        response = world.police.post(
            f"/api/v1/cases/{world.case_id}/fact-batches", json={"facts": batch}
        )
        assert response.status_code == 400, response.text
        problem = response.json()
        assert problem["type"].endswith("/invalid-fact-content")
        assert [e["pointer"] for e in problem["errors"]] == ["/facts/2/content/incident_category"]
        assert "not-a-category" not in response.text  # never echoed

    assert scalar(initialised, "SELECT count(*) FROM facts") == facts_before
    assert log_size(initialised) == log_before  # no fact.publish entry either
