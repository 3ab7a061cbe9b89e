"""Test helpers: act as a partner's user over real HTTP with freshly minted tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, event

from hub.cases.notices import dutch_today
from hub.identity.partner_keys import load_private_jwk
from hub.identity.tokens import mint_token
from hub.settings import Settings


def token_for(settings: Settings, partner: str, user: str, roles: list[str], **kw: Any) -> str:
    return mint_token(
        partner_id=partner,
        user=user,
        roles=roles,
        private_jwk=load_private_jwk(settings, partner),
        audience=settings.audience,
        **kw,
    )


@dataclass
class As:
    """One user of one partner, stating a purpose; every call carries a fresh token."""

    http: httpx.Client
    settings: Settings
    partner: str
    user: str
    roles: list[str]
    purpose: str

    def headers(self, purpose: str | None = None) -> dict[str, str]:
        token = token_for(self.settings, self.partner, self.user, self.roles)
        return {"Authorization": f"Bearer {token}", "Purpose": purpose or self.purpose}

    def get(self, path: str, *, purpose: str | None = None, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(purpose), **kw)

    def post(self, path: str, *, purpose: str | None = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers=self.headers(purpose), **kw)

    def put(self, path: str, *, purpose: str | None = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, headers=self.headers(purpose), **kw)

    def delete(self, path: str, *, purpose: str | None = None, **kw: Any) -> httpx.Response:
        return self.http.delete(path, headers=self.headers(purpose), **kw)

    def with_purpose(self, purpose: str) -> As:
        return As(self.http, self.settings, self.partner, self.user, self.roles, purpose)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def inform_all(as_: As, case_id: str, *, informed_on: str | None = None) -> list[dict[str, Any]]:
    """Record for every subject of the case that it was informed in person (an adult,
    informed itself), as `as_` (a regisseur of the case, or a member of the registering
    partner): what a case needs before it may enter the case conference (ADR 0012)."""
    day = informed_on or dutch_today().isoformat()
    subjects = ok(as_.get(f"/api/v1/cases/{case_id}/notices"))["subjects"]
    return [
        ok(
            as_.post(
                f"/api/v1/cases/{case_id}/subjects/{s['subject_id']}/notices",
                json={
                    "state": "informed",
                    "informed_on": day,
                    "channel": "in_person",
                    "informed_party": "subject",
                    "age_band": "adult",
                },
            ),
            201,
        )
        for s in subjects
    ]


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[tuple[int, str]]]:
    """Every SQL statement `engine` sends while the block runs, in order, each with the id of
    the connection that sent it (a served request and the hub's other threads share the
    engine)."""
    sent: list[tuple[int, str]] = []

    def record(conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append((id(conn), statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
