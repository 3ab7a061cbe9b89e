"""The fact-type catalog: which facts partners may publish, and how each field may travel.

A fact type is a JSON Schema (draft 2020-12) in ``schemas/``, one file per type and version
(``police.incident.1.json``). Besides the shape of the content, the schema carries the
annotations the policy decides on (``x-life-domain``, ``x-sensitivity``, ``x-disclosure`` per
field, ``x-reveals`` on a field that makes a diagnosis, offence category or procedural role
known; see docs/adr/0201-fact-type-schemas.md and 0104). Because those annotations steer what is
disclosed, the catalog is strict about them: a schema that is missing one, spells one wrong,
leaves a string unbounded or names a field like a subject identifier is refused at load time,
and the whole catalog with it (fail closed, as with a malformed policy).

Validation errors are built only from the failing keyword and the schema, never from the
submitted value: a rejected publish must not echo personal data back to the client or into a
log. jsonschema's own messages quote the instance, so they are never used here.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypedDict

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from hub.errors import HubError, ValidationFailed
from hub.vocabulary import (
    DisclosureClass,
    DisclosureLevel,
    LifeDomain,
    PartnerKind,
    Sensitivity,
)

__all__ = [
    "MAX_REPORTED_ERRORS",
    "REVEALS",
    "SENSITIVITY_RANK",
    "CatalogError",
    "FactType",
    "FactTypeCatalog",
    "FactValidationError",
    "FieldError",
    "FieldSpec",
    "UnknownFactType",
    "project_fields",
    "validate_catalog",
]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX: Final = "https://schemas.vhhub.nl/facts/"

#: ``<namespace>.<name>/<version>``; at most 64 characters (the ``facts.fact_type`` column).
_TYPE_ID_RE: Final = re.compile(r"\A([a-z][a-z_]*\.[a-z][a-z_]*)/([1-9][0-9]{0,3})\Z")
_MAX_TYPE_ID_LENGTH: Final = 64

#: What a field name (ours, or a client's) must look like to be repeated in an error.
_PLAIN_NAME_RE: Final = re.compile(r"\A[a-z][a-z0-9_]{0,63}\Z")
_ENUM_VALUE_RE: Final = re.compile(r"\A[a-z0-9][a-z0-9_]*\Z")

#: Words that would make a field hold a subject identifier. Subjects are identified in
#: ``subjects`` (encrypted, blind-indexed), never inside fact content; this list is a backstop
#: against a schema author's slip, not a guarantee (free text can still hold a name).
_IDENTIFIER_WORDS: Final = frozenset(
    {
        "bsn",
        "burgerservicenummer",
        "sofinummer",
        "name",
        "names",
        "naam",
        "firstname",
        "lastname",
        "surname",
        "voornaam",
        "achternaam",
        "initials",
        "birth",
        "birthdate",
        "dob",
        "geboortedatum",
        "address",
        "adres",
        "street",
        "straat",
        "postcode",
        "zipcode",
        "email",
    }
)

#: Total order used for "the highest sensitivity of its fields". Criminal-law data ranks above
#: special categories because it reaches partners outside the justice chain at summary level
#: at most (vocabulary.JUSTICE_KINDS); both rank above ordinary.
SENSITIVITY_RANK: Final[Mapping[Sensitivity, int]] = MappingProxyType(
    {Sensitivity.ORDINARY: 0, Sensitivity.SPECIAL: 1, Sensitivity.CRIMINAL: 2}
)

#: Validation stops collecting after this many problems; a client fixes the first ones first,
#: and a hostile document with a million bad items cannot make the answer a million lines.
MAX_REPORTED_ERRORS: Final = 50

_ROOT_ANNOTATIONS: Final = frozenset(
    {
        "x-fact-type",
        "x-life-domain",
        "x-sensitivity",
        "x-publisher-kinds",
        "x-headline",
        "x-date",
        # optional, for the generated policy data (hub.facts.policy_data, ADR 0201):
        "x-policy-title",
        "x-domain-field",
        "x-sensitivity-stated",
    }
)
_FIELD_ANNOTATIONS: Final = frozenset(
    {"x-life-domain", "x-sensitivity", "x-disclosure", "x-policy-never-shared", "x-reveals"}
)

#: What an ``x-reveals`` field makes known about the subject (AVG art. 9 and 10): a summary
#: to a partner without a care or justice task leaves such a field out (the policy's
#: ``revealing_field_withheld``, from the generated ``reveals`` of each type).
REVEALS: Final = frozenset({"diagnosis", "offence_category", "procedural_role"})
_ROOT_ONLY_KEYWORDS: Final = frozenset({"$schema", "$id"})
#: The JSON Schema vocabulary a fact type may use. Everything else is refused: ``$ref`` and
#: the combinators would let a field's shape (and its annotations) come from elsewhere, and
#: ``patternProperties`` would admit fields without annotations. ``multipleOf`` is left out
#: because jsonschema checks it in binary floating point (10.1 is not a multiple of 0.01).
_SHAPE_KEYWORDS: Final = frozenset(
    {
        "$comment",
        "title",
        "description",
        "examples",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
)
#: every keyword a fact-type schema may use, at its root included (forms render these)
SCHEMA_KEYWORDS: Final = _SHAPE_KEYWORDS | _ROOT_ONLY_KEYWORDS
_SHAPE_TYPES: Final = frozenset({"object", "array", "string", "integer", "number", "boolean"})


class FieldError(TypedDict):
    """One validation problem: where (RFC 6901 pointer) and what, in words of our own."""

    pointer: str
    problem: str


class CatalogError(Exception):
    """The schemas directory holds something the hub refuses to run with.

    Raised at start-up, never in answer to a request, so it may name schema files and
    keywords freely (schemas are ours, not personal data).
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"fact-type catalog refused ({len(self.problems)} problems):\n{listed}")


class UnknownFactType(HubError, LookupError):
    """A fact type id that is not in the catalog (or not shaped like one)."""

    status = 400
    slug = "unknown-fact-type"
    title = "Unknown fact type"
    default_detail = "The fact type is not in the hub's catalog."

    def __init__(self, type_id: object) -> None:
        # Only an id shaped like one of ours is repeated: the string came from a client.
        self.type_id: str | None = (
            type_id if isinstance(type_id, str) and _is_type_id(type_id) else None
        )
        if self.type_id is None:
            super().__init__()
        else:
            super().__init__(
                f"The fact type {self.type_id} is not in the hub's catalog.",
                extra={"fact_type": self.type_id},
            )


class FactValidationError(ValidationFailed):
    """Fact content does not match its type; ``errors`` says where and why, never with values."""

    slug = "invalid-fact-content"
    title = "Fact content does not match its type"

    def __init__(self, type_id: str, errors: list[FieldError]) -> None:
        self.type_id = type_id
        self.errors: list[FieldError] = errors
        count = len(errors)
        detail = (
            f"The content does not match fact type {type_id} "
            f"({count} problem{'' if count == 1 else 's'})."
        )
        super().__init__(detail, extra={"fact_type": type_id, "errors": errors})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one top-level field of a fact type may travel (the policy's per-field input)."""

    name: str
    life_domain: LifeDomain
    sensitivity: Sensitivity
    disclosure: DisclosureClass
    required: bool = False
    #: ``x-policy-never-shared``: also listed in the policy data's ``never_shared`` for the
    #: type (only a never-class field may carry it)
    policy_never_shared: bool = False
    #: ``x-reveals``: what the field makes known (one of ``REVEALS``) -- a diagnosis, an
    #: offence category or a procedural role; ``None`` for every other field
    reveals: str | None = None


@dataclass(frozen=True, eq=False)
class FactType:
    """One registered fact type and version; immutable, built only by the catalog.

    Two instances are equal when id and schema hash are equal: the hash covers every byte of
    meaning in the schema, annotations included.
    """

    id: str
    title: str
    life_domain: LifeDomain
    sensitivity: Sensitivity
    publisher_kinds: frozenset[PartnerKind]
    headline_field: str
    #: the summary-class date a summary shows next to the headline (``x-date``)
    date_field: str
    fields: Mapping[str, FieldSpec]
    schema_hash: str
    _schema: dict[str, Any] = field(repr=False)
    _validator: Validator = field(repr=False)
    #: the compiled pre-check (``_compile_precheck``): may only *accept*; ``None`` when the
    #: schema uses something it is not proven to treat like ``_validator``
    _precheck: Callable[[object], bool] | None = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FactType):
            return NotImplemented
        return (self.id, self.schema_hash) == (other.id, other.schema_hash)

    def __hash__(self) -> int:
        return hash((self.id, self.schema_hash))

    @property
    def name(self) -> str:
        """The type without its version, e.g. ``police.incident``."""
        return self.id.partition("/")[0]

    @property
    def version(self) -> int:
        return int(self.id.partition("/")[2])

    @property
    def policy_title(self) -> str:
        """The title the policy data gives the type (``x-policy-title``, else ``title``)."""
        value = self._schema.get("x-policy-title")
        return value if isinstance(value, str) else self.title

    @property
    def domain_field(self) -> str | None:
        """The field in which each fact names its own life domain (``x-domain-field``), if any.

        Such a type has no fixed domain in the policy data (``"*"``): ``life_domain`` is then
        only the fallback.
        """
        value = self._schema.get("x-domain-field")
        return value if isinstance(value, str) else None

    @property
    def sensitivity_stated(self) -> bool:
        """Whether each fact of this type states its own sensitivity, so that the kind of
        partner that writes it does not raise it (``x-sensitivity-stated``): plan notes, which
        a casusregisseur writes for the whole table, not as a care or justice partner."""
        return self._schema.get("x-sensitivity-stated") is True

    @property
    def schema(self) -> dict[str, Any]:
        """A fresh copy of the JSON Schema, safe to serve or modify (the catalog keeps its own)."""
        return copy.deepcopy(self._schema)

    def disclosure_classes(self) -> dict[str, str]:
        """Field name -> ``summary`` | ``full`` | ``never``: the policy's view of this type
        (a fresh dict of plain strings; the mapping is computed once per type, since every
        fact of a briefing asks for it)."""
        return dict(self._disclosure_classes)

    @functools.cached_property
    def _disclosure_classes(self) -> tuple[tuple[str, str], ...]:
        return tuple((n, spec.disclosure.value) for n, spec in self.fields.items())

    def revealing_fields(self) -> dict[str, str]:
        """Field name -> what it reveals (``x-reveals``), for the fields that carry it.

        The policy leaves these out of a summary for a partner without a care or justice
        task; ``fields_at`` stays the upper bound for every viewer, so the disclosure door
        never shows more than the policy released.
        """
        return {name: spec.reveals for name, spec in self.fields.items() if spec.reveals}

    def fields_at(self, level: DisclosureLevel) -> frozenset[str]:
        """The most a viewer at ``level`` may see of this type, before any per-field policy.

        ``never`` fields are in no level's set, so the disclosure door can intersect a policy
        answer with this and stay safe even if the policy data lists a never-field.
        """
        return self._fields_by_level.get(level, frozenset())

    @functools.cached_property
    def field_names(self) -> frozenset[str]:
        """Every top-level field the type defines (computed once)."""
        return frozenset(self.fields)

    @functools.cached_property
    def _fields_by_level(self) -> Mapping[DisclosureLevel, frozenset[str]]:
        # computed once per type: the briefing asks for every fact it releases
        def of(*classes: DisclosureClass) -> frozenset[str]:
            return frozenset(n for n, spec in self.fields.items() if spec.disclosure in classes)

        return MappingProxyType(
            {
                DisclosureLevel.SUMMARY: of(DisclosureClass.SUMMARY),
                DisclosureLevel.FULL: of(DisclosureClass.SUMMARY, DisclosureClass.FULL),
            }
        )

    def validate(self, content: object) -> None:
        """Raise ``FactValidationError`` unless ``content`` matches the schema.

        The errors name a pointer and a problem derived from the schema only; no part of
        ``content`` (value or free-form key) appears in them.

        The compiled pre-check answers first; it accepts only what ``_validator`` accepts
        (tests/facts/test_precheck_equivalence.py), and whatever it does not accept goes
        through ``_validator``, which alone decides a rejection and words its errors.
        """
        if self._precheck is not None and self._precheck(content):
            return
        errors = _collect_errors(self._validator, content)
        if errors:
            raise FactValidationError(self.id, errors)


@dataclass(frozen=True)
class FactTypeCatalog:
    """All fact types the hub accepts, loaded once at start-up and never changed after."""

    _types: Mapping[str, FactType]

    @classmethod
    def load(cls, schema_dir: Path) -> FactTypeCatalog:
        """Read and check every ``*.json`` directly in ``schema_dir`` (not ``examples/``).

        Raises ``CatalogError`` listing every problem found, in every file, so one run shows
        an author everything to fix.
        """
        loaded = _read_and_check(schema_dir)
        types = {type_id: _build_fact_type(schema) for type_id, schema in loaded.items()}
        return cls(MappingProxyType(dict(sorted(types.items()))))

    def get(self, type_id: str) -> FactType:
        """The fact type with this exact id (``police.incident/1``); no "latest" guessing."""
        try:
            return self._types[type_id]
        except (KeyError, TypeError):
            raise UnknownFactType(type_id) from None

    def types(self) -> tuple[FactType, ...]:
        """All fact types, ordered by id."""
        return tuple(self._types.values())

    def ids(self) -> tuple[str, ...]:
        return tuple(self._types)

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, str) and type_id in self._types

    def __len__(self) -> int:
        return len(self._types)

    def __iter__(self) -> Iterator[FactType]:
        return iter(self._types.values())


def validate_catalog(schema_dir: Path) -> None:
    """Check a schemas directory the way ``FactTypeCatalog.load`` does; raise ``CatalogError``.

    For CI and for a privacy officer reviewing a new schema before it ships.
    """
    _read_and_check(schema_dir)


def project_fields(content: Mapping[str, Any], released: Iterable[str]) -> dict[str, Any]:
    """Only the released top-level fields of ``content``, as deep copies.

    The copy keeps the caller from mutating the decrypted original through the projection.
    A bare string for ``released`` is refused: iterating it would release one-letter fields
    by accident.
    """
    if isinstance(released, str | bytes):
        raise TypeError("released must be a collection of field names, not a string")
    keep = frozenset(released)
    return {
        name: copy.deepcopy(value)
        for name, value in content.items()
        if isinstance(name, str) and name in keep
    }


# --- loading and checking ------------------------------------------------------------------


def _is_type_id(value: str) -> bool:
    return len(value) <= _MAX_TYPE_ID_LENGTH and _TYPE_ID_RE.match(value) is not None


def _read_and_check(schema_dir: Path) -> dict[str, dict[str, Any]]:
    if not schema_dir.is_dir():
        raise CatalogError([f"{schema_dir}: not a directory"])
    problems: list[str] = []
    loaded: dict[str, dict[str, Any]] = {}
    paths = sorted(p for p in schema_dir.glob("*.json") if p.is_file())
    if not paths:
        raise CatalogError([f"{schema_dir}: no fact-type schemas (*.json)"])
    for path in paths:
        try:
            schema = _parse_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{path.name}: unreadable JSON ({exc})")
            continue
        file_problems = _schema_problems(schema, file_name=path.name)
        problems.extend(f"{path.name}: {p}" for p in file_problems)
        if not file_problems:
            type_id: str = schema["x-fact-type"]
            if type_id in loaded:  # pragma: no cover - file names already make ids unique
                problems.append(f"{path.name}: duplicate fact type {type_id}")
            loaded[type_id] = schema
    if problems:
        raise CatalogError(problems)
    return loaded


def _parse_json(text: str) -> Any:
    """Strict JSON: a duplicate key (a second ``x-disclosure``) or NaN is an error, not a win."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    def no_constant(name: str) -> Any:
        raise ValueError(f"non-standard constant {name}")

    return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)


def _schema_problems(schema: Any, *, file_name: str) -> list[str]:
    """Everything wrong with one fact-type schema, as readable lines (empty: accepted)."""
    if not isinstance(schema, dict):
        return ["the schema must be a JSON object"]
    problems: list[str] = []
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path)
        problems.append(f"{where}: not valid JSON Schema ({exc.validator} keyword)")
        return problems

    def need(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    need(schema.get("$schema") == DIALECT, f'"$schema" must be "{DIALECT}"')
    type_id = schema.get("x-fact-type")
    if not (isinstance(type_id, str) and _is_type_id(type_id)):
        problems.append('"x-fact-type" must look like "namespace.name/1" (at most 64 chars)')
    else:
        name, _, version = type_id.partition("/")
        need(file_name == f"{name}.{version}.json", f"file must be named {name}.{version}.json")
        need(schema.get("$id") == ID_PREFIX + type_id, f'"$id" must be "{ID_PREFIX}{type_id}"')
    title = schema.get("title")
    need(isinstance(title, str) and bool(title.strip()), '"title" must be a non-empty string')
    need(
        _is_member(schema.get("x-life-domain"), LifeDomain), '"x-life-domain" must be a LifeDomain'
    )
    need(
        _is_member(schema.get("x-sensitivity"), Sensitivity),
        '"x-sensitivity" must be a Sensitivity',
    )
    kinds = schema.get("x-publisher-kinds")
    need(
        isinstance(kinds, list)
        and bool(kinds)
        and len(set(map(str, kinds))) == len(kinds)
        and all(_is_member(k, PartnerKind) for k in kinds),
        '"x-publisher-kinds" must be a non-empty list of distinct PartnerKind values',
    )
    if "x-sensitivity-stated" in schema:
        need(
            schema["x-sensitivity-stated"] is True,
            '"x-sensitivity-stated" is true or absent',
        )
    if "x-policy-title" in schema:
        policy_title = schema["x-policy-title"]
        need(
            isinstance(policy_title, str) and bool(policy_title.strip()),
            '"x-policy-title" must be a non-empty string',
        )
    for key in schema:
        if key.startswith("x-") and key not in _ROOT_ANNOTATIONS:
            problems.append(f'unknown annotation "{key}"')
    problems.extend(_shape_problems(schema, "", root=True))

    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return problems
    required = schema.get("required", [])
    for field_name, sub in properties.items():
        if not isinstance(sub, dict):
            continue  # already reported by the shape check
        where = f"/properties/{field_name}"
        need(
            _is_member(sub.get("x-life-domain"), LifeDomain),
            f'{where}: "x-life-domain" missing or not a LifeDomain',
        )
        need(
            _is_member(sub.get("x-sensitivity"), Sensitivity),
            f'{where}: "x-sensitivity" missing or not a Sensitivity',
        )
        need(
            _is_member(sub.get("x-disclosure"), DisclosureClass),
            f'{where}: "x-disclosure" missing or not one of summary, full, never',
        )
    if problems:
        return problems

    # From here on every field is annotated; check the cross-field promises.
    specs = {n: _field_spec(n, sub, required) for n, sub in properties.items()}
    highest = max(specs.values(), key=lambda s: SENSITIVITY_RANK[s.sensitivity]).sensitivity
    need(
        schema["x-sensitivity"] == highest.value,
        f'"x-sensitivity" must be the highest of its fields ({highest.value})',
    )
    for keyword, shape in (("x-headline", "string"), ("x-date", "date")):
        chosen = schema.get(keyword)
        spec = specs.get(chosen) if isinstance(chosen, str) else None
        if spec is None:
            problems.append(f'"{keyword}" must name a property')
            continue
        sub = properties[chosen]
        need(
            spec.disclosure is DisclosureClass.SUMMARY,
            f'"{keyword}" field {chosen} must be summary-class',
        )
        need(spec.required, f'"{keyword}" field {chosen} must be required')
        need(sub.get("type") == "string", f'"{keyword}" field {chosen} must be a string')
        if shape == "date":
            need(sub.get("format") == "date", f'"{keyword}" field {chosen} must have format date')
    need(
        any(s.disclosure is DisclosureClass.FULL for s in specs.values()),
        "at least one field must be full-class",
    )
    for field_name, sub in properties.items():
        if "x-policy-never-shared" in sub:
            # Only ever true, and only on a never-class field: the policy data must not
            # withhold what the schema promises to show, nor be told "false" for nothing.
            need(
                sub["x-policy-never-shared"] is True
                and specs[field_name].disclosure is DisclosureClass.NEVER,
                f'/properties/{field_name}: "x-policy-never-shared" must be true, and only on'
                " a never-class field",
            )
        if "x-reveals" in sub:
            # Only where it changes something: a summary shows summary-class fields, and only
            # special or criminal data (AVG art. 9, 10) is kept from partners without a care or
            # justice task. Elsewhere the annotation would promise a protection nobody applies.
            spec = specs[field_name]
            need(
                sub["x-reveals"] in REVEALS
                and spec.disclosure is DisclosureClass.SUMMARY
                and spec.sensitivity in (Sensitivity.SPECIAL, Sensitivity.CRIMINAL),
                f'/properties/{field_name}: "x-reveals" must be one of '
                f"{', '.join(sorted(REVEALS))}, and only on a summary-class field whose"
                " sensitivity is special or criminal",
            )
    if "x-domain-field" in schema:
        chosen = schema["x-domain-field"]
        sub = properties.get(chosen) if isinstance(chosen, str) else None
        enum = sub.get("enum") if isinstance(sub, dict) else None
        need(
            isinstance(sub, dict)
            and chosen in required
            and sub.get("type") == "string"
            and isinstance(enum, list)
            and bool(enum)
            and all(_is_member(v, LifeDomain) for v in enum),
            '"x-domain-field" must name a required string property whose enum holds'
            " only LifeDomain values",
        )
    return problems


def _shape_problems(
    node: Any, where: str, *, root: bool = False, is_field: bool = False
) -> list[str]:
    """Hygiene of one subschema and below: closed objects, bounded strings, arrays, numbers."""
    if not isinstance(node, dict):
        return [f"{where or '/'}: a subschema must be an object"]
    problems: list[str] = []
    allowed = set(_SHAPE_KEYWORDS)
    if root:
        allowed |= _ROOT_ONLY_KEYWORDS | _ROOT_ANNOTATIONS
    if is_field:
        allowed |= _FIELD_ANNOTATIONS
    for key in node:
        if key not in allowed:
            problems.append(f'{where or "/"}: keyword "{key}" is not allowed here')

    kind = node.get("type")
    if not isinstance(kind, str) or kind not in _SHAPE_TYPES:
        problems.append(f'{where or "/"}: "type" must be one of {", ".join(sorted(_SHAPE_TYPES))}')
        return problems
    if root and kind != "object":
        problems.append('/: the top level must be "type": "object"')
    fmt = node.get("format")
    if fmt is not None and (kind != "string" or fmt not in _FORMAT_CHECKS):
        # An unknown format would be an annotation only: silently not checked.
        problems.append(f'{where}: format "{fmt}" is not enforced by the hub')
    pattern = node.get("pattern")
    if pattern is not None:
        try:
            schema_regex(pattern)
        except (re.error, TypeError):
            problems.append(f"{where}: pattern is not a valid regular expression")
    if kind == "string":
        max_length = node.get("maxLength")
        if not (isinstance(max_length, int) and max_length >= 1):
            problems.append(f"{where}: a string needs a maxLength")
        for value in node.get("enum", []):
            if not (isinstance(value, str) and _ENUM_VALUE_RE.match(value)):
                problems.append(f"{where}: enum values must be snake_case strings")
            elif isinstance(max_length, int) and len(value) > max_length:
                problems.append(f"{where}: enum value {value} exceeds maxLength")
    elif kind in ("integer", "number"):
        if not ({"minimum", "exclusiveMinimum"} & node.keys()):
            problems.append(f"{where}: a number needs a minimum")
        if not ({"maximum", "exclusiveMaximum"} & node.keys()):
            problems.append(f"{where}: a number needs a maximum")
    elif kind == "array":
        if not isinstance(node.get("maxItems"), int):
            problems.append(f"{where}: an array needs maxItems")
        if "items" not in node:
            problems.append(f"{where}: an array needs items")
        else:
            problems.extend(_shape_problems(node["items"], f"{where}/items"))
    elif kind == "object":
        if node.get("additionalProperties") is not False:
            problems.append(f'{where or "/"}: an object needs "additionalProperties": false')
        properties = node.get("properties")
        if not isinstance(properties, dict) or not properties:
            problems.append(f"{where or '/'}: an object needs properties")
            return problems
        for name, sub in properties.items():
            sub_where = f"{where}/properties/{name}"
            if not _PLAIN_NAME_RE.match(name):
                problems.append(f"{sub_where}: property names must be snake_case, at most 64 chars")
            if _IDENTIFIER_WORDS & set(name.split("_")):
                problems.append(
                    f"{sub_where}: looks like a subject identifier; not in fact content"
                )
            # Annotations only on top-level fields: disclosure is decided per top-level field,
            # so an x-disclosure deeper down would promise a protection nobody applies.
            problems.extend(_shape_problems(sub, sub_where, is_field=root))
        for name in node.get("required", []):
            if name not in properties:
                problems.append(f"{where or '/'}: required {name} is not a property")
    return problems


def _is_member(value: object, enum: type[StrEnum]) -> bool:
    return isinstance(value, str) and value in enum.__members__.values()


def _field_spec(name: str, sub: Mapping[str, Any], required: Iterable[str]) -> FieldSpec:
    return FieldSpec(
        name=name,
        life_domain=LifeDomain(sub["x-life-domain"]),
        sensitivity=Sensitivity(sub["x-sensitivity"]),
        disclosure=DisclosureClass(sub["x-disclosure"]),
        required=name in required,
        policy_never_shared=sub.get("x-policy-never-shared") is True,
        reveals=sub["x-reveals"] if isinstance(sub.get("x-reveals"), str) else None,
    )


def _schema_hash(schema: Mapping[str, Any]) -> str:
    """sha256 over sorted-key compact JSON: reformatting a file does not change the hash."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _build_fact_type(schema: dict[str, Any]) -> FactType:
    own = copy.deepcopy(schema)
    required = own.get("required", [])
    fields = {n: _field_spec(n, sub, required) for n, sub in own["properties"].items()}
    return FactType(
        id=own["x-fact-type"],
        title=own["title"],
        life_domain=LifeDomain(own["x-life-domain"]),
        sensitivity=Sensitivity(own["x-sensitivity"]),
        publisher_kinds=frozenset(PartnerKind(k) for k in own["x-publisher-kinds"]),
        headline_field=own["x-headline"],
        date_field=own["x-date"],
        fields=MappingProxyType(fields),
        schema_hash=_schema_hash(own),
        _schema=own,
        _validator=_FactValidator(own, format_checker=_FORMAT_CHECKER),
        _precheck=_compile_precheck(own),
    )


# --- validation ----------------------------------------------------------------------------

_DATE_RE: Final = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _is_strict_date(instance: object) -> bool:
    """RFC 3339 full-date only: ``date.fromisoformat`` alone also takes ``20250314``."""
    if not isinstance(instance, str):
        return True  # format applies to strings; "type" reports the rest
    if not _DATE_RE.match(instance):
        return False
    try:
        date.fromisoformat(instance)
    except ValueError:
        return False
    return True


_FORMAT_CHECKS: Final = {"date": _is_strict_date}
_FORMAT_PROBLEMS: Final = {"date": "must be a date in the form YYYY-MM-DD"}
_FORMAT_CHECKER: Final = FormatChecker(formats=())
for _name, _check in _FORMAT_CHECKS.items():
    _FORMAT_CHECKER.checks(_name)(_check)


def _is_json_number(_checker: object, instance: object) -> bool:
    """JSON numbers only: no bool, no NaN or infinity (they slip past minimum/maximum)."""
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    return isinstance(instance, float) and math.isfinite(instance)


def _is_json_integer(_checker: object, instance: object) -> bool:
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (
        isinstance(instance, float) and math.isfinite(instance) and instance.is_integer()
    )


def _end_of_text_dollar(pattern: str) -> str:
    """`pattern` with every ``$`` that is an anchor written as ``\\Z``.

    JSON Schema reads ``pattern`` as an ECMA-262 regular expression without flags, where
    ``$`` matches only at the end of the text; in Python's ``re`` it also matches before a
    final newline, so ``^[0-9]{6,19}$`` would take ``"0612345678\\n"``. An escaped ``\\$``
    and a ``$`` inside a character class are literals in both and stay as they are."""
    out: list[str] = []
    index, length, in_class = 0, len(pattern), False
    while index < length:
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # a "]" right after "[" or "[^" is a literal in Python's syntax, not the end
            start = index + 1
            if pattern.startswith("^", start):
                start += 1
            if pattern.startswith("]", start):
                start += 1
            out.append(pattern[index:start])
            index = start
            continue
        elif char == "$":
            char = "\\Z"
        out.append(char)
        index += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def schema_regex(pattern: str) -> re.Pattern[str]:
    """A schema's ``pattern`` compiled to match, with ``search``, what JSON Schema's
    ECMA-262 reading matches where the two engines differ for the hub's schemas: ``$`` is
    the end of the text (`_end_of_text_dollar`). Schemas are few, so are their patterns."""
    return re.compile(_end_of_text_dollar(pattern))


def _pattern(
    _validator: Validator, pattern: str, instance: object, _schema: object
) -> Iterator[ValidationError]:
    """jsonschema's ``pattern`` keyword with `schema_regex`; the error is worded by
    `_describe` from the keyword and the pattern, never from the value."""
    if isinstance(instance, str) and schema_regex(pattern).search(instance) is None:
        yield ValidationError("does not match the pattern")


# The jsonschema stubs leave ``extend`` untyped; its result is a Draft 2020-12 validator class.
_FactValidator: Final[type[Validator]] = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _is_json_number, "integer": _is_json_integer}
    ),
)


# --- the compiled pre-check ------------------------------------------------------------------
#
# jsonschema walks a document in Python, about 0.1 ms per fact: the largest share of a batch
# publish (ADR 0020). jsonschema-rs checks the same schema in Rust, some 40 times faster. It is
# used only to *accept*: a document it does not accept goes through ``_FactValidator`` as
# before, which alone rejects and words the errors. Accepting is safe only where both engines
# provably agree, so the pre-check is built only for the vocabulary below (anything else in a
# schema leaves that type on the slow path), and a document reaches it only when it consists of
# plain JSON values (``_is_plain_json``). Where the engines would differ, Python does the check:
#
# - ``pattern``: `schema_regex` in Python's engine (what the slow path runs) through a custom
#   keyword; Rust's regex differs (``\d``, ``\w``, case folding).
# - ``format: date``: ``_is_strict_date`` itself, as a custom format.
# - ``uniqueItems``: only over string items; jsonschema holds ``1`` and ``1.0`` equal and
#   ``True`` and ``1`` apart, a rule not worth proving for another engine.
# - types: jsonschema-rs takes a tuple for an array and a ``Decimal`` for a number, and a NaN
#   or infinity as null; jsonschema (with our checkers) refuses all of them. Lone surrogates
#   cannot cross into Rust. ``_is_plain_json`` sends all of these to the slow path.
#
# tests/facts/test_precheck_equivalence.py holds both engines to the same answers over every
# schema in schemas/.

#: keywords only describing (the pre-check drops them)
_PRECHECK_ANNOTATIONS: Final = frozenset({"$comment", "title", "description", "examples"})
#: counts and bounds: handed to jsonschema-rs unchanged when the value is a plain int
_PRECHECK_COUNTS: Final = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
_PRECHECK_BOUNDS: Final = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
#: the name of the custom keyword that runs ``pattern`` in Python
_PYTHON_PATTERN: Final = "vhhubPythonPattern"
#: a plain document nested deeper than this goes to the slow path (schemas nest 3 deep)
_PRECHECK_MAX_DEPTH: Final = 32


def _precheck_node(node: object, *, root: bool = False) -> dict[str, Any] | None:
    """The subschema jsonschema-rs gets for ``node``, or ``None`` if ``node`` uses anything
    the pre-check is not proven to treat as jsonschema does (then the type has no pre-check).

    Every node must carry a ``type``, so every value of an accepted document is type-checked.
    """
    kind = node.get("type") if isinstance(node, dict) else None
    if not isinstance(node, dict) or not isinstance(kind, str) or kind not in _SHAPE_TYPES:
        return None
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _PRECHECK_ANNOTATIONS or (root and key in _ROOT_ONLY_KEYWORDS):
            continue
        if isinstance(key, str) and key.startswith("x-"):
            continue  # our annotations: jsonschema ignores them as well
        if key == "type":
            out[key] = value
        elif key == "properties":
            if not isinstance(value, dict):
                return None
            properties: dict[str, Any] = {}
            for name, sub in value.items():
                checked = _precheck_node(sub)
                if checked is None:
                    return None
                properties[name] = checked
            out[key] = properties
        elif key == "required":
            if not (isinstance(value, list) and all(isinstance(n, str) for n in value)):
                return None
            out[key] = value
        elif key == "additionalProperties":
            if value is not False:
                return None
            out[key] = value
        elif key == "items":
            checked = _precheck_node(value)
            if checked is None:
                return None
            out[key] = checked
        elif key == "enum":
            # strings compare alike in both engines; numbers and booleans do not (1 == 1.0 ==
            # True in Python, with exceptions jsonschema adds)
            if not (isinstance(value, list) and all(type(v) is str for v in value)):
                return None
            out[key] = value
        elif key in _PRECHECK_COUNTS or key in _PRECHECK_BOUNDS:
            if type(value) is not int:  # no bool, no float: exact in both engines
                return None
            out[key] = value
        elif key == "pattern":
            if not isinstance(value, str):
                return None
            out[_PYTHON_PATTERN] = value
        elif key == "format":
            if value not in _FORMAT_CHECKS:
                return None
            out[key] = value
        elif key == "uniqueItems":
            items = node.get("items")
            if not (value is False or (isinstance(items, dict) and items.get("type") == "string")):
                return None
            out[key] = value
        else:
            return None  # const, combinators, $ref, ...: not proven, so not pre-checked
    return out


class _PythonPattern:
    """``pattern`` as the slow path checks it (`_pattern`): `schema_regex`, strings only.

    A jsonschema-rs custom keyword: built with (parent schema, value, schema path), and
    ``validate`` raises to say "does not match" (the message is never shown; a rejection is
    worded by the slow path).
    """

    def __init__(self, _parent: object, value: str, _path: object) -> None:
        self._regex = schema_regex(value)

    def validate(self, instance: object) -> None:
        if isinstance(instance, str) and self._regex.search(instance) is None:
            raise ValueError("pattern")


def _is_plain_json(value: object, depth: int = _PRECHECK_MAX_DEPTH) -> bool:
    """Whether ``value`` is made only of values both engines read alike: dict (str keys),
    list, str (UTF-8 encodable), int, finite float, bool, None -- exact types, bounded depth.

    Exact types, because jsonschema-rs reads a tuple as an array, a ``Decimal`` as a number and
    an enum member as its value, where jsonschema (with our type checkers) does not.
    """
    kind = type(value)
    if kind is str and isinstance(value, str):
        return _is_utf8(value)
    if kind is dict and isinstance(value, dict):
        if depth <= 0:
            return False
        for key, item in value.items():
            if type(key) is not str or not _is_utf8(key):
                return False
            if type(item) is str:  # the common member, checked without a call of its own
                if not _is_utf8(item):
                    return False
            elif not _is_plain_json(item, depth - 1):
                return False
        return True
    if kind is list and isinstance(value, list):
        return depth > 0 and all(_is_plain_json(item, depth - 1) for item in value)
    if kind is float and isinstance(value, float):
        return math.isfinite(value)
    return kind is int or kind is bool or value is None


def _is_utf8(text: str) -> bool:
    """Whether ``text`` can cross into Rust: a lone surrogate cannot."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _compile_precheck(schema: Mapping[str, Any]) -> Callable[[object], bool] | None:
    """The pre-check of a fact type: ``True`` only for a document ``_FactValidator`` accepts.

    ``None`` when the schema uses anything ``_precheck_node`` does not vouch for.
    """
    translated = _precheck_node(schema, root=True)
    if translated is None:
        return None
    try:
        compiled = jsonschema_rs.Draft202012Validator(
            translated,
            formats=dict(_FORMAT_CHECKS),
            validate_formats=True,
            ignore_unknown_formats=False,
            keywords={_PYTHON_PATTERN: _PythonPattern},
        )
    except Exception:  # a schema jsonschema-rs will not compile keeps the slow path only
        return None

    def precheck(content: object) -> bool:
        if not _is_plain_json(content):
            return False
        try:
            return compiled.is_valid(content)
        except Exception:  # any trouble here only means "ask jsonschema"
            return False

    return precheck


_ARTICLES: Final = {"object": "an object", "array": "an array", "integer": "an integer"}


def _collect_errors(validator: Validator, content: object) -> list[FieldError]:
    found: dict[tuple[str, str], None] = {}  # ordered set
    truncated = False
    try:
        # Any: content is arbitrary by design; the validator inspects, we never repeat it.
        instance: Any = content
        for error in validator.iter_errors(instance):
            for item in _describe(error):
                found[(item["pointer"], item["problem"])] = None
            if len(found) > MAX_REPORTED_ERRORS:
                truncated = True
                break
    except RecursionError:
        found = {("", "is nested too deeply to check"): None}
    errors = [FieldError(pointer=p, problem=m) for p, m in sorted(found)][:MAX_REPORTED_ERRORS]
    if truncated:
        errors.append(
            FieldError(
                pointer="",
                problem=f"more problems were found; only {MAX_REPORTED_ERRORS} are listed",
            )
        )
    return errors


def _pointer(path: Iterable[object]) -> str:
    """RFC 6901 pointer from a jsonschema path; stops before any segment not safe to repeat.

    Paths normally run only through our own property names and array indices (closed
    objects are not descended into), so the cut-off is a backstop.
    """
    parts: list[str] = []
    for segment in path:
        if isinstance(segment, int) and not isinstance(segment, bool):
            parts.append(str(segment))
        elif isinstance(segment, str) and _PLAIN_NAME_RE.match(segment):
            parts.append(segment)
        else:
            break
    return "".join("/" + p for p in parts)


def _describe(error: ValidationError) -> list[FieldError]:
    """Our words for one jsonschema error, from its keyword and schema only."""
    keyword = str(error.validator)
    value: Any = error.validator_value
    at = _pointer(error.absolute_path)
    instance = error.instance

    if keyword == "required":
        present = instance if isinstance(instance, dict) else {}
        return [
            FieldError(pointer=f"{at}/{name}", problem="is required")
            for name in value
            if name not in present
        ]
    if keyword == "additionalProperties":
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extras = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        typos = [k for k in extras if _is_typo_of(k, allowed)]
        withheld = len(extras) - len(typos)
        items = [
            FieldError(pointer=f"{at}/{k}", problem="is not an allowed property") for k in typos
        ]
        if withheld:
            plain = any(
                isinstance(k, str) and _PLAIN_NAME_RE.match(k) and k not in typos for k in extras
            )
            why = (
                "not a near miss of a field name of this object"
                if plain
                else "not a plain snake_case field name"
            )
            items.append(
                FieldError(
                    pointer=at,
                    problem=(
                        f"has {withheld} unexpected propert{'y' if withheld == 1 else 'ies'} "
                        f"(name withheld: {why})"
                    ),
                )
            )
        return items
    return [FieldError(pointer=at, problem=_problem_text(keyword, value, instance))]


def _is_typo_of(name: object, ours: Iterable[object]) -> bool:
    """Whether an unexpected member name may be repeated: only a slip on one of the object's
    own field names (`court_dat` for `court_date`), within two edits of it (one for a name
    shorter than eight characters, none below four). Snake_case alone is no such proof:
    `jan_jansen_bsn_123456782` is plain snake_case and personal data, so a name that is not
    nearly ours is withheld, whatever its spelling."""
    if not isinstance(name, str) or not _PLAIN_NAME_RE.match(name):
        return False
    for field_name in ours:
        if isinstance(field_name, str):
            budget = min(2, len(field_name) // 4)
            if budget and _within_edits(name, field_name, budget):
                return True
    return False


def _within_edits(a: str, b: str, budget: int) -> bool:
    """Whether the Levenshtein distance of ``a`` and ``b`` is at most ``budget``."""
    if abs(len(a) - len(b)) > budget:
        return False
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        if min(current) > budget:
            return False
        previous = current
    return previous[-1] <= budget


def _problem_text(keyword: str, value: Any, instance: object) -> str:
    """The sentence for a single-keyword failure; ``instance`` is only inspected, never shown."""
    match keyword:
        case "type":
            if value == "number" and isinstance(instance, float) and not math.isfinite(instance):
                return "must be a finite number"
            names = value if isinstance(value, list) else [value]
            return "must be " + " or ".join(_ARTICLES.get(str(n), f"a {n}") for n in names)
        case "enum":
            return "must be one of: " + ", ".join(str(v) for v in value)
        case "const":
            return f"must be {json.dumps(value)}"
        case "format":
            return _FORMAT_PROBLEMS.get(str(value), f"must be a valid {value}")
        case "maxLength":
            return f"must be at most {value} characters long"
        case "minLength":
            return (
                "must not be empty" if value == 1 else f"must be at least {value} characters long"
            )
        case "pattern":
            return f"must match the pattern {value}"
        case "minimum":
            return f"must be at least {value}"
        case "maximum":
            return f"must be at most {value}"
        case "exclusiveMinimum":
            return f"must be greater than {value}"
        case "exclusiveMaximum":
            return f"must be less than {value}"
        case "maxItems":
            return f"must have at most {value} items"
        case "minItems":
            return f"must have at least {value} items"
        case "uniqueItems":
            return "must not contain duplicate items"
        case _:
            return f"does not satisfy {keyword}"
