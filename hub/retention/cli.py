"""`vhhub retention ...`: run retention (crypto-shredding) and manage legal holds.

Wiring only: parse, call hub.retention.service, print. Mounted by hub/cli.py as
``vhhub retention``. Output names case ids and dates, never content.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from hub.console import count, duration, progress, summary, table
from hub.retention.service import (
    DueCase,
    RetentionError,
    RetentionReport,
    run_retention,
    set_legal_hold,
)

if TYPE_CHECKING:  # imported lazily below: the CLI starts without the web stack
    from hub.context import HubContext

retention_app = typer.Typer(
    help="Retention: crypto-shred cases past their deadline; legal hold.",
    no_args_is_help=True,
)

CaseIdArg = Annotated[str, typer.Argument(help="The case id (a UUID; never a name or BSN).")]


@contextmanager
def _context() -> Iterator[HubContext]:
    from hub.context import HubContext
    from hub.settings import Settings

    ctx = HubContext.open(Settings())
    try:
        yield ctx
    finally:
        ctx.close()


@retention_app.command("run")
def run_command(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List what would be shredded; change nothing."),
    ] = False,
) -> None:
    """Crypto-shred every case whose retention deadline has passed, unless on legal hold.

    Each case is shredded in its own transaction: its data key and blind indexes are deleted,
    it is marked shredded, and a case.shred entry is logged. Afterwards no one can decrypt
    its facts. Follow up with `vhhub keys rotate` so copies of the deleted key in backups
    become unreadable as well.
    """
    with _context() as ctx, progress("Examining cases past their deadline") as bar:
        report = run_retention(ctx, dry_run=dry_run, progress=bar)
    _print(report)
    summary(_summary(report, bar.elapsed))


def _summary(report: RetentionReport, seconds: float) -> str:
    held = f", {count(len(report.held))} kept on legal hold" if report.held else ""
    if report.dry_run:
        return (
            f"Retention dry run: {count(len(report.due), 'case')} due{held}; "
            f"nothing changed ({duration(seconds)})."
        )
    skipped = f", {count(len(report.skipped))} skipped" if report.skipped else ""
    return (
        f"Retention run: {count(len(report.due), 'case')} examined, "
        f"{count(len(report.shredded))} shredded{skipped}{held} ({duration(seconds)})."
    )


@retention_app.command("hold")
def hold_command(case_id: CaseIdArg) -> None:
    """Put a case on legal hold: retention will not shred it until it is released."""
    _set_hold(case_id, hold=True)


@retention_app.command("release")
def release_command(case_id: CaseIdArg) -> None:
    """Release a case's legal hold: the next retention run shreds it if its deadline passed."""
    _set_hold(case_id, hold=False)


def _set_hold(case_id: str, *, hold: bool) -> None:
    with _context() as ctx:
        try:
            result = set_legal_hold(ctx, case_id, hold=hold)
        except RetentionError as exc:
            typer.echo(f"vhhub: {exc}", err=True)
            raise typer.Exit(1) from None
    state = "on legal hold" if result.legal_hold else "not on legal hold"
    prefix = "" if result.changed else "unchanged: "
    deadline = (
        result.retention_until.isoformat() if result.retention_until else "none (case not closed)"
    )
    typer.echo(f"{prefix}case {result.case_id} is {state}; retention deadline {deadline}")


def _cases(items: Sequence[DueCase]) -> None:
    table(
        ("case", "status", "retention until"),
        ((item.case_id, item.status, item.retention_until.isoformat()) for item in items),
    )


def _print(report: RetentionReport) -> None:
    if report.dry_run:
        typer.echo(f"dry run at {report.now.isoformat()}: nothing changed")
        typer.echo(f"would shred {len(report.due)} case(s)")
        if report.due:
            _cases(report.due)
    else:
        typer.echo(f"shredded {len(report.shredded)} case(s)")
        for case_id in report.shredded:
            typer.echo(f"  {case_id}")
        if report.skipped:
            typer.echo(f"skipped {len(report.skipped)} case(s) that changed during the run")
    if report.held:
        typer.echo(f"kept {len(report.held)} case(s) on legal hold past their deadline")
        _cases(report.held)
    if report.shredded:
        typer.echo(
            "run `vhhub keys rotate` to make copies of the deleted keys in backups unreadable"
        )
    if report.wal_truncated is False:
        typer.echo(
            "note: a reader kept the SQLite WAL from being emptied; "
            "it is emptied at the next checkpoint",
            err=True,
        )
