"""From policy files to something the hub can check, review and serve.

Why a candidate runs its own tests here: the hub must refuse to approve or activate a version
whose ``_test.rego`` suite fails (ADR 0103), so a load records the outcome with the version,
and activation runs the suite again on the stored bytes (the row could have been edited).

Why a reviewed version always uses the embedded engine: a simulation or a diff asks about a
version that is not (yet) active, and an OPA sidecar only serves the active bundle. The
embedded engine is the reference the differential tests hold the OPA engine to (ADR 0101).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hub.policy_review.store import (
    BundleRefused,
    files_of_bundle,
    read_bundle_bytes,
    unpacked,
    version_of_files,
)
from hub.rego.annotations import RuleAnnotation, parse_annotations
from hub.rego.bundle import PolicyBundle, PolicyFile, load_bundle
from hub.rego.embedded import RegorusEngine, new_regorus_engine
from hub.rego.engine import PolicyEngine
from hub.rego.errors import PolicyError
from hub.rego.factory import load_engine
from hub.rego.policy_tests import TestReport, run_policy_tests

#: How many failing test names a version's summary keeps (the rest are counted).
MAX_LISTED_FAILURES: Final = 50


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """The policy's own test suite on one version, as stored with it."""

    __test__ = False  # not a pytest class

    passed: bool
    total: int
    failed: tuple[str, ...]
    rules_exercised: int
    rules: int
    #: `package.name` of the policy rules the suite evaluated (the coverage check compares
    #: these with the active version's)
    exercised: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "failed": list(self.failed[:MAX_LISTED_FAILURES]),
            "failed_count": len(self.failed),
            "rules_exercised": self.rules_exercised,
            "rules": self.rules,
        }

    @classmethod
    def of(cls, report: TestReport) -> TestOutcome:
        return cls(
            passed=report.passed,
            total=len(report.results),
            failed=tuple(r.qualified_name for r in report.failures),
            rules_exercised=report.rules_exercised,
            rules=len(report.coverage),
            exercised=report.exercised_rules,
        )


#: version -> outcome. A version is content-addressed and the engine is pinned, so the
#: outcome of its suite never changes; caching it keeps repeated `vhhub init` runs cheap.
_TEST_OUTCOMES: dict[str, TestOutcome] = {}
_TEST_LOCK = threading.Lock()


def suite_outcome(policy_dir: Path, version: str) -> TestOutcome:
    """Run (or recall) the suite of the policy in `policy_dir`, whose version is `version`."""
    with _TEST_LOCK:
        known = _TEST_OUTCOMES.get(version)
    if known is not None:
        return known
    report = run_policy_tests(policy_dir)
    if report.policy_version != version:
        raise PolicyError("the tested files are not the expected version")
    outcome = TestOutcome.of(report)
    with _TEST_LOCK:
        _TEST_OUTCOMES[version] = outcome
    return outcome


@dataclass(frozen=True, slots=True)
class Candidate:
    """A checked set of policy files: its version, canonical files and test outcome."""

    version: str
    files: tuple[PolicyFile, ...]
    tests: TestOutcome


def prepare_candidate(files: Sequence[PolicyFile]) -> Candidate:
    """Check that the files form a policy that loads and compiles, and run its tests.

    BundleRefused (422) when they do not load or compile: the messages are ours, never the
    engine's, because an engine message quotes the offending source line.
    """
    # Each refusal is raised outside its `except` block: a failed regorus engine sits in the
    # engine error's traceback, and as a refusal's __context__ it would be freed on whichever
    # thread answers the request (regorus engines must be dropped on their own thread).
    problem: str | None = None
    with unpacked(files) as root:
        try:
            bundle = load_bundle(root)
        except PolicyError:
            problem = (
                "The policy files do not load: a data file is not valid JSON, collides with "
                "another data file, or shadows a policy package."
            )
        if problem is None:
            try:
                new_regorus_engine(bundle.policy_modules, bundle.data_json())
            except PolicyError:
                problem = "A policy module does not compile."
        if problem is None:
            try:
                tests = suite_outcome(root, bundle.version)
            except PolicyError:
                problem = "The policy's test modules do not compile."
    if problem is not None:
        raise BundleRefused(problem)
    return Candidate(bundle.version, files_of_bundle(bundle), tests)


def annotations_of(bundle: PolicyBundle) -> dict[str, RuleAnnotation]:
    """`package.rule` -> annotation, first definition wins (as hub.rego.rule_annotations)."""
    result: dict[str, RuleAnnotation] = {}
    for module in bundle.policy_modules:
        for annotation in parse_annotations(module.path, module.text):
            result.setdefault(f"{annotation.package}.{annotation.name}", annotation)
    return result


@dataclass(frozen=True)
class ReviewedVersion:
    """A version as the review tools see it: data, rule annotations and an embedded engine."""

    version: str
    bundle: PolicyBundle
    engine: RegorusEngine
    annotations: Mapping[str, RuleAnnotation]

    @property
    def data(self) -> dict[str, Any]:
        """The data tree under data.vhhub."""
        tree = self.bundle.data.get("vhhub", {})
        return tree if isinstance(tree, dict) else {}

    @classmethod
    def from_directory(cls, policy_dir: Path) -> ReviewedVersion:
        engine = RegorusEngine(policy_dir)
        return cls(engine.version, engine.bundle, engine, annotations_of(engine.bundle))

    @classmethod
    def from_files(cls, files: Sequence[PolicyFile]) -> ReviewedVersion:
        with unpacked(files) as root:
            return cls.from_directory(root)


class ReviewedVersions:
    """A small per-process cache of reviewed versions, keyed by version hash.

    Building one costs an unpack and a parse (tens of milliseconds); a privacy officer's
    session asks about the same two or three versions over and over.
    """

    def __init__(self, capacity: int = 6) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, ReviewedVersion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: str) -> ReviewedVersion | None:
        with self._lock:
            item = self._items.get(version)
            if item is not None:
                self._items.move_to_end(version)
            return item

    def put(self, item: ReviewedVersion) -> ReviewedVersion:
        with self._lock:
            self._items[item.version] = item
            self._items.move_to_end(item.version)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return item

    def from_bundle_bytes(self, version: str, data: bytes) -> ReviewedVersion:
        known = self.get(version)
        if known is not None:
            return known
        files = files_from_stored_bundle(version, data)
        return self.put(ReviewedVersion.from_files(files))


def files_from_stored_bundle(version: str, data: bytes) -> tuple[PolicyFile, ...]:
    """The files of a stored bundle, refused (PolicyError) unless they hash to `version`."""
    try:
        files = read_bundle_bytes(data, strip_root=False)
    except BundleRefused as exc:
        raise PolicyError(f"stored bundle of {version[:12]} is unreadable") from exc
    if version_of_files(files) != version:
        raise PolicyError(f"stored bundle does not hash to its version {version[:12]}")
    return files


def engine_for_stored_version(
    version: str,
    data: bytes,
    *,
    kind: str,
    opa_url: str | None,
    timeout_s: float,
) -> PolicyEngine:
    """The serving engine for a stored version; its `version` equals the stored hash."""
    files = files_from_stored_bundle(version, data)
    with unpacked(files) as root:
        engine = load_engine(kind, root, opa_url=opa_url, timeout_s=timeout_s)
    if engine.version != version:
        engine.close()
        raise PolicyError("the engine does not serve the stored version")
    return engine
