"""The METADATA annotations of the policy's rules: title, description and source.

Why: every decision names the rule that decided (`FactDecision.rule`). The matrix view and
the simulation show a privacy officer *why* by looking that rule up here, and a test holds
each rule to carrying a title, a description and a `custom.source` naming the Landelijk kader,
the Privacyconvenant / Handvat gegevensdeling, or the AVG article it implements.

The parser reads the subset of YAML that our annotations use (scalar `key: value`, folded
`key: >-` blocks, and the `custom:` mapping one level deep); OPA reads the same blocks as
YAML. Nothing here evaluates policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hub.rego.bundle import DEFAULT_POLICY_DIR, load_bundle, package_name

_RULE_HEAD = re.compile(r"^(?:default\s+)?([a-z_][a-z0-9_]*)\b")


@dataclass(frozen=True, slots=True)
class RuleAnnotation:
    """What a rule is for and where the rule comes from."""

    package: str
    name: str
    file: str
    line: int
    title: str
    description: str
    source: str
    custom: dict[str, str] = field(default_factory=dict)


def _parse_block(lines: list[str]) -> dict[str, str]:
    """Flatten a METADATA block to {"title": ..., "description": ..., "custom.source": ...}."""
    values: dict[str, str] = {}
    parent: str | None = None
    folding: str | None = None
    folding_indent = 0
    for raw in lines:
        stripped = raw.strip()
        if not stripped:
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if folding is not None and indent > folding_indent:
            values[folding] = f"{values[folding]} {stripped}".strip()
            continue
        folding = None
        key, _, value = stripped.partition(":")
        value = value.strip()
        if indent == 0:
            parent = None
        name = f"{parent}.{key}" if parent else key
        if not value and indent == 0:
            parent = key
        elif value in (">-", ">", "|", "|-"):
            values[name], folding, folding_indent = "", name, indent
        else:
            values[name] = value.strip("\"'")
    return values


def parse_annotations(path: str, text: str) -> list[RuleAnnotation]:
    """Each `# METADATA` block directly above a rule, as a RuleAnnotation."""
    package = package_name(text)
    lines = text.splitlines()
    found: list[RuleAnnotation] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != "# METADATA":
            index += 1
            continue
        block: list[str] = []
        index += 1
        while index < len(lines) and lines[index].startswith("#"):
            block.append(lines[index][1:].removeprefix(" "))
            index += 1
        head = _RULE_HEAD.match(lines[index]) if index < len(lines) else None
        if head is None or head.group(1) in ("package", "import"):
            continue  # a package annotation
        values = _parse_block(block)
        custom = {
            k.removeprefix("custom."): v for k, v in values.items() if k.startswith("custom.")
        }
        found.append(
            RuleAnnotation(
                package=package,
                name=head.group(1),
                file=path,
                line=index + 1,
                title=values.get("title", ""),
                description=values.get("description", ""),
                source=custom.get("source", ""),
                custom=custom,
            )
        )
    return found


def rule_annotations(policy_dir: Path = DEFAULT_POLICY_DIR) -> dict[str, RuleAnnotation]:
    """Annotations of the deciding modules, keyed by `package.rule` (e.g.
    `vhhub.disclosure.special_category_withheld`), first definition wins."""
    result: dict[str, RuleAnnotation] = {}
    for module in load_bundle(policy_dir).policy_modules:
        for annotation in parse_annotations(module.path, module.text):
            result.setdefault(f"{annotation.package}.{annotation.name}", annotation)
    return result
