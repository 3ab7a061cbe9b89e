"""`vhhub policy ...`: the policy version, the policy's own tests, and an OPA bundle.

Wiring only: each command calls `hub.rego` and prints. The lead mounts `policy_app` as
`vhhub policy`. Without --policy-dir the commands use the configured policy directory
(VHHUB_POLICY_DIR, default the repository's policies/), the same one the hub serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.rego.bundle import load_bundle, policy_version, write_opa_bundle
from hub.rego.errors import PolicyError
from hub.rego.policy_tests import TestReport, run_policy_tests

policy_app = typer.Typer(
    help="Policies: version, tests, OPA bundle.", no_args_is_help=True, add_completion=False
)

PolicyDirOption = Annotated[
    Path | None,
    typer.Option(
        "--policy-dir",
        help="Policy directory (default: VHHUB_POLICY_DIR or the repository's policies/).",
        file_okay=False,
    ),
]


def _policy_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    from hub.settings import Settings

    return Settings().policy_dir


def _fail(message: str) -> typer.Exit:
    typer.echo(f"vhhub: {message}", err=True)
    return typer.Exit(2)


@policy_app.command("version")
def version(policy_dir: PolicyDirOption = None) -> None:
    """Print the policy version: SHA-256 over the sorted policy and data files."""
    try:
        typer.echo(policy_version(_policy_dir(policy_dir)))
    except PolicyError as exc:
        raise _fail(exc.reason) from None


def print_report(report: TestReport, *, show_coverage: bool, verbose: bool) -> None:
    """Per-test lines, failures with their reason, then rule coverage and a summary."""
    for result in report.results:
        if result.passed and not verbose:
            continue
        status = "PASS" if result.passed else "FAIL"
        detail = "" if result.error is None else f"  ({result.error})"
        typer.echo(f"{status} {result.qualified_name} [{result.duration_ms:.1f} ms]{detail}")
    if show_coverage and report.coverage:
        typer.echo("")
        typer.echo(
            f"rule coverage: {report.rules_exercised}/{len(report.coverage)} rules exercised"
            f" ({report.coverage_ratio:.0%})"
        )
        for rule in report.coverage:
            if verbose or not rule.exercised:
                mark = "covered    " if rule.exercised else "NOT COVERED"
                typer.echo(f"  {mark} {rule.package}.{rule.name}  ({rule.file}:{rule.line})")
    passed = len(report.results) - len(report.failures)
    typer.echo("")
    typer.echo(
        f"{passed}/{len(report.results)} policy tests passed, policy version"
        f" {report.policy_version}"
    )


@policy_app.command("test")
def test(
    policy_dir: PolicyDirOption = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only tests whose name contains this.")
    ] = None,
    coverage: Annotated[
        bool, typer.Option("--coverage/--no-coverage", help="Report rule coverage.")
    ] = True,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print failures and the summary only.")
    ] = False,
) -> None:
    """Run the policy's _test.rego tests in the embedded engine; exit 1 on any failure."""
    try:
        report = run_policy_tests(_policy_dir(policy_dir), name_filter=run)
    except PolicyError as exc:
        raise _fail(exc.reason) from None
    print_report(report, show_coverage=coverage, verbose=not quiet)
    if not report.passed:
        raise typer.Exit(1)


@policy_app.command("bundle")
def bundle(
    output: Annotated[Path, typer.Argument(help="Where to write the bundle (.tar.gz).")],
    policy_dir: PolicyDirOption = None,
) -> None:
    """Write an OPA bundle whose revision is the policy version (for OPA sidecars)."""
    try:
        loaded = load_bundle(_policy_dir(policy_dir))
        write_opa_bundle(loaded, output)
    except PolicyError as exc:
        raise _fail(exc.reason) from None
    typer.echo(f"{output}  revision {loaded.version}")
