"""Checking one entry against a signed checkpoint, as an auditor's screen shows it.

Why a module of its own: the web application may not import the crypto code, yet the entry
page must say whether the entry it shows is in the signed log. So the check lives here, with
the pure core it needs (`entry`, `merkle`, `checkpoints`), and returns a result object the
page words in Dutch. It recomputes everything itself: the entry's leaf hash from its fields,
the checkpoint's signature under the verifier key, and the path from the leaf to the root the
signed note states (never the root column the database keeps beside it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.audit.checkpoints import CheckpointError, open_checkpoint, parse_verifier_key
from hub.audit.entry import EntryError, entry_and_leaf_from_json
from hub.audit.keylist import key_set
from hub.audit.merkle import ProofError, verify_inclusion


class ProofProblem(StrEnum):
    """What failed, as a code (the screens word it; a code never leaks content)."""

    ENTRY_CHANGED = "entry_changed"
    ENTRY_INVALID = "entry_invalid"
    SIGNATURE = "signature"
    OTHER_LOG = "other_log"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    PROOF = "proof"


@dataclass(frozen=True, slots=True)
class ProofInput:
    """What the check takes: the entry as stored (export form, `time_us`), the leaf hash and
    proof the hub handed out, and the checkpoint note the proof claims to lead to."""

    entry: Mapping[str, Any]
    leaf_hash: str
    proof: Sequence[str]
    tree_size: int
    note: str


@dataclass(frozen=True, slots=True)
class InclusionCheck:
    """The verdict: `ok`, else the first `problem` met. `tree_size` is the size the signed
    note states (None when the note itself did not verify)."""

    ok: bool
    seq: int
    tree_size: int | None
    problem: ProofProblem | None = None


def check_inclusion(
    given: ProofInput, verifier_key: str, origin: str, key_lists: Sequence[str] = ()
) -> InclusionCheck:
    """Is this entry, unchanged, in the log the verifier key signed a checkpoint of?

    `key_lists` are the log's signed key lists (ADR 0406): after a rotation, a checkpoint
    signed by an earlier key of the chain, inside its window, is the log's as well."""
    seq = int(given.entry.get("seq", -1)) if isinstance(given.entry.get("seq"), int) else -1
    try:
        entry, leaf = entry_and_leaf_from_json(dict(given.entry))
    except (EntryError, TypeError, ValueError):
        return InclusionCheck(False, seq, None, ProofProblem.ENTRY_INVALID)
    if leaf.hex() != given.leaf_hash:
        return InclusionCheck(False, seq, None, ProofProblem.ENTRY_CHANGED)
    try:
        checkpoint, _ = key_set(verifier_key, key_lists).open(given.note)
    except CheckpointError:
        return InclusionCheck(False, seq, None, ProofProblem.SIGNATURE)
    if checkpoint.origin != origin:
        return InclusionCheck(False, seq, checkpoint.tree_size, ProofProblem.OTHER_LOG)
    if checkpoint.tree_size != given.tree_size:
        return InclusionCheck(False, seq, checkpoint.tree_size, ProofProblem.CHECKPOINT_MISMATCH)
    try:
        path = [bytes.fromhex(h) for h in given.proof]
        verify_inclusion(entry.seq, checkpoint.tree_size, leaf, path, checkpoint.root)
    except (ProofError, ValueError):
        return InclusionCheck(False, seq, checkpoint.tree_size, ProofProblem.PROOF)
    return InclusionCheck(True, entry.seq, checkpoint.tree_size)


def cosigners(note: str, verifier_key: str) -> list[str]:
    """The key names of the note's signatures that are not the hub's own (witnesses, issue
    21). A note the hub's key does not sign has no trustworthy cosigners: empty."""
    try:
        _, own = open_checkpoint(note, parse_verifier_key(verifier_key))
    except CheckpointError:
        return []
    block = note[note.rfind("\n\n") + 2 :]
    names = [line[2:].partition(" ")[0] for line in block.splitlines() if line.startswith("— ")]
    return sorted({n for n in names if n and n not in own})
