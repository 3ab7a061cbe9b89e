"""The `vhhub` command line: set up, serve, and the operator's tools.

Wiring only: each command parses its arguments and calls a service function. How the
process ends is decided once, in `main` (issue 18), not per command:

- exit 0: done; exit 1: a check failed (a log that does not verify, a failing policy test,
  drift) or the command failed; exit 2: the command line itself is unusable (an unknown
  command or option, a missing argument, a bad value) or the data dir was never initialised;
- every error is one line on stderr, ``vhhub: <what>``, never a traceback and never a box
  drawn around it: the line is what a log or a CI job keeps, so it has to stand alone. An
  unexpected exception shows its type and first line; VHHUB_DEBUG=1 shows the traceback
  (without local variables, which could hold keys);
- stdout holds only results; progress and summaries are on stderr (hub.console).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from hub import __version__

try:  # typer 0.2x parses with its own copy of click, whose exceptions are not click's
    from typer._click import exceptions as cli_errors
except ImportError:  # pragma: no cover - typer that uses click itself
    from click import exceptions as cli_errors  # type: ignore[no-redef]
from hub.audit.cli import audit_app
from hub.audit.witness_cli import witness_app
from hub.disclosure.cli import keys_app
from hub.notifications.cli import notifications_app
from hub.policy_review.cli import policy_app
from hub.receipts.cli import receipt_app
from hub.retention.cli import retention_app
from hub.settings import Settings

app = typer.Typer(
    name="vhhub",
    help="vhhub: informatie-uitwisseling voor het Zorg- en Veiligheidshuis.",
    no_args_is_help=True,
    add_completion=False,
    # a traceback's local variables may hold keys or tokens; VHHUB_DEBUG=1 still shows frames
    pretty_exceptions_show_locals=False,
)
partners_app = typer.Typer(help="The partners of the network registry.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
app.add_typer(retention_app, name="retention")
app.add_typer(receipt_app, name="receipt")
app.add_typer(notifications_app, name="notifications")
app.add_typer(witness_app, name="witness")


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"vhhub {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory (default ./.vhhub or VHHUB_DATA_DIR)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    if data_dir is not None:
        # one source of truth: every later Settings() in this process sees it
        os.environ["VHHUB_DATA_DIR"] = str(data_dir)


def settings() -> Settings:
    return Settings()


@app.command()
def init() -> None:
    """Create the data dir, dev keys and database, and load the network registry.

    Safe to run again: existing keys are kept, the database is migrated forward, the registry
    is brought in line with the network file.
    """
    from hub.policy_review.errors import ShippedPolicyFails
    from hub.setup import initialise

    try:
        report = initialise(settings())
    except ShippedPolicyFails as exc:
        typer.echo(f"vhhub: the policy in the policy dir fails its own tests: {exc}", err=True)
        raise typer.Exit(1) from None
    for line in report.lines():
        typer.echo(line)


@app.command()
def migrate() -> None:
    """Prepare the database: newest schema, the network registry, the shipped policy (no keys)."""
    from hub.setup import prepare_database

    for line in prepare_database(settings()).lines():
        typer.echo(line)


def server_options(cfg: Settings) -> dict[str, Any]:
    """How `vhhub serve` runs uvicorn (besides app, host and port), one place for tests to see.

    uvicorn's proxy headers are off: it would believe X-Forwarded-For from 127.0.0.1 (any local
    process) and rewrite the client address; RequestContextMiddleware reads the header itself,
    only from the `trusted_proxies`. The h11 parser stops buffering a request head at
    `max_header_bytes`, so a client that trickles headers cannot make it hold more; h11 is
    what plain uvicorn uses anyway, named so that installing httptools cannot drop the limit
    (the middleware's 431 holds under any parser). The protocol is uvicorn's h11 protocol
    that also hands the application the client certificate of a TLS connection
    (hub.serving, ADR 0017)."""
    from hub.serving import TlsAwareH11Protocol

    return {
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "forwarded_allow_ips": [],
        "http": TlsAwareH11Protocol,
        "h11_max_incomplete_event_size": cfg.max_header_bytes,
    }


@contextmanager
def _metrics_directory() -> Iterator[None]:
    """`PROMETHEUS_MULTIPROC_DIR` for the workers: the operator's (emptied of an earlier
    run's files), or a fresh temporary one removed at the end."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        yield
        return
    made = tempfile.mkdtemp(prefix="vhhub-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(made, ignore_errors=True)


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"vhhub: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="VHHUB_WORKERS",
            help="Worker processes (several need PostgreSQL; ADR 0017).",
        ),
    ] = 1,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert", envvar="VHHUB_TLS_CERT", help="Serve HTTPS: the certificate (PEM)."
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option("--tls-key", envvar="VHHUB_TLS_KEY", help="The certificate's key (PEM)."),
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            "--tls-client-ca",
            envvar="VHHUB_TLS_CLIENT_CA",
            help="Mutual TLS: require a client certificate issued by this CA (PEM).",
        ),
    ] = None,
) -> None:
    """Serve the API with uvicorn (run `vhhub init` first)."""
    import uvicorn

    from hub.db.session import is_sqlite
    from hub.serving import TlsFiles
    from hub.setup import NotInitialised, require_initialised

    cfg = settings()
    tls: TlsFiles | None = None
    if tls_cert is not None or tls_key is not None:
        if tls_cert is None or tls_key is None:
            _usage_error("--tls-cert and --tls-key go together")
        tls = TlsFiles(tls_cert, tls_key, tls_client_ca)
        try:
            tls.check()
        except ValueError as exc:
            _usage_error(str(exc))
    elif tls_client_ca is not None:
        _usage_error("--tls-client-ca needs --tls-cert and --tls-key")
    if workers > 1 and is_sqlite(cfg.effective_database_url):
        _usage_error(
            "several workers need PostgreSQL (VHHUB_DATABASE_URL): SQLite is the "
            "single-process database"
        )
    try:
        require_initialised(cfg)
    except NotInitialised as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(1) from None
    if host is not None or port is not None or (tls is not None and cfg.public_url is None):
        # where the hub is reached follows where it listens, unless VHHUB_PUBLIC_URL says
        # otherwise: login redirects and every notification's dataref are built from it
        listen_host, listen_port = host or cfg.host, port or cfg.port
        public = cfg.public_url or f"{'https' if tls else 'http'}://{listen_host}:{listen_port}"
        cfg = cfg.model_copy(
            update={"host": listen_host, "port": listen_port, "public_url": public}
        )
        os.environ["VHHUB_PUBLIC_URL"] = public  # the workers read their settings from here
    options = {
        "host": cfg.host,
        "port": cfg.port,
        **server_options(cfg),
        **(tls.uvicorn_options() if tls is not None else {}),
    }
    if workers > 1:
        # each worker builds its app from the environment the supervisor hands down; the
        # workers' metrics meet in one directory, emptied first (prometheus-client's
        # multiprocess mode, hub.metrics)
        with _metrics_directory():
            uvicorn.run("hub.serving:app_factory", factory=True, workers=workers, **options)
        return
    from hub.app import create_app

    uvicorn.run(create_app(cfg), **options)


@app.command()
def token(
    partner: Annotated[str, typer.Option("--partner", help="Partner id (see `partners list`).")],
    user: Annotated[str, typer.Option("--user", help="Pseudonymous user id within it.")],
    role: Annotated[list[str], typer.Option("--role", help="A role to claim; repeat for several.")],
    ttl: Annotated[int, typer.Option("--ttl", help="Lifetime in seconds (max 900).")] = 300,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    cert: Annotated[
        Path | None,
        typer.Option(
            "--cert",
            help="Bind the token to this client certificate (PEM; RFC 8705, mutual TLS).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Mint a single-use bearer token with a partner's dev key (demos, curl, tests).

    Only roles the partner's kind may claim (see `partners list`); others exit 2."""
    from hub.identity.partner_keys import load_private_jwk
    from hub.identity.registry import RegistryError, load_registry
    from hub.identity.tokens import mint_token

    cfg = settings()
    try:
        registry = load_registry(cfg.network_file)
    except RegistryError as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    if partner not in registry.partners:
        typer.echo(f"vhhub: no partner {partner} in the network registry", err=True)
        raise typer.Exit(2)
    allowed = registry.allowed_roles(partner)
    refused = sorted({r for r in role if r not in allowed})
    if refused:
        typer.echo(
            f"vhhub: partner {partner} may not claim {', '.join(refused)};"
            f" its kind may claim: {', '.join(sorted(allowed)) or 'no roles'}",
            err=True,
        )
        raise typer.Exit(2)
    try:
        bound_to = None if cert is None else _certificate_thumbprint(cert)
        private_jwk = load_private_jwk(cfg, partner)
        minted = mint_token(
            partner_id=partner,
            user=user,
            roles=role,
            private_jwk=private_jwk,
            audience=cfg.audience,
            ttl_s=ttl,
            name=name,
            certificate_thumbprint=bound_to,
        )
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(minted)


def _certificate_thumbprint(path: Path) -> str:
    """`x5t#S256` of the first certificate in a PEM file (ValueError when there is none)."""
    import ssl

    from hub.identity.binding import thumbprint

    try:
        text = path.read_text("ascii")
    except (OSError, UnicodeDecodeError):
        raise ValueError("--cert: not a readable PEM file") from None
    start = text.find("-----BEGIN CERTIFICATE-----")
    end = text.find("-----END CERTIFICATE-----", start)
    if start < 0 or end < 0:
        raise ValueError("--cert: no certificate in the file")
    try:
        der = ssl.PEM_cert_to_DER_cert(text[start : end + len("-----END CERTIFICATE-----")])
    except ValueError:
        raise ValueError("--cert: no certificate in the file") from None
    return thumbprint(der)


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Play the Veiligheidshuis role play through the real API and show who sees what."""
    import json

    from hub.context import HubContext
    from hub.demo.render import render
    from hub.demo.scenario import DemoFailed, play
    from hub.setup import initialise

    cfg = Settings(log_level="WARNING")
    report = initialise(cfg)
    if not as_json:
        created = sum(1 for line in report.lines() if line.startswith("created"))
        typer.echo(f"data dir ready: {created} items created (keys, database, registry)")
    ctx = HubContext.open(cfg)
    try:
        result = play(ctx)
    except DemoFailed as exc:
        typer.echo(f"vhhub demo: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        ctx.close()
    typer.echo(json.dumps(result.to_json(), indent=2) if as_json else render(result))


@app.command("stats")
def stats(
    start: Annotated[
        str | None,
        typer.Option("--from", help="First registration day, YYYY-MM-DD (default 1 January)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last registration day, YYYY-MM-DD (default today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Management information: cases per table, phase, intake partner kind and month, outcomes
    and lead times; no case ids, counts below 5 suppressed. The read is logged."""
    import json
    from datetime import date

    from hub.cases.notices import dutch_today
    from hub.cases.statistics import InvalidPeriod, Period, read_as_operator, text_report
    from hub.console import table
    from hub.context import HubContext

    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
        if first is not None or last is not None:
            Period.of(first, last, dutch_today())
    except (ValueError, InvalidPeriod):
        typer.echo(
            "vhhub: --from and --to are days (YYYY-MM-DD), --from not after --to, "
            "at most ten years apart",
            err=True,
        )
        raise typer.Exit(2) from None
    ctx = HubContext.open(settings())
    try:
        out = read_as_operator(ctx.db.unit_of_work, ctx.log, first, last)
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(out.model_dump(mode="json"), indent=2))
    else:
        heading, sections = text_report(out)
        for line in heading:
            typer.echo(line)
        for section in sections:
            typer.echo(f"\n{section.heading}")
            table(section.columns, section.rows)


@partners_app.command("list")
def partners_list() -> None:
    """Show partners, kinds, key ids and the roles each may claim."""
    from hub.console import table
    from hub.identity.partner_keys import describe_partners

    rows = describe_partners(settings())
    table(("partner", "kind", "key ids", "roles"), rows)


#: Set to 1 to see the traceback of an unexpected error instead of its one line.
DEBUG_ENV = "VHHUB_DEBUG"


def main(args: list[str] | None = None) -> NoReturn:
    """`vhhub`: run the command and turn whatever it ends with into an exit code and at most
    one line on stderr (see the module docstring)."""
    args = sys.argv[1:] if args is None else args
    try:
        code = app(args=args, prog_name="vhhub", standalone_mode=False)
    except cli_errors.NoArgsIsHelpError as exc:
        # `vhhub` or `vhhub audit` alone: a person exploring; the help is the useful answer
        typer.echo(exc.format_message(), err=True)
        raise SystemExit(exc.exit_code) from None
    except cli_errors.UsageError as exc:
        _fail(_usage_line(exc, args), 2)
    except cli_errors.ClickException as exc:  # e.g. a file argument that cannot be opened
        _fail(_one_line(exc.format_message()), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except BrokenPipeError:
        # the reader went away (`vhhub audit verify | head -1`): nothing left to tell it
        sys.stderr.close()
        os._exit(1)
    except Exception as exc:
        reason = _not_initialised()
        if reason is not None:
            _fail(reason, 2)
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        _fail(
            f"unexpected error ({type(exc).__name__}): {_one_line(str(exc)) or 'no message'}"
            f" (set {DEBUG_ENV}=1 for the traceback)",
            1,
        )
    raise SystemExit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> NoReturn:
    """The one line: control characters from the command line or an error message (an
    escape sequence typed as a command name) are spelt out, never sent to the terminal."""
    from hub.console import visible

    typer.echo(f"vhhub: {visible(message)}", err=True)
    raise SystemExit(code) from None


def _one_line(text: str, limit: int = 300) -> str:
    """The first line of a message, cut to `limit` characters: a database error's later
    lines can quote SQL and its parameters, which do not belong in a log."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _usage_line(exc: cli_errors.UsageError, args: list[str]) -> str:
    """`audit verify: No such option: --nope (see `vhhub audit verify --help`)`."""
    message = _one_line(exc.format_message())
    path = exc.ctx.command_path if exc.ctx is not None else _command_path(args)
    sub = path.removeprefix("vhhub").strip()
    return f"{sub + ': ' if sub else ''}{message} (see `{path} --help`)"


def _command_path(args: list[str]) -> str:
    """The subcommands named at the start of `args` (for an error raised without a context,
    such as an option missing its value): `vhhub policy simulate`."""
    command: Any = typer.main.get_command(app)
    path = ["vhhub"]
    for word in args:
        if word.startswith("-"):
            continue
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


def _not_initialised() -> str | None:
    """Why the configured data dir is not ready, or None when it is (or cannot be told)."""
    from hub.setup import NotInitialised, require_initialised

    try:
        require_initialised(settings())
    except NotInitialised as exc:
        return str(exc)
    except Exception:
        return None
    return None
