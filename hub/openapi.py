"""The OpenAPI document as partners read it: exact about every answer an operation can give.

FastAPI builds the document from the routes; `install_openapi` amends it once, in one place,
with what every operation shares (NL API Design Rules, `/core/doc-openapi`):

* the `bearerAuth` security scheme (HTTP bearer, a JWT the partner signs with its own key),
  required on every operation except the public ones (health, readiness, the document and
  its viewer);
* the required `Purpose` header with its closed set of values (`hub.vocabulary.Purpose`);
* the problem+json answers (RFC 9457, `Problem`) every authenticated operation can give:
  400 (invalid input or purpose, all errors at once), 401 (with `WWW-Authenticate`),
  403, 413, 429 (with `Retry-After`), 431, 500 and 503; FastAPI's 422 is replaced by 400,
  because the hub answers invalid input with 400 (`/core/error-handling/invalid-input`);
* the headers every answer carries (`API-Version`, `/core/version-header`; `traceparent`),
  and the optional `traceparent` request header;
* one component schema per fact type (`FactTypePoliceIncident1`...), which `FactIn.content`
  points at;
* an example of every request and answer: the models' own (`json_schema_extra` examples,
  `Field(examples=...)`), else one built from the schema (tests/foundation/
  test_openapi_rules.py validates every example against its schema).

A route declares the statuses of its own (404, 409, 410...) with `problems(...)`:

    @router.get("/cases/{case_id}", responses=problems(404), ...)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

from hub.errors import PROBLEM_BASE, PROBLEM_JSON
from hub.vocabulary import Purpose

#: the component names this module adds to the document
PROBLEM: Final = "Problem"
SECURITY_SCHEME: Final = "bearerAuth"
PURPOSE_PARAMETER: Final = "Purpose"
API_VERSION_HEADER: Final = "API-Version"
TRACEPARENT: Final = "traceparent"

_REF_SCHEMAS: Final = "#/components/schemas/"
_REF_HEADERS: Final = "#/components/headers/"
_REF_PARAMETERS: Final = "#/components/parameters/"

#: what each problem status means on this API (the response's description)
STATUS_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Invalid input: the body, a parameter or the `Purpose` header does not match the "
    "document. Every error is listed at once in `errors` (a pointer and a problem each), "
    "never with the value sent.",
    401: "No valid bearer token (missing, malformed, expired, replayed or signed with an "
    "unknown key). The reason is in the hub's access log only.",
    403: "The policy does not allow this action for this viewer and purpose. The refusal is "
    "logged.",
    404: "No such resource, or it is not visible to you (the two are not told apart).",
    405: "This method is not allowed on this resource.",
    409: "The request conflicts with the current state (for example the case's phase).",
    410: "The resource no longer exists (withdrawn or erased).",
    413: "The request body exceeds the hub's limit.",
    415: "The request body's media type is not accepted.",
    422: "The upload is well-formed but cannot be used (a policy bundle that is no readable "
    "tar.gz, or does not load or compile); the detail says which, never what it held.",
    429: "Over a rate limit (per client address before authentication, per partner after "
    "it); retry after the seconds in `Retry-After`. The refusal is logged.",
    431: "The request headers exceed the hub's limit.",
    500: "An unexpected error; nothing about it is in the answer (only its type is logged).",
    503: "The hub cannot serve safely now (database, policy engine or keys unavailable); "
    "nothing was disclosed.",
}

#: the statuses every operation can answer, whoever calls it: the edge's limits and errors
EDGE_STATUSES: Final = (413, 431, 500)
#: the statuses every authenticated operation adds: input and purpose, the token, the
#: policy, the rate limits, an unavailable policy engine or database
AUTHENTICATED_STATUSES: Final = (400, 401, 403, 429, 503)

#: the headers every API answer carries (hub.http's edge)
_EVERY_ANSWER: Final = (API_VERSION_HEADER, TRACEPARENT)
#: response headers by status (names of `components/headers`)
_STATUS_HEADERS: Final[dict[int, tuple[str, ...]]] = {
    401: ("WWW-Authenticate",),
    429: ("Retry-After",),
}

#: the example problem of each status, as the hub writes it
_EXAMPLE_PROBLEMS: Final[dict[int, dict[str, Any]]] = {
    400: {
        "type": PROBLEM_BASE + "validation-failed",
        "title": "Validation failed",
        "status": 400,
        "detail": "The request does not match the expected structure; see errors.",
        "errors": [{"pointer": "body:/type", "problem": "Field required"}],
    },
    401: {
        "type": PROBLEM_BASE + "unauthenticated",
        "title": "Unauthenticated",
        "status": 401,
        "detail": "A valid bearer token is required.",
    },
    403: {
        "type": PROBLEM_BASE + "forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "The policy does not allow this action for this purpose.",
    },
    404: {
        "type": PROBLEM_BASE + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such resource, or it is not visible to you.",
    },
    409: {
        "type": PROBLEM_BASE + "conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "The request conflicts with the current state.",
    },
    429: {
        "type": PROBLEM_BASE + "too-many-requests",
        "title": "Too many requests",
        "status": 429,
        "detail": "The request rate limit was exceeded; retry after the time in Retry-After.",
    },
    503: {
        "type": PROBLEM_BASE + "policy-error",
        "title": "Policy decision unavailable",
        "status": 503,
        "detail": "The policy could not decide; nothing was disclosed.",
    },
}


def _problem_example(status: int) -> dict[str, Any]:
    known = _EXAMPLE_PROBLEMS.get(status)
    if known is not None:
        return copy.deepcopy(known)
    phrase = HTTPStatus(status).phrase
    slug = re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")
    return {
        "type": PROBLEM_BASE + slug,
        "title": phrase,
        "status": status,
        "detail": STATUS_DESCRIPTIONS.get(status, phrase).split(".")[0] + ".",
    }


def problem_response(status: int) -> dict[str, Any]:
    """One problem+json response object of the document (for `responses=`)."""
    response: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        "content": {
            PROBLEM_JSON: {
                "schema": {"$ref": _REF_SCHEMAS + PROBLEM},
                "example": _problem_example(status),
            }
        },
    }
    headers = {name: {"$ref": _REF_HEADERS + name} for name in _STATUS_HEADERS.get(status, ())}
    for name in _EVERY_ANSWER:
        headers[name] = {"$ref": _REF_HEADERS + name}
    response["headers"] = headers
    return response


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem+json answers of a route, for its decorator's `responses=`; merge with
    other responses by `{**problems(404, 409), 200: {...}}`."""
    return {status: problem_response(status) for status in statuses}


def problem_schema() -> dict[str, Any]:
    """RFC 9457 problem details, with the hub's extension for invalid input."""
    return {
        "title": "Problem",
        "description": "An error, as RFC 9457 problem details (`application/problem+json`). "
        "`type` is a stable URI per kind of problem; `detail` is written by the hub and "
        "never repeats a value that was sent.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri",
                "description": "The kind of problem, a stable URI under " + PROBLEM_BASE,
                "examples": [PROBLEM_BASE + "validation-failed"],
            },
            "title": {"type": "string", "description": "A short summary of the kind."},
            "status": {
                "type": "integer",
                "minimum": 400,
                "maximum": 599,
                "description": "The HTTP status code of this answer.",
            },
            "detail": {"type": "string", "description": "What went wrong, for a developer."},
            "instance": {"type": "string", "description": "This occurrence, if named."},
            "errors": {
                "type": "array",
                "description": "Invalid input: every error found, at once.",
                "items": {
                    "type": "object",
                    "required": ["pointer", "problem"],
                    "properties": {
                        "pointer": {
                            "type": "string",
                            "description": "Where: `body:`, `query:`, `path:` or `header:` "
                            "and a JSON pointer (a name the client chose is shown as `*`).",
                            "examples": ["body:/facts/0/content"],
                        },
                        "problem": {"type": "string", "description": "What is wrong there."},
                    },
                },
            },
        },
    }


def _purpose_parameter() -> dict[str, Any]:
    values = [p.value for p in Purpose]
    return {
        "name": "Purpose",
        "in": "header",
        "required": True,
        "description": "Why this request is made (doelbinding). The policy decides per "
        "purpose what may be done and disclosed, and the access log records it. A missing "
        "or unknown purpose answers 400.",
        "schema": {"type": "string", "enum": values},
        "example": Purpose.PREPARATION.value,
    }


def _headers() -> dict[str, Any]:
    return {
        "WWW-Authenticate": {
            "description": 'The bearer challenge (RFC 6750): `Bearer realm="vhhub"`, with '
            '`error="invalid_token"` when a token was sent but not accepted.',
            "schema": {"type": "string"},
            "example": 'Bearer realm="vhhub", error="invalid_token"',
        },
        "Retry-After": {
            "description": "Seconds to wait before the next request (RFC 9110 10.2.3).",
            "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
            "example": "30",
        },
        API_VERSION_HEADER: {
            "description": "The full version of the API that answered (`/core/version-header`).",
            "required": True,
            "schema": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
            "example": "0.1.0",
        },
        TRACEPARENT: {
            "description": "W3C Trace Context: the caller's trace id (or a new one when the "
            "request had no valid `traceparent`) and the hub's own span id for this request.",
            "required": True,
            "schema": {"type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
            "example": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        },
    }


def _traceparent_parameter() -> dict[str, Any]:
    return {
        "name": TRACEPARENT,
        "in": "header",
        "required": False,
        "description": "W3C Trace Context: the caller's trace and span, continued by the hub "
        "(the access log's request id and the answer's `traceparent` carry the trace id). An "
        "invalid value is ignored, never an error.",
        "schema": {"type": "string", "maxLength": 55},
        "example": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }


#: the operations nobody signs in for (hub.identity.middleware.PUBLIC_PATHS, under the prefix)
_PUBLIC_SUFFIXES: Final = ("/health", "/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect")
_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _is_public(path: str) -> bool:
    return path.endswith(_PUBLIC_SUFFIXES)


def _operations(document: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield path, method, operation


def _amend_operation(path: str, operation: dict[str, Any]) -> None:
    public = _is_public(path)
    parameters = [
        p
        for p in operation.get("parameters", [])
        if not (
            p.get("in") == "header"
            and str(p.get("name", "")).lower() in {"authorization", "purpose"}
        )
    ]
    if not public:
        parameters.append({"$ref": _REF_PARAMETERS + PURPOSE_PARAMETER})
        parameters.append({"$ref": _REF_PARAMETERS + TRACEPARENT})
        operation["security"] = [{SECURITY_SCHEME: []}]
    else:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)

    responses: dict[str, Any] = operation.setdefault("responses", {})
    # FastAPI's default 422: the hub answers invalid input with 400 (a route's own 422, a
    # problem, stays)
    if "HTTPValidationError" in repr(responses.get("422", {})):
        del responses["422"]
    statuses = EDGE_STATUSES + (() if public else AUTHENTICATED_STATUSES)
    for status in statuses:
        responses.setdefault(str(status), problem_response(status))
    for response in responses.values():
        headers = response.setdefault("headers", {})
        for name in _EVERY_ANSWER:
            headers.setdefault(name, {"$ref": _REF_HEADERS + name})


def _drop_unused_validation_schemas(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    text = repr(document.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and _REF_SCHEMAS + name not in text:
            del schemas[name]
    text = repr(document)
    if "ValidationError" in schemas and _REF_SCHEMAS + "ValidationError" not in text:
        del schemas["ValidationError"]


#: a value a string of this format may take, for generated examples
_FORMAT_EXAMPLES: Final[dict[str, str]] = {
    "date-time": "2026-11-30T09:15:00Z",
    "date": "2026-11-30",
    "time": "09:15:00",
    "uuid": "9b2f3c1e-0d4a-4c55-9a57-3f1f7f0e2a11",
    "uri": "https://vhhub.example/api/v1/cases",
    "email": "privacy@politie.example",
    "duration": "P1D",
    "binary": "",
}
#: strings tried, in order, for a pattern without an example of its own
_PATTERN_CANDIDATES: Final = (
    "example",
    "c-2026-0001",
    "police.incident/1",
    "9b2f3c1e-0d4a-4c55-9a57-3f1f7f0e2a11",
    "wpg_art_19",
    "2026-11",
    "2026-11-30",
    "0" * 64,
    "https://meet.example/zvh-overleg",
    "a",
    "1",
    "A",
)
#: a pattern that is a plain choice of words, `^(accept|reject)$`
_CHOICE = re.compile(r"^\^?\(([A-Za-z0-9_.|-]+)\)\$?$")
#: how deep a generated example goes into optional members
_EXAMPLE_DEPTH: Final = 6
#: example answers of media types that are no JSON
_MEDIA_EXAMPLES: Final[dict[str, str]] = {
    "text/calendar": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n...\r\nEND:VCALENDAR\r\n",
    "text/csv": "seq,time,action,outcome\r\n1,2026-11-30T09:15:00Z,fact.publish,allowed\r\n",
    "text/html": '<!doctype html><html lang="nl">...</html>',
    "application/x-ndjson": '{"seq":1,"action":"fact.publish","outcome":"allowed"}\n',
    "application/jsonl": '{"seq":1,"action":"fact.publish","outcome":"allowed"}\n',
}


def _resolve(document: dict[str, Any], schema: Any) -> Any:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        ref = str(schema["$ref"])
        if not ref.startswith("#/"):
            return {}
        node: Any = document
        for part in ref[2:].split("/"):
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"), {})
                if isinstance(node, dict)
                else {}
            )
        schema, seen = node, seen + 1
    return schema


def _string_example(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_EXAMPLES:
        return _FORMAT_EXAMPLES[fmt]
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", 10_000))
    pattern = schema.get("pattern")
    choice = _CHOICE.match(str(pattern)) if pattern is not None else None
    if choice is not None:
        return choice.group(1).split("|")[0]
    for candidate in _PATTERN_CANDIDATES:
        if not low <= len(candidate) <= high:
            continue
        if pattern is None or re.search(str(pattern), candidate):
            return candidate
    return "x" * max(1, low)


def _optional(document: dict[str, Any], schema: Any) -> bool:
    """Whether an optional member is left out of a generated example: deprecated, or one
    that may be null (absent means null)."""
    schema = _resolve(document, schema)
    if not isinstance(schema, dict) or schema.get("deprecated"):
        return True
    if "examples" in schema or "example" in schema:
        return False
    options = schema.get("anyOf", [])
    return any(isinstance(o, dict) and o.get("type") == "null" for o in options)


def example_of(document: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """An example value of a schema of the document: its own example where it has one, else
    one built from its type, format, pattern and bounds (the rules test validates each)."""
    schema = _resolve(document, schema)
    if not isinstance(schema, dict):
        return None
    for key in ("examples",):
        if isinstance(schema.get(key), list) and schema[key]:
            return copy.deepcopy(schema[key][0])
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next(
                (o for o in options if _resolve(document, o).get("type") != "null"), options[0]
            )
            return example_of(document, chosen, depth)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        return example_of(document, schema["allOf"][0], depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            if name not in required and (depth >= _EXAMPLE_DEPTH or _optional(document, sub)):
                continue
            result[name] = example_of(document, sub, depth + 1)
        return result
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        item = example_of(document, schema.get("items", {}), depth + 1)
        return [copy.deepcopy(item) for _ in range(count)]
    if kind == "string":
        return _string_example(schema)
    if kind in {"integer", "number"}:
        low = schema.get("minimum", schema.get("exclusiveMinimum")) or 0
        value = max(1, int(low) + (1 if "exclusiveMinimum" in schema else 0))
        high = schema.get("maximum")
        return min(value, int(high)) if high is not None else value
    if kind == "boolean":
        return True
    return None


def _allows_null(document: dict[str, Any], schema: Any) -> bool:
    schema = _resolve(document, schema)
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(document, o) for o in schema.get("anyOf", []) + schema.get("oneOf", []))


def restore_nulls(document: dict[str, Any], schema: Any, value: Any) -> None:
    """Put back the nulls FastAPI drops from examples: it encodes the document with
    `exclude_none`, so an example's `"field": null` vanishes, and a required nullable member
    goes missing. Only a required member whose schema allows null is put back."""
    schema = _resolve(document, schema)
    if not isinstance(schema, dict):
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            if not _allows_null(document, option):
                restore_nulls(document, option, value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if (
                name not in value
                and name in properties
                and _allows_null(document, properties[name])
            ):
                value[name] = None
        for name, member in value.items():
            if name in properties:
                restore_nulls(document, properties[name], member)
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            restore_nulls(document, schema["items"], item)


def _restore_example_nulls(document: dict[str, Any]) -> None:
    for schema in document.get("components", {}).get("schemas", {}).values():
        for example in schema.get("examples", []) if isinstance(schema, dict) else []:
            restore_nulls(document, schema, example)


def _is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _add_examples(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """An example request (parameters, body) and answer on every operation, taken from the
    models' own examples where they have them."""
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter or "example" in parameter or "examples" in parameter:
            continue
        parameter["example"] = example_of(document, parameter.get("schema", {}))
    bodies = [operation.get("requestBody", {})]
    bodies += list(operation.get("responses", {}).values())
    for body in bodies:
        for media, content in body.get("content", {}).items():
            if "example" in content or "examples" in content:
                continue
            if _is_json(media):
                content["example"] = example_of(document, content.get("schema", {}))
            elif media in _MEDIA_EXAMPLES:
                content["example"] = _MEDIA_EXAMPLES[media]


def _info(document: dict[str, Any]) -> None:
    info = document.setdefault("info", {})
    info.setdefault(
        "description",
        "The API of vhhub, the information hub of a Zorg- en Veiligheidshuis: partner "
        "applications register cases, publish facts, read briefings and updates, and audit "
        "the access log. Every request carries a bearer token the partner signs with its own "
        "key and a `Purpose`; the policy decides what is done and disclosed, and every "
        "decision is in the access log. Errors are RFC 9457 problem details.",
    )
    info.setdefault(
        "contact",
        {"name": "vhhub beheer", "email": "beheer@vhhub.example", "url": "https://vhhub.example"},
    )
    info.setdefault("license", {"name": "EUPL-1.2", "identifier": "EUPL-1.2"})
    # the paths carry the major version themselves (`/api/v1/...`, `/core/uri-version`)
    document.setdefault(
        "servers", [{"url": "/", "description": "This hub; every path begins with /api/v1."}]
    )


#: what each group of operations is for (the document's `tags`)
TAG_DESCRIPTIONS: Final[dict[str, str]] = {
    "health": "Liveness and readiness; public.",
    "identity": "Who the hub takes the caller to be.",
    "cases": "The case workflow: registration, screening, participants, phases, notices.",
    "statistics": "Management information, small counts suppressed.",
    "facts": "Publishing facts: publish, correct, withdraw.",
    "fact-types": "The contract of each fact type: its JSON Schema and annotations.",
    "briefing": "What a partner may know: the need-to-know briefing and the updates feed.",
    "audit": "The access log: queries, proofs, exports, reports and misuse signals.",
    "partner-log": "A partner's own access log (FSC logging), with inclusion proofs.",
    "plans": "The integral analysis and plan of approach, and its monitoring.",
    "meetings": "Case conferences (casusoverleg): agenda, attendance, minutes.",
    "policies": "The policy: versions, diffs, approvals and simulations.",
}


def _tags(document: dict[str, Any]) -> None:
    """Every tag an operation uses, declared once with what it groups."""
    used: list[str] = []
    for _path, _method, operation in _operations(document):
        for tag in operation.get("tags", []):
            if tag not in used:
                used.append(tag)
    document["tags"] = [
        {"name": tag, "description": TAG_DESCRIPTIONS.get(tag, tag.replace("-", " ").capitalize())}
        for tag in used
    ]


def amend(document: dict[str, Any]) -> dict[str, Any]:
    """Add what every operation shares to a FastAPI-built document (in place; returned)."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})[PROBLEM] = problem_schema()
    components.setdefault("headers", {}).update(_headers())
    components.setdefault("parameters", {})[PURPOSE_PARAMETER] = _purpose_parameter()
    components["parameters"][TRACEPARENT] = _traceparent_parameter()
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT the partner application signs with its own key (EdDSA or ES256, "
        "registered in the network file): `iss` the partner, `sub` the user, `roles`, a "
        "short `exp` and a unique `jti` (each token is used once).",
    }
    document["security"] = [{SECURITY_SCHEME: []}]
    _info(document)
    _tags(document)
    for path, _method, operation in _operations(document):
        _amend_operation(path, operation)
    _drop_unused_validation_schemas(document)
    return document


def add_examples(document: dict[str, Any]) -> None:
    """The last amender: examples where an operation has none (after the fact types, so a
    fact's content example is a real fact type's)."""
    _restore_example_nulls(document)
    for _path, _method, operation in _operations(document):
        _add_examples(document, operation)


def fact_type_components(schema_dir: Path) -> dict[str, dict[str, Any]]:
    """One component schema per fact type of the catalog in `schema_dir`, keyed
    `FactType<Namespace><Name><Version>`, with the annotations the policy decides on
    (`x-life-domain`, `x-sensitivity`, `x-disclosure` per field...). `$schema` and `$id` are
    left out: inside the document the schema's dialect and base are the document's."""
    from hub.facts.catalog import FactTypeCatalog

    found: dict[str, dict[str, Any]] = {}
    for fact_type in FactTypeCatalog.load(schema_dir).types():
        schema = {k: v for k, v in fact_type.schema.items() if k not in {"$schema", "$id"}}
        found[fact_type_component(fact_type.id)] = schema
    return found


def fact_type_component(type_id: str) -> str:
    """The component name of a fact type, UpperCamelCase as the NL API Design Rules ask
    (`police.incident/1` -> `FactTypePoliceIncident1`)."""
    return "FactType" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", type_id))


def _content_schema(names: Iterable[str]) -> dict[str, Any]:
    return {
        "title": "Content",
        "description": "The fact's content: an object that matches the JSON Schema of the fact "
        "type named in `type` (one of the `FactType*` components; served with its annotations "
        "at `GET /api/v1/fact-types/...`). Content that does not match its type answers 400 "
        "with every error.",
        "type": "object",
        "anyOf": [{"$ref": _REF_SCHEMAS + name} for name in names],
    }


#: the request models whose `content` is a fact type's content
_CONTENT_MODELS: Final = ("FactIn", "CorrectionIn")


def with_fact_types(schema_dir: Path) -> Callable[[dict[str, Any]], None]:
    """An amender that adds the fact types as components and points `content` at them."""

    def amend_fact_types(document: dict[str, Any]) -> None:
        components = fact_type_components(schema_dir)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(components)
        for model in _CONTENT_MODELS:
            properties = schemas.get(model, {}).get("properties", {})
            if "content" in properties:
                properties["content"] = _content_schema(sorted(components))

    return amend_fact_types


def install_openapi(
    app: Any,
    *,
    schema_dir: Path | None = None,
    amenders: Iterable[Callable[[dict[str, Any]], None]] = (),
) -> None:
    """Make `app.openapi()` answer the amended document (built once, then cached): the shared
    parts of `amend`, the fact types of `schema_dir` (the hub's catalog), then `amenders`."""
    build = app.openapi
    if getattr(build, "hub_amended", False):
        return
    extras = list(amenders)
    if schema_dir is not None:
        extras.insert(0, with_fact_types(schema_dir))
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not done:
            document = amend(copy.deepcopy(build()))
            for extra in extras:
                extra(document)
            add_examples(document)
            done.append(document)
            app.openapi_schema = document
        return done[0]

    openapi.hub_amended = True  # type: ignore[attr-defined]
    app.openapi = openapi
