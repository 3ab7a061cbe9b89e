"""The access-log export format, and the offline verifier that needs nothing else.

Why it lives here and not in the appender: an auditor verifies an export on their own
machine with only the file and the hub's published verifier key, so this module imports no
database, settings or network code -- only the pure core (`merkle`, `entry`,
`checkpoints`). The exporter (`hub/audit/log.py`) writes the format with `export_lines`, so
writer and reader share one definition.

Export format ``vhhub-access-log-export/1`` (JSON Lines, UTF-8, one JSON object per line,
written with sorted keys and no whitespace; docs/adr/0401-access-log-format.md)::

    {"format":"vhhub-access-log-export/1","origin":"<origin>","verifier_key":"<vkey>"}
    {"entry":{...},"leaf_hash":"<64 hex>","type":"entry"}          one per entry, seq 0..n-1
    {"note":"<signed checkpoint note>","type":"checkpoint"}          right after entry T-1

A checkpoint of tree size T sits directly after the T-th entry line (size 0: directly after
the header), so the verifier compares its root with the running root of exactly the entries
before it: one pass, O(log n) memory, however long the log.

What `verify_export` proves and what it cannot (see the ADR for the full list): every
entry up to the last valid checkpoint is exactly what the hub signed -- any change,
deletion, insertion, reordering or forged checkpoint is reported with the first seq it
breaks. An export cut off after a checkpoint looks like an older honest export unless the
auditor supplies a checkpoint they obtained elsewhere (`trusted_checkpoints`).

Coverage (ADR 0401): an honest hub signs a checkpoint at its first append and then at least
every N entries or T seconds. So a non-empty log that no checkpoint covers fails (its
checkpoints were removed, and with them the proof of everything), and so do entries left
uncovered for longer than T plus a grace (`TailRule`), measured against the newest entry of
the export itself -- or against the clock, for the live database. Without that rule a log
edited and then stripped of its checkpoints would verify. A younger uncovered tail is a
warning; `TailRule(allow=True)` (`--allow-unsigned-tail`) turns the failures into warnings
for a hub that is known to have stopped without signing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from hub.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    parse_and_verify_checkpoint,
    parse_verifier_key,
    peek_tree_size_unsafe,
)
from hub.audit.entry import (
    AccessLogEntry,
    EntryError,
    entry_and_leaf_from_json,
    entry_leaf_hash,
    entry_to_json,
)
from hub.audit.keylist import KeySet, LogKey, key_set
from hub.audit.merkle import HASH_SIZE, CompactRange
from hub.audit.witness import (
    WitnessKey,
    follow_rotations,
    parse_witness_key,
    witness_satisfied,
)

__all__ = [
    "DEFAULT_CHECKPOINT_INTERVAL_S",
    "EXPORT_FORMAT",
    "ExportEntry",
    "ExportHeader",
    "TailRule",
    "VerifyProgress",
    "VerifyReport",
    "WitnessRule",
    "checkpoint_line",
    "count_export_entries",
    "entry_line",
    "export_lines",
    "header_line",
    "main",
    "no_progress",
    "verify_export",
    "verify_export_file",
]

EXPORT_FORMAT: Final = "vhhub-access-log-export/1"

#: The hub's default `VHHUB_CHECKPOINT_INTERVAL_S`: what an offline verifier assumes unless
#: told the hub's own interval.
DEFAULT_CHECKPOINT_INTERVAL_S: Final = 60
#: Beyond half an interval (the hub's background signer looks every half interval, so an
#: honest tail can reach 1.5 intervals): clock differences between hub hosts, a transaction
#: that took long, a signer that ran late on a loaded machine.
TAIL_SLACK_S: Final = 30


@dataclass(frozen=True, slots=True)
class TailRule:
    """How old the entries not yet covered by a checkpoint may be.

    `interval_s` is the hub's checkpoint interval. The oldest uncovered entry may be at most
    `interval_s` plus a grace (half an interval and `TAIL_SLACK_S`) older than `now_us`; None
    means the newest entry time in the log itself, which is what an offline verifier has:
    an export is judged by its own timestamps, not by the day it is verified. `allow` makes
    an over-age tail, and a log without any covering checkpoint, a warning instead."""

    interval_s: int = DEFAULT_CHECKPOINT_INTERVAL_S
    now_us: int | None = None
    allow: bool = False

    @property
    def max_age_us(self) -> int:
        grace_s = (self.interval_s + 1) // 2 + TAIL_SLACK_S
        return (self.interval_s + grace_s) * 1_000_000


#: What the exporter may pass per entry: a parsed entry (its leaf hash is computed), or an
#: entry -- parsed, or as the raw stored JSON object if it no longer parses -- together with
#: the leaf hash stored beside it. Passing the stored hash lets the verifier pinpoint a row
#: changed in the database without its hash.
ExportEntry = AccessLogEntry | tuple[AccessLogEntry | Mapping[str, Any], bytes]

#: Called during a pass with (entries verified so far, entries expected or None when not
#: known): every `PROGRESS_EVERY` entries and once at the end, so a command line can show a
#: bar. It only watches; what it does never changes the verdict.
VerifyProgress = Callable[[int, int | None], None]
PROGRESS_EVERY: Final = 1000


def no_progress(done: int, total: int | None) -> None:
    """The default `VerifyProgress`: nobody is watching."""


_HEADER_KEYS: Final = frozenset({"format", "origin", "verifier_key"})
#: optional header keys (ADR 0406): the log's signed key lists, the witness key rotations
_HEADER_OPTIONAL: Final = frozenset({"key_lists", "witness_rotations"})
_ENTRY_KEYS: Final = frozenset({"type", "entry", "leaf_hash"})
_CHECKPOINT_KEYS: Final = frozenset({"type", "note"})
#: Lines are written with sorted keys and no whitespace, like the canonical entry bytes.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ExportHeader:
    """The first line of an export: which log, and which key its checkpoints claim."""

    origin: str
    verifier_key: str
    #: the log's signed key lists, oldest first (none for a log never rotated)
    key_lists: tuple[str, ...] = ()
    #: witness key rotation statements the hub accepted (hub/audit/witness.py)
    witness_rotations: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "origin": self.origin,
            "verifier_key": self.verifier_key,
        }
        # only when there are any: an export of a log never rotated keeps its old form
        if self.key_lists:
            out["key_lists"] = list(self.key_lists)
        if self.witness_rotations:
            out["witness_rotations"] = list(self.witness_rotations)
        return out


@dataclass(frozen=True, slots=True)
class WitnessRule:
    """Which witnesses must have cosigned: `min_witnesses` of the given witness keys (vkeys
    the auditor pinned), each counted once however often it rotated its key (rotations are
    followed from statements signed by the pinned key).

    The requirement is on the newest checkpoint: it must carry the cosignatures, or else be
    at most `max_lag_s` ahead of the newest one that does -- measured like the coverage
    tail, from the oldest entry after that witnessed checkpoint to the newest entry (or now,
    for the live log). Witnesses come by once an interval, and every export and every read
    of the latest checkpoint signs a fresh one that no witness has seen yet; without the
    lag no export could ever pass. A log shown to this auditor alone never gains the
    cosignatures, so its lag grows until it fails."""

    witnesses: tuple[str, ...] = ()
    min_witnesses: int = 0
    max_lag_s: int = 300


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The verdict on one export. `problem` and `warnings` name positions, never content.

    `first_broken_seq` is the lowest seq whose integrity could not be established: the entry
    itself for a per-entry failure (bad leaf hash, gap, duplicate, out of order, unparsable);
    for a checkpoint that fails, the first seq not already proven by an earlier checkpoint.
    Every entry below it is proven intact by a valid checkpoint (or was checked before the
    failure when no checkpoint failed). None when nothing broke, or when the problem is not
    tied to entries (header, key).
    """

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_broken_seq: int | None
    problem: str | None
    warnings: tuple[str, ...]
    #: Entries proven by a verified checkpoint (in the export, or one you supplied).
    covered_size: int
    #: Merkle root over the `entries_checked` entries, to compare with checkpoints held
    #: elsewhere (a witness, a previous audit).
    root: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "first_broken_seq": self.first_broken_seq,
            "problem": self.problem,
            "warnings": list(self.warnings),
            "covered_size": self.covered_size,
            "root": self.root.hex(),
        }


# -- writing ---------------------------------------------------------------------------------


def _dump(obj: Mapping[str, Any]) -> str:
    return _ENCODER.encode(obj) + "\n"


def header_line(header: ExportHeader) -> str:
    return _dump(header.to_json())


def entry_line(entry: ExportEntry) -> str:
    """One entry line; see `ExportEntry` for where the leaf hash comes from."""
    if isinstance(entry, AccessLogEntry):
        body: Mapping[str, Any] = entry_to_json(entry)
        leaf = entry_leaf_hash(entry)
    else:
        item, leaf = entry
        body = entry_to_json(item) if isinstance(item, AccessLogEntry) else item
    if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
        raise ValueError("a stored leaf hash must be 32 bytes")
    return _dump({"type": "entry", "entry": body, "leaf_hash": leaf.hex()})


def checkpoint_line(note: str) -> str:
    return _dump({"type": "checkpoint", "note": note})


def export_lines(
    entries: Iterable[ExportEntry], checkpoints: Iterable[str], header: ExportHeader
) -> Iterator[str]:
    """The export, line by line (each ending in a newline), ready for ``writelines``.

    `entries` must come in seq order and are streamed; `checkpoints` (signed notes) may come
    in any order and are placed here -- each right after the entry that completes its tree.
    Nothing is verified or dropped: a damaged log is exported as it is, for the verifier to
    report. Checkpoints larger than the number of entries go last.
    """
    notes = sorted(
        ((peek_tree_size_unsafe(note), i, note) for i, note in enumerate(checkpoints)),
        key=lambda t: (t[0], t[1]),
    )
    pending = iter(notes)
    upcoming = next(pending, None)
    yield header_line(header)
    count = 0
    while upcoming is not None and upcoming[0] <= count:
        yield checkpoint_line(upcoming[2])
        upcoming = next(pending, None)
    for entry in entries:
        yield entry_line(entry)
        count += 1
        while upcoming is not None and upcoming[0] <= count:
            yield checkpoint_line(upcoming[2])
            upcoming = next(pending, None)
    while upcoming is not None:
        yield checkpoint_line(upcoming[2])
        upcoming = next(pending, None)


# -- reading ---------------------------------------------------------------------------------


class _Broken(Exception):
    """Internal: stops the pass at the first problem."""

    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Duplicate keys would let two JSON readers see two different entries in one line.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _no_constants(_: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
)


def _parse_line(line: str) -> Any:
    return _DECODER.decode(line)


def _parse_leaf_hex(value: object) -> bytes | None:
    if not isinstance(value, str) or len(value) != 2 * HASH_SIZE or value != value.lower():
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


class _Verifier:
    """The state of one streaming pass: O(log n) memory whatever the export's size."""

    def __init__(
        self,
        verifier: NoteVerifier,
        key_text: str,
        trusted: list[str],
        progress: VerifyProgress = no_progress,
        expected: int | None = None,
        witness_rule: WitnessRule | None = None,
    ) -> None:
        self.verifier = verifier
        self.keys = KeySet((LogKey(key_text, 0, None, 0),))
        self.trusted_notes = trusted
        self.witness_rule = witness_rule or WitnessRule()
        self.witness_rotations: tuple[str, ...] = ()
        #: the witness keys as followed through their rotations (built in `header`)
        self.witness_chains: list[list[tuple[WitnessKey, int | None]]] = []
        #: size of the newest checkpoint with enough cosignatures, and the time of the entry
        #: after it (the oldest entry no witness has vouched for)
        self.witnessed_size: int | None = None
        self.witness_tail_us: int | None = None
        self.progress = progress
        self.expected = expected
        self.key_text = key_text
        self.trusted: list[Checkpoint] = []
        self.tree = CompactRange()
        self.origin: str | None = None
        self.checkpoints_checked = 0
        self.covered = 0
        #: time of the entry at seq `covered` (the oldest not yet covered), and the newest time
        self.tail_time_us: int | None = None
        self.newest_time_us: int | None = None
        #: checkpoints signed under a key name other than the origin (before key name = origin)
        self.other_key_names: dict[str, int] = {}

    def header(self, lineno: int, obj: Any) -> None:
        if (
            not isinstance(obj, dict)
            or not set(obj) >= _HEADER_KEYS
            or not set(obj) <= _HEADER_KEYS | _HEADER_OPTIONAL
        ):
            raise _Broken(None, f"line {lineno}: not an export header")
        if obj["format"] != EXPORT_FORMAT:
            raise _Broken(None, f"line {lineno}: unknown export format")
        origin, vkey = obj["origin"], obj["verifier_key"]
        if not isinstance(origin, str) or not isinstance(vkey, str):
            raise _Broken(None, f"line {lineno}: header origin and verifier_key must be text")
        try:
            named = parse_verifier_key(vkey)
        except CheckpointError:
            raise _Broken(None, f"line {lineno}: header verifier key is malformed") from None
        lists = obj.get("key_lists", [])
        rotations = obj.get("witness_rotations", [])
        for value in (lists, rotations):
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                raise _Broken(None, f"line {lineno}: header key lists must be lists of text")
        try:
            # follow the log's key rotations from the key the auditor pinned (keylist.py)
            self.keys = key_set(self.key_text, lists, origin)
        except CheckpointError as exc:
            raise _Broken(None, f"line {lineno}: the log's key lists are rejected: {exc}") from None
        self.witness_rotations = tuple(rotations)
        self.witness_chains = [
            follow_rotations(parse_witness_key(vkey), self.witness_rotations)
            for vkey in dict.fromkeys(self.witness_rule.witnesses)
        ]
        # the same public key, whatever its name: names are labels (checkpoints.py); after a
        # rotation the header names the current key, which the verified lists must hold
        listed = {k.verifier.verify_key.to_bytes() for k in self.keys.keys}
        if named.verify_key.to_bytes() not in listed:
            raise _Broken(
                None, f"line {lineno}: export names another verifier key than the one supplied"
            )
        self.origin = origin
        for note in self.trusted_notes:
            try:
                cp, _ = self.keys.open(note)
            except CheckpointError as exc:
                raise _Broken(None, f"a supplied checkpoint does not verify: {exc}") from None
            if cp.origin != origin:
                raise _Broken(None, "a supplied checkpoint is for another log (origin differs)")
            self.trusted.append(cp)
        self.trusted.sort(key=lambda c: c.tree_size)
        self._check_trusted()

    def _check_trusted(self) -> None:
        size = self.tree.size
        while self.trusted and self.trusted[0].tree_size == size:
            cp = self.trusted.pop(0)
            if cp.root != self.tree.root():
                raise _Broken(
                    self.covered,
                    f"a supplied checkpoint for size {size} does not match the export: "
                    f"entries from seq {self.covered} to {size - 1} differ from what was signed",
                )
            self.covered = max(self.covered, size)

    def entry(self, lineno: int, obj: dict[str, Any]) -> None:
        expected = self.tree.size
        if set(obj) != _ENTRY_KEYS:
            raise _Broken(expected, f"line {lineno}: entry line has wrong keys")
        try:
            entry, leaf = entry_and_leaf_from_json(obj["entry"])
        except EntryError as exc:
            raise _Broken(expected, f"line {lineno}: invalid entry: {exc}") from None
        if entry.seq != expected:
            kind = "missing" if entry.seq > expected else "duplicate or out of order"
            raise _Broken(
                expected, f"line {lineno}: expected seq {expected}, found {entry.seq} ({kind})"
            )
        stated = _parse_leaf_hex(obj["leaf_hash"])
        if stated is None:
            raise _Broken(expected, f"line {lineno}: leaf_hash must be 64 lower-case hex digits")
        if leaf != stated:
            raise _Broken(expected, f"line {lineno}: seq {expected} does not match its leaf hash")
        if expected == self.covered:  # the first entry after the newest covering checkpoint
            self.tail_time_us = entry.time_us
        if expected == self.witnessed_size:  # the first entry no witness vouched for
            self.witness_tail_us = entry.time_us
        if self.newest_time_us is None or entry.time_us > self.newest_time_us:
            self.newest_time_us = entry.time_us
        self.tree.append(leaf)
        self._check_trusted()
        if self.tree.size % PROGRESS_EVERY == 0:
            self.progress(self.tree.size, self.expected)

    def checkpoint(self, lineno: int, obj: dict[str, Any]) -> None:
        size = self.tree.size
        if set(obj) != _CHECKPOINT_KEYS or not isinstance(obj["note"], str):
            raise _Broken(self.covered, f"line {lineno}: checkpoint line is malformed")
        try:
            cp, names = self.keys.open(obj["note"])
        except CheckpointError as exc:
            raise _Broken(self.covered, f"line {lineno}: checkpoint rejected: {exc}") from None
        for name in names:
            if name != cp.origin:
                self.other_key_names[name] = self.other_key_names.get(name, 0) + 1
        if cp.origin != self.origin:
            raise _Broken(self.covered, f"line {lineno}: checkpoint is for another log")
        if cp.tree_size > size:
            raise _Broken(
                self.covered,
                f"line {lineno}: checkpoint for size {cp.tree_size} follows only {size} "
                f"entries: entries are missing, removed at or after seq {self.covered}",
            )
        if cp.tree_size < size:
            raise _Broken(
                self.covered,
                f"line {lineno}: checkpoint for size {cp.tree_size} is out of place "
                f"(after {size} entries)",
            )
        if cp.root != self.tree.root():
            raise _Broken(
                self.covered,
                f"line {lineno}: checkpoint for size {size} does not match the entries: "
                f"entries from seq {self.covered} to {size - 1} differ from what was signed",
            )
        self.checkpoints_checked += 1
        self.covered = max(self.covered, size)
        rule = self.witness_rule
        if rule.min_witnesses > 0:
            note = obj["note"]
            satisfied = sum(1 for chain in self.witness_chains if witness_satisfied(note, chain))
            if satisfied >= rule.min_witnesses:
                self.witnessed_size, self.witness_tail_us = size, None

    def finish(self, tail: TailRule) -> list[str]:
        size = self.tree.size
        if self.trusted:
            cp = self.trusted[0]
            raise _Broken(
                self.covered,
                f"the export ends after {size} entries but a supplied checkpoint covers "
                f"{cp.tree_size}: the export is truncated or the log was rolled back",
            )
        warnings = [
            f"{count} checkpoint(s) are signed under the key name {name!r}, not the log's "
            "origin (as hubs before 2026-12-05 signed); accepted: the key is the trusted one"
            for name, count in sorted(self.other_key_names.items())
        ]
        if self.covered < size:
            warnings.append(self._judge_tail(tail))
        warnings.extend(self._judge_witnesses(tail))
        return warnings

    def _judge_witnesses(self, tail: TailRule) -> list[str]:
        rule = self.witness_rule
        if rule.min_witnesses <= 0:
            return []
        need = f"{rule.min_witnesses} of the given witnesses"
        witnessed = self.witnessed_size
        if witnessed is None:
            raise _Broken(
                None,
                f"no checkpoint carries valid cosignatures of {need}: this may be a view of "
                "the log shown to this auditor alone (a split view)",
            )
        size = self.tree.size
        if witnessed >= size or self.witness_tail_us is None:
            return [f"the newest checkpoint (size {witnessed}) is cosigned by {need}"]
        now_us = self.newest_time_us if tail.now_us is None else tail.now_us
        lag_s = ((now_us or 0) - self.witness_tail_us) // 1_000_000
        unwitnessed = f"entries from seq {witnessed} to {size - 1}"
        if lag_s > rule.max_lag_s:
            raise _Broken(
                witnessed,
                f"{unwitnessed} are not covered by a checkpoint cosigned by {need}, and the "
                f"oldest of them is {lag_s} s old, more than the {rule.max_lag_s} s witnesses "
                "may lag: the witnesses are down, or this is a view shown to this auditor alone",
            )
        return [
            f"the newest checkpoint cosigned by {need} has size {witnessed}; {unwitnessed} "
            f"are younger than the witness lag of {rule.max_lag_s} s"
        ]

    def _judge_tail(self, tail: TailRule) -> str:
        """The warning for an acceptable uncovered tail; raises `_Broken` for another."""
        size, covered = self.tree.size, self.covered
        uncovered = f"entries from seq {covered} to {size - 1} ({size - covered})"
        escape = " (--allow-unsigned-tail accepts it for a hub that stopped without signing)"
        if covered == 0:
            problem = (
                f"no signed checkpoint covers any of the {size} entries, but an honest hub "
                "signs one at its first entry: the log's checkpoints were removed"
            )
            if not tail.allow:
                raise _Broken(0, problem + escape)
            return problem + " -- accepted (--allow-unsigned-tail)"
        if self.tail_time_us is None or self.newest_time_us is None:  # pragma: no cover
            raise _Broken(covered, "internal: no entry read at the first uncovered seq")
        now_us = self.newest_time_us if tail.now_us is None else tail.now_us
        against = "the newest entry" if tail.now_us is None else "now"
        age_us = now_us - self.tail_time_us
        if age_us > tail.max_age_us:
            problem = (
                f"{uncovered} are not covered by a signed checkpoint although the oldest of "
                f"them is {age_us // 1_000_000} s older than {against}, more than the "
                f"checkpoint interval of {tail.interval_s} s and its grace "
                f"({tail.max_age_us // 1_000_000} s): checkpoints were removed, or the hub "
                "stopped without signing"
            )
            if not tail.allow:
                raise _Broken(covered, problem + escape)
            return problem + " -- accepted (--allow-unsigned-tail)"
        return f"{uncovered} are not yet covered by a signed checkpoint"

    def report(self, broken: _Broken | None, warnings: Sequence[str]) -> VerifyReport:
        size = self.tree.size
        self.progress(size, self.expected)
        return VerifyReport(
            ok=broken is None,
            entries_checked=size,
            checkpoints_checked=self.checkpoints_checked,
            first_broken_seq=None if broken is None else broken.seq,
            problem=None if broken is None else broken.problem,
            warnings=tuple(warnings),
            covered_size=self.covered,
            root=self.tree.root(),
        )


_NO_OUTSIDE_CHECKPOINT: Final = (
    "no checkpoint kept outside the log was supplied (--checkpoint): a log cut off after a "
    "checkpoint, or a rolled-back log, cannot be told from an older honest one"
)


class VerifyInputError(ValueError):
    """The caller's own input is unusable (a key, a checkpoint or an export that cannot be
    read or parsed): nothing was verified. Distinct from a log that fails verification."""


def read_verifier_inputs(
    public_key: str, checkpoint_files: Iterable[Path]
) -> tuple[str, list[str]]:
    """The verifier key text (given inline or as a file) and the kept checkpoints, checked
    before any verification starts, so that a typo is never reported as a broken log.

    Raises `VerifyInputError` with a message that names the problem, never key bytes."""
    key_path = Path(public_key)
    try:
        key = key_path.read_text(encoding="utf-8").strip() if key_path.is_file() else public_key
    except (OSError, UnicodeDecodeError) as exc:
        raise VerifyInputError(f"cannot read the verifier key file: {_reason(exc)}") from None
    try:
        parse_verifier_key(key)
    except CheckpointError as exc:
        raise VerifyInputError(f"the verifier key is not usable: {exc}") from None
    notes: list[str] = []
    for path in checkpoint_files:
        try:
            note = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VerifyInputError(f"cannot read checkpoint {path}: {_reason(exc)}") from None
        # a saved note often gains a trailing newline (an editor, `print`); a signed note
        # ends in exactly one, and nothing after it is signed, so extra ones are dropped
        note = note.rstrip("\n") + "\n"
        try:
            parse_and_verify_checkpoint(note, key)
        except CheckpointError as exc:
            raise VerifyInputError(
                f"checkpoint {path} does not verify with the supplied key: {exc}"
            ) from None
        notes.append(note)
    return key, notes


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else type(exc).__name__


def verify_export(
    lines: Iterable[str],
    verifier_key_text: str,
    *,
    trusted_checkpoints: Iterable[str] = (),
    tail: TailRule | None = None,
    progress: VerifyProgress = no_progress,
    expected_entries: int | None = None,
    witness_rule: WitnessRule | None = None,
) -> VerifyReport:
    """Verify an export in one streaming pass; stop at and report the first problem.

    `verifier_key_text` is the hub's published verifier key, obtained out of band -- never
    from the export. `trusted_checkpoints` are signed notes obtained elsewhere (a witness,
    the previous audit); the export must contain their tree sizes and match their roots,
    which is the only way to detect a truncated export or a rolled-back log. `tail` says
    how old uncovered entries may be (default: the default interval, judged against the
    export's own newest entry). `progress` is told how far the pass is (`VerifyProgress`),
    against `expected_entries` when the caller knows how many there should be.

    Raises `CheckpointError` only for bad caller input (a malformed verifier key, or a
    supplied checkpoint that does not verify); problems in the export go into the report.
    """
    verifier = parse_verifier_key(verifier_key_text)
    trusted = list(trusted_checkpoints)
    for note in trusted:  # bad caller input raises here, before any pass
        parse_and_verify_checkpoint(note, verifier_key_text)
    rule = witness_rule or WitnessRule()
    if rule.min_witnesses > len(set(rule.witnesses)):
        raise CheckpointError("--min-witnesses exceeds the number of distinct --witness keys")
    for vkey in rule.witnesses:
        parse_witness_key(vkey)
    state = _Verifier(verifier, verifier_key_text, trusted, progress, expected_entries, rule)
    warnings: list[str] = [] if trusted else [_NO_OUTSIDE_CHECKPOINT]
    seen_header = False
    source = iter(lines)
    lineno = 0
    try:
        while True:
            lineno += 1
            try:
                raw = next(source)
            except StopIteration:
                break
            except UnicodeDecodeError:
                seq = state.tree.size if seen_header else None
                raise _Broken(seq, f"line {lineno}: not valid UTF-8") from None
            line = raw[:-1] if raw.endswith("\n") else raw
            try:
                obj = _parse_line(line)
            except (ValueError, RecursionError):
                seq = state.tree.size if seen_header else None
                raise _Broken(seq, f"line {lineno}: not a JSON object") from None
            if not seen_header:
                state.header(lineno, obj)
                seen_header = True
                continue
            if not isinstance(obj, dict):
                raise _Broken(state.tree.size, f"line {lineno}: not a JSON object")
            kind = obj.get("type")
            if kind == "entry":
                state.entry(lineno, obj)
            elif kind == "checkpoint":
                state.checkpoint(lineno, obj)
            else:
                raise _Broken(state.tree.size, f"line {lineno}: unknown line type")
        if not seen_header:
            raise _Broken(None, "the export is empty")
        warnings.extend(state.finish(tail or TailRule()))
    except _Broken as broken:
        return state.report(broken, warnings)
    return state.report(None, warnings)


#: How an entry line of an export ends: keys are sorted, so "type" comes last.
_ENTRY_LINE_END: Final = b'"type":"entry"}\n'


def count_export_entries(path: str | Path, *, chunk: int = 1 << 20) -> int:
    """How many entry lines an export file holds, by a fast byte scan (no parsing).

    Only for a progress bar's total: a damaged file may hold fewer or more real entries,
    and the verifier never relies on this number."""
    found = 0
    keep = len(_ENTRY_LINE_END) - 1
    tail = b""
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            data = tail + block
            found += data.count(_ENTRY_LINE_END)
            # a match across the boundary lies in the kept bytes plus the next block; a
            # match wholly inside the kept bytes is impossible, as they are shorter
            tail = data[-keep:]
    return found


def verify_export_file(path: str | Path, verifier_key_text: str, **kwargs: Any) -> VerifyReport:
    """`verify_export` over a file, read as strict UTF-8 one line at a time.

    With a `progress` callback and no `expected_entries`, the entry lines are counted first
    (one fast byte scan) so the callback gets a total. Raises `VerifyInputError` when the
    file cannot be opened or read."""
    try:
        if kwargs.get("progress") not in (None, no_progress) and "expected_entries" not in kwargs:
            kwargs["expected_entries"] = count_export_entries(path)
        with Path(path).open(encoding="utf-8", errors="strict", newline="\n") as fh:
            return verify_export(fh, verifier_key_text, **kwargs)
    except OSError as exc:
        raise VerifyInputError(f"cannot read the export {path}: {_reason(exc)}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hub.audit.verify EXPORT --key VKEY [--checkpoint NOTE_FILE ...]
    [--checkpoint-interval SECONDS] [--allow-unsigned-tail]``.

    Prints the report as JSON; exits 0 when the export verifies, 1 when it does not, 2 when
    the arguments are unusable (nothing was verified).
    """
    parser = argparse.ArgumentParser(
        prog="python -m hub.audit.verify",
        description="Verify an access-log export offline, with only the hub's verifier key.",
    )
    parser.add_argument("export", type=Path, help="the .jsonl export")
    parser.add_argument(
        "--key", required=True, help="the hub's verifier key (name+hash+key), or a file holding it"
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        type=Path,
        default=[],
        help="a signed checkpoint obtained outside the export (repeatable)",
    )
    parser.add_argument(
        "--checkpoint-interval",
        type=int,
        default=DEFAULT_CHECKPOINT_INTERVAL_S,
        metavar="SECONDS",
        help="the hub's VHHUB_CHECKPOINT_INTERVAL_S: entries left without a checkpoint for "
        f"longer (plus a grace) fail (default {DEFAULT_CHECKPOINT_INTERVAL_S})",
    )
    parser.add_argument(
        "--allow-unsigned-tail",
        action="store_true",
        help="report entries left without a checkpoint for too long as a warning, not a failure",
    )
    args = parser.parse_args(argv)
    if args.checkpoint_interval < 1:
        parser.error("--checkpoint-interval must be at least 1")
    tail = TailRule(interval_s=args.checkpoint_interval, allow=args.allow_unsigned_tail)
    try:
        key, notes = read_verifier_inputs(args.key, args.checkpoint)
        report = verify_export_file(args.export, key, trusted_checkpoints=notes, tail=tail)
    except VerifyInputError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return 2
    sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
