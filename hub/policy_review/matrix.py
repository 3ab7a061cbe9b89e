"""The disclosure matrix as a privacy officer reads it: per table, viewers by phase.

Why this reads the data rather than asking the engine: the matrix *is* the data a privacy
officer reviews and changes (policies/README.md); the view shows it with the levels each
profile gives per life domain, the never-shared fields, and the annotated rules that apply
on top (title and `custom.source`). What a viewer finally gets, caps included, is the
simulation's and the diff's business: those ask the real engine.

Why the categories and revealing fields are listed apart from the cells: whether a fact is
special-category or criminal-law data follows from its type *and* the kind of partner that
published it (ADR 0104), not from the cell; the view names, per publisher kind, the category
its facts carry, and per fact type the fields a summary leaves out for a partner without a
care or justice task, next to the rules (with their sources) that apply them to a row.

Why the markdown is laid out like this: a cell names the base level and the life domains
that differ from it ("s; F ho fi sa"), so a row stays one line; phase columns wrap into a
second table when they would not fit the width (100 columns by default, a terminal's).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hub.policy_review.versions import ReviewedVersion
from hub.rego.annotations import RuleAnnotation
from hub.vocabulary import LifeDomain, PartnerKind, Phase

LEVELS: Final = ("none", "existence", "summary", "full")
LEVEL_CODES: Final = {"none": "-", "existence": "e", "summary": "s", "full": "F"}
DOMAIN_CODES: Final = {
    "housing": "ho",
    "finances": "fi",
    "work_daytime": "wd",
    "mental_health": "mh",
    "physical_health": "ph",
    "addiction": "ad",
    "justice": "ju",
    "family_relations": "fr",
    "parenting": "pa",
    "safety": "sa",
    "social_network": "sn",
}
ROLE_ROWS: Final = ("procesregisseur", "casusregisseur", "auditor")

#: The generic rules behind every matrix cell, and those that depend on the row.
_COMMON_RULES: Final = (
    "vhhub.disclosure.fact_is_special",
    "vhhub.disclosure.fact_is_criminal",
    "vhhub.disclosure.matrix_grant",
    "vhhub.disclosure.matrix_grants_nothing",
    "vhhub.disclosure.purpose_does_not_fit_phase",
    "vhhub.disclosure.case_closed_withheld",
    "vhhub.disclosure.fact_not_in_catalogue",
    "vhhub.disclosure.released_fields",
)
_ROW_RULES: Final = {
    "participant": ("vhhub.common.is_participant", "vhhub.disclosure.publisher_sees_own"),
    "procesregisseur": ("vhhub.common.is_procesregisseur",),
    "casusregisseur": ("vhhub.common.is_casusregisseur",),
    "auditor": ("vhhub.common.acts_as_auditor", "vhhub.disclosure.auditor_sees_existence_only"),
}
SPECIAL_CAP: Final = "vhhub.disclosure.special_category_withheld"
SPECIAL_TASK_CAP: Final = "vhhub.disclosure.special_category_outside_care_and_justice"
CRIMINAL_CAP: Final = "vhhub.disclosure.criminal_data_outside_justice_chain"
REVEALING: Final = "vhhub.disclosure.revealing_field_withheld"
#: The rules that depend on the viewer's partner kind, in the order they are listed.
_KIND_RULES: Final = (SPECIAL_CAP, SPECIAL_TASK_CAP, CRIMINAL_CAP, REVEALING)


@dataclass(frozen=True)
class MatrixCell:
    """One (phase, purpose) cell of a row: the profile and what it gives per domain."""

    phase: str
    purpose: str
    profile: str
    known_profile: bool
    domains: dict[str, str]
    fact_types: dict[str, str]


@dataclass(frozen=True)
class MatrixRow:
    row: str
    family: str
    label: str
    cells: tuple[MatrixCell, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class MatrixTable:
    table: str
    title: str
    rows: tuple[MatrixRow, ...]


@dataclass(frozen=True)
class RuleNote:
    title: str
    description: str
    source: str


@dataclass(frozen=True)
class MatrixView:
    version: str
    life_domains: tuple[str, ...]
    phases: tuple[str, ...]
    tables: tuple[MatrixTable, ...]
    never_shared: dict[str, tuple[str, ...]]
    rules: dict[str, RuleNote] = field(default_factory=dict)
    #: publisher kind -> the category its facts carry at least (``special`` / ``criminal``)
    publisher_sensitivity: dict[str, str] = field(default_factory=dict)
    #: fact type -> {field: what it reveals}, left out of summaries for partners without a
    #: care or justice task
    reveals: dict[str, dict[str, str]] = field(default_factory=dict)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ordered(keys: Sequence[str], preferred: Sequence[str]) -> tuple[str, ...]:
    """`keys` in the vocabulary's order first, anything new after, alphabetically."""
    known = [k for k in preferred if k in keys]
    return tuple(known + sorted(k for k in keys if k not in preferred))


def _profile_levels(
    profile: Mapping[str, Any], domains: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    other = profile.get("other_domains")
    other_level = other if isinstance(other, str) else "none"
    by_domain = _obj(profile.get("domains"))
    levels = {d: str(by_domain.get(d, other_level)) for d in domains}
    fact_types = {str(k): str(v) for k, v in _obj(profile.get("fact_types")).items()}
    return levels, fact_types


def _row_family(row: str, kinds: Mapping[str, Any]) -> str:
    if row in ROLE_ROWS:
        return row
    return "participant" if row in kinds else "other"


def _row_rules(row: str, family: str, network: Mapping[str, Any]) -> tuple[str, ...]:
    rules = list(_COMMON_RULES) + list(_ROW_RULES.get(family, ()))
    capped = _obj(network.get("special_category_capped_kinds"))
    justice = _obj(network.get("justice_kinds"))
    care = _obj(network.get("care_kinds"))
    if family == "participant":
        if capped.get(row) is True:
            rules.append(SPECIAL_CAP)
        if care.get(row) is not True and justice.get(row) is not True:
            rules += [SPECIAL_TASK_CAP, REVEALING]
        if justice.get(row) is not True:
            rules.append(CRIMINAL_CAP)
    elif family in ("procesregisseur", "casusregisseur"):
        # the caps of the regisseur's own partner kind apply to these rows
        rules += list(_KIND_RULES)
    return tuple(rules)


def build_matrix(
    reviewed: ReviewedVersion, *, never_class_fields: Mapping[str, Sequence[str]] | None = None
) -> MatrixView:
    """The matrix view of one version. Defensive about shape: a strange cell shows as such.

    `never_class_fields`: fields the fact-type schemas mark `never` (hub.facts.catalog), shown
    with the policy's own never-shared fields.
    """
    data = reviewed.data
    network = _obj(data.get("network"))
    matrix = _obj(data.get("matrix"))
    profiles = _obj(data.get("profiles"))
    kinds = _obj(network.get("partner_kinds"))
    tables_meta = _obj(network.get("tables"))
    domains = _ordered(list(_obj(network.get("life_domains"))), [d.value for d in LifeDomain])
    phases = _ordered(list(_obj(network.get("phases"))), [p.value for p in Phase])
    row_order = [k.value for k in PartnerKind] + list(ROLE_ROWS)

    tables: list[MatrixTable] = []
    used_rules: set[str] = set()
    for table_id in _ordered(list(matrix), list(tables_meta)):
        rows: list[MatrixRow] = []
        table_rows = _obj(matrix.get(table_id))
        for row_id in _ordered(list(table_rows), row_order):
            family = _row_family(row_id, kinds)
            cells: list[MatrixCell] = []
            by_phase = _obj(table_rows.get(row_id))
            for phase in _ordered(list(by_phase), phases):
                by_purpose = _obj(by_phase.get(phase))
                purposes = sorted(by_purpose, key=lambda p: (p != phase, p))
                for purpose in purposes:
                    name = str(by_purpose[purpose])
                    profile = profiles.get(name)
                    if isinstance(profile, dict):
                        levels, type_levels = _profile_levels(profile, domains)
                        cells.append(MatrixCell(phase, purpose, name, True, levels, type_levels))
                    else:
                        cells.append(MatrixCell(phase, purpose, name, False, {}, {}))
            rules = tuple(
                r for r in _row_rules(row_id, family, network) if r in reviewed.annotations
            )
            used_rules.update(rules)
            title = _obj(kinds.get(row_id)).get("title")
            label = str(title) if isinstance(title, str) else row_id
            rows.append(MatrixRow(row_id, family, label, tuple(cells), rules))
        title = _obj(tables_meta.get(table_id)).get("title")
        tables.append(MatrixTable(table_id, str(title) if title else table_id, tuple(rows)))

    never: dict[str, tuple[str, ...]] = {}
    reveals: dict[str, dict[str, str]] = {}
    for type_id, entry in sorted(_obj(data.get("fact_types")).items()):
        names = set(_obj(_obj(entry).get("never_shared")))
        names |= set((never_class_fields or {}).get(type_id, ()))
        never[type_id] = tuple(sorted(names))
        revealing = _obj(_obj(entry).get("reveals"))
        if revealing:
            reveals[type_id] = {str(k): str(v) for k, v in sorted(revealing.items())}
    defaults = _obj(network.get("publisher_default_sensitivity"))
    by_publisher = {
        kind: str(defaults[kind])
        for kind in _ordered(list(defaults), [k.value for k in PartnerKind])
        if isinstance(defaults[kind], str)
    }

    order = [*_COMMON_RULES, *(r for rules in _ROW_RULES.values() for r in rules)]
    order += list(_KIND_RULES)
    notes = {
        rule: _note(reviewed.annotations[rule])
        for rule in sorted(used_rules, key=lambda r: (order.index(r) if r in order else 99, r))
    }
    return MatrixView(
        reviewed.version,
        domains,
        phases,
        tuple(tables),
        never,
        notes,
        publisher_sensitivity=by_publisher,
        reveals=reveals,
    )


def _note(annotation: RuleAnnotation) -> RuleNote:
    return RuleNote(annotation.title, annotation.description, annotation.source)


def only_table(view: MatrixView, table: str | None) -> MatrixView:
    if table is None:
        return view
    return MatrixView(
        view.version,
        view.life_domains,
        view.phases,
        tuple(t for t in view.tables if t.table == table),
        view.never_shared,
        view.rules,
        publisher_sensitivity=view.publisher_sensitivity,
        reveals=view.reveals,
    )


# --- JSON ---------------------------------------------------------------------------------


def to_json(view: MatrixView) -> dict[str, Any]:
    return {
        "version": view.version,
        "life_domains": list(view.life_domains),
        "phases": list(view.phases),
        "levels": list(LEVELS),
        "tables": [
            {
                "table": t.table,
                "title": t.title,
                "rows": [
                    {
                        "row": r.row,
                        "family": r.family,
                        "label": r.label,
                        "rules": list(r.rules),
                        "cells": [
                            {
                                "phase": c.phase,
                                "purpose": c.purpose,
                                "profile": c.profile,
                                "known_profile": c.known_profile,
                                "domains": c.domains,
                                "fact_types": c.fact_types,
                            }
                            for c in r.cells
                        ],
                    }
                    for r in t.rows
                ],
            }
            for t in view.tables
        ],
        "never_shared": {k: list(v) for k, v in view.never_shared.items()},
        "publisher_sensitivity": dict(view.publisher_sensitivity),
        "reveals": {k: dict(v) for k, v in view.reveals.items()},
        "rules": {
            k: {"title": n.title, "description": n.description, "source": n.source}
            for k, n in view.rules.items()
        },
    }


# --- markdown -----------------------------------------------------------------------------


def cell_text(cell: MatrixCell, domains: Sequence[str]) -> str:
    """ "s; F ho fi sa": the base level, then each other level with its domains."""
    if not cell.known_profile:
        return f"?{cell.profile}"
    levels = [cell.domains.get(d, "none") for d in domains]
    base = Counter(levels).most_common(1)[0][0] if levels else "none"
    parts = [LEVEL_CODES.get(base, base)]
    for level in LEVELS:
        if level == base:
            continue
        named = [DOMAIN_CODES.get(d, d) for d in domains if cell.domains.get(d) == level]
        if named:
            parts.append(f"{LEVEL_CODES[level]} {' '.join(named)}")
    text = "; ".join(parts)
    return text + "*" if cell.fact_types else text


def _row_cells(row: MatrixRow, phases: Sequence[str], domains: Sequence[str]) -> list[str]:
    out = []
    for phase in phases:
        cells = [c for c in row.cells if c.phase == phase]
        if not cells:
            out.append("-")
            continue
        texts = []
        for cell in cells:
            text = cell_text(cell, domains)
            texts.append(text if cell.purpose == phase else f"{cell.purpose}: {text}")
        out.append(" / ".join(texts))
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    widths = [max(w, 3) for w in widths]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(r) for r in rows
    ]


def _blocks(label_width: int, widths: list[int], width: int) -> list[list[int]]:
    """Phase column indices packed into tables no wider than `width`."""
    blocks: list[list[int]] = []
    current: list[int] = []
    used = 4 + label_width
    for index, w in enumerate(widths):
        if current and used + w + 3 > width:
            blocks.append(current)
            current, used = [], 4 + label_width
        current.append(index)
        used += w + 3
    if current:
        blocks.append(current)
    return blocks


def render_markdown(view: MatrixView, *, width: int = 100) -> str:
    lines = [
        f"# Disclosure matrix (policy version {view.version[:12]})",
        "",
        "Levels: `-` none, `e` existence, `s` summary, `F` full. A cell reads",
        '"base; other level and its life domains", e.g. `s; F ho fi sa` is summary on every',
        "domain except full on housing, finances and safety. `*`: the profile also names fact",
        "types (listed under the table). `audit: e` is a cell for another purpose than the phase.",
        "",
        *_wrap(
            "Life domains: "
            + ", ".join(f"{DOMAIN_CODES.get(d, d)} {d}" for d in view.life_domains)
            + ".",
            width,
            "",
        ),
        "",
    ]
    for table in view.tables:
        lines += [f"## Tafel {table.table}: {table.title}", ""]
        body = [[row.row, *_row_cells(row, view.phases, view.life_domains)] for row in table.rows]
        label_width = max([len("viewer"), *(len(r[0]) for r in body)])
        widths = [
            max([len(phase), *(len(r[i + 1]) for r in body)]) for i, phase in enumerate(view.phases)
        ]
        for block in _blocks(label_width, widths, width):
            header = ["viewer", *(view.phases[i] for i in block)]
            rows = [[r[0], *(r[i + 1] for i in block)] for r in body]
            lines += [*_md_table(header, rows), ""]
        exceptions = [
            f"- {row.row}, {cell.phase} ({cell.purpose}): "
            + ", ".join(f"{t} {LEVEL_CODES.get(v, v)}" for t, v in sorted(cell.fact_types.items()))
            for row in table.rows
            for cell in row.cells
            if cell.fact_types
        ]
        if exceptions:
            lines += ["Fact-type exceptions (`*`):", *exceptions, ""]
        unknown = sorted({c.profile for r in table.rows for c in r.cells if not c.known_profile})
        if unknown:
            lines += [f"Unknown profiles (grant nothing): {', '.join(unknown)}", ""]
    lines += _md_rules(view, width)
    lines += _md_categories(view, width)
    lines += ["## Never shared (only the publishing partner sees these fields)", ""]
    for type_id, names in view.never_shared.items():
        lines.append(f"- {type_id}: {', '.join(names) if names else '(none)'}")
    return "\n".join(lines).rstrip() + "\n"


def _md_categories(view: MatrixView, width: int) -> list[str]:
    """What makes a fact special or criminal besides its type, and what a summary leaves out."""
    lines: list[str] = []
    if view.publisher_sensitivity:
        lines += ["## Category by publisher (besides the fact type's own)", ""]
        lines += _wrap(
            "A fact is special-category (AVG art. 9) or criminal-law data (AVG art. 10) when "
            "its type is, or when a partner of this kind published it; both limits apply "
            "when both hold.",
            width,
            "",
        )
        lines.append("")
        for kind, category in view.publisher_sensitivity.items():
            lines.append(f"- {kind}: {category}")
        lines.append("")
    if view.reveals:
        lines += ["## Left out of summaries for partners without a care or justice task", ""]
        for type_id, fields in view.reveals.items():
            named = ", ".join(f"{name} ({what})" for name, what in fields.items())
            lines += _wrap(f"- {type_id}: {named}", width, "  ", first="")
        lines.append("")
    return lines


def _wrap(text: str, width: int, indent: str, *, first: str | None = None) -> list[str]:
    """Words of `text` in lines of at most `width`; `first` indents the first line."""
    out: list[str] = []
    current = ""
    lead = indent if first is None else first
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(lead) + len(candidate) > width and current:
            out.append(lead + current)
            current, lead = word, indent
        else:
            current = candidate
    if current:
        out.append(lead + current)
    return out


def _md_rules(view: MatrixView, width: int) -> list[str]:
    lines = ["## Rules that apply on top of the matrix", ""]
    rows = [r for t in view.tables for r in t.rows]
    everyone = {r.row for r in rows}
    kinds = {r.row for r in rows if r.family == "participant"}
    for rule, note in view.rules.items():
        applies = {r.row for r in rows if rule in r.rules}
        if applies == everyone:
            who = "all rows"
        elif applies == kinds:
            who = "every partner-kind row"
        else:
            who = ", ".join(sorted(applies))
        lines += _wrap(
            f"- `{rule.rsplit('.', 1)[-1]}`: {note.title} ({who}).", width, "  ", first=""
        )
        lines += _wrap(f"source: {note.source}", width, "  ")
    return [*lines, ""]


# --- HTML ---------------------------------------------------------------------------------

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"


def render_html(view: MatrixView) -> str:
    """The matrix as a standalone heat map (Jinja2, autoescaped): the same model the web
    page shows (hub.policy_review.heatmap), on one file with its own stylesheet."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from hub.policy_review.heatmap import LEVELS as HEAT_LEVELS
    from hub.policy_review.heatmap import dutch_words, heat_table
    from hub.policy_review.schemas import MatrixOut

    matrix = MatrixOut.model_validate(to_json(view))
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("matrix.html").render(
        version=matrix.version,
        domains=matrix.life_domains,
        levels=HEAT_LEVELS,
        tables=[heat_table(matrix, t) for t in matrix.tables],
        rules=matrix.rules,
        publisher_sensitivity=matrix.publisher_sensitivity,
        reveals=matrix.reveals,
        never_shared=matrix.never_shared,
        **dutch_words(),
    )
