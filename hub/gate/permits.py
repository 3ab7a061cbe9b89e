"""Permits: the proof, minted only by the gate, that the policy allowed something.

The vault (hub.disclosure.vault) opens a ciphertext only when handed the permit for exactly
that record, so forgetting to ask the policy is an error, not a leak (docs/principles.md section 2).
A permit cannot be constructed outside this package: calling a permit class raises, and the
only way to make one is `_mint`, which the architecture tests allow in hub/gate alone
(tests/foundation/test_one_door.py). Permits are immutable and cannot be copied or pickled
into existence elsewhere either.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn, Self, TypeVar

from hub.vocabulary import DisclosureLevel

__all__ = [
    "ActionPermit",
    "FactPermit",
    "IdentityPermit",
    "MinutesPartPermit",
    "Permit",
    "PlanPartPermit",
    "PlanPermit",
]

_P = TypeVar("_P", bound="Permit")

#: levels at which a fact's (released) content may be decrypted
CONTENT_LEVELS = frozenset({DisclosureLevel.SUMMARY, DisclosureLevel.FULL})


def _slots(cls: type) -> tuple[str, ...]:
    return tuple(s for klass in cls.__mro__ for s in getattr(klass, "__slots__", ()))


class Permit:
    """Base of every permit: not constructible, not mutable, not copyable, not picklable."""

    __slots__ = ()
    #: every field a permit of this class carries, computed once per class: a briefing mints
    #: two permits per fact, and walking the class hierarchy on each one cost about a tenth
    #: of its CPU (bench/briefing_bench.py)
    _field_set: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._field_set = frozenset(_slots(cls))

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        raise TypeError(f"{cls.__name__} is minted by the gate (hub.gate) only")

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _slots(type(self)))
        return f"{type(self).__name__}({fields})"


class ActionPermit(Permit):
    """The policy allowed `action` for this viewer (on `case_id`, when it names a case)."""

    __slots__ = ("action", "case_id", "policy_version", "reason")
    action: str
    case_id: str | None
    policy_version: str
    reason: str


class FactPermit(Permit):
    """What one viewer may see of one fact: the level and the released field names."""

    __slots__ = ("case_id", "fact_id", "fields", "level", "policy_version", "reason", "rule")
    case_id: str
    fact_id: str
    level: DisclosureLevel
    fields: tuple[str, ...]
    reason: str
    rule: str
    policy_version: str

    @property
    def releases_content(self) -> bool:
        return self.level in CONTENT_LEVELS and bool(self.fields)

    def narrowed(self, fields: tuple[str, ...]) -> FactPermit:
        """The same permit for a subset of its fields (defence in depth may drop some; a
        permit can only ever shrink)."""
        kept = tuple(f for f in fields if f in self.fields)
        if kept == self.fields:
            return self  # immutable: nothing to narrow
        return _mint(
            FactPermit,
            case_id=self.case_id,
            fact_id=self.fact_id,
            level=self.level,
            fields=kept,
            reason=self.reason,
            rule=self.rule,
            policy_version=self.policy_version,
        )


class IdentityPermit(Permit):
    """What one viewer may see of who one case is about: the identity classes released (of
    name, date_of_birth, address, bsn; ``reason`` for the registration reason)."""

    __slots__ = ("case_id", "classes", "policy_version", "reason", "rule")
    case_id: str
    classes: tuple[str, ...]
    reason: str
    rule: str
    policy_version: str

    @property
    def subject_fields(self) -> tuple[str, ...]:
        """The released identifying fields of a subject (the classes but the reason)."""
        return tuple(c for c in self.classes if c != "reason")

    @property
    def releases_reason(self) -> bool:
        return "reason" in self.classes


class PlanPermit(Permit):
    """The policy allowed `read_plan`: the case's analysis and plan may be decrypted."""

    __slots__ = ("case_id", "policy_version")
    case_id: str
    policy_version: str


class PlanPartPermit(Permit):
    """What one viewer may read of one text-bearing part of a plan (an analysis, the risk
    assessment, a goal, an intervention, a monitoring note): the policy's level for it and the
    released field names of its plan-note fact type (``text`` only at full)."""

    __slots__ = ("case_id", "fields", "level", "part", "policy_version", "reason", "rule")
    case_id: str
    part: str
    level: DisclosureLevel
    fields: tuple[str, ...]
    reason: str
    rule: str
    policy_version: str

    @property
    def releases_text(self) -> bool:
        return self.level in CONTENT_LEVELS and "text" in self.fields


class MinutesPartPermit(Permit):
    """What one viewer may read of one part of a case conference's minutes (a minutes part
    or a decision's text, ADR 0013): the policy's level for it as a plan-note fact and the
    released field names (``text`` only at full). Minted only under a ``read_minutes``
    verdict on the part's case."""

    __slots__ = ("case_id", "fields", "level", "part", "policy_version", "reason", "rule")
    case_id: str
    part: str
    level: DisclosureLevel
    fields: tuple[str, ...]
    reason: str
    rule: str
    policy_version: str

    @property
    def releases_text(self) -> bool:
        return self.level in CONTENT_LEVELS and "text" in self.fields


def _mint(cls: type[_P], **fields: Any) -> _P:
    """Make a permit. Only the gate calls this (enforced by the architecture tests)."""
    if fields.keys() != cls._field_set:
        raise TypeError(f"{cls.__name__} needs exactly {sorted(cls._field_set)}")
    permit = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(permit, name, value)
    return permit
