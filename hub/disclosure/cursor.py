"""The opaque cursor of the paged briefing and the updates feed.

A page is at most `MAX_PAGE` facts in change order: by `change_seq` (the access-log seq of
the publish, correction or withdrawal), then a fixed order within one seq. One seq is a
*group*: every fact of one publish batch (up to 500), or the two versions of one correction.
A page may end inside a group, so a position is (seq, how many of its group were read, how
large the group was then):

- ``(seq, 0, 0)``: everything up to and including group `seq` was read;
- ``(seq, k, n)``: the first `k` of the `n` facts of group `seq` were read.

Why not the last fact's id, as keyset paging usually does: the last fact of a page may be
one the policy hid from this viewer (level none), and a cursor must not hand out the id of a
fact whose very existence the viewer may not learn. A count within a group needs no id. It
stays exact because a group only ever shrinks (a fact that is corrected or withdrawn moves
to a later seq, and no fact joins an older seq): if the group still has `n` facts it is the
same group, and if it shrank the next page reads the whole group again -- a fact may then be
repeated, but none is ever missed.

What a cursor does tell its holder (a change seq, and a group's size when the page ended
inside one) is no more than the pages tell: a page of `limit` facts of which fewer are shown
already says that the policy hid the rest, and the feed's cursor was a change seq before.

The cursor also names the endpoint and the case, so a cursor of one case or one endpoint is
refused on another (the query is bound to the path's case anyway; refusing says so). It is
base64url of compact JSON: opaque to clients, and a malformed or altered one is refused with
a problem that repeats nothing of it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Literal

from hub.errors import ValidationFailed

#: at most this many facts a page: one page is one bounded disclosure and one bounded entry
MAX_PAGE = 500
#: the largest seq or count a cursor may carry (hub.http.MAX_PARAM_INT: no column overflow)
MAX_POSITION = 2**62
#: a cursor is short: kind, a case id and three numbers
MAX_CURSOR_CHARS = 200

Kind = Literal["briefing", "updates"]
_KIND_TAG: dict[Kind, str] = {"briefing": "b", "updates": "u"}
_TOKEN = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_CURSOR_CHARS}}}$")
#: the updates feed's cursor before paging was opaque: a plain change seq, still accepted
_LEGACY = re.compile(r"^[0-9]{1,20}$")


class InvalidCursor(ValidationFailed):
    """A cursor this hub did not hand out for this case and endpoint. The problem names the
    parameter only: the value may be anything a client sent, so it is never repeated."""

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this endpoint handed out for this case; start again "
            "without a cursor.",
            extra={"errors": [{"pointer": "query:/cursor", "problem": "invalid cursor"}]},
        )


@dataclass(frozen=True, slots=True)
class Position:
    """Where the next page starts (see the module docstring)."""

    seq: int = 0
    read: int = 0
    group: int = 0

    @property
    def mid_group(self) -> bool:
        return self.group > 0

    def describe(self) -> str:
        """For the access-log entry's reason: where the page started."""
        if not self.mid_group:
            return f"after {self.seq}"
        return f"after {self.read} of the {self.group} facts of {self.seq}"


START = Position()


def _bounded(value: object) -> int:
    # bool is an int in Python; a cursor we wrote never holds one
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCursor()
    if not 0 <= value <= MAX_POSITION:
        raise InvalidCursor()
    return value


def encode(kind: Kind, case_id: str, position: Position) -> str:
    payload = json.dumps(
        [_KIND_TAG[kind], case_id, position.seq, position.read, position.group],
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode(kind: Kind, case_id: str, cursor: str | None) -> Position:
    """The position a cursor names; `InvalidCursor` (400) for anything else.

    The updates feed also takes the plain change seq it answered before its cursor became
    opaque (``0`` is the start), so a client that kept one can go on polling with it."""
    if cursor is None:
        return START
    if kind == "updates" and _LEGACY.match(cursor):
        return Position(seq=_bounded(int(cursor)))
    if not _TOKEN.match(cursor):
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed: object = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError included
        raise InvalidCursor() from None
    if not isinstance(parsed, list) or len(parsed) != 5:
        raise InvalidCursor()
    tag, bound_case, seq, read, group = parsed
    if tag != _KIND_TAG[kind] or bound_case != case_id:
        raise InvalidCursor()
    position = Position(seq=_bounded(seq), read=_bounded(read), group=_bounded(group))
    # a group position reads at least one and not all of its group; a whole group is (seq,0,0)
    if position.mid_group and not 0 < position.read < position.group:
        raise InvalidCursor()
    if not position.mid_group and position.read != 0:
        raise InvalidCursor()
    if encode(kind, case_id, position) != cursor:
        # only the one spelling we write: no second encoding of the same position
        raise InvalidCursor()
    return position
