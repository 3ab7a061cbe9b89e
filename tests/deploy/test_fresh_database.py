"""A database prepared the way the deployments prepare it serves at once.

deploy/compose.yaml's `migrate` service and deploy/kubernetes's `vhhub-migrate` Job run
`vhhub migrate` on an empty database, with the keys mounted (never made there), and then
the hubs start. `vhhub init` is not run in production: it makes dev keys. So `vhhub migrate`
alone must leave a database the hubs can work on: schema at head, the network file's
partners and tables in the registry, the shipped policy registered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.crypto.key_files import ensure_dev_keys
from hub.db.session import sqlite_url
from hub.identity.partner_keys import ensure_partner_dev_keys
from hub.identity.registry import load_registry
from hub.settings import Settings
from tests.cases.test_workflow import new_case
from tests.conftest import RunningHub, backend_url, empty_server_database

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched: no schema, no registry."""
    server = backend_url()
    if server is None:
        yield sqlite_url(tmp_path / "fresh.db")
        return
    with empty_server_database("vhhub_fresh") as url:
        yield url.render_as_string(hide_password=False)


def test_a_database_made_by_vhhub_migrate_alone_serves_a_case(
    empty_database: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_database)
    # the operator's keys, mounted: made elsewhere, present before the migration runs
    ensure_dev_keys(settings.keys_dir)
    settings.partner_keys_dir.mkdir(mode=0o700)
    list(ensure_partner_dev_keys(load_registry(settings.network_file), settings.partner_keys_dir))

    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env["VHHUB_DATABASE_URL"] = empty_database
    migrated = subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr

    with RunningHub(settings) as hub, hub.client() as http:
        assert http.get("/api/v1/ready").status_code == 200
        try:
            case = new_case(http, settings, to="screening")
        except (AssertionError, httpx.HTTPError) as exc:
            raise AssertionError(f"the hub cannot work on this database: {exc}") from None
        assert case["id"]
