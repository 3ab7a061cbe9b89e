"""KEK rotation re-wraps every case key, leaves payloads alone, retires the old KEK, and can
be interrupted and run again (docs/adr/0303-key-rotation.md)."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hub.context import HubContext
from hub.crypto.envelope import WrappedKey
from hub.crypto.keys import EnvKeyProvider, FileKeyProvider
from hub.disclosure.cli import keys_app
from hub.disclosure.rotation import RotationError, pending_count, rotate
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import (
    World,
    case_in_preparation,
    execute,
    log_actions,
    log_size,
    released,
    rows,
)
from tests.support import ok

pytestmark = pytest.mark.e2e

BSNS = ("123456782", "111222333", "999999990")


class Interrupted(Exception):
    """Stands in for Ctrl-C or a crash between two batches."""


def _three_cases(hub: RunningHub, settings: Settings) -> tuple[list[World], dict[str, Any]]:
    """Three cases with facts, and every briefing the police and housing get of them."""
    worlds = []
    with hub.client() as http:
        for n, bsn in enumerate(BSNS):
            world = case_in_preparation(
                http, settings, subject={"role_in_case": "parent", "bsn": bsn}
            )
            world.publish_incident(f"i{n}", description=f"Incident in casus {n}")
            world.publish_arrears(f"a{n}")
            worlds.append(world)
        return worlds, _briefings(hub, worlds)


def _briefings(hub: RunningHub, worlds: list[World]) -> dict[str, Any]:
    out = {}
    with hub.client() as http:
        for world in worlds:
            world.http = http
            world.police.http = world.housing.http = http
            out[world.case_id] = (
                released(ok(world.briefing(world.police))),
                released(ok(world.briefing(world.housing))),
            )
    return out


def _key_file(settings: Settings, version: str) -> str:
    return str(settings.keys_dir / f"kek-{version}.key")


def _case_key_versions(settings: Settings) -> set[str]:
    return {v for (v,) in rows(settings, "SELECT kek_version FROM case_keys")}


def _rotation_entries(settings: Settings, since: int) -> list[tuple[Any, ...]]:
    return [e for e in log_actions(settings, since=since) if e[1] == "key.rotate"]


def _vhhub() -> typer.Typer:
    """`keys_app` mounted the way hub/cli.py mounts it."""
    app = typer.Typer()
    app.add_typer(keys_app, name="keys")
    return app


def _payloads(settings: Settings) -> dict[str, bytes]:
    return {i: bytes(ct) for i, ct in rows(settings, "SELECT id, content_ct FROM facts")}


def test_rotation_keeps_every_briefing_and_deletes_the_old_kek(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    worlds, before = _three_cases(hub, initialised)
    payloads = _payloads(initialised)
    old = operator.keys.current_kek_version()
    log_before = log_size(initialised)

    report = rotate(operator, settle_s=0)

    new = operator.keys.current_kek_version()
    assert new != old and report.current_version == new and report.created
    assert report.rewrapped == 3 and report.retired == (old,) and not report.failed_cases
    assert not os.path.exists(_key_file(initialised, old))
    assert os.path.exists(_key_file(initialised, new))
    assert _case_key_versions(initialised) == {new}
    assert _payloads(initialised) == payloads  # payloads untouched
    assert _briefings(hub, worlds) == before  # the running hub reads on, same content

    entries = [
        (e[1], e[2], e[4], e[5])
        for e in log_actions(initialised, since=log_before)
        if e[1] == "key.rotate"
    ]
    assert entries == [
        ("key.rotate", "allowed", [old], "kek version retired: no case key references it"),
        ("key.rotate", "allowed", [new], "kek rotated: 3 case keys rewrapped"),
    ]


def test_new_cases_after_rotation_use_the_new_kek(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    rotate(operator, settle_s=0)
    with hub.client() as http:
        world = case_in_preparation(http, initialised)
        fact = world.publish_incident("after", description="Na de rotatie")
        assert released(ok(world.briefing(world.police)))[fact]["description"] == "Na de rotatie"
    assert _case_key_versions(initialised) == {operator.keys.current_kek_version()}


def test_interrupted_rotation_resumes_where_it_stopped(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    worlds, before = _three_cases(hub, initialised)
    old = operator.keys.current_kek_version()
    log_before = log_size(initialised)

    def stop_after_first_batch(done: int, total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        rotate(operator, batch_size=1, settle_s=0, progress=stop_after_first_batch)

    new = operator.keys.current_kek_version()
    assert pending_count(operator) == 2  # one batch of one was committed
    assert _case_key_versions(initialised) == {old, new}
    assert os.path.exists(_key_file(initialised, old))  # still needed: nothing retired
    assert _briefings(hub, worlds) == before  # half-rotated, every case still reads
    interrupted = _rotation_entries(initialised, log_before)[-1]
    assert interrupted[1:3] == ("key.rotate", "error")
    assert interrupted[5] == "kek rotation interrupted: 1 case keys rewrapped; run it again"

    report = rotate(operator, settle_s=0)

    assert not report.created and report.current_version == new  # finished, no third KEK
    assert report.rewrapped == 2 and report.retired == (old,)
    assert operator.keys.kek_versions() == (new,)
    assert _case_key_versions(initialised) == {new}
    assert _briefings(hub, worlds) == before
    assert _rotation_entries(initialised, log_before)[-1][5] == (
        "kek rotation resumed: 2 case keys rewrapped"
    )


def test_forced_rotation_after_an_interruption_starts_a_new_kek(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    worlds, before = _three_cases(hub, initialised)

    def stop(done: int, total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        rotate(operator, batch_size=1, settle_s=0, progress=stop)
    report = rotate(operator, force_new=True, settle_s=0)

    assert report.created and report.rewrapped == 3
    assert len(report.retired) == 2  # the original KEK and the half-used one
    assert operator.keys.kek_versions() == (report.current_version,)
    assert _briefings(hub, worlds) == before


def test_case_key_that_will_not_unwrap_is_reported_and_its_kek_kept(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    worlds, _ = _three_cases(hub, initialised)
    broken = worlds[0].case_id
    old = operator.keys.current_kek_version()
    (wrapped,) = rows(initialised, "SELECT wrapped FROM case_keys WHERE case_id = :c", c=broken)
    damaged = bytearray(wrapped[0])
    damaged[-1] ^= 0x01
    execute(
        initialised,
        "UPDATE case_keys SET wrapped = :w WHERE case_id = :c",
        w=bytes(damaged),
        c=broken,
    )

    report = rotate(operator, settle_s=0)

    assert report.failed_cases == (broken,) and report.rewrapped == 2
    assert report.retired == ()  # the damaged row still names the old version
    assert os.path.exists(_key_file(initialised, old))
    actions = [(e[1], e[2], e[3]) for e in log_actions(initialised)]
    assert ("integrity.error", "error", broken) in actions
    assert _rotation_entries(initialised, 0)[-1][2] == "error"


def test_env_provider_explains_that_rotation_happens_in_the_secret_store(
    initialised: Settings, operator: HubContext
) -> None:
    operator.keys = EnvKeyProvider(_env_from_files(initialised))
    with pytest.raises(RotationError, match="secret store"):
        rotate(operator, settle_s=0)


def test_env_provider_rewraps_once_the_secret_store_switched(
    hub: RunningHub, initialised: Settings, operator: HubContext
) -> None:
    _three_cases(hub, initialised)
    old = operator.keys.current_kek_version()
    env = _env_from_files(initialised)
    env["VHHUB_KEK_NEWONE"] = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    env["VHHUB_KEK_CURRENT"] = "newone"
    provider = EnvKeyProvider(env)
    operator.keys = provider

    report = rotate(operator, settle_s=0)

    assert report.rewrapped == 3 and report.retired == () and report.unreferenced == (old,)
    for case_id, blob in rows(initialised, "SELECT case_id, wrapped FROM case_keys"):
        wrapped = WrappedKey.from_bytes(bytes(blob))
        assert wrapped.kek_version == "newone"
        provider.unwrap_data_key(wrapped, case_id=case_id)  # opens under the new KEK
    assert os.path.exists(_key_file(initialised, old))  # the env provider deletes nothing


def _env_from_files(settings: Settings) -> dict[str, str]:
    files = FileKeyProvider(settings.keys_dir)
    current = files.current_kek_version()

    def text(name: str) -> str:
        return (settings.keys_dir / name).read_text().strip()

    return {
        f"VHHUB_KEK_{current.upper()}": text(f"kek-{current}.key"),
        "VHHUB_KEK_CURRENT": current,
        "VHHUB_BLIND_INDEX_KEY": text("blind-index.key"),
        "VHHUB_AUDIT_SIGNING_KEY": text("audit-signing.key"),
    }


def test_keys_rotate_command_reports_versions_and_never_a_key(
    hub: RunningHub, initialised: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_cases(hub, initialised)
    files = FileKeyProvider(initialised.keys_dir)
    old = files.current_kek_version()
    old_text = (initialised.keys_dir / f"kek-{old}.key").read_text().strip()
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)

    result = CliRunner().invoke(
        _vhhub(), ["keys", "rotate", "--settle-seconds", "0", "--batch-size", "2"]
    )

    assert result.exit_code == 0, result.output
    new = files.current_kek_version()
    new_text = (initialised.keys_dir / f"kek-{new}.key").read_text().strip()
    assert f"KEK created version {new}" in result.output
    assert "case keys re-wrapped: 3" in result.output
    assert f"retired KEK version {old}" in result.output
    assert "re-wrapped 3/3 case keys" in result.output  # the progress counter
    assert old_text not in result.output and new_text not in result.output


def test_keys_rotate_command_with_env_provider_points_to_the_secret_store(
    initialised: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    monkeypatch.setenv("VHHUB_KEY_PROVIDER", "env")
    for name, value in _env_from_files(initialised).items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(_vhhub(), ["keys", "rotate", "--settle-seconds", "0"])

    assert result.exit_code == 1
    assert "secret store" in result.output and "VHHUB_KEK_CURRENT" in result.output
