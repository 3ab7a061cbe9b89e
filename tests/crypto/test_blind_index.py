"""Blind index: the same person matches however a partner wrote them down, nothing else leaks."""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crypto import (
    BLIND_INDEX_HEX_CHARS,
    BlindIndexer,
    InvalidIdentifier,
    normalize_bsn,
    normalize_dob,
    normalize_name,
    valid_bsn,
)

KEY = bytes(range(32))
INDEXER = BlindIndexer(key=KEY)
VALID_BSN = "111222333"  # 9*1+8*1+7*1+6*2+5*2+4*2+3*3+2*3-3 = 66 = 6*11
VALID_BSN_LEADING_ZERO = "010000008"

# Known answers, computed with hmac/hashlib directly over the documented message layout.
BSN_KAT = "c97d72194c0c7fee6df0733dc0684e3c"
NAME_DOB_KAT = "b3ca2a9a9ab9cf7c07024083c9d33d80"


def _lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


# --- known answers -----------------------------------------------------------------------------


def test_bsn_index_known_answer() -> None:
    assert INDEXER.bsn(VALID_BSN) == BSN_KAT


def test_name_dob_index_known_answer() -> None:
    assert INDEXER.name_dob("jose de vries", "1990-01-31") == NAME_DOB_KAT


def test_known_answers_follow_the_documented_message_layout() -> None:
    def mac(*fields: bytes) -> str:
        message = _lp(b"vhhub/blind-index/v1", *fields)
        return hmac.new(KEY, message, hashlib.sha256).digest()[:16].hex()

    assert mac(b"bsn", b"111222333") == BSN_KAT
    assert mac(b"name_dob", b"jose de vries", b"1990-01-31") == NAME_DOB_KAT


def test_index_is_128_bits_of_lower_case_hex() -> None:
    value = INDEXER.bsn(VALID_BSN)
    assert len(value) == BLIND_INDEX_HEX_CHARS == 32
    assert re.fullmatch(r"[0-9a-f]{32}", value)


# --- the key matters ---------------------------------------------------------------------------


def test_another_key_gives_another_index() -> None:
    assert BlindIndexer(key=bytes(32)).bsn(VALID_BSN) != INDEXER.bsn(VALID_BSN)


def test_key_shorter_than_256_bits_is_refused() -> None:
    with pytest.raises(ValueError):
        BlindIndexer(key=bytes(16))


def test_kinds_are_domain_separated() -> None:
    """A BSN and a name that happen to share text never share an index."""
    bsn = INDEXER.bsn(VALID_BSN)
    assert bsn != INDEXER.name_dob(VALID_BSN, "1990-01-31")


# --- BSN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "111222333",
        " 111 222 333 ",
        "111.222.333",
        "111-222-333",
        "1112.22.333",
        "111\u2013222\u2013333",  # en dash
        "111\u00a0222\u00a0333",  # no-break space
        "\uff11\uff11\uff11\uff12\uff12\uff12\uff13\uff13\uff13",  # full-width digits
    ],
)
def test_bsn_written_in_any_usual_way_normalises_to_nine_digits(written: str) -> None:
    assert normalize_bsn(written) == VALID_BSN
    assert INDEXER.bsn(written) == BSN_KAT


def test_bsn_with_dropped_leading_zero_matches_the_nine_digit_form() -> None:
    assert normalize_bsn(VALID_BSN_LEADING_ZERO[1:]) == VALID_BSN_LEADING_ZERO
    assert INDEXER.bsn("10000008") == INDEXER.bsn(VALID_BSN_LEADING_ZERO)


@pytest.mark.parametrize(
    "bad",
    [
        "111222334",  # fails the 11-proef
        "123456789",  # fails the 11-proef
        "000000000",  # passes the arithmetic, is no BSN
        "11122233",  # 8 digits, fails once padded
        "1112223330",  # 10 digits
        "1234567",
        "",
        "   ",
        "11122233a",
        "111/222/333",
        "\u0661\u0661\u0661\u0662\u0662\u0662\u0663\u0663\u0663",  # Arabic-Indic digits
    ],
)
def test_invalid_bsn_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        normalize_bsn(bad)
    assert isinstance(info.value, ValueError)
    if bad.strip():
        assert bad.strip() not in str(info.value)
    assert info.value.__cause__ is None
    assert not valid_bsn(bad)
    with pytest.raises(InvalidIdentifier):
        INDEXER.bsn(bad)


def test_bsn_as_int_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        normalize_bsn(111222333)  # type: ignore[arg-type]


@pytest.mark.parametrize("good", [VALID_BSN, VALID_BSN_LEADING_ZERO, "999999990", "123456782"])
def test_valid_bsn_accepts_numbers_passing_the_11_proef(good: str) -> None:
    assert valid_bsn(good)


#: The 11-proef weights of the nine BSN digits (the last one counts negative).
BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


@given(st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_11_proef_property(digits: str) -> None:
    expected = sum(w * int(d) for w, d in zip(BSN_WEIGHTS, digits)) % 11 == 0 and digits != "0" * 9
    assert valid_bsn(digits) == expected


def _with_check_digit(first8: str) -> str | None:
    """The BSN that completes `first8` under the 11-proef, if one digit does."""
    check = sum(w * int(d) for w, d in zip(BSN_WEIGHTS, first8)) % 11
    return None if check == 10 else first8 + str(check)


#: Valid BSNs built digit by digit (filtering random nine digits discards 10 in 11, which
#: trips Hypothesis's filter_too_much health check now and then).
valid_bsns = (
    st.from_regex(r"[0-9]{8}", fullmatch=True)
    .map(_with_check_digit)
    .filter(lambda b: b is not None and valid_bsn(b))
    .map(str)
)


@given(
    valid_bsns,
    st.lists(st.sampled_from([" ", ".", "-", ""]), min_size=10, max_size=10),
)
def test_separators_anywhere_do_not_change_the_index(digits: str, seps: list[str]) -> None:
    written = "".join(s + d for s, d in zip(seps, digits)) + seps[-1]
    assert INDEXER.bsn(written) == INDEXER.bsn(digits)


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("José  de Vries", "jose de vries"),
        ("JOSÉ DE VRIES", "jose de vries"),
        ("Jose\u0301 de Vries", "José de Vries"),  # decomposed vs composed é
        ("  José\tde\nVries ", "jose de vries"),
        ("Jansen-de Vries", "Jansen de Vries"),
        ("O'Brien", "OBrien"),
        ("Ørsted", "Orsted"),
        ("Straße", "strasse"),
        ("Çelik Öztürk", "celik ozturk"),
        ("Bijl", "B\u0133l"),  # ij ligature
        ("Łukasz Wałęsa", "lukasz walesa"),
        ("Zoë", "Zoe"),
    ],
)
def test_name_spelling_variants_match(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)
    assert INDEXER.name_dob(a, "1990-01-31") == INDEXER.name_dob(b, "1990-01-31")


def test_normalised_name_form() -> None:
    assert normalize_name("  José  de   Vries ") == "jose de vries"


@pytest.mark.parametrize(("a", "b"), [("de Vries", "de Vriess"), ("Jan Pieter", "Pieter Jan")])
def test_different_names_stay_different(a: str, b: str) -> None:
    assert normalize_name(a) != normalize_name(b)


@pytest.mark.parametrize("bad", ["", "   ", "...", "'-'"])
def test_empty_name_is_refused(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_name(bad)


@given(st.text(max_size=40))
def test_name_normalisation_is_idempotent(text: str) -> None:
    try:
        once = normalize_name(text)
    except InvalidIdentifier:
        return
    assert normalize_name(once) == once
    assert once == once.strip() and "  " not in once


# --- dates of birth ----------------------------------------------------------------------------


def test_date_and_iso_string_give_the_same_index() -> None:
    assert normalize_dob(date(1990, 1, 31)) == normalize_dob(" 1990-01-31 ") == "1990-01-31"
    assert INDEXER.name_dob("Jose de Vries", date(1990, 1, 31)) == NAME_DOB_KAT


@pytest.mark.parametrize(
    "bad", ["1990-1-31", "1990-02-30", "19900131", "31-01-1990", "1990-W05-3", "", "1990-01-31T00"]
)
def test_malformed_date_of_birth_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        normalize_dob(bad)
    if bad:
        assert bad not in str(info.value)


def test_datetime_is_not_a_date_of_birth() -> None:
    with pytest.raises(TypeError):
        normalize_dob(datetime(1990, 1, 31, 23, 30))


def test_another_date_of_birth_gives_another_index() -> None:
    assert INDEXER.name_dob("Jose de Vries", "1990-01-30") != NAME_DOB_KAT


# --- misuse ------------------------------------------------------------------------------------


def test_non_text_identifiers_are_type_errors() -> None:
    with pytest.raises(TypeError):
        INDEXER.bsn(111222333)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        INDEXER.name_dob(("Jose", "de Vries"), "1990-01-31")  # type: ignore[arg-type]
