"""Progress and tables on the command line (issue 18): the long operations report their steps
through callbacks that change nothing, the CLI shows them on stderr only (and only to a
terminal), and lists are rich tables that keep every value."""

from __future__ import annotations

import dataclasses
import io
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub import console
from hub.audit import verify as verifying
from hub.audit.entry import Action, Outcome
from hub.audit.log import Actor, Event, RequestInfo
from hub.cases.models import Case
from hub.cli import app
from hub.context import HubContext
from hub.facts.catalog import FactTypeCatalog
from hub.identity.registry import load_registry
from hub.policy_review import diff as diffing
from hub.policy_review.versions import ReviewedVersion
from hub.retention.service import run_retention
from hub.settings import Settings


@pytest.fixture
def ctx(initialised: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubContext]:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    opened = HubContext.open(initialised)
    try:
        yield opened
    finally:
        opened.close()


Calls = list[tuple[int, int | None]]


def _recorder() -> tuple[Calls, verifying.VerifyProgress]:
    calls: Calls = []

    def record(done: int, total: int | None) -> None:
        calls.append((done, total))

    return calls, record


# -- audit verify -------------------------------------------------------------------------


def _log_entries(ctx: HubContext, n: int) -> None:
    with ctx.db.transaction() as session:
        for i in range(n):
            ctx.log.append(
                session,
                Event(action=Action.RETENTION_RUN, outcome=Outcome.ALLOWED, reason=f"test {i}"),
                actor=Actor(partner=None, user="test"),
                request=RequestInfo(request_id=uuid.uuid4().hex),
            )


def test_the_verify_callback_counts_up_to_the_number_of_entries(
    ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_entries(ctx, 25)
    export = tmp_path / "log.jsonl"
    export.write_text("".join(ctx.audit.export_full(None)), encoding="utf-8")
    key = ctx.log.signer.verifier_key
    monkeypatch.setattr(verifying, "PROGRESS_EVERY", 10)

    calls, record = _recorder()
    watched = verifying.verify_export_file(export, key, progress=record)
    unwatched = verifying.verify_export_file(export, key)

    assert watched == unwatched and watched.ok  # watching changes nothing
    entries = watched.entries_checked
    assert entries >= 26 and verifying.count_export_entries(export) == entries
    assert verifying.count_export_entries(export, chunk=7) == entries  # matches across chunks
    assert calls[0] == (10, entries) and calls[-1] == (entries, entries)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_the_verify_callback_stops_where_the_log_breaks(ctx: HubContext, tmp_path: Path) -> None:
    _log_entries(ctx, 3)
    lines = "".join(ctx.audit.export_full(None)).splitlines(keepends=True)
    broken = [line.replace('"test 1"', '"test one"') for line in lines]
    calls, record = _recorder()
    report = verifying.verify_export(broken, ctx.log.signer.verifier_key, progress=record)
    assert not report.ok and calls == [(report.entries_checked, None)]


# -- policy diff --------------------------------------------------------------------------


def test_the_diff_callback_counts_every_context_and_changes_no_answer() -> None:
    settings = Settings()
    version = ReviewedVersion.from_directory(settings.policy_dir)
    catalog = FactTypeCatalog.load(settings.schema_dir)
    grid = diffing.build_grid(catalog, [version], table="youth")
    small = dataclasses.replace(grid, contexts=grid.contexts[:12])
    calls: list[tuple[int, int]] = []

    watched = diffing.evaluate_jobs(
        [(version, small.contexts)], small, progress=lambda d, t: calls.append((d, t))
    )

    assert watched == [diffing.evaluate(version, small, small.contexts)]
    assert calls == [(i, 12) for i in range(13)]


# -- retention run ------------------------------------------------------------------------


def _due_case(ctx: HubContext, *, hold: bool = False) -> str:
    case_id = str(uuid.uuid4())
    with ctx.db.transaction() as session:
        session.add(
            Case(
                id=case_id,
                kind="person",
                proposed_table="adults",
                phase="closed",
                status="closed",
                registered_by_partner="politie",
                registered_by_user="test",
                closed_at=datetime.now(UTC) - timedelta(days=800),
                retention_until=datetime.now(UTC) - timedelta(days=1),
                legal_hold=hold,
            )
        )
    return case_id


def test_retention_reports_each_case_examined_and_prints_a_table(ctx: HubContext) -> None:
    due = sorted(_due_case(ctx) for _ in range(3))
    held = _due_case(ctx, hold=True)

    dry = CliRunner().invoke(app, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    rows = [line.split() for line in dry.stdout.splitlines()]
    assert ["case", "status", "retention", "until"] in rows  # the table's header
    listed = {row[0] for row in rows if row and row[0] in [*due, held]}
    assert listed == {*due, held}  # due and held cases, every id whole
    (summary,) = dry.stderr.splitlines()
    assert summary.startswith("Retention dry run: 3 cases due, 1 kept on legal hold")

    calls: list[tuple[int, int]] = []
    report = run_retention(ctx, progress=lambda d, t: calls.append((d, t)))
    assert sorted(report.shredded) == due and [h.case_id for h in report.held] == [held]
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


# -- tables and the console ---------------------------------------------------------------


def test_partners_list_is_a_table_with_every_partner(ctx: HubContext) -> None:
    result = CliRunner().invoke(app, ["partners", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["partner", "kind", "key", "ids", "roles"]
    registry = load_registry(Settings().network_file)
    for partner in registry.partners.values():
        (row,) = [line.split() for line in lines[1:] if line.split()[0] == partner.id]
        assert row[1] == partner.kind.value
        assert row[-1] == ",".join(sorted(registry.allowed_roles(partner.id)))
    assert "…" not in result.stdout


def test_a_table_in_a_pipe_keeps_every_value_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    long = "x" * 250
    console.table(("name", "value"), [("markup", "[bold]not bold[/bold]"), ("long", long)])
    out = capsys.readouterr().out
    assert "[bold]not bold[/bold]" in out and long in out and "\x1b[" not in out
    assert all(line == line.rstrip() for line in out.splitlines())
    console.table(("who",), [("mallory\x1b[2J\u202e",)])  # clear screen, right-to-left
    assert "mallory\\x1b[2J\\u202e" in capsys.readouterr().out
    console.table(("id", "status"), [("abc", "active")], header=None)
    assert capsys.readouterr().out == "abc  active\n"  # no header in a pipe


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_on_stderr_and_never_to_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with console.progress("Counting", 10) as bar:  # stderr is not a terminal: nothing drawn
        bar(5)
    console.summary("Counted 10 things\n(0.1 s).")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "Counted 10 things (0.1 s).\n"

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with console.progress("Counting", 10) as bar:
        for done in range(1, 11):
            bar(done)
        time.sleep(0.3)  # the bar redraws ten times a second
    assert bar.done == 10 and bar.elapsed >= 0
    assert "Counting" in terminal.getvalue() and capsys.readouterr().out == ""


def test_count_and_duration_read_well() -> None:
    assert console.count(312_004) == "312,004"
    assert console.count(1, "entry", "entries") == "1 entry"
    assert console.count(2, "case") == "2 cases"
    assert console.duration(12.34) == "12.3 s" and console.duration(245) == "4 min 05 s"
