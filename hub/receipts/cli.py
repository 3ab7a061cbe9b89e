"""`vhhub receipt verify`: check a publish receipt offline (ADR 0405).

Needs nothing but the receipt, the hub's verifier key (obtained out of band, as for
`vhhub audit verify`) and, optionally, the inclusion proof the partner log handed out and
the content and salt the publisher kept. No database, no network, no settings.

Exit codes: 0 every requested check passed; 1 a check failed (the line says which); 2 an
argument is unusable (unreadable file, malformed key or JSON, --content without --salt) and
nothing was judged -- so a typo is never reported as a forged receipt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

receipt_app = typer.Typer(help="Signed publish receipts.", no_args_is_help=True)


class _Unusable(Exception):
    """An argument cannot be used; the message names the argument, never its value."""


def _text_or_file(value: str, what: str) -> str:
    """The value itself, or the contents of the file it names."""
    path = Path(value)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long for a path: the value itself
        is_file = False
    if not is_file:
        return value.strip()
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise _Unusable(f"cannot read the {what} file") from None


def _json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        raise _Unusable(f"cannot read the {what} file") from None
    except ValueError:
        raise _Unusable(f"the {what} file is not JSON") from None


@receipt_app.command("verify")
def verify(
    receipt: Annotated[str, typer.Argument(help="The receipt (compact JWS), or a file with it.")],
    public_key: Annotated[
        str,
        typer.Option(
            "--public-key",
            help="The hub's verifier key text (as /audit/checkpoints/latest gives it), or a "
            "file holding it, obtained out of band.",
        ),
    ],
    proof: Annotated[
        Path | None,
        typer.Option(
            "--proof",
            help="The answer of GET /api/v1/partner-log/entries/{seq} saved as JSON: the "
            "entry's inclusion proof and signed checkpoint.",
        ),
    ] = None,
    content: Annotated[
        Path | None,
        typer.Option("--content", help="A JSON file with the content you published."),
    ] = None,
    salt: Annotated[
        str | None,
        typer.Option("--salt", help="The receipt_salt of the publish answer (or a file)."),
    ] = None,
) -> None:
    """Check a receipt's signature and, when given, its content digest and its inclusion
    proof against a checkpoint signed by the same key. Exits 0 when every check passes, 1
    when one fails, 2 when an argument is unusable."""
    from hub.audit.checkpoints import CheckpointError, parse_verifier_key
    from hub.receipts.receipt import (
        ReceiptError,
        check_content,
        check_proof,
        read_receipt,
        salt_from_text,
    )

    try:
        if (content is None) != (salt is None):
            raise _Unusable("--content and --salt go together")
        try:
            verifier = parse_verifier_key(_text_or_file(public_key, "public key"))
        except CheckpointError:
            raise _Unusable("the public key is not a verifier key") from None
        token = _text_or_file(receipt, "receipt")
        proof_doc = _json_file(proof, "proof") if proof is not None else None
        if proof_doc is not None and not isinstance(proof_doc, dict):
            raise _Unusable("the proof file is not a JSON object")
        published = _json_file(content, "content") if content is not None else None
        salt_text = _text_or_file(salt, "salt") if salt is not None else None
    except _Unusable as exc:
        typer.echo(f"vhhub: {exc}", err=True)
        raise typer.Exit(2) from None
    checks = ["signature"]
    try:
        claims = read_receipt(token, verifier)
        if salt_text is not None:
            check_content(claims, published, salt_from_text(salt_text))
            checks.append("content digest")
        size = None
        if proof_doc is not None:
            size = check_proof(claims, proof_doc, verifier)
            checks.append("inclusion proof")
    except ReceiptError as exc:
        typer.echo(f"receipt FAILED: {exc}")
        raise typer.Exit(1) from None
    where = f"log entry {claims.seq}"
    if size is not None:
        where += f" in the signed checkpoint of size {size}"
    typer.echo(
        f"receipt OK ({', '.join(checks)}): {claims.action}, version {claims.version}, {where}"
    )
