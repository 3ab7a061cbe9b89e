"""`vhhub audit`: export the log, verify an export offline or the live database."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from hub.console import count, duration, progress, summary

if TYPE_CHECKING:
    from hub.audit.verify import VerifyReport, WitnessRule
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
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            help="A witness's key (vkey, or a file holding it) obtained from the witness "
            "out of band (repeatable); its rotations are followed (ADR 0406).",
        ),
    ] = None,
    min_witnesses: Annotated[
        int,
        typer.Option(
            "--min-witnesses",
            min=0,
            help="How many of the --witness keys must have cosigned the newest checkpoint.",
        ),
    ] = 0,
    witness_max_lag: Annotated[
        int,
        typer.Option(
            "--witness-max-lag",
            min=0,
            metavar="SECONDS",
            help="How far the newest checkpoint may run ahead of the newest one the witnesses "
            "cosigned: the age of the oldest entry after it (default 300).",
        ),
    ] = 300,
) -> None:
    """Check hashes, order, proofs and checkpoint signatures; report the first broken entry.

    Also fails a non-empty log that no checkpoint covers, and entries left without one for
    longer than the checkpoint interval (an export is judged by its own newest entry, the
    database by the clock). Exits 0 when the log verifies, 1 when it does not, 2 when an
    argument is unusable."""
    from hub.audit.checkpoints import CheckpointError
    from hub.audit.verify import VerifyInputError

    started = time.monotonic()
    try:
        rule = _witness_rule(witness or [], min_witnesses, witness_max_lag)
        if file is not None:
            if public_key is None:
                raise VerifyInputError("--public-key is required to verify an export offline")
            report = _verify_file(file, public_key, checkpoint or [], allow_unsigned_tail, rule)
        else:
            report = _verify_database(public_key, checkpoint or [], allow_unsigned_tail, rule)
    except CheckpointError as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
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


def _witness_rule(witnesses: list[str], min_witnesses: int, max_lag_s: int) -> WitnessRule:
    """The witness keys (inline or from files), checked before any verification starts."""
    from hub.audit.checkpoints import CheckpointError
    from hub.audit.verify import VerifyInputError, WitnessRule
    from hub.audit.witness import parse_witness_key

    keys = []
    for text in witnesses:
        path = Path(text)
        try:
            value = path.read_text("utf-8").strip() if path.is_file() else text
            keys.append(parse_witness_key(value).text)
        except (OSError, UnicodeDecodeError, CheckpointError) as exc:
            raise VerifyInputError(f"a --witness key is not usable: {exc}") from None
    if min_witnesses > len(set(keys)):
        raise VerifyInputError("--min-witnesses exceeds the number of distinct --witness keys")
    return WitnessRule(witnesses=tuple(keys), min_witnesses=min_witnesses, max_lag_s=max_lag_s)


def _verify_file(
    file: Path,
    public_key: str,
    checkpoints: list[Path],
    allow_unsigned_tail: bool,
    rule: WitnessRule,
) -> VerifyReport:
    from hub.audit.verify import TailRule, read_verifier_inputs, verify_export_file
    from hub.settings import Settings

    key, notes = read_verifier_inputs(public_key, checkpoints)
    tail = TailRule(interval_s=Settings().checkpoint_interval_s, allow=allow_unsigned_tail)
    with progress(f"Verifying {file.name}") as bar:
        return verify_export_file(
            file, key, trusted_checkpoints=notes, tail=tail, progress=bar, witness_rule=rule
        )


def _record(ctx: HubContext, report: VerifyReport) -> None:
    try:
        ctx.audit.record_verification(report)
    except Exception as exc:  # the verdict stands; only its record is missing
        typer.echo(
            f"vhhub: the verdict could not be recorded in the log ({type(exc).__name__})",
            err=True,
        )


def _verify_database(
    public_key: str | None,
    checkpoints: list[Path],
    allow_unsigned_tail: bool,
    rule: WitnessRule,
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
                key,
                notes,
                allow_unsigned_tail=allow_unsigned_tail,
                progress=bar,
                witness_rule=rule,
            )
        if report.ok and not allow_unsigned_tail:
            _record(ctx, report)
        return report
    finally:
        ctx.close()


witnesses_app = typer.Typer(
    help="Partners that witness the log: register their keys (ADR 0406).",
    no_args_is_help=True,
)
audit_app.add_typer(witnesses_app, name="witnesses")


@witnesses_app.command("add")
def add_witness(
    partner: Annotated[str, typer.Argument(help="The partner id that runs the witness.")],
    key: Annotated[str, typer.Argument(help="The witness key (vkey) the partner gave you.")],
) -> None:
    """Register a partner's witness key: it may then fetch checkpoints and cosign."""
    from hub.audit.checkpoints import CheckpointError
    from hub.errors import Conflict

    if partner not in _partner_ids():
        typer.echo(f"vhhub: no partner {partner!r} in the network file", err=True)
        raise typer.Exit(2)
    ctx = _context()
    try:
        ctx.audit.witnesses.register(partner, key.strip())
        typer.echo(f"registered witness key for {partner}")
    except (CheckpointError, Conflict) as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        ctx.close()


@witnesses_app.command("list")
def list_witnesses() -> None:
    """The registered witness keys, current and retired (JSON lines)."""
    ctx = _context()
    try:
        for row in ctx.audit.witnesses.keys(active_only=False):
            typer.echo(
                json.dumps(
                    {
                        "partner": row.partner,
                        "key": row.vkey,
                        "valid_from": row.valid_from.isoformat(),
                        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
                    }
                )
            )
    finally:
        ctx.close()


@witnesses_app.command("status")
def witness_status() -> None:
    """Cosignatures on the newest checkpoint against VHHUB_WITNESS_MIN; exit 1 on alert."""
    ctx = _context()
    try:
        status = ctx.audit.witnesses.quorum(
            ctx.settings.witness_min, ctx.settings.witness_alert_after_s
        )
    finally:
        ctx.close()
    typer.echo(json.dumps(asdict(status)))
    if status.alert:
        raise typer.Exit(1)


def _partner_ids() -> set[str]:
    from hub.identity.registry import load_registry
    from hub.settings import Settings

    return set(load_registry(Settings().network_file).partners)
