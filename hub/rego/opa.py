"""The production option: an OPA server (sidecar) asked over its REST Data API.

Why it checks the revision: the hub stamps every decision with the version of its own policy
directory. An OPA sidecar that still serves yesterday's bundle would make that stamp a lie in
the access log, so every answer is requested with `provenance=true` and must name the
expected bundle revision (written by `write_opa_bundle`), or the call fails closed.

Why no retries: a retry after a timeout doubles the time a request waits for a denial; the
caller denies and logs instead, and the sidecar's health is a readiness concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opa_client import OpaClient

from hub.rego.bundle import DEFAULT_POLICY_DIR, policy_version
from hub.rego.engine import BatchingEngine
from hub.rego.errors import PolicyError


class OpaServerEngine(BatchingEngine):
    """Decisions from an OPA server at `url` (e.g. http://127.0.0.1:8181)."""

    def __init__(
        self,
        policy_dir: Path = DEFAULT_POLICY_DIR,
        url: str = "http://127.0.0.1:8181",
        *,
        timeout_s: float = 2.0,
        verify_revision: bool = True,
        token: str | None = None,
    ) -> None:
        super().__init__(policy_version(policy_dir))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError("opa_url must be an http(s) URL with a host")
        port = parts.port or (443 if parts.scheme == "https" else 8181)
        self._verify_revision = verify_revision
        self._client = OpaClient(
            host=parts.hostname,
            port=port,
            ssl=parts.scheme == "https",
            timeout=timeout_s,
            retries=0,
            token=token,
        )

    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        package, _, name = rule.removeprefix("data.").rpartition(".")
        try:
            response = self._client.query_rule(
                input_data=dict(input),
                package_path=package,
                rule_name=name,
                query_params={"provenance": "true"},
            )
        except Exception as exc:  # non-JSON input, transport, HTTP status, body: all fail closed
            raise PolicyError(f"OPA query {rule} failed: {type(exc).__name__}") from exc
        if not isinstance(response, Mapping):
            raise PolicyError(f"OPA answered {rule} with a non-object")
        if self._verify_revision:
            self._check_revision(response.get("provenance"))
        if "result" not in response:
            raise PolicyError(f"{rule} is undefined on the OPA server")
        return response["result"]

    def _check_revision(self, provenance: Any) -> None:
        bundles = provenance.get("bundles") if isinstance(provenance, Mapping) else None
        revisions = (
            {b.get("revision") for b in bundles.values() if isinstance(b, Mapping)}
            if isinstance(bundles, Mapping)
            else set()
        )
        if self.version not in revisions:
            raise PolicyError("OPA serves a policy revision other than the expected version")

    def close(self) -> None:
        self._client.close_connection()
