"""Envelope encryption: payloads open only with their case key, in their own place."""

from __future__ import annotations

import copy
import pickle
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crypto import (
    Aad,
    DataKey,
    DecryptionError,
    Kek,
    WrappedKey,
    new_data_key,
    open_sealed,
    seal,
    unwrap,
    wrap,
)
from hub.crypto.envelope import _seal_with_nonce

KEY = bytes(range(32))
NONCE = bytes(range(12))
AAD = Aad(purpose="fact", case_id="case-1", row_id="fact-1", schema_id="housing.eviction/1")
PLAINTEXT = b"Hallo, Veiligheidshuis"

# Known answers, computed independently of hub.crypto with AESGCM and the documented layout.
AAD_ENCODED = bytes.fromhex(
    "0000000c76686875622f6161642f7631"  # lp("vhhub/aad/v1")
    "0000000466616374"  # lp("fact")
    "00000006636173652d31"  # lp("case-1")
    "00000006666163742d31"  # lp("fact-1")
    "00000012686f7573696e672e6576696374696f6e2f31"  # lp("housing.eviction/1")
)
SEALED_KAT = bytes.fromhex(
    "01"  # version
    "000102030405060708090a0b"  # nonce
    "0f63ba77aac9e24de828fbe2d6811d04e7a5ef419908"  # ciphertext
    "e48a2e29d5b3ccf97e0cc686384efc09"  # tag
)
WRAP_KEK = bytes(range(64, 96))
WRAP_DEK = bytes(range(32, 64))
WRAPPED_KAT = bytes.fromhex(
    "01"  # version
    "02"
    "7631"  # length-prefixed KEK version "v1"
    "6465666768696a6b6c6d6e6f"  # nonce
    "d15f244771b7e095e54bb9ab75d5b3c97c6fbef9a5b98bf124b8f5d77e7c8205"  # wrapped DEK
    "e08ed0423265898f54e27eb89f16eae0"  # tag
)

purposes = st.from_regex(r"[a-z][a-z0-9_.\-]{0,20}", fullmatch=True)
aads = st.builds(
    Aad,
    purpose=purposes,
    case_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    row_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    schema_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
)


def _sealed() -> bytes:
    return _seal_with_nonce(DataKey(key=KEY), PLAINTEXT, aad=AAD, nonce=NONCE)


# --- known answers -----------------------------------------------------------------------------


def test_aad_encoding_matches_the_documented_layout() -> None:
    assert AAD.encode() == AAD_ENCODED


def test_sealed_format_matches_known_answer() -> None:
    assert _sealed() == SEALED_KAT


def test_known_answer_opens() -> None:
    assert open_sealed(DataKey(key=KEY), SEALED_KAT, aad=AAD) == PLAINTEXT


def test_wrapped_key_known_answer_unwraps() -> None:
    wrapped = WrappedKey.from_bytes(WRAPPED_KAT)
    assert wrapped.kek_version == "v1"
    assert wrapped.to_bytes() == WRAPPED_KAT
    dek = unwrap(Kek(version="v1", key=WRAP_KEK), wrapped, case_id="case-1")
    assert dek == DataKey(key=WRAP_DEK)


def test_sealed_blob_is_version_nonce_ciphertext_tag() -> None:
    blob = seal(new_data_key(), b"x" * 10, aad=AAD)
    assert blob[0] == 0x01
    assert len(blob) == 1 + 12 + 10 + 16


# --- round trips -------------------------------------------------------------------------------


@given(plaintext=st.binary(max_size=2048), aad=aads)
def test_seal_then_open_returns_the_plaintext(plaintext: bytes, aad: Aad) -> None:
    key = new_data_key()
    assert open_sealed(key, seal(key, plaintext, aad=aad), aad=aad) == plaintext


def test_sealing_twice_gives_different_ciphertexts() -> None:
    key = new_data_key()
    assert seal(key, PLAINTEXT, aad=AAD) != seal(key, PLAINTEXT, aad=AAD)


@given(case_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_wrap_then_unwrap_returns_the_data_key(case_id: str) -> None:
    kek = Kek.generate("v1")
    dek = new_data_key()
    wrapped = wrap(kek, dek, case_id=case_id)
    assert wrapped.kek_version == "v1"
    assert unwrap(kek, WrappedKey.from_bytes(wrapped.to_bytes()), case_id=case_id) == dek


# --- tampering ---------------------------------------------------------------------------------


def test_any_flipped_bit_fails_to_open() -> None:
    key = DataKey(key=KEY)
    blob = _sealed()
    for i in range(len(blob) * 8):
        tampered = bytearray(blob)
        tampered[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptionError):
            open_sealed(key, bytes(tampered), aad=AAD)


def test_any_truncation_or_extension_fails_to_open() -> None:
    key = DataKey(key=KEY)
    blob = _sealed()
    for n in range(len(blob)):
        with pytest.raises(DecryptionError):
            open_sealed(key, blob[:n], aad=AAD)
    with pytest.raises(DecryptionError):
        open_sealed(key, blob + b"\x00", aad=AAD)


@pytest.mark.parametrize("version", [0x00, 0x02, 0xFF])
def test_unknown_format_version_fails_to_open(version: int) -> None:
    blob = bytes([version]) + _sealed()[1:]
    with pytest.raises(DecryptionError):
        open_sealed(DataKey(key=KEY), blob, aad=AAD)


@pytest.mark.parametrize(
    "moved",
    [
        Aad(purpose="fact", case_id="case-1", row_id="fact-2", schema_id="housing.eviction/1"),
        Aad(purpose="fact", case_id="case-2", row_id="fact-1", schema_id="housing.eviction/1"),
        Aad(purpose="plan", case_id="case-1", row_id="fact-1", schema_id="housing.eviction/1"),
        Aad(purpose="fact", case_id="case-1", row_id="fact-1", schema_id="housing.eviction/2"),
    ],
    ids=["other-row", "other-case", "other-purpose", "other-schema"],
)
def test_ciphertext_moved_to_another_place_fails_to_open(moved: Aad) -> None:
    with pytest.raises(DecryptionError):
        open_sealed(DataKey(key=KEY), _sealed(), aad=moved)


def test_another_case_key_fails_to_open() -> None:
    with pytest.raises(DecryptionError):
        open_sealed(new_data_key(), _sealed(), aad=AAD)


@given(
    a=st.lists(st.text(max_size=6), min_size=3, max_size=3),
    b=st.lists(st.text(max_size=6), min_size=3, max_size=3),
)
def test_aad_encoding_is_unambiguous(a: list[str], b: list[str]) -> None:
    """Different field tuples never encode alike (no "ab"+"c" == "a"+"bc")."""
    if "" in a or "" in b:
        return
    aad_a = Aad(purpose="fact", case_id=a[0], row_id=a[1], schema_id=a[2])
    aad_b = Aad(purpose="fact", case_id=b[0], row_id=b[1], schema_id=b[2])
    assert (aad_a.encode() == aad_b.encode()) == (a == b)


def test_wrapped_key_for_another_case_fails_to_unwrap() -> None:
    kek = Kek.generate("v1")
    wrapped = wrap(kek, new_data_key(), case_id="case-1")
    with pytest.raises(DecryptionError):
        unwrap(kek, wrapped, case_id="case-2")


def test_wrong_kek_fails_to_unwrap() -> None:
    wrapped = wrap(Kek.generate("v1"), new_data_key(), case_id="case-1")
    with pytest.raises(DecryptionError):
        unwrap(Kek.generate("v1"), wrapped, case_id="case-1")
    with pytest.raises(DecryptionError):
        unwrap(Kek.generate("v2"), wrapped, case_id="case-1")


def test_rewritten_kek_version_fails_to_unwrap() -> None:
    """The version id is authenticated: pointing a record at another KEK does not work."""
    key = bytes(32)
    wrapped = wrap(Kek(version="v1", key=key), new_data_key(), case_id="c")
    relabelled = WrappedKey(kek_version="v2", body=wrapped.to_bytes()[4:])
    with pytest.raises(DecryptionError):
        unwrap(Kek(version="v2", key=key), relabelled, case_id="c")


def test_any_flipped_bit_in_a_wrapped_key_fails() -> None:
    kek = Kek(version="v1", key=WRAP_KEK)
    for i in range(len(WRAPPED_KAT) * 8):
        tampered = bytearray(WRAPPED_KAT)
        tampered[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptionError):
            unwrap(kek, WrappedKey.from_bytes(bytes(tampered)), case_id="case-1")


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01",
        b"\x02" + WRAPPED_KAT[1:],
        WRAPPED_KAT[:-1],
        WRAPPED_KAT + b"\x00",
        b"\x01\x02V1" + WRAPPED_KAT[4:],
        b"\x01\x02\xff\xfe" + WRAPPED_KAT[4:],
    ],
    ids=["empty", "short", "version", "truncated", "extended", "bad-version-id", "not-ascii"],
)
def test_malformed_wrapped_key_record_is_a_decryption_error(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        WrappedKey.from_bytes(blob)


# --- one opaque error --------------------------------------------------------------------------


def _failure(fn: object) -> DecryptionError:
    with pytest.raises(DecryptionError) as info:
        fn()  # type: ignore[operator]
    return info.value


def test_every_failure_looks_the_same() -> None:
    key = DataKey(key=KEY)
    other_place = Aad(purpose="fact", case_id="case-1", row_id="x", schema_id="s")
    failures = [
        _failure(lambda: open_sealed(new_data_key(), SEALED_KAT, aad=AAD)),
        _failure(lambda: open_sealed(key, SEALED_KAT, aad=other_place)),
        _failure(lambda: open_sealed(key, SEALED_KAT[:5], aad=AAD)),
        _failure(lambda: open_sealed(key, b"\x09" + SEALED_KAT[1:], aad=AAD)),
        _failure(lambda: open_sealed(key, SEALED_KAT[:-1] + b"\x00", aad=AAD)),
        _failure(lambda: WrappedKey.from_bytes(b"junk")),
    ]
    assert {(str(e), repr(e), e.args) for e in failures} == {
        ("decryption failed", "DecryptionError()", ("decryption failed",))
    }
    for e in failures:
        # No chained cause that would tell which check failed.
        assert e.__cause__ is None
        assert e.__suppress_context__ or e.__context__ is None


def test_error_text_holds_no_key_or_plaintext() -> None:
    e = _failure(
        lambda: open_sealed(
            DataKey(key=KEY),
            SEALED_KAT,
            aad=Aad(
                purpose="fact", case_id="case-1", row_id="fact-9", schema_id="housing.eviction/1"
            ),
        )
    )
    text = f"{e} {e!r} {e.args}"
    for secret in (KEY.hex(), repr(KEY), PLAINTEXT.decode(), PLAINTEXT.hex()):
        assert secret not in text


# --- keys that keep their secrets --------------------------------------------------------------


def test_key_reprs_show_no_key_bytes() -> None:
    key = bytes(range(200, 232))
    for shown in (
        repr(DataKey(key=key)),
        str(DataKey(key=key)),
        repr(Kek(version="v7", key=key)),
        str(Kek(version="v7", key=key)),
    ):
        assert key.hex() not in shown
        assert repr(key)[2:20] not in shown
        assert "\\x" not in shown
    assert repr(Kek(version="v7", key=key)) == "Kek(version='v7')"
    assert repr(DataKey(key=key)) == "DataKey(<redacted>)"


def test_wrapped_key_repr_shows_only_the_version() -> None:
    wrapped = WrappedKey.from_bytes(WRAPPED_KAT)
    assert repr(wrapped) == "WrappedKey(kek_version='v1')"


@pytest.mark.parametrize("key", [DataKey(key=KEY), Kek(version="v1", key=KEY)], ids=["dek", "kek"])
def test_keys_refuse_to_be_pickled(key: object) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert copy.deepcopy(key) is key


def test_keys_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(DataKey(key=KEY))
    with pytest.raises(TypeError):
        hash(Kek(version="v1", key=KEY))


# --- hard to misuse ----------------------------------------------------------------------------


def test_a_kek_cannot_seal_payloads() -> None:
    with pytest.raises(TypeError):
        seal(Kek(version="v1", key=KEY), PLAINTEXT, aad=AAD)  # type: ignore[arg-type]


def test_aad_must_be_an_aad() -> None:
    with pytest.raises(TypeError):
        seal(new_data_key(), PLAINTEXT, aad=b"case-1")  # type: ignore[arg-type]


def test_text_must_be_encoded_before_sealing() -> None:
    with pytest.raises(TypeError):
        seal(new_data_key(), "text", aad=AAD)  # type: ignore[arg-type]


def test_aad_fields_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Aad("fact", "case-1", "fact-1", "schema")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "fields",
    [
        {"purpose": "", "case_id": "c", "row_id": "r", "schema_id": "s"},
        {"purpose": "Fact", "case_id": "c", "row_id": "r", "schema_id": "s"},
        {"purpose": "fact", "case_id": "", "row_id": "r", "schema_id": "s"},
        {"purpose": "fact", "case_id": "c", "row_id": "", "schema_id": "s"},
        {"purpose": "fact", "case_id": "c", "row_id": "r", "schema_id": ""},
        {"purpose": "fact", "case_id": "c\ud800", "row_id": "r", "schema_id": "s"},
    ],
)
def test_aad_refuses_empty_or_malformed_fields(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Aad(**fields)


def test_aad_refuses_non_text_ids() -> None:
    with pytest.raises(TypeError):
        Aad(purpose="fact", case_id=1, row_id="r", schema_id="s")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [b"", bytes(16), bytes(31), bytes(33)])
def test_keys_must_be_256_bits(bad: bytes) -> None:
    with pytest.raises(ValueError):
        DataKey(key=bad)
    with pytest.raises(ValueError):
        Kek(version="v1", key=bad)


@pytest.mark.parametrize("version", ["", "V1", "current", "a-b", "../x", "x" * 49, "_v1"])
def test_kek_version_ids_are_restricted(version: str) -> None:
    with pytest.raises(ValueError):
        Kek(version=version, key=KEY)


def test_seal_with_nonce_requires_96_bits() -> None:
    with pytest.raises(ValueError):
        _seal_with_nonce(DataKey(key=KEY), b"", aad=AAD, nonce=bytes(8))


def test_length_prefix_is_big_endian_u32() -> None:
    assert AAD_ENCODED[:4] == struct.pack(">I", len(b"vhhub/aad/v1"))
