"""Server-side web sessions: who is logged in, until when, and the CSRF token of each session
(ADR 0015).

The browser holds only a random token in an HttpOnly, Secure, SameSite=Strict cookie; the
database holds its SHA-256, who the person is, the roles the login granted and two ends: an
idle end (no request for `web_session_idle_s`) and an absolute end (`web_session_absolute_s`
after login, however active). A login always makes a new token (rotation): whatever token
the browser had before is ended, so a token planted before login (session fixation) is
worth nothing after it. Logins, logouts and expiries are access-log entries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.audit.entry import Action, Outcome
from hub.audit.log import AccessLog, Actor, Event, RequestInfo
from hub.db.base import utcnow
from hub.db.session import Database
from hub.identity.registry import NetworkRegistry
from hub.vocabulary import PartnerKind, Role
from hub.web.models import CaseVisit, PendingLogin, WebSession

#: how long an OpenID Connect login may take between the redirect and the callback
LOGIN_TTL: Final = timedelta(minutes=10)
#: a session's last-seen time is written at most this often (not on every request)
TOUCH_EVERY: Final = timedelta(seconds=30)
#: expired rows removed per login, so housekeeping never makes one login slow
SWEEP_LIMIT: Final = 100
_TOKEN_BYTES: Final = 32


def new_token() -> str:
    """A random, URL-safe token for a cookie (256 bits)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def token_id(token: str) -> str:
    """What the database keeps of a cookie token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    """Compare two tokens in constant time; a missing one never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@dataclass(frozen=True)
class Principal:
    """A logged-in person: their partner, user id and the roles the login granted."""

    partner: str
    partner_kind: PartnerKind
    user: str
    roles: frozenset[Role]
    display_name: str | None
    #: oidc | demo
    method: str

    @property
    def actor(self) -> Actor:
        return Actor(
            partner=self.partner,
            partner_kind=self.partner_kind,
            user=self.user,
            roles=tuple(sorted(self.roles)),
        )


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginUnderWay:
    """An OpenID Connect login between the redirect and the callback (single use)."""

    partner: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: datetime
    #: the id of the session the browser had when the login started, ended at the callback
    replaces: str | None = None


class SessionStore:
    def __init__(
        self,
        db: Database,
        log: AccessLog,
        registry: NetworkRegistry,
        *,
        idle_s: int,
        absolute_s: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._log = log
        self._registry = registry
        self.idle = timedelta(seconds=idle_s)
        self.absolute = timedelta(seconds=absolute_s)
        self._clock = clock

    # -- sessions ---------------------------------------------------------------------------

    def start(
        self,
        principal: Principal,
        request: RequestInfo,
        *,
        replaces: str | None = None,
        replaces_id: str | None = None,
    ) -> tuple[str, ActiveSession]:
        """Log the person in: a new token, a `session.start` entry. The session the browser
        had is ended with a `session.end` entry (reason `login`): `replaces` is the cookie
        token sent with this request, `replaces_id` the session id a login under way
        remembered at its start (the OIDC callback is cross-site and carries no cookie)."""
        now = self._clock()
        token = new_token()
        csrf = new_token()
        row = WebSession(
            id=token_id(token),
            partner=principal.partner,
            user=principal.user,
            roles=",".join(sorted(principal.roles)),
            display_name=principal.display_name,
            method=principal.method,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.absolute,
        )
        with self._db.transaction() as session:
            ended = {token_id(replaces)} if replaces and len(replaces) <= 128 else set()
            if replaces_id:
                ended.add(replaces_id)
            for old_id in sorted(ended):
                self._end(session, old_id, request, reason="login")
            self._sweep(session, now)
            session.add(row)
            self._log.append(
                session,
                Event(
                    action=Action.SESSION_START, outcome=Outcome.ALLOWED, reason=principal.method
                ),
                actor=principal.actor,
                request=request,
            )
        return token, ActiveSession(principal, csrf, row.expires_at)

    def find(self, token: str | None, request: RequestInfo) -> ActiveSession | None:
        """The live session of a cookie token, or None (unknown, ended or expired). An
        expired session is removed and its end logged.

        Most requests only read (a snapshot, no write lock); a write happens when the
        session must end or its last-seen time is older than TOUCH_EVERY."""
        if not token or len(token) > 128:
            return None
        now = self._clock()
        with self._db.snapshot() as snapshot:
            seen = snapshot.get(WebSession, token_id(token))
            if seen is None:
                return None
            principal = self._principal(seen)
            live = (
                principal is not None
                and now < seen.expires_at
                and now - seen.last_seen_at < TOUCH_EVERY
            )
            if live and principal is not None:
                return ActiveSession(principal, seen.csrf_token, seen.expires_at)
        with self._db.transaction() as session:
            row = session.get(WebSession, token_id(token))
            if row is None:
                return None
            principal = self._principal(row)
            if principal is None:  # the partner left the network, or its kind changed
                session.delete(row)
                return None
            ended = (
                "absolute"
                if now >= row.expires_at
                else "idle"
                if now - row.last_seen_at >= self.idle
                else None
            )
            if ended:
                session.delete(row)
                self._log.append(
                    session,
                    Event(action=Action.SESSION_END, outcome=Outcome.ALLOWED, reason=ended),
                    actor=principal.actor,
                    request=request,
                )
                return None
            row.last_seen_at = now
            return ActiveSession(principal, row.csrf_token, row.expires_at)

    def end(self, token: str | None, request: RequestInfo) -> None:
        """Log out: the session row goes, and the logout is logged."""
        if not token:
            return
        with self._db.transaction() as session:
            self._end(session, token_id(token), request, reason="logout")

    def _end(self, session: Session, session_id: str, request: RequestInfo, *, reason: str) -> None:
        """The session row goes, and its end is logged as its person's act (`reason`:
        logout, or login when a new login replaces it)."""
        row = session.get(WebSession, session_id)
        if row is None:
            return
        principal = self._principal(row)
        session.delete(row)
        if principal is not None:
            self._log.append(
                session,
                Event(action=Action.SESSION_END, outcome=Outcome.ALLOWED, reason=reason),
                actor=principal.actor,
                request=request,
            )

    def _principal(self, row: WebSession) -> Principal | None:
        spec = self._registry.partners.get(row.partner)
        if spec is None:
            return None
        allowed = self._registry.allowed_roles(row.partner)
        roles = frozenset(Role(r) for r in row.roles.split(",") if r) & allowed
        if not roles:
            return None
        return Principal(
            partner=row.partner,
            partner_kind=PartnerKind(spec.kind),
            user=row.user,
            roles=roles,
            display_name=row.display_name,
            method=row.method,
        )

    def _sweep(self, session: Session, now: datetime) -> None:
        """Remove a bounded number of expired sessions and stale logins."""
        stale = session.scalars(
            select(WebSession.id).where(WebSession.expires_at <= now).limit(SWEEP_LIMIT)
        ).all()
        if stale:
            session.execute(delete(WebSession).where(WebSession.id.in_(stale)))
        session.execute(delete(PendingLogin).where(PendingLogin.created_at <= now - LOGIN_TTL))

    # -- OpenID Connect logins under way ----------------------------------------------------

    def begin_login(
        self,
        *,
        partner: str,
        state: str,
        nonce: str,
        code_verifier: str,
        redirect_uri: str,
        current: str | None = None,
    ) -> str:
        """Keep what the callback must check; answers the token for the login cookie.
        `current` is the session cookie this (same-site) request carried: if it is a live
        session, its id is kept with the login, and the callback ends that session."""
        token = new_token()
        now = self._clock()
        with self._db.transaction() as session:
            session.execute(delete(PendingLogin).where(PendingLogin.created_at <= now - LOGIN_TTL))
            replaces = None
            if current and len(current) <= 128:
                known = session.get(WebSession, token_id(current))
                replaces = known.id if known is not None else None
            session.add(
                PendingLogin(
                    id=token_id(token),
                    partner=partner,
                    state=state,
                    nonce=nonce,
                    code_verifier=code_verifier,
                    redirect_uri=redirect_uri,
                    replaces=replaces,
                    created_at=now,
                )
            )
        return token

    def take_login(self, token: str | None) -> LoginUnderWay | None:
        """The login of a cookie token, removed as it is read (a callback works once); None
        when unknown or older than LOGIN_TTL."""
        if not token or len(token) > 128:
            return None
        now = self._clock()
        with self._db.transaction() as session:
            row = session.get(PendingLogin, token_id(token))
            if row is None:
                return None
            session.delete(row)
            if now - row.created_at > LOGIN_TTL:
                return None
            return LoginUnderWay(
                partner=row.partner,
                state=row.state,
                nonce=row.nonce,
                code_verifier=row.code_verifier,
                redirect_uri=row.redirect_uri,
                created_at=row.created_at,
                replaces=row.replaces,
            )

    # -- what is new since the last visit ---------------------------------------------------

    def visit(self, principal: Principal, case_id: str) -> datetime | None:
        """Record a visit of a case page now; answers when the previous one was (None: the
        first visit). Views within TOUCH_EVERY of the recorded visit count as that visit
        (a reload does not make what was new look seen), and cost no write."""
        now = self._clock()
        with self._db.snapshot() as snapshot:
            seen = snapshot.get(CaseVisit, (principal.partner, principal.user, case_id))
            if seen is not None and now - seen.seen_at < TOUCH_EVERY:
                return seen.previous_seen_at
        with self._db.transaction() as session:
            row = session.get(CaseVisit, (principal.partner, principal.user, case_id))
            if row is None:
                session.add(
                    CaseVisit(
                        partner=principal.partner, user=principal.user, case_id=case_id, seen_at=now
                    )
                )
                return None
            previous = row.seen_at
            row.previous_seen_at, row.seen_at = previous, now
            return previous
