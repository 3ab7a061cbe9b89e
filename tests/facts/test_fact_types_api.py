"""The fact types as a partner reads them over HTTP, and the RFC 6750 challenge of the API.

`GET /api/v1/fact-types` and `GET /api/v1/fact-types/{name}/{version}` answer the catalog's
JSON Schemas with their annotations and who may publish each type in which phases (from the
policy version the hub serves); every authentication failure answers a `WWW-Authenticate:
Bearer` challenge (with `error="invalid_token"` when a token was sent), the reason in the
access log only.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.facts.catalog import FactTypeCatalog
from tests.cases.test_workflow import actor, log_rows
from tests.conftest import RunningHub
from tests.support import ok, token_for

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
PUBLISHING = Path(__file__).resolve().parents[2] / "policies" / "data" / "publishing.json"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Free what a test left in reference cycles (contexts, reviewed versions holding
    embedded engines) here: a regorus engine may not be dropped on a server thread."""
    yield
    gc.collect()


def test_the_list_names_every_type_with_its_annotations_and_schema_url(
    http: httpx.Client, hub: RunningHub
) -> None:
    reader = actor(http, hub.settings, "woningcorporatie", "preparation", ["participant"])
    listed = ok(reader.get("/api/v1/fact-types"))
    catalog = FactTypeCatalog.load(SCHEMAS)
    assert [t["id"] for t in listed["fact_types"]] == list(catalog.ids())
    assert len(listed["policy_version"]) == 64
    by_id = {t["id"]: t for t in listed["fact_types"]}

    incident = by_id["police.incident/1"]
    assert incident["name"] == "police.incident" and incident["version"] == 1
    assert incident["life_domain"] == "safety" and incident["sensitivity"] == "criminal"
    assert incident["publisher_kinds"] == ["police"] and incident["any_partner_kind"] is False
    assert incident["phases"] == ["intake", "preparation", "case_conference", "plan", "execution"]
    assert incident["schema_url"] == "/api/v1/fact-types/police.incident/1"

    signal = by_id["network.involvement_signal/1"]
    assert signal["any_partner_kind"] is True

    # every listed schema URL answers that type
    for fact_type in listed["fact_types"]:
        detail = ok(reader.get(fact_type["schema_url"]))
        assert detail["id"] == fact_type["id"]


def test_a_type_answers_its_schema_field_annotations_and_publishers(
    http: httpx.Client, hub: RunningHub
) -> None:
    reader = actor(http, hub.settings, "politie", "intake", ["publisher"])
    detail = ok(reader.get("/api/v1/fact-types/police.incident/1"))

    # the JSON Schema exactly as the hub validates publishes against it, annotations included
    on_disk = json.loads((SCHEMAS / "police.incident.1.json").read_text(encoding="utf-8"))
    assert detail["schema"] == on_disk
    assert detail["schema"]["properties"]["incident_category"]["x-disclosure"] == "summary"

    fields = {f["name"]: f for f in detail["fields"]}
    assert list(fields) == list(on_disk["properties"])
    assert fields["incident_category"] == {
        "name": "incident_category",
        "title": "Soort incident",
        "life_domain": "safety",
        "sensitivity": "criminal",
        "disclosure": "summary",
        "required": True,
        "reveals": "offence_category",
        "never_shared": False,
    }
    assert fields["registration_reference"]["disclosure"] == "never"
    assert fields["registration_reference"]["never_shared"] is True
    assert fields["substance_use_involved"]["sensitivity"] == "special"
    assert fields["substance_use_involved"]["life_domain"] == "addiction"
    assert detail["headline_field"] == "incident_category"
    assert detail["date_field"] == "incident_date"

    # who may publish it: the policy's publishing matrix, with the registry's partners
    matrix = json.loads(PUBLISHING.read_text(encoding="utf-8"))["by_table"]
    expected_tables = sorted(
        t for t, kinds in matrix.items() if "police.incident/1" in kinds.get("police", {})
    )
    rules = detail["publishing"]
    assert sorted(r["table"] for r in rules) == expected_tables
    assert {r["partner_kind"] for r in rules} == {"police"}
    assert all(r["partners"] == ["politie"] for r in rules)
    youth = next(r for r in rules if r["table"] == "youth")
    assert youth["phases"] == ["intake", "preparation", "case_conference", "plan", "execution"]


def test_a_type_any_partner_kind_may_publish_says_so(http: httpx.Client, hub: RunningHub) -> None:
    reader = actor(http, hub.settings, "gemeente-wi", "preparation", ["participant"])
    detail = ok(reader.get("/api/v1/fact-types/network.involvement_signal/1"))
    generic = [r for r in detail["publishing"] if r["partner_kind"] is None]
    assert generic == [
        {
            "table": None,
            "partner_kind": None,
            "partners": [],
            "phases": [
                "intake",
                "screening",
                "preparation",
                "case_conference",
                "plan",
                "execution",
            ],
        }
    ]


def test_an_unknown_or_malformed_type_is_refused_as_problem_json(
    http: httpx.Client, hub: RunningHub
) -> None:
    reader = actor(http, hub.settings, "politie", "preparation", ["publisher"])
    for path in ("/api/v1/fact-types/police.incident/2", "/api/v1/fact-types/police.nothing/1"):
        response = reader.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    # a name that cannot be a type's: invalid input (400), never echoed back
    marker = "Jansen.bsn999999990"
    response = reader.get(f"/api/v1/fact-types/{marker}/1")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert marker not in response.text and "999999990" not in response.text
    assert reader.get("/api/v1/fact-types/police.incident/0").status_code == 400


def test_reading_the_contract_is_not_an_access_log_entry(
    http: httpx.Client, hub: RunningHub
) -> None:
    reader = actor(http, hub.settings, "politie", "preparation", ["publisher"])
    before = len(log_rows(hub.settings))
    ok(reader.get("/api/v1/fact-types"))
    ok(reader.get("/api/v1/fact-types/police.incident/1"))
    assert len(log_rows(hub.settings)) == before


def test_the_openapi_document_has_the_fact_type_operations(http: httpx.Client) -> None:
    document = ok(http.get("/api/v1/openapi.json"))
    paths = document["paths"]
    listing = paths["/api/v1/fact-types"]["get"]
    detail = paths["/api/v1/fact-types/{name}/{version}"]["get"]
    for operation in (listing, detail):
        assert operation["summary"] and operation["description"]
        assert "200" in operation["responses"]
    # the statuses every authenticated operation shares are added document-wide (hub.openapi)
    assert "application/problem+json" in detail["responses"]["404"]["content"]
    names = {p["name"] for p in detail.get("parameters", []) if "name" in p}
    assert {"name", "version"} <= names


def test_who_may_publish_follows_the_policy_version_the_hub_serves(
    hub: RunningHub, http: httpx.Client, tmp_path: Path
) -> None:
    """The publishing rules are the active version's: once privacy officers of two key
    partners activate a version in which the police no longer publish incidents at the
    adults table in execution, the fact type says so, under the new version."""
    from tests.policy_review.conftest import (
        DIFF_TIMEOUT,
        approval,
        bundle_of,
        officer,
        policy_copy,
        upload,
    )

    reader = actor(http, hub.settings, "politie", "preparation", ["publisher"])
    before = ok(reader.get("/api/v1/fact-types/police.incident/1"))
    adults = next(r for r in before["publishing"] if r["table"] == "adults")
    assert "execution" in adults["phases"]

    candidate = policy_copy(tmp_path, "candidate")
    path = candidate / "data" / "publishing.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["by_table"]["adults"]["police"]["police.incident/1"]["execution"]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    loaded = ok(upload(officer(http, hub.settings, "fg-gemeente"), bundle_of(candidate)), 201)
    version = str(loaded["version"])
    leerplicht = officer(http, hub.settings, "fg-leerplicht")
    diff = leerplicht.get(f"/api/v1/policies/active/diff/{version}", timeout=DIFF_TIMEOUT)
    digest = ok(diff)["digest"]
    ok(approval(officer(http, hub.settings, "fg-politie"), version, digest), 201)
    done = ok(approval(officer(http, hub.settings, "fg-ggz"), version, digest), 201)
    assert done["activated"] is True

    after = ok(reader.get("/api/v1/fact-types/police.incident/1"))
    assert after["policy_version"] == version != before["policy_version"]
    adults = next(r for r in after["publishing"] if r["table"] == "adults")
    assert adults["phases"] == ["intake", "preparation", "case_conference", "plan"]
    listed = ok(reader.get("/api/v1/fact-types"))
    assert listed["policy_version"] == version


# -- RFC 6750: the bearer challenge ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/fact-types", "/api/v1/cases/c-unknown"])
def test_no_token_gets_the_challenge_without_an_error_code(
    http: httpx.Client, hub: RunningHub, path: str
) -> None:
    for headers in (
        {"Purpose": "preparation"},
        {"Purpose": "preparation", "Authorization": "Basic cG9saXRpZTpzZWNyZXQ="},
    ):
        response = http.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.headers["www-authenticate"] == 'Bearer realm="vhhub"'
    # the first refusal from a source is logged one by one, the rest counted (ADR 0404)
    reasons = [row.reason for row in log_rows(hub.settings, action="auth.failure")]
    assert reasons[0] == "token:missing_bearer"


def test_a_refused_token_gets_invalid_token_and_the_reason_stays_in_the_log(
    http: httpx.Client, hub: RunningHub
) -> None:
    expired = token_for(hub.settings, "politie", "p-1", ["publisher"], now=1_000_000_000, ttl_s=60)
    answers = []
    for token in (expired, "not.a.jwt"):
        response = http.get(
            "/api/v1/fact-types",
            headers={"Authorization": f"Bearer {token}", "Purpose": "preparation"},
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="vhhub", error="invalid_token"'
        body = response.json()
        assert body["type"].endswith("/unauthenticated")
        answers.append(response.text)
    assert answers[0] == answers[1], "the answer tells which check failed"
    assert "expired" not in answers[0]
    # the first refusal from a source is logged one by one, the rest counted (ADR 0404)
    reasons = [row.reason for row in log_rows(hub.settings, action="auth.failure")]
    assert reasons[0] == "token:expired"
