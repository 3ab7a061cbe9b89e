"""`vhhub init` as a newcomer runs it: keys private, registry loaded, safe to repeat."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from hub.identity.models import NetworkTable, Partner, TableMembership
from hub.vocabulary import PartnerKind


def vhhub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


def test_init_creates_private_keys_database_and_registry_and_is_safe_twice(
    db_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {"VHHUB_DATABASE_URL": db_url}
    first = vhhub("--data-dir", str(data_dir), "init", env=env)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    secret_files = [
        p
        for p in (data_dir / "keys").rglob("*")
        if p.is_file() and not p.name.endswith(".jwks.json")
    ]
    assert len(secret_files) >= 3 + 13  # KEK, blind index, audit key, one per partner
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert (data_dir / ".gitignore").read_text().strip().endswith("*")

    engine = create_engine(db_url)
    with engine.connect() as conn:
        kinds = set(conn.scalars(select(Partner.kind)))
        tables = set(conn.scalars(select(NetworkTable.id)))
        members = conn.scalar(select(func.count()).select_from(TableMembership))
    engine.dispose()
    assert kinds == {k.value for k in PartnerKind}
    assert tables == {"youth", "adults", "domestic_violence", "multi_problem"}
    assert members and members > 20

    keys_before = {p: p.read_bytes() for p in secret_files}
    second = vhhub("--data-dir", str(data_dir), "init", env=env)
    assert second.returncode == 0, second.stderr
    assert "kept" in second.stdout
    assert not [line for line in second.stdout.splitlines() if line.startswith("created  key")]
    assert {p: p.read_bytes() for p in secret_files} == keys_before


def test_serve_refuses_an_uninitialised_data_dir(tmp_path: Path) -> None:
    result = vhhub("--data-dir", str(tmp_path / "nothing"), "serve", env={})
    assert result.returncode == 1
    assert "vhhub init" in result.stderr
