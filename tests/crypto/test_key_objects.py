"""Objects that hold a key use it and never show it: BlindIndexer and the audit SigningKey."""

from __future__ import annotations

import base64
import copy
import importlib
import pickle
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from hub.crypto import BlindIndexer, EnvKeyProvider, FileKeyProvider, KeyProvider, ensure_dev_keys
from hub.crypto.signing import SigningKey

KEY = bytes(range(32))
SEED = bytes(range(32, 64))
VALID_BSN = "111222333"

# Known answers shared with tests/crypto/test_blind_index.py (computed with hmac directly).
BSN_KAT = "c97d72194c0c7fee6df0733dc0684e3c"
NAME_DOB_KAT = "b3ca2a9a9ab9cf7c07024083c9d33d80"


def _shown(obj: object) -> list[str]:
    return [repr(obj), str(obj), f"{obj}", f"{obj!r}", f"{[obj]}", f"{ {'k': obj} }"]


def _forms_of(key: bytes) -> list[str]:
    """Ways a key could appear in text: hex, base64 (both alphabets), bytes repr."""
    return [
        key.hex(),
        base64.b64encode(key).decode().rstrip("="),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        repr(key)[2:20],
    ]


# --- BlindIndexer: the known answers ------------------------------------------------------------


def test_blind_indexer_gives_the_known_answers() -> None:
    indexer = BlindIndexer(key=KEY)
    assert indexer.bsn(VALID_BSN) == BSN_KAT
    assert indexer.bsn("1112.22.333") == BSN_KAT
    assert indexer.name_dob("jose de vries", "1990-01-31") == NAME_DOB_KAT
    assert indexer.name_dob("José  de Vries", date(1990, 1, 31)) == NAME_DOB_KAT


def test_blind_indexer_takes_the_key_by_keyword_as_bytes_of_256_bits_or_more() -> None:
    with pytest.raises(TypeError):
        BlindIndexer(KEY)  # type: ignore[misc]
    with pytest.raises(TypeError):
        BlindIndexer(key=KEY.hex())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BlindIndexer(key=bytearray(KEY))  # type: ignore[arg-type]
    with pytest.raises(ValueError) as info:
        BlindIndexer(key=KEY[:31])
    assert KEY[:31].hex() not in str(info.value)


# --- BlindIndexer: hard to leak -----------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_blind_indexer_cannot_be_pickled(protocol: int) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(BlindIndexer(key=KEY), protocol=protocol)
    with pytest.raises(TypeError):
        pickle.dumps({"nested": [BlindIndexer(key=KEY)]}, protocol=protocol)


def test_copying_a_blind_indexer_makes_no_second_holder_of_the_key() -> None:
    indexer = BlindIndexer(key=KEY)
    assert copy.copy(indexer) is indexer
    assert copy.deepcopy(indexer) is indexer
    assert copy.deepcopy({"k": [indexer]})["k"][0] is indexer


def test_blind_indexer_never_prints_its_key() -> None:
    indexer = BlindIndexer(key=KEY)
    assert repr(indexer) == "BlindIndexer(<redacted>)"
    for shown in _shown(indexer):
        for form in _forms_of(KEY):
            assert form not in shown
        assert "\\x" not in shown


def test_blind_indexer_has_no_attribute_dict_to_dump() -> None:
    with pytest.raises(TypeError):
        vars(BlindIndexer(key=KEY))


def test_blind_indexer_equality_is_identity_not_key_bytes() -> None:
    a, b = BlindIndexer(key=KEY), BlindIndexer(key=KEY)
    assert a == a
    assert a != b  # same key, still two objects: == never asks about the key
    assert a != KEY
    assert len({a, b}) == 2  # hashable by identity, nothing derived from the key


# --- SigningKey (the audit signer) --------------------------------------------------------------


def test_signing_key_cannot_be_pickled_or_copied() -> None:
    key = SigningKey.from_seed(SEED)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(key, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(key)
    with pytest.raises(TypeError):
        copy.deepcopy(key)
    with pytest.raises(TypeError):
        vars(key)


def test_signing_key_prints_only_its_public_fingerprint() -> None:
    key = SigningKey.from_seed(SEED)
    assert repr(key) == f"SigningKey(public_fingerprint={key.public_key().fingerprint})"
    for shown in _shown(key):
        for form in _forms_of(SEED):
            assert form not in shown


def test_signing_key_equality_is_not_by_seed() -> None:
    assert SigningKey.from_seed(SEED) != SigningKey.from_seed(SEED)


# --- the providers hand out objects, not bytes --------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _file_provider(tmp_path: Path) -> FileKeyProvider:
    ensure_dev_keys(tmp_path / "keys")
    return FileKeyProvider(tmp_path / "keys")


def _env_provider(tmp_path: Path) -> EnvKeyProvider:
    return EnvKeyProvider(
        {
            "VHHUB_KEK_V1": _b64(bytes([1]) * 32),
            "VHHUB_KEK_CURRENT": "v1",
            "VHHUB_BLIND_INDEX_KEY": _b64(KEY),
            "VHHUB_AUDIT_SIGNING_KEY": _b64(SEED),
        }
    )


PROVIDERS: dict[str, Callable[[Path], KeyProvider]] = {
    "file": _file_provider,
    "env": _env_provider,
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> KeyProvider:
    return PROVIDERS[request.param](tmp_path)


def test_provider_hands_out_a_blind_indexer_and_a_signing_key(provider: KeyProvider) -> None:
    assert isinstance(provider.blind_indexer(), BlindIndexer)
    assert isinstance(provider.audit_signer(), SigningKey)


def test_env_provider_objects_hold_the_configured_keys(tmp_path: Path) -> None:
    provider = _env_provider(tmp_path)
    assert provider.blind_indexer().bsn(VALID_BSN) == BSN_KAT
    assert provider.audit_signer().public_key() == SigningKey.from_seed(SEED).public_key()


def test_no_provider_offers_key_bytes() -> None:
    """The raw-bytes methods are gone: a provider hands out key objects only."""
    for cls in (KeyProvider, FileKeyProvider, EnvKeyProvider):
        for method in ("blind_index_key", "audit_signing_key"):
            assert not hasattr(cls, method), f"{cls.__name__}.{method}"


def test_env_provider_keeps_no_raw_key_bytes(tmp_path: Path) -> None:
    provider = _env_provider(tmp_path)
    held = [value for value in vars(provider).values() if isinstance(value, bytes | bytearray)]
    assert held == []


# --- what hub.crypto exports --------------------------------------------------------------------


@pytest.mark.parametrize("module", ["hub.crypto", "hub.crypto.blind_index"])
def test_key_bytes_functions_are_not_exported(module: str) -> None:
    exported = set(importlib.import_module(module).__all__)
    assert "BlindIndexer" in exported
    assert exported.isdisjoint({"blind_index", "bsn_index", "name_dob_index"})


def test_hub_crypto_offers_no_key_bytes_function_at_all() -> None:
    crypto = importlib.import_module("hub.crypto")
    for name in ("blind_index", "bsn_index", "name_dob_index"):
        assert not callable(getattr(crypto, name, None)), name
