"""The compiled pre-check accepts exactly what jsonschema accepts, over every real schema.

``FactType.validate`` asks a jsonschema-rs pre-check first and returns when it accepts; only
what it does not accept reaches jsonschema, which rejects and words the errors. A pre-check
that accepted one document jsonschema refuses would let malformed content into the hub, so
this test holds the two engines to the same answer:

- generated documents per fact type in ``schemas/``: valid ones, and near misses in which
  any value may be swapped for a wrong or borderline one (wrong types, bounds +-1, 1.0 for an
  integer, big integers, NaN and infinity, dates like ``20250314``, ``2025-02-30`` or with
  non-ASCII digits, patterns with a final newline or Unicode digits, extra and missing
  properties, duplicate array items, tuples, ``Decimal``);
- hand-picked edge cases, among them deep nesting.

For a document of plain JSON values both answers must be equal; for any document an accepted
pre-check implies jsonschema accepts; and ``validate`` always raises exactly the errors the
jsonschema path alone produces.
"""

from __future__ import annotations

import datetime
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.facts.catalog import (
    FactType,
    FactTypeCatalog,
    FactValidationError,
    FieldError,
    _collect_errors,
    _compile_precheck,
    _is_plain_json,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
CATALOG = FactTypeCatalog.load(SCHEMA_DIR)
TYPE_IDS = [t.id for t in CATALOG]

#: values that are wrong or borderline almost anywhere
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    1.5,
    -0.0,
    10**30,
    -(10**30),
    2**63,
    2**64,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e300,
    Decimal("1"),
    "",
    "x",
    "\ud800",
    "2025-03-14",
    "20250314",
    "2025-02-30",
    "\uff12\uff10\uff12\uff15-03-14",  # full-width digits
    "\u0662\u0660\u0662\u0665-03-14",  # Arabic-Indic digits
    "2025-03-14\n",
    "+31 88 1234567",
    "+31 88 1234567\n",
    "\u0663\u0661 88 1234567",
    [],
    {},
    ["a"],
    ("a",),
    {"a": 1},
]


def _strings(node: dict[str, Any], strict: bool) -> st.SearchStrategy[Any]:
    low = node.get("minLength", 0)
    high = node.get("maxLength", 40)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("format") == "date":
        dates = st.dates().map(datetime.date.isoformat)
        if strict:
            return dates
        return st.one_of(
            dates,
            st.dates().map(lambda d: d.strftime("%Y%m%d")),
            st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
        )
    if "pattern" in node:
        matching = st.from_regex(node["pattern"]).filter(lambda s: low <= len(s) <= high)
        if strict:
            return matching
        return st.one_of(
            matching,
            st.from_regex(node["pattern"]).map(lambda s: s + "\n"),
            st.text(alphabet="0123456789+ -\n\u0663\uff11", max_size=high + 2),
        )
    if strict:
        return st.text(min_size=low, max_size=high)
    return st.text(min_size=max(0, low - 1), max_size=high + 1)


def _numbers(node: dict[str, Any], strict: bool) -> st.SearchStrategy[Any]:
    low = node["minimum"]
    high = node["maximum"]
    ints = st.integers(min_value=low, max_value=high)
    if node["type"] == "integer":
        valid = st.one_of(ints, ints.map(float))
    else:
        valid = st.one_of(ints, st.floats(min_value=low, max_value=high))
    if strict:
        return valid
    return st.one_of(
        valid,
        st.floats(min_value=low - 2, max_value=high + 2),
        st.sampled_from([low - 1, high + 1, float(high) + 1e-9, float(low) - 1e-9]),
    )


def documents(node: dict[str, Any], strict: bool) -> st.SearchStrategy[Any]:
    """Valid values for ``node`` (``strict``), or mostly valid ones with now and then a wrong
    or borderline one."""
    kind = node["type"]
    if kind == "object":
        required = set(node.get("required", []))
        props = node["properties"]
        members = {name: documents(sub, strict) for name, sub in props.items()}
        typo = [name[:-1] for name in props]

        @st.composite
        def objects(draw: st.DrawFn) -> Any:
            out: dict[Any, Any] = {}
            for name, strategy in members.items():
                keep = name in required or draw(st.booleans())
                if not strict and name in required and draw(st.integers(0, 19)) == 0:
                    keep = False  # a required member missing
                if keep:
                    out[name] = draw(strategy)
            if not strict and draw(st.integers(0, 9)) == 0:
                out[draw(st.sampled_from([*typo, "extra", "Jan Jansen", 1]))] = draw(
                    st.sampled_from(ODD_VALUES)
                )
            return out

        valid: st.SearchStrategy[Any] = objects()
    elif kind == "array":
        items = documents(node["items"], strict)
        low = node.get("minItems", 0)
        high = node["maxItems"]
        if strict:
            return st.lists(items, min_size=low, max_size=high, unique=True)
        lists = st.lists(items, min_size=max(0, low - 1), max_size=high + 1)
        valid = st.one_of(
            lists,
            lists.filter(bool).map(lambda xs: [*xs, xs[0]]),  # a duplicate
            lists.map(tuple),
        )
    elif kind == "string":
        valid = _strings(node, strict)
    elif kind in ("integer", "number"):
        valid = _numbers(node, strict)
    else:
        valid = st.booleans()
    if strict:
        return valid
    odd = st.sampled_from(ODD_VALUES)
    return st.integers(0, 15).flatmap(lambda i: odd if i == 0 else valid)


def any_document(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid documents and near misses, about half and half."""
    return st.one_of(documents(schema, strict=True), documents(schema, strict=False))


def _slow(fact_type: FactType, document: object) -> list[FieldError]:
    return _collect_errors(fact_type._validator, document)


def _validate_errors(fact_type: FactType, document: object) -> list[FieldError]:
    try:
        fact_type.validate(document)
    except FactValidationError as exc:
        return exc.errors
    return []


def assert_agree(fact_type: FactType, document: object) -> bool:
    """Both engines give the same answer (plain JSON), or at least never a looser one."""
    precheck = fact_type._precheck
    assert precheck is not None
    slow = _slow(fact_type, document)
    fast = precheck(document)
    if fast:
        assert slow == [], "the pre-check accepted a document jsonschema refuses"
    if _is_plain_json(document):
        assert fast == (slow == []), "jsonschema accepts a plain document the pre-check refuses"
    assert _validate_errors(fact_type, document) == slow
    return fast


def test_every_real_schema_gets_a_precheck() -> None:
    # Otherwise the differential test below would compare jsonschema with itself.
    assert TYPE_IDS
    assert [t.id for t in CATALOG if t._precheck is None] == []


@pytest.mark.parametrize("type_id", TYPE_IDS)
def test_generated_documents_get_the_same_answer(type_id: str) -> None:
    fact_type = CATALOG.get(type_id)
    accepted: list[bool] = []

    @settings(
        max_examples=80,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(any_document(fact_type.schema))
    def check(document: Any) -> None:
        accepted.append(assert_agree(fact_type, document))

    check()
    # the generator reaches both answers, so agreement is not agreement on one side only
    assert True in accepted and False in accepted


@pytest.mark.parametrize("type_id", TYPE_IDS)
def test_the_example_is_accepted_by_both(type_id: str) -> None:
    fact_type = CATALOG.get(type_id)
    name, _, version = type_id.partition("/")
    example = json.loads((SCHEMA_DIR / "examples" / f"{name}.{version}.json").read_text())
    assert assert_agree(fact_type, example) is True


def _example(type_id: str) -> dict[str, Any]:
    name, _, version = type_id.partition("/")
    document: dict[str, Any] = json.loads(
        (SCHEMA_DIR / "examples" / f"{name}.{version}.json").read_text()
    )
    return document


def _first_field(fact_type: FactType, **wanted: Any) -> str:
    for name, sub in fact_type.schema["properties"].items():
        if all(sub.get(k) == v for k, v in wanted.items()):
            return str(name)
    raise LookupError(wanted)


INTEGER_TYPE = next(t for t in CATALOG if '"integer"' in json.dumps(t.schema))
PATTERN_TYPE = next(t for t in CATALOG if '"pattern"' in json.dumps(t.schema))


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (1, True),
        (1.0, True),  # 1.0 is an integer to both
        (True, False),  # a bool is not
        (1.5, False),
        (float("nan"), False),
        (float("inf"), False),
        (10**30, False),
        (-(10**30), False),
        (2**63, False),
        (Decimal("1"), False),
        ("1", False),
    ],
)
def test_integer_edges(value: object, accepted: bool) -> None:
    field = _first_field(INTEGER_TYPE, type="integer")
    document = _example(INTEGER_TYPE.id) | {field: value}
    assert (_slow(INTEGER_TYPE, document) == []) is accepted
    assert_agree(INTEGER_TYPE, document)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("2025-03-14", True),
        ("2024-02-29", True),
        ("20250314", False),
        ("2025-02-30", False),
        ("2025-3-14", False),
        ("2025-03-14\n", False),
        ("2025-03-14T00:00:00", False),
        ("\uff12\uff10\uff12\uff15-03-14", False),
        ("\u0662\u0660\u0662\u0665-\u0660\u0663-\u0661\u0664", False),
    ],
)
def test_date_edges(value: str, accepted: bool) -> None:
    fact_type = CATALOG.get("police.incident/1")
    document = _example(fact_type.id) | {"incident_date": value}
    assert (_slow(fact_type, document) == []) is accepted
    assert assert_agree(fact_type, document) is accepted


@pytest.mark.parametrize(
    ("phone", "accepted"),
    [
        ("+31 88 1234567", True),
        # Python's `$` matches before a final newline; JSON Schema's (ECMA-262) does not.
        # Both paths run the pattern through `schema_regex`, which reads it as JSON Schema.
        ("+31 88 1234567\n", False),
        ("+31 88 1234567\n\n", False),
        ("\u0663\u0661 88 1234567", False),  # [0-9] is ASCII in both engines
        ("+31 8", False),
        ("+31 88 1234567 1234567 1234567", False),
    ],
)
def test_pattern_edges(phone: str, accepted: bool) -> None:
    document = _example(PATTERN_TYPE.id)
    field = next(
        name
        for name, sub in PATTERN_TYPE.schema["properties"].items()
        if sub["type"] == "object" and '"pattern"' in json.dumps(sub)
    )
    inner = next(
        name
        for name, sub in PATTERN_TYPE.schema["properties"][field]["properties"].items()
        if "pattern" in sub
    )
    document[field] = dict(document.get(field, {}), **{inner: phone})
    assert (_slow(PATTERN_TYPE, document) == []) is accepted
    assert assert_agree(PATTERN_TYPE, document) is accepted


@pytest.mark.parametrize(
    "value",
    [
        "Ruzie in de woning; \u00e9\u00e8 \u4e2d\u6587 \U0001f600",  # non-ASCII, astral
        "\ud800 lone surrogate",  # cannot cross into Rust: the slow path answers
        "x" * 2001,
    ],
)
def test_unicode_strings(value: str) -> None:
    fact_type = CATALOG.get("police.incident/1")
    assert_agree(fact_type, _example(fact_type.id) | {"description": value})


def test_length_counts_code_points_in_both() -> None:
    fact_type = CATALOG.get("police.incident/1")
    limit = fact_type.schema["properties"]["description"]["maxLength"]
    for text, accepted in (("\U0001f600" * limit, True), ("\U0001f600" * (limit + 1), False)):
        document = _example(fact_type.id) | {"description": text}
        assert assert_agree(fact_type, document) is accepted


def test_additional_and_missing_properties() -> None:
    fact_type = CATALOG.get("police.incident/1")
    example = _example(fact_type.id)
    assert assert_agree(fact_type, example | {"incident_dat": "2025-03-14"}) is False
    assert assert_agree(fact_type, example | {"Jan Jansen": 1}) is False
    int_key: dict[object, Any] = {1: "x"}
    int_key.update(example)
    assert assert_agree(fact_type, int_key) is False
    missing = dict(example)
    del missing["incident_date"]
    assert assert_agree(fact_type, missing) is False
    assert assert_agree(fact_type, []) is False
    assert assert_agree(fact_type, None) is False


def test_nested_arrays_and_duplicates() -> None:
    fact_type = next(t for t in CATALOG if '"uniqueItems"' in json.dumps(t.schema))
    field = _first_field(fact_type, type="array")
    example = _example(fact_type.id)
    items = fact_type.schema["properties"][field]["items"]
    one = items["enum"][0] if "enum" in items else "a"
    assert assert_agree(fact_type, example | {field: [one]}) is True
    assert assert_agree(fact_type, example | {field: [one, one]}) is False
    assert assert_agree(fact_type, example | {field: (one,)}) is False  # a tuple is no array
    assert assert_agree(fact_type, example | {field: [[one]]}) is False


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [31, 32, 40, 5000])
def test_deep_nesting(depth: int) -> None:
    fact_type = CATALOG.get("police.incident/1")
    example = _example(fact_type.id)
    for document in (
        example | {"description": _nested(depth)},
        example | {"police_contact": {"role": _nested(depth)}},
        _nested(depth),
    ):
        assert assert_agree(fact_type, document) is False


def test_a_construct_not_vouched_for_gets_no_precheck() -> None:
    base = {"type": "object", "additionalProperties": False}
    for sub in (
        {"type": "string", "const": "x", "maxLength": 1},
        {"type": "integer", "enum": [1, 2], "minimum": 0, "maximum": 3},
        {"type": "number", "minimum": 0.5, "maximum": 3},
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True, "maxItems": 3},
        {"type": "string", "format": "email", "maxLength": 9},
        {"type": ["string", "null"], "maxLength": 9},
        {"type": "object", "additionalProperties": True, "properties": {}},
        {"maxLength": 9},
    ):
        assert _compile_precheck(base | {"properties": {"a": sub}}) is None, sub


def test_non_finite_and_foreign_values_are_not_plain_json() -> None:
    assert _is_plain_json({"a": [1, 1.5, "x", None, True]})
    for value in (math.nan, math.inf, Decimal("1"), ("a",), {1: "a"}, "\udc00", b"x"):
        assert not _is_plain_json({"a": value}), value
