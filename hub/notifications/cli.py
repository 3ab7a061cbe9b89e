"""`vhhub notifications ...`: the operator's tools for delivery (ADR 0019).

Wiring only: parse, call hub.notifications.deliverer, print. Output names delivery and
subscription ids, partners and event types; never a case's content.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from hub.console import table

if TYPE_CHECKING:  # imported lazily below: the CLI starts without the web stack
    from hub.context import HubContext
    from hub.notifications.deliverer import RunStats

notifications_app = typer.Typer(help="Notifications to partners.", no_args_is_help=True)


@contextmanager
def _context() -> Iterator[HubContext]:
    from hub.context import HubContext
    from hub.settings import Settings

    ctx = HubContext.open(Settings())
    try:
        yield ctx
    finally:
        ctx.close()


@notifications_app.command("deliver")
def deliver_command(
    once: Annotated[
        bool,
        typer.Option("--once", help="Send what is due now and stop (retries not yet due wait)."),
    ] = False,
) -> None:
    """Send the outbox's notifications: what a hub does in the background, as a separate
    worker (set VHHUB_NOTIFICATION_DELIVERER=false on the hubs then) or to catch up."""
    with _context() as ctx:
        if once:
            _print_stats(ctx.deliverer.run_until_idle())
            return
        try:
            while True:
                stats: RunStats = ctx.deliverer.run_once()
                if stats.outcomes or stats.fanned_out:
                    _print_stats(stats)
                time.sleep(ctx.settings.notification_poll_s)
        except KeyboardInterrupt:
            typer.echo("Stopped.")


def _print_stats(stats: RunStats) -> None:
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(stats.outcomes.items())) or "none sent"
    typer.echo(
        f"Notifications: {stats.fanned_out} queued, {stats.announced} deadlines announced; "
        f"{outcomes}."
    )
    if stats.swept_deliveries or stats.swept_events:
        deliveries, events = stats.swept_deliveries, stats.swept_events
        typer.echo(
            f"Retention: {deliveries} finished deliver{'y' if deliveries == 1 else 'ies'} and "
            f"{events} event{'' if events == 1 else 's'} removed."
        )


@notifications_app.command("dead")
def dead_command() -> None:
    """List the dead letters: deliveries given up after their last attempt."""
    from hub.notifications.deliverer import dead_letters

    with _context() as ctx:
        letters = dead_letters(ctx.db)
    if not letters:
        typer.echo("No dead letters.")
        return
    table(
        ["event id", "partner", "type", "attempts", "last error", "given up"],
        [
            [
                d.delivery_id,
                d.partner,
                d.type,
                str(d.attempts),
                d.last_error or "",
                d.finished_at.isoformat() if d.finished_at else "",
            ]
            for d in letters
        ],
    )


@notifications_app.command("redeliver")
def redeliver_command(
    event: Annotated[
        str | None,
        typer.Option("--event", help="The CloudEvent id (a delivery) to send again."),
    ] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="Send every dead letter again.")
    ] = False,
) -> None:
    """Queue deliveries again with the same id and sequence (partners drop duplicates by
    id); the policy is asked again when each is sent."""
    from hub.notifications.deliverer import redeliver

    if (event is None) == (not all_dead):
        typer.echo("Give either --event ID or --all-dead.", err=True)
        raise typer.Exit(2)
    with _context() as ctx:
        n = redeliver(ctx.db, delivery_id=event, all_dead=all_dead)
    if event is not None and n == 0:
        typer.echo("No such delivery (or it is still pending).", err=True)
        raise typer.Exit(1)
    typer.echo(f"{n} deliver{'y' if n == 1 else 'ies'} queued again.")
