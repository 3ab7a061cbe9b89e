"""One interface for every policy engine, and the batching base the engines share.

Callers (the disclosure door, publishing, case actions) depend on `PolicyEngine` only, so the
embedded engine and the OPA sidecar are interchangeable by configuration, and the
differential test can hold them to identical answers.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import hub.rego.batching as batching
from hub.rego.decisions import FactDecision, IdentityDecision, Verdict
from hub.rego.errors import PolicyError

#: Rule paths of the four questions the hub asks.
DECISIONS_RULE = "data.vhhub.disclosure.decisions"
IDENTITY_RULE = "data.vhhub.disclosure.identity_decision"
PUBLISH_RULE = "data.vhhub.publish.decision"
ACTIONS_RULE = "data.vhhub.actions.decision"


@runtime_checkable
class PolicyEngine(Protocol):
    """What the hub asks a policy engine. Every method fails closed with `PolicyError`."""

    @property
    def version(self) -> str:
        """The policy version (SHA-256 of the policy files) every answer carries."""
        ...

    def decide_batch(
        self, input: Mapping[str, Any], *, deduplicate: bool = True
    ) -> dict[str, FactDecision]:
        """A decision for every fact id in input["facts"] (see ADR 0102 for the shape)."""
        ...

    def release_identity(self, input: Mapping[str, Any]) -> IdentityDecision:
        """What this viewer may see of the case's subjects and registration reason (input:
        viewer, purpose, case; no facts)."""
        ...

    def allow_publish(self, input: Mapping[str, Any]) -> Verdict:
        """May this viewer publish this fact (type, domain, sensitivity) into this case?"""
        ...

    def allow_action(self, input: Mapping[str, Any]) -> Verdict:
        """May this viewer perform this action (on this case, with this target)?"""
        ...

    def close(self) -> None:
        """Release connections; the engine must not be used afterwards."""
        ...


class BatchingEngine(ABC):
    """The shared part: class deduplication, answer checks and version stamping.

    Subclasses implement only `_evaluate(rule, input)`: evaluate one rule path against one
    JSON-compatible input and return its value, raising PolicyError when it is undefined or
    the engine fails.
    """

    def __init__(self, version: str) -> None:
        self._version = version

    @property
    def version(self) -> str:
        return self._version

    @abstractmethod
    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        """Value of `rule` for `input`; PolicyError when undefined or on any engine failure."""

    def decide_batch(
        self, input: Mapping[str, Any], *, deduplicate: bool = True
    ) -> dict[str, FactDecision]:
        group = batching.deduplicate if deduplicate else batching.identity_classes
        classes = group(input)
        if not classes.engine_input["facts"]:
            return {}
        answer = self._evaluate(DECISIONS_RULE, classes.engine_input)
        return batching.parse_decisions(answer, classes, self._version)

    def release_identity(self, input: Mapping[str, Any]) -> IdentityDecision:
        answer = self._evaluate(IDENTITY_RULE, input)
        return batching.parse_identity(answer, self._version)

    def allow_publish(self, input: Mapping[str, Any]) -> Verdict:
        answer = self._evaluate(PUBLISH_RULE, input)
        return batching.parse_verdict(answer, self._version, "publish")

    def allow_action(self, input: Mapping[str, Any]) -> Verdict:
        answer = self._evaluate(ACTIONS_RULE, input)
        return batching.parse_verdict(answer, self._version, "action")

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Nothing to release by default."""


def encode_input(input: Mapping[str, Any]) -> str:
    """The input as JSON: every engine gets the same JSON, so they see the same values."""
    try:
        return json.dumps(input, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"policy input is not JSON: {type(exc).__name__}") from exc
