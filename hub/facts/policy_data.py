"""The policy's fact-type catalogue, generated from the fact-type schemas (ADR 0201).

The Rego policy reads ``data.vhhub.fact_types`` from ``<policy dir>/data/fact_types.json``:
per fact type its title, life domain (``"*"`` when each fact names its own), sensitivity, the
fields it never shares, and the summary fields that reveal a diagnosis, an offence category or
a procedural role (``reveals``, from ``x-reveals``: left out of summaries for partners without
a care or justice task, ADR 0104). The schemas in ``schemas/`` are the one source of all of it; this
module turns a loaded ``FactTypeCatalog`` into that document, renders it as the file, and
says which types a policy directory's file has drifted on.

``vhhub policy data`` writes the file, ``vhhub policy data --check`` (CI) and
``vhhub policy bundle`` refuse a directory whose file says something the schemas do not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from hub.facts.catalog import FactType, FactTypeCatalog

__all__ = [
    "ANY_DOMAIN",
    "POLICY_DATA_FILE",
    "policy_data_drift",
    "policy_fact_type",
    "policy_fact_types",
    "render_policy_fact_types",
]

#: Where the document lives inside a policy directory (``data.vhhub.fact_types``).
POLICY_DATA_FILE: Final = Path("data") / "fact_types.json"

#: The policy data's domain for a type whose facts each name their own (``x-domain-field``).
ANY_DOMAIN: Final = "*"


def policy_fact_type(fact_type: FactType) -> dict[str, Any]:
    """One type's entry: title, domain, sensitivity, never-shared and revealing fields."""
    return {
        "title": fact_type.policy_title,
        "domain": ANY_DOMAIN if fact_type.domain_field is not None else fact_type.life_domain.value,
        "sensitivity": fact_type.sensitivity.value,
        # An object, not a list: the policy looks a field up and never searches (ADR 0102).
        "never_shared": {
            name: True
            for name, spec in sorted(fact_type.fields.items())
            if spec.policy_never_shared
        },
        "reveals": dict(sorted(fact_type.revealing_fields().items())),
        "sensitivity_stated": fact_type.sensitivity_stated,
    }


def policy_fact_types(catalog: FactTypeCatalog) -> dict[str, Any]:
    """The whole document ``data/fact_types.json`` must hold, keyed by fact-type id."""
    return {fact_type.id: policy_fact_type(fact_type) for fact_type in catalog.types()}


def render_policy_fact_types(catalog: FactTypeCatalog) -> str:
    """The file's text: sorted keys, two-space indent, UTF-8 as is, one trailing newline.

    The same catalog always renders to the same bytes, so the policy version (a hash over the
    policy files) moves only when a schema annotation the policy reads moves.
    """
    document = policy_fact_types(catalog)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def policy_data_drift(catalog: FactTypeCatalog, policy_dir: Path) -> list[str]:
    """One line per fact type whose entry in ``policy_dir``'s file differs from its schemas.

    Lines name the type and, where both exist, the keys that differ; never a value. A missing,
    unreadable or non-object file is one line naming the file. Empty: in line. The comparison
    is on the parsed content, so a reformatted but equal file is in line.
    """
    path = policy_dir / POLICY_DATA_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{path}: missing"]
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: unreadable ({type(exc).__name__})"]
    try:
        committed: object = json.loads(text)
    except ValueError as exc:
        return [f"{path}: unreadable ({type(exc).__name__})"]
    if not isinstance(committed, dict):
        return [f"{path}: not a JSON object"]

    expected = policy_fact_types(catalog)
    lines: list[str] = []
    for type_id in sorted(expected.keys() | committed.keys()):
        if type_id not in committed:
            lines.append(f"{type_id}: has a schema but no entry")
        elif type_id not in expected:
            lines.append(f"{type_id}: has an entry but no schema")
        else:
            entry, wanted = committed[type_id], expected[type_id]
            if not isinstance(entry, dict):
                lines.append(f"{type_id}: entry is not an object")
            elif entry != wanted:
                keys = _differing_keys(entry, wanted)
                verb = "differs" if len(keys) == 1 else "differ"
                lines.append(f"{type_id}: {', '.join(keys)} {verb} from the schemas")
    return lines


def _differing_keys(entry: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    missing = object()
    return sorted(
        key
        for key in entry.keys() | wanted.keys()
        if entry.get(key, missing) != wanted.get(key, missing)
    )
