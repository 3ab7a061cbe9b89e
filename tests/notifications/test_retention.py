"""The retention sweep of notifications (ADR 0019): finished deliveries, and then their outbox
events, are removed once `VHHUB_NOTIFICATION_RETENTION_DAYS` have passed; a pending delivery
and its event stay however old, the access log is never touched, and a dead letter queued
again while a sweep runs is kept. On SQLite and PostgreSQL (VHHUB_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, func, select, update
from typer.testing import CliRunner

from hub.context import HubContext, delivery_settings
from hub.notifications import deliverer as deliverer_module
from hub.notifications.deliverer import Deliverer
from hub.notifications.models import Delivery, OutboxEvent
from hub.settings import Settings
from tests.cases.test_workflow import log_rows, new_case, publish
from tests.conftest import RunningHub
from tests.notifications.conftest import Receiver
from tests.notifications.test_delivery import (
    FACTS,
    deliver,
    deliverer_context,
    deliveries,
    outbox,
    subscribe,
)


def later_deliverer(ctx: HubContext, settings: Settings, days: float) -> Deliverer:
    """The same deliverer `days` after the retention has run out for what finished now."""
    config = delivery_settings(settings)
    shift = config.retention + timedelta(days=days)
    return Deliverer(
        ctx.db,
        ctx.gate,
        ctx.registry,
        ctx.notification_signer,
        config,
        clock=lambda: datetime.now(UTC) + shift,
    )


def cli(settings: Settings, *args: str, **env: str) -> str:
    from hub.cli import app

    result = CliRunner().invoke(
        app,
        list(args),
        env={
            "VHHUB_DATA_DIR": str(settings.data_dir),
            "VHHUB_DATABASE_URL": settings.effective_database_url,
            "VHHUB_NETWORK_FILE": str(settings.network_file),
            **env,
        },
    )
    assert result.exit_code == 0, result.output
    return result.output


def one_delivered_one_pending(http: httpx.Client, hub: RunningHub, receiver: Receiver) -> str:
    """A case, a subscriber, one fact delivered and one whose delivery failed (pending, to
    be retried); returns the case id."""
    settings = hub.settings
    case = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "n-1")
    deliver(settings)
    receiver.mode = "fail"
    publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "n-2")
    with deliverer_context(settings) as ctx:
        ctx.deliverer.run_once()
    assert sorted(d.status for d in deliveries(settings)) == ["delivered", "pending"]
    return str(case["id"])


def test_finished_deliveries_and_their_events_go_after_the_retention_pending_ones_stay(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    settings = hub.settings
    one_delivered_one_pending(http, hub, receiver)
    events = outbox(settings)
    entries = len(log_rows(settings))
    with deliverer_context(settings) as ctx:
        assert ctx.deliverer.sweep() == (0, 0), "nothing is old yet"
        swept = later_deliverer(ctx, settings, days=1).sweep()
    [pending] = deliveries(settings)
    assert pending.status == "pending"
    # every event went (the case's own ones had no subscriber) but the pending one's
    assert [e.id for e in outbox(settings)] == [pending.event_id]
    assert swept == (1, len(events) - 1)
    assert len(log_rows(settings)) == entries, "the access log is not the sweep's"
    # the pending delivery is still sent when its partner's endpoint comes back
    receiver.mode = "ok"
    deliver(settings)
    assert [d.status for d in deliveries(settings)] == ["delivered"]
    assert [r.json()["id"] for r in receiver.got()][-1] == pending.id


def test_a_large_backlog_is_swept_in_bounded_batches_over_several_sweeps(
    http: httpx.Client, hub: RunningHub, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = hub.settings
    case = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    for n in range(5):
        publish(http, settings, case["id"], "politie", "police.nuisance_report/1", f"n-{n}")
    deliver(settings)
    assert [d.status for d in deliveries(settings)] == ["delivered"] * 5
    events = len(outbox(settings))
    monkeypatch.setattr(deliverer_module, "_SWEEP_BATCH", 2)
    monkeypatch.setattr(deliverer_module, "_SWEEP_BATCHES", 2)
    with deliverer_context(settings) as ctx:
        later = later_deliverer(ctx, settings, days=1)
        assert later.sweep() == (4, 4), "two batches of two, then the sweep stops"
        assert len(deliveries(settings)) == 1
        second = later.sweep()
        assert second[0] == 1
        while later.sweep() != (0, 0):
            pass
    assert deliveries(settings) == [] and outbox(settings) == []
    assert 4 + second[1] <= events


def test_the_deliverer_sweeps_at_its_first_run_with_the_configured_retention(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    """`vhhub notifications deliver --once` sweeps, by the setting: rows that finished 31 days
    ago stay under a 60-day retention and go under the default 30."""
    settings = hub.settings
    one_delivered_one_pending(http, hub, receiver)
    receiver.mode = "fail"  # the pending one stays pending through the runs below
    month_ago = datetime.now(UTC) - timedelta(days=31)
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(Delivery).where(Delivery.status == "delivered").values(finished_at=month_ago)
            )
            conn.execute(update(OutboxEvent).values(created_at=month_ago))
    finally:
        engine.dispose()
    events = len(outbox(settings))

    kept = cli(
        settings, "notifications", "deliver", "--once", VHHUB_NOTIFICATION_RETENTION_DAYS="60"
    )
    assert "Retention" not in kept
    assert len(deliveries(settings)) == 2 and len(outbox(settings)) == events

    swept = cli(settings, "notifications", "deliver", "--once")
    assert f"Retention: 1 finished delivery and {events - 1} events removed." in swept
    assert [d.status for d in deliveries(settings)] == ["pending"]


def test_a_dead_letter_queued_again_while_a_sweep_waits_for_it_is_kept(
    http: httpx.Client, hub: RunningHub, receiver: Receiver
) -> None:
    """The operator's `redeliver` and a sweep meet on one old dead letter: the sweep waits
    for the row, and once `redeliver` commits, the letter is pending again and not removed
    (on PostgreSQL the DELETE's own conditions are checked again on the changed row)."""
    settings = hub.settings
    case = new_case(http, settings)
    subscribe(http, settings, receiver, "woningcorporatie", [FACTS])
    publish(http, settings, case["id"], "politie", "police.nuisance_report/1", "n-1")
    receiver.mode = "fail"
    with deliverer_context(settings) as ctx:
        deadline = time.monotonic() + 20
        while [d.status for d in deliveries(settings)] != ["dead"]:
            assert time.monotonic() < deadline, "the delivery did not die"
            ctx.deliverer.run_once()
            time.sleep(0.05)
    [letter] = deliveries(settings)

    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as operator:
            # what `redeliver` writes, left uncommitted while the sweep starts
            operator.execute(
                update(Delivery)
                .where(Delivery.id == letter.id)
                .values(status="pending", attempts=0, finished_at=None)
            )
            with deliverer_context(settings) as ctx:
                result: list[tuple[int, int]] = []
                sweeper = later_deliverer(ctx, settings, days=1)
                thread = threading.Thread(target=run_into(result, sweeper.sweep))
                thread.start()
                time.sleep(1.0)
                assert thread.is_alive(), "the sweep waits for the row the operator holds"
                operator.commit()
                thread.join(30)
                assert not thread.is_alive()
        with engine.connect() as conn:
            status = conn.scalar(select(Delivery.status).where(Delivery.id == letter.id))
            left = conn.scalar(select(func.count()).select_from(Delivery))
    finally:
        engine.dispose()
    [(swept_deliveries, _events)] = result
    assert swept_deliveries == 0
    assert status == "pending" and left == 1
    assert letter.event_id in {e.id for e in outbox(settings)}, "its event stays with it"
    receiver.mode = "ok"
    deliver(settings)
    assert [r.json()["id"] for r in receiver.got()][-1] == letter.id


def run_into(
    out: list[tuple[int, int]], sweep: Callable[[], tuple[int, int]]
) -> Callable[[], None]:
    def run() -> None:
        out.append(sweep())

    return run
