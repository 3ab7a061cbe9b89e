"""`vhhub audit`: export the log, verify an export offline or the live database."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hub.context import HubContext

audit_app = typer.Typer(help="The tamper-evident access log.", no_args_is_help=True)


def _context() -> HubContext:
    from hub.context import HubContext
    from hub.settings import Settings

    return HubContext.open(Settings())


@audit_app.command("export")
def export(
    file: Annotated[
        Path, typer.Argument(help="Where to write the JSON Lines export (a new file, mode 0600).")
    ],
) -> None:
    """Export the whole log (entries, checkpoints, header) for offline verification."""
    ctx = _context()
    try:
        # The export names who did what to which case: readable by its owner only from the
        # first byte (created 0600, never chmod-ed afterwards, when others could already
        # have opened it), and never written over an existing file, whose mode and readers
        # would be kept.
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            typer.echo(f"vhhub: {file} exists; an export never overwrites a file", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            typer.echo(f"vhhub: cannot create {file}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
        count = 0
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                for line in ctx.audit.export_full(None):
                    out.write(line)
                    count += 1
        except BaseException:
            file.unlink(missing_ok=True)  # no half export that looks like a whole one
            raise
        typer.echo(f"exported {count} lines to {file}")
        typer.echo(f"verifier key: {ctx.log.signer.verifier_key}")
    finally:
        ctx.close()


@audit_app.command("public-key")
def public_key() -> None:
    """Print the hub's checkpoint verifier key (publish it out of band)."""
    ctx = _context()
    try:
        typer.echo(ctx.log.signer.verifier_key)
    finally:
        ctx.close()


@audit_app.command("verify")
def verify(
    file: Annotated[
        Path | None, typer.Argument(help="An export; omit to verify the database.")
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="The hub's verifier key text, or a file holding it, obtained out of band. "
            "Required for an export; for the database it replaces the hub's own key.",
        ),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint kept from an earlier audit or a witness (repeatable): "
            "catches a log cut off or rolled back to an older copy.",
        ),
    ] = None,
    allow_unsigned_tail: Annotated[
        bool,
        typer.Option(
            "--allow-unsigned-tail",
            help="Accept entries no checkpoint covers although they are older than "
            "VHHUB_CHECKPOINT_INTERVAL_S and its grace (a warning instead of a failure): "
            "for a hub known to have stopped without signing.",
        ),
    ] = False,
) -> None:
    """Check hashes, order, proofs and checkpoint signatures; report the first broken entry.

    Also fails a non-empty log that no checkpoint covers, and entries left without one for
    longer than the checkpoint interval (an export is judged by its own newest entry, the
    database by the clock). Exits 0 when the log verifies, 1 when it does not, 2 when an
    argument is unusable."""
    from hub.audit.verify import (
        TailRule,
        VerifyInputError,
        read_verifier_inputs,
        verify_export_file,
    )
    from hub.settings import Settings

    try:
        if file is not None:
            if public_key is None:
                raise VerifyInputError("--public-key is required to verify an export offline")
            key, notes = read_verifier_inputs(public_key, checkpoint or [])
            tail = TailRule(interval_s=Settings().checkpoint_interval_s, allow=allow_unsigned_tail)
            report = verify_export_file(file, key, trusted_checkpoints=notes, tail=tail)
        else:
            ctx = _context()
            try:
                given = public_key or ctx.log.signer.verifier_key
                key, notes = read_verifier_inputs(given, checkpoint or [])
                report = ctx.audit.verify_live(key, notes, allow_unsigned_tail=allow_unsigned_tail)
            finally:
                ctx.close()
    except VerifyInputError as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(report.to_json(), indent=2))
    if not report.ok:
        typer.echo(f"FAILED at entry {report.first_broken_seq}: {report.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {report.entries_checked} entries, {report.checkpoints_checked} checkpoints")
