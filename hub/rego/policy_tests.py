"""Run the policy's own `_test.rego` tests through the embedded engine, with rule coverage.

Why here and not only in pytest: a privacy officer approves a policy version, and the hub must
refuse to activate one whose tests fail. `run_policy_tests(policy_dir)` gives the lead one call
for that, and `vhhub policy test` prints the same report.

Test discovery follows OPA: every rule named `test_*` in a `*_test.rego` module is a test; it
passes when it evaluates to true. Coverage comes from regorus' own coverage report (lines
evaluated), mapped onto the non-test rules by their source spans.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.rego.bundle import DEFAULT_POLICY_DIR, PolicyBundle, PolicyFile, load_bundle
from hub.rego.embedded import engine_message, new_regorus_engine
from hub.rego.errors import PolicyError


@dataclass(frozen=True, slots=True)
class PolicyTestResult:
    """One test rule: `package.name`, whether it passed, and why not."""

    package: str
    name: str
    passed: bool
    error: str | None
    duration_ms: float

    @property
    def qualified_name(self) -> str:
        return f"{self.package}.{self.name}"


@dataclass(frozen=True, slots=True)
class RuleCoverage:
    """Whether any line of a (non-test) rule was evaluated while the tests ran."""

    file: str
    package: str
    name: str
    line: int
    exercised: bool


@dataclass(frozen=True, slots=True)
class TestReport:
    """The outcome of a policy test run for one policy version."""

    __test__ = False  # not a pytest test class, despite the name

    policy_version: str
    results: tuple[PolicyTestResult, ...]
    coverage: tuple[RuleCoverage, ...]

    @property
    def passed(self) -> bool:
        """True when there is at least one test and every test passed."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[PolicyTestResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def rules_exercised(self) -> int:
        return sum(1 for c in self.coverage if c.exercised)

    @property
    def coverage_ratio(self) -> float:
        return self.rules_exercised / len(self.coverage) if self.coverage else 0.0

    @property
    def exercised_rules(self) -> tuple[str, ...]:
        """`package.name` of every non-test rule the tests evaluated, sorted."""
        return tuple(sorted(f"{c.package}.{c.name}" for c in self.coverage if c.exercised))

    @property
    def policy_rules(self) -> tuple[str, ...]:
        """`package.name` of every non-test rule, sorted."""
        return tuple(sorted(f"{c.package}.{c.name}" for c in self.coverage))


@dataclass(frozen=True, slots=True)
class _Rule:
    file: str
    package: str
    name: str
    first_line: int
    last_line: int


def _ref_parts(node: dict[str, Any]) -> list[str]:
    """Names along a reference node of the regorus AST (Var, RefDot, RefBrack)."""
    kind, body = next(iter(node.items()))
    if kind == "Var":
        return [str(body["value"])]
    if kind == "RefDot":
        return [*_ref_parts(body["refr"]), str(body["field"][1])]
    if kind == "RefBrack":
        return _ref_parts(body["refr"])
    return []


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_rules(engine: Any) -> list[_Rule]:
    """Every rule definition of the loaded modules, with its package and line span."""
    rules: list[_Rule] = []
    for module in json.loads(engine.get_ast_as_json()):
        path = module["source"]["file"]
        text = module["source"]["contents"]
        ast = module["ast"]
        package = ".".join(["data", *_ref_parts(ast["package"]["refr"])])
        for rule in ast["rules"]:
            kind, body = next(iter(rule.items()))
            if kind == "Spec":
                head = next(iter(body["head"].values()))
                names = _ref_parts(head["refr"])
            else:  # Default
                names = _ref_parts(body["refr"])
            span = body["span"]
            rules.append(
                _Rule(
                    file=path,
                    package=package,
                    name=names[0] if names else "?",
                    first_line=_line_of(text, span["start"]),
                    last_line=_line_of(text, max(span["end"] - 1, span["start"])),
                )
            )
    return rules


@dataclass(frozen=True, slots=True)
class RuleSource:
    """One rule definition as written: its file, `package.name` and source lines."""

    file: str
    qualified_name: str
    text: str

    @property
    def is_test(self) -> bool:
        return self.file.endswith("_test.rego") and self.qualified_name.rsplit(".", 1)[
            -1
        ].startswith("test_")


def rule_sources(modules: tuple[PolicyFile, ...]) -> tuple[RuleSource, ...]:
    """Every rule definition of `modules` with its source text (package without `data.`).

    Parsed by the engine, not by a regex, so a rule is what the engine takes it to be.
    Raises PolicyError when the modules do not parse.
    """
    engine = new_regorus_engine(modules, "{}")
    try:
        rules = parse_rules(engine)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise PolicyError(f"policy AST unavailable: {type(exc).__name__}") from None
    texts = {m.path: m.text.splitlines() for m in modules}
    out = []
    for rule in rules:
        lines = texts.get(rule.file, [])
        text = "\n".join(lines[rule.first_line - 1 : rule.last_line])
        package = rule.package.removeprefix("data.")
        out.append(RuleSource(rule.file, f"{package}.{rule.name}", text))
    return tuple(out)


def _test_rules(rules: list[_Rule]) -> list[_Rule]:
    seen: set[tuple[str, str]] = set()
    tests = []
    for rule in rules:
        key = (rule.package, rule.name)
        if rule.file.endswith("_test.rego") and rule.name.startswith("test_") and key not in seen:
            seen.add(key)
            tests.append(rule)
    return tests


def _run_one(engine: Any, rule: _Rule) -> PolicyTestResult:
    started = time.perf_counter()
    error: str | None = None
    try:
        value = engine.eval_rule(f"{rule.package}.{rule.name}")
        passed = value is True
        if not passed:
            error = "undefined" if value is None else f"evaluated to {value!r}"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        passed, error = False, engine_message(exc)
    duration = (time.perf_counter() - started) * 1000
    return PolicyTestResult(rule.package.removeprefix("data."), rule.name, passed, error, duration)


def _coverage(engine: Any, rules: list[_Rule]) -> tuple[RuleCoverage, ...]:
    covered: dict[str, set[int]] = {}
    for item in json.loads(engine.get_coverage_report_as_json()).get("files", []):
        covered[item["path"]] = set(item.get("covered", []))
    first_definitions: dict[tuple[str, str], RuleCoverage] = {}
    for rule in rules:
        if rule.file.endswith("_test.rego"):
            continue
        lines = covered.get(rule.file, set())
        hit = any(rule.first_line <= n <= rule.last_line for n in lines)
        key = (rule.package, rule.name)
        known = first_definitions.get(key)
        if known is None:
            first_definitions[key] = RuleCoverage(
                rule.file, rule.package.removeprefix("data."), rule.name, rule.first_line, hit
            )
        elif hit and not known.exercised:
            first_definitions[key] = RuleCoverage(
                known.file, known.package, known.name, known.line, True
            )
    return tuple(first_definitions.values())


def run_policy_tests(
    policy_dir: Path = DEFAULT_POLICY_DIR, *, name_filter: str | None = None
) -> TestReport:
    """Run every `test_*` rule of the policy's `_test.rego` modules; never raises on failures.

    Raises PolicyError only when the policy does not load at all (that is not a test result
    but a broken bundle). `name_filter` keeps tests whose qualified name contains it.
    """
    bundle: PolicyBundle = load_bundle(policy_dir)
    engine = new_regorus_engine(bundle.modules, bundle.data_json())
    try:
        engine.set_enable_coverage(True)
        rules = parse_rules(engine)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise PolicyError(f"policy AST unavailable: {type(exc).__name__}") from exc
    tests = [
        t for t in _test_rules(rules) if not name_filter or name_filter in f"{t.package}.{t.name}"
    ]
    results = tuple(_run_one(engine, t) for t in tests)
    return TestReport(bundle.version, results, _coverage(engine, rules))
