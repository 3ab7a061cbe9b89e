"""`vhhub policy ...`: versions, tests, bundles, and the privacy officer's review tools.

Wiring only: each command calls `hub.rego` or `hub.policy_review` and prints. `version`,
`test`, `bundle` and `data` work on a policy directory (--policy-dir; default VHHUB_POLICY_DIR
or the repository's policies/); `data` and `bundle` also read the fact-type schemas
(VHHUB_SCHEMA_DIR), from which data/fact_types.json is generated (`hub.facts.policy_data`).
`list`, `load`, `matrix`, `simulate` and `diff` also know the versions loaded into the
database: the hub serves the *active* one of those (ADR 0103), so `matrix` and `simulate`
default to it, and fall back to the directory before `vhhub init`.

Approving is not here on purpose: an approval is a privacy officer's act, made with their own
token (`POST /api/v1/policies/{version}/approvals` with the `digest` that `diff` prints), so
the log names the person and the partner whose key signed it. `suite` proposes and compares
versions of the network's protected tests (ADR 0103); approving those is an API act as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Protocol

import typer

from hub.console import count, duration, progress, summary
from hub.console import table as print_table
from hub.rego.bundle import load_bundle, policy_version, write_opa_bundle
from hub.rego.errors import PolicyError
from hub.rego.policy_tests import TestReport, run_policy_tests

if TYPE_CHECKING:
    from hub.facts.catalog import FactTypeCatalog
    from hub.policy_review import diff as diffing_module
    from hub.policy_review.governance import ProtectedSuite
    from hub.policy_review.schemas import DiffOut
    from hub.policy_review.versions import ReviewedVersion
    from hub.settings import Settings

policy_app = typer.Typer(
    help="Policies: version, tests, OPA bundle, and the privacy officer's review tools.",
    no_args_is_help=True,
    add_completion=False,
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
    """Write an OPA bundle whose revision is the policy version (for OPA sidecars).

    Refused (exit 1) when the directory's data/fact_types.json has drifted from the fact-type
    schemas: a bundle always carries the fact-type data generated from them (ADR 0201).
    """
    directory = _policy_dir(policy_dir)
    drift = _fact_type_drift(directory, _settings()) if directory.is_dir() else []
    if drift:
        typer.echo(
            f"vhhub: refusing to bundle {directory}: data/fact_types.json has drifted from the"
            f" fact-type schemas ({len(drift)} difference{'' if len(drift) == 1 else 's'});"
            " run `vhhub policy data --check` to see them, `vhhub policy data` to regenerate",
            err=True,
        )
        raise typer.Exit(1)
    try:
        loaded = load_bundle(directory)
        write_opa_bundle(loaded, output)
    except PolicyError as exc:
        raise _fail(exc.reason) from None
    typer.echo(f"{output}  revision {loaded.version}")


def _checked_catalog(settings: Settings) -> FactTypeCatalog:
    """The catalog of the configured schemas; a refused catalog ends the command (exit 2)."""
    from hub.facts.catalog import CatalogError

    try:
        return _catalog(settings)
    except CatalogError as exc:
        raise _fail(str(exc)) from None


def _fact_type_drift(directory: Path, settings: Settings) -> list[str]:
    """Where `directory`'s data/fact_types.json differs from the configured schemas."""
    from hub.facts.policy_data import policy_data_drift

    return policy_data_drift(_checked_catalog(settings), directory)


@policy_app.command("data")
def data(
    policy_dir: PolicyDirOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Only compare; exit 1 listing each drifted fact type."),
    ] = False,
) -> None:
    """Write data/fact_types.json from the fact-type schemas (VHHUB_SCHEMA_DIR), the one source.

    With --check nothing is written: exit 0 when the file says what the schemas say, else
    exit 1 with one line per fact type that differs (CI runs this).
    """
    from hub.facts.policy_data import POLICY_DATA_FILE, render_policy_fact_types

    directory = _policy_dir(policy_dir)
    settings = _settings()
    target = directory / POLICY_DATA_FILE
    if check:
        drift = _fact_type_drift(directory, settings)
        for line in drift:
            typer.echo(line)
        if drift:
            raise typer.Exit(1)
        typer.echo(f"{target} is in line with the fact-type schemas in {settings.schema_dir}")
        return
    if not directory.is_dir():
        raise _fail(f"policy directory {directory} does not exist")
    text = render_policy_fact_types(_checked_catalog(settings))
    try:
        unchanged = target.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        unchanged = False
    if unchanged:
        typer.echo(f"{target} is already generated from the schemas in {settings.schema_dir}")
        return
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {target} from the fact-type schemas in {settings.schema_dir}")


# --- the privacy officer's review tools ----------------------------------------------------

VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        "-V",
        help="A version in the database: hash, unique prefix (8+ hex digits) or 'active'.",
    ),
]


def _settings() -> Settings:
    from hub.settings import Settings

    return Settings()


def _catalog(settings: Settings) -> FactTypeCatalog:
    from hub.facts.catalog import FactTypeCatalog

    return FactTypeCatalog.load(settings.schema_dir)


def _from_database(settings: Settings, ref: str) -> ReviewedVersion | None:
    """The version `ref` from the database; None when the database holds no such version."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db.session import Database, is_sqlite
    from hub.policy_review.store import PolicyVersionRepository
    from hub.policy_review.versions import ReviewedVersion, files_from_stored_bundle

    url = settings.effective_database_url
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        return None  # not initialised here: do not create an empty database file
    db = Database(url)
    try:
        with db.transaction() as session:
            row = PolicyVersionRepository(session).resolve(ref)
            stored = (row.version, row.bundle) if row is not None and row.bundle else None
    except SQLAlchemyError:
        return None
    finally:
        db.dispose()
    if stored is None:
        return None
    return ReviewedVersion.from_files(files_from_stored_bundle(*stored))


def _reviewed(ref: str | None, policy_dir: Path | None) -> ReviewedVersion:
    """--version from the database, --policy-dir from disk, else the active version (or the
    configured directory when no version is active yet)."""
    from hub.policy_review.versions import ReviewedVersion

    settings = _settings()
    if policy_dir is not None and ref is not None:
        raise _fail("give --version or --policy-dir, not both")
    if policy_dir is not None:
        return ReviewedVersion.from_directory(policy_dir)
    found = _from_database(settings, ref or "active")
    if found is not None:
        return found
    if ref is not None:
        raise _fail(f"no policy version {ref} in the database")
    typer.echo(f"vhhub: no active version in the database; using {settings.policy_dir}", err=True)
    return ReviewedVersion.from_directory(settings.policy_dir)


def _version_or_dir(value: str) -> ReviewedVersion:
    """A diff operand: an existing directory, else a version in the database."""
    from hub.policy_review.versions import ReviewedVersion

    path = Path(value)
    if path.is_dir():
        return ReviewedVersion.from_directory(path)
    found = _from_database(_settings(), value)
    if found is None:
        raise _fail(f"{value} is neither a policy directory nor a version in the database")
    return found


@policy_app.command("list")
def list_versions() -> None:
    """The policy versions loaded into the database, newest first."""
    from hub.db.session import Database
    from hub.policy_review.store import PolicyVersionRepository

    db = Database(_settings().effective_database_url)
    try:
        with db.transaction() as session:
            repo = PolicyVersionRepository(session)
            approvals = repo.approvals_by_version()
            rows = [
                (
                    row.version[:12],
                    row.status,
                    _TESTS[row.tests_passed],
                    _checks(row.checks, "checks pass", "CHECKS FAIL"),
                    f"loaded {row.loaded_at:%Y-%m-%d %H:%M} by {_loader(row)}",
                    _approvers(approvals.get(row.version, [])),
                )
                for row in repo.list_newest_first()
            ]
    finally:
        db.dispose()
    print_table(("version", "status", "tests", "checks", "loaded", "approved"), rows, header=None)


_TESTS: Final = {True: "tests pass", False: "TESTS FAIL", None: "tests not run"}


class _Loaded(Protocol):
    """A stored policy version or protected suite, as far as `_loader` reads it."""

    @property
    def loaded_by_partner(self) -> str | None: ...
    @property
    def loaded_by_user(self) -> str | None: ...
    @property
    def origin(self) -> str | None: ...


class _Approval(Protocol):
    @property
    def approver_partner(self) -> str: ...
    @property
    def approver_user(self) -> str: ...


def _loader(row: _Loaded) -> str:
    if row.loaded_by_partner:
        return f"{row.loaded_by_partner}/{row.loaded_by_user}"
    return f"operator ({row.origin})"


def _approvers(approvals: Sequence[_Approval]) -> str:
    if not approvals:
        return ""
    return "approved by " + ", ".join(f"{a.approver_partner}/{a.approver_user}" for a in approvals)


def _checks(checks: Mapping[str, Any] | None, passed: str, failed: str) -> str:
    if checks is None:
        return ""
    return passed if checks.get("passed") else failed


@policy_app.command("load")
def load(
    policy_dir: Annotated[
        Path, typer.Argument(help="The policy directory to load.", file_okay=False)
    ],
) -> None:
    """Load a policy directory as a new, INACTIVE version; two privacy officers activate it."""
    from hub.context import HubContext
    from hub.errors import HubError

    ctx = HubContext.open(_settings())
    try:
        loaded = ctx.policy_review.load_directory(policy_dir)
    except HubError as exc:
        raise _fail(exc.detail) from None
    finally:
        ctx.close()
    tests = loaded.tests
    typer.echo(f"loaded policy version {loaded.version} (inactive)")
    if tests is not None:
        typer.echo(
            f"policy tests: {tests.total - tests.failed_count}/{tests.total} passed"
            + (f"; failing: {', '.join(tests.failed)}" if tests.failed else "")
        )
    checks = loaded.checks
    if checks is None:
        typer.echo("network checks: could not be run (the active version or suite is unusable)")
    for problem in checks.problems if checks is not None else []:
        typer.echo(f"network check: {problem}")
    if loaded.tests_passed and checks is not None and checks.passed:
        quorum = loaded.quorum
        who = "key partners" if quorum.key_partners_only else "partners"
        typer.echo(
            f"next: privacy officers of {quorum.approvals} different {who} (not the loader's) "
            f"approve it on its diff: `vhhub policy diff active {loaded.version[:12]}`, then "
            f"POST /api/v1/policies/{loaded.version}/approvals with that digest"
        )
    else:
        typer.echo("this version cannot be approved or activated")
        raise typer.Exit(1)


@policy_app.command("matrix")
def matrix(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="md (100 columns), html or json.")
    ] = "md",
    ref: VersionOption = None,
    policy_dir: PolicyDirOption = None,
    width: Annotated[int, typer.Option("--width", help="Markdown width.", min=60)] = 100,
) -> None:
    """The disclosure matrix: per table, viewers by phase, levels per life domain."""
    from hub.policy_review.matrix import (
        build_matrix,
        only_table,
        render_html,
        render_markdown,
        to_json,
    )

    if output_format not in ("md", "html", "json"):
        raise _fail("--format is md, html or json")
    settings = _settings()
    catalog = _catalog(settings)
    never = {
        t.id: [n for n, spec in t.fields.items() if spec.disclosure.value == "never"]
        for t in catalog.types()
    }
    view = build_matrix(_reviewed(ref, policy_dir), never_class_fields=never)
    if table is not None and table not in {t.table for t in view.tables}:
        raise _fail(f"no table {table} in this version")
    view = only_table(view, table)
    if output_format == "json":
        typer.echo(json.dumps(to_json(view), indent=2, ensure_ascii=False))
    elif output_format == "html":
        typer.echo(render_html(view), nl=False)
    else:
        typer.echo(render_markdown(view, width=width), nl=False)


def _check_simulation_words(
    *,
    kind: str,
    roles: list[str],
    table: str,
    phase: str,
    purpose: str | None,
    publisher_kind: str | None,
    output_format: str,
) -> None:
    """Usage errors end the command with exit 2 before anything is asked: a misspelt kind or
    phase would otherwise simulate a viewer the policy has never heard of, and show nothing."""
    from enum import StrEnum

    from hub.vocabulary import PartnerKind, Phase, Purpose, Role, TableId

    def need(option: str, value: str | None, words: type[StrEnum]) -> None:
        if value is not None and value not in {w.value for w in words}:
            raise _fail(f"{option} must be one of: {', '.join(w.value for w in words)}")

    need("--kind", kind, PartnerKind)
    need("--publisher-kind", publisher_kind, PartnerKind)
    for one in roles:
        need("--role", one, Role)
    need("--table", table, TableId)
    need("--phase", phase, Phase)
    need("--purpose", purpose, Purpose)
    if output_format not in {"text", "json"}:
        raise _fail("--format must be text or json")


@policy_app.command("simulate")
def simulate(
    kind: Annotated[str | None, typer.Option("--kind", help="The viewer's partner kind.")] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="A role of the viewer; repeat.")
    ] = None,
    partner: Annotated[
        str | None, typer.Option("--partner", help="A partner id (its kind from the registry).")
    ] = None,
    table: Annotated[str, typer.Option("--table", help="The table.")] = "multi_problem",
    phase: Annotated[str, typer.Option("--phase", help="The case's phase.")] = "case_conference",
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="The request's purpose (default: the phase).")
    ] = None,
    fact_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="A fact type (repeat); default every catalog type."),
    ] = None,
    publisher_kind: Annotated[
        str | None, typer.Option("--publisher-kind", help="Who published the facts.")
    ] = None,
    shareable: Annotated[
        bool, typer.Option("--shareable", help="The publisher marked the facts shareable.")
    ] = False,
    own: Annotated[
        bool, typer.Option("--own", help="The viewer's partner published them.")
    ] = False,
    not_invited: Annotated[
        bool, typer.Option("--not-invited", help="The viewer's partner is not invited.")
    ] = False,
    ref: VersionOption = None,
    policy_dir: PolicyDirOption = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """What a described viewer would see of synthetic facts, and why (rule and source).

    Synthetic facts carry the catalog's metadata only (domain, sensitivity, field classes);
    there is no content. A simulation on a real case is a privacy officer's act and goes
    through the API (POST /api/v1/policies/simulations with case_id).
    """
    from hub.facts.catalog import UnknownFactType
    from hub.policy_review.presenters import simulation_out
    from hub.policy_review.simulate import (
        DescribedViewer,
        FactSpec,
        render_text,
        simulate_synthetic,
    )
    from hub.policy_review.simulation import phase_purpose

    settings = _settings()
    if partner is not None:
        from hub.identity.registry import load_registry

        spec = load_registry(settings.network_file).partners.get(partner)
        if spec is None:
            raise _fail(f"no partner {partner} in the network registry")
        kind = spec.kind.value
    if kind is None:
        raise _fail("give --kind or --partner")
    _check_simulation_words(
        kind=kind,
        roles=role or [],
        table=table,
        phase=phase,
        purpose=purpose,
        publisher_kind=publisher_kind,
        output_format=output_format,
    )
    catalog = _catalog(settings)
    types = fact_type or [t.id for t in catalog.types()]
    viewer = DescribedViewer(
        partner_kind=kind,
        roles=tuple(sorted(set(role or ["participant"]))),
        partner=partner or "simulated-viewer",
        invited=not not_invited,
    )
    specs = [
        FactSpec(
            type=t, publisher_kind=publisher_kind, shareable=shareable, published_by_viewer=own
        )
        for t in types
    ]
    try:
        result = simulate_synthetic(
            _reviewed(ref, policy_dir),
            catalog,
            viewer=viewer,
            table=table,
            phase=phase,
            purpose=purpose or phase_purpose(phase),
            specs=specs,
        )
    except UnknownFactType as exc:
        raise _fail(exc.detail) from None
    except PolicyError as exc:
        raise _fail(f"the policy could not decide: {exc.reason}") from None
    if output_format == "json":
        typer.echo(simulation_out(result).model_dump_json(indent=2))
    else:
        typer.echo(render_text(result), nl=False)


@policy_app.command("diff")
def diff(
    old: Annotated[str, typer.Argument(help="Old version: hash/prefix in the database, or a dir.")],
    new: Annotated[str, typer.Argument(help="New version: hash/prefix in the database, or a dir.")],
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    exhaustive: Annotated[
        bool, typer.Option("--exhaustive", help="Ask all nine purposes (slower).")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Every decision that changes between two versions, found by asking both engines."""
    from hub.policy_review import diff as diffing
    from hub.policy_review.presenters import diff_out

    settings = _settings()
    before, after = _version_or_dir(old), _version_or_dir(new)
    with progress("Asking both policy engines") as bar:
        result = diffing.diff_versions(
            before, after, _catalog(settings), table=table, exhaustive=exhaustive, progress=bar
        )
    out = diff_out(result, table=table)
    if output_format != "json":  # JSON is for programs: complete without a line besides it
        summary(_diff_summary(result, bar.elapsed))
    recorded = table is None and _record_digest(settings, out, exhaustive)
    if output_format == "json":
        typer.echo(out.model_dump_json(indent=2))
        return
    typer.echo(diffing.render_text(result), nl=False)
    typer.echo("")
    typer.echo(f"digest: {out.digest}")
    if table is not None:
        typer.echo("(a diff of one table: an approval quotes the digest of the full diff)")
    elif recorded:
        typer.echo(
            f"approve {out.new[:12]} with this digest: POST /api/v1/policies/{out.new}/approvals "
            '{"diff_digest": "..."} (valid while the old version is the active one)'
        )


def _diff_summary(result: diffing_module.DiffResult, seconds: float) -> str:
    more = sum(c.direction == "more" for c in result.changes)
    less = sum(c.direction == "less" for c in result.changes)
    return (
        f"Policy diff {result.old[:12]} -> {result.new[:12]}: "
        f"{count(len(result.changes), 'change')} ({more} show more, {less} show less) over "
        f"{count(result.contexts, 'context')}, {count(result.decisions, 'decision')} per "
        f"version ({duration(seconds)})."
    )


def _record_digest(settings: Settings, out: DiffOut, exhaustive: bool) -> bool:
    """Remember a full diff's digest in the database when both versions are loaded there, so
    an approval may quote it; False when there is no database or the versions are not in it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db.session import Database, is_sqlite
    from hub.policy_review.store import PolicyVersionRepository

    url = settings.effective_database_url
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        return False
    db = Database(url)
    try:
        with db.transaction() as session:
            repo = PolicyVersionRepository(session)
            if repo.get(out.old) is None or repo.get(out.new) is None:
                return False
            repo.record_diff_digest(
                out.digest, out.old, out.new, exhaustive=exhaustive, changes=len(out.changes)
            )
            return True
    except SQLAlchemyError:
        return False
    finally:
        db.dispose()


# --- the protected test suite ----------------------------------------------------------------

suite_app = typer.Typer(
    help="The network's protected policy tests: list, propose (load) and compare versions.",
    no_args_is_help=True,
    add_completion=False,
)
policy_app.add_typer(suite_app, name="suite")


@suite_app.command("list")
def suite_list() -> None:
    """The protected test suites in the database, newest first."""
    from hub.db.session import Database
    from hub.policy_review.store import ProtectedSuiteRepository

    db = Database(_settings().effective_database_url)
    try:
        with db.transaction() as session:
            repo = ProtectedSuiteRepository(session)
            approvals = repo.approvals_by_suite()
            rows = [
                (
                    row.suite[:12],
                    row.status,
                    f"{sum(1 for f in row.files if f.get('test'))} files",
                    _checks(
                        row.checks, "passes on the active version", "FAILS on the active version"
                    ),
                    f"loaded {row.loaded_at:%Y-%m-%d %H:%M} by {_loader(row)}",
                    _approvers(approvals.get(row.suite, [])),
                )
                for row in repo.list_newest_first()
            ]
    finally:
        db.dispose()
    print_table(("suite", "status", "tests", "checks", "loaded", "approved"), rows, header=None)


@suite_app.command("load")
def suite_load(
    policy_dir: Annotated[
        Path, typer.Argument(help="A policy directory; its _test.rego files are the suite.")
    ],
) -> None:
    """Propose the directory's _test.rego files as the new protected suite (INACTIVE)."""
    from hub.context import HubContext
    from hub.errors import HubError

    ctx = HubContext.open(_settings())
    try:
        loaded = ctx.policy_review.load_suite_directory(policy_dir)
    except HubError as exc:
        raise _fail(exc.detail) from None
    finally:
        ctx.close()
    typer.echo(f"loaded protected test suite {loaded.suite} (inactive)")
    run = loaded.checks
    if run is None or not run.passed:
        failing = f"; failing: {', '.join(run.failed)}" if run is not None and run.failed else ""
        typer.echo(f"it does not pass against the active policy version{failing}")
        typer.echo("this suite cannot be approved or activated")
        raise typer.Exit(1)
    typer.echo(f"it passes against the active version ({run.total} tests)")
    typer.echo(
        f"next: `vhhub policy suite diff active {loaded.suite[:12]}`, then privacy officers of "
        f"{loaded.quorum.approvals} different partners approve it with that digest: "
        f"POST /api/v1/policies/suites/{loaded.suite}/approvals"
    )


def _suite_or_dir(value: str) -> ProtectedSuite:
    from hub.policy_review.governance import ProtectedSuite

    path = Path(value)
    if path.is_dir():
        try:
            return ProtectedSuite.of(load_bundle(path).test_modules)
        except PolicyError as exc:
            raise _fail(exc.reason) from None
    found = _suite_from_database(_settings(), value)
    if found is None:
        raise _fail(f"{value} is neither a policy directory nor a protected suite in the database")
    return found


def _suite_from_database(settings: Settings, ref: str) -> ProtectedSuite | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db.session import Database, is_sqlite
    from hub.policy_review.store import ProtectedSuiteRepository
    from hub.policy_review.usecase import suite_from_bundle

    url = settings.effective_database_url
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        return None
    db = Database(url)
    try:
        with db.transaction() as session:
            row = ProtectedSuiteRepository(session).resolve(ref)
            stored = (row.suite, row.bundle) if row is not None else None
    except SQLAlchemyError:
        return None
    finally:
        db.dispose()
    if stored is None:
        return None
    try:
        return suite_from_bundle(*stored)
    except PolicyError as exc:
        raise _fail(exc.reason) from None


@suite_app.command("diff")
def suite_diff(
    old: Annotated[str, typer.Argument(help="Old suite: hash/prefix/'active', or a dir.")],
    new: Annotated[str, typer.Argument(help="New suite: hash/prefix in the database, or a dir.")],
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """What a protected suite changes against another, rule by rule, and its digest."""
    from hub.policy_review.governance import diff_suites
    from hub.policy_review.presenters import suite_diff_out

    try:
        out = suite_diff_out(diff_suites(_suite_or_dir(old), _suite_or_dir(new)))
    except PolicyError as exc:
        raise _fail(exc.reason) from None
    if output_format == "json":
        typer.echo(out.model_dump_json(indent=2))
        return
    old_name = out.old[:12] if out.old else "(none)"
    typer.echo(f"protected suite diff {old_name} -> {out.new[:12]}: {len(out.rules)} rules change")
    for path in out.files_added:
        typer.echo(f"+ file {path}")
    for path in out.files_removed:
        typer.echo(f"- file {path}")
    for path in out.files_changed:
        typer.echo(f"~ file {path}")
    marks = {"added": "+", "removed": "-", "changed": "~"}
    for rule in out.rules:
        kind = "test" if rule.test else "helper"
        typer.echo(f"{marks[rule.change]} {kind} {rule.rule} ({rule.change})")
    typer.echo("")
    typer.echo(f"digest: {out.digest}")
