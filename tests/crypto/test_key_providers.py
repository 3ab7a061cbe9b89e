"""Key providers: keys stay private, rotation keeps old data readable, nothing is overwritten."""

from __future__ import annotations

import base64
import importlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.crypto import (
    DecryptionError,
    EnvKeyProvider,
    FileKeyProvider,
    InsecureKeyFile,
    KeyNotFound,
    KeyStoreError,
    WrappedKey,
    ensure_dev_keys,
    new_data_key,
    rewrap,
    unwrap,
    wrap,
)
from hub.crypto.blind_index import BlindIndexer
from hub.crypto.keys import write_secret_file
from hub.crypto.signing import SigningKey

VALID_BSN = "111222333"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _key_file_bytes(path: Path) -> bytes:
    """What a key file holds, decoded here so no test needs a provider to hand out bytes."""
    text = path.read_text().strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A permissive umask, to prove modes do not depend on the caller's umask."""
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "keys"
    ensure_dev_keys(path)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- ensure_dev_keys ---------------------------------------------------------------------------


def test_first_run_creates_every_key_with_owner_only_modes(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "data" / "keys"
    report = ensure_dev_keys(path)

    assert report.kept == ()
    assert set(report.created) == {
        f"kek-{report.kek_version}.key",
        "blind-index.key",
        "audit-signing.key",
    }
    assert _mode(path) == 0o700
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [*report.created, "kek-current"]
    )  # no temp files left behind
    for p in path.iterdir():
        assert _mode(p) == 0o600, p.name


def test_second_run_keeps_everything_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    first = ensure_dev_keys(path)
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    second = ensure_dev_keys(path)

    assert second.created == ()
    assert set(second.kept) == set(first.created)
    assert second.kek_version == first.kek_version
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def test_only_the_missing_key_is_created(keys_dir: Path) -> None:
    before = (keys_dir / "blind-index.key").read_bytes()
    (keys_dir / "audit-signing.key").unlink()

    report = ensure_dev_keys(keys_dir)

    assert report.created == ("audit-signing.key",)
    assert "blind-index.key" in report.kept
    assert (keys_dir / "blind-index.key").read_bytes() == before


def test_missing_pointer_with_existing_keks_is_not_papered_over(keys_dir: Path) -> None:
    (keys_dir / "kek-current").unlink()
    with pytest.raises(KeyStoreError, match="kek-current"):
        ensure_dev_keys(keys_dir)


def test_ensure_refuses_to_keep_an_exposed_key(keys_dir: Path) -> None:
    os.chmod(keys_dir / "blind-index.key", 0o644)
    with pytest.raises(InsecureKeyFile):
        ensure_dev_keys(keys_dir)


def test_audit_signer_is_the_ed25519_key_of_the_stored_seed(keys_dir: Path) -> None:
    seed = _key_file_bytes(keys_dir / "audit-signing.key")
    assert len(seed) == 32
    expected = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert FileKeyProvider(keys_dir).audit_signer().public_key().to_bytes() == expected


def test_generated_keys_are_distinct(keys_dir: Path) -> None:
    kek = FileKeyProvider(keys_dir).current_kek()
    secrets = {
        _key_file_bytes(keys_dir / "blind-index.key"),
        _key_file_bytes(keys_dir / "audit-signing.key"),
        kek._key,
    }
    assert len(secrets) == 3


# --- file provider -----------------------------------------------------------------------------


def test_file_provider_wraps_and_unwraps(keys_dir: Path) -> None:
    provider = FileKeyProvider(keys_dir)
    dek = new_data_key()
    wrapped = provider.wrap_data_key(dek, case_id="case-1")
    assert wrapped.kek_version == provider.current_kek_version()
    assert provider.unwrap_data_key(wrapped, case_id="case-1") == dek
    assert unwrap(provider, wrapped, case_id="case-1") == dek
    assert unwrap(provider, wrap(provider, dek, case_id="c2"), case_id="c2") == dek


def test_file_provider_wrong_case_is_a_decryption_error(keys_dir: Path) -> None:
    provider = FileKeyProvider(keys_dir)
    wrapped = provider.wrap_data_key(new_data_key(), case_id="case-1")
    with pytest.raises(DecryptionError):
        provider.unwrap_data_key(wrapped, case_id="case-2")


@pytest.mark.parametrize("name", ["kek", "kek-current", "blind-index.key", "audit-signing.key"])
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o400 | 0o040])
def test_group_or_world_accessible_key_file_is_refused(
    keys_dir: Path, name: str, mode: int
) -> None:
    provider = FileKeyProvider(keys_dir)
    if name == "kek":
        name = f"kek-{provider.current_kek_version()}.key"
    path = keys_dir / name
    content = path.read_text().strip()
    os.chmod(path, mode)

    load = {
        "blind-index.key": provider.blind_indexer,
        "audit-signing.key": provider.audit_signer,
    }.get(name, provider.current_kek)

    with pytest.raises(InsecureKeyFile) as info:
        load()

    message = str(info.value)
    assert str(path) in message  # names the file ...
    assert content not in message  # ... never the key


def test_owner_read_only_key_file_is_fine(keys_dir: Path) -> None:
    os.chmod(keys_dir / "blind-index.key", 0o400)
    assert len(FileKeyProvider(keys_dir).blind_indexer().bsn(VALID_BSN)) == 32


def test_group_writable_keys_directory_is_refused(keys_dir: Path) -> None:
    os.chmod(keys_dir, 0o770)
    with pytest.raises(InsecureKeyFile, match=str(keys_dir)):
        FileKeyProvider(keys_dir).blind_indexer()


def test_malformed_key_file_is_refused_without_showing_it(keys_dir: Path) -> None:
    path = keys_dir / "blind-index.key"
    path.unlink()
    write_secret_file(path, b"c2VjcmV0LXRvby1zaG9ydA\n")  # 18 bytes, not 32
    with pytest.raises(KeyStoreError) as info:
        FileKeyProvider(keys_dir).blind_indexer()
    assert "c2VjcmV0LXRvby1zaG9ydA" not in str(info.value)
    assert "blind-index.key" in str(info.value)


def test_missing_keys_directory_is_key_not_found(tmp_path: Path) -> None:
    with pytest.raises(KeyNotFound):
        FileKeyProvider(tmp_path / "nope").current_kek()


def test_key_files_hold_base64url_text(keys_dir: Path) -> None:
    text = (keys_dir / "blind-index.key").read_text()
    assert text.endswith("\n") and len(text.strip()) == 43
    key = base64.urlsafe_b64decode(text.strip() + "=")
    assert BlindIndexer(key=key).bsn(VALID_BSN) == FileKeyProvider(keys_dir).blind_indexer().bsn(
        VALID_BSN
    )


def test_provider_repr_shows_no_key(keys_dir: Path) -> None:
    provider = FileKeyProvider(keys_dir)
    key_text = (keys_dir / "blind-index.key").read_text().strip()
    assert key_text not in repr(provider)
    assert key_text not in repr(provider.current_kek())


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_keeps_old_data_keys_readable_until_retired(keys_dir: Path) -> None:
    provider = FileKeyProvider(keys_dir)
    old_version = provider.current_kek_version()
    dek = new_data_key()
    old_wrapped = provider.wrap_data_key(dek, case_id="case-1")

    new_version = provider.create_kek()

    assert new_version != old_version
    assert provider.current_kek_version() == new_version
    assert provider.kek_versions() == tuple(sorted([old_version, new_version]))
    assert _mode(keys_dir / f"kek-{new_version}.key") == 0o600
    assert _mode(keys_dir / "kek-current") == 0o600
    # the old version is still there: old data keys unwrap
    assert provider.unwrap_data_key(old_wrapped, case_id="case-1") == dek

    rewrapped = rewrap(provider, old_wrapped, case_id="case-1")
    assert rewrapped.kek_version == new_version
    assert rewrap(provider, rewrapped, case_id="case-1") is rewrapped  # idempotent

    provider.retire_kek(old_version)

    assert provider.kek_versions() == (new_version,)
    with pytest.raises(KeyNotFound, match=old_version):
        provider.unwrap_data_key(old_wrapped, case_id="case-1")
    assert provider.unwrap_data_key(rewrapped, case_id="case-1") == dek


def test_current_kek_cannot_be_retired(keys_dir: Path) -> None:
    provider = FileKeyProvider(keys_dir)
    with pytest.raises(KeyStoreError):
        provider.retire_kek(provider.current_kek_version())
    assert provider.current_kek()


def test_retiring_an_unknown_version_is_key_not_found(keys_dir: Path) -> None:
    with pytest.raises(KeyNotFound):
        FileKeyProvider(keys_dir).retire_kek("19990101t000000_00000000")


def test_kek_lookup_refuses_path_like_versions(keys_dir: Path) -> None:
    with pytest.raises(ValueError):
        FileKeyProvider(keys_dir).kek("../blind-index")


def test_rotation_is_seen_by_another_provider_instance(keys_dir: Path) -> None:
    """Several hub processes share the keys directory; none caches a stale current KEK."""
    reader = FileKeyProvider(keys_dir)
    assert reader.current_kek_version()
    new_version = FileKeyProvider(keys_dir).create_kek()
    assert reader.current_kek_version() == new_version


# --- write_secret_file -------------------------------------------------------------------------


def test_write_secret_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    write_secret_file(path, b"first")
    with pytest.raises(FileExistsError):
        write_secret_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_write_secret_file_mode_ignores_umask(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "secret"
    write_secret_file(path, b"x")
    assert _mode(path) == 0o600


# --- environment provider ----------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {
        "VHHUB_KEK_V1": _b64(bytes([1]) * 32),
        "VHHUB_KEK_V2": _b64(bytes([2]) * 32),
        "VHHUB_KEK_CURRENT": "v2",
        "VHHUB_BLIND_INDEX_KEY": _b64(bytes([3]) * 32),
        "VHHUB_AUDIT_SIGNING_KEY": _b64(bytes([4]) * 32),
        "PATH": "/usr/bin",
    }
    env.update(extra)
    return env


def test_env_provider_reads_every_key() -> None:
    provider = EnvKeyProvider(_env())
    assert provider.kek_versions() == ("v1", "v2")
    assert provider.current_kek_version() == "v2"
    assert provider.blind_indexer().bsn(VALID_BSN) == BlindIndexer(key=bytes([3]) * 32).bsn(
        VALID_BSN
    )
    assert (
        provider.audit_signer().public_key() == SigningKey.from_seed(bytes([4]) * 32).public_key()
    )
    dek = new_data_key()
    wrapped = provider.wrap_data_key(dek, case_id="c")
    assert wrapped.kek_version == "v2"
    assert provider.unwrap_data_key(wrapped, case_id="c") == dek


def test_env_provider_unwraps_keys_of_an_older_version() -> None:
    dek = new_data_key()
    old = EnvKeyProvider(_env(VHHUB_KEK_CURRENT="v1")).wrap_data_key(dek, case_id="c")
    provider = EnvKeyProvider(_env())
    assert provider.unwrap_data_key(old, case_id="c") == dek
    assert rewrap(provider, old, case_id="c").kek_version == "v2"


def test_env_provider_without_the_old_version_cannot_unwrap() -> None:
    old = EnvKeyProvider(_env(VHHUB_KEK_CURRENT="v1")).wrap_data_key(new_data_key(), case_id="c")
    env = _env()
    del env["VHHUB_KEK_V1"]
    with pytest.raises(KeyNotFound, match="VHHUB_KEK_V1"):
        EnvKeyProvider(env).unwrap_data_key(old, case_id="c")


def test_env_padding_is_optional() -> None:
    padded = base64.urlsafe_b64encode(bytes([3]) * 32).decode()
    assert padded.endswith("=")
    provider = EnvKeyProvider(_env(VHHUB_BLIND_INDEX_KEY=padded))
    unpadded = EnvKeyProvider(_env())
    assert provider.blind_indexer().bsn(VALID_BSN) == unpadded.blind_indexer().bsn(VALID_BSN)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VHHUB_KEK_V1", "not base64 at all!"),
        ("VHHUB_KEK_V1", _b64(bytes(16))),
        ("VHHUB_BLIND_INDEX_KEY", "c2VjcmV0LXRvby1zaG9ydA"),
        ("VHHUB_AUDIT_SIGNING_KEY", _b64(bytes(33))),
        ("VHHUB_KEK_BAD-NAME", _b64(bytes(32))),
    ],
)
def test_malformed_env_value_names_the_variable_not_the_value(name: str, value: str) -> None:
    with pytest.raises(KeyStoreError) as info:
        EnvKeyProvider(_env(**{name: value}))
    assert name in str(info.value)
    assert value not in str(info.value)


def test_env_current_must_name_a_present_kek() -> None:
    with pytest.raises(KeyStoreError, match="VHHUB_KEK_CURRENT"):
        EnvKeyProvider(_env(VHHUB_KEK_CURRENT="v9"))


def test_env_missing_keys_raise_key_not_found_when_needed() -> None:
    provider = EnvKeyProvider({})
    with pytest.raises(KeyNotFound, match="VHHUB_KEK_CURRENT"):
        provider.current_kek()
    with pytest.raises(KeyNotFound, match="VHHUB_BLIND_INDEX_KEY"):
        provider.blind_indexer()
    with pytest.raises(KeyNotFound, match="VHHUB_AUDIT_SIGNING_KEY"):
        provider.audit_signer()


def test_env_provider_repr_shows_no_key() -> None:
    env = _env()
    shown = repr(EnvKeyProvider(env))
    for name, value in env.items():
        if name.startswith("VHHUB_") and name != "VHHUB_KEK_CURRENT":
            assert value not in shown


def test_key_text_moves_from_file_to_environment(keys_dir: Path) -> None:
    """Same text format in files and variables: a dev key can be promoted by copy and paste."""
    files = FileKeyProvider(keys_dir)
    version = files.current_kek_version()
    env = EnvKeyProvider(
        {
            f"VHHUB_KEK_{version.upper()}": (keys_dir / f"kek-{version}.key").read_text(),
            "VHHUB_KEK_CURRENT": version.upper(),
            "VHHUB_BLIND_INDEX_KEY": (keys_dir / "blind-index.key").read_text(),
            "VHHUB_AUDIT_SIGNING_KEY": (keys_dir / "audit-signing.key").read_text(),
        }
    )
    dek = new_data_key()
    wrapped = files.wrap_data_key(dek, case_id="c")
    assert env.unwrap_data_key(WrappedKey.from_bytes(wrapped.to_bytes()), case_id="c") == dek
    assert env.blind_indexer().bsn(VALID_BSN) == files.blind_indexer().bsn(VALID_BSN)
    assert env.audit_signer().public_key() == files.audit_signer().public_key()


# --- where the providers live -----------------------------------------------------------------

#: Public name -> the module that defines it; hub.crypto.keys re-exports every one.
HOMES = {
    "FileKeyProvider": "hub.crypto.key_files",
    "KeyReport": "hub.crypto.key_files",
    "ensure_dev_keys": "hub.crypto.key_files",
    "write_secret_file": "hub.crypto.key_files",
    "KEK_CURRENT_FILE": "hub.crypto.key_files",
    "BLIND_INDEX_KEY_FILE": "hub.crypto.key_files",
    "AUDIT_SIGNING_KEY_FILE": "hub.crypto.key_files",
    "EnvKeyProvider": "hub.crypto.key_env",
    "KeyProvider": "hub.crypto.keys",
    "LocalKeyProvider": "hub.crypto.keys",
    "rewrap": "hub.crypto.keys",
}


@pytest.mark.parametrize("name", sorted(HOMES))
def test_every_public_name_is_still_importable_from_hub_crypto_keys(name: str) -> None:
    keys = importlib.import_module("hub.crypto.keys")
    home = importlib.import_module(HOMES[name])
    assert name in keys.__all__
    assert name in home.__all__
    assert getattr(keys, name) is getattr(home, name)


def test_hub_crypto_keys_exports_exactly_these_names() -> None:
    assert set(importlib.import_module("hub.crypto.keys").__all__) == set(HOMES)


def test_there_is_no_placeholder_provider() -> None:
    """A class whose every method raises is not a provider; the KMS stub is gone."""
    crypto = importlib.import_module("hub.crypto")
    keys = importlib.import_module("hub.crypto.keys")
    assert not hasattr(keys, "KmsKeyProvider")
    assert "KmsKeyProvider" not in crypto.__all__
