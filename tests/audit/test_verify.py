"""An auditor with only the export and the hub's verifier key catches every kind of tampering,
and learns the first seq that can no longer be trusted."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit.checkpoints import (
    DEFAULT_ORIGIN,
    CheckpointError,
    sign_checkpoint,
    verifier_key_text,
)
from hub.audit.entry import (
    AccessLogEntry,
    Action,
    Outcome,
    canonical_bytes,
    entry_from_json,
    entry_leaf_hash,
    entry_to_json,
)
from hub.audit.merkle import CompactRange, leaf_hash, root
from hub.audit.verify import (
    EXPORT_FORMAT,
    ExportHeader,
    TailRule,
    VerifyReport,
    checkpoint_line,
    export_lines,
    main,
    verify_export,
    verify_export_file,
)
from hub.crypto.signing import SigningKey
from hub.vocabulary import PartnerKind, Purpose, Role

KEY = SigningKey.from_seed(bytes(range(32)))
VKEY = verifier_key_text(DEFAULT_ORIGIN, KEY.public_key())
HEADER = ExportHeader(origin=DEFAULT_ORIGIN, verifier_key=VKEY)
N = 23
EVERY = 5  # checkpoints at 0, 5, 10, 15, 20 and 23


def make_entry(seq: int, **changes: Any) -> AccessLogEntry:
    fields: dict[str, Any] = {
        "seq": seq,
        "time_us": 1_700_000_000_000_000 + seq * 1_000,
        "action": Action.BRIEFING_READ if seq % 3 else Action.FACT_PUBLISH,
        "outcome": Outcome.ALLOWED if seq % 4 else Outcome.DENIED,
        "actor_partner": f"p-{seq % 3}",
        "actor_partner_kind": PartnerKind.POLICE,
        "actor_user": f"u-{seq % 5}",
        "actor_roles": (Role.PARTICIPANT,),
        "purpose": Purpose.CASE_CONFERENCE,
        "case_id": "c-1",
        "subject_pseudonyms": ("9f86d081884c7d65",),
        "disclosed": {f"f-{seq}": ("summary",)},
        "reason": "policy:allow",
        "policy_version": "sha256:ab12",
        "request_id": f"r-{seq}",
        "source": "192.0.2.10",
    }
    fields.update(changes)
    return AccessLogEntry(**fields)


def build(
    n: int = N, every: int = EVERY, *, key: SigningKey = KEY, final: bool = True
) -> tuple[list[AccessLogEntry], list[str]]:
    entries = [make_entry(i) for i in range(n)]
    notes: list[str] = []
    cr = CompactRange()
    sizes = set(range(0, n + 1, every)) | ({n} if final else set())
    if 0 in sizes:
        notes.append(sign_checkpoint(DEFAULT_ORIGIN, 0, cr.root(), key, DEFAULT_ORIGIN))
    for e in entries:
        cr.append(entry_leaf_hash(e))
        if cr.size in sizes:
            notes.append(sign_checkpoint(DEFAULT_ORIGIN, cr.size, cr.root(), key, DEFAULT_ORIGIN))
    return entries, notes


def export(n: int = N, every: int = EVERY, **kwargs: Any) -> list[str]:
    entries, notes = build(n, every, **kwargs)
    return list(export_lines(entries, notes, HEADER))


def note_for(size: int, entries: list[AccessLogEntry], key: SigningKey = KEY) -> str:
    r = root([entry_leaf_hash(e) for e in entries[:size]])
    return sign_checkpoint(DEFAULT_ORIGIN, size, r, key, DEFAULT_ORIGIN)


def entry_line_index(lines: list[str], seq: int) -> int:
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if obj.get("type") == "entry" and obj["entry"]["seq"] == seq:
            return i
    raise AssertionError(seq)


def rewrite(
    lines: list[str],
    index: int,
    change: Callable[[dict[str, Any]], None],
    *,
    fix_hash: bool = False,
) -> None:
    """Edit one line; with `fix_hash`, also do what a careful attacker does: fix its leaf hash."""
    obj = json.loads(lines[index])
    change(obj)
    if fix_hash:
        rehash(obj)
    lines[index] = json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"


def renumber(seq: int) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        obj["entry"]["seq"] = seq

    return change


def rehash(obj: dict[str, Any]) -> None:
    obj["leaf_hash"] = entry_leaf_hash(entry_from_json(obj["entry"])).hex()


def verify(lines: list[str], **kwargs: Any) -> VerifyReport:
    return verify_export(lines, VKEY, **kwargs)


def boundary(seq: int) -> int:
    """The last checkpoint size at or below `seq`: everything before it stays proven."""
    return (seq // EVERY) * EVERY


# -- the honest case -------------------------------------------------------------------------


def test_an_honest_export_verifies() -> None:
    entries, notes = build()
    report = verify(list(export_lines(entries, notes, HEADER)))
    assert report.ok, report.problem
    assert report.entries_checked == N
    assert report.checkpoints_checked == len(notes) == 6
    assert report.first_broken_seq is None and report.problem is None
    assert report.covered_size == N
    assert report.root == root([entry_leaf_hash(e) for e in entries])
    # Without a checkpoint from elsewhere, the auditor is told what cannot be ruled out.
    assert any("kept outside the log" in w for w in report.warnings)


def test_a_checkpoint_held_outside_the_export_silences_the_caveat() -> None:
    entries, notes = build()
    report = verify(list(export_lines(entries, notes, HEADER)), trusted_checkpoints=[notes[-1]])
    assert report.ok and report.warnings == ()


def test_the_export_format_on_the_wire() -> None:
    lines = export()
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    objs = [json.loads(line) for line in lines]
    assert objs[0] == {"format": EXPORT_FORMAT, "origin": DEFAULT_ORIGIN, "verifier_key": VKEY}
    kinds = ["C" if o.get("type") == "checkpoint" else "E" for o in objs[1:]]
    # Each checkpoint directly follows the entry that completes its tree.
    assert "".join(kinds) == "C" + "EEEEEC" * 4 + "EEEC"
    first = objs[2]
    assert set(first) == {"type", "entry", "leaf_hash"}
    assert first["leaf_hash"] == entry_leaf_hash(make_entry(0)).hex()
    assert set(objs[1]) == {"type", "note"}


def test_export_lines_places_checkpoints_given_in_any_order() -> None:
    entries, notes = build()
    shuffled = list(notes)
    random.Random(4).shuffle(shuffled)
    assert list(export_lines(entries, shuffled, HEADER)) == export()


def test_export_lines_streams_entries() -> None:
    entries, notes = build()

    def stream() -> Iterator[AccessLogEntry]:
        yield from entries

    lines = export_lines(stream(), notes, HEADER)
    assert next(lines).startswith('{"format"')
    assert verify(list(lines)).problem == "line 1: not an export header"  # header consumed


def test_entries_after_the_last_checkpoint_are_a_warning_not_a_failure() -> None:
    report = verify(export(N, EVERY, final=False))
    assert report.ok
    assert report.covered_size == 20
    assert any("seq 20 to 22 (3)" in w for w in report.warnings)


# -- coverage: an honest hub signs at its first entry, then every N entries or T seconds ---------

MINUTE_US = 60 * 1_000_000


def timed_export(
    times_us: list[int], sizes: set[int], *, key_name: str = DEFAULT_ORIGIN
) -> list[str]:
    """An export of entries at the given times with checkpoints at `sizes`, signed under
    `key_name` (the origin, as the hub signs; another name, as hubs before 2026-12-05 did)."""
    entries = [make_entry(i, time_us=t) for i, t in enumerate(times_us)]
    notes, cr = [], CompactRange()
    for e in entries:
        cr.append(entry_leaf_hash(e))
        if cr.size in sizes:
            notes.append(sign_checkpoint(DEFAULT_ORIGIN, cr.size, cr.root(), KEY, key_name))
    return list(export_lines(entries, notes, HEADER))


def test_a_log_stripped_of_every_checkpoint_fails() -> None:
    """Issue 15: an edited log stripped of its checkpoints used to verify 'ok: 569 entries,
    0 checkpoints'. An honest hub signs at its first entry, so no checkpoint means removed."""
    lines = export()
    rewrite(
        lines,
        entry_line_index(lines, 12),
        lambda o: o["entry"].update(reason="edited"),
        fix_hash=True,
    )
    stripped = [ln for ln in lines if '"type":"checkpoint"' not in ln]
    report = verify(stripped)
    assert not report.ok
    assert report.first_broken_seq == 0 and report.covered_size == 0
    assert "no signed checkpoint covers any of the 23 entries" in (report.problem or "")
    assert "--allow-unsigned-tail" in (report.problem or "")
    # the size-0 checkpoint covers nothing: keeping only it does not help
    assert not verify([ln for i, ln in enumerate(export()) if i < 2 or '"type":"entry"' in ln]).ok


def test_allow_unsigned_tail_turns_a_stripped_log_into_a_warning() -> None:
    stripped = [ln for ln in export() if '"type":"checkpoint"' not in ln]
    report = verify(stripped, tail=TailRule(allow=True))
    assert report.ok and report.covered_size == 0 and report.checkpoints_checked == 0
    assert any("no signed checkpoint covers any" in w and "accepted" in w for w in report.warnings)


def test_an_uncovered_tail_older_than_the_interval_fails_by_the_exports_own_clock() -> None:
    """Checkpoints at 1 and 5; entries 5..9 span ten minutes without one: an honest hub with
    a 60 s interval would have signed. Judged by the export's newest entry, not by today."""
    base = 1_700_000_000_000_000
    times = [base + i * MINUTE_US // 60 for i in range(5)] + [
        base + 10 * MINUTE_US + i * MINUTE_US * 2 for i in range(5)
    ]
    lines = timed_export(times, {1, 5})
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq == 5 and report.covered_size == 5
    problem = report.problem or ""
    assert "entries from seq 5 to 9 (5) are not covered" in problem
    assert "480 s older than the newest entry" in problem and "interval of 60 s" in problem
    # the same tail is fine for a hub whose interval is an hour
    assert verify(lines, tail=TailRule(interval_s=3600)).ok
    # ... and with the explicit escape, a warning
    allowed = verify(lines, tail=TailRule(allow=True))
    assert allowed.ok and any("480 s older" in w and "accepted" in w for w in allowed.warnings)


def test_an_uncovered_tail_within_the_interval_and_its_grace_is_a_warning() -> None:
    base = 1_700_000_000_000_000
    grace_edge = TailRule().max_age_us  # 60 s + 30 s + 30 s
    assert grace_edge == 120 * 1_000_000
    times = [base, base + 1, base + 2, base + 1 + grace_edge]  # seq 1 is the oldest uncovered
    report = verify(timed_export(times, {1}))
    assert report.ok and report.covered_size == 1
    assert any("seq 1 to 3 (3) are not yet covered" in w for w in report.warnings)
    assert not verify(timed_export([*times[:3], times[3] + 1], {1})).ok


def test_a_live_clock_judges_a_tail_that_is_old_today() -> None:
    """The live database is judged by the clock: a tail the hub should have signed long ago
    fails even when its entries are close together."""
    base = 1_700_000_000_000_000
    lines = timed_export([base, base + 1, base + 2], {1})
    assert verify(lines).ok
    late = verify(lines, tail=TailRule(now_us=base + 3 * MINUTE_US))
    assert not late.ok and "older than now" in (late.problem or "")


def test_checkpoints_under_an_old_key_name_still_verify_and_are_named() -> None:
    """Hubs before 2026-12-05 signed under VHHUB_LOG_KEY_NAME ('vhhub.local'). Their notes are
    evidence: the trusted key verifies them under the name they record, with a warning."""
    times = [1_700_000_000_000_000 + i for i in range(6)]
    old = timed_export(times, {1, 5}, key_name="vhhub.local")
    report = verify(old)
    assert report.ok and report.checkpoints_checked == 2
    assert any(
        "2 checkpoint(s) are signed under the key name 'vhhub.local'" in w for w in report.warnings
    )
    # an auditor who pinned the old verifier key text verifies new notes too: same key
    old_vkey = verifier_key_text("vhhub.local", KEY.public_key())
    new = timed_export(times, {1, 5, 6})
    assert verify_export(new, old_vkey).ok
    # a stranger signing under either name is still nobody
    stranger = SigningKey.from_seed(bytes([9]) * 32)
    forged = list(new)
    e = [make_entry(i, time_us=t) for i, t in enumerate(times)]
    cr = CompactRange.from_leaf_hashes(entry_leaf_hash(x) for x in e)
    forged[-1] = checkpoint_line(
        sign_checkpoint(DEFAULT_ORIGIN, 6, cr.root(), stranger, "vhhub.local")
    )
    assert "no signature by the trusted key" in (verify(forged).problem or "")


def test_the_command_line_fails_a_stripped_log_unless_told_to_allow_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stripped.jsonl"
    path.write_text("".join(ln for ln in export() if '"type":"checkpoint"' not in ln))
    assert main([str(path), "--key", VKEY]) == 1
    assert "no signed checkpoint" in json.loads(capsys.readouterr().out)["problem"]
    assert main([str(path), "--key", VKEY, "--allow-unsigned-tail"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    base = 1_700_000_000_000_000
    stale = tmp_path / "stale.jsonl"
    stale.write_text("".join(timed_export([base, base + 1, base + 10 * MINUTE_US], {1})))
    assert main([str(stale), "--key", VKEY]) == 1
    capsys.readouterr()
    assert main([str(stale), "--key", VKEY, "--checkpoint-interval", "3600"]) == 0


def test_an_empty_log_verifies() -> None:
    report = verify(export(0, EVERY))
    assert report.ok and report.entries_checked == 0 and report.checkpoints_checked == 1


# -- tampering with entries ------------------------------------------------------------------


def test_changing_an_entry_is_caught_at_that_entry() -> None:
    lines = export()
    i = entry_line_index(lines, 12)
    rewrite(lines, i, lambda o: o["entry"].update(actor_user="u-other"))
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq == 12
    assert report.entries_checked == 12
    assert "leaf hash" in (report.problem or "")


def test_changing_an_entry_and_its_leaf_hash_is_caught_by_the_next_checkpoint() -> None:
    lines = export()
    i = entry_line_index(lines, 12)
    rewrite(lines, i, lambda o: o["entry"].update(outcome="allowed"), fix_hash=True)
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq == boundary(12) == 10
    assert "checkpoint for size 15" in (report.problem or "")


def test_deleting_an_entry_is_caught() -> None:
    lines = export()
    del lines[entry_line_index(lines, 7)]
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 7
    assert "expected seq 7, found 8 (missing)" in (report.problem or "")


def test_deleting_an_entry_and_renumbering_the_rest_is_caught() -> None:
    lines = export()
    del lines[entry_line_index(lines, 7)]
    for seq in range(8, N):
        i = entry_line_index(lines, seq)
        rewrite(lines, i, renumber(seq - 1), fix_hash=True)
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == boundary(7)


def test_reordering_entries_is_caught() -> None:
    lines = export()
    a, b = entry_line_index(lines, 3), entry_line_index(lines, 4)
    lines[a], lines[b] = lines[b], lines[a]
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 3


def test_reordering_and_renumbering_is_caught() -> None:
    lines = export()
    a, b = entry_line_index(lines, 3), entry_line_index(lines, 4)
    lines[a], lines[b] = lines[b], lines[a]
    rewrite(lines, a, lambda o: o["entry"].update(seq=3), fix_hash=True)
    rewrite(lines, b, lambda o: o["entry"].update(seq=4), fix_hash=True)
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == boundary(3) == 0


def test_inserting_an_entry_is_caught() -> None:
    lines = export()
    forged = make_entry(9, actor_user="u-forged")
    i = entry_line_index(lines, 9)
    lines.insert(
        i,
        json.dumps(
            {
                "type": "entry",
                "entry": entry_to_json(forged),
                "leaf_hash": entry_leaf_hash(forged).hex(),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        + "\n",
    )
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq == 10  # the honest seq 9 now arrives as a duplicate


def test_inserting_an_entry_and_renumbering_is_caught() -> None:
    entries, _ = build()
    forged = [*entries[:9], make_entry(9, actor_user="u-forged")]
    forged += [dataclasses.replace(e, seq=e.seq + 1) for e in entries[9:]]
    _, honest_notes = build()
    lines = list(export_lines(forged[:N], honest_notes, HEADER))
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == boundary(9) == 5


def test_a_duplicated_entry_is_caught() -> None:
    lines = export()
    i = entry_line_index(lines, 16)
    lines.insert(i, lines[i])
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 17
    assert "duplicate or out of order" in (report.problem or "")


def test_a_non_canonical_entry_is_caught_even_when_equivalent() -> None:
    lines = export()
    i = entry_line_index(lines, 2)
    rewrite(lines, i, lambda o: o["entry"].update(actor_roles=["participant", "participant"]))
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 2
    assert "canonical" in (report.problem or "")


# -- truncation ------------------------------------------------------------------------------


def test_dropping_the_last_entries_under_a_checkpoint_is_caught() -> None:
    lines = export()
    last_cp = lines.pop()
    del lines[entry_line_index(lines, 21) :]
    lines.append(last_cp)
    report = verify(lines)
    # Entries 20 and 21 passed their own checks, but only entries below 20 are proven.
    assert not report.ok and report.first_broken_seq == 20
    assert "missing" in (report.problem or "")


def test_truncation_after_a_checkpoint_needs_a_checkpoint_from_outside() -> None:
    lines = export()
    cut = entry_line_index(lines, 15)  # keeps entries 0..14 and the checkpoint at 15
    truncated = lines[:cut]
    alone = verify(truncated)
    assert alone.ok  # indistinguishable from an honest export taken earlier ...
    assert any("kept outside the log" in w for w in alone.warnings)  # ... and it says so
    _, notes = build()
    held = notes[-1]  # e.g. from a witness, or the auditor's previous run
    report = verify(truncated, trusted_checkpoints=[held])
    assert not report.ok and report.first_broken_seq == 15
    assert "truncated or the log was rolled back" in (report.problem or "")


def test_a_rolled_back_and_rewritten_log_is_caught_by_an_outside_checkpoint() -> None:
    entries, _ = build()
    held = note_for(12, entries)
    rewritten = [*entries[:10], *[make_entry(i, reason="rewritten") for i in range(10, N)]]
    cr_notes = [note_for(s, rewritten) for s in (0, 5, 10, 15, 20, N)]
    lines = list(export_lines(rewritten, cr_notes, HEADER))
    assert verify(lines).ok  # self-consistent, signed by the (compromised) hub key
    report = verify(lines, trusted_checkpoints=[held])
    assert not report.ok and report.first_broken_seq == 10


# -- tampering with checkpoints --------------------------------------------------------------


def checkpoint_line_index(lines: list[str], size: int) -> int:
    for i, line in enumerate(lines):
        obj = json.loads(line)
        if obj.get("type") == "checkpoint" and obj["note"].split("\n")[1] == str(size):
            return i
    raise AssertionError(size)


def test_a_checkpoint_with_an_edited_root_is_caught() -> None:
    lines = export()
    i = checkpoint_line_index(lines, 15)
    entries, _ = build()
    other_root = note_for(14, entries).split("\n")[2]

    def edit(o: dict[str, Any]) -> None:
        parts = o["note"].split("\n")
        parts[2] = other_root
        o["note"] = "\n".join(parts)

    rewrite(lines, i, edit)
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 10
    assert "checkpoint rejected" in (report.problem or "")


def test_a_checkpoint_signed_by_another_key_is_caught() -> None:
    entries, notes = build()
    forger = SigningKey.from_seed(bytes([9]) * 32)
    notes[3] = note_for(15, entries, key=forger)
    report = verify(list(export_lines(entries, notes, HEADER)))
    assert not report.ok and report.first_broken_seq == 10


def test_a_validly_signed_checkpoint_of_another_history_is_caught() -> None:
    entries, notes = build()
    fork = [*entries[:12], make_entry(12, reason="forked"), *entries[13:]]
    notes[3] = note_for(15, fork)  # the hub signed a fork at some point
    report = verify(list(export_lines(entries, notes, HEADER)))
    assert not report.ok and report.first_broken_seq == 10
    assert "does not match the entries" in (report.problem or "")


def test_a_checkpoint_moved_elsewhere_is_caught() -> None:
    lines = export()
    moved = lines.pop(checkpoint_line_index(lines, 10))
    lines.insert(entry_line_index(lines, 13), moved)
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 5
    assert "out of place" in (report.problem or "")


def test_a_checkpoint_of_another_log_is_caught() -> None:
    entries, notes = build()
    r = root([entry_leaf_hash(e) for e in entries[:5]])
    notes[1] = sign_checkpoint("other.example/log", 5, r, KEY, DEFAULT_ORIGIN)
    report = verify(list(export_lines(entries, notes, HEADER)))
    assert not report.ok and "another log" in (report.problem or "")


# -- the header and the lines themselves -----------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"format": "vhhub-access-log-export/2", "origin": DEFAULT_ORIGIN, "verifier_key": VKEY},
        {"format": EXPORT_FORMAT, "origin": DEFAULT_ORIGIN},
        {"format": EXPORT_FORMAT, "origin": DEFAULT_ORIGIN, "verifier_key": VKEY, "x": 1},
        {"format": EXPORT_FORMAT, "origin": DEFAULT_ORIGIN, "verifier_key": "garbage"},
        {
            "format": EXPORT_FORMAT,
            "origin": DEFAULT_ORIGIN,
            "verifier_key": verifier_key_text(
                DEFAULT_ORIGIN, SigningKey.from_seed(bytes(32)).public_key()
            ),
        },
        {"type": "entry"},
    ],
)
def test_a_bad_header_fails_before_anything_else(header: dict[str, Any]) -> None:
    lines = export()
    lines[0] = json.dumps(header) + "\n"
    report = verify(lines)
    assert not report.ok and report.first_broken_seq is None
    assert report.entries_checked == 0


def test_the_export_origin_must_match_its_checkpoints() -> None:
    lines = export()
    lines[0] = json.dumps({**HEADER.to_json(), "origin": "other.example/log"}) + "\n"
    report = verify(lines)
    assert not report.ok and "another log" in (report.problem or "")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not json",
        "[]",
        '{"type":"comment"}',
        '{"type":"entry","type":"checkpoint"}',
        '{"type":"entry","entry":{},"leaf_hash":NaN}',
        '{"type":"checkpoint","note":"x"}',
        '{"type":"checkpoint","note":5}',
    ],
)
def test_malformed_lines_are_caught(bad: str) -> None:
    lines = export()
    i = entry_line_index(lines, 8)
    lines.insert(i, bad + "\n")
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq is not None and report.first_broken_seq <= 8


def test_duplicate_json_keys_are_refused() -> None:
    lines = export()
    i = entry_line_index(lines, 4)
    good_hash = json.loads(lines[i])["leaf_hash"]
    lines[i] = lines[i].rstrip("\n")[:-1] + f',"leaf_hash":"{good_hash}"}}\n'
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 4


def test_an_empty_export_fails() -> None:
    report = verify([])
    assert not report.ok and report.problem == "the export is empty"


def test_problems_never_quote_entry_content() -> None:
    lines = export()
    i = entry_line_index(lines, 6)
    rewrite(lines, i, lambda o: o["entry"].update(reason="Jan Jansen woont op Kerkstraat 1"))
    report = verify(lines)
    assert not report.ok
    assert "Jansen" not in (report.problem or "") and "Kerkstraat" not in str(report.to_json())
    rewrite(lines, i, lambda o: o["entry"].update(actor_user="Jan Jansen"))
    report = verify(lines)
    assert not report.ok and "Jansen" not in (report.problem or "")


def test_bad_caller_input_raises_instead_of_reporting() -> None:
    with pytest.raises(CheckpointError):
        verify_export(export(), "not a key")
    entries, _ = build()
    forged = note_for(5, entries, key=SigningKey.from_seed(bytes([3]) * 32))
    with pytest.raises(CheckpointError):
        verify(export(), trusted_checkpoints=[forged])


# -- export_lines with what the database holds -----------------------------------------------


def test_stored_leaf_hashes_let_the_verifier_pinpoint_a_changed_row() -> None:
    entries, notes = build()
    stored = [(e, entry_leaf_hash(e)) for e in entries]
    # Someone edits row 11 in the database but cannot recompute the signed tree.
    stored[11] = (dataclasses.replace(entries[11], actor_user="u-edited"), stored[11][1])
    report = verify(list(export_lines(stored, notes, HEADER)))
    assert not report.ok and report.first_broken_seq == 11


def test_rows_that_no_longer_parse_are_exported_raw_and_reported() -> None:
    entries, notes = build()
    raw = entry_to_json(entries[4])
    raw["action"] = "fact.invented"
    stored: list[Any] = [(e, entry_leaf_hash(e)) for e in entries]
    stored[4] = (raw, entry_leaf_hash(entries[4]))
    report = verify(list(export_lines(stored, notes, HEADER)))
    assert not report.ok and report.first_broken_seq == 4
    assert "action" in (report.problem or "")


def test_checkpoints_beyond_the_exported_entries_go_last_and_fail() -> None:
    entries, notes = build()
    lines = list(export_lines(entries[:18], notes, HEADER))
    report = verify(lines)
    assert not report.ok and report.first_broken_seq == 15


# -- the property: any single-entry attack on a checkpointed log is caught -------------------

ATTACKS = ["edit", "edit_rehash", "delete", "swap", "duplicate", "drop_tail"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, N - 2), st.sampled_from(ATTACKS), st.sampled_from([1, 3, 7]))
def test_any_single_entry_attack_is_detected(seq: int, attack: str, every: int) -> None:
    lines = export(N, every)
    i = entry_line_index(lines, seq)
    if attack == "edit":
        rewrite(lines, i, lambda o: o["entry"].update(time_us=o["entry"]["time_us"] + 1))
    elif attack == "edit_rehash":
        rewrite(lines, i, lambda o: o["entry"].update(reason="edited"), fix_hash=True)
    elif attack == "delete":
        del lines[i]
    elif attack == "swap":
        j = entry_line_index(lines, seq + 1)
        lines[i], lines[j] = lines[j], lines[i]
    elif attack == "duplicate":
        lines.insert(i, lines[i])
    else:
        del lines[i : len(lines) - 1]  # keep only the final checkpoint line
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq is not None
    assert report.first_broken_seq <= seq + 1
    # Everything below the reported seq really is untouched.
    assert report.entries_checked >= report.first_broken_seq


# -- files and the command line --------------------------------------------------------------


def test_verify_a_file_and_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(export()), encoding="utf-8")
    assert verify_export_file(path, VKEY).ok
    _, notes = build()
    held = tmp_path / "checkpoint.txt"
    held.write_text(notes[-1], encoding="utf-8")
    assert main([str(path), "--key", VKEY, "--checkpoint", str(held)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["entries_checked"] == N and out["warnings"] == []
    lines = export()
    del lines[entry_line_index(lines, 3)]
    path.write_text("".join(lines), encoding="utf-8")
    assert main([str(path), "--key", VKEY]) == 1
    assert json.loads(capsys.readouterr().out)["first_broken_seq"] == 3


@pytest.mark.parametrize(
    ("make_args", "says"),
    [
        (lambda d: [str(d / "missing.jsonl"), "--key", VKEY], "cannot read the export"),
        (lambda d: [str(d), "--key", VKEY], "cannot read the export"),
        (lambda d: [str(d / "export.jsonl"), "--key", "not a key"], "verifier key is not usable"),
        (
            lambda d: [str(d / "export.jsonl"), "--key", str(d / "missing.vkey")],
            "verifier key is not usable",
        ),
        (
            lambda d: [str(d / "export.jsonl"), "--key", VKEY, "--checkpoint", str(d / "no")],
            "cannot read checkpoint",
        ),
        (
            lambda d: [str(d / "export.jsonl"), "--key", VKEY, "--checkpoint", str(d / "junk")],
            "does not verify with the supplied key",
        ),
        (
            lambda d: [str(d / "export.jsonl"), "--key", VKEY, "--checkpoint", str(d / "forged")],
            "does not verify with the supplied key",
        ),
    ],
)
def test_unusable_arguments_exit_2_with_a_message_and_verify_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_args: Callable[[Path], list[str]],
    says: str,
) -> None:
    """A typo is not a broken log: exit 2 (not 1), one line on stderr, no report, no trace."""
    (tmp_path / "export.jsonl").write_text("".join(export()), encoding="utf-8")
    (tmp_path / "junk").write_text("not a note\n", encoding="utf-8")
    entries, _ = build()
    stranger = SigningKey.from_seed(bytes([3]) * 32)
    (tmp_path / "forged").write_text(note_for(5, entries, key=stranger), encoding="utf-8")
    assert main(make_args(tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert says in err and "Traceback" not in err
    assert VKEY.rsplit("+", 1)[1] not in err  # never key bytes


def test_the_key_may_be_a_file_and_a_saved_checkpoint_may_end_in_extra_newlines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "export.jsonl").write_text("".join(export()), encoding="utf-8")
    (tmp_path / "hub.vkey").write_text(VKEY + "\n", encoding="utf-8")
    _, notes = build()
    (tmp_path / "kept.note").write_text(notes[-1] + "\n\n", encoding="utf-8")
    args = [str(tmp_path / "export.jsonl"), "--key", str(tmp_path / "hub.vkey")]
    assert main([*args, "--checkpoint", str(tmp_path / "kept.note")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["warnings"] == []


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    lines = export()
    data = "".join(lines[:5]).encode() + b'{"type":"entry\xff"}\n' + "".join(lines[5:]).encode()
    path.write_bytes(data)
    report = verify_export_file(path, VKEY)
    assert not report.ok and "UTF-8" in (report.problem or "")


def test_leaf_hash_helpers_agree() -> None:
    e = make_entry(0)
    assert entry_leaf_hash(e) == leaf_hash(canonical_bytes(e))


# -- entry format v2 (ADR 0403) ------------------------------------------------------------------


def build_mixed() -> tuple[list[AccessLogEntry], list[str]]:
    """A log written partly before format v2 (entries 0-9) and partly after (10-22: reads
    that say whom each disclosed fact concerns)."""
    two = ("9f86d081884c7d65", "a3f1c2d4e5b60718")
    entries = [
        make_entry(i)
        if i < 10
        else make_entry(i, subject_pseudonyms=two, fact_subjects={f"f-{i}": two[: 1 + i % 2]})
        for i in range(N)
    ]
    cr = CompactRange()
    notes = []
    for e in entries:
        cr.append(entry_leaf_hash(e))
        if cr.size % EVERY == 0 or cr.size == N:
            notes.append(sign_checkpoint(DEFAULT_ORIGIN, cr.size, cr.root(), KEY, DEFAULT_ORIGIN))
    return entries, notes


def test_a_log_of_v1_and_v2_entries_verifies() -> None:
    entries, notes = build_mixed()
    lines = list(export_lines(entries, notes, HEADER))
    assert sum('"fact_subjects"' in line for line in lines) == N - 10
    report = verify(lines)
    assert report.ok, report.problem
    assert report.covered_size == report.entries_checked == N


@pytest.mark.parametrize("fix_hash", [False, True])
def test_changing_whom_a_fact_concerns_is_caught(fix_hash: bool) -> None:
    entries, notes = build_mixed()
    lines = list(export_lines(entries, notes, HEADER))

    def narrow(obj: dict[str, Any]) -> None:
        obj["entry"]["fact_subjects"]["f-13"] = ["9f86d081884c7d65"]

    rewrite(lines, entry_line_index(lines, 13), narrow, fix_hash=fix_hash)
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq == (boundary(13) if fix_hash else 13)

    lines = list(export_lines(entries, notes, HEADER))

    def drop(obj: dict[str, Any]) -> None:  # pass a v2 entry off as a v1 one
        del obj["entry"]["fact_subjects"]

    rewrite(lines, entry_line_index(lines, 14), drop, fix_hash=fix_hash)
    report = verify(lines)
    assert not report.ok
    assert report.first_broken_seq == (boundary(14) if fix_hash else 14)
