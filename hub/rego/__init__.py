"""Policy engines behind one interface: embedded Rego and the OPA server. Infrastructure.

The lead's code needs only what is re-exported here:

- `load_engine(kind, policy_dir, *, opa_url=None, timeout_s=2.0) -> PolicyEngine`
- `PolicyEngine.decide_batch / allow_publish / allow_action / version / close`
- `FactDecision`, `Verdict`, `PolicyError`
- `policy_version(policy_dir)`, `run_policy_tests(policy_dir) -> TestReport`,
  `rule_annotations(policy_dir)` (why a rule decided, for the matrix view)
"""

from hub.rego.annotations import RuleAnnotation, rule_annotations
from hub.rego.bundle import DEFAULT_POLICY_DIR, load_bundle, policy_version, write_opa_bundle
from hub.rego.decisions import FactDecision, Verdict
from hub.rego.engine import PolicyEngine, load_engine
from hub.rego.errors import PolicyError
from hub.rego.policy_tests import TestReport, run_policy_tests

__all__ = [
    "DEFAULT_POLICY_DIR",
    "FactDecision",
    "PolicyEngine",
    "PolicyError",
    "RuleAnnotation",
    "TestReport",
    "Verdict",
    "load_bundle",
    "load_engine",
    "policy_version",
    "rule_annotations",
    "run_policy_tests",
    "write_opa_bundle",
]
