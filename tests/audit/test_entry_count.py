"""Entry format v3: `count`, for one entry that stands for several repeated refusals (ADR 0404).

Added the way `fact_subjects` was (ADR 0403): an entry without it keeps its v1 (or v2)
spelling and leaf hash, so every log written before stays valid; an entry with it exists
only as v3, with one spelling. A log mixing v1, v2 and v3 entries verifies, and changing a
count is caught like any other change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from hub.audit.checkpoints import DEFAULT_ORIGIN, sign_checkpoint
from hub.audit.entry import (
    ENTRY_DOMAIN_V3,
    AccessLogEntry,
    Action,
    EntryError,
    Outcome,
    canonical_bytes,
    entry_from_json,
    entry_leaf_hash,
    entry_to_json,
)
from hub.audit.merkle import CompactRange
from hub.audit.verify import export_lines, verify_export
from tests.audit.test_entry import KNOWN_BYTES, KNOWN_BYTES_V2, make_entry, make_v2
from tests.audit.test_verify import HEADER, KEY, VKEY
from tests.audit.test_verify import make_entry as make_log_entry


def make_aggregate(**changes: Any) -> AccessLogEntry:
    fields: dict[str, Any] = {
        "seq": 8,
        "time_us": 1_700_000_060_000_000,
        "action": Action.AUTH_FAILURE,
        "outcome": Outcome.DENIED,
        "reason": "token:missing_bearer",
        "source": "192.0.2.10",
        "count": 2999,
    }
    fields.update(changes)
    return AccessLogEntry(**fields)


KNOWN_BYTES_V3 = (
    b"vhhub-log-entry/v3\n"
    b'{"action":"auth.failure","actor_partner":null,"actor_partner_kind":null,'
    b'"actor_roles":[],"actor_user":null,"case_id":null,"count":2999,"disclosed":{},'
    b'"object_ids":[],"outcome":"denied","policy_version":null,"purpose":null,'
    b'"reason":"token:missing_bearer","request_id":null,"seq":8,"source":"192.0.2.10",'
    b'"subject_pseudonyms":[],"time_us":1700000060000000}'
)


def test_v3_canonical_bytes_are_frozen_by_a_known_answer() -> None:
    assert canonical_bytes(make_aggregate()) == KNOWN_BYTES_V3
    expected_leaf = hashlib.sha256(b"\x00" + KNOWN_BYTES_V3).digest()
    assert entry_leaf_hash(make_aggregate()) == expected_leaf
    assert expected_leaf.hex() == (
        "2cdcdd253518bd640b11ce954c69e36d70f86c7feca420ca3b422c0abc90af0d"
    )


def test_entries_without_a_count_keep_their_v1_and_v2_spelling() -> None:
    """Every leaf of a log written before format v3 stays valid."""
    assert canonical_bytes(make_entry(count=None)) == KNOWN_BYTES
    assert canonical_bytes(make_v2(count=None)) == KNOWN_BYTES_V2
    assert "count" not in entry_to_json(make_entry())
    assert canonical_bytes(make_aggregate()).startswith(ENTRY_DOMAIN_V3)


@pytest.mark.parametrize("count", [1, 2, 2999, (1 << 63) - 1])
def test_an_entry_with_a_count_round_trips_exactly(count: int) -> None:
    entry = make_aggregate(count=count)
    again = entry_from_json(json.loads(json.dumps(entry_to_json(entry))))
    assert again == entry
    assert canonical_bytes(again) == canonical_bytes(entry)


@pytest.mark.parametrize(
    ("count", "problem"),
    [
        (0, "count: out of range"),
        (-5, "count: out of range"),
        (1 << 63, "count: out of range"),
        (True, "count: must be an integer"),
        (2.0, "count: must be an integer"),
        ("12", "count: must be an integer"),
    ],
)
def test_a_count_is_a_positive_integer(count: object, problem: str) -> None:
    with pytest.raises(EntryError) as info:
        make_aggregate(count=count)
    assert problem in str(info.value)


def test_a_count_names_no_disclosed_facts() -> None:
    with pytest.raises(EntryError, match="names no disclosed facts"):
        make_entry(count=3)  # a briefing read that disclosed fields
    with pytest.raises(EntryError, match="names no disclosed facts"):
        make_v2(count=3, disclosed={}, object_ids=("f-1", "f-2"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(count=None),  # the v3 key set with nothing in it: not canonical
        lambda d: d.update(count=True),
        lambda d: d.update(count=2999.0),
        lambda d: d.update(fact_subjects={}),
        lambda d: d.pop("reason"),
    ],
)
def test_non_canonical_v3_json_is_refused(mutate: Any) -> None:
    d = entry_to_json(make_aggregate())
    mutate(d)
    with pytest.raises(EntryError):
        entry_from_json(d)


def _mixed_log() -> list[str]:
    """Entries of all three formats, a checkpoint after every fifth and at the end."""
    entries: list[AccessLogEntry] = []
    for seq in range(12):
        if seq % 4 == 3:
            entry = make_aggregate(seq=seq, time_us=1_700_000_000_000_000 + seq, count=seq)
        else:
            entry = make_log_entry(seq)
        entries.append(entry)
    cr = CompactRange()
    notes = [sign_checkpoint(DEFAULT_ORIGIN, 0, cr.root(), KEY, DEFAULT_ORIGIN)]
    for entry in entries:
        cr.append(entry_leaf_hash(entry))
        if cr.size % 5 == 0 or cr.size == len(entries):
            notes.append(sign_checkpoint(DEFAULT_ORIGIN, cr.size, cr.root(), KEY, DEFAULT_ORIGIN))
    return list(export_lines(entries, notes, HEADER))


def test_a_log_of_v1_and_v3_entries_verifies_and_a_changed_count_is_caught() -> None:
    lines = _mixed_log()
    report = verify_export(lines, VKEY)
    assert report.ok, report.problem
    assert report.entries_checked == 12

    for change, first_broken in [
        (lambda e: e.update(count=1), 7),  # fewer refusals than there were
        (lambda e: e.pop("count"), 7),  # turned into an entry of one act
    ]:
        tampered = list(lines)
        index = next(
            i
            for i, line in enumerate(tampered)
            if json.loads(line).get("type") == "entry" and json.loads(line)["entry"]["seq"] == 7
        )
        obj = json.loads(tampered[index])
        change(obj["entry"])
        tampered[index] = json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"
        broken = verify_export(tampered, VKEY)
        assert not broken.ok
        assert broken.first_broken_seq == first_broken
