"""`vhhub audit`: export the log, verify an export offline or the live database."""

from __future__ import annotations

import json
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
    file: Annotated[Path, typer.Argument(help="Where to write the JSON Lines export.")],
) -> None:
    """Export the whole log (entries, checkpoints, header) for offline verification."""
    ctx = _context()
    try:
        count = 0
        with file.open("w", encoding="utf-8", newline="\n") as out:
            for line in ctx.audit.export_full(None):
                out.write(line)
                count += 1
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
) -> None:
    """Check hashes, order, proofs and checkpoint signatures; report the first broken entry.

    Exits 0 when the log verifies, 1 when it does not, 2 when an argument is unusable."""
    from hub.audit.verify import VerifyInputError, read_verifier_inputs, verify_export_file

    try:
        if file is not None:
            if public_key is None:
                raise VerifyInputError("--public-key is required to verify an export offline")
            key, notes = read_verifier_inputs(public_key, checkpoint or [])
            report = verify_export_file(file, key, trusted_checkpoints=notes)
        else:
            ctx = _context()
            try:
                given = public_key or ctx.log.signer.verifier_key
                key, notes = read_verifier_inputs(given, checkpoint or [])
                report = ctx.audit.verify_live(key, notes)
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
