"""Liveness, readiness and the OpenAPI document over real HTTP."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, text

from tests.conftest import RunningHub


def test_health_is_ok(http: httpx.Client) -> None:
    response = http.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_when_initialised(http: httpx.Client) -> None:
    response = http.get("/api/v1/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {c["name"] for c in body["checks"]} >= {"database", "migrations", "keys"}


def test_not_ready_when_the_schema_is_behind(hub: RunningHub) -> None:
    engine = create_engine(hub.settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'behind'"))
    engine.dispose()
    with hub.client() as http:
        response = http.get("/api/v1/ready")
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["migrations"]["ok"] is False


def test_openapi_document_is_served(http: httpx.Client) -> None:
    response = http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "vhhub"
