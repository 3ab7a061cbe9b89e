"""Keyed blind index for subject identifiers: match people without decrypting anyone.

Screening asks "is this person already known in an open case, and to whom?". Identifiers
are stored encrypted under each case's own key, so matching by decrypting would mean
decrypting every subject of every case. Instead each identifier also gets a blind index:
HMAC-SHA256, under a key of its own kept apart from the database, over a normalised form
of the identifier. Equal people give equal indexes; the index alone reveals nothing else.

Decisions (docs/adr/0302-blind-index.md):

- Two kinds, domain-separated: ``"bsn"`` and ``"name_dob"`` (name + date of birth). A BSN
  is a strong unique key; name + dob is a weaker fallback for people whose BSN a partner
  does not have (or may not process). They never share an index value.
- Output: the first 128 bits of the HMAC as 32 lower-case hex characters. Collisions are
  negligible at any realistic population; truncation neither helps nor hurts an attacker
  who holds the key (they compute the same 128 bits).
- HMAC input: ``lp("vhhub/blind-index/v1") || lp(kind) || lp(field) ...`` (u32
  big-endian length prefixes), so no two different (kind, fields) tuples collide.
- The key never leaves `hub.crypto`: feature code gets a `BlindIndexer` from
  ``KeyProvider.blind_indexer()`` and calls ``indexer.bsn(...)`` / ``indexer.name_dob(...)``.
  No function takes key bytes; the indexer is the only holder of the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import unicodedata
from datetime import date, datetime
from typing import Final, Literal, NoReturn

from hub.crypto.errors import InvalidIdentifier

__all__ = [
    "BLIND_INDEX_HEX_CHARS",
    "BlindIndexKind",
    "BlindIndexer",
    "normalize_bsn",
    "normalize_dob",
    "normalize_name",
    "valid_bsn",
]

BlindIndexKind = Literal["bsn", "name_dob"]

_DOMAIN: Final = b"vhhub/blind-index/v1"
_TRUNCATE_BYTES: Final = 16  # 128 bits
#: Length of every blind index string (hex of 128 bits); size the column to it.
BLIND_INDEX_HEX_CHARS: Final = 2 * _TRUNCATE_BYTES
_MIN_KEY_BYTES: Final = 32

_BSN_WEIGHTS: Final = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Letters that NFKD does not decompose into base letter + mark, mapped to what a Dutch
# registry or a partner's keyboard would most likely use instead.
_TRANSLITERATE: Final = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "þ": "th"}
)


def _lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


# --- normalisation ----------------------------------------------------------------------------


def normalize_bsn(value: str) -> str:
    """The 9-digit canonical BSN, or `InvalidIdentifier`.

    Accepts the ways partners write a BSN: spaces, dots and dashes between digits,
    full-width digits, and the 8-digit form some systems keep after dropping the leading
    zero (left-padded back to 9). The result must pass the 11-proef and not be all zeros.
    """
    if not isinstance(value, str):
        # An int would already have lost a leading zero; refuse rather than guess.
        raise TypeError("a BSN must be given as a str")
    text = unicodedata.normalize("NFKC", value)
    digits = "".join(
        ch for ch in text if not (ch.isspace() or ch == "." or unicodedata.category(ch) == "Pd")
    )
    if not (digits.isascii() and digits.isdigit() and len(digits) in (8, 9)):
        raise InvalidIdentifier("not a valid BSN: expected 9 digits")
    digits = digits.zfill(9)
    if not _passes_elfproef(digits):
        raise InvalidIdentifier("not a valid BSN: fails the 11-proef")
    return digits


def _passes_elfproef(digits: str) -> bool:
    total = sum(w * int(d) for w, d in zip(_BSN_WEIGHTS, digits, strict=True))
    return total % 11 == 0 and digits != "000000000"


def valid_bsn(value: str) -> bool:
    """Whether `value` normalises to a BSN that passes the 11-proef (never raises on a str)."""
    try:
        normalize_bsn(value)
    except InvalidIdentifier:
        return False
    return True


def normalize_name(value: str) -> str:
    """A name reduced to what survives differences in spelling between partners.

    Unicode NFKD, diacritics stripped (José -> jose), a few undecomposable letters
    transliterated (ø -> o), casefolded (ß -> ss), dashes turned into spaces
    (Jansen-de Vries == Jansen de Vries), other punctuation and symbols dropped
    (O'Brien -> obrien), whitespace collapsed. Word order is kept: callers pass the full
    name in one consistent order (given names, prefix, surname).
    """
    if not isinstance(value, str):
        raise TypeError("a name must be a str")
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().translate(_TRANSLITERATE)
    # casefold/translate can produce new decomposable characters; normalise once more.
    text = unicodedata.normalize("NFKD", text)
    kept: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch.isspace() or cat == "Pd":
            kept.append(" ")
        elif cat[0] in ("L", "N"):
            kept.append(ch)
        # marks, other punctuation, symbols, controls: dropped
    name = " ".join("".join(kept).split())
    if not name:
        raise InvalidIdentifier("not a valid name: nothing left after normalisation")
    return name


def normalize_dob(value: str | date) -> str:
    """A date of birth as ISO ``YYYY-MM-DD``, from a `date` or a strict ISO string."""
    if isinstance(value, datetime):
        # A datetime carries a time and maybe a zone; its date can shift with either.
        raise TypeError("a date of birth must be a date, not a datetime")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise TypeError("a date of birth must be a date or an ISO YYYY-MM-DD str")
    text = value.strip()
    if not _ISO_DATE_RE.fullmatch(text):
        raise InvalidIdentifier("not a valid date of birth: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidIdentifier("not a valid date of birth: no such date") from None


# --- the index --------------------------------------------------------------------------------


def _check_key(key: object) -> bytes:
    if not isinstance(key, bytes):
        raise TypeError("the blind-index key must be bytes")
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the blind-index key must be at least {_MIN_KEY_BYTES} bytes")
    return key


def _mac(key: bytes, kind: str, *fields: str) -> str:
    message = _lp(_DOMAIN, kind.encode("ascii"), *(f.encode("utf-8") for f in fields))
    digest = hmac.new(_check_key(key), message, hashlib.sha256).digest()
    return digest[:_TRUNCATE_BYTES].hex()


class BlindIndexer:
    """Blind indexes under the hub's blind-index key, without handing the key out.

    Get one from ``KeyProvider.blind_indexer()``. Like the key objects of
    `hub.crypto.envelope` it cannot be pickled, copying returns the same object (no second
    holder of the key comes into being), and its repr and str show no key material.
    Equality is identity: comparing key bytes would turn ``==`` into a question about the
    key, and two indexers are interchangeable exactly when their outputs agree anyway.
    """

    __slots__ = ("_key",)
    _key: bytes

    def __init__(self, *, key: bytes) -> None:
        self._key = _check_key(key)

    def bsn(self, value: str) -> str:
        """Blind index of a BSN (normalised first; `InvalidIdentifier` if invalid)."""
        return _mac(self._key, "bsn", normalize_bsn(value))

    def name_dob(self, name: str, date_of_birth: str | date) -> str:
        """Blind index of full name and date of birth together (each normalised first)."""
        return _mac(self._key, "name_dob", normalize_name(name), normalize_dob(date_of_birth))

    def __repr__(self) -> str:
        return "BlindIndexer(<redacted>)"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__  # identity, like `__eq__`: nothing derived from the key

    def __reduce__(self) -> NoReturn:
        # The key must not leak into caches, task queues or pickled debug dumps by accident.
        raise TypeError("BlindIndexer cannot be pickled; get one from the key provider")

    def __copy__(self) -> BlindIndexer:
        return self  # immutable: a copy would only be a second holder of the key

    def __deepcopy__(self, memo: object) -> BlindIndexer:
        return self
