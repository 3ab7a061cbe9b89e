"""Run alembic programmatically: upgrade to head and report where a database stands.

The ORM metadata is handed to alembic by the caller (``target_metadata``), so this
infrastructure module never imports the feature packages that define the tables.

Where a database stands is read without alembic: a serving hub checks it at start and on
every readiness probe, and alembic with its templates is about 10 MB in every process
(ADR 0020). Only `vhhub init` and the tests load alembic, to migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Engine, MetaData, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: The newest migration's revision: what `vhhub init` upgrades to and a serving hub expects.
#: A new migration moves it (tests/foundation/test_migrations.py holds it to alembic's head).
HEAD_REVISION: Final = "0021"


def alembic_config(url: str, *, target_metadata: MetaData | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # alembic's ini interpolation would choke on '%' in passwords
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["target_metadata"] = target_metadata
    return config


def upgrade_to_head(url: str, *, engine: Engine | None = None) -> None:
    from alembic import command

    config = alembic_config(url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    else:
        command.upgrade(config, "head")


def head_revision() -> str:
    return HEAD_REVISION


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (alembic's version table), None when it has none."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        found = list(versions)
    if len(found) > 1:
        raise RuntimeError("the database records more than one schema head")
    return found[0] if found else None


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
