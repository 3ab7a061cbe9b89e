"""What an id the hub hands out may look like, checked before it reaches SQL.

Every id the hub makes (cases, facts, subscriptions, meetings) is a UUID. An id in a path
that could not be one is answered as unknown without a query: the same answer, and the
same log entry where unknown ids are logged, and no database error -- PostgreSQL refuses
a NUL byte in text with an error, where SQLite just finds nothing.
"""

from __future__ import annotations

import re
from typing import Final

#: a UUID's length; anything longer is not looked up at all
MAX_ID: Final = 36
#: ASCII only: `str.isalnum` also takes "²" or "é", which no id holds and no log entry names
_PLAUSIBLE: Final = re.compile(r"[A-Za-z0-9-]{1,36}")


def plausible_id(value: str) -> bool:
    """1-36 characters, each an ASCII letter, an ASCII digit or a dash."""
    return _PLAUSIBLE.fullmatch(value) is not None
