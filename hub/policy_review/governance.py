"""The network's rules for changing the policy: who counts, what a new version must carry and
pass, and what an approval binds to (ADR 0103).

Why partners and not persons count: a partner mints its own tokens and may put any user id
(`sub`) in them, so "two different persons" is something one organisation can fake on its
own. What it cannot fake is another partner's signing key. A change therefore activates only
when privacy officers of `approvals` DIFFERENT partners approve it (the network file's
`[policy_approval]`, by default two key partners), none of them the partner that loaded it;
the officers of one partner are one vote. A person is only as trustworthy as their
organisation's key.

Why a protected test suite: the `_test.rego` files of an upload are written by the uploader,
so "its own tests pass" proves nothing (`test_ok if { true }` passes). The network's
protected tests - at first the shipped policy's tests, kept in the database apart from any
upload - must travel UNCHANGED in every new version (byte for byte, file by file: an upload
adds tests in files of its own) and must pass against the version's policy modules in a run
of their own, so that no file of the upload can add a definition to a test package (a second
`test_x if { true }` would make `test_x` true). Changing the protected suite is a versioned
act with the same quorum (hub.policy_review.suites).

Why coverage: the version's suite may not exercise fewer policy rules than the active
version's suite did, and no rule the active suite exercised (and the version still has) may
go unexercised.

Why digests: an approval quotes the SHA-256 of the diff its approver was shown (the canonical
JSON of the diff against the ACTIVE version). When the active version changes, the old digest
no longer matches (409) and approvals given on the old diff stop counting.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from hub.identity.registry import NetworkRegistry
from hub.policy_review.store import unpacked
from hub.policy_review.versions import MAX_LISTED_FAILURES, TestOutcome, suite_outcome
from hub.rego.bundle import PolicyFile, compute_version, package_name
from hub.rego.errors import PolicyError
from hub.rego.policy_tests import rule_sources, run_policy_tests

#: How many names a check lists per kind of problem (the rest are counted).
MAX_LISTED: Final = MAX_LISTED_FAILURES


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same value everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def canonical_digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


# --- the protected suite ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProtectedSuite:
    """A set of `_test.rego` files, identified by SHA-256 over them (as a policy version)."""

    suite: str
    files: tuple[PolicyFile, ...]

    @classmethod
    def of(cls, files: Iterable[PolicyFile]) -> ProtectedSuite:
        """The test files among `files` (everything else is left out)."""
        tests = tuple(sorted((f for f in files if f.is_test), key=lambda f: f.path))
        return cls(compute_version(tests), tests)

    @property
    def packages(self) -> frozenset[str]:
        return frozenset(p for p in (package_name(f.text) for f in self.files) if p)


@dataclass(frozen=True)
class SuiteRun:
    """The protected suite run on its own against one policy version's modules and data."""

    suite: str
    policy: str
    total: int
    failed: tuple[str, ...]
    #: policy rules or packages of the version that write into a protected test package
    intrusions: tuple[str, ...]
    #: the suite and the policy do not load together (a data file shadowing a test package)
    broken: bool
    rules_exercised: int
    rules: int

    @property
    def passed(self) -> bool:
        return not self.broken and self.total > 0 and not self.failed and not self.intrusions

    def summary(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "total": self.total,
            "failed": list(self.failed[:MAX_LISTED]),
            "failed_count": len(self.failed),
            "intrusions": list(self.intrusions[:MAX_LISTED]),
            "loads": not self.broken,
            "rules_exercised": self.rules_exercised,
            "rules": self.rules,
            "passed": self.passed,
        }


def _overlaps(path: str, package: str) -> bool:
    return path == package or path.startswith(package + ".") or package.startswith(path + ".")


_RUNS: dict[tuple[str, str], SuiteRun] = {}
_RUNS_LOCK = threading.Lock()


def run_suite(
    policy_version: str, policy_files: Sequence[PolicyFile], suite: ProtectedSuite
) -> SuiteRun:
    """Run `suite` against the policy modules and data of `policy_files` (their own tests
    left out). Cached: both sides are content-addressed."""
    key = (policy_version, suite.suite)
    with _RUNS_LOCK:
        known = _RUNS.get(key)
    if known is not None:
        return known
    modules = [f for f in policy_files if not f.is_test]
    packages = suite.packages
    intrusions = sorted(
        {
            f"package {package_name(f.text)} ({f.path})"
            for f in modules
            if f.path.endswith(".rego")
            and any(_overlaps(package_name(f.text), p) for p in packages)
        }
    )
    broken = False
    results: tuple[str, ...] = ()
    total = exercised = rules = 0
    with unpacked([*modules, *suite.files]) as root:
        try:
            report = run_policy_tests(root)
        except PolicyError:
            broken = True
        else:
            total = len(report.results)
            results = tuple(r.qualified_name for r in report.failures)
            exercised, rules = report.rules_exercised, len(report.coverage)
            intrusions += sorted(
                {
                    f"rule {name}"
                    for name in report.policy_rules
                    if any(_overlaps(name, p) for p in packages)
                }
            )
    run = SuiteRun(
        suite=suite.suite,
        policy=policy_version,
        total=total,
        failed=results,
        intrusions=tuple(intrusions),
        broken=broken,
        rules_exercised=exercised,
        rules=rules,
    )
    with _RUNS_LOCK:
        _RUNS[key] = run
    return run


# --- a candidate version against the network's rules ----------------------------------------


@dataclass(frozen=True)
class StoredPolicy:
    """A stored version's hash and files (read from its checked bundle)."""

    version: str
    files: tuple[PolicyFile, ...]


@dataclass(frozen=True)
class VersionCheck:
    """What the network requires of a new version, checked against the active version and
    the active protected suite."""

    version: str
    against: str | None
    suite: str | None
    own: TestOutcome | None
    missing: tuple[str, ...]
    changed: tuple[str, ...]
    protected: SuiteRun | None
    active_rules_exercised: int | None
    no_longer_exercised: tuple[str, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        """Each unmet requirement in words (names of files, tests and rules, no content)."""
        out: list[str] = []
        if self.own is None or not self.own.passed:
            out.append("its own tests (_test.rego) fail")
        if self.suite is None:
            out.append("the network has no protected test suite (run `vhhub init`)")
        if self.missing:
            out.append(f"it deletes protected test files: {', '.join(self.missing)}")
        if self.changed:
            out.append(f"it changes protected test files: {', '.join(self.changed)}")
        if self.protected is not None and not self.protected.passed:
            if self.protected.broken:
                out.append("the protected tests do not load against its policy")
            if self.protected.intrusions:
                out.append("its policy modules write into protected test packages")
            if self.protected.failed:
                out.append(f"{len(self.protected.failed)} protected tests fail against it")
        if self.own is not None and self.active_rules_exercised is not None:
            if self.own.rules_exercised < self.active_rules_exercised:
                out.append(
                    f"its tests exercise {self.own.rules_exercised} policy rules, fewer than "
                    f"the active version's {self.active_rules_exercised}"
                )
            if self.no_longer_exercised:
                out.append(
                    f"{len(self.no_longer_exercised)} rules the active version's tests "
                    "exercise are no longer exercised"
                )
        return tuple(out)

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        own = self.own
        return {
            "passed": self.passed,
            "against": self.against,
            "suite": self.suite,
            "problems": list(self.problems),
            "protected": {
                "missing": list(self.missing),
                "changed": list(self.changed),
                **(self.protected.summary() if self.protected is not None else {}),
            },
            "coverage": {
                "rules_exercised": own.rules_exercised if own is not None else 0,
                "rules": own.rules if own is not None else 0,
                "active_rules_exercised": self.active_rules_exercised,
                "no_longer_exercised": list(self.no_longer_exercised[:MAX_LISTED]),
            },
        }


def _own_outcome(stored: StoredPolicy) -> TestOutcome | None:
    try:
        with unpacked(stored.files) as root:
            return suite_outcome(root, stored.version)
    except PolicyError:
        return None


_CHECKS: dict[tuple[str, str | None, str | None], VersionCheck] = {}
_CHECKS_LOCK = threading.Lock()


def check_version(
    candidate: StoredPolicy, active: StoredPolicy | None, suite: ProtectedSuite | None
) -> VersionCheck:
    """The candidate against the network's rules (cached: everything is content-addressed)."""
    key = (
        candidate.version,
        active.version if active is not None else None,
        suite.suite if suite is not None else None,
    )
    with _CHECKS_LOCK:
        known = _CHECKS.get(key)
    if known is not None:
        return known
    own = _own_outcome(candidate)
    present = {f.path: f.text for f in candidate.files}
    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    protected = None
    if suite is not None:
        missing = tuple(f.path for f in suite.files if f.path not in present)
        changed = tuple(
            f.path for f in suite.files if f.path in present and present[f.path] != f.text
        )
        protected = run_suite(candidate.version, candidate.files, suite)
    active_exercised: int | None = None
    no_longer: tuple[str, ...] = ()
    if active is not None and active.version != candidate.version:
        before = _own_outcome(active)
        if before is not None:
            active_exercised = before.rules_exercised
            if own is not None:
                rules = _policy_rules(candidate)
                no_longer = tuple(
                    sorted(
                        name for name in set(before.exercised) - set(own.exercised) if name in rules
                    )
                )
    check = VersionCheck(
        version=candidate.version,
        against=active.version if active is not None else None,
        suite=suite.suite if suite is not None else None,
        own=own,
        missing=missing,
        changed=changed,
        protected=protected,
        active_rules_exercised=active_exercised,
        no_longer_exercised=no_longer,
    )
    with _CHECKS_LOCK:
        _CHECKS[key] = check
    return check


def _policy_rules(stored: StoredPolicy) -> frozenset[str]:
    modules = tuple(f for f in stored.files if f.path.endswith(".rego") and not f.is_test)
    try:
        return frozenset(r.qualified_name for r in rule_sources(modules))
    except PolicyError:
        return frozenset()


# --- a change of the protected suite ----------------------------------------------------------


@dataclass(frozen=True)
class RuleChange:
    rule: str
    change: str  # added | removed | changed
    test: bool
    old: str | None
    new: str | None


@dataclass(frozen=True)
class SuiteDiff:
    """What a new protected suite changes against the active one, rule by rule."""

    old: str | None
    new: str
    files_added: tuple[str, ...]
    files_removed: tuple[str, ...]
    files_changed: tuple[str, ...]
    rules: tuple[RuleChange, ...]

    def as_json(self) -> dict[str, Any]:
        """The diff as shown; its canonical JSON is what the digest covers."""
        return {
            "old": self.old,
            "new": self.new,
            "files_added": list(self.files_added),
            "files_removed": list(self.files_removed),
            "files_changed": list(self.files_changed),
            "rules": [
                {"rule": r.rule, "change": r.change, "test": r.test, "old": r.old, "new": r.new}
                for r in self.rules
            ],
            "summary": {
                "tests_added": sum(r.test and r.change == "added" for r in self.rules),
                "tests_removed": sum(r.test and r.change == "removed" for r in self.rules),
                "tests_changed": sum(r.test and r.change == "changed" for r in self.rules),
                "helpers_changed": sum(not r.test for r in self.rules),
            },
        }

    @property
    def digest(self) -> str:
        return canonical_digest(self.as_json())


def _definitions(suite: ProtectedSuite) -> dict[str, tuple[bool, str]]:
    """`package.rule` -> (is a test, its definitions' text, in file order)."""
    texts: dict[str, list[str]] = defaultdict(list)
    tests: dict[str, bool] = {}
    for rule in rule_sources(suite.files):
        texts[rule.qualified_name].append(rule.text)
        tests[rule.qualified_name] = rule.is_test
    return {name: (tests[name], "\n\n".join(parts)) for name, parts in texts.items()}


def diff_suites(old: ProtectedSuite | None, new: ProtectedSuite) -> SuiteDiff:
    """Rule by rule; PolicyError when either suite does not parse."""
    before = _definitions(old) if old is not None else {}
    after = _definitions(new)
    changes: list[RuleChange] = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        if was is not None and now is not None and was[1] == now[1]:
            continue
        change = "added" if was is None else "removed" if now is None else "changed"
        test = (now or was or (False, ""))[0]
        changes.append(
            RuleChange(
                name, change, test, was[1] if was is not None else None, now[1] if now else None
            )
        )
    old_files = {f.path: f.text for f in old.files} if old is not None else {}
    new_files = {f.path: f.text for f in new.files}
    return SuiteDiff(
        old=old.suite if old is not None else None,
        new=new.suite,
        files_added=tuple(sorted(new_files.keys() - old_files.keys())),
        files_removed=tuple(sorted(old_files.keys() - new_files.keys())),
        files_changed=tuple(
            sorted(p for p in new_files.keys() & old_files.keys() if new_files[p] != old_files[p])
        ),
        rules=tuple(changes),
    )


# --- who counts -------------------------------------------------------------------------------


def ineligible_reason(
    partner: str, *, loader_partner: str | None, registry: NetworkRegistry
) -> str | None:
    """Why an approval by `partner` cannot count for a change `loader_partner` loaded, or
    None when it can."""
    if loader_partner is not None and partner == loader_partner:
        return "loader's partner"
    if partner not in registry.partners:
        return "partner not in the network file"
    if not registry.may_approve_policy(partner):
        return "not a key partner"
    return None


def counted_partners(
    approvals: Iterable[tuple[str, str | None]],
    *,
    base: str,
    loader_partner: str | None,
    registry: NetworkRegistry,
) -> tuple[str, ...]:
    """The distinct partners whose approvals count: given on the diff against `base` (the
    active version or suite now), eligible by the network file, not the loader's partner."""
    return tuple(
        sorted(
            {
                partner
                for partner, given_on in approvals
                if given_on == base
                and ineligible_reason(partner, loader_partner=loader_partner, registry=registry)
                is None
            }
        )
    )
