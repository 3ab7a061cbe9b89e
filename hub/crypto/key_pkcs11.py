"""Key-encryption keys inside a PKCS#11 token (an HSM, or SoftHSM2): `Pkcs11KeyProvider`.

The KEKs are AES-256 secret keys created *in* the token, sensitive and not extractable, one
object per version, labelled ``<prefix><version>`` (default prefix ``vhhub-kek-``). A data
object labelled ``<prefix>current`` holds the version that wraps new case keys. Case data
keys are wrapped and unwrapped by the token itself (``CKM_AES_GCM`` encrypt/decrypt under
the KEK), in exactly the format and with exactly the associated data of
`hub.crypto.envelope.wrap` -- the wrapped key is bound to the case id and the KEK version
(ADR 0301), so a record copied to another case, or with its version field rewritten, does
not unwrap. The KEK never leaves the token; the data key is in process memory, as it is with
every provider, while a case's payloads are sealed or opened.

The blind-index key and the audit signing key stay where the file or environment provider
keeps them (``VHHUB_PKCS11_OTHER_KEYS``); docs/adr/0304-keys-in-an-hsm.md says why.

Behaviour an operator relies on:

- **Fail closed, lazily.** Nothing touches the token at construction; the first use logs in.
  A missing token, a wrong PIN, a removed device: every operation raises `KeyStoreError`
  with a fixed message naming the token label (never the PIN, never a key), so /ready says
  503 and no case opens. The next call tries again: a token that comes back is used again.
- **Every replica follows a rotation**: the current version and the KEK objects are read
  from the token on every wrap, as the file provider reads its files.
- **Thread-safe.** python-pkcs11 initialises the library without OS locking, so every
  call of the process into it is serialised (one lock, one logged-in session); workers and
  replicas are what run in parallel. Login state belongs to the process (PKCS#11 logs in
  per application, not per session): a second provider in the same process for the same
  token must bring the same PIN.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from hub.crypto.blind_index import BlindIndexer
from hub.crypto.envelope import (
    _NONCE_BYTES,
    _TAG_BYTES,
    KEY_BYTES,
    DataKey,
    WrappedKey,
    _wrap_assoc,
    validate_kek_version,
)
from hub.crypto.errors import DecryptionError, KeyNotFound, KeyStoreError
from hub.crypto.key_files import _new_kek_version
from hub.crypto.signing import SigningKey

__all__ = ["DEFAULT_LABEL_PREFIX", "OtherKeys", "Pkcs11KeyProvider", "library"]

DEFAULT_LABEL_PREFIX: Final = "vhhub-kek-"


class OtherKeys(Protocol):
    """Where the keys that are not in the token come from (a file or environment provider)."""

    def blind_indexer(self) -> BlindIndexer: ...

    def audit_signer(self) -> SigningKey: ...

    def audit_signers(self) -> tuple[SigningKey, ...]: ...


_CURRENT: Final = "current"
_APPLICATION: Final = "vhhub"


class _Pin:
    """The token's user PIN; shows nothing of itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise KeyStoreError("PKCS#11: the user PIN is empty (VHHUB_PKCS11_PIN[_FILE])")
        self._value = value

    def __repr__(self) -> str:
        return "_Pin(<redacted>)"

    def digest(self) -> bytes:
        return hashlib.sha256(self._value.encode("utf-8")).digest()


class _Library:
    """The process's one handle on a PKCS#11 library, and the lock every call takes.

    python-pkcs11 calls ``C_Initialize(NULL)``: without ``CKF_OS_LOCKING_OK`` a library may
    assume one thread, and SoftHSM2 then crashes under concurrent calls even on separate
    sessions. So every call of the process into one library is serialised here; processes
    (workers, replicas) are what run in parallel. And every `pkcs11.lib` object calls
    ``C_Finalize`` when collected, closing every session of the process: there is exactly
    one per module, kept for the process's life.
    """

    def __init__(self, module: str) -> None:
        import pkcs11

        self.lib = pkcs11.lib(module)
        self.lock = threading.RLock()


_LIBRARIES: dict[str, _Library] = {}
_TOKENS_LOCK = threading.Lock()


def _library(module: str) -> _Library:
    with _TOKENS_LOCK:
        found = _LIBRARIES.get(module)
        if found is None:
            found = _LIBRARIES[module] = _Library(module)
        return found


@contextmanager
def library(module: str) -> Iterator[Any]:
    """The process's `pkcs11.lib` for `module`, under its lock: anything else in the process
    that talks to the token (tests, tools) must go through this."""
    lib = _library(module)
    with lib.lock:
        yield lib.lib


class _Token:
    """One token of one PKCS#11 library in this process: its login and its session.

    Shared by every provider of the process for the same (module, label): PKCS#11 keeps the
    login per application, so two providers cannot hold two logins anyway. Calls are
    serialised by the library's lock (see `_Library`), so one session serves them all.
    """

    def __init__(self, module: str, label: str) -> None:
        self.module = module
        self.label = label
        self._session: Any = None  # logged in; kept open while it works
        self._pin_digest: bytes | None = None

    def _unavailable(self) -> KeyStoreError:
        return KeyStoreError(f"PKCS#11 token {self.label!r} is not available")

    def _login(self, lib: Any, pin: _Pin) -> Any:
        """Open the token's session and log in (under the library lock)."""
        from pkcs11 import exceptions as p11

        if self._session is not None:
            if not hmac.compare_digest(self._pin_digest or b"", pin.digest()):
                raise KeyStoreError(f"PKCS#11 token {self.label!r}: login failed")
            return self._session
        try:
            token = lib.get_token(token_label=self.label)
        except (p11.PKCS11Error, OSError, RuntimeError):
            raise self._unavailable() from None
        try:
            session = token.open(rw=True, user_pin=pin._value)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange, p11.PinLocked, p11.PinExpired):
            raise KeyStoreError(f"PKCS#11 token {self.label!r}: login failed") from None
        except p11.PKCS11Error:
            raise self._unavailable() from None
        self._session, self._pin_digest = session, pin.digest()
        return session

    @contextmanager
    def session(self, pin: _Pin) -> Iterator[Any]:
        """The logged-in session for one operation, no other thread using the library.

        A PKCS#11 failure drops the session (a removed device, a closed session): the next
        operation logs in again."""
        from pkcs11 import exceptions as p11

        try:
            lib = _library(self.module)
        except (p11.PKCS11Error, OSError):
            raise KeyStoreError(f"PKCS#11 module {self.module!r} cannot be loaded") from None
        with lib.lock:
            session = self._login(lib.lib, pin)
            try:
                yield session
            except p11.PKCS11Error:
                self._session = self._pin_digest = None
                with contextlib.suppress(Exception):  # a dead device cannot close
                    session.close()
                raise


_TOKENS: dict[tuple[str, str], _Token] = {}


def _token(module: str, label: str) -> _Token:
    with _TOKENS_LOCK:
        token = _TOKENS.get((module, label))
        if token is None:
            token = _TOKENS[(module, label)] = _Token(module, label)
        return token


class Pkcs11KeyProvider:
    """KEKs inside a PKCS#11 token; blind-index and audit signing keys from `others`.

    `module` is the PKCS#11 library (e.g. ``/usr/lib/softhsm/libsofthsm2.so``), `token_label`
    the token's label, `pin` the user PIN. `others` is a file or environment provider that
    supplies `blind_indexer` and `audit_signer` (its KEKs, if any, are never used).
    """

    def __init__(
        self,
        *,
        module: Path | str,
        token_label: str,
        pin: str,
        others: OtherKeys,
        label_prefix: str = DEFAULT_LABEL_PREFIX,
    ) -> None:
        if not token_label:
            raise KeyStoreError("PKCS#11: no token label (VHHUB_PKCS11_TOKEN_LABEL)")
        self._pin = _Pin(pin)
        self._token = _token(str(module), token_label)
        self._prefix = label_prefix
        self._others = others
        self._write_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pkcs11KeyProvider(token={self._token.label!r})"

    # --- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """A session; any PKCS#11 failure inside becomes the fixed KeyStoreError."""
        from pkcs11 import exceptions as p11

        try:
            with self._token.session(self._pin) as session:
                yield session
        except p11.PKCS11Error:
            raise self._token._unavailable() from None

    def _kek_label(self, version: str) -> str:
        return f"{self._prefix}{validate_kek_version(version)}"

    def _find_kek(self, session: Any, version: str) -> Any:
        from pkcs11 import KeyType, ObjectClass
        from pkcs11 import exceptions as p11

        try:
            return session.get_key(
                object_class=ObjectClass.SECRET_KEY,
                key_type=KeyType.AES,
                label=self._kek_label(version),
            )
        except p11.NoSuchKey:
            raise KeyNotFound(
                f"KEK version {version!r} not found in PKCS#11 token {self._token.label!r}"
            ) from None
        except p11.MultipleObjectsReturned:
            raise KeyStoreError(
                f"PKCS#11 token {self._token.label!r} holds more than one KEK labelled "
                f"{self._kek_label(version)!r}"
            ) from None

    def _pointer_objects(self, session: Any) -> list[Any]:
        from pkcs11 import Attribute, ObjectClass

        return list(
            session.get_objects(
                {Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: self._prefix + _CURRENT}
            )
        )

    def _pointers(self, session: Any) -> list[tuple[int, Any]]:
        """The ``<prefix>current`` data objects with their sequence number, highest first.

        The sequence is in CKA_APPLICATION as ``vhhub:<n>`` (data objects have no CKA_ID and
        SoftHSM2 keeps their CKA_VALUE read-only); a pointer made by hand without one is 0.
        """
        from pkcs11 import Attribute
        from pkcs11 import exceptions as p11

        found = []
        for pointer in self._pointer_objects(session):
            try:
                application = str(pointer[Attribute.APPLICATION])
            except (p11.AttributeTypeInvalid, p11.AttributeSensitive):  # made by hand
                application = ""
            _, _, number = application.partition(":")
            found.append((int(number) if number.isdigit() else 0, pointer))
        return sorted(found, key=lambda item: item[0], reverse=True)

    def _current(self, session: Any) -> str:
        """The version the newest pointer names. A rotation creates the next pointer before
        it destroys the old one, so a replica reading meanwhile sees the new one first."""
        from pkcs11 import Attribute

        pointers = self._pointers(session)
        where = f"PKCS#11 token {self._token.label!r}"
        if not pointers:
            raise KeyNotFound(
                f"no current KEK: {where} has no data object labelled {self._prefix + _CURRENT!r}"
            )
        if len(pointers) > 1 and pointers[0][0] == pointers[1][0]:
            raise KeyStoreError(
                f"{where} holds two {self._prefix + _CURRENT!r} data objects with the same "
                "sequence (CKA_APPLICATION)"
            )
        try:
            value = bytes(pointers[0][1][Attribute.VALUE])
            return validate_kek_version(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise KeyStoreError(
                f"the {self._prefix + _CURRENT!r} data object of {where} does not hold a "
                "valid KEK version id"
            ) from None

    # --- KeyProvider --------------------------------------------------------------------

    def current_kek_version(self) -> str:
        with self._session() as session:
            return self._current(session)

    def kek_versions(self) -> tuple[str, ...]:
        from pkcs11 import Attribute, KeyType, ObjectClass

        with self._session() as session:
            labels = [
                str(obj[Attribute.LABEL])
                for obj in session.get_objects(
                    {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES}
                )
            ]
        versions = []
        for label in labels:
            if label.startswith(self._prefix):
                try:
                    versions.append(validate_kek_version(label[len(self._prefix) :]))
                except ValueError:
                    continue
        return tuple(sorted(versions))

    def wrap_data_key(self, dek: DataKey, *, case_id: str) -> WrappedKey:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        if not isinstance(dek, DataKey):
            raise TypeError("only a DataKey can be wrapped")
        with self._session() as session:
            version = self._current(session)
            assoc = _wrap_assoc(version, case_id)
            kek = self._find_kek(session, version)
            nonce = os.urandom(_NONCE_BYTES)
            body = kek.encrypt(
                dek._key, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, assoc)
            )
        return WrappedKey(kek_version=version, body=nonce + bytes(body))

    def unwrap_data_key(self, wrapped: WrappedKey, *, case_id: str) -> DataKey:
        from pkcs11 import Mechanism
        from pkcs11 import exceptions as p11
        from pkcs11.mechanisms import GCMParams

        if not isinstance(wrapped, WrappedKey):
            raise TypeError("wrapped must be a WrappedKey (see WrappedKey.from_bytes)")
        assoc = _wrap_assoc(wrapped.kek_version, case_id)
        body = wrapped._body
        with self._session() as session:
            kek = self._find_kek(session, wrapped.kek_version)
            try:
                raw = kek.decrypt(
                    body[_NONCE_BYTES:],
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(body[:_NONCE_BYTES], assoc, _TAG_BYTES * 8),
                )
            except p11.PKCS11Error:
                # A failed tag check and a failing device look alike on some tokens
                # (SoftHSM2 answers CKR_GENERAL_ERROR to both): ask the token something
                # simple. If it answers, the record is what failed; if not, the device.
                self._find_kek(session, wrapped.kek_version)
                raise DecryptionError from None
        if len(raw) != KEY_BYTES:
            raise DecryptionError
        return DataKey(key=bytes(raw))

    def blind_indexer(self) -> BlindIndexer:
        return self._others.blind_indexer()

    def audit_signer(self) -> SigningKey:
        return self._others.audit_signer()

    def audit_signers(self) -> tuple[SigningKey, ...]:
        return self._others.audit_signers()

    # --- rotation (`vhhub keys rotate`) -------------------------------------------------

    def create_kek(self) -> str:
        """Generate a new KEK inside the token and make it current; returns its version.

        The key is a token object, private, sensitive, never extractable, usable only to
        encrypt and decrypt. Old versions stay until `retire_kek`.
        """
        from pkcs11 import Attribute, KeyType, ObjectClass

        version = _new_kek_version()
        label = self._kek_label(version)
        template = {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.ENCRYPT: True,
            Attribute.DECRYPT: True,
            Attribute.WRAP: False,
            Attribute.UNWRAP: False,
            Attribute.SIGN: False,
            Attribute.VERIFY: False,
            Attribute.DERIVE: False,
            Attribute.MODIFIABLE: False,
            Attribute.ID: version.encode("ascii"),
        }
        with self._write_lock, self._session() as session:
            session.generate_key(KeyType.AES, KEY_BYTES * 8, label=label, template=template)
            pointers = self._pointers(session)
            sequence = pointers[0][0] + 1 if pointers else 1
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.DATA,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.LABEL: self._prefix + _CURRENT,
                    Attribute.APPLICATION: f"{_APPLICATION}:{sequence}",
                    Attribute.VALUE: version.encode("ascii"),
                }
            )
            for _, pointer in pointers:  # the new one already wins; the old ones go
                pointer.destroy()
        return version

    def retire_kek(self, version: str) -> None:
        """Destroy KEK `version` inside the token, for good. The current one cannot be.

        Every case key still wrapped under it is lost with it (crypto-shredding): run the
        re-wrap first.
        """
        with self._write_lock, self._session() as session:
            if version == self._current(session):
                raise KeyStoreError(f"KEK version {version!r} is current; rotate before retiring")
            self._find_kek(session, version).destroy()


if TYPE_CHECKING:  # mypy proves the provider satisfies the protocol the hub uses
    from hub.crypto.keys import FileKeyProvider, KeyProvider

    _pkcs11_provider: KeyProvider = Pkcs11KeyProvider(
        module="", token_label="", pin="", others=FileKeyProvider(Path())
    )
