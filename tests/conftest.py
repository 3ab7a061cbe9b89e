"""Shared fixtures: a fresh database per test on SQLite or PostgreSQL, an initialised data
dir, and a hub serving real HTTP on a free loopback port.

The backend is chosen by VHHUB_TEST_DATABASE_URL: unset means SQLite; a postgresql+psycopg URL
means that server (each test session creates its own database there and drops it after).
CI runs the whole suite once per backend.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from hub.context import HubContext
from hub.db.migrate import head_revision, upgrade_to_head
from hub.db.session import Database, sqlite_url
from hub.models import Base
from hub.settings import Settings

TEST_DB_ENV = "VHHUB_TEST_DATABASE_URL"

# A 2-core CI machine running two workers and a database: property tests are judged on their
# examples, not on wall-clock time (speed is measured in bench/, never in tests).
hypothesis_settings.register_profile("vhhub", deadline=None)
hypothesis_settings.load_profile("vhhub")


def backend_url() -> str | None:
    return os.environ.get(TEST_DB_ENV) or None


def pytest_report_header(config: pytest.Config) -> str:
    url = backend_url()
    if url is None:
        return "vhhub test database: SQLite (temporary files)"
    return f"vhhub test database: {make_url(url).render_as_string(hide_password=True)}"


@contextmanager
def empty_server_database(prefix: str) -> Iterator[URL]:
    """A new, empty database on the test server (`VHHUB_TEST_DATABASE_URL`), with a unique
    name, dropped afterwards (connections and all)."""
    server = make_url(backend_url() or "")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class TestDatabase:
    """A migrated database and how to get it back to empty between tests."""

    def __init__(self, tmp_root: Path) -> None:
        self.server_url = backend_url()
        self.tmp_root = tmp_root
        if self.server_url is None:
            self.template = tmp_root / "template.db"
            upgrade_to_head(sqlite_url(self.template))
            self.url = ""
        else:
            base = make_url(self.server_url)
            self.name = f"vhhub_t_{uuid.uuid4().hex[:10]}"
            self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = base.set(database=self.name).render_as_string(hide_password=False)
            upgrade_to_head(self.url)
            self.engine = create_engine(self.url)

    @property
    def is_postgres(self) -> bool:
        return self.server_url is not None

    def fresh(self, tmp_path: Path) -> str:
        if self.server_url is None:
            target = tmp_path / "vhhub.db"
            shutil.copyfile(self.template, target)
            return sqlite_url(target)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with self.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # the migration's seed row: the access log's head (hub.audit.log)
            conn.execute(
                text(
                    "INSERT INTO access_log_head (id, size, frontier, checkpoint_size, "
                    "checkpoint_time_us, time_us, key_version) VALUES (1, 0, '[]', 0, 0, 0, 0)"
                )
            )
            # a test may have moved the schema marker (readiness tests): put it back
            conn.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )
        return self.url

    def close(self) -> None:
        if self.server_url is not None:
            self.engine.dispose()
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    database = TestDatabase(tmp_path_factory.mktemp("db"))
    yield database
    database.close()


@pytest.fixture
def db_url(test_database: TestDatabase, tmp_path: Path) -> str:
    """The URL of an empty, migrated database for this test."""
    return test_database.fresh(tmp_path)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """The hub's `Database` (engine and units of work) on this test's empty database."""
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for a data dir of this test (not yet initialised)."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


@pytest.fixture
def initialised(settings: Settings) -> Settings:
    """A data dir after `vhhub init`: keys, migrated database, network registry."""
    from hub.setup import initialise

    initialise(settings)
    return settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RunningHub:
    def __init__(self, settings: Settings) -> None:
        from hub.app import create_app

        self.settings = settings
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningHub:
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

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def context(self) -> HubContext:
        """What the serving app runs on (its database, gate and log), for a test that looks
        behind the HTTP answers; it exists once the hub has started."""
        context: HubContext = self.server.config.app.state.hub
        return context


@pytest.fixture
def hub(initialised: Settings) -> Iterator[RunningHub]:
    """A hub serving real HTTP on a free loopback port, on this test's database."""
    with RunningHub(initialised) as running:
        yield running


@pytest.fixture
def http(hub: RunningHub) -> Iterator[httpx.Client]:
    with hub.client() as client:
        yield client
