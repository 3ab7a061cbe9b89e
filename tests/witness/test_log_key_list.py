"""The log's signed key list (hub/audit/keylist.py) and the offline verifier across a key
rotation: old checkpoints keep verifying, a checkpoint signed by a key outside its window is
rejected, and a list not signed by the outgoing key is not followed. Pure: no database."""

from __future__ import annotations

import json

import pytest

from hub.audit.checkpoints import (
    DEFAULT_ORIGIN,
    CheckpointError,
    sign_checkpoint,
    verifier_key_text,
)
from hub.audit.entry import AccessLogEntry, Action, Outcome, entry_leaf_hash
from hub.audit.keylist import key_set, rotated_list
from hub.audit.merkle import CompactRange
from hub.audit.verify import ExportHeader, TailRule, export_lines, verify_export
from hub.crypto.signing import SigningKey

K0 = SigningKey.from_seed(bytes([10]) * 32)
K1 = SigningKey.from_seed(bytes([11]) * 32)
K2 = SigningKey.from_seed(bytes([12]) * 32)


def vkey(key: SigningKey) -> str:
    return verifier_key_text(DEFAULT_ORIGIN, key.public_key())


def entry(seq: int) -> AccessLogEntry:
    return AccessLogEntry(
        seq=seq,
        time_us=1_700_000_000_000_000 + seq,
        action=Action.LOG_QUERY,
        outcome=Outcome.ALLOWED,
        reason="q",
    )


def rotated_export(signer_for: dict[int, SigningKey], lists: list[str], n: int = 12) -> list[str]:
    """Entries 0..n-1 with a checkpoint at each size in `signer_for`, by that key."""
    entries = [entry(i) for i in range(n)]
    cr = CompactRange()
    notes = []
    for e in entries:
        cr.append(entry_leaf_hash(e))
        if cr.size in signer_for:
            notes.append(
                sign_checkpoint(
                    DEFAULT_ORIGIN, cr.size, cr.root(), signer_for[cr.size], DEFAULT_ORIGIN
                )
            )
    header = ExportHeader(DEFAULT_ORIGIN, vkey((lists and K2) or K0), key_lists=tuple(lists))
    return list(export_lines(entries, notes, header))


def two_rotations() -> list[str]:
    first = rotated_list(DEFAULT_ORIGIN, None, K0, K1, last_old_size=4, now=1)
    second = rotated_list(DEFAULT_ORIGIN, first, K1, K2, last_old_size=8, now=2)
    return [first, second]


def test_windows_follow_the_rotations_and_any_chain_key_can_be_pinned() -> None:
    lists = two_rotations()
    for pinned in (K0, K1, K2):
        keys = key_set(vkey(pinned), lists)
        assert [(k.valid_from, k.valid_until) for k in keys.keys] == [(0, 4), (5, 8), (9, None)]
    stranger = SigningKey.from_seed(bytes([13]) * 32)
    with pytest.raises(CheckpointError):
        key_set(vkey(stranger), lists)


def test_an_export_verifies_across_two_rotations_with_the_original_key_pinned() -> None:
    lines = rotated_export({1: K0, 4: K0, 8: K1, 12: K2}, two_rotations())
    report = verify_export(lines, vkey(K0), tail=TailRule(allow=False))
    assert report.ok, report.problem
    assert report.checkpoints_checked == 4
    assert verify_export(lines, vkey(K2)).ok


def test_a_retired_key_signing_after_its_window_is_rejected() -> None:
    # K0 retired at size 4; a checkpoint of size 8 under K0 (a leaked old key) is refused
    lines = rotated_export({1: K0, 4: K0, 8: K0, 12: K2}, two_rotations())
    report = verify_export(lines, vkey(K0))
    assert not report.ok
    assert "outside its window" in (report.problem or "")
    assert report.first_broken_seq == 4


def test_a_key_list_not_signed_by_the_outgoing_key_is_not_followed() -> None:
    first, _ = two_rotations()
    # an attacker with K2 only writes "list 2" handing over from K1 to K2, signed by K2 twice
    forged = rotated_list(DEFAULT_ORIGIN, first, K1, K2, last_old_size=8, now=2)
    body, _ = forged.split("\n\n")
    own = sign_checkpoint_like(body + "\n", K2)
    forged = body + "\n\n" + own + own
    lines = rotated_export({1: K0, 4: K0, 8: K1, 12: K2}, [first, forged])
    report = verify_export(lines, vkey(K0))
    assert not report.ok and "key lists are rejected" in (report.problem or "")


def test_a_key_list_that_rewrites_an_old_window_is_refused() -> None:
    first, second = two_rotations()
    # list 2, signed by the outgoing and incoming key as it should be, but stretching K0's
    # window (as if K0 had signed up to size 6): the chain refuses to rewrite history
    text = second.split("\n\n")[0] + "\n"
    stretched = text.replace(f"key {vkey(K0)} 0 4 ", f"key {vkey(K0)} 0 6 ")
    stretched = stretched.replace(f"key {vkey(K1)} 5 8 ", f"key {vkey(K1)} 7 8 ")
    assert stretched != text
    resigned = stretched + "\n" + sign_checkpoint_like(stretched, K1)
    resigned += sign_checkpoint_like(stretched, K2)
    with pytest.raises(CheckpointError, match="rewrites"):
        key_set(vkey(K0), [first, resigned])
    assert key_set(vkey(K0), [first, second]).current.valid_from == 9


def sign_checkpoint_like(text: str, key: SigningKey) -> str:
    from hub.audit.checkpoints import sign_note

    note = sign_note(text, key, DEFAULT_ORIGIN)
    return note[len(text) + 1 :]


def test_header_without_key_lists_keeps_the_old_form() -> None:
    header = ExportHeader(DEFAULT_ORIGIN, vkey(K0))
    assert set(json.loads(json.dumps(header.to_json()))) == {"format", "origin", "verifier_key"}
