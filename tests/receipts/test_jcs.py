"""RFC 8785 canonical JSON, the input of a receipt's content digest: known answers from the
RFC and ECMAScript's number formatting, so any JCS library recomputes the same digest."""

from __future__ import annotations

import json

import pytest

from hub.receipts.jcs import CanonicalizationError, canonicalize, number_text
from hub.receipts.receipt import content_digest


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (123.456, "123.456"),
        (-1.5, "-1.5"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (333333333.3333333, "333333333.3333333"),
        (4.5, "4.5"),
        (2e-3, "0.002"),
    ],
)
def test_numbers_are_written_as_ecmascript_writes_them(value: float, text: str) -> None:
    assert number_text(value) == text


def test_rfc_8785_sorts_members_by_utf16_code_units_and_escapes_minimally() -> None:
    # RFC 8785 section 3.2.3: the sorting example
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonicalize(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert canonicalize({"b": [1, 2.5, None, True], "a": '\u2028\x1f"\\'}) == (
        b'{"a":"\xe2\x80\xa8\\u001f\\"\\\\","b":[1,2.5,null,true]}'
    )
    # integers beyond 2^53 are doubles in JSON (I-JSON)
    assert canonicalize(9007199254740993) == b"9007199254740992"


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), {"\ud800": 1}, "\udc00", {1: 2}, [10**400], -(10**400)]
)
def test_what_is_not_i_json_is_refused_without_echo(bad: object) -> None:
    with pytest.raises(CanonicalizationError) as refused:
        canonicalize(bad)
    assert "\ud800" not in str(refused.value) and "\udc00" not in str(refused.value)


def test_the_digest_is_keyed_by_the_salt_and_blind_to_key_order() -> None:
    salt = bytes(range(32))
    one = content_digest({"a": 1, "b": "ja"}, salt)
    assert one == content_digest({"b": "ja", "a": 1.0}, salt)
    assert one != content_digest({"a": 1, "b": "nee"}, salt)
    assert one != content_digest({"a": 1, "b": "ja"}, bytes(32))
    with pytest.raises(ValueError):
        content_digest({}, b"short")
