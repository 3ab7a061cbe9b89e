"""All configuration in one place (environment prefix ``VHHUB_``).

The embedded default needs nothing set: data in ./.vhhub (SQLite, generated dev keys), the
embedded Rego engine, the policies and schemas of this repository.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork
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
    log_origin: str = Field(
        default="vhhub.local/access-log",
        description="The access log's identity in every checkpoint, and the checkpoint "
        "signer's key name (C2SP tlog-checkpoint); VHHUB_LOG_KEY_NAME is no longer read.",
    )
    checkpoint_every: int = Field(default=256, ge=1)
    checkpoint_interval_s: int = Field(
        default=60,
        ge=1,
        description="Sign a checkpoint at least this often; `vhhub audit verify` fails entries "
        "left uncovered for longer (plus a grace), and /audit/checkpoints/latest is never older.",
    )
    retention_closed_days: int = Field(default=730, ge=1, description="After closing (ADR 0006).")
    retention_rejected_days: int = Field(default=28, ge=1, description="After a rejected triage.")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Rate limits and refusal counting (ADR 0404): in memory, per hub process.
    rate_limit_per_source_per_minute: int = Field(
        default=6000,
        ge=0,
        description="Requests a minute one client address may send before it gets 429 "
        "(checked before authentication); 0 disables.",
    )
    rate_limit_per_partner_per_minute: int = Field(
        default=6000,
        ge=0,
        description="Requests a minute one partner's users may send together before they get "
        "429 (checked after authentication); 0 disables.",
    )
    rate_limit_burst: int = Field(
        default=0,
        ge=0,
        description="Requests that may come at once (the token bucket's size); 0 means a "
        "minute's allowance.",
    )
    refusals_logged_per_source_per_minute: int = Field(
        default=1,
        ge=0,
        description="Refused anonymous or rate-limited requests from one address in one minute "
        "that get an access-log entry each; further ones are counted and logged as one entry "
        "with a count when the minute ends.",
    )
    refusal_tracked_sources: int = Field(
        default=10_000,
        ge=1,
        description="Addresses counted separately per minute (and rate-limited separately); "
        "beyond it they share one count and one bucket.",
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Request headers larger than this in total get 431 (and the server's "
        "parser stops buffering a request head there).",
    )
    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Reverse proxies (IPs or CIDR networks) whose X-Forwarded-For is believed; "
        "from any other peer the header is ignored. JSON list in the environment.",
    )
    # The web application (ADR 0015)
    public_url: str | None = Field(
        default=None,
        description="The address people reach the hub at (https://vhhub.example.nl), for the "
        "OpenID Connect redirect and the Origin check of forms; default http://HOST:PORT.",
    )
    web_session_idle_s: int = Field(
        default=15 * 60,
        ge=60,
        description="A web session ends after this many seconds without a request.",
    )
    web_session_absolute_s: int = Field(
        default=8 * 60 * 60,
        ge=300,
        description="A web session ends this many seconds after login, however active.",
    )
    log_level: str = "INFO"

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir.resolve() / "vhhub.db")

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def partner_keys_dir(self) -> Path:
        return self.keys_dir / "partners"
