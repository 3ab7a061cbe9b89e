"""`vhhub witness ...`: a partner cosigns the hub's access log (C2SP tlog-cosignature).

Run by a partner's operator, on the partner's own machine, with the partner's own token key:
see docs/partner-witness.md. Exit codes: 0 done; 1 a round failed (hub down, refused; try
again); 2 unusable arguments; 3 the hub showed a log inconsistent with what this witness saw
before (split view or rollback): nothing was cosigned, the evidence is in the state dir.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

witness_app = typer.Typer(help="Witness the hub's access log.", no_args_is_help=True)

State = Annotated[
    Path, typer.Option("--state", help="The witness's own state directory (key, what it saw).")
]
SPLIT_VIEW_EXIT = 3


@witness_app.command("init")
def init(
    state: State,
    name: Annotated[
        str, typer.Option("--name", help="The witness's key name, e.g. witness.politie.example")
    ],
    log_key: Annotated[
        str,
        typer.Option("--log-key", help="The hub's checkpoint verifier key, obtained out of band."),
    ],
) -> None:
    """Create the witness key and state; prints the witness key for the hub's operator."""
    from hub.audit.checkpoints import CheckpointError
    from hub.audit.witness_client import WitnessState

    try:
        witness = WitnessState.init(state, name, log_key)
    except (FileExistsError, CheckpointError) as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(witness.vkey)


@witness_app.command("public-key")
def public_key(state: State) -> None:
    """Print this witness's key (vkey) to register at the hub."""
    from hub.audit.witness_client import WitnessState

    typer.echo(WitnessState(state).vkey)


@witness_app.command("rotate-key")
def rotate_key(state: State) -> None:
    """Make a new witness key; the next `run` hands over to it (statement signed by both)."""
    from hub.audit.witness_client import WitnessError, WitnessState

    try:
        typer.echo(WitnessState(state).start_rotation())
    except WitnessError as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None


@witness_app.command("run")
def run(
    state: State,
    hub: Annotated[str, typer.Option("--hub", help="The hub's base URL, e.g. https://hub.example")],
    partner: Annotated[str, typer.Option("--partner", help="This partner's id at the hub.")],
    jwk: Annotated[
        Path, typer.Option("--jwk", help="The partner's private signing JWK (JSON file).")
    ],
    user: Annotated[str, typer.Option("--user", help="A pseudonymous id for the witness.")] = (
        "witness"
    ),
    role: Annotated[str, typer.Option("--role", help="A role the partner may claim.")] = (
        "participant"
    ),
    audience: Annotated[str, typer.Option("--audience", help="The hub's token audience.")] = (
        "vhhub"
    ),
    once: Annotated[bool, typer.Option("--once", help="One round, then stop.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between rounds.")
    ] = 60.0,
) -> None:
    """Fetch the newest checkpoint, check it extends what this witness saw, cosign it."""
    import httpx

    from hub.audit.witness_client import SplitView, Witness, WitnessError, WitnessState
    from hub.identity.tokens import mint_token

    try:
        private = json.loads(jwk.read_text("utf-8"))
        witness_state = WitnessState(state)
    except (OSError, ValueError) as exc:
        typer.echo(f"vhhub: cannot read the witness state or key: {type(exc).__name__}", err=True)
        raise typer.Exit(2) from None

    def token() -> str:
        return mint_token(
            partner_id=partner, user=user, roles=[role], private_jwk=private, audience=audience
        )

    with httpx.Client(base_url=hub, timeout=30) as http:
        witness = Witness(witness_state, http, token)
        while True:
            try:
                result = witness.round()
                typer.echo(f"cosigned {result.origin} at size {result.tree_size}")
            except SplitView as exc:
                typer.echo(f"vhhub: SPLIT VIEW: {exc} (evidence: {exc.evidence})", err=True)
                raise typer.Exit(SPLIT_VIEW_EXIT) from None
            except WitnessError as exc:
                typer.echo(f"vhhub: {exc}", err=True)
                if once:
                    raise typer.Exit(1) from None
            if once:
                return
            time.sleep(interval)
