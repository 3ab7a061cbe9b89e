"""The package structure as contracts (pyproject.toml [tool.importlinter]) and no import
cycles between hub modules, TYPE_CHECKING imports included: a service that reaches for the
whole context, or an engine interface that imports its implementations, fails here."""

from __future__ import annotations

import sys

import grimp
from importlinter.application.use_cases import SUCCESS, lint_imports
from importlinter.configuration import configure

from hub.settings import PROJECT_ROOT


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_import_cycles_between_hub_modules() -> None:
    # no cache: grimp would write .grimp_cache into the repository while other tests (the
    # walkthrough's "writes nothing into the repository") look at it
    graph = grimp.build_graph("hub", include_external_packages=False, cache_dir=None)
    assert _cycles(graph) == []


def test_a_cycle_would_be_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("hub.context", "hub.cases.intake", "hub.rego.engine"):
        graph.add_module(module)
    graph.add_import(importer="hub.context", imported="hub.cases.intake")
    graph.add_import(importer="hub.cases.intake", imported="hub.context")
    assert _cycles(graph) == [["hub.cases.intake", "hub.context"]]


def test_the_import_contracts_hold() -> None:
    configure()
    outcome = lint_imports(config_filename=str(PROJECT_ROOT / "pyproject.toml"), cache_dir=None)
    assert outcome == SUCCESS, "run `lint-imports` to see the broken contract"
