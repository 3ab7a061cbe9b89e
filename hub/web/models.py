"""The web application's own rows: sessions, logins under way, and when a person last saw a
case (ADR 0015).

A session row is found by the SHA-256 of the cookie's random token, never by the token
itself: a copy of the database does not hold a usable cookie. Nothing here is content of a
case; a visit row is the time one person last opened one case page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime


class WebSession(Base):
    """One logged-in person in one browser: who, how, and until when."""

    __tablename__ = "web_sessions"

    #: SHA-256 (hex) of the random token in the session cookie
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner: Mapped[str] = mapped_column(String(64))
    user: Mapped[str] = mapped_column(String(128))
    #: the roles the login granted (kind rules applied), comma-separated
    roles: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    #: oidc | demo
    method: Mapped[str] = mapped_column(String(8))
    #: the synchroniser token every form and htmx request of this session must carry
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the absolute end, whatever the activity
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PendingLogin(Base):
    """An OpenID Connect login between the redirect to the IdP and its callback."""

    __tablename__ = "web_pending_logins"

    #: SHA-256 (hex) of the random token in the login cookie
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    #: the id of the session the browser had when the login started (the callback, a
    #: cross-site redirect, carries no session cookie): ended when the login succeeds
    replaces: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CaseVisit(Base):
    """When one person last opened one case page: what is new since then is marked."""

    __tablename__ = "web_case_visits"

    partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the visit before `seen_at`: what a reload shortly after a visit compares with
    previous_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
