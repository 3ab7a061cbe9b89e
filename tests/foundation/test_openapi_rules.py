"""The NL API Design Rules (ADR 2.2) that a linter checks, encoded as tests of the served
document (issue 20, item 1).

The rules' own Spectral ruleset (the ADR linter, `linter.yaml` of the standard) is published
only on Logius' site, not in a package registry (npm has Spectral, not the ruleset), so CI
cannot install it; each test below names the rule it encodes (`/core/...`, and the linter's
rule id where it has one). Spectral itself does install from npm: its own OpenAPI ruleset
(`spectral:oas`, the validity rules the ADR linter builds on) runs on the document with no
error or warning. The document is fetched over real HTTP from a running hub, as a partner
fetches it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hub import __version__
from hub.errors import PROBLEM_JSON
from hub.facts.catalog import FactTypeCatalog
from hub.openapi import fact_type_component
from hub.settings import Settings
from hub.setup import initialise
from hub.vocabulary import Purpose
from tests import conftest
from tests.support import token_for

PREFIX = "/api/v1"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PUBLIC = {f"{PREFIX}/health", f"{PREFIX}/ready"}
#: singular path segments: singleton sub-resources (a case has one briefing, one plan), and
#: the fixed names of views and formats; every other literal segment names a collection and
#: is a plural noun (`/core/naming-resources`)
SINGLETONS = frozenset(
    {
        "api",
        "v1",
        "me",
        "health",
        "ready",
        "caseload",
        "statistics",
        "procesregie",
        "triage",
        "casusregisseur",
        "closure",
        "agenda",
        "coordination",
        "withdrawal",
        "briefing",
        "updates",
        "plan",
        "audit",
        "latest",
        "status",
        "export",
        "consistency-proof",
        "inclusion-proof",
        "html",
        "pdf",
        "calendar.ics",
        "attendance",
        "minutes",
        "diff",
        "matrix",
        "bundle",
        "history",
        "partner-log",
    }
)
#: query parameters from before these rules were applied, kept so no partner breaks: the
#: rule `nlgov:query-keys-camel-case` holds for every parameter added since
LEGACY_QUERY_NAMES = frozenset({"case_id", "overdue_only", "tree_size"})
#: Spectral from npm, pinned: a linter is part of the build, and a new release may change
#: what it reports
SPECTRAL = "@stoplight/spectral-cli@6.16.3"
#: media types of opaque binaries, which have no printable example
BINARY = frozenset({"application/pdf", "application/gzip", "application/octet-stream"})
#: the uploads that answer 422 for a bundle that is parsed but cannot be used
BUNDLE_UPLOADS = {("post", f"{PREFIX}/policies"), ("post", f"{PREFIX}/policies/suites")}
#: the one 5xx answer that is not a problem: readiness answers its checks with 503
READINESS = (f"{PREFIX}/ready", "get", "503")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[conftest.RunningHub]:
    root: Path = tmp_path_factory.mktemp("openapi")
    database = conftest.TestDatabase(root)
    settings = Settings(data_dir=root / "data", database_url=database.fresh(root))
    initialise(settings)
    with conftest.RunningHub(settings) as hub:
        yield hub
    database.close()


@pytest.fixture(scope="module")
def document(served: conftest.RunningHub) -> dict[str, Any]:
    with served.client() as http:
        response = http.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema of the document, its `$ref`s resolved in the document."""
    root = {"components": document.get("components", {}), "$ref": "#/x-schema", "x-schema": schema}
    return Draft202012Validator(root)


# -- /core/doc-openapi, /core/publish-openapi -------------------------------------------------


def test_the_document_is_published_without_a_token_as_openapi_3(
    document: dict[str, Any],
) -> None:
    """/core/publish-openapi, /core/doc-openapi (`nlgov:openapi3`, `nlgov:openapi-root-exists`,
    `nlgov:semver`, `info-contact`, `nlgov:info-contact-fields-exist`)."""
    assert re.fullmatch(r"3(\.\d+){1,2}", document["openapi"])
    assert document["info"]["version"] == __version__
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", __version__)
    assert {"email", "name", "url"} <= set(document["info"]["contact"])
    assert document["info"].get("description")
    assert document.get("servers"), "oas3-api-servers"


def test_every_operation_has_a_summary_and_a_description_saying_who_may_call_it(
    document: dict[str, Any],
) -> None:
    """/core/doc-openapi: a partner learns what an operation does, who may call it (role and
    purpose) and what is logged, from the document alone."""
    missing = [
        f"{method.upper()} {path}"
        for path, method, op in operations(document)
        if not op.get("summary") or len(op.get("description", "")) < 40
    ]
    assert not missing, f"without summary or description: {missing}"


def test_every_operation_has_an_example_request_and_answer_that_fit_the_document(
    document: dict[str, Any],
) -> None:
    """/core/doc-openapi: an example of each request (its parameters and body) and of each
    successful answer, and every example is valid against its own schema."""
    problems: list[str] = []
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        for parameter in op.get("parameters", []):
            parameter = resolve(document, parameter)
            if "example" not in parameter:
                problems.append(f"{where}: parameter {parameter['name']} has no example")
            elif validator(document, parameter["schema"]).is_valid(parameter["example"]) is False:
                problems.append(f"{where}: parameter {parameter['name']}'s example is invalid")
        bodies = [("request", op.get("requestBody", {})), *op["responses"].items()]
        answered = False
        for code, body in bodies:
            for media, content in resolve(document, body).get("content", {}).items():
                if "example" not in content:
                    # an opaque binary (a PDF, a policy bundle) has no example to print
                    if media not in BINARY:
                        problems.append(f"{where}: {code} {media} has no example")
                    continue
                answered = answered or code != "request"
                schema = content.get("schema")
                if schema and "json" in media:
                    errors = sorted(
                        validator(document, schema).iter_errors(content["example"]), key=str
                    )
                    if errors:
                        problems.append(f"{where}: {code} example invalid: {errors[0].message}")
        if not answered:
            problems.append(f"{where}: no example answer")
    assert not problems, "\n".join(problems)


# -- /core/uri-version, /core/no-trailing-slash, /core/naming-resources, /core/http-methods --


def test_every_path_carries_the_major_version(document: dict[str, Any]) -> None:
    """/core/uri-version (`nlgov:include-major-version-in-uri`: here in the paths, the server
    is the hub's root)."""
    assert all(path.startswith(PREFIX + "/") for path in document["paths"])


def test_no_path_ends_with_a_slash(document: dict[str, Any]) -> None:
    """/core/no-trailing-slash (`nlgov:paths-no-trailing-slash`)."""
    assert not [path for path in document["paths"] if path.endswith("/")]


def test_paths_are_kebab_case_and_collections_plural(document: dict[str, Any]) -> None:
    """/core/naming-resources (`nlgov:paths-kebab-case`; collections are plural nouns)."""
    kebab = re.compile(r"^(/([a-z0-9\-]+|\{[^}]+\})(/([a-z0-9\-.]+|\{[^}]+\}))*)$")
    wrong = [path for path in document["paths"] if not kebab.match(path)]
    assert not wrong, f"not kebab-case: {wrong}"
    singular = sorted(
        {
            segment
            for path in document["paths"]
            for segment in path.strip("/").split("/")
            if not segment.startswith("{")
            and not segment.endswith("s")
            and segment not in SINGLETONS
        }
    )
    assert not singular, f"collections must be plural nouns: {singular}"


def test_only_standard_methods(document: dict[str, Any]) -> None:
    """/core/http-methods (`nlgov:http-methods`)."""
    for item in document["paths"].values():
        assert set(item) <= {"get", "post", "put", "patch", "delete", "parameters"}


def test_new_query_parameters_are_lower_camel_case(document: dict[str, Any]) -> None:
    """`nlgov:query-keys-camel-case` (/core/naming-...): every query parameter is lower
    camelCase, except the ones partners already use (LEGACY_QUERY_NAMES, kept as they are)."""
    camel = re.compile(r"^\$?[a-z][a-z\d]*([A-Z][a-z\d]*)*$")
    wrong = sorted(
        {
            p["name"]
            for _, _, op in operations(document)
            for p in (resolve(document, q) for q in op.get("parameters", []))
            if p["in"] == "query" and not camel.match(p["name"])
        }
        - LEGACY_QUERY_NAMES
    )
    assert not wrong, f"query parameters not lowerCamelCase: {wrong}"


def test_schema_names_are_upper_camel_case(document: dict[str, Any]) -> None:
    """`nlgov:schema-camel-case`."""
    wrong = [
        name
        for name in document["components"]["schemas"]
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)
    ]
    assert not wrong, f"schema names not UpperCamelCase: {wrong}"


def test_dates_have_the_date_format(document: dict[str, Any]) -> None:
    """`nlgov:specify-format-for-date-and-time`, `nlgov:use-date-instead-of-datetime`,
    `nlgov:date-time-ensure-timezone`, `nlgov:time-without-timezone`."""
    wrong: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict):
                    fmt = sub.get("format")
                    if fmt in {"date-time-local", "time"}:
                        wrong.append(f"{where}.{name}: {fmt}")
                    if name in {"date", "datum"} or re.search(r"(\wD|_[dD])(ate|atum)$", name):
                        formats = {fmt} | {
                            o.get("format") for o in sub.get("anyOf", []) if isinstance(o, dict)
                        }
                        if "date" not in formats:
                            wrong.append(f"{where}.{name}: format {sorted(map(str, formats))}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(document["components"], "components")
    assert not wrong, wrong


# -- security and purpose ---------------------------------------------------------------------


def test_every_operation_but_the_public_ones_requires_the_bearer_token_and_a_purpose(
    document: dict[str, Any],
) -> None:
    """The bearer-token security scheme and the `Purpose` header with its values."""
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for path, method, op in operations(document):
        parameters = [resolve(document, p) for p in op.get("parameters", [])]
        purposes = [p for p in parameters if p["in"] == "header" and p["name"] == "Purpose"]
        assert not [p for p in parameters if p["name"].lower() == "authorization"]
        if path in PUBLIC:
            assert op["security"] == [] and not purposes, (method, path)
            continue
        assert op["security"] == [{"bearerAuth": []}], (method, path)
        assert len(purposes) == 1 and purposes[0]["required"] is True, (method, path)
        assert purposes[0]["schema"]["enum"] == [p.value for p in Purpose]
        assert op["responses"]["401"]["headers"]["WWW-Authenticate"]


# -- /core/error-handling/problem-details, /core/error-handling/invalid-input -----------------


def test_every_error_answer_is_problem_json_with_status_title_and_detail(
    document: dict[str, Any],
) -> None:
    """/core/error-handling/problem-details (`nlgov:use-problem-schema`,
    `nlgov:problem-schema-members`): RFC 9457 for every 4xx and 5xx."""
    problem = document["components"]["schemas"]["Problem"]
    assert {"status", "title", "detail", "type"} <= set(problem["properties"])
    wrong: list[str] = []
    for path, method, op in operations(document):
        for code, response in op["responses"].items():
            if code[0] in "45" and (path, method, code) != READINESS:
                content = resolve(document, response).get("content", {})
                schema = resolve(document, content.get(PROBLEM_JSON, {}).get("schema"))
                if set(content) != {PROBLEM_JSON} or schema is not problem:
                    wrong.append(f"{method.upper()} {path} {code}")
    assert not wrong, wrong


def test_every_operation_declares_the_statuses_any_request_can_meet(
    document: dict[str, Any],
) -> None:
    """/core/error-handling/invalid-input (`nlgov:problem-invalid-input`): 400 for invalid
    input on every operation that takes any; never FastAPI's 422. And the statuses every
    authenticated request can meet: 401, 403, 429 (with Retry-After), 503."""
    for path, method, op in operations(document):
        responses = op["responses"]
        # 422 only where an upload is parsed but cannot be used (a policy bundle)
        assert "422" not in responses or (method, path) in BUNDLE_UPLOADS, (method, path)
        assert {"413", "431", "500"} <= set(responses), (method, path)
        if path not in PUBLIC:
            assert {"400", "401", "403", "429", "503"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
        elif op.get("parameters") or op.get("requestBody"):
            assert "400" in responses, (method, path)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas


def test_every_answer_declares_the_api_version_header(document: dict[str, Any]) -> None:
    """/core/version-header (`nlgov:missing-version-header`, `nlgov:missing-header`)."""
    for path, method, op in operations(document):
        for code, response in op["responses"].items():
            assert "API-Version" in resolve(document, response).get("headers", {}), (
                method,
                path,
                code,
            )


# -- the fact types ---------------------------------------------------------------------------


def test_fact_content_points_at_every_fact_type_of_the_catalog(document: dict[str, Any]) -> None:
    """`FactIn.content` is no open object: it is one of the catalog's fact types, each a
    component schema with the annotations the policy decides on."""
    catalog = FactTypeCatalog.load(Settings().schema_dir)
    schemas = document["components"]["schemas"]
    expected = {fact_type_component(t.id) for t in catalog.types()}
    for model in ("FactIn", "CorrectionIn"):
        content = schemas[model]["properties"]["content"]
        assert {ref["$ref"].rsplit("/", 1)[1] for ref in content["anyOf"]} == expected
    for fact_type in catalog.types():
        component = schemas[fact_type_component(fact_type.id)]
        assert component["x-fact-type"] == fact_type.id
        assert component["properties"] == fact_type.schema["properties"]
    # the publish example's content is a fact of the type it names, as the hub checks it
    example = schemas["FactIn"]["examples"][0]
    catalog.get(example["type"]).validate(example["content"])


def test_the_document_lists_no_operation_twice_and_every_operation_has_an_id(
    document: dict[str, Any],
) -> None:
    """/core/doc-openapi: operation ids are unique (client generators name methods by them)."""
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))


# -- the refusals before any route: what the fuzz test (valid tokens) does not send ----------


def _as_declared(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer is one the document declares: its status, media type, body and headers."""
    declared = resolve(
        document, document["paths"][path][method]["responses"][str(response.status_code)]
    )
    content = declared["content"]
    media = response.headers["content-type"].split(";")[0]
    assert media in content, (response.status_code, media)
    errors = list(validator(document, content[media]["schema"]).iter_errors(response.json()))
    assert not errors, errors
    for name, header in declared.get("headers", {}).items():
        if resolve(document, header).get("required"):
            assert response.headers.get(name), (response.status_code, name)


def test_refusals_before_the_route_are_the_declared_problems(
    document: dict[str, Any], served: conftest.RunningHub
) -> None:
    """401 without a token or with a bad one (with `WWW-Authenticate`), 400 for a missing or
    unknown `Purpose`: each as the document declares it for the operation."""
    token = token_for(served.settings, "politie", "agent-1", ["publisher", "participant"])
    path = f"{PREFIX}/cases"
    with served.client() as http:
        answers = [
            http.get(path),
            http.get(path, headers={"Authorization": "Bearer not-a-token", "Purpose": "intake"}),
            http.get(path, headers={"Authorization": f"Bearer {token}"}),
        ]
    assert [a.status_code for a in answers] == [401, 401, 400]
    for answer in answers:
        _as_declared(document, path, "get", answer)
    assert all(a.headers["www-authenticate"].startswith("Bearer") for a in answers[:2])


# -- Spectral's OpenAPI rules -----------------------------------------------------------------


def test_the_document_passes_spectral_oas_without_any_finding(
    document: dict[str, Any], tmp_path: Path
) -> None:
    """/core/doc-openapi: the document is valid OpenAPI as Spectral's `spectral:oas` ruleset
    (installed from npm) checks it: no error, no warning. Skipped on a machine without npx or
    without the registry; in CI (`CI=true`) either is a failure."""
    in_ci = os.environ.get("CI") == "true"
    npx = shutil.which("npx")
    if npx is None:
        if in_ci:
            pytest.fail("npx is missing: CI must lint the OpenAPI document with Spectral")
        pytest.skip("npx is missing")
    served = tmp_path / "openapi.json"
    served.write_text(json.dumps(document), encoding="utf-8")
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n', encoding="utf-8")
    run = subprocess.run(
        [
            npx,
            "--yes",
            SPECTRAL,
            "lint",
            "--ruleset",
            str(ruleset),
            "--format",
            "json",
            "--quiet",
            "--fail-severity",
            "hint",
            str(served),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    try:
        findings = json.loads(run.stdout or "null")
    except json.JSONDecodeError:
        findings = None
    if not isinstance(findings, list):
        message = f"Spectral did not run (exit {run.returncode}): {run.stderr[-500:]}"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    assert findings == [], [(f["code"], ".".join(map(str, f["path"]))) for f in findings[:20]]
