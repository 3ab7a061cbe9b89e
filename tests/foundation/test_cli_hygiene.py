"""CLI hygiene from issue 15: usage errors exit 2 with one line, never a token a partner's
kind may not hold, never a traceback for a data dir that was never initialised."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.db.session import sqlite_url
from hub.identity.registry import load_registry
from hub.settings import Settings
from hub.vocabulary import Role

VHHUB = [sys.executable, "-c", "from hub.cli import main; main()"]


def vhhub(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VHHUB_DATA_DIR": str(settings.data_dir),
        "VHHUB_DATABASE_URL": settings.effective_database_url,
    }
    return subprocess.run(
        [*VHHUB, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def cli_env(initialised: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    return initialised


def test_token_refuses_roles_the_partners_kind_may_not_claim(cli_env: Settings) -> None:
    registry = load_registry(cli_env.network_file)
    allowed = registry.allowed_roles("woningcorporatie")
    foreign = sorted(r.value for r in Role if r not in allowed)
    assert foreign, "the housing corporation claims every role: pick another partner"
    runner = CliRunner()
    for roles in ([foreign[0]], ["participant", foreign[0]], ["no_such_role"]):
        args = ["token", "--partner", "woningcorporatie", "--user", "u-1"]
        for role in roles:
            args += ["--role", role]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.stdout.strip() == ""  # no token printed
    unknown = runner.invoke(app, ["token", "--partner", "nobody", "--user", "u", "--role", "x"])
    assert unknown.exit_code == 2
    good = runner.invoke(
        app, ["token", "--partner", "woningcorporatie", "--user", "u-1", "--role", "participant"]
    )
    assert good.exit_code == 0 and good.stdout.count(".") == 2  # a compact JWS


SIMULATE_USAGE_ERRORS = [
    ["--kind", "nonsense"],
    ["--kind", "police", "--role", "nonsense"],
    ["--kind", "police", "--phase", "nonsense"],
    ["--kind", "police", "--table", "nonsense"],
    ["--kind", "police", "--purpose", "nonsense"],
    ["--kind", "police", "--publisher-kind", "nonsense"],
    ["--kind", "police", "--format", "nonsense"],
]


def test_policy_simulate_usage_errors_exit_2(cli_env: Settings) -> None:
    runner = CliRunner()
    for args in SIMULATE_USAGE_ERRORS:
        result = runner.invoke(app, ["policy", "simulate", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout.strip() == ""
        assert "nonsense" not in result.stderr.split(":", 1)[0]
    known = runner.invoke(app, ["policy", "simulate", "--kind", "police", "--role", "participant"])
    assert known.exit_code == 0, known.output


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "public-key"],
        ["audit", "verify"],
        ["audit", "export", "out.jsonl"],
        ["policy", "list"],
        ["retention", "run", "--dry-run"],
        ["keys", "rotate"],
        ["token", "--partner", "politie", "--user", "u", "--role", "participant"],
    ],
)
def test_an_uninitialised_data_dir_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    where = tmp_path / "never-initialised"
    empty = Settings(data_dir=where, database_url=sqlite_url(where / "vhhub.db"))
    result = vhhub(empty, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "vhhub init" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "never-initialised" / "vhhub.db").exists()
