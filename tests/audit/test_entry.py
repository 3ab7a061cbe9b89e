"""One entry has exactly one byte string, the export form maps back to exactly one entry, and
nothing but identifiers (and a short reason) can get into the log."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.audit.entry import (
    ENTRY_DOMAIN,
    ENTRY_DOMAIN_V2,
    MAX_REASON_LENGTH,
    AccessLogEntry,
    Action,
    EntryError,
    Outcome,
    canonical_bytes,
    entry_from_json,
    entry_leaf_hash,
    entry_to_json,
    utc_micros,
    utc_moment,
)
from hub.vocabulary import PartnerKind, Purpose, Role


def make_entry(**changes: Any) -> AccessLogEntry:
    base: dict[str, Any] = {
        "seq": 7,
        "time_us": 1_700_000_000_123_456,
        "action": Action.BRIEFING_READ,
        "outcome": Outcome.ALLOWED,
        "actor_partner": "p-politie-zeeland",
        "actor_partner_kind": PartnerKind.POLICE,
        "actor_user": "u-4f2a",
        "actor_roles": (Role.PUBLISHER, Role.PARTICIPANT),
        "purpose": Purpose.CASE_CONFERENCE,
        "case_id": "c-2d1b",
        "subject_pseudonyms": ("9f86d081884c7d65",),
        "object_ids": (),
        "disclosed": {"f-2": ("summary", "life_domain"), "f-1": ()},
        "reason": "policy:allow",
        "policy_version": "sha256:ab12",
        "request_id": "r-1",
        "source": "192.0.2.10",
    }
    base.update(changes)
    return AccessLogEntry(**base)


KNOWN_BYTES = (
    b"vhhub-log-entry/v1\n"
    b'{"action":"briefing.read","actor_partner":"p-politie-zeeland",'
    b'"actor_partner_kind":"police","actor_roles":["participant","publisher"],'
    b'"actor_user":"u-4f2a","case_id":"c-2d1b",'
    b'"disclosed":{"f-1":[],"f-2":["life_domain","summary"]},"object_ids":[],'
    b'"outcome":"allowed","policy_version":"sha256:ab12","purpose":"case_conference",'
    b'"reason":"policy:allow","request_id":"r-1","seq":7,"source":"192.0.2.10",'
    b'"subject_pseudonyms":["9f86d081884c7d65"],"time_us":1700000000123456}'
)


def test_canonical_bytes_are_frozen_by_a_known_answer() -> None:
    # If this changes, every leaf hash of every existing log changes: bump ENTRY_DOMAIN.
    assert canonical_bytes(make_entry()) == KNOWN_BYTES
    expected_leaf = hashlib.sha256(b"\x00" + KNOWN_BYTES).digest()
    assert entry_leaf_hash(make_entry()) == expected_leaf
    assert expected_leaf.hex() == (
        "7e3be4ea2fb3bc161d2bb1a895aae2beabbc07914115db01d6b41902505e47aa"
    )


def test_canonical_bytes_start_with_the_domain_and_hold_no_whitespace() -> None:
    raw = canonical_bytes(make_entry())
    assert raw.startswith(ENTRY_DOMAIN)
    body = raw[len(ENTRY_DOMAIN) :]
    assert b" " not in body and b"\n" not in body
    assert json.loads(body) == entry_to_json(make_entry())


def test_non_ascii_reason_is_utf8_not_escaped() -> None:
    raw = canonical_bytes(make_entry(reason="geen deelnemer: één tafel"))
    assert "één".encode() in raw


def test_caller_order_and_duplicates_never_change_the_leaf() -> None:
    a = make_entry(actor_roles=(Role.PUBLISHER, Role.PARTICIPANT, Role.PUBLISHER))
    b = make_entry(actor_roles=(Role.PARTICIPANT, Role.PUBLISHER))
    c = make_entry(disclosed={"f-1": (), "f-2": ("life_domain", "summary", "summary")})
    assert a == b == c == make_entry()
    assert entry_leaf_hash(a) == entry_leaf_hash(b) == entry_leaf_hash(c)
    assert a.actor_roles == (Role.PARTICIPANT, Role.PUBLISHER)


def test_plain_strings_become_vocabulary_members() -> None:
    e = make_entry(action="fact.publish", outcome="denied", actor_partner_kind="police")
    assert e.action is Action.FACT_PUBLISH
    assert e.outcome is Outcome.DENIED
    assert e.actor_partner_kind is PartnerKind.POLICE


def test_every_field_is_part_of_the_leaf() -> None:
    other_values: dict[str, Any] = {
        "seq": 8,
        "time_us": 1_700_000_000_123_457,
        "action": Action.CASE_READ,
        "outcome": Outcome.DENIED,
        "actor_partner": "p-other",
        "actor_partner_kind": PartnerKind.HOUSING,
        "actor_user": "u-other",
        "actor_roles": (Role.AUDITOR,),
        "purpose": Purpose.AUDIT,
        "case_id": "c-other",
        "subject_pseudonyms": ("00",),
        "object_ids": ("f-9",),
        "disclosed": {"f-1": ("narrative",)},
        "reason": "other",
        "policy_version": "sha256:cd34",
        "request_id": "r-2",
        "source": "2001:db8::1",
        "fact_subjects": {"f-2": ("9f86d081884c7d65",)},
        "count": 2,
    }
    assert set(other_values) == {f.name for f in dataclasses.fields(AccessLogEntry)}
    base = entry_leaf_hash(make_entry())
    for name, value in other_values.items():
        if name == "count":  # format v3 (ADR 0404): an entry with a count discloses nothing
            plain = entry_leaf_hash(make_entry(disclosed={}))
            assert entry_leaf_hash(make_entry(disclosed={}, count=value)) != plain, name
            continue
        assert entry_leaf_hash(make_entry(**{name: value})) != base, name


def test_the_entry_is_immutable() -> None:
    e = make_entry()
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.seq = 8  # type: ignore[misc]
    with pytest.raises(TypeError):
        e.disclosed["f-3"] = ()  # type: ignore[index]


def test_time_is_integer_utc_microseconds() -> None:
    moment = datetime(2024, 3, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    us = utc_micros(moment)
    assert us == 1_709_290_800_000_005
    assert make_entry(time_us=us).at == moment.astimezone(UTC)
    with pytest.raises(EntryError):
        utc_micros(datetime(2024, 3, 1))  # naive: which zone?


@given(st.datetimes(timezones=st.just(UTC)))
def test_an_entry_time_reads_back_to_the_microsecond(moment: datetime) -> None:
    """Every page and export shows an entry's time through `utc_moment`: an auditor who
    filters on the time shown must select that same entry, so no float may round it."""
    assert utc_moment(utc_micros(moment)) == moment


# -- hypothesis: round trips -----------------------------------------------------------------

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,20}", fullmatch=True)
field_names = st.from_regex(r"[a-z][a-z0-9_]{0,10}(\.[a-z][a-z0-9_]{0,5})?", fullmatch=True)
reasons = (
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp")),
        max_size=MAX_REASON_LENGTH,
    )
    | st.none()
)

entries = st.builds(
    AccessLogEntry,
    seq=st.integers(0, 2**63 - 1),
    time_us=st.integers(0, 253402300799999999),
    action=st.sampled_from(Action),
    outcome=st.sampled_from(Outcome),
    actor_partner=ids | st.none(),
    actor_partner_kind=st.sampled_from(PartnerKind) | st.none(),
    actor_user=ids | st.none(),
    actor_roles=st.lists(st.sampled_from(Role)).map(tuple),
    purpose=st.sampled_from(Purpose) | st.none(),
    case_id=ids | st.none(),
    subject_pseudonyms=st.lists(ids, max_size=4).map(tuple),
    object_ids=st.lists(ids, max_size=4).map(tuple),
    disclosed=st.dictionaries(ids, st.lists(field_names, max_size=4).map(tuple), max_size=4),
    reason=reasons,
    policy_version=ids | st.none(),
    request_id=ids | st.none(),
    source=ids | st.none(),
)


@given(entries)
def test_export_form_round_trips_exactly(entry: AccessLogEntry) -> None:
    as_json = entry_to_json(entry)
    wire = json.dumps(as_json)
    again = entry_from_json(json.loads(wire))
    assert again == entry
    assert canonical_bytes(again) == canonical_bytes(entry)
    canonical_bytes(entry).decode("utf-8")  # always valid UTF-8


@given(entries)
def test_canonical_json_is_what_sorted_compact_json_gives(entry: AccessLogEntry) -> None:
    body = canonical_bytes(entry)[len(ENTRY_DOMAIN) :]
    assert json.loads(body) == entry_to_json(entry)
    assert body == json.dumps(
        json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


# -- strict parsing --------------------------------------------------------------------------


def good_json() -> dict[str, Any]:
    return entry_to_json(make_entry())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("reason"),
        lambda d: d.update(extra=1),
        lambda d: d.update(seq=True),
        lambda d: d.update(seq=7.0),
        lambda d: d.update(seq=-1),
        lambda d: d.update(seq="7"),
        lambda d: d.update(time_us=2**80),
        lambda d: d.update(action="fact.invent"),
        lambda d: d.update(outcome="maybe"),
        lambda d: d.update(actor_partner_kind="spy"),
        lambda d: d.update(actor_roles=["publisher", "participant"]),  # not sorted
        lambda d: d.update(actor_roles=["participant", "participant"]),  # duplicate
        lambda d: d.update(actor_roles="participant"),
        lambda d: d.update(subject_pseudonyms=("9f86d081884c7d65",)),  # tuple is not JSON
        lambda d: d.update(disclosed=[]),
        lambda d: d.update(disclosed={"f-1": ["b", "a"]}),
        lambda d: d.update(disclosed={"f-1": ["Narrative"]}),
        lambda d: d.update(purpose="curiosity"),
        lambda d: d.update(reason=5),
    ],
)
def test_non_canonical_or_invalid_json_is_refused(mutate: Any) -> None:
    d = good_json()
    mutate(d)
    with pytest.raises(EntryError):
        entry_from_json(d)


def test_only_objects_are_entries() -> None:
    bad: object
    for bad in (None, [], "entry", 7):
        with pytest.raises(EntryError):
            entry_from_json(bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor_user", "Jan Jansen"),  # a name, with a space
        ("actor_user", "jan@politie.nl"),  # an e-mail address
        ("actor_user", ""),
        ("actor_user", "x" * 65),
        ("case_id", "c-1\n"),
        ("subject_pseudonyms", ("BSN 123456782",)),
        ("object_ids", ("-starts-with-dash",)),
        ("source", "192.0.2.1 (kantoor)"),
        ("disclosed", {"f 1": ()}),
    ],
)
def test_identifier_fields_hold_identifiers_not_content(field: str, value: object) -> None:
    with pytest.raises(EntryError):
        make_entry(**{field: value})


def test_reason_is_short_and_single_line() -> None:
    make_entry(reason="x" * MAX_REASON_LENGTH)
    make_entry(reason="één tafel 👩\u200d⚖️")
    for bad in (
        "x" * (MAX_REASON_LENGTH + 1),
        "line\nbreak",
        "tab\there",
        "nul\x00",
        "next\x85line",
        "lone \ud800 surrogate",
        "separator\u2028",
        "bidi \u202egnitrats",  # displays reversed: Trojan Source
        "isolate \u2066x\u2069",
    ):
        with pytest.raises(EntryError):
            make_entry(reason=bad)


def test_error_messages_never_echo_the_value() -> None:
    secret = "Jan Jansen 123456782"
    for field in ("actor_user", "case_id", "source", "policy_version"):
        with pytest.raises(EntryError) as info:
            make_entry(**{field: secret})
        assert "Jansen" not in str(info.value)
    with pytest.raises(EntryError) as info:
        make_entry(reason=secret * 20)
    assert "Jansen" not in str(info.value)
    d = good_json()
    d["Jan Jansen"] = 1
    with pytest.raises(EntryError) as info:
        entry_from_json(d)
    assert "Jansen" not in str(info.value)


def test_actions_are_object_dot_verb_and_unique() -> None:
    values = [a.value for a in Action]
    assert len(values) == len(set(values))
    for value in values:
        obj, _, verb = value.partition(".")
        assert obj and verb and value == value.lower()
    for required in (
        "fact.publish",
        "briefing.read",
        "auth.failure",
        "policy.error",
        "case.register",
        "case.shred",
        "log.export",
        "subject_access.report",
        "checkpoint.sign",
    ):
        assert Action(required)


# -- format v2: which subjects each named fact concerns (ADR 0403) ------------------------------

TWO = ("9f86d081884c7d65", "a3f1c2d4e5b60718")


def make_v2(**changes: Any) -> AccessLogEntry:
    return make_entry(
        **{
            "subject_pseudonyms": TWO,
            "fact_subjects": {"f-2": (TWO[0],), "f-1": (TWO[1], TWO[0])},
            **changes,
        }
    )


KNOWN_BYTES_V2 = (
    b"vhhub-log-entry/v2\n"
    b'{"action":"briefing.read","actor_partner":"p-politie-zeeland",'
    b'"actor_partner_kind":"police","actor_roles":["participant","publisher"],'
    b'"actor_user":"u-4f2a","case_id":"c-2d1b",'
    b'"disclosed":{"f-1":[],"f-2":["life_domain","summary"]},'
    b'"fact_subjects":{"f-1":["9f86d081884c7d65","a3f1c2d4e5b60718"],'
    b'"f-2":["9f86d081884c7d65"]},"object_ids":[],'
    b'"outcome":"allowed","policy_version":"sha256:ab12","purpose":"case_conference",'
    b'"reason":"policy:allow","request_id":"r-1","seq":7,"source":"192.0.2.10",'
    b'"subject_pseudonyms":["9f86d081884c7d65","a3f1c2d4e5b60718"],"time_us":1700000000123456}'
)


def test_v2_canonical_bytes_are_frozen_by_a_known_answer() -> None:
    assert canonical_bytes(make_v2()) == KNOWN_BYTES_V2
    expected_leaf = hashlib.sha256(b"\x00" + KNOWN_BYTES_V2).digest()
    assert entry_leaf_hash(make_v2()) == expected_leaf
    assert expected_leaf.hex() == (
        "069a7744d5c203102d356930b56c45817cbaea031dceef130b6f75f3ddd36377"
    )


def test_an_entry_without_fact_subjects_keeps_the_v1_spelling() -> None:
    """Every leaf of a log written before format v2 stays valid."""
    assert canonical_bytes(make_entry(fact_subjects={})) == KNOWN_BYTES
    assert "fact_subjects" not in entry_to_json(make_entry())
    assert canonical_bytes(make_v2()).startswith(ENTRY_DOMAIN_V2)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"fact_subjects": {"f-9": (TWO[0],)}}, "names a fact the entry does not name"),
        ({"fact_subjects": {"f-1": ("0badc0de",)}}, "not in subject_pseudonyms"),
        ({"fact_subjects": {"f-1": ("Jan Jansen",)}}, "must be an identifier"),
        ({"fact_subjects": {"f 1": ()}}, "must be an identifier"),
        ({"fact_subjects": [("f-1", TWO)]}, "must be a mapping"),
    ],
)
def test_fact_subjects_name_only_named_facts_and_the_entrys_subjects(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(EntryError) as info:
        make_v2(**changes)
    assert problem in str(info.value)
    assert "Jansen" not in str(info.value)


def test_a_fact_published_or_withdrawn_may_name_its_subjects_too() -> None:
    e = make_v2(
        action=Action.FACT_PUBLISH,
        disclosed={},
        object_ids=("f-1", "f-2"),
    )
    assert e.fact_subjects == {"f-1": TWO, "f-2": (TWO[0],)}
    assert entry_from_json(entry_to_json(e)) == e


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(fact_subjects={}),  # v2 form with nothing in it: not canonical
        lambda d: d.update(fact_subjects={"f-1": ["a3f1c2d4e5b60718", "9f86d081884c7d65"]}),
        lambda d: d.update(fact_subjects=[]),
        lambda d: d.update(fact_subjects={"f-1": "9f86d081884c7d65"}),
        lambda d: d.pop("reason"),
    ],
)
def test_non_canonical_v2_json_is_refused(mutate: Any) -> None:
    d = entry_to_json(make_v2())
    mutate(d)
    with pytest.raises(EntryError):
        entry_from_json(d)


@st.composite
def v2_entries(draw: st.DrawFn) -> AccessLogEntry:
    entry = draw(entries)
    named = sorted(set(entry.object_ids) | set(entry.disclosed))
    pseudonyms = list(entry.subject_pseudonyms)
    chosen = draw(st.lists(st.sampled_from(named), unique=True)) if named else []
    subjects = st.lists(st.sampled_from(pseudonyms)).map(tuple) if pseudonyms else st.just(())
    return dataclasses.replace(entry, fact_subjects={f: draw(subjects) for f in chosen})


@given(v2_entries())
def test_v1_and_v2_export_forms_round_trip_exactly(entry: AccessLogEntry) -> None:
    again = entry_from_json(json.loads(json.dumps(entry_to_json(entry))))
    assert again == entry
    assert canonical_bytes(again) == canonical_bytes(entry)
    prefix = ENTRY_DOMAIN_V2 if entry.fact_subjects else ENTRY_DOMAIN
    assert canonical_bytes(entry).startswith(prefix)
