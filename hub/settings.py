"""All configuration in one place (environment prefix ``VHHUB_``).

The embedded default needs nothing set: data in ./.vhhub (SQLite, generated dev keys), the
embedded Rego engine, the policies and schemas of this repository.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.db.session import sqlite_url

#: The repository root, where policies/, schemas/ and network/ ship.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VHHUB_", extra="ignore", frozen=True)

    data_dir: Path = Field(default=Path(".vhhub"), description="Data directory (db, dev keys).")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    audience: str = Field(default="vhhub", description="The `aud` every token must carry.")
    network_file: Path = PROJECT_ROOT / "network" / "demo.toml"
    policy_dir: Path = PROJECT_ROOT / "policies"
    schema_dir: Path = PROJECT_ROOT / "schemas"
    policy_engine: Literal["embedded", "opa"] = "embedded"
    opa_url: str | None = None
    policy_timeout_s: float = 2.0
    key_provider: Literal["file", "env"] = "file"
    log_origin: str = "vhhub.local/access-log"
    log_key_name: str = "vhhub.local"
    checkpoint_every: int = Field(default=256, ge=1)
    checkpoint_interval_s: int = Field(default=60, ge=1)
    retention_closed_days: int = Field(default=730, ge=1, description="After closing (ADR 0006).")
    retention_rejected_days: int = Field(default=28, ge=1, description="After a rejected triage.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    log_level: str = "INFO"

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir.resolve() / "vhhub.db")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def partner_keys_dir(self) -> Path:
        return self.keys_dir / "partners"
