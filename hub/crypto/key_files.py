"""Keys in a directory: `FileKeyProvider`, ``vhhub init``'s `ensure_dev_keys`, safe key files.

Keys directory layout (created by `ensure_dev_keys`, i.e. ``vhhub init``; mode 0700)::

    kek-<version>.key     one per KEK version, 32 random bytes        (0600)
    kek-current           the current KEK version id, e.g. 20250610t120102_3f9a1c2e (0600)
    blind-index.key       HMAC-SHA256 key for the blind index, 32 bytes   (0600)
    audit-signing.key     Ed25519 private key seed (RFC 8032), 32 bytes   (0600)

Every ``.key`` file holds one line: the key in base64url without padding
(`hub.crypto.key_text`) -- the same text the environment variables of
`hub.crypto.key_env` take, so a key moves between the two by copy and paste.
A file or directory others can read (files) or write (directory) is refused, not loaded.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from hub.crypto.blind_index import BlindIndexer
from hub.crypto.envelope import (
    KEY_BYTES,
    DataKey,
    Kek,
    WrappedKey,
    unwrap,
    validate_kek_version,
    wrap,
)
from hub.crypto.errors import InsecureKeyFile, KeyNotFound, KeyStoreError
from hub.crypto.key_text import decode_key_text, encode_key_text
from hub.crypto.signing import SigningKey

__all__ = [
    "AUDIT_SIGNING_KEY_FILE",
    "BLIND_INDEX_KEY_FILE",
    "KEK_CURRENT_FILE",
    "FileKeyProvider",
    "KeyReport",
    "ensure_dev_keys",
    "write_secret_file",
]

KEK_CURRENT_FILE: Final = "kek-current"
BLIND_INDEX_KEY_FILE: Final = "blind-index.key"
AUDIT_SIGNING_KEY_FILE: Final = "audit-signing.key"
_KEK_FILE_RE: Final = re.compile(r"kek-(?P<version>[a-z0-9_]+)\.key")
_AUDIT_VERSION_RE: Final = re.compile(r"audit-signing-[a-z0-9_]+\.key")

_FILE_MODE: Final = 0o600
_DIR_MODE: Final = 0o700
_MAX_KEY_FILE_BYTES: Final = 4096


# --- writing key files ------------------------------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    # Makes a create/rename/unlink durable; not every platform lets us open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(directory: Path, name: str, data: bytes, mode: int) -> Path:
    """Write `data` to a fresh, fsynced temp file with exactly `mode`; return its path."""
    tmp = directory / f".{name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits from `mode`; set it exactly
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def write_secret_file(path: Path, data: bytes, *, mode: int = _FILE_MODE) -> None:
    """Create `path` holding `data` with `mode` (0600), never overwriting an existing file.

    Raises `FileExistsError` if `path` exists. The content goes to an O_CREAT|O_EXCL temp
    file first and is then hard-linked into place, so `path` either does not exist or holds
    the complete content: a crash cannot leave an empty key file that later counts as
    "kept", and two processes racing to create the same key cannot both win.
    """
    path = Path(path)
    tmp = _write_temp(path.parent, path.name, data, mode)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _replace_file(path: Path, data: bytes, *, mode: int) -> None:
    """Atomically create or replace `path` (temp file + rename)."""
    tmp = _write_temp(path.parent, path.name, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


# --- reading key files (mode checks) ----------------------------------------------------------


def _check_dir(directory: Path) -> None:
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        raise KeyNotFound(f"keys directory {directory} does not exist (run `vhhub init`)") from None
    if not stat.S_ISDIR(st.st_mode):
        raise KeyStoreError(f"{directory} is not a directory")
    if st.st_mode & 0o022:
        raise InsecureKeyFile(
            f"keys directory {directory} is writable by group or others; "
            f"refusing to use it (chmod 700 {directory})"
        )


def _read_protected_text(path: Path) -> str:
    """Read a small file from the keys directory, refusing it if others may read it.

    Permissions are checked with fstat on the opened descriptor, so the file checked is
    the file read. Symlinks are followed (secret mounts use them); the check applies to
    the target.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyNotFound(f"key file {path} not found") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyStoreError(f"key file {path} is not a regular file")
        if st.st_mode & 0o077:
            raise InsecureKeyFile(
                f"key file {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); refusing to load it. "
                f"Treat the key as exposed, or chmod 600 {path} if it is known not to be."
            )
        raw = os.read(fd, _MAX_KEY_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > _MAX_KEY_FILE_BYTES:
        raise KeyStoreError(f"key file {path} is too large to be a key")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyStoreError(f"key file {path} is not base64url text") from None


def _read_key_file(path: Path) -> bytes:
    return decode_key_text(_read_protected_text(path), source=f"key file {path}")


def _new_kek_version() -> str:
    # Sortable by creation time; the random tail keeps two rotations in one second apart
    # and makes a retired version id never come back.
    return f"{datetime.now(UTC):%Y%m%dt%H%M%S}_{secrets.token_hex(4)}"


# --- file provider ----------------------------------------------------------------------------


class FileKeyProvider:
    """Keys in a directory of the data dir (see the module docstring for the layout).

    Reads files on every call instead of caching: several hub processes share one keys
    directory, and a KEK rotated or retired by ``vhhub`` in one process must be seen by
    the others without a restart. The files are tiny; the cost is a few syscalls.
    """

    def __init__(self, keys_dir: Path) -> None:
        self._dir = Path(keys_dir)

    @property
    def keys_dir(self) -> Path:
        return self._dir

    def __repr__(self) -> str:
        return f"FileKeyProvider({str(self._dir)!r})"

    def _path(self, name: str) -> Path:
        _check_dir(self._dir)
        return self._dir / name

    def _kek_path(self, version: str) -> Path:
        return self._path(f"kek-{validate_kek_version(version)}.key")

    # KeyProvider

    def current_kek_version(self) -> str:
        path = self._path(KEK_CURRENT_FILE)
        try:
            text = _read_protected_text(path)
        except KeyNotFound:
            raise KeyNotFound(f"no current KEK: {path} not found (run `vhhub init`)") from None
        try:
            return validate_kek_version(text.strip())
        except ValueError:
            raise KeyStoreError(f"{path} does not hold a valid KEK version id") from None

    def kek_versions(self) -> tuple[str, ...]:
        _check_dir(self._dir)
        versions = []
        for entry in os.listdir(self._dir):
            m = _KEK_FILE_RE.fullmatch(entry)
            if m is not None:
                with contextlib.suppress(ValueError):
                    versions.append(validate_kek_version(m["version"]))
        return tuple(sorted(versions))

    def wrap_data_key(self, dek: DataKey, *, case_id: str) -> WrappedKey:
        return wrap(self.current_kek(), dek, case_id=case_id)

    def unwrap_data_key(self, wrapped: WrappedKey, *, case_id: str) -> DataKey:
        return unwrap(self.kek(wrapped.kek_version), wrapped, case_id=case_id)

    def blind_indexer(self) -> BlindIndexer:
        return BlindIndexer(key=_read_key_file(self._path(BLIND_INDEX_KEY_FILE)))

    def audit_signer(self) -> SigningKey:
        return self.audit_signers()[-1]

    def audit_signers(self) -> tuple[SigningKey, ...]:
        """Every checkpoint signing key in the directory, oldest first: the original
        ``audit-signing.key``, then one ``audit-signing-<version>.key`` per rotation (ADR 0406).
        The access log signs with the one its key list names as current."""
        _check_dir(self._dir)
        rotated = sorted(
            name for name in os.listdir(self._dir) if _AUDIT_VERSION_RE.fullmatch(name)
        )
        names = [AUDIT_SIGNING_KEY_FILE, *rotated]
        return tuple(SigningKey.from_seed(_read_key_file(self._path(n))) for n in names)

    def create_audit_signer(self) -> SigningKey:
        """Write a new checkpoint signing key file (rotation); the log's key list, not this
        file, makes it current, so a crash between the two leaves the old key in use."""
        _ensure_dir(self._dir)
        seed = os.urandom(32)
        name = f"audit-signing-{_new_kek_version()}.key"
        write_secret_file(self._dir / name, f"{encode_key_text(seed)}\n".encode())
        return SigningKey.from_seed(seed)

    # LocalKeyProvider

    def current_kek(self) -> Kek:
        return self.kek(self.current_kek_version())

    def kek(self, version: str) -> Kek:
        path = self._kek_path(version)
        try:
            raw = _read_key_file(path)
        except KeyNotFound:
            raise KeyNotFound(f"KEK version {version!r} not found ({path})") from None
        return Kek(version=version, key=raw)

    # rotation

    def create_kek(self) -> str:
        """Create a new KEK version and make it current; returns the version id.

        Existing data keys stay wrapped under their old version until `rewrap` moves them;
        keep the old version until then.
        """
        _ensure_dir(self._dir)
        version = self._create_kek_file()
        _replace_file(self._dir / KEK_CURRENT_FILE, f"{version}\n".encode(), mode=_FILE_MODE)
        return version

    def _create_kek_file(self) -> str:
        version = _new_kek_version()
        raw = os.urandom(KEY_BYTES)
        write_secret_file(self._kek_path(version), f"{encode_key_text(raw)}\n".encode())
        return version

    def retire_kek(self, version: str) -> None:
        """Delete KEK `version` for good. The current version cannot be retired.

        Callers must first make sure no wrapped key still names this version (run `rewrap`
        over every case): afterwards those data keys -- and their payloads -- are gone.
        """
        path = self._kek_path(version)
        if version == self.current_kek_version():
            raise KeyStoreError(f"KEK version {version!r} is current; rotate before retiring")
        try:
            path.unlink()
        except FileNotFoundError:
            raise KeyNotFound(f"KEK version {version!r} not found ({path})") from None
        _fsync_dir(self._dir)


def _ensure_dir(directory: Path) -> None:
    """Create the keys directory 0700 if missing; refuse an existing unsafe one."""
    if not directory.exists():
        directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        os.chmod(directory, _DIR_MODE)  # mkdir's mode is filtered by the umask
    _check_dir(directory)


# --- dev keys ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyReport:
    """What `ensure_dev_keys` did: file names created and file names kept as they were."""

    created: tuple[str, ...]
    kept: tuple[str, ...]
    kek_version: str


def ensure_dev_keys(keys_dir: Path) -> KeyReport:
    """Create whichever of KEK, blind-index key and audit signing seed is missing.

    Never overwrites: an existing key is checked (permissions, format) and kept, because
    replacing a KEK or blind-index key would make stored data unreadable or unmatchable.
    Safe to run again and safe against a concurrent run (O_EXCL creates; the loser keeps
    the winner's key). For development and the embedded default; production mounts keys.
    """
    keys_dir = Path(keys_dir)
    _ensure_dir(keys_dir)
    provider = FileKeyProvider(keys_dir)
    created: list[str] = []
    kept: list[str] = []

    version = _ensure_kek(provider, created, kept)
    for name in (BLIND_INDEX_KEY_FILE, AUDIT_SIGNING_KEY_FILE):
        path = keys_dir / name
        try:
            # Both are 32 random bytes: an Ed25519 private key *is* a random 32-byte seed.
            write_secret_file(path, f"{encode_key_text(os.urandom(KEY_BYTES))}\n".encode())
        except FileExistsError:
            _read_key_file(path)  # kept only if usable
            kept.append(name)
        else:
            created.append(name)
    return KeyReport(created=tuple(created), kept=tuple(kept), kek_version=version)


def _ensure_kek(provider: FileKeyProvider, created: list[str], kept: list[str]) -> str:
    pointer = provider.keys_dir / KEK_CURRENT_FILE
    if not pointer.exists():
        if provider.kek_versions():
            raise KeyStoreError(
                f"{pointer} is missing but KEK files exist; restore it rather than "
                "letting a new KEK replace the old ones"
            )
        version = provider._create_kek_file()
        try:
            write_secret_file(pointer, f"{version}\n".encode())
        except FileExistsError:
            # A concurrent run set the pointer first: keep its KEK, drop ours (never used).
            (provider.keys_dir / f"kek-{version}.key").unlink(missing_ok=True)
        else:
            created.append(f"kek-{version}.key")
            return version
    kek = provider.current_kek()  # raises if the pointer or its KEK file is unusable
    kept.append(f"kek-{kek.version}.key")
    return kek.version
