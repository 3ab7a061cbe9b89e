"""A cross-check engine: Microsoft rego-cpp through regopy. For tests, not for production.

Why it exists: two independent Rego implementations agreeing on the same inputs is strong
evidence that the policy means what it says, not what one interpreter happens to do. Why not
in production: regopy 1.5.2 is about 40x slower than regorus, has known correctness bugs (ADR
0101) and needs a compile step per interpreter. The shipped policy avoids the constructs
those bugs touch, and the differential test proves the two agree on it.

Compilation (`Interpreter.build`) takes ~130 ms, so each thread compiles the bundle once and
then answers from the compiled entry points (~5 ms per query).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.rego.bundle import DEFAULT_POLICY_DIR, PolicyBundle, load_bundle
from hub.rego.engine import (
    ACTIONS_RULE,
    DECISIONS_RULE,
    IDENTITY_RULE,
    PUBLISH_RULE,
    BatchingEngine,
)
from hub.rego.errors import PolicyError

_ENTRY_POINTS = {
    rule: rule.removeprefix("data.").replace(".", "/")
    for rule in (DECISIONS_RULE, IDENTITY_RULE, PUBLISH_RULE, ACTIONS_RULE)
}


def regopy_available() -> bool:
    """True when the optional regopy package is installed (it is not a hub dependency)."""
    return importlib.util.find_spec("regopy") is not None


class RegopyEngine(BatchingEngine):
    """rego-cpp through regopy, one compiled bundle per thread."""

    def __init__(self, policy_dir: Path = DEFAULT_POLICY_DIR, *, timeout_s: float = 2.0) -> None:
        if not regopy_available():
            raise PolicyError("regopy is not installed")
        self._bundle: PolicyBundle = load_bundle(policy_dir)
        super().__init__(self._bundle.version)
        self._timeout_s = timeout_s
        self._local = threading.local()
        self._compiled()

    def _compiled(self) -> tuple[Any, Any]:
        state = getattr(self._local, "state", None)
        if state is None:
            regopy = importlib.import_module("regopy")  # optional: not a hub dependency
            try:
                interpreter = regopy.Interpreter()
                for module in self._bundle.policy_modules:
                    interpreter.add_module(module.path, module.text)
                interpreter.add_data_json(self._bundle.data_json())
                compiled = interpreter.build("true", list(_ENTRY_POINTS.values()))
            except Exception as exc:
                raise PolicyError(f"policy does not compile in regopy: {exc}") from exc
            state = (regopy.Interpreter(), compiled)
            self._local.state = state
        return state

    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        entry_point = _ENTRY_POINTS.get(rule)
        if entry_point is None:
            raise PolicyError(f"regopy engine has no entry point for {rule}")
        runner, compiled = self._compiled()
        started = time.perf_counter()
        try:
            runner.set_input(dict(input))
            output = runner.query_bundle_entrypoint(compiled, entry_point)
            answer = json.loads(str(output))
        except Exception as exc:
            self._local.state = None
            raise PolicyError(f"regopy failed on {rule}: {type(exc).__name__}") from exc
        if time.perf_counter() - started > self._timeout_s:
            raise PolicyError(f"regopy took too long on {rule}")
        expressions = answer.get("expressions") if isinstance(answer, dict) else None
        if not isinstance(expressions, list) or len(expressions) != 1:
            raise PolicyError(f"{rule} is undefined in regopy")
        return expressions[0]
