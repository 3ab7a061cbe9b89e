"""A hub killed with SIGKILL between a change's commit and its delivery loses no event: the
outbox row committed with the change, and the next hub's deliverer sends it.

Real `python -m hub serve` processes on the test's database (SQLite file or PostgreSQL),
a real receiver on loopback. The first hub's deliverer is set to wait an hour, so the kill
always falls between the commit and the first delivery attempt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub.settings import PROJECT_ROOT, Settings
from tests.conftest import free_port
from tests.notifications.conftest import Receiver
from tests.notifications.test_delivery import FACTS
from tests.support import As, ok

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _env(settings: Settings, poll_s: float, public_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    env.update(
        {
            "VHHUB_DATABASE_URL": settings.effective_database_url,
            "VHHUB_NETWORK_FILE": str(settings.network_file),
            "VHHUB_NOTIFICATION_POLL_S": str(poll_s),
            "VHHUB_NOTIFICATION_TIMEOUT_S": "2",
            "VHHUB_LOG_LEVEL": "WARNING",
        }
    )
    if public_url is not None:
        env["VHHUB_PUBLIC_URL"] = public_url
    return env


def _start(
    settings: Settings,
    tmp_path: Path,
    name: str,
    poll_s: float,
    public_url: str | None = "https://vhhub.test",
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    output = (tmp_path / f"{name}.log").open("wb")
    command = [sys.executable, "-m", "hub", "--data-dir", str(settings.data_dir), "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=_env(settings, poll_s, public_url),
        cwd=PROJECT_ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / f"{name}.log").read_text(errors="replace")
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"hub {name} not ready")


def test_kill_9_between_commit_and_delivery_loses_no_event(
    initialised: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    settings = initialised
    first, base = _start(settings, tmp_path, "first", poll_s=3600)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:

            def who(partner: str, purpose: str, roles: list[str], user: str) -> As:
                return As(http, settings, partner, user, roles, purpose)

            housing = who("woningcorporatie", "preparation", ["participant"], "wc-1")
            ok(
                housing.post(
                    "/api/v1/subscriptions",
                    json={"callback_url": receiver.url("woningcorporatie"), "types": [FACTS]},
                ),
                201,
            )
            from tests.cases.test_workflow import new_case, publish

            case = new_case(http, settings)
            publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "k-1")
        # the publish answered 201: its commit, outbox row included, is done; now the crash
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert receiver.got() == []
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)

    # without VHHUB_PUBLIC_URL, the hub is reached where `serve --port` made it listen
    second, second_base = _start(settings, tmp_path, "second", poll_s=0.2, public_url=None)
    try:
        [got] = receiver.wait_for(1)
        event = got.json()
        assert event["type"] == FACTS and event["subject"] == case["id"]
        assert event["sequence"] == "00000000000000000001"
        assert event["dataref"] == f"{second_base}/api/v1/cases/{case['id']}/updates"
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
    assert len(receiver.got()) == 1
