"""Fail closed: when the policy cannot decide or the access log cannot be written, nothing is
disclosed, and a policy failure is itself logged.

The policy engine here is the OPA-server adapter talking to the OPA test double (the real
OPA binary cannot run in this environment; the double is backed by the embedded engine and
injects faults on request)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from hub.settings import PROJECT_ROOT, Settings
from tests.cases.test_workflow import log_rows, new_case, publish
from tests.conftest import RunningHub
from tests.rego.opa_test_double import OpaTestDouble, running_double
from tests.support import As, ok

MARKER = json.loads((PROJECT_ROOT / "schemas/examples/police.nuisance_report.1.json").read_text())


@pytest.fixture
def opa() -> Iterator[OpaTestDouble]:
    with running_double() as double:
        yield double


@pytest.fixture
def opa_hub(opa: OpaTestDouble, db_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    from hub.setup import initialise

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        policy_engine="opa",
        opa_url=opa.url,
        policy_timeout_s=0.3,
        # the tests compare every table before and after a refused request: the deliverer,
        # fanning out earlier changes' outbox rows meanwhile, would change them (ADR 0019)
        notification_deliverer=False,
    )
    initialise(settings)
    with RunningHub(settings) as hub:
        yield hub


@pytest.mark.parametrize(
    "fault",
    ["http_500", "garbage", "slow", "drop_fact", "bad_level", "foreign_field", "wrong_revision"],
)
def test_a_failing_policy_engine_denies_the_briefing_and_is_logged(
    fault: str, opa: OpaTestDouble, opa_hub: RunningHub
) -> None:
    with opa_hub.client() as http:
        case = new_case(http, opa_hub.settings)
        publish(http, opa_hub.settings, case["id"], "politie", "police.nuisance_report/1", "k")
        housing = As(
            http, opa_hub.settings, "woningcorporatie", "w-1", ["participant"], "preparation"
        )
        assert ok(housing.get(f"/api/v1/cases/{case['id']}/briefing"))["domains"]
        opa.fault = fault
        response = housing.get(f"/api/v1/cases/{case['id']}/briefing")
        opa.fault = None
    assert response.status_code == 503
    assert response.json()["type"].endswith("/policy-error")
    for value in MARKER.values():
        if isinstance(value, str) and len(value) > 6:
            assert value not in response.text
    errors = log_rows(opa_hub.settings, action="policy.error")
    assert errors and errors[-1].outcome == "error"
    assert errors[-1].actor_partner == "woningcorporatie"


def test_no_disclosure_without_a_durable_log_entry(http: httpx.Client, hub: RunningHub) -> None:
    """If the briefing's log entry cannot be written, the briefing is not sent."""
    case = new_case(http, hub.settings)
    publish(http, hub.settings, case["id"], "politie", "police.nuisance_report/1", "k")
    engine = create_engine(hub.settings.effective_database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_briefing_log BEFORE INSERT ON access_log "
                    "WHEN NEW.action = 'briefing.read' BEGIN SELECT RAISE(ABORT, 'log down'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_briefing_log() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.action = 'briefing.read' THEN RAISE EXCEPTION 'log down'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_briefing_log BEFORE INSERT ON access_log "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_briefing_log()"
                )
            )
    try:
        housing = As(http, hub.settings, "woningcorporatie", "w-1", ["participant"], "preparation")
        response = housing.get(f"/api/v1/cases/{case['id']}/briefing")
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")
        for value in MARKER.values():
            if isinstance(value, str) and len(value) > 6:
                assert value not in response.text
    finally:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "DROP TRIGGER refuse_briefing_log"
                    + ("" if engine.dialect.name == "sqlite" else " ON access_log")
                )
            )
            if engine.dialect.name != "sqlite":
                conn.execute(text("DROP FUNCTION refuse_briefing_log()"))
        engine.dispose()
