"""The hub as `vhhub serve` runs it (uvicorn with `hub.cli.server_options`), on a socket the
test chooses: IPv4, IPv6, or a dual-stack socket whose IPv4 peers appear as ::ffff:a.b.c.d.

Only a real server and a real socket give a request the client address, proxy handling and
header parsing that production has; the ASGI test client fakes all three.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from hub.settings import Settings


def serve_options(settings: Settings) -> dict[str, Any]:
    """What `vhhub serve` passes to uvicorn besides app, host and port."""
    import hub.cli

    options = getattr(hub.cli, "server_options", None)
    if options is None:  # before the options had a name: what `serve` passed inline
        return {"log_config": None, "access_log": False, "server_header": False}
    return dict(options(settings))


def ipv4_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def ipv6_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::1", 0))
    return sock


def mapped_socket() -> socket.socket:
    """An IPv6 socket that takes IPv4 connections to 127.0.0.1 only: its peers have
    IPv4-mapped addresses (::ffff:127.0.0.1), as on a dual-stack server listening on ::."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::ffff:127.0.0.1", 0))
    return sock


class EdgeServer:
    """`app` served by uvicorn in a thread on `sock`, configured as `vhhub serve` does."""

    def __init__(self, app: FastAPI, settings: Settings, sock: socket.socket) -> None:
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        host = "[::1]" if sock.getsockname()[0] == "::1" else "127.0.0.1"
        self.base_url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, lifespan="on", **serve_options(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> EdgeServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("hub did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)
