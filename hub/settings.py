"""All configuration in one place (environment prefix ``VHHUB_``).

The embedded default needs nothing set: data in ./.vhhub (SQLite, generated dev keys), the
embedded Rego engine, the policies and schemas of this repository.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, model_validator
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
    # Requests one process works on at once (ADR 0020; anyio's thread limiter)
    worker_threads: int = Field(
        default=40,
        ge=1,
        le=1000,
        description="Threads per hub process that run requests (anyio's default is 40).",
    )
    # Connections one process keeps open (ADR 0020): enough for the requests it works on at
    # once, or every request past the pool opens and closes a PostgreSQL backend of its own
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Database connections each hub process keeps open for reuse.",
    )
    key_provider: Literal["file", "env", "pkcs11"] = "file"
    # The KEK inside a PKCS#11 token (HSM), ADR 0304 and keys/README.md
    pkcs11_module: Path | None = Field(
        default=None,
        description="The PKCS#11 library of the HSM, e.g. /usr/lib/softhsm/libsofthsm2.so.",
    )
    pkcs11_token_label: str = Field(default="vhhub", description="The token's label.")
    pkcs11_pin: SecretStr | None = Field(
        default=None, description="The token's user PIN (or VHHUB_PKCS11_PIN_FILE)."
    )
    pkcs11_pin_file: Path | None = Field(
        default=None, description="A file holding the user PIN (a mounted secret)."
    )
    pkcs11_label_prefix: str = Field(
        default="vhhub-kek-",
        description="KEK objects are labelled PREFIX<version>; PREFIXcurrent names the current.",
    )
    pkcs11_other_keys: Literal["file", "env"] = Field(
        default="file",
        description="Where the blind-index and audit signing keys come from with pkcs11.",
    )
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
    witness_min: int = Field(
        default=0,
        ge=0,
        description="Cosignatures the newest checkpoints should carry (ADR 0406); 0: no alert.",
    )
    witness_alert_after_s: int = Field(
        default=900,
        ge=1,
        description="Alert (metric vhhub_witness_quorum_alert, log witness_quorum_missing) when "
        "the log's head has lacked VHHUB_WITNESS_MIN cosignatures for longer than this.",
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
    # Misuse signals for the privacy officer (issue 18, hub/audit/signals.py)
    signal_volume_factor: float = Field(
        default=3.0,
        gt=1,
        description="A user's reads in a period are unusual at this many times the median of "
        "their own previous periods (and at least the minimum below).",
    )
    signal_volume_minimum: int = Field(
        default=20,
        ge=1,
        description="Fewer reads than this in a period are never an unusual volume.",
    )
    signal_history_periods: int = Field(
        default=8,
        ge=1,
        le=52,
        description="How many earlier periods (weeks or months) a user's volume is compared "
        "with; they also count for the tables a user works at.",
    )
    signal_timezone: str = Field(
        default="Europe/Amsterdam",
        description="The time zone of periods and office hours (public holidays are not known).",
    )
    signal_office_days: tuple[int, ...] = Field(
        default=(1, 2, 3, 4, 5),
        description="Office days, ISO numbers (1 = Monday ... 7 = Sunday). JSON list.",
    )
    signal_office_start_hour: int = Field(default=7, ge=0, le=23)
    signal_office_end_hour: int = Field(
        default=19, ge=1, le=24, description="Office hours end at this hour (exclusive)."
    )
    signal_off_hours_minimum: int = Field(
        default=1, ge=1, description="Reads outside office hours in a period that raise a signal."
    )
    signal_outside_tables_minimum: int = Field(
        default=1,
        ge=1,
        description="Reads of cases at tables the user does not work at that raise a signal.",
    )
    signal_refusals_minimum: int = Field(
        default=1, ge=1, description="Refusals of a user in a period that raise a signal."
    )
    # Notifications to partners (ADR 0019, docs/partner-notifications.md)
    notification_source: str = Field(
        default="urn:nld:vhhub.local:systeem:vhhub",
        description="The CloudEvents `source` of every notification (NL GOV profile: "
        "urn:nld:oin:<OIN>:systeem:<name>, or the hub's https URL).",
    )
    notification_deliverer: bool = Field(
        default=True,
        description="Run the notification deliverer inside each hub process (several "
        "replicas may: deliveries are claimed, never sent twice in one attempt).",
    )
    notification_poll_s: float = Field(default=2.0, gt=0, description="Deliverer's pause.")
    notification_timeout_s: float = Field(
        default=5.0, gt=0, description="A callback that has not answered by then failed."
    )
    notification_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a delivery is dead (a dead letter)."
    )
    notification_backoff_s: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles each attempt, with jitter."
    )
    notification_backoff_max_s: float = Field(
        default=900.0, gt=0, description="The longest delay between two attempts."
    )
    notification_workers: int = Field(
        default=4, ge=1, le=64, description="Callbacks called at once by one deliverer."
    )
    notification_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a finished delivery (delivered, withheld or dead) is kept, for the "
        "dead-letter list and sending it again; then the deliverer removes it, and its outbox "
        "event once no delivery of it is left.",
    )
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _office_hours_make_sense(self) -> Settings:
        """Office days are ISO weekdays and office hours end after they start: otherwise every
        read would silently count as a read outside office hours."""
        if not self.signal_office_days or not set(self.signal_office_days) <= set(range(1, 8)):
            raise ValueError("signal_office_days must hold ISO weekdays 1 (Monday) to 7")
        if self.signal_office_end_hour <= self.signal_office_start_hour:
            raise ValueError("signal_office_end_hour must be after signal_office_start_hour")
        return self

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
