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
        typer.Option("--public-key", help="The hub's verifier key text, or a file holding it."),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A signed checkpoint obtained elsewhere (witness)."),
    ] = None,
) -> None:
    """Check hashes, order, proofs and checkpoint signatures; report the first broken entry."""
    from hub.audit.verify import verify_export_file

    if file is None:
        ctx = _context()
        try:
            report = ctx.audit.verify_live()
        finally:
            ctx.close()
    else:
        if public_key is None:
            typer.echo("vhhub: --public-key is required to verify an export offline", err=True)
            raise typer.Exit(2)
        key = Path(public_key).read_text().strip() if Path(public_key).is_file() else public_key
        notes = [p.read_text() for p in checkpoint or []]
        report = verify_export_file(file, key, trusted_checkpoints=notes)
    typer.echo(json.dumps(report.to_json(), indent=2))
    if not report.ok:
        typer.echo(f"FAILED at entry {report.first_broken_seq}: {report.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {report.entries_checked} entries, {report.checkpoints_checked} checkpoints")
