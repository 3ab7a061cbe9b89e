"""An entry drafted before the log head is locked and placed under the lock (ADR 0020) is
the entry, and hashes to the leaf, that building it at its position would give."""

from __future__ import annotations

import pytest

from hub.audit.entry import (
    AccessLogEntry,
    Action,
    EntryError,
    Outcome,
    entry_leaf_hash,
    entry_to_json,
)


def _entry(seq: int, time_us: int) -> AccessLogEntry:
    return AccessLogEntry(
        seq=seq,
        time_us=time_us,
        action=Action.BRIEFING_READ,
        outcome=Outcome.ALLOWED,
        actor_partner="gemeente-wi",
        actor_user="u-1",
        case_id="c-1",
        subject_pseudonyms=("p2", "p1", "p2"),
        object_ids=("f2", "f1"),
        disclosed={"f2": ("b", "a"), "f1": ()},
        fact_subjects={"f1": ("p1",), "f2": ("p2", "p1")},
        policy_version="v1",
        request_id="r-1",
        source="127.0.0.1",
    )


def test_a_placed_draft_equals_the_entry_built_at_its_position() -> None:
    placed = _entry(0, 0).placed(41, 1_765_000_000_000_000)
    direct = _entry(41, 1_765_000_000_000_000)
    assert placed == direct
    assert entry_to_json(placed) == entry_to_json(direct)
    assert entry_leaf_hash(placed) == entry_leaf_hash(direct)
    assert placed.subject_pseudonyms == ("p1", "p2")  # normalised once, in the draft


@pytest.mark.parametrize(("seq", "time_us"), [(-1, 0), (0, -1), (True, 0), (0, 1 << 70)])
def test_a_position_or_time_out_of_range_is_refused(seq: int, time_us: int) -> None:
    with pytest.raises(EntryError):
        _entry(0, 0).placed(seq, time_us)


def test_placing_leaves_the_draft_as_it_was() -> None:
    draft = _entry(0, 0)
    draft.placed(5, 6)
    assert (draft.seq, draft.time_us) == (0, 0)
