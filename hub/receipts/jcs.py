"""RFC 8785 JSON Canonicalization Scheme (JCS) for any JSON value a publisher sends.

A pure module (docs/principles.md section 5): the receipt's content digest is computed over
these bytes, so a publisher must be able to recompute them with any RFC 8785 library. The
access log has its own, narrower subset (hub/audit/entry.py: integers and strings only);
fact content may hold numbers with fractions, so this module implements the whole of
section 3.2: object members sorted by their UTF-16 code units, no whitespace, strings
escaped as ECMAScript's JSON.stringify does, and numbers serialised as ECMAScript's
Number.prototype.toString (section 3.2.2.3) -- integers beyond 2^53 are read as IEEE 754
doubles, as I-JSON (RFC 7493) says they must be.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["CanonicalizationError", "canonicalize"]

_MAX_SAFE = 2**53
#: what json.dumps(text, ensure_ascii=False) calls, without building an encoder per string
_string = json.encoder.encode_basestring
_MAX_DEPTH = 64


class CanonicalizationError(ValueError):
    """The value is not I-JSON (NaN, infinity, a number beyond the range of a double, a lone
    surrogate, a non-string key, too deep).
    The message never shows the value."""


def canonicalize(value: Any, *, lone_surrogates: bool = False) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool,
    None).

    `lone_surrogates=True` writes a lone surrogate as its three-byte form instead of refusing
    it: the same bytes for every valid text, and still one spelling for content that holds
    one. Only the hub's own digest of content that reached it past the HTTP edge (which
    refuses such escapes) needs it; no publisher can send such content."""
    parts: list[str] = []
    _write(value, parts, 0)
    try:
        return "".join(parts).encode("utf-8", "surrogatepass" if lone_surrogates else "strict")
    except UnicodeEncodeError:
        raise CanonicalizationError("a string holds a lone surrogate") from None


def _write(value: Any, out: list[str], depth: int) -> None:
    # Ordered by how often each kind occurs in fact content and receipt claims (strings
    # first), and a member or item that is a plain string is written in place, without a
    # call of its own: a receipt canonicalises three values per fact (ADR 0020). The bytes
    # and the refusals are those of RFC 8785 either way (tests/receipts, tests/facts).
    if depth > _MAX_DEPTH:
        raise CanonicalizationError("the value is nested too deeply")
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value) if abs(value) <= _MAX_SAFE else number_text(_double(value)))
    elif isinstance(value, float):
        out.append(number_text(value))
    elif isinstance(value, dict):
        ascii_keys = True
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError("an object key is not a string")
            if ascii_keys and not key.isascii():
                ascii_keys = False
        # ASCII keys sort the same by code point as by UTF-16 code unit, without encoding
        keys = sorted(value) if ascii_keys else sorted(value, key=_utf16_order)
        inline = depth < _MAX_DEPTH  # a member one level down is still within the limit
        separator = "{"
        for key in keys:
            out.append(separator)
            separator = ","
            out.append(_string(key))
            out.append(":")
            member = value[key]
            if inline and type(member) is str:
                out.append(_string(member))
            else:
                _write(member, out, depth + 1)
        out.append("}" if keys else "{}")
    elif isinstance(value, list | tuple):
        inline = depth < _MAX_DEPTH
        separator = "["
        for item in value:
            out.append(separator)
            separator = ","
            if inline and type(item) is str:
                out.append(_string(item))
            else:
                _write(item, out, depth + 1)
        out.append("]" if value else "[]")
    else:
        raise CanonicalizationError("the value is not JSON")


def _double(value: int) -> float:
    """An integer beyond 2^53 as the double I-JSON reads it; beyond the largest double there
    is none, and JSON.stringify would write "Infinity", which is not JSON."""
    try:
        return float(value)
    except OverflowError:
        raise CanonicalizationError("a number is beyond the range of a double") from None


def _utf16_order(key: str) -> bytes:
    # a lone surrogate is its own code unit, so it sorts where UTF-16 puts it; whether it
    # may appear at all is decided when the text is encoded (`canonicalize`)
    return key.encode("utf-16-be", "surrogatepass")


def number_text(value: float) -> str:
    """ECMAScript Number.prototype.toString of a double (ECMA-262 7.1.12.1), as RFC 8785
    3.2.2.3 requires; Python's repr gives the same shortest round-trip digits."""
    if math.isnan(value) or math.isinf(value):
        raise CanonicalizationError("NaN and infinity are not JSON")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    text = repr(abs(value))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    s = stripped.rstrip("0")
    k, n = len(s), point
    if k <= n <= 21:
        body = s + "0" * (n - k)
    elif 0 < n <= 21:
        body = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + s
    else:
        e = n - 1
        mark = "+" if e >= 0 else "-"
        body = (s if k == 1 else s[0] + "." + s[1:]) + "e" + mark + str(abs(e))
    return sign + body
