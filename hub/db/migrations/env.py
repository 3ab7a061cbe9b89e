"""Alembic environment for vhhub.

Run through hub.db.migrate (the CLI, the tests) rather than the bare ``alembic`` command: the
caller passes the database URL and, for autogenerate, the ORM metadata.
"""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import MetaData

from hub.db.session import make_engine

config = context.config


def _target_metadata() -> MetaData | None:
    metadata = config.attributes.get("target_metadata")
    if metadata is None and context.is_offline_mode() is False:
        # Autogenerate from the command line: load the model registry by name, so this
        # infrastructure package holds no import of feature packages.
        module_name = config.get_main_option("metadata_module")
        if module_name:
            loaded: MetaData = importlib.import_module(module_name).Base.metadata
            return loaded
    return metadata if isinstance(metadata, MetaData) else None


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    render_as_batch = url.startswith("sqlite")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=_target_metadata(),
            render_as_batch=render_as_batch,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context.configure(
                connection=conn,
                target_metadata=_target_metadata(),
                render_as_batch=render_as_batch,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `vhhub init` or `vhhub migrate`")
run_migrations_online()
