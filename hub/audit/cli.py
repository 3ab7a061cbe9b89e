"""`vhhub audit`: export the log, verify an export offline or the live database."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from hub.console import count, duration, progress, summary

if TYPE_CHECKING:
    from hub.audit.verify import VerifyReport
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
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                written = _write_export(ctx, out)
        except BaseException:
            file.unlink(missing_ok=True)  # no half export that looks like a whole one
            raise
        typer.echo(f"exported {written.lines} lines to {file}")
        typer.echo(f"verifier key: {ctx.log.signer.verifier_key}")
        summary(
            f"Exported {count(written.entries, 'entry', 'entries')} and "
            f"{count(written.checkpoints, 'checkpoint')} to {file} ({duration(written.seconds)})."
        )
    finally:
        ctx.close()


@dataclass(frozen=True)
class _Written:
    lines: int
    entries: int
    checkpoints: int
    seconds: float


#: How the lines of an export begin (keys are sorted): the kind of line, without parsing it.
_ENTRY_START = '{"entry":'
_CHECKPOINT_START = '{"note":'


def _write_export(ctx: HubContext, out: TextIO) -> _Written:
    """Stream the full export into `out` under a progress bar counting entries against the
    log's size when the export starts (the hub may append a few more meanwhile)."""
    from hub.audit.store import log_size

    with ctx.db.snapshot() as session:
        expected = log_size(session)
    lines = entries = checkpoints = 0
    with progress("Exporting the access log", expected) as bar:
        for line in ctx.audit.export_full(None):
            out.write(line)
            lines += 1
            if line.startswith(_ENTRY_START):
                entries += 1
                if entries % 1000 == 0:
                    bar(entries, max(expected, entries))
            elif line.startswith(_CHECKPOINT_START):
                checkpoints += 1
        bar(entries, max(expected, entries))
        return _Written(lines, entries, checkpoints, bar.elapsed)


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
    from hub.audit.verify import VerifyInputError

    started = time.monotonic()
    try:
        if file is not None:
            if public_key is None:
                raise VerifyInputError("--public-key is required to verify an export offline")
            report = _verify_file(file, public_key, checkpoint or [], allow_unsigned_tail)
        else:
            report = _verify_database(public_key, checkpoint or [], allow_unsigned_tail)
    except VerifyInputError as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    took = duration(time.monotonic() - started)
    typer.echo(json.dumps(report.to_json(), indent=2))
    if not report.ok:
        typer.echo(
            f"FAILED at entry {report.first_broken_seq}: {report.problem} ({took})", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"ok: {report.entries_checked} entries, {report.checkpoints_checked} checkpoints")
    warned = f", {count(len(report.warnings), 'warning')} in the report" if report.warnings else ""
    summary(
        f"Access log verified: {count(report.entries_checked, 'entry', 'entries')}, "
        f"{count(report.checkpoints_checked, 'checkpoint')}, all intact{warned} ({took})."
    )


def _verify_file(
    file: Path, public_key: str, checkpoints: list[Path], allow_unsigned_tail: bool
) -> VerifyReport:
    from hub.audit.verify import TailRule, read_verifier_inputs, verify_export_file
    from hub.settings import Settings

    key, notes = read_verifier_inputs(public_key, checkpoints)
    tail = TailRule(interval_s=Settings().checkpoint_interval_s, allow=allow_unsigned_tail)
    with progress(f"Verifying {file.name}") as bar:
        return verify_export_file(file, key, trusted_checkpoints=notes, tail=tail, progress=bar)


def _record(ctx: HubContext, report: VerifyReport) -> None:
    try:
        ctx.audit.record_verification(report)
    except Exception as exc:  # the verdict stands; only its record is missing
        typer.echo(
            f"vhhub: the verdict could not be recorded in the log ({type(exc).__name__})",
            err=True,
        )


def _verify_database(
    public_key: str | None, checkpoints: list[Path], allow_unsigned_tail: bool
) -> VerifyReport:
    """The live log. A clean verdict is itself a `log.verify` entry, so the auditor's status
    page shows when the log was last verified. A failed one (or one that needed an allowance)
    is not: appending would make this process sign a checkpoint over the database as found,
    covering the very edit the check caught. The operator gets exit 1 and the log stays as
    it was, for the investigation."""
    from hub.audit.verify import read_verifier_inputs

    ctx = _context()
    try:
        key, notes = read_verifier_inputs(public_key or ctx.log.signer.verifier_key, checkpoints)
        with progress("Verifying the access log in the database") as bar:
            report = ctx.audit.verify_live(
                key, notes, allow_unsigned_tail=allow_unsigned_tail, progress=bar
            )
        if report.ok and not allow_unsigned_tail:
            _record(ctx, report)
        return report
    finally:
        ctx.close()
