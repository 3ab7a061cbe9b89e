"""Deduplicate facts into classes before asking the policy, and check every answer.

Why classes: a briefing of 500 facts holds few distinct combinations of what the policy looks
at (type, domain, sensitivity, publisher kind, whether the viewer published it, shareable and
the field list). Deciding once per class and copying the answer to each fact keeps a
500-fact briefing to a few dozen evaluations, whatever the engine.

Why the engine sees only the class attributes: if the policy could read anything else about a
fact (its id, its publisher's name, a date), two facts of one class could deserve different
answers and the copy would be wrong. Projecting each fact onto CLASS_ATTRIBUTES before it
reaches the engine makes the classes exact by construction. A policy that needs another fact
attribute must add it here (the differential test compares deduplicated and per-fact runs).

Why the answer checks: an engine that crashed half-way, an OPA sidecar serving a different
policy, or a bug in a new policy version must never leak. Any answer that is not exactly one
well-formed decision per asked class, releasing only fields the fact has, is a PolicyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from hub.rego.decisions import FactDecision, IdentityDecision, Verdict
from hub.rego.errors import PolicyError
from hub.vocabulary import DisclosureClass, DisclosureLevel

#: The fact attributes the disclosure policy may read. `publisher` is reduced to whether it
#: is the viewer's own partner when classes are formed.
CLASS_ATTRIBUTES: tuple[str, ...] = (
    "type",
    "domain",
    "sensitivity",
    "publisher",
    "publisher_kind",
    "shareable",
    "fields",
    # a plan note only: the (sensitivity, publisher kind) of the facts it is written from
    "cites",
)

_LEVELS = {level.value: level for level in DisclosureLevel}
_NEVER = DisclosureClass.NEVER.value


@dataclass(frozen=True, slots=True)
class FactClasses:
    """The reduced engine input and how to map its answer back to the original fact ids."""

    engine_input: dict[str, Any]
    class_of: dict[str, str]  # fact id -> class id

    @property
    def class_count(self) -> int:
        return len(self.engine_input["facts"])


def _viewer_partner(decision_input: Mapping[str, Any]) -> Any:
    viewer = decision_input.get("viewer")
    return viewer.get("partner") if isinstance(viewer, Mapping) else None


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), with plain dicts (every input the hub builds) answered
    without the ABC check, which costs more than the rest of a fact's class key."""
    return type(value) is dict or isinstance(value, Mapping)


def _checked_facts(decision_input: Mapping[str, Any]) -> Mapping[str, Any]:
    """The input's facts, refused when malformed: the answer could not be checked against them."""
    facts = decision_input.get("facts")
    if not _is_mapping(facts):
        raise PolicyError("decision input has no facts object")
    # the gate hands the facts of one type one shared fields mapping: each is checked once
    # (every fact stays referenced by `facts`, so no id is reused during the loop)
    checked: set[int] = set()
    for fact_id, fact in facts.items():
        if not isinstance(fact_id, str) or not _is_mapping(fact):
            raise PolicyError("decision input holds a fact that is not an object")
        fields = fact.get("fields", {})
        if id(fields) in checked:
            continue
        if not _is_mapping(fields) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
        ):
            raise PolicyError("decision input holds a fact whose fields are not name -> class")
        checked.add(id(fields))
    return facts


def _project(fact: Mapping[str, Any]) -> dict[str, Any]:
    return {key: fact[key] for key in CLASS_ATTRIBUTES if key in fact}


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value, equal only for values that encode to the
    same JSON *and* have the same Python types (True and 1, 1 and 1.0 stay apart): classes
    are never coarser than with a JSON key, so deduplication stays exact."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return (kind, value)
    if isinstance(value, Mapping):
        return (dict, tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (list, tuple(_freeze(v) for v in value))
    return (object, repr(value))


#: Marks a class attribute the fact does not have (distinct from every value, None included).
_ABSENT = object()

#: The attributes the class key of `deduplicate` is built from, in its order: every class
#: attribute, or facts differing in a missing one would share a class (checked at import).
_KEY_ATTRIBUTES = (
    "publisher",
    "fields",
    "publisher_kind",
    "type",
    "domain",
    "sensitivity",
    "shareable",
    "cites",
)
if sorted(_KEY_ATTRIBUTES) != sorted(CLASS_ATTRIBUTES):
    raise RuntimeError("the class key of deduplicate must cover exactly CLASS_ATTRIBUTES")


def deduplicate(decision_input: Mapping[str, Any]) -> FactClasses:
    """Group facts into classes; the engine input holds one representative per class.

    The class key is a tuple of the class attributes (publisher reduced to "is it the
    viewer's"), not their sorted JSON: a fact costs a tuple, not an encoding (ADR 0020).
    A string stands for itself in the key and any other value for its `_freeze` form (a
    tuple, never equal to a string), an absent attribute for `_ABSENT`: exactly as fine as
    freezing every value, with one call less per string. A fields mapping shared by several
    facts is frozen once, and enters the key as the number of its frozen form."""
    facts = _checked_facts(decision_input)
    viewer_partner = _viewer_partner(decision_input)
    class_by_key: dict[tuple[Any, ...], str] = {}
    representatives: dict[str, dict[str, Any]] = {}
    class_of: dict[str, str] = {}
    # a fields mapping enters the key as the number of its frozen form: equal forms, equal
    # numbers, and the key's hash does not walk the form again for every fact
    forms: dict[Any, int] = {}  # frozen form of a fields mapping -> its number
    form_of: dict[int, int] = {}  # id of a fields mapping -> the number of its frozen form
    absent = _ABSENT
    freeze = _freeze
    for fact_id, fact in facts.items():
        get = fact.get
        publisher = get("publisher", absent)
        fields = get("fields", absent)
        fields_part = form_of.get(id(fields), absent)
        if fields_part is absent and fields is not absent:
            fields_part = form_of[id(fields)] = forms.setdefault(freeze(fields), len(forms))
        kind = get("publisher_kind", absent)
        type_ = get("type", absent)
        domain = get("domain", absent)
        sensitivity = get("sensitivity", absent)
        shareable = get("shareable", absent)
        cites = get("cites", absent)
        key = (
            publisher is not absent and publisher == viewer_partner,
            fields_part,
            kind if type(kind) is str or kind is absent else freeze(kind),
            type_ if type(type_) is str or type_ is absent else freeze(type_),
            domain if type(domain) is str or domain is absent else freeze(domain),
            sensitivity
            if type(sensitivity) is str or sensitivity is absent
            else freeze(sensitivity),
            # a boolean as _freeze would give it, without the call (the usual value)
            (bool, shareable)
            if type(shareable) is bool
            else shareable
            if type(shareable) is str or shareable is absent
            else freeze(shareable),
            cites if type(cites) is str or cites is absent else freeze(cites),
        )
        class_id = class_by_key.get(key)
        if class_id is None:
            class_id = f"k{len(class_by_key)}"
            class_by_key[key] = class_id
            representatives[class_id] = _project(fact)
        class_of[fact_id] = class_id
    return FactClasses({**decision_input, "facts": representatives}, class_of)


def identity_classes(decision_input: Mapping[str, Any]) -> FactClasses:
    """One class per fact (projected all the same): to check that deduplication is exact."""
    facts = _checked_facts(decision_input)
    projected = {fact_id: _project(fact) for fact_id, fact in facts.items()}
    return FactClasses({**decision_input, "facts": projected}, {f: f for f in facts})


def parse_decisions(
    answer: Any, classes: FactClasses, policy_version: str
) -> dict[str, FactDecision]:
    """Check the engine's answer for every class and map it back to every fact id."""
    asked: Mapping[str, Mapping[str, Any]] = classes.engine_input["facts"]
    if not isinstance(answer, Mapping):
        raise PolicyError("policy answer for decisions is not an object")
    if set(answer) != set(asked):
        raise PolicyError(
            f"policy answer covers {len(set(answer) & set(asked))} of {len(asked)} facts"
            f" and {len(set(answer) - set(asked))} unknown ids"
        )
    viewer_partner = _viewer_partner(classes.engine_input)
    by_class = {
        class_id: _fact_decision(answer[class_id], fact, viewer_partner, policy_version)
        for class_id, fact in asked.items()
    }
    return {fact_id: by_class[class_id] for fact_id, class_id in classes.class_of.items()}


def _fact_decision(
    raw: Any, fact: Mapping[str, Any], viewer_partner: Any, policy_version: str
) -> FactDecision:
    if not _is_mapping(raw):
        raise PolicyError("policy decision is not an object")
    raw_level = raw.get("level")
    level = _LEVELS.get(raw_level) if isinstance(raw_level, str) else None
    if level is None:
        raise PolicyError("policy decision has an unknown level")
    fields = raw.get("fields")
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise PolicyError("policy decision fields are not a list of strings")
    reason, rule = raw.get("reason"), raw.get("rule")
    if not isinstance(reason, str) or not isinstance(rule, str) or not rule:
        raise PolicyError("policy decision lacks a reason or a rule name")
    known: Mapping[str, str] = fact.get("fields", {})
    released = set(fields)
    if len(released) != len(fields) or not released <= known.keys():
        raise PolicyError("policy decision releases fields the fact does not have")
    if fields and level in (DisclosureLevel.NONE, DisclosureLevel.EXISTENCE):
        raise PolicyError("policy decision releases fields at a level that shows no content")
    own = fact.get("publisher") == viewer_partner
    if not own and any(known[f] == _NEVER for f in fields):
        raise PolicyError("policy decision releases a never-shared field to a non-publisher")
    return FactDecision(level, tuple(sorted(fields)), reason, rule, policy_version)


#: the identity classes the hub knows how to open; anything else in an answer fails closed
IDENTITY_CLASSES = frozenset({"name", "date_of_birth", "address", "bsn", "reason"})


def parse_identity(answer: Any, policy_version: str) -> IdentityDecision:
    """Check an identity answer: classes (known ones, sorted, unique), a reason and a rule."""
    if not isinstance(answer, Mapping):
        raise PolicyError("policy answer for identity is not an object")
    classes, reason, rule = answer.get("classes"), answer.get("reason"), answer.get("rule")
    if (
        not isinstance(classes, list)
        or not all(isinstance(c, str) and c in IDENTITY_CLASSES for c in classes)
        or len(set(classes)) != len(classes)
        or not isinstance(reason, str)
        or not isinstance(rule, str)
    ):
        raise PolicyError("policy answer for identity is malformed")
    return IdentityDecision(tuple(sorted(classes)), reason, rule, policy_version)


def parse_verdict(answer: Any, policy_version: str, what: str) -> Verdict:
    """Check an allow_publish / allow_action answer: exactly a bool and a reason."""
    if not isinstance(answer, Mapping):
        raise PolicyError(f"policy answer for {what} is not an object")
    allowed, reason = answer.get("allowed"), answer.get("reason")
    if not isinstance(allowed, bool) or not isinstance(reason, str):
        raise PolicyError(f"policy answer for {what} is malformed")
    return Verdict(allowed, reason, policy_version)
