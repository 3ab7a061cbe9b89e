"""Witnesses down (issue 21 item 4): writing the log never waits for them, an alert (metric
and log line) fires when the log's head has lacked K cosignatures for longer than the
configured time, and cosigning resumes within one interval after they return."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text

from hub.audit.witness_client import Witness, WitnessState
from hub.identity.partner_keys import load_private_jwk
from hub.identity.tokens import mint_token
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.support import As
from tests.witness.helpers import cli, make_witness


def alert() -> float | None:
    return REGISTRY.get_sample_value("vhhub_witness_quorum_alert")


def wait_for(check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return time.monotonic() - started


def test_appends_go_on_while_witnesses_are_down_then_the_alert_fires_and_clears(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from hub.setup import initialise

    interval = 1
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        checkpoint_every=2,
        checkpoint_interval_s=interval,
        witness_min=1,
        witness_alert_after_s=1,
    )
    initialise(settings)
    with RunningHub(settings) as hub:
        witness = make_witness(hub, "politie", tmp_path, monkeypatch)
        engine = create_engine(settings.effective_database_url)
        try:
            with hub.client() as http:
                auditor = As(http, settings, "zvh", "aud-1", ["auditor"], "audit")
                blocker = None
                if engine.dialect.name == "postgresql":
                    # the witness tables locked outright, as by a stuck cosigning request:
                    # appends (and the checkpoints they sign) must not touch them
                    blocker = engine.connect()
                    blocker.execute(text("SET lock_timeout = '30s'"))
                    blocker.execute(
                        text(
                            "LOCK TABLE checkpoint_cosignatures, witness_keys "
                            "IN ACCESS EXCLUSIVE MODE"
                        )
                    )
                    # key lists change only at a rotation; checkpoints read the newest
                    blocker.execute(text("LOCK TABLE log_key_lists IN SHARE MODE"))
                try:
                    short = httpx.Timeout(10)
                    for _ in range(12):
                        answer = auditor.get("/api/v1/audit/entries?limit=1", timeout=short)
                        assert answer.status_code == 200
                finally:
                    if blocker is not None:
                        blocker.rollback()
                        blocker.close()
            with engine.connect() as conn:
                checkpoints = conn.execute(text("SELECT count(*) FROM checkpoints")).scalar()
                cosignatures = conn.execute(
                    text("SELECT count(*) FROM checkpoint_cosignatures")
                ).scalar()
            assert checkpoints and checkpoints >= 6  # every 2 entries, witnesses or not
            assert cosignatures == 0
            # no witness for longer than 1 s: the hub's own periodic check raises the alert
            wait_for(lambda: alert() == 1.0, timeout=10)
            assert "witness_quorum_missing" in capfd.readouterr().err
            # the operator's cron check says the same (exit 1 on alert)
            monkeypatch.setenv("VHHUB_WITNESS_MIN", "1")
            monkeypatch.setenv("VHHUB_WITNESS_ALERT_AFTER_S", "1")
            down = cli(settings, monkeypatch, "audit", "witnesses", "status")
            assert down.exit_code == 1 and '"alert": true' in down.output
            # the witness comes back: its first round cosigns at once, within one interval
            stop = threading.Event()
            jwk = load_private_jwk(settings, "politie")

            def token() -> str:
                return mint_token(
                    partner_id="politie",
                    user="w",
                    roles=["participant"],
                    private_jwk=jwk,
                    audience=settings.audience,
                )

            def loop() -> None:
                with httpx.Client(base_url=hub.base_url, timeout=30) as client:
                    runner = Witness(WitnessState(witness.state), client, token)
                    while not stop.is_set():
                        runner.round()
                        stop.wait(interval)

            back = time.monotonic()
            thread = threading.Thread(target=loop, daemon=True)
            thread.start()
            try:

                def cosigned() -> bool:
                    with engine.connect() as conn:
                        return bool(
                            conn.execute(
                                text("SELECT count(*) FROM checkpoint_cosignatures")
                            ).scalar()
                        )

                wait_for(cosigned, timeout=10)
                assert time.monotonic() - back <= interval + 3  # one interval, slack for load
                # the hub sees the quorum back at its next check and clears the alert
                wait_for(lambda: alert() == 0.0, timeout=10)
                assert "witness_quorum_restored" in capfd.readouterr().err
                # (a looser limit: the witness comes by every second, on a loaded machine)
                monkeypatch.setenv("VHHUB_WITNESS_ALERT_AFTER_S", "5")
                up = cli(settings, monkeypatch, "audit", "witnesses", "status")
                assert up.exit_code == 0, up.output
            finally:
                stop.set()
                thread.join(timeout=10)
        finally:
            engine.dispose()
