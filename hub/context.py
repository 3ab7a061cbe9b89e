"""The hub's wired components for one process, built once at start-up.

Services receive the pieces they need from here explicitly; nothing else holds globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from hub.crypto.keys import EnvKeyProvider, FileKeyProvider, KeyProvider
from hub.db.session import Database
from hub.identity.registry import NetworkRegistry, load_registry
from hub.settings import Settings


@dataclass
class HubContext:
    settings: Settings
    db: Database
    registry: NetworkRegistry
    keys: KeyProvider

    @classmethod
    def open(cls, settings: Settings) -> HubContext:
        return cls(
            settings=settings,
            db=Database(settings.effective_database_url),
            registry=load_registry(settings.network_file),
            keys=open_key_provider(settings),
        )

    def readiness_probes(self) -> dict[str, Callable[[], object]]:
        """Checks beyond the database; each raises when its component is not usable."""
        return {"keys": self._probe_keys}

    def _probe_keys(self) -> None:
        self.keys.current_kek_version()
        self.keys.blind_index_key()
        self.keys.audit_signing_key()

    def close(self) -> None:
        self.db.dispose()


def get_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    return ctx


def open_key_provider(settings: Settings) -> KeyProvider:
    if settings.key_provider == "env":
        return EnvKeyProvider()
    return FileKeyProvider(settings.keys_dir)
