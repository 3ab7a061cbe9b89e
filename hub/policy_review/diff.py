"""The diff of two policy versions: every grid cell whose decision changes, in words.

Why the engine and not a text diff: a policy version is data *and* logic. Diffing the JSON
would miss a changed rule (a cap dropped, a check reordered) and would list edits that change
nothing (a profile renamed everywhere). So both versions are asked the same questions, with
the real engine, over the whole grid of table x viewer (partner kind or role family) x phase
x purpose x fact (type, life domain, shareable or not, published by the viewer or not), and
only the answers are compared: level and released fields.

Why the purpose axis is pruned: with regorus a decision costs a few tenths of a millisecond
per fact, and one purpose more per phase adds ~30,000 decisions per version. Per table and
phase the grid asks every purpose either version could tell apart there - the purposes that
fit the phase (``network.phase_purposes``), the audit purposes, those named in the table's
matrix cells for that phase, and any purpose written as a literal in the disclosure modules
(or the packages they use) - plus one *sentinel* purpose that neither names. Every other
purpose reaches the policy as a value it has no key or literal for, so it is decided like
the sentinel (ADR 0103 records the one way around that: string built-ins on the purpose).
`exhaustive=True` asks all nine anyway.

Why worker processes: regorus holds the GIL while it evaluates, so a diff in the serving
process would slow every other request; two spawned workers use the other core and keep the
hub responsive. Why answers are cached per version: a version is content-addressed, so its
answers never change, and the active version is compared against every new candidate.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Final

from hub.facts.catalog import FactTypeCatalog
from hub.gate import inputs
from hub.logging import get_logger
from hub.policy_review.simulate import (
    DescribedViewer,
    FactMeta,
    default_publisher_kind,
    policy_domain,
    synthetic_case,
)
from hub.policy_review.store import files_of_bundle
from hub.policy_review.versions import ReviewedVersion
from hub.rego.bundle import PolicyFile
from hub.rego.errors import PolicyError
from hub.vocabulary import LifeDomain, PartnerKind, Phase, Purpose, TableId

log = get_logger("hub.policy_review.diff")

LEVEL_RANK: Final = {"none": 0, "existence": 1, "summary": 2, "full": 3}
VARIANTS: Final = ("plain", "shareable", "own")
GRID_PARTNER: Final = "grid-viewer"

#: (level, released fields, rule)
Outcome = tuple[str, tuple[str, ...], str]
#: (table, phase, purpose, viewer key)
ContextKey = tuple[str, str, str, str]

#: Told how far the engines are: (contexts answered so far, contexts to answer), counted over
#: both versions and only for contexts not already cached. It only watches: the answers are
#: the same with or without it.
DiffProgress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default `DiffProgress`: nobody is watching."""


@dataclass(frozen=True)
class GridViewer:
    """One viewer of the grid: a participant of a kind, a role family, or an outsider."""

    key: str
    family: str
    viewer: DescribedViewer
    label: str


@dataclass(frozen=True)
class GridFact:
    key: str
    type: str
    domain: str
    variant: str
    meta: FactMeta


@dataclass(frozen=True)
class Grid:
    """What both versions are asked: contexts and, in each, the same facts."""

    viewers: tuple[GridViewer, ...]
    facts: tuple[GridFact, ...]
    contexts: tuple[ContextKey, ...]
    sentinels: dict[tuple[str, str], str]

    @property
    def fingerprint(self) -> str:
        return "|".join(f.key for f in self.facts) + "#" + ",".join(v.key for v in self.viewers)


@dataclass(frozen=True)
class TypeChange:
    type: str
    fields_added: tuple[str, ...]
    fields_removed: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One consequence of the new version, for one viewer in one context."""

    table: str
    phase: str
    purpose: str
    viewer: str
    viewer_label: str
    scope: str  # "domain" (every fact of the domain alike) | "fact_type"
    domain: str
    fact_type: str | None
    variants: tuple[str, ...]
    old_level: str
    new_level: str
    old_rule: str
    new_rule: str
    types: tuple[TypeChange, ...]

    @property
    def direction(self) -> str:
        old, new = LEVEL_RANK.get(self.old_level, 0), LEVEL_RANK.get(self.new_level, 0)
        if new != old:
            return "more" if new > old else "less"
        added = any(t.fields_added for t in self.types)
        removed = any(t.fields_removed for t in self.types)
        return "more" if added and not removed else "less" if removed and not added else "other"

    @property
    def text(self) -> str:
        purpose = "" if self.purpose == self.phase else f", doel {self.purpose}"
        subject = self.domain if self.scope == "domain" else f"{self.fact_type} ({self.domain})"
        head = f"Tafel {self.table}, fase {self.phase}{purpose}, {self.viewer_label}: {subject}"
        if self.old_level != self.new_level:
            body = f" van {self.old_level} naar {self.new_level}"
        else:
            added = sorted({f for t in self.types for f in t.fields_added})
            removed = sorted({f for t in self.types for f in t.fields_removed})
            parts = []
            if added:
                parts.append(f"velden erbij: {', '.join(added)}")
            if removed:
                parts.append(f"velden eraf: {', '.join(removed)}")
            body = f" blijft {self.new_level}; " + "; ".join(parts)
        return head + body + _variant_note(self.variants)


def _variant_note(variants: Sequence[str]) -> str:
    kinds = set(variants)
    if kinds >= {"plain", "shareable"}:
        return ""
    if kinds == {"shareable"}:
        return " (alleen feiten die de publiceerder deelbaar markeerde)"
    if kinds == {"plain"}:
        return " (alleen feiten die niet deelbaar zijn gemarkeerd)"
    if kinds == {"own"}:
        return " (alleen de eigen feiten van de kijker)"
    return f" ({', '.join(sorted(kinds))})"


@dataclass
class DiffResult:
    old: str
    new: str
    changes: list[Change]
    contexts: int
    decisions: int
    reason_only: int
    sentinels: dict[tuple[str, str], str] = field(default_factory=dict)
    exhaustive: bool = False


# --- the grid -----------------------------------------------------------------------------


def _keys(*versions: ReviewedVersion, path: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for reviewed in versions:
        node: Any = reviewed.data
        for part in path:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            out.update(str(k) for k in node)
    return out


def _ordered(keys: Iterable[str], vocabulary: Sequence[str]) -> list[str]:
    keys = set(keys)
    return [k for k in vocabulary if k in keys] + sorted(keys - set(vocabulary))


def _kind_title(versions: Sequence[ReviewedVersion], kind: str) -> str:
    for reviewed in versions:
        entry = reviewed.data.get("network", {}).get("partner_kinds", {}).get(kind)
        if isinstance(entry, dict) and isinstance(entry.get("title"), str):
            return str(entry["title"])
    return kind


def grid_viewers(versions: Sequence[ReviewedVersion]) -> tuple[GridViewer, ...]:
    """Every partner kind as an invited participant, the three role families, an outsider."""
    kinds = _ordered(
        _keys(*versions, path=("network", "partner_kinds")) | {k.value for k in PartnerKind},
        [k.value for k in PartnerKind],
    )
    out = [
        GridViewer(
            kind,
            "participant",
            DescribedViewer(kind, ("participant", "publisher"), partner=GRID_PARTNER),
            f"{_kind_title(versions, kind)} ({kind})",
        )
        for kind in kinds
    ]
    zvh = _kind_title(versions, "zvh_staff")
    municipality = _kind_title(versions, "municipality")
    housing = _kind_title(versions, "housing")
    out += [
        GridViewer(
            "procesregisseur",
            "procesregisseur",
            DescribedViewer("zvh_staff", ("procesregisseur",), partner=GRID_PARTNER),
            f"procesregisseur ({zvh})",
        ),
        GridViewer(
            "casusregisseur",
            "casusregisseur",
            DescribedViewer("municipality", ("casusregisseur",), partner=GRID_PARTNER),
            f"casusregisseur ({municipality})",
        ),
        GridViewer(
            "auditor",
            "auditor",
            DescribedViewer("zvh_staff", ("auditor",), partner=GRID_PARTNER),
            f"auditor ({zvh})",
        ),
        GridViewer(
            "outsider",
            "outsider",
            DescribedViewer("housing", ("participant",), partner=GRID_PARTNER, invited=False),
            f"niet uitgenodigde partner ({housing})",
        ),
    ]
    return tuple(out)


def grid_facts(
    catalog: FactTypeCatalog, versions: Sequence[ReviewedVersion]
) -> tuple[GridFact, ...]:
    """Per catalog type (and per life domain for a "*" type): plain, shareable and own."""
    out: list[GridFact] = []
    domains = [d.value for d in LifeDomain]
    for fact_type in catalog.types():
        generic = any(policy_domain(v, fact_type.id) == "*" for v in versions)
        kind = default_publisher_kind(fact_type)
        for domain in domains if generic else [fact_type.life_domain.value]:
            for variant in VARIANTS:
                own = variant == "own"
                meta = FactMeta(
                    type=fact_type.id,
                    title=fact_type.title,
                    domain=domain,
                    sensitivity=fact_type.sensitivity.value,
                    publisher=GRID_PARTNER if own else f"grid-publisher-{kind}",
                    publisher_kind=kind,
                    shareable=variant == "shareable",
                    published_by_viewer=own,
                    fields=fact_type.disclosure_classes(),
                )
                out.append(
                    GridFact(
                        f"{fact_type.id}|{domain}|{variant}", fact_type.id, domain, variant, meta
                    )
                )
    return tuple(out)


_LITERAL = re.compile(r'"([a-z_]+)"')
_PACKAGE_REF = re.compile(r"data\.vhhub\.([a-z_][a-z0-9_]*)")
DECIDING_PACKAGE: Final = "vhhub.disclosure"


def _disclosure_modules(reviewed: ReviewedVersion) -> list[str]:
    """The texts of the disclosure package and every package it refers to, transitively."""
    by_package: dict[str, list[str]] = defaultdict(list)
    for module in reviewed.bundle.policy_modules:
        for line in module.text.splitlines():
            if line.startswith("package "):
                by_package[line.removeprefix("package ").strip()].append(module.text)
                break
    seen: set[str] = set()
    todo = [DECIDING_PACKAGE]
    texts: list[str] = []
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for text in by_package.get(package, []):
            texts.append(text)
            todo += [f"vhhub.{name}" for name in _PACKAGE_REF.findall(text)]
    return texts


def _literal_purposes(versions: Sequence[ReviewedVersion]) -> set[str]:
    """Purposes written as string literals in the deciding modules of either version."""
    purposes = {p.value for p in Purpose}
    found: set[str] = set()
    for reviewed in versions:
        for text in _disclosure_modules(reviewed):
            found.update(m for m in _LITERAL.findall(text) if m in purposes)
    return found


def grid_contexts(
    versions: Sequence[ReviewedVersion],
    viewers: Sequence[GridViewer],
    *,
    table: str | None = None,
    exhaustive: bool = False,
) -> tuple[tuple[ContextKey, ...], dict[tuple[str, str], str]]:
    """The contexts to ask, and per (table, phase) the sentinel standing for other purposes."""
    tables = _ordered(
        _keys(*versions, path=("network", "tables")) | _keys(*versions, path=("matrix",)),
        [t.value for t in TableId],
    )
    if table is not None:
        tables = [t for t in tables if t == table]
    phases = _ordered(
        _keys(*versions, path=("network", "phases")) | {p.value for p in Phase},
        [p.value for p in Phase],
    )
    all_purposes = [p.value for p in Purpose]
    literal = _literal_purposes(versions)
    audit = _keys(*versions, path=("network", "audit_purposes"))
    contexts: list[ContextKey] = []
    sentinels: dict[tuple[str, str], str] = {}
    for table_id in tables:
        rows = _keys(*versions, path=("matrix", table_id))
        for phase in phases:
            if exhaustive:
                purposes = list(all_purposes)
            else:
                named = set(literal) | audit
                named |= _keys(*versions, path=("network", "phase_purposes", phase))
                for row in rows:
                    named |= _keys(*versions, path=("matrix", table_id, row, phase))
                purposes = [p for p in all_purposes if p in named]
                purposes += sorted(named - set(all_purposes))
                sentinel = next((p for p in all_purposes if p not in named), None)
                if sentinel is not None:
                    purposes.append(sentinel)
                    sentinels[(table_id, phase)] = sentinel
            for purpose in purposes:
                for viewer in viewers:
                    contexts.append((table_id, phase, purpose, viewer.key))
    return tuple(contexts), sentinels


def build_grid(
    catalog: FactTypeCatalog,
    versions: Sequence[ReviewedVersion],
    *,
    table: str | None = None,
    exhaustive: bool = False,
) -> Grid:
    viewers = grid_viewers(versions)
    contexts, sentinels = grid_contexts(versions, viewers, table=table, exhaustive=exhaustive)
    return Grid(viewers, grid_facts(catalog, versions), contexts, sentinels)


# --- evaluation, cached per version -------------------------------------------------------


class GridAnswers:
    """Per version and grid fingerprint: context -> fact key -> outcome. Thread-safe."""

    def __init__(self, capacity: int = 4) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, str], dict[ContextKey, dict[str, Outcome]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def answers(
        self,
        versions: Sequence[ReviewedVersion],
        grid: Grid,
        *,
        progress: DiffProgress = no_progress,
    ) -> list[dict[ContextKey, dict[str, Outcome]]]:
        """Every context of `grid` for each version, evaluating only what is not cached."""
        jobs: list[tuple[ReviewedVersion, list[ContextKey]]] = []
        stores: list[dict[ContextKey, dict[str, Outcome]]] = []
        with self._lock:
            for reviewed in versions:
                key = (reviewed.version, grid.fingerprint)
                known = self._items.setdefault(key, {})
                self._items.move_to_end(key)
                stores.append(known)
                missing = [c for c in grid.contexts if c not in known]
                if missing and all(j[0].version != reviewed.version for j in jobs):
                    jobs.append((reviewed, missing))
            while len(self._items) > max(self._capacity, len(versions)):
                self._items.popitem(last=False)
        fresh_answers = evaluate_jobs(jobs, grid, progress=progress)
        for (reviewed, _), fresh in zip(jobs, fresh_answers, strict=True):
            with self._lock:
                self._items.setdefault((reviewed.version, grid.fingerprint), {}).update(fresh)
                for store, version in zip(stores, versions, strict=True):
                    if version.version == reviewed.version:
                        store.update(fresh)
        with self._lock:
            return [{c: store[c] for c in grid.contexts} for store in stores]


#: One cache per process: the review tools of every request and every CLI call share it.
GRID_ANSWERS = GridAnswers()

#: Worker processes for grid evaluation. regorus holds the GIL while it evaluates, so
#: threads would not help; processes use the other cores and leave the serving process
#: responsive. 0 evaluates in the calling thread.
WORKERS = min(2, os.cpu_count() or 1)
#: Below this many contexts a worker's start-up costs more than it saves.
MIN_CONTEXTS_FOR_WORKERS: Final = 200

_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            # spawn: the serving process has threads (and per-thread engines) a fork would copy
            _POOL = ProcessPoolExecutor(max_workers=WORKERS, mp_context=get_context("spawn"))
        return _POOL


def _discard_pool() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
            _POOL = None


#: With a progress callback, each worker's share is cut into this many parts, so the count
#: moves while the workers run (a part is a few hundred contexts, still worth a round trip).
PROGRESS_PARTS_PER_WORKER: Final = 8


class _Count:
    """The running total behind a `DiffProgress` callback."""

    def __init__(self, progress: DiffProgress, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        progress(0, total)

    def add(self, contexts: int = 1) -> None:
        self.done += contexts
        self.progress(self.done, self.total)


def evaluate_jobs(
    jobs: Sequence[tuple[ReviewedVersion, Sequence[ContextKey]]],
    grid: Grid,
    *,
    progress: DiffProgress = no_progress,
) -> list[dict[ContextKey, dict[str, Outcome]]]:
    """Each job's contexts under its version; in worker processes when it pays off."""
    total = sum(len(contexts) for _, contexts in jobs)
    if WORKERS < 2 or total < MIN_CONTEXTS_FOR_WORKERS:
        return _evaluate_here(jobs, grid, _Count(progress, total))
    pieces = max(1, WORKERS // max(1, len(jobs)))
    if progress is not no_progress:
        pieces *= PROGRESS_PARTS_PER_WORKER
    try:
        pool = _pool()
        futures: dict[Future[dict[ContextKey, dict[str, Outcome]]], tuple[int, int]] = {}
        for index, (reviewed, contexts) in enumerate(jobs):
            files = files_of_bundle(reviewed.bundle)
            for part in _split(contexts, pieces):
                future = pool.submit(_evaluate_in_worker, reviewed.version, files, grid, part)
                futures[future] = (index, len(part))
        counted = _Count(progress, total)
        out: list[dict[ContextKey, dict[str, Outcome]]] = [{} for _ in jobs]
        for future in as_completed(futures):
            index, size = futures[future]
            out[index].update(future.result())
            counted.add(size)
        return out
    except (BrokenProcessPool, OSError) as exc:
        log.warning("grid_workers_unavailable", error_type=type(exc).__name__)
        _discard_pool()
        return _evaluate_here(jobs, grid, _Count(progress, total))


def _evaluate_here(
    jobs: Sequence[tuple[ReviewedVersion, Sequence[ContextKey]]], grid: Grid, counted: _Count
) -> list[dict[ContextKey, dict[str, Outcome]]]:
    return [evaluate(reviewed, grid, contexts, step=counted.add) for reviewed, contexts in jobs]


def _split(items: Sequence[ContextKey], pieces: int) -> list[list[ContextKey]]:
    size = -(-len(items) // pieces)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


#: In a worker process: the versions it has been sent, by version hash.
_WORKER_VERSIONS: dict[str, ReviewedVersion] = {}


def _evaluate_in_worker(
    version: str, files: tuple[PolicyFile, ...], grid: Grid, contexts: list[ContextKey]
) -> dict[ContextKey, dict[str, Outcome]]:
    reviewed = _WORKER_VERSIONS.get(version)
    if reviewed is None:
        reviewed = ReviewedVersion.from_files(files)
        if reviewed.version != version:
            raise PolicyError("the files sent to the worker are not the expected version")
        _WORKER_VERSIONS.clear()  # a worker keeps one or two versions, not a history
        _WORKER_VERSIONS[version] = reviewed
    return evaluate(reviewed, grid, contexts)


def _no_step() -> None:
    return None


def evaluate(
    reviewed: ReviewedVersion,
    grid: Grid,
    contexts: Sequence[ContextKey],
    *,
    step: Callable[[], None] = _no_step,
) -> dict[ContextKey, dict[str, Outcome]]:
    """Ask `reviewed`'s engine every context in one batch of all grid facts each; `step` is
    called after each context (progress)."""
    viewers = {v.key: v for v in grid.viewers}
    facts = {f.key: f.meta.policy_input() for f in grid.facts}
    interned: dict[Outcome, Outcome] = {}
    out: dict[ContextKey, dict[str, Outcome]] = {}
    for context in contexts:
        table, phase, purpose, viewer_key = context
        described = viewers[viewer_key].viewer
        decisions = reviewed.engine.decide_batch(
            inputs.decisions_input(
                described.policy_input(), purpose, synthetic_case(table, phase, described), facts
            )
        )
        answers: dict[str, Outcome] = {}
        for fact_key, decision in decisions.items():
            outcome: Outcome = (decision.level.value, decision.fields, decision.rule)
            answers[fact_key] = interned.setdefault(outcome, outcome)
        out[context] = answers
        step()
    return out


# --- comparison ---------------------------------------------------------------------------


def diff_versions(
    old: ReviewedVersion,
    new: ReviewedVersion,
    catalog: FactTypeCatalog,
    *,
    table: str | None = None,
    exhaustive: bool = False,
    answers: GridAnswers = GRID_ANSWERS,
    progress: DiffProgress = no_progress,
) -> DiffResult:
    """Every grid cell whose level or released fields differ between `old` and `new`.

    `progress` is told how many grid contexts the engines have answered (`DiffProgress`);
    the comparison after that takes a fraction of the time."""
    grid = build_grid(catalog, [old, new], table=table, exhaustive=exhaustive)
    before, after = answers.answers([old, new], grid, progress=progress)
    labels = {v.key: v.label for v in grid.viewers}
    facts = {f.key: f for f in grid.facts}
    changes: list[Change] = []
    reason_only = 0
    for context in grid.contexts:
        was, now = before[context], after[context]
        changed: dict[str, tuple[Outcome, Outcome]] = {}
        for fact_key, old_outcome in was.items():
            new_outcome = now[fact_key]
            if old_outcome[:2] != new_outcome[:2]:
                changed[fact_key] = (old_outcome, new_outcome)
            elif old_outcome[2] != new_outcome[2]:
                reason_only += 1
        if changed:
            changes += _describe(context, labels[context[3]], changed, was, facts)
    decisions = len(grid.contexts) * len(grid.facts)
    return DiffResult(
        old.version,
        new.version,
        changes,
        len(grid.contexts),
        decisions,
        reason_only,
        grid.sentinels,
        exhaustive,
    )


def _describe(
    context: ContextKey,
    label: str,
    changed: Mapping[str, tuple[Outcome, Outcome]],
    asked: Mapping[str, Outcome],
    facts: Mapping[str, GridFact],
) -> list[Change]:
    """Group one context's changed facts: a whole life domain when every fact of it moved
    alike, else per fact type; then merge variants that changed the same way."""
    table, phase, purpose, viewer = context
    by_domain_variant: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fact_key in asked:
        fact = facts[fact_key]
        by_domain_variant[(fact.domain, fact.variant)].append(fact_key)
    records: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for (domain, variant), keys in by_domain_variant.items():
        moved = [k for k in keys if k in changed]
        if not moved:
            continue
        levels = {(changed[k][0][0], changed[k][1][0]) for k in moved}
        if len(moved) == len(keys) and len(levels) == 1:
            (old_level, new_level) = levels.pop()
            rules = (changed[moved[0]][0][2], changed[moved[0]][1][2])
            types = tuple(_type_change(facts[k].type, *changed[k]) for k in sorted(moved))
            records[("domain", domain, None, old_level, new_level, rules, types)].append(variant)
        else:
            for k in sorted(moved):
                before, after = changed[k]
                types = (_type_change(facts[k].type, before, after),)
                record = (
                    "fact_type",
                    domain,
                    facts[k].type,
                    before[0],
                    after[0],
                    (before[2], after[2]),
                    types,
                )
                records[record].append(variant)
    out = []
    for (scope, domain, fact_type, old_level, new_level, rules, types), variants in records.items():
        out.append(
            Change(
                table=table,
                phase=phase,
                purpose=purpose,
                viewer=viewer,
                viewer_label=label,
                scope=scope,
                domain=domain,
                fact_type=fact_type,
                variants=tuple(v for v in VARIANTS if v in variants),
                old_level=old_level,
                new_level=new_level,
                old_rule=rules[0],
                new_rule=rules[1],
                types=types,
            )
        )
    return out


def _type_change(type_id: str, before: Outcome, after: Outcome) -> TypeChange:
    return TypeChange(
        type=type_id,
        fields_added=tuple(sorted(set(after[1]) - set(before[1]))),
        fields_removed=tuple(sorted(set(before[1]) - set(after[1]))),
    )


def render_text(result: DiffResult) -> str:
    lines = [
        f"policy diff {result.old[:12]} -> {result.new[:12]}: {len(result.changes)} changes "
        f"({sum(c.direction == 'more' for c in result.changes)} show more, "
        f"{sum(c.direction == 'less' for c in result.changes)} show less)",
        f"asked {result.contexts} contexts, {result.decisions} decisions per version"
        + ("" if result.exhaustive else "; other purposes per phase stood in by a sentinel"),
        "",
    ]
    for change in result.changes:
        marker = {"more": "+", "less": "-"}.get(change.direction, "~")
        lines.append(f"{marker} {change.text}")
        if change.scope == "domain":
            lines.append(f"    fact types: {', '.join(t.type for t in change.types)}")
    if not result.changes:
        lines.append("No decision changes: every viewer sees exactly the same under both versions.")
    return "\n".join(lines) + "\n"
