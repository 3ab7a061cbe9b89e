"""One access-log entry and its canonical bytes: what a Merkle leaf of the log commits to.

Why the encoding is this strict: an auditor must recompute every leaf hash from an export,
years later, with another implementation. So one entry has exactly one byte string, and
one export object maps to exactly one entry (`entry_from_json` refuses anything that is not
already in canonical form). Any other spelling of "the same" entry would be a way to change
an export without changing its hashes -- or to make an honest export fail to verify.

Canonical bytes (docs/adr/0401-access-log-format.md)::

    b"vhhub-log-entry/v1\\n" || canonical JSON of entry_to_json(entry)   no fact_subjects
    b"vhhub-log-entry/v2\\n" || canonical JSON of entry_to_json(entry)   with fact_subjects
    b"vhhub-log-entry/v3\\n" || canonical JSON of entry_to_json(entry)   with count

Version 2 adds one field, `fact_subjects`: for an entry that names facts, which subjects each
fact concerns (ADR 0403). An entry without it is spelled exactly as before, so every leaf
hash of a log written before version 2 stays valid; an entry with it exists only as version 2.
Version 3 adds `count` the same way: an entry that stands for several identical refusals
(counted in memory, written once, ADR 0404); it names no facts, so it never holds
`fact_subjects`.

where canonical JSON is the RFC 8785 (JCS) subset we need: UTF-8, object keys sorted, no
insignificant whitespace, every key always present (absent values are ``null``), numbers
only as integers, arrays in a fixed order. All keys and identifiers are ASCII, so sorting
by code point equals JCS's UTF-16 order.

Why no content can slip in: every field but `reason` is an identifier, a closed vocabulary
term or an integer, validated against a narrow character set; `reason` is capped and may not
hold control characters. Validation messages name the field, never the value (they end up
in logs).
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, TypeVar

from hub.audit.merkle import leaf_hash
from hub.vocabulary import PartnerKind, Purpose, Role

__all__ = [
    "ENTRY_DOMAIN",
    "ENTRY_DOMAIN_V2",
    "ENTRY_DOMAIN_V3",
    "ENTRY_FIELDS",
    "ENTRY_FIELDS_V2",
    "ENTRY_FIELDS_V3",
    "MAX_ID_LENGTH",
    "MAX_REASON_LENGTH",
    "AccessLogEntry",
    "Action",
    "EntryError",
    "LeafTemplate",
    "Outcome",
    "canonical_bytes",
    "entry_and_leaf_from_json",
    "entry_domain",
    "entry_from_json",
    "entry_leaf_hash",
    "entry_to_json",
    "leaf_template",
    "utc_micros",
]

#: Domain separation: these bytes can never be mistaken for any other signed or hashed
#: object of the hub, and the version lets a future encoding coexist in one verifier.
ENTRY_DOMAIN: Final = b"vhhub-log-entry/v1\n"
#: Entries that say which subjects each named fact concerns (`fact_subjects`, ADR 0403).
ENTRY_DOMAIN_V2: Final = b"vhhub-log-entry/v2\n"
#: Entries that count several identical acts in one (`count`, ADR 0404).
ENTRY_DOMAIN_V3: Final = b"vhhub-log-entry/v3\n"
MAX_REASON_LENGTH: Final = 200
#: Matches the widest identifier column of the log table (String(64)).
MAX_ID_LENGTH: Final = 64

# Identifiers: UUIDs, "f-1", blind-index hex, policy hashes ("sha256:..."), IPv4/IPv6
# addresses. No spaces and no "@", so names and e-mail addresses do not fit by accident.
_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=\[\]%-]{0,63}")
# Field names of a fact type as disclosed (schema property names, dotted for nesting).
_FIELD_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})*")
# An IP address as text: at most 45 characters (IPv6 with an embedded IPv4 address).
_IP_TEXT_RE: Final = re.compile(r"[0-9a-f:.]{2,45}")
_MAX_FIELD_LENGTH: Final = 128
_MAX_TIME_US: Final = 253402300799999999  # 9999-12-31T23:59:59.999999Z
_MAX_COUNT: Final = (1 << 63) - 1  # a signed 64-bit column
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_E = TypeVar("_E", bound=StrEnum)

# Characters a reason may not hold: C0/C1 controls and DEL, lone surrogates (not UTF-8),
# line/paragraph separators, and bidirectional controls that make a log line display
# differently from what it says. Fixed ranges, not Unicode categories, so the rule cannot
# drift with the Unicode version of whatever Python verifies an export years from now.
_REASON_FORBIDDEN: Final = re.compile(
    r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


class EntryError(ValueError):
    """An entry (or its JSON form) is invalid. The message names the field, not the value."""


class Action(StrEnum):
    """What happened. Append-only: never remove or rename a member, or old logs stop parsing.

    Names are ``<object>.<verb>``; the object comes first so an auditor filtering by prefix
    ("case.", "policy.") gets one area of the hub.
    """

    FACT_PUBLISH = "fact.publish"
    FACT_CORRECT = "fact.correct"
    FACT_WITHDRAW = "fact.withdraw"
    FACT_PUBLISH_DENIED = "fact.publish_denied"
    BRIEFING_READ = "briefing.read"
    UPDATES_READ = "updates.read"
    #: NEN 7513 asks for emergency access to be logged as such; the reason holds the
    #: justification code and a privacy officer reviews every one.
    ACCESS_BREAK_GLASS = "access.break_glass"
    CASE_REGISTER = "case.register"
    CASE_TAKE = "case.take"
    CASE_SCREEN = "case.screen"
    SCREENING_HIT = "screening.hit"
    CASE_TRIAGE = "case.triage"
    CASE_INVITE = "case.invite"
    CASE_WITHDRAW_INVITATION = "case.withdraw_invitation"
    CASE_ASSIGN_CASUSREGISSEUR = "case.assign_casusregisseur"
    CASE_CHANGE_PHASE = "case.change_phase"
    CASE_SCHEDULE = "case.schedule"
    CASE_CLOSE = "case.close"
    #: the registering partner corrected a subject's identifying data (a new version)
    CASE_CORRECT_SUBJECT = "case.correct_subject"
    CASE_READ = "case.read"
    CASE_DENIED = "case.denied"
    PLAN_RECORD = "plan.record"
    PLAN_READ = "plan.read"
    AUTH_FAILURE = "auth.failure"
    REQUEST_REJECTED = "request.rejected"
    POLICY_ERROR = "policy.error"
    POLICY_LOAD = "policy.load"
    POLICY_APPROVE = "policy.approve"
    POLICY_ACTIVATE = "policy.activate"
    POLICY_SIMULATE = "policy.simulate"
    POLICY_READ = "policy.read"
    KEY_ROTATE = "key.rotate"
    CASE_SHRED = "case.shred"
    RETENTION_RUN = "retention.run"
    LOG_QUERY = "log.query"
    LOG_EXPORT = "log.export"
    LOG_VERIFY = "log.verify"
    SUBJECT_ACCESS_REPORT = "subject_access.report"
    INTEGRITY_ERROR = "integrity.error"
    CHECKPOINT_SIGN = "checkpoint.sign"
    #: a subject was informed that their case is discussed, or informing was postponed
    #: (ADR 0012); the reason holds the codes and dates (`hub.cases.notices.notice_code`)
    CASE_RECORD_NOTICE = "case.record_notice"
    #: a member read whether and how the case's subjects were informed
    CASE_READ_NOTICES = "case.read_notices"
    #: a case conference was scheduled (ADR 0013); no case
    MEETING_SCHEDULE = "meeting.schedule"
    #: a case was put on a case conference, or partners were invited to discuss it
    MEETING_PLAN = "meeting.plan"
    #: a case conference (or its calendar file) was read: the items of cases the viewer may read
    MEETING_READ = "meeting.read"
    #: who attended the discussion of a case was recorded
    MEETING_ATTENDANCE = "meeting.attendance"
    #: minutes parts or decisions of a case's discussion were recorded (sealed)
    MINUTES_RECORD = "minutes.record"
    #: the minutes of a case's discussion were read; `disclosed` names per part what left
    MINUTES_READ = "minutes.read"
    #: who coordinates a case with another house or chain, and the status (ADR 0014)
    CASE_RECORD_COORDINATION = "case.record_coordination"
    #: management information was read: counts only, no case ids (ADR 0014)
    STATISTICS_READ = "statistics.read"
    #: a person logged in to the web application (ADR 0015); the reason says how
    #: (`oidc`, or `demo` with the generated dev keys only)
    SESSION_START = "session.start"
    #: a web session ended: logged out (`logout`), or found expired (`idle`, `absolute`)
    SESSION_END = "session.end"
    #: a partner application subscribed to notifications (ADR 0019); object: the subscription
    SUBSCRIPTION_CREATE = "subscription.create"
    #: a partner application ended a subscription to notifications (ADR 0019)
    SUBSCRIPTION_END = "subscription.end"
    #: a user listed the subscriptions it created (ADR 0019); objects: the subscriptions shown
    SUBSCRIPTION_LIST = "subscription.list"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


def utc_micros(moment: datetime) -> int:
    """Integer microseconds since the Unix epoch, UTC; refuses naive datetimes.

    Why integers: no time-zone spelling, no fractional-second formatting, no float rounding
    in the canonical bytes, and they sort.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EntryError("time must be timezone-aware")
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def utc_moment(time_us: int) -> datetime:
    """The aware UTC datetime of integer microseconds since the Unix epoch: the inverse of
    `utc_micros`, in integer arithmetic (the one way the hub reads an entry's `time_us`)."""
    return _EPOCH + timedelta(microseconds=time_us)


def _check_int(name: str, value: object, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EntryError(f"{name}: must be an integer")
    if not 0 <= value <= maximum:
        raise EntryError(f"{name}: out of range")
    return value


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise EntryError(f"{name}: must be an identifier of at most {MAX_ID_LENGTH} characters")
    return value


def _check_optional_id(name: str, value: object) -> str | None:
    return None if value is None else _check_id(name, value)


def _check_source(value: object) -> str | None:
    """The client address: an IP address written in digits, lower-case hex, '.' and ':' only
    (IPv6 may start with ':', which no identifier does; a zone id such as '%eth0' is free text
    and never part of it), or else an identifier: a fixed token such as "cli" or "init", or a
    value logged before addresses were normalised, which the verifier must still accept.
    Any spelling `ipaddress` parses is accepted, not only the one this Python prints, so a
    log verifies the same under every Python version."""
    if isinstance(value, str) and _IP_TEXT_RE.fullmatch(value):
        try:
            ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            return value
    return _check_optional_id("source", value)


#: Field names already found well-formed: a briefing names the same few dozen schema
#: fields hundreds of times (ADR 0020). Only names that passed the check enter, and the set
#: stops growing at its bound, so a flood of new names costs memory no more than that.
_GOOD_FIELD_NAMES: set[str] = set()
_GOOD_FIELD_NAMES_MAX: Final = 4096


def _check_field_name(name: str, value: object) -> str:
    if type(value) is str and value in _GOOD_FIELD_NAMES:
        return value
    if (
        not isinstance(value, str)
        or len(value) > _MAX_FIELD_LENGTH
        or not _FIELD_RE.fullmatch(value)
    ):
        raise EntryError(f"{name}: must be a field name (lower-case, digits, _ and .)")
    if type(value) is str and len(_GOOD_FIELD_NAMES) < _GOOD_FIELD_NAMES_MAX:
        _GOOD_FIELD_NAMES.add(value)
    return value


_MEMBER_MAPS: dict[type[StrEnum], dict[str, StrEnum]] = {}


def _check_enum(name: str, enum: type[_E], value: object) -> _E:
    if not isinstance(value, str):
        raise EntryError(f"{name}: must be a string")
    # A dict lookup is several times faster than Enum's call protocol, and the verifier
    # does several per entry.
    members = _MEMBER_MAPS.get(enum)
    if members is None:
        members = _MEMBER_MAPS[enum] = {m.value: m for m in enum}
    member = members.get(value)
    if member is None or not isinstance(member, enum):
        raise EntryError(f"{name}: not a known {enum.__name__}")
    return member


def _check_reason(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EntryError("reason: must be a string")
    if len(value) > MAX_REASON_LENGTH:
        raise EntryError(f"reason: longer than {MAX_REASON_LENGTH} characters")
    if _REASON_FORBIDDEN.search(value):
        raise EntryError("reason: contains control, layout or invalid characters")
    return value


def _sorted_unique(name: str, values: object, check: Any) -> tuple[Any, ...]:
    if type(values) is not tuple and (
        isinstance(values, str | bytes) or not isinstance(values, Iterable)
    ):
        raise EntryError(f"{name}: must be a sequence")
    if not values:
        return ()
    return tuple(sorted({check(name, v) for v in values}))


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessLogEntry:
    """One logged act. Field order follows NEN 7513: who, what, about whom, when, why, result.

    Sets (roles, pseudonyms, object ids, disclosed fields) are stored sorted and without
    duplicates, so the caller's order never changes a leaf hash.
    """

    #: 0-based position in the log, assigned by the appender; also the event id.
    seq: int
    #: Microseconds since the Unix epoch, UTC (see `utc_micros`).
    time_us: int
    action: Action
    outcome: Outcome
    #: Partner id of the actor, None when unknown (e.g. an authentication failure).
    actor_partner: str | None = None
    actor_partner_kind: PartnerKind | None = None
    #: Pseudonymous user id as the partner's token names it; never a name or e-mail.
    actor_user: str | None = None
    actor_roles: tuple[Role, ...] = ()
    #: The purpose the request stated; None when it stated none (or none valid).
    purpose: Purpose | None = None
    case_id: str | None = None
    #: Blind indexes of the data subjects concerned, never identifiers.
    subject_pseudonyms: tuple[str, ...] = ()
    #: Objects acted on (fact ids published/corrected/withdrawn, plan id, policy version...).
    object_ids: tuple[str, ...] = ()
    #: For reads: fact id -> the field names released. An empty tuple means only the fact's
    #: existence (its policy metadata) was shown. Exactly what left the hub, per fact.
    disclosed: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    #: Short explanation code ("policy:not_participant", "token:expired"); never content.
    reason: str | None = None
    #: Hash of the policy bundle that decided, so the decision can be replayed.
    policy_version: str | None = None
    request_id: str | None = None
    #: Client address as the hub saw it.
    source: str | None = None
    #: For an entry that names facts (published, corrected, withdrawn or disclosed): fact id
    #: -> the pseudonyms of the subjects that fact concerns. Every fact must be named in
    #: `object_ids` or `disclosed`, every pseudonym must be in `subject_pseudonyms`. Empty for
    #: every other entry (and for entries written before format version 2).
    fact_subjects: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    #: Format v3 (ADR 0404): how many identical acts this one entry stands for, when it was
    #: written for several (repeated refusals from one source in one minute, counted in
    #: memory). None for an entry of one act, and for every entry written before v3.
    count: int | None = None

    def __post_init__(self) -> None:
        # Validate and normalise in one place, so no code path can build an invalid entry.
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        _check_int("seq", self.seq, (1 << 63) - 1)
        _check_int("time_us", self.time_us, _MAX_TIME_US)
        put("action", _check_enum("action", Action, self.action))
        put("outcome", _check_enum("outcome", Outcome, self.outcome))
        _check_optional_id("actor_partner", self.actor_partner)
        if self.actor_partner_kind is not None:
            kind = _check_enum("actor_partner_kind", PartnerKind, self.actor_partner_kind)
            put("actor_partner_kind", kind)
        _check_optional_id("actor_user", self.actor_user)
        put(
            "actor_roles",
            _sorted_unique("actor_roles", self.actor_roles, lambda n, v: _check_enum(n, Role, v)),
        )
        if self.purpose is not None:
            put("purpose", _check_enum("purpose", Purpose, self.purpose))
        _check_optional_id("case_id", self.case_id)
        put(
            "subject_pseudonyms",
            _sorted_unique("subject_pseudonyms", self.subject_pseudonyms, _check_id),
        )
        put("object_ids", _sorted_unique("object_ids", self.object_ids, _check_id))
        if not isinstance(self.disclosed, Mapping):
            raise EntryError("disclosed: must be a mapping of fact id to field names")
        disclosed = {
            _check_id("disclosed", fact_id): _sorted_unique("disclosed", fields, _check_field_name)
            for fact_id, fields in self.disclosed.items()
        }
        put("disclosed", MappingProxyType(dict(sorted(disclosed.items()))))
        if not isinstance(self.fact_subjects, Mapping):
            raise EntryError("fact_subjects: must be a mapping of fact id to pseudonyms")
        fact_subjects = {
            _check_id("fact_subjects", fact_id): _sorted_unique("fact_subjects", names, _check_id)
            for fact_id, names in self.fact_subjects.items()
        }
        if fact_subjects:
            named = set(self.object_ids) | set(disclosed)
            if not set(fact_subjects) <= named:
                raise EntryError("fact_subjects: names a fact the entry does not name")
            pseudonyms = set(self.subject_pseudonyms)
            if not all(set(v) <= pseudonyms for v in fact_subjects.values()):
                raise EntryError("fact_subjects: names a subject not in subject_pseudonyms")
        put("fact_subjects", MappingProxyType(dict(sorted(fact_subjects.items()))))
        if self.count is not None:
            _check_int("count", self.count, _MAX_COUNT)
            if self.count < 1:
                raise EntryError("count: out of range")
            # An aggregate stands for acts it cannot tell apart: it cannot say what left
            # the hub per fact, so it names no disclosure (and one format version applies).
            if disclosed or fact_subjects:
                raise EntryError("count: an entry with a count names no disclosed facts")
        _check_reason(self.reason)
        _check_optional_id("policy_version", self.policy_version)
        _check_optional_id("request_id", self.request_id)
        _check_source(self.source)

    @property
    def at(self) -> datetime:
        """`time_us` as an aware UTC datetime, for display and queries."""
        return utc_moment(self.time_us)

    def placed(self, seq: int, time_us: int) -> AccessLogEntry:
        """This entry at a log position and time. Everything else was validated and
        normalised when this draft was built, so only the two new values are checked: the
        appender builds the draft before it locks the log head, and holds the lock (which
        every writer waits for) only for the position, the hash and the rows (ADR 0020)."""
        _check_int("seq", seq, (1 << 63) - 1)
        _check_int("time_us", time_us, _MAX_TIME_US)
        entry = copy.copy(self)  # no __init__: nothing is validated again
        object.__setattr__(entry, "seq", seq)
        object.__setattr__(entry, "time_us", time_us)
        return entry


#: The fields of an entry, in NEN 7513 order: the export form's keys and the log table's
#: columns (hub.audit.store reads rows by them).
ENTRY_FIELDS: Final[tuple[str, ...]] = (
    "seq",
    "time_us",
    "actor_partner",
    "actor_partner_kind",
    "actor_user",
    "actor_roles",
    "action",
    "purpose",
    "case_id",
    "subject_pseudonyms",
    "object_ids",
    "disclosed",
    "outcome",
    "reason",
    "policy_version",
    "request_id",
    "source",
)
#: Format version 2: the same fields and `fact_subjects` (only when it is not empty).
ENTRY_FIELDS_V2: Final[tuple[str, ...]] = (*ENTRY_FIELDS, "fact_subjects")
#: Format version 3: the version 1 fields and `count` (only when it is set).
ENTRY_FIELDS_V3: Final[tuple[str, ...]] = (*ENTRY_FIELDS, "count")
_JSON_KEYS: Final = frozenset(ENTRY_FIELDS)
_JSON_KEYS_V2: Final = frozenset(ENTRY_FIELDS_V2)
_JSON_KEYS_V3: Final = frozenset(ENTRY_FIELDS_V3)


def entry_to_json(entry: AccessLogEntry) -> dict[str, Any]:
    """The entry as a JSON-ready dict: the export form and the input of `canonical_bytes`.

    `fact_subjects` is a key only when it is not empty (format version 2) and `count` only
    when it is set (format version 3), so an entry without them has exactly the version 1
    form."""
    body = {
        "seq": entry.seq,
        "time_us": entry.time_us,
        "actor_partner": entry.actor_partner,
        "actor_partner_kind": (
            None if entry.actor_partner_kind is None else entry.actor_partner_kind.value
        ),
        "actor_user": entry.actor_user,
        "actor_roles": [r.value for r in entry.actor_roles],
        "action": entry.action.value,
        "purpose": None if entry.purpose is None else entry.purpose.value,
        "case_id": entry.case_id,
        "subject_pseudonyms": list(entry.subject_pseudonyms),
        "object_ids": list(entry.object_ids),
        "disclosed": {k: list(v) for k, v in entry.disclosed.items()},
        "outcome": entry.outcome.value,
        "reason": entry.reason,
        "policy_version": entry.policy_version,
        "request_id": entry.request_id,
        "source": entry.source,
    }
    if entry.fact_subjects:
        body["fact_subjects"] = {k: list(v) for k, v in entry.fact_subjects.items()}
    if entry.count is not None:
        body["count"] = entry.count
    return body


def entry_domain(entry: AccessLogEntry) -> bytes:
    """The domain prefix of the entry's format version: 3 when it has a `count`, 2 when it
    has `fact_subjects` (never both), else 1."""
    if entry.count is not None:
        return ENTRY_DOMAIN_V3
    return ENTRY_DOMAIN_V2 if entry.fact_subjects else ENTRY_DOMAIN


# ensure_ascii=False + sort_keys + compact separators is JCS for our value space: strings
# (Python escapes exactly as JCS does), integers, null, arrays and objects. One shared
# encoder: building one per call costs more than encoding a small entry.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _canonical_json(obj: dict[str, Any]) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8")


def canonical_bytes(entry: AccessLogEntry) -> bytes:
    """The exact bytes a Merkle leaf commits to: domain prefix and canonical JSON."""
    return entry_domain(entry) + _canonical_json(entry_to_json(entry))


def entry_leaf_hash(entry: AccessLogEntry) -> bytes:
    """The entry's Merkle leaf hash: ``leaf_hash(canonical_bytes(entry))``."""
    return leaf_hash(canonical_bytes(entry))


#: the two values an entry gets only when it is placed, under the log head's lock
_PLACED_KEYS: Final = ("seq", "time_us")


@dataclass(frozen=True, slots=True)
class LeafTemplate:
    """The canonical bytes of a draft entry, cut where its seq and time go.

    Why: the appender holds the log head's lock -- which every writer of every process waits
    for -- from placing the entry to the commit. Encoding a briefing's entry (200 facts,
    their fields and subjects) costs about 0.7 ms; encoded before the lock, only the two
    numbers are written and the bytes hashed under it (ADR 0020). The bytes are exactly
    `canonical_bytes` of the placed entry: the canonical form is a JSON object with sorted
    keys, so it is the concatenation of its members in key order, and the two members
    that change are integers (tests/audit/test_leaf_template.py)."""

    before_seq: bytes
    before_time: bytes
    after_time: bytes

    def leaf_hash(self, seq: int, time_us: int) -> bytes:
        """`entry_leaf_hash(draft.placed(seq, time_us))`."""
        return leaf_hash(
            b"".join(
                (
                    self.before_seq,
                    str(seq).encode("ascii"),
                    self.before_time,
                    str(time_us).encode("ascii"),
                    self.after_time,
                )
            )
        )


def leaf_template(draft: AccessLogEntry) -> LeafTemplate:
    """The template of `draft`'s canonical bytes (its seq and time are ignored)."""
    body = entry_to_json(draft)
    chunks: list[str] = []  # text before seq, between seq and time, after time
    current = ["{"]
    for index, key in enumerate(sorted(body)):
        member = ("," if index else "") + _ENCODER.encode(key) + ":"
        if key in _PLACED_KEYS:
            current.append(member)
            chunks.append("".join(current))
            current = []
        else:
            current.append(member + _ENCODER.encode(body[key]))
    current.append("}")
    chunks.append("".join(current))
    before_seq, before_time, after_time = (c.encode("utf-8") for c in chunks)
    return LeafTemplate(entry_domain(draft) + before_seq, before_time, after_time)


def _strict_list(name: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise EntryError(f"{name}: must be a list")
    return value


def entry_from_json(obj: Any) -> AccessLogEntry:
    """Parse the export form strictly: exact keys, exact types, canonical order only.

    Why refuse a non-canonical but equivalent object (roles unsorted, say)? Because the
    verifier hashes what it parsed: accepting two spellings would let an export be edited
    without any hash noticing, and hides bugs in whatever wrote it.
    """
    return _parse(obj)[0]


def entry_and_leaf_from_json(obj: Any) -> tuple[AccessLogEntry, bytes]:
    """`entry_from_json` and the entry's leaf hash in one step (the verifier's hot path)."""
    entry, canon = _parse(obj)
    return entry, leaf_hash(entry_domain(entry) + _canonical_json(canon))


def _parse(obj: Any) -> tuple[AccessLogEntry, dict[str, Any]]:
    if not isinstance(obj, dict):
        raise EntryError("entry: must be an object")
    keys = set(obj)
    if keys != _JSON_KEYS and keys != _JSON_KEYS_V2 and keys != _JSON_KEYS_V3:
        expected = (
            _JSON_KEYS_V2
            if "fact_subjects" in keys
            else _JSON_KEYS_V3
            if "count" in keys
            else _JSON_KEYS
        )
        missing, extra = sorted(expected - keys), sorted(k for k in keys if k not in expected)
        # Key names are ours (or garbage we only count), never entry content.
        raise EntryError(f"entry: missing keys {missing}, {len(extra)} unknown key(s)")
    fact_subjects = obj.get("fact_subjects", {})
    if not isinstance(fact_subjects, dict):
        raise EntryError("fact_subjects: must be an object")
    for names in fact_subjects.values():
        _strict_list("fact_subjects", names)
    disclosed = obj["disclosed"]
    if not isinstance(disclosed, dict):
        raise EntryError("disclosed: must be an object")
    for name in ("actor_roles", "subject_pseudonyms", "object_ids"):
        _strict_list(name, obj[name])
    for fields in disclosed.values():
        _strict_list("disclosed", fields)
    for name in ("reason",):
        if obj[name] is not None and not isinstance(obj[name], str):
            raise EntryError(f"{name}: must be a string or null")
    entry = AccessLogEntry(
        seq=obj["seq"],
        time_us=obj["time_us"],
        action=obj["action"],
        outcome=obj["outcome"],
        actor_partner=obj["actor_partner"],
        actor_partner_kind=obj["actor_partner_kind"],
        actor_user=obj["actor_user"],
        actor_roles=tuple(obj["actor_roles"]),
        purpose=obj["purpose"],
        case_id=obj["case_id"],
        subject_pseudonyms=tuple(obj["subject_pseudonyms"]),
        object_ids=tuple(obj["object_ids"]),
        disclosed={k: tuple(v) for k, v in disclosed.items()},
        reason=obj["reason"],
        policy_version=obj["policy_version"],
        request_id=obj["request_id"],
        source=obj["source"],
        fact_subjects={k: tuple(v) for k, v in fact_subjects.items()},
        count=obj.get("count"),
    )
    canon = entry_to_json(entry)
    if canon != obj:
        raise EntryError("entry: not in canonical form (sets must be sorted and unique)")
    return entry, canon
