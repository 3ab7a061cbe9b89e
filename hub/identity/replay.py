"""The token replay store in the database (RFC 8725: a jti is accepted once).

In the database, not in process memory, so a token replayed against another replica or
after a restart is still refused. Claims commit on their own, before the request's work: a
token is used up even when the request it carried fails later. A claim is one INSERT that
commits by itself (`Database.statement`: on PostgreSQL one round trip, no ORM unit of work;
ADR 0020): whichever of two concurrent uses inserts second gets the unique violation.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from hub.db.session import Database
from hub.identity.models import UsedToken

#: Expired entries are kept this long past `exp`, beyond the verifier's clock-skew leeway.
PURGE_GRACE_S = 120
PURGE_EVERY_S = 60

_CLAIM = insert(UsedToken)


class DatabaseReplayGuard:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def claim(self, issuer: str, jti: str, expires_at: int) -> bool:
        """Record (issuer, jti); False when it was recorded before (a replay)."""
        self._maybe_purge()
        try:
            with self._db.statement() as connection:
                connection.execute(_CLAIM, {"issuer": issuer, "jti": jti, "expires_at": expires_at})
        except IntegrityError:
            return False
        return True

    def purge_expired(self, *, now: float | None = None) -> int:
        cutoff = int(now if now is not None else time.time()) - PURGE_GRACE_S
        with self._db.transaction() as session:
            result = session.execute(delete(UsedToken).where(UsedToken.expires_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = now
        self.purge_expired()
