"""A hub process keeps its database connections for reuse (ADR 0020, section 19).

SQLAlchemy's default pool keeps five connections and closes every one past them as soon as it
is returned. On PostgreSQL each connection is a server process: a process serving eight
requests at once started and ended backends for most of them, each warming its caches again,
and their work went uncounted. `VHHUB_DATABASE_POOL_SIZE` (default 20) keeps them: once a
process has served as many requests at once as it serves again, it opens no new connection.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import event

from tests.conftest import RunningHub
from tests.support import token_for

#: requests at once: what a process of the mixed-load bench serves (16 clients, 2 processes)
AT_ONCE = 8


def _audit_query(hub: RunningHub) -> int:
    """One request that authenticates (a replay claim), reads and logs (a unit of work)."""
    token = token_for(hub.settings, "zvh", "aud-1", ["auditor"])
    with httpx.Client(base_url=hub.base_url, timeout=60) as client:
        response = client.get(
            "/api/v1/audit/entries",
            params={"limit": 5},
            headers={"Authorization": f"Bearer {token}", "Purpose": "audit"},
        )
    return response.status_code


def _at_once(hub: RunningHub) -> list[int]:
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(lambda _: _audit_query(hub), range(4 * AT_ONCE)))


def test_requests_at_once_reuse_the_connections_the_process_keeps(hub: RunningHub) -> None:
    engine = hub.context.db.engine
    opened: list[Any] = []
    closed: list[Any] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    event.listen(engine, "close", lambda *_: closed.append(1))
    for _ in range(4):
        assert _at_once(hub) == [200] * 4 * AT_ONCE
    assert not closed, f"{len(closed)} of {len(opened)} connections closed after one use"
    assert 1 <= len(opened) <= hub.settings.database_pool_size
