"""The canonical bytes of fact content did not change when the JCS writer was made faster.

A receipt's content digest is an HMAC over the RFC 8785 bytes of the content
(hub/receipts/jcs.py); a partner recomputes it with any RFC 8785 library, and a digest issued
before a change must still verify after it. ``_write`` was restructured for speed (ADR 0020:
strings first, plain-string members written in place); this test holds it to the writer it
replaced, kept here verbatim as the reference, over generated JSON values -- floats, integers
beyond 2^53, keys whose UTF-16 order differs from their code-point order, lone surrogates,
tuples, non-string keys, NaN -- and over nesting at the depth limit: the same bytes, or the
same refusal.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.receipts.jcs import (
    _MAX_DEPTH,
    _MAX_SAFE,
    CanonicalizationError,
    _string,
    _utf16_order,
    canonicalize,
    number_text,
)


def _reference_write(value: Any, out: list[str], depth: int) -> None:
    """``jcs._write`` as it was before the change (commit 01c4101)."""
    if depth > _MAX_DEPTH:
        raise CanonicalizationError("the value is nested too deeply")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value) if abs(value) <= _MAX_SAFE else number_text(float(value)))
    elif isinstance(value, float):
        out.append(number_text(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CanonicalizationError("an object key is not a string")
        out.append("{")
        ascii_keys = all(k.isascii() for k in value)
        keys = sorted(value) if ascii_keys else sorted(value, key=_utf16_order)
        for index, key in enumerate(keys):
            if index:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _reference_write(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _reference_write(item, out, depth + 1)
        out.append("]")
    else:
        raise CanonicalizationError("the value is not JSON")


def _reference(value: Any, *, lone_surrogates: bool) -> bytes:
    parts: list[str] = []
    try:
        _reference_write(value, parts, 0)
    except OverflowError:
        # the one change since: an integer beyond the largest double (10**400) crashed the
        # writer with OverflowError and is now refused as not I-JSON
        raise CanonicalizationError("a number is beyond the range of a double") from None
    try:
        return "".join(parts).encode("utf-8", "surrogatepass" if lone_surrogates else "strict")
    except UnicodeEncodeError:
        raise CanonicalizationError("a string holds a lone surrogate") from None


def _outcome(function: Any, value: Any, lone_surrogates: bool) -> bytes | str:
    try:
        result: bytes = function(value, lone_surrogates=lone_surrogates)
    except CanonicalizationError as exc:
        return f"refused: {exc}"
    return result


def assert_same(value: Any) -> None:
    for lone in (False, True):
        assert _outcome(canonicalize, value, lone) == _outcome(_reference, value, lone)


texts = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        [
            "",
            "\ud800",
            "a\udc00b",
            "\ue000",
            "\uffff",
            "\U0001f600",
            "\u20ac",
            '"\\\n\t\x00\x1f\x7f',
            "\u2028",
        ]
    ),
)
keys = st.one_of(texts, st.sampled_from([1, None, True, 1.5]))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([_MAX_SAFE, _MAX_SAFE + 1, -_MAX_SAFE, -_MAX_SAFE - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(texts, children, max_size=4),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=20,
)


@settings(max_examples=400, derandomize=True, database=None)
@given(values)
def test_generated_values_give_the_same_bytes_or_the_same_refusal(value: Any) -> None:
    assert_same(value)


def _nested(depth: int, leaf: Any, kind: str) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if kind == "dict" else [value]
    return value


@pytest.mark.parametrize("depth", [_MAX_DEPTH - 1, _MAX_DEPTH, _MAX_DEPTH + 1, _MAX_DEPTH + 2])
@pytest.mark.parametrize("kind", ["dict", "list"])
@pytest.mark.parametrize("leaf", ["x", 1, [], {}, ["x"], {"b": "x"}])
def test_the_depth_limit_is_where_it_was(depth: int, kind: str, leaf: Any) -> None:
    assert_same(_nested(depth, leaf, kind))


def test_hand_picked_values() -> None:
    for value in (
        {},
        [],
        (),
        {"b": "x", "a": ["y", 1, 1.0, -0.0, 1e21, 1e-7, None, True, False, {}]},
        {"\U0001f600": 1, "\ue000": 2, "a": 3},  # UTF-16 order differs from code points
        {"z": "\ud800"},
        ["\udc00"],
        {"a": math.nan},
        {"a": object()},
        [2**53 + 1, -(2**53) - 1],
        "plain",
        "",
    ):
        assert_same(value)
