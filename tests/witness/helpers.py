"""Witness test helpers: partners running `vhhub witness` against a hub on loopback, a
second hub database for a forked log, and the hub operator's CLI."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.db.migrate import upgrade_to_head
from hub.settings import Settings
from tests.conftest import RunningHub, TestDatabase, empty_server_database
from tests.support import As, ok


def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """`vhhub ...` as the hub's operator on this hub's data dir and database."""
    monkeypatch.setenv("VHHUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", settings.effective_database_url)
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass
class PartnerWitness:
    """A partner's witness: its own state dir and the partner's own token key."""

    partner: str
    state: Path
    vkey: str
    settings: Settings

    def run(self, hub: RunningHub, *extra: str) -> Result:
        jwk = self.settings.partner_keys_dir / f"{self.partner}.private.jwk"
        args = ["witness", "run", "--state", str(self.state), "--hub", hub.base_url]
        args += ["--partner", self.partner, "--jwk", str(jwk), "--once", *extra]
        return CliRunner().invoke(app, args, catch_exceptions=False)


def make_witness(
    hub: RunningHub, partner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> PartnerWitness:
    """`vhhub witness init` by the partner (pinning the hub's key), registered by the hub."""
    settings = hub.settings
    with hub.client() as http:
        keys = ok(
            As(http, settings, partner, "w", ["participant"], "audit").get("/api/v1/audit/log-keys")
        )
    state = tmp_path / f"witness-{partner}"
    name = f"witness.{partner}.example"
    made = CliRunner().invoke(
        app,
        [
            "witness",
            "init",
            "--state",
            str(state),
            "--name",
            name,
            "--log-key",
            keys["verifier_key"],
        ],
    )
    assert made.exit_code == 0, made.output
    vkey = made.output.strip()
    added = cli(settings, monkeypatch, "audit", "witnesses", "add", partner, vkey)
    assert added.exit_code == 0, added.output
    return PartnerWitness(partner, state, vkey, settings)


@contextmanager
def second_database(test_database: TestDatabase, tmp_path: Path) -> Iterator[str]:
    """Another empty, migrated database on the same backend (for a forked log)."""
    if not test_database.is_postgres:
        where = tmp_path / "second-db"
        where.mkdir()
        yield test_database.fresh(where)
        return
    with empty_server_database("vhhub_fork") as url:
        text = url.render_as_string(hide_password=False)
        upgrade_to_head(text)
        yield text


def fork_settings(settings: Settings, database_url: str, tmp_path: Path) -> Settings:
    """A second hub with the SAME keys (log key, partner keys) on another database."""
    from hub.setup import initialise

    data = tmp_path / "data-fork"
    shutil.copytree(settings.data_dir, data)
    forked = Settings(
        data_dir=data,
        database_url=database_url,
        checkpoint_interval_s=settings.checkpoint_interval_s,
        checkpoint_every=settings.checkpoint_every,
    )
    initialise(forked)
    return forked
