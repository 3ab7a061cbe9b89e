"""The leaf of an entry encoded before the log head is locked (ADR 0020) is the leaf of the
entry placed under the lock, byte for byte, for every format version and value the entry
may hold: a wrong cut would make the log unverifiable, so every shape is tried."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit.entry import (
    AccessLogEntry,
    Action,
    Outcome,
    canonical_bytes,
    entry_leaf_hash,
    leaf_template,
)
from hub.audit.merkle import leaf_hash
from hub.vocabulary import Purpose, Role

_ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}\Z", fullmatch=True)
_fields = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,5})?\Z", fullmatch=True)
# reasons with what the encoder escapes or keeps: quotes, backslashes, non-ASCII, and text
# that looks like the members being cut ("seq":, "time_us":)
_reasons = st.one_of(
    st.none(),
    st.sampled_from(['"seq":1,"time_us":2', 'café \\ "q" ☃', "briefing page 3 of 7"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("C", "Z")), max_size=40),
)


@st.composite
def drafts(draw: st.DrawFn) -> AccessLogEntry:
    pseudonyms = draw(st.lists(_ids, max_size=4, unique=True))
    facts = draw(st.lists(_ids, max_size=6, unique=True))
    disclosed = {f: tuple(draw(st.lists(_fields, max_size=3))) for f in facts}
    version = draw(st.sampled_from(["v1", "v2", "v3"]))
    fact_subjects = (
        {f: tuple(draw(st.lists(st.sampled_from(pseudonyms), max_size=2))) for f in facts}
        if version == "v2" and pseudonyms
        else {}
    )
    return AccessLogEntry(
        seq=0,
        time_us=0,
        action=draw(st.sampled_from(list(Action))),
        outcome=draw(st.sampled_from(list(Outcome))),
        actor_partner=draw(st.none() | _ids),
        actor_user=draw(st.none() | _ids),
        actor_roles=tuple(draw(st.lists(st.sampled_from(list(Role)), max_size=2))),
        purpose=draw(st.none() | st.sampled_from(list(Purpose))),
        case_id=draw(st.none() | _ids),
        subject_pseudonyms=tuple(pseudonyms),
        object_ids=tuple(draw(st.lists(_ids, max_size=3))),
        disclosed={} if version == "v3" else disclosed,
        reason=draw(_reasons),
        policy_version=draw(st.none() | _ids),
        request_id=draw(st.none() | _ids),
        source=draw(st.sampled_from([None, "127.0.0.1", "::1", "cli"])),
        fact_subjects=fact_subjects,
        count=draw(st.integers(1, 1000)) if version == "v3" else None,
    )


_positions = st.integers(0, (1 << 63) - 1)
_times = st.integers(0, 253_402_300_799_999_999)


@settings(max_examples=300, deadline=None)
@given(draft=drafts(), seq=_positions, time_us=_times)
def test_the_template_gives_the_placed_entrys_leaf(
    draft: AccessLogEntry, seq: int, time_us: int
) -> None:
    placed = draft.placed(seq, time_us)
    assert leaf_template(draft).leaf_hash(seq, time_us) == entry_leaf_hash(placed)


def test_the_template_is_the_canonical_bytes_cut_at_seq_and_time() -> None:
    draft = AccessLogEntry(
        seq=0,
        time_us=0,
        action=Action.BRIEFING_READ,
        outcome=Outcome.ALLOWED,
        actor_partner="gemeente-wi",
        reason='"seq":0',
        disclosed={"f1": ("a",)},
    )
    template = leaf_template(draft)
    placed = draft.placed(12, 34)
    assert template.leaf_hash(12, 34) == leaf_hash(canonical_bytes(placed))
    whole = template.before_seq + b"12" + template.before_time + b"34" + template.after_time
    assert whole == canonical_bytes(placed)
    assert template.before_seq.endswith(b',"seq":')
    assert template.before_time.endswith(b',"time_us":')
    assert template.after_time == b"}"
