"""How `vhhub` ends (issue 18): a usage error is one line on stderr and exit 2, a failed check
exit 1 with a one-line reason, an unexpected error one line and exit 1, never a traceback.

`main` is called in-process (fast, and it is the same function the console script runs);
the behaviour only a real process shows -- its exit status, what reaches its stderr when
nothing catches SystemExit -- is checked with a few subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hub
import hub.cli
from hub.cli import app, main
from hub.settings import Settings

VHHUB = [sys.executable, "-m", "hub"]

#: Each is wrong on the command line itself: nothing may run, nothing may be printed on stdout.
USAGE_ERRORS = [
    ["no-such-command"],
    ["--no-such-option"],
    ["audit", "no-such-command"],
    ["audit", "verify", "--no-such-option"],
    ["token", "--partner", "politie"],  # --user and --role missing
    ["keys", "rotate", "--batch-size", "0"],  # below its minimum
    ["serve", "--port", "eighty"],  # not a number
    ["policy", "diff", "active"],  # second argument missing
    ["retention", "hold"],  # case id missing
    ["policy", "simulate", "--kind"],  # option without its value
]


def _run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main(args)
    out = capsys.readouterr()
    code = ended.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vhhub: "), stderr
    assert "Traceback" not in stderr and "╭" not in stderr  # no traceback, no rich box
    return lines[0]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_a_usage_error_is_one_line_on_stderr_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run_main(args, capsys)
    assert code == 2, err
    assert out == ""
    line = _one_error_line(err)
    assert "--help" in line  # says where to look


def test_the_error_line_names_the_subcommand_and_the_offending_word(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, err = _run_main(["audit", "verify", "--frobnicate"], capsys)
    assert _one_error_line(err).startswith("vhhub: audit verify: ") and "--frobnicate" in err


def test_an_error_line_never_passes_an_escape_sequence_to_the_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run_main(["\x1b[2Jcleared"], capsys)
    assert code == 2 and "\x1b" not in err and "\\x1b[2Jcleared" in _one_error_line(err)


def test_a_usage_error_in_a_real_process(tmp_path: Path) -> None:
    """Exit status and stderr as a shell sees them (no data dir needed: nothing runs)."""
    env = {**os.environ, "VHHUB_DATA_DIR": str(tmp_path / "unused")}
    done = subprocess.run(
        [*VHHUB, "policy", "diff", "active"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert _one_error_line(done.stderr).startswith("vhhub: policy diff: ")
    assert not (tmp_path / "unused").exists()


def test_version_prints_the_package_version_and_exits_0() -> None:
    done = subprocess.run(
        [*VHHUB, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"vhhub {hub.__version__}\n" and done.stderr == ""


def test_an_unexpected_error_is_one_line_and_exit_1_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> Settings:
        raise RuntimeError("disk on fire\n[SQL: SELECT secret FROM keys] [parameters: ('k',)]")

    monkeypatch.setattr(hub.cli, "settings", broken)
    monkeypatch.delenv("VHHUB_DEBUG", raising=False)
    code, out, err = _run_main(["migrate"], capsys)
    assert code == 1 and out == ""
    line = _one_error_line(err)
    assert "RuntimeError" in line and "disk on fire" in line and "VHHUB_DEBUG=1" in line
    assert "SELECT secret" not in err  # only the first line of a message: no SQL, no values

    monkeypatch.setenv("VHHUB_DEBUG", "1")
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["migrate"])


def test_help_is_still_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run_main(["audit", "--help"], capsys)
    assert code == 0 and "verify" in out and err == ""


def _export(runner: CliRunner, target: Path) -> str:
    """`vhhub audit export` into `target`; returns the verifier key."""
    exported = runner.invoke(app, ["audit", "export", str(target)])
    assert exported.exit_code == 0, exported.output
    # stdout is what it always was: the two result lines, no progress frames, no summary
    lines = exported.stdout.splitlines()
    assert len(lines) == 2, exported.stdout
    assert lines[0].startswith("exported ") and lines[1].startswith("verifier key: ")
    assert exported.stderr.startswith("Exported ") and len(exported.stderr.splitlines()) == 1
    return lines[1].removeprefix("verifier key: ")


def test_export_then_verify_and_a_tampered_export_fails_with_exit_1(
    initialised: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VHHUB_DATA_DIR", str(initialised.data_dir))
    monkeypatch.setenv("VHHUB_DATABASE_URL", initialised.effective_database_url)
    runner = CliRunner()
    export = tmp_path / "log.jsonl"
    key = _export(runner, export)

    verified = runner.invoke(app, ["audit", "verify", str(export), "--public-key", key])
    assert verified.exit_code == 0, verified.output
    report, _ = json.JSONDecoder().raw_decode(verified.stdout)
    assert report["ok"] and report["entries_checked"] >= 1
    (summary,) = verified.stderr.splitlines()
    assert summary.startswith("Access log verified: ") and "all intact" in summary

    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    first_entry = next(i for i, line in enumerate(lines) if line.startswith('{"entry":'))
    entry = json.loads(lines[first_entry])
    entry["entry"]["reason"] = "nothing to see here"
    lines[first_entry] = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join(lines), encoding="utf-8")

    done = subprocess.run(
        [*VHHUB, "audit", "verify", str(tampered), "--public-key", key],
        capture_output=True,
        text=True,
        env={**os.environ, "VHHUB_DATA_DIR": str(initialised.data_dir)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    (reason,) = done.stderr.splitlines()
    assert reason.startswith("FAILED at entry 0: ") and "leaf hash" in reason
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["ok"] is False  # the report is still on stdout, whole
