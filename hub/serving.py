"""How `vhhub serve` runs: one process or several workers, plain HTTP or TLS (ADR 0017).

Several workers are uvicorn's own multi-process mode: a supervisor binds the socket once and
starts N worker processes, each of which builds its own application with :func:`app_factory`
from the environment (the data dir and every ``VHHUB_*`` setting are inherited). Nothing a
guarantee rests on lives in a worker's memory: single use of tokens is the replay table, the
log's order is the head row's lock, the active policy is read from the database on every
request, and a checkpoint is signed under the same lock that decides whether one is due; so
N workers behave as N replicas (docs/principles.md, section 12).

TLS is uvicorn's `ssl` support, with mutual TLS when a client CA is given (the handshake fails
without a certificate the CA issued). uvicorn does not pass the client certificate to the
application, so :class:`TlsAwareH11Protocol` (uvicorn's h11 protocol, so every limit of
`server_options` still holds) adds the ASGI ``tls`` extension to each request's scope, as
the ASGI TLS extension specification describes it: ``client_cert_chain`` holds the verified
peer certificate in PEM. The certificate comes from the TLS connection only, never from a
header, so a client cannot claim one it did not present.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send
    from uvicorn.config import Config

#: ASGI TLS extension: tls_version as the TLS protocol's two-byte code
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def app_factory() -> Any:
    """The application of one worker, from this process's environment (uvicorn factory)."""
    from hub.app import create_app
    from hub.settings import Settings

    return create_app(Settings())


@dataclass(frozen=True)
class TlsFiles:
    """The server's certificate and key, and the CA of the client certificates (mutual TLS)."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    def check(self) -> None:
        """Raise ValueError when a file is missing or the pair cannot be loaded, naming the
        option (never the file's content)."""
        for option, path in (
            ("--tls-cert", self.cert),
            ("--tls-key", self.key),
            ("--tls-client-ca", self.client_ca),
        ):
            if path is not None and not path.is_file():
                raise ValueError(f"{option}: no such file")
        try:
            make_tls_context(self)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ValueError(
                f"the TLS certificate, key or client CA cannot be loaded ({type(exc).__name__})"
            ) from None

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "ssl_certfile": str(self.cert),
            "ssl_keyfile": str(self.key),
            "ssl_context_factory": tls_context_factory,
        }
        if self.client_ca is not None:
            options["ssl_ca_certs"] = str(self.client_ca)
            options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        return options


def make_tls_context(files: TlsFiles) -> ssl.SSLContext:
    """The server context: TLS 1.2 or newer; with a client CA, a certificate is required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(files.cert), str(files.key))
    if files.client_ca is not None:
        context.load_verify_locations(cafile=str(files.client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def tls_context_factory(config: Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's `ssl_context_factory`: its context, with TLS 1.2 as the floor."""
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[str, Any]:
    """The ASGI ``tls`` extension of one connection (the peer certificate as verified)."""
    der = ssl_object.getpeercert(binary_form=True)
    version = ssl_object.version()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(version or ""),
        "cipher_suite": None,
    }


class _WithTls:
    """The application, with one connection's ``tls`` extension in every request's scope."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = dict(scope.get("extensions") or {})
        extensions["tls"] = self.tls
        scope["extensions"] = extensions
        await self.app(scope, receive, send)


class TlsAwareH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, telling the application which certificate the client presented."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.app = _WithTls(self.config.loaded_app, tls_extension(ssl_object))
