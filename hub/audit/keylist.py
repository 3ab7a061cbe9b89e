"""The log's signed key list: which key signed checkpoints of which tree sizes.

Why: the checkpoint signing key must be rotatable (a leaked or aged key), yet every
checkpoint ever signed must keep verifying, and a retired key must not be able to sign a
checkpoint of a later tree. So the hub publishes, at each rotation, a key list as a signed
note (https://c2sp.org/signed-note)::

    vhhub-log-keys/1
    origin <log origin>
    version <n, from 1>
    key <vkey> <valid_from size> <valid_until size or -> <since, unix seconds>
    ...                                   (every key ever used, oldest first)

The window is in tree sizes, not times: a checkpoint carries no time, its tree size is its
clock, and a size window makes "signed outside its window" decidable from the checkpoint
alone. Key *i* may sign checkpoints with ``valid_from <= size <= valid_until``; the current
(last) key has no end. The time is when the key took over, for people.

Chaining: list *n* is signed by its last two keys (the outgoing and the incoming key), and
repeats list *n-1* except that it closes the outgoing key's window and adds the new key. A
verifier that pinned any key of the chain (out of band) follows it forward: it accepts the
first list its pinned key signed, then each next list only if the previous list's current
key signed it. Earlier keys are vouched for by the first accepted list. With no lists (a
log never rotated), the pinned key is the only key, valid for every size.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from hub.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    NoTrustedSignature,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key_text,
)
from hub.crypto.signing import SigningKey

__all__ = [
    "KEY_LIST_FORMAT",
    "KeySet",
    "LogKey",
    "key_set",
    "parse_key_list_unsafe",
    "rotated_list",
]

KEY_LIST_FORMAT: Final = "vhhub-log-keys/1"
_KEY_LINE: Final = re.compile(
    r"key (\S+) (0|[1-9][0-9]{0,19}) (0|[1-9][0-9]{0,19}|-) ([0-9]{1,12})"
)


#: a verifier checks every checkpoint against the listed keys: parse each key text once
_parsed = functools.lru_cache(maxsize=256)(parse_verifier_key)


@dataclass(frozen=True, slots=True)
class LogKey:
    """One key of the list and its window of tree sizes (`valid_until` None: open)."""

    vkey: str
    valid_from: int
    valid_until: int | None
    since: int

    @property
    def verifier(self) -> NoteVerifier:
        return _parsed(self.vkey)

    def covers(self, tree_size: int) -> bool:
        return self.valid_from <= tree_size and (
            self.valid_until is None or tree_size <= self.valid_until
        )

    def line(self) -> str:
        until = "-" if self.valid_until is None else str(self.valid_until)
        return f"key {self.vkey} {self.valid_from} {until} {self.since}"


@dataclass(frozen=True, slots=True)
class KeyList:
    origin: str
    version: int
    keys: tuple[LogKey, ...]
    note: str


def _body(origin: str, version: int, keys: Sequence[LogKey]) -> str:
    lines = [KEY_LIST_FORMAT, f"origin {origin}", f"version {version}"]
    lines += [k.line() for k in keys]
    return "\n".join(lines) + "\n"


def parse_key_list_unsafe(note: str) -> KeyList:
    """The list a note states, signatures NOT checked (`key_set` checks them)."""
    split = note.find("\n\n")
    if split < 0:
        raise CheckpointError("key list has no signature block")
    lines = note[:split].split("\n")
    if len(lines) < 4 or lines[0] != KEY_LIST_FORMAT:
        raise CheckpointError("not a vhhub log key list")
    if not lines[1].startswith("origin ") or not lines[2].startswith("version "):
        raise CheckpointError("key list must name its origin and version")
    version_text = lines[2][len("version ") :]
    if not version_text.isdigit() or int(version_text) < 1:
        raise CheckpointError("key list version must be a positive integer")
    keys = []
    for text in lines[3:]:
        match = _KEY_LINE.fullmatch(text)
        if match is None:
            raise CheckpointError("key list line is malformed")
        parse_verifier_key(match[1])
        until = None if match[3] == "-" else int(match[3])
        keys.append(LogKey(match[1], int(match[2]), until, int(match[4])))
    for prev, nxt in itertools.pairwise(keys):
        if prev.valid_until is None or nxt.valid_from != prev.valid_until + 1:
            raise CheckpointError("key list windows must follow each other without a gap")
    if keys[0].valid_from != 0 or keys[-1].valid_until is not None:
        raise CheckpointError("key list must start at size 0 and leave the last key open")
    return KeyList(lines[1][len("origin ") :], int(version_text), tuple(keys), note)


def _signed_by(note: str, key: LogKey) -> bool:
    try:
        open_note(note, key.verifier)
    except CheckpointError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class KeySet:
    """The keys a verifier accepts, each with its window; `open` checks a checkpoint."""

    keys: tuple[LogKey, ...]
    #: the verified list notes, newest last (empty for a log never rotated)
    notes: tuple[str, ...] = ()

    @property
    def current(self) -> LogKey:
        return self.keys[-1]

    def open(
        self, note: str | bytes, *, expected_origin: str | None = None
    ) -> tuple[Checkpoint, tuple[str, ...]]:
        """Verify a checkpoint: at least one listed key signed it, and every listed key that
        signed it was inside its window for the checkpoint's size. Raises `CheckpointError`."""
        found: tuple[Checkpoint, tuple[str, ...]] | None = None
        for key in self.keys:
            try:
                checkpoint, names = open_checkpoint(
                    note, key.verifier, expected_origin=expected_origin
                )
            except NoTrustedSignature:
                continue
            if not key.covers(checkpoint.tree_size):
                raise CheckpointError(
                    f"checkpoint of size {checkpoint.tree_size} is signed by a log key outside "
                    f"its window (sizes {key.valid_from} to "
                    f"{'now' if key.valid_until is None else key.valid_until})"
                )
            found = found or (checkpoint, names)
        if found is None:
            raise CheckpointError("note carries no signature by the trusted key (or a listed key)")
        return found


def key_set(pinned_vkey: str, lists: Iterable[str], origin: str | None = None) -> KeySet:
    """Follow the chain of key lists from the key the verifier pinned.

    Raises `CheckpointError` when a list is malformed, out of sequence, not chained, or when
    the pinned key is not in the lists at all (the hub rotated away from a key the verifier
    never knew: it must pin one of the chain)."""
    pinned = parse_verifier_key(pinned_vkey)
    parsed = sorted((parse_key_list_unsafe(n) for n in lists), key=lambda k: k.version)
    if not parsed:
        return KeySet((LogKey(pinned_vkey, 0, None, 0),))
    for i, kl in enumerate(parsed):
        if kl.version != i + 1:
            raise CheckpointError("key lists must be numbered 1, 2, ... without a gap")
        if origin is not None and kl.origin != origin:
            raise CheckpointError("key list is for another log (origin differs)")
    pinned_bytes = pinned.verify_key.to_bytes()
    start = None
    for i, kl in enumerate(parsed):
        signers = kl.keys[-2:]
        for key in signers:
            same = key.verifier.verify_key.to_bytes() == pinned_bytes
            if same and _signed_by(kl.note, key):
                start = i
                break
        if start is not None:
            break
    if start is None:
        raise CheckpointError("the pinned log key signed none of the log's key lists")
    accepted = parsed[start]
    for kl in parsed[start + 1 :]:
        if len(kl.keys) != len(accepted.keys) + 1:
            raise CheckpointError("key list must add exactly one key to the previous list")
        for old, new in zip(accepted.keys[:-1], kl.keys[:-2], strict=True):
            if old != new:
                raise CheckpointError("key list rewrites the window of an earlier key")
        outgoing = kl.keys[-2]
        incoming = accepted.keys[-1]
        if outgoing.vkey != incoming.vkey or outgoing.valid_from != incoming.valid_from:
            raise CheckpointError("key list does not continue from the previous list's key")
        if not (_signed_by(kl.note, outgoing) and _signed_by(kl.note, kl.keys[-1])):
            raise CheckpointError("key list is not signed by the outgoing and the incoming key")
        accepted = kl
    if not _signed_by(accepted.note, accepted.keys[-1]):
        raise CheckpointError("key list is not signed by its own current key")
    return KeySet(accepted.keys, tuple(k.note for k in parsed[: parsed.index(accepted) + 1]))


def rotated_list(
    origin: str,
    previous: str | None,
    old_signer: SigningKey,
    new_signer: SigningKey,
    *,
    last_old_size: int,
    now: int,
) -> str:
    """The next key list: the previous one (or the old key alone, valid from 0) with the old
    key closed at `last_old_size` and the new key open from the next size, signed by both."""
    old_vkey = verifier_key_text(origin, old_signer.public_key())
    if previous is None:
        keys: list[LogKey] = [LogKey(old_vkey, 0, None, 0)]
        version = 1
    else:
        prev = parse_key_list_unsafe(previous)
        keys = list(prev.keys)
        version = prev.version + 1
    if keys[-1].verifier.verify_key.to_bytes() != old_signer.public_key().to_bytes():
        raise CheckpointError("the outgoing key is not the current key of the list")
    keys[-1] = LogKey(keys[-1].vkey, keys[-1].valid_from, last_old_size, keys[-1].since)
    new_vkey = verifier_key_text(origin, new_signer.public_key())
    keys.append(LogKey(new_vkey, last_old_size + 1, None, now))
    body = _body(origin, version, keys)
    note = sign_note(body, old_signer, origin)
    # second signature line: sign_note makes one; append the new key's line to the block
    second = sign_note(body, new_signer, origin)
    return note + second[len(body) + 1 :]
