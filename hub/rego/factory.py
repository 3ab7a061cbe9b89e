"""The one place that picks and builds a policy engine by configuration.

Kept apart from `hub.rego.engine` so the interface does not import its implementations
(they import the interface: a cycle otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from hub.rego.bundle import DEFAULT_POLICY_DIR
from hub.rego.embedded import RegorusEngine
from hub.rego.engine import PolicyEngine
from hub.rego.errors import PolicyError
from hub.rego.regopy_engine import RegopyEngine

ENGINE_KINDS: Final = ("embedded", "regopy", "opa")


def load_engine(
    kind: str,
    policy_dir: Path = DEFAULT_POLICY_DIR,
    *,
    opa_url: str | None = None,
    timeout_s: float = 2.0,
) -> PolicyEngine:
    """Build the engine named by `kind` ("embedded", "opa" or "regopy") on `policy_dir`.

    The embedded engine (regorus) is the default and needs nothing else. "opa" asks an OPA
    server at `opa_url` and checks that it serves this directory's version. "regopy" is a
    cross-check engine for tests only (ADR 0101). Raises PolicyError when the policy does not load
    or the configuration is incomplete.
    """
    if timeout_s <= 0:
        raise PolicyError("policy timeout must be positive")
    if kind in ("embedded", "regorus"):
        return RegorusEngine(policy_dir, timeout_s=timeout_s)
    if kind == "opa":
        if not opa_url:
            raise PolicyError("the OPA engine needs opa_url")
        # imported only here: its client brings aiohttp and requests, about 13 MB in every
        # hub process that never talks to an OPA server (ADR 0020)
        from hub.rego.opa import OpaServerEngine

        return OpaServerEngine(policy_dir, opa_url, timeout_s=timeout_s)
    if kind == "regopy":
        return RegopyEngine(policy_dir, timeout_s=timeout_s)
    raise PolicyError(f"unknown policy engine kind {kind!r}; expected one of {ENGINE_KINDS}")
