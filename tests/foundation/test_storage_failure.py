"""When the database cannot be written, nothing leaves without its access-log entry (issue 15).

A hub serves real HTTP while four clients keep fetching briefings and publishing facts. Mid
run, with requests in flight, the database turns read-only (or full); later it recovers.
Every answer that disclosed or changed something must have its access-log entry, matched by
request id; every refusal must be a 503 problem+json, never a 500; the log verifies after.

How the database fails: as root, file modes do not stop SQLite, and an immutable file under
its shared-memory map crashes the process. So the failure is switched on where SQLite and
PostgreSQL enforce it themselves, on every connection the hub checks out of its pool from
that moment: ``PRAGMA query_only`` (SQLite answers SQLITE_READONLY, as for a read-only
file), ``PRAGMA max_page_count`` clamped to the current size (SQLITE_FULL, as for a full
disk), ``default_transaction_read_only`` (PostgreSQL's 25006, as on a standby after
fail-over).
Transactions already running finish as they would; every later statement meets the failure.

Also here: SQLite commits are durable (synchronous=FULL, ADR 0010).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, event, text

from hub.db.errors import StorageUnavailable, storage_failure_code
from hub.db.session import Database
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.disclosure.scenario import World, case_in_preparation, example, released
from tests.support import As

THREADS = 4
#: answers each client must get before the failure, during it, and after recovery
PER_PHASE = 3
DEADLINE_S = 60.0


# -- durability --------------------------------------------------------------------------------


def test_a_new_sqlite_connection_commits_with_synchronous_full(tmp_path: Any) -> None:
    """FULL (2) syncs the WAL at every commit: a disclosure answered after its commit keeps
    its log entry through a power loss. NORMAL (1) did not (ADR 0010)."""
    db = Database(f"sqlite+pysqlite:///{tmp_path / 'durable.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        db.dispose()


# -- the failure switch --------------------------------------------------------------------------


class StorageFailure:
    """Turns the hub's database read-only or full for every connection checked out from now
    on, and back."""

    def __init__(self, engine: Engine, mode: str) -> None:
        self.engine = engine
        self.mode = mode
        self.on = False
        event.listen(engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if self.engine.dialect.name == "postgresql":
                # for the session, so that a statement in autocommit (the replay store's
                # claim, `Database.statement`) meets it too; committed at once, so the
                # connection is idle again when the hub takes it
                setting = "on" if self.on else "off"
                cursor.execute(f"SET default_transaction_read_only = {setting}")
                dbapi_connection.commit()
            elif self.mode == "read-only":
                cursor.execute(f"PRAGMA query_only={1 if self.on else 0}")
            else:  # disk-full: clamped to the database's current size, no page may be added
                cursor.execute(f"PRAGMA max_page_count={1 if self.on else 1_073_741_823}")
        finally:
            cursor.close()

    def remove(self) -> None:
        event.remove(self.engine, "checkout", self._on_checkout)


# -- the clients -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    kind: str  # "briefing" or "publish"
    phase: str  # what the switch said when the request was sent: "before", "failing", "after"
    sent: float  # time.monotonic() when the request was sent ...
    done: float  # ... and when its answer was complete
    status: int
    content_type: str
    request_id: str
    body: Any


class Clients:
    """Threads that each alternate briefings and publishes until told to stop."""

    def __init__(self, running: RunningHub, world: World) -> None:
        self.running = running
        self.world = world
        self.phase = "before"
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(THREADS)
        ]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, index: int) -> None:
        settings = self.world.settings
        with self.running.client() as http:
            reader = As(
                http, settings, "woningcorporatie", f"w-{index}", ["participant"], "preparation"
            )
            police = As(
                http,
                settings,
                "politie",
                f"agent-{index}",
                ["publisher", "participant"],
                "preparation",
            )
            n = 0
            while not self._stop.is_set():
                n += 1
                phase = self.phase
                sent = time.monotonic()
                try:
                    if n % 2:
                        response = reader.get(f"/api/v1/cases/{self.world.case_id}/briefing")
                        kind = "briefing"
                    else:
                        body = {
                            "idempotency_key": f"t{index}-{n}",
                            "type": "police.incident/1",
                            "subject_id": self.world.subject_id,
                            "legal_basis": "wpg_art_19",
                            "content": example("police.incident.1"),
                        }
                        response = police.post(
                            f"/api/v1/cases/{self.world.case_id}/facts", json=body
                        )
                        kind = "publish"
                    answer = Answer(
                        kind,
                        phase,
                        sent,
                        time.monotonic(),
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.headers.get("x-request-id", ""),
                        _json(response),
                    )
                except BaseException as exc:  # reported by the test, never swallowed
                    with self._lock:
                        self.errors.append(exc)
                    return
                with self._lock:
                    self.answers.append(answer)

    def wait_for(self, what: str, done: Callable[[list[Answer]], bool]) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            with self._lock:
                answers = list(self.answers)
            if self.errors:
                raise AssertionError(f"a client failed: {self.errors[0]!r}")
            if done(answers):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {len(answers)} answers")
            time.sleep(0.01)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _count(answers: list[Answer], phase: str, ok: bool | None = None) -> int:
    return sum(1 for a in answers if a.phase == phase and (ok is None or (a.status < 300) == ok))


# -- the test --------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["read-only", "disk-full"])
def test_no_answer_leaves_without_its_log_entry_when_the_database_fails_under_load(
    initialised: Settings, mode: str
) -> None:
    if mode == "disk-full" and not initialised.effective_database_url.startswith("sqlite"):
        pytest.skip("a full disk is simulated on SQLite; PostgreSQL runs the read-only case")
    with RunningHub(initialised) as running, running.client() as http:
        world = case_in_preparation(http, initialised)
        world.publish_incident("seed-incident")
        world.publish_arrears("seed-arrears")
        ctx = running.context
        failure = StorageFailure(ctx.db.engine, mode)
        try:
            with Clients(running, world) as clients:
                clients.wait_for(
                    "answers before the failure",
                    lambda a: _count(a, "before", ok=True) >= THREADS * PER_PHASE,
                )
                failure_began = time.monotonic()
                failure.on = True  # with requests in flight
                clients.phase = "failing"
                clients.wait_for(
                    "refusals while failing",
                    lambda a: _count(a, "failing", ok=False) >= THREADS * PER_PHASE,
                )
                clients.phase = "after"
                failure_ended = time.monotonic()
                failure.on = False
                clients.wait_for(
                    "answers after recovery",
                    lambda a: _count(a, "after", ok=True) >= THREADS * PER_PHASE,
                )
            answers = list(clients.answers)
            assert not clients.errors, clients.errors
        finally:
            failure.remove()
        report = ctx.audit.verify_live()
    assert report.ok, report.problem

    # every refusal is a 503 problem+json saying why; nothing else went wrong
    statuses = {a.status for a in answers}
    assert statuses <= {200, 201, 503}, sorted(statuses)
    refused = [a for a in answers if a.status == 503]
    assert refused, "the database never failed"
    for a in refused:
        assert a.content_type.startswith("application/problem+json"), a
        assert a.body["type"].endswith("/storage-unavailable"), a.body
        assert a.body["status"] == 503
    # the failure really held: a request sent after it began and answered before it ended
    # was refused (only requests in flight at either switch could go either way) -- on a
    # read-only database; a full one still takes what fits in its free pages
    inside = [a for a in answers if failure_began < a.sent and a.done < failure_ended]
    assert len(inside) >= THREADS, len(inside)
    if mode == "read-only":
        assert all(a.status == 503 for a in inside), [(a.kind, a.status) for a in inside]

    # every answer that disclosed or changed something has its entry, by request id
    logged = _entries_by_request(initialised)
    unlogged = []
    for a in answers:
        if a.status >= 300:
            continue
        entries = logged.get(a.request_id, [])
        if a.kind == "briefing":
            shown = set(released(a.body))
            match = [
                e
                for e in entries
                if e["action"] == "briefing.read" and shown <= set(e["disclosed"])
            ]
        else:
            fact_id = a.body["facts"][0]["id"]
            match = [
                e for e in entries if e["action"] == "fact.publish" and fact_id in e["object_ids"]
            ]
        if not match:
            unlogged.append(a)
    served = sum(1 for a in answers if a.status < 300)
    assert served >= 2 * THREADS * PER_PHASE
    assert unlogged == [], f"{len(unlogged)} of {served} answers left unlogged"


def _entries_by_request(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    import json

    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT request_id, action, outcome, object_ids, disclosed FROM access_log "
                    "WHERE request_id IS NOT NULL"
                )
            ).mappings()
            out: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                entry = dict(row)
                for key in ("object_ids", "disclosed"):
                    if isinstance(entry[key], str):
                        entry[key] = json.loads(entry[key])
                out.setdefault(entry["request_id"], []).append(entry)
            return out
    finally:
        engine.dispose()


# -- the translation itself ------------------------------------------------------------------------


def test_storage_failures_are_told_apart_from_bugs(tmp_path: Any) -> None:
    """A read-only or full database is a 503; a missing table or a broken constraint stays
    what it is (a bug or a conflict the caller handles)."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError, OperationalError

    def wrapped(exc: Exception, cls: type[Exception] = OperationalError) -> Exception:
        return cls("statement", {}, exc)  # type: ignore[call-arg]

    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    readonly.sqlite_errorcode = 8  # type: ignore[attr-defined]
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]
    missing = sqlite3.OperationalError("no such table: x")
    missing.sqlite_errorcode = 1  # type: ignore[attr-defined]
    assert storage_failure_code(wrapped(readonly)) == "sqlite:8"
    assert storage_failure_code(wrapped(full)) == "sqlite:13"
    assert storage_failure_code(wrapped(missing)) is None
    unique = sqlite3.IntegrityError("UNIQUE constraint failed")
    unique.sqlite_errorcode = 2067  # type: ignore[attr-defined]
    assert storage_failure_code(wrapped(unique, IntegrityError)) is None
    assert storage_failure_code(ValueError("x")) is None

    db = Database(f"sqlite+pysqlite:///{tmp_path / 'ro.db'}")
    try:
        with db.transaction() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        failure = StorageFailure(db.engine, "read-only")
        failure.on = True
        with pytest.raises(StorageUnavailable) as raised, db.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert raised.value.status == 503
        failure.on = False
        with db.transaction() as session:  # recovered: the pool's connections work again
            session.execute(text("INSERT INTO t VALUES (2)"))
            assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
        with pytest.raises(OperationalError), db.transaction() as session:
            session.execute(text("SELECT * FROM no_such_table"))
        failure.remove()
    finally:
        db.dispose()


def test_the_handler_for_driver_errors_outside_a_unit_of_work() -> None:
    """`storage_error_handler`, which hub/http.py registers against `DBAPIError`: a storage
    failure is a 503 problem+json that does not quote the driver's message; any other driver
    error is raised on, to the one error path (tests/foundation/test_edge_errors.py)."""
    import asyncio
    import json
    import sqlite3

    from sqlalchemy.exc import IntegrityError, OperationalError
    from starlette.requests import Request

    from hub.db.errors import storage_error_handler

    full = sqlite3.OperationalError("database or disk is full: secret-value")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]
    clash = sqlite3.IntegrityError("UNIQUE constraint failed: secret-value")
    clash.sqlite_errorcode = 2067  # type: ignore[attr-defined]
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    response = asyncio.run(storage_error_handler(request, OperationalError("INSERT", {}, full)))
    body = json.loads(bytes(response.body))
    assert response.status_code == 503 and body["status"] == 503
    assert response.media_type == "application/problem+json"
    assert body["type"].endswith("/storage-unavailable")
    assert "secret-value" not in bytes(response.body).decode()
    with pytest.raises(IntegrityError):
        asyncio.run(storage_error_handler(request, IntegrityError("INSERT", {}, clash)))
