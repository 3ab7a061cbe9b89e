"""Liveness and readiness.

Readiness answers whether this process can serve safely: database reachable, schema at the
migrations' head, keys loaded, policy engine loaded. Each check says only ok or not, and why
in a code, never a connection string or a path.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from hub import __version__
from hub.context import HubContext, get_context
from hub.db.migrate import is_at_head

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Check(BaseModel):
    name: str
    ok: bool
    reason: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: list[Check]


@router.get(
    "/health",
    response_model=Health,
    summary="Liveness",
    description=(
        "Liveness: answers 200 while the process serves requests. Public (no token, no "
        "`Purpose`); not logged."
    ),
)
def health() -> Health:
    return Health(status="ok", version=__version__)


def readiness_checks(ctx: HubContext) -> list[Check]:
    checks: list[Check] = []
    try:
        with ctx.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks.append(Check(name="database", ok=True))
        at_head = is_at_head(ctx.db.engine)
        checks.append(
            Check(name="migrations", ok=at_head, reason=None if at_head else "not_at_head")
        )
    except Exception as exc:
        checks.append(Check(name="database", ok=False, reason=type(exc).__name__))
    for name, probe in ctx.readiness_probes().items():
        try:
            probe()
            checks.append(Check(name=name, ok=True))
        except Exception as exc:
            checks.append(Check(name=name, ok=False, reason=type(exc).__name__))
    return checks


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness",
    description=(
        "Readiness: whether this process can serve safely (database reachable, schema at the "
        "migrations' head, keys and policy engine loaded). 503 with the same body when a "
        "check fails; each check says only ok or not and a reason code. Public; not logged."
    ),
    responses={503: {"model": Readiness}},
)
def ready(ctx: Annotated[HubContext, Depends(get_context)]) -> JSONResponse:
    checks = readiness_checks(ctx)
    ok = all(c.ok for c in checks)
    body = Readiness(status="ready" if ok else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
