"""`vhhub keys ...`: the operator's key tools. Parses, calls hub.disclosure.rotation, prints.

Mounted by hub/cli.py as ``vhhub keys``. Progress, the summary and errors go to stderr so
stdout holds only the result, for scripts. Exit 1 when the run failed or left case keys it
could not unwrap.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub.console import count, duration, progress, summary
from hub.disclosure.rotation import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SETTLE_S,
    RotationError,
    RotationReport,
    rotate,
)

keys_app = typer.Typer(
    help="Key-encryption keys: rotation (re-wrap every case key, retire old KEKs).",
    no_args_is_help=True,
)


@keys_app.command("rotate")
def rotate_command(
    force_new: Annotated[
        bool,
        typer.Option(
            "--force-new",
            help="Create a new KEK even if an earlier rotation was interrupted "
            "(by default such a run is finished first).",
        ),
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, help="Case keys per transaction."),
    ] = DEFAULT_BATCH_SIZE,
    settle: Annotated[
        float,
        typer.Option(
            "--settle-seconds",
            min=0.0,
            help="Wait at least this long after switching KEKs before retiring old ones, "
            "so running hub replicas see the switch.",
        ),
    ] = DEFAULT_SETTLE_S,
) -> None:
    """Rotate the KEK: new version, re-wrap every case key, retire unreferenced old versions.

    Payloads are not touched. Safe to interrupt: run it again and it finishes the same
    rotation, skipping keys already re-wrapped.
    """
    from hub.context import HubContext
    from hub.settings import Settings

    ctx = HubContext.open(Settings())
    try:
        with progress("Re-wrapping case keys") as bar:
            report = rotate(
                ctx, force_new=force_new, batch_size=batch_size, settle_s=settle, progress=bar
            )
    except RotationError as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        ctx.close()
    _print(report)
    summary(_summary(report, bar.total or 0, bar.elapsed))
    if report.failed_cases:
        raise typer.Exit(1)


@keys_app.command("rotate-log-key")
def rotate_log_key_command() -> None:
    """Rotate the access log's checkpoint signing key (ADR 0406).

    Writes a new key file (file key provider only), signs a last checkpoint with the old
    key, and publishes the next signed key list (signed by the old and the new key; GET
    /api/v1/audit/log-keys, and in every export). Running hub processes switch to the new
    key at their next checkpoint. Prints the new verifier key."""
    from hub.context import HubContext
    from hub.crypto.key_files import FileKeyProvider
    from hub.settings import Settings

    ctx = HubContext.open(Settings())
    try:
        if not isinstance(ctx.keys, FileKeyProvider):
            typer.echo(
                "vhhub: rotate-log-key needs the file key provider (VHHUB_KEY_PROVIDER=file)",
                err=True,
            )
            raise typer.Exit(2)
        new_key = ctx.keys.create_audit_signer()
        typer.echo(ctx.audit.rotate_log_key(new_key))
    finally:
        ctx.close()
    summary("Checkpoint key rotated; the new key list is published.")


def _summary(report: RotationReport, pending: int, seconds: float) -> str:
    unused = count(len(report.retired) + len(report.unreferenced), "old version")
    failed = f", {count(len(report.failed_cases))} FAILED" if report.failed_cases else ""
    return (
        f"Key rotation: re-wrapped {report.rewrapped}/{max(pending, report.rewrapped)} case keys"
        f" under KEK version {report.current_version}{failed}, {unused} no longer used "
        f"({duration(seconds)})."
    )


def _print(report: RotationReport) -> None:
    action = "created" if report.created else "finished rotation to"
    typer.echo(f"KEK {action} version {report.current_version}")
    typer.echo(f"case keys re-wrapped: {report.rewrapped}")
    for version in report.retired:
        typer.echo(f"retired KEK version {version}")
    if report.unreferenced:
        typer.echo(
            "no case key uses these versions any more; remove them from the secret store: "
            + ", ".join(f"VHHUB_KEK_{v.upper()}" for v in report.unreferenced)
        )
    if report.failed_cases:
        typer.echo(
            f"{len(report.failed_cases)} case key(s) did not unwrap and were left as they were "
            "(logged as integrity.error); their KEK versions were kept: "
            + ", ".join(report.failed_cases),
            err=True,
        )
