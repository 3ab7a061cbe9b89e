"""When the database cannot be written, the hub refuses with a 503 -- never a 500, never an
answer without its access-log entry.

Every act commits its access-log entry in the unit of work before the answer leaves
(ADR 0003). When the database is full, read-only, locked for too long or gone, that commit
(or an earlier statement) fails, the transaction rolls back, and nothing is disclosed or
changed. The driver's error is then translated here into `StorageUnavailable`, a `HubError`
that every layer already answers as problem+json -- the routes, and the authentication
middleware, which writes the token replay store before any route runs. What is a storage
failure is decided by the database's own error code, not by the exception class: SQLite
raises `OperationalError` for a missing table as well, which is a bug (a 500), not an outage.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.errors import PROBLEM_JSON, HubError
from hub.logging import get_logger

__all__ = [
    "StorageUnavailable",
    "is_storage_failure",
    "storage_error_handler",
    "storage_failure_code",
]

log = get_logger("hub.db")

#: SQLite primary result codes (https://sqlite.org/rescode.html) that mean the database
#: cannot be written or reached now: PERM, BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL,
#: CANTOPEN, PROTOCOL, NOTADB. SQLITE_ERROR (a bad statement, a missing table) is not one.
_SQLITE_STORAGE_CODES: Final = frozenset({3, 5, 6, 8, 10, 11, 13, 14, 15, 26})
#: PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk
#: full, out of memory, too many connections), 57 operator intervention (shutdown, crash
#: recovery, a cancelled statement), 58 system error (I/O).
_PG_STORAGE_CLASSES: Final = frozenset({"08", "53", "57", "58"})
#: ... and single states: 25006 read-only transaction (a standby after fail-over,
#: `default_transaction_read_only`), 42501 insufficient privilege (the hub's grants revoked).
_PG_STORAGE_STATES: Final = frozenset({"25006", "42501"})


class StorageUnavailable(HubError):
    """The database cannot be written (or reached): the request was rolled back."""

    status = 503
    slug = "storage-unavailable"
    title = "Storage unavailable"
    default_detail = (
        "The hub cannot write to its database, and so not to its access log: nothing was "
        "disclosed and the request's changes were rolled back. Try again later."
    )


def storage_failure_code(exc: BaseException) -> str | None:
    """The database's code for a storage failure (``sqlite:13``, ``pg:25006``, ``pool``,
    ``connection``), or None when `exc` is not one. Codes only: never a message, which may
    quote SQL or values.

    The exception's context counts too: cleaning up after a storage failure fails in its own
    way -- SQLite rolls the whole transaction back on SQLITE_FULL, so the ROLLBACK TO
    SAVEPOINT that follows raises "no such savepoint" (SQLITE_ERROR), which alone would
    look like a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        code = _own_code(current)
        if code is not None:
            return code
        current = current.__cause__ or current.__context__
    return None


def _own_code(exc: BaseException) -> str | None:
    if isinstance(exc, sa_exc.TimeoutError):
        return "pool"  # no connection within the pool timeout: the database is not answering
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        primary = sqlite_code & 0xFF  # extended codes carry the primary one in the low byte
        return f"sqlite:{primary}" if primary in _SQLITE_STORAGE_CODES else None
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        if sqlstate in _PG_STORAGE_STATES or sqlstate[:2] in _PG_STORAGE_CLASSES:
            return f"pg:{sqlstate}"
        return None
    if exc.connection_invalidated or isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError
    ):
        return "connection"  # no code at all: the driver lost or never got a connection
    return None


def is_storage_failure(exc: BaseException) -> bool:
    return storage_failure_code(exc) is not None


def as_storage_unavailable(exc: BaseException) -> StorageUnavailable | None:
    """The refusal to raise instead of `exc`, logged by its code; None if `exc` is no
    storage failure (a bug, a constraint: left as it is)."""
    code = storage_failure_code(exc)
    if code is None:
        return None
    log.warning("storage_unavailable", error_type=type(exc).__name__, code=code)
    return StorageUnavailable()


async def storage_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """For `app.add_exception_handler(sqlalchemy.exc.DBAPIError, ...)`: a driver error that
    escaped every unit of work (a read outside one). A storage failure is a 503; any other
    database error is a bug and is raised on, to the app's one error path (the request
    context middleware answers the 500 with the request id and logs it without values)."""
    refusal = as_storage_unavailable(exc)
    if refusal is None:
        raise exc
    body = refusal.to_problem()
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON)
