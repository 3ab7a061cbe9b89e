"""Fixtures for the door's tests: an operator's HubContext beside the running hub."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hub.context import HubContext
from hub.settings import Settings


@pytest.fixture
def operator(initialised: Settings) -> Iterator[HubContext]:
    """What `vhhub keys ...` opens: its own context on the hub's data dir and database."""
    ctx = HubContext.open(initialised)
    yield ctx
    ctx.close()


@pytest.fixture(autouse=True)
def _collect_contexts_here() -> Iterator[None]:
    """Free this test's HubContexts (CLI ones included) on the main thread: the embedded
    regorus engine may not be dropped on another thread, and a context sits in reference
    cycles that a collection in a server thread would otherwise free."""
    yield
    gc.collect()
