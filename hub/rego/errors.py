"""The one error the policy engines raise.

Every way a policy decision can go wrong - the engine is missing or crashed, the OPA server
timed out or answered something malformed, the policy files do not load - ends in a single
`PolicyError`, so callers have exactly one thing to catch and one thing to do: deny, disclose
nothing and log a policy_error. A partial answer is never returned instead.
"""

from __future__ import annotations


class PolicyError(Exception):
    """The policy could not decide; the caller must deny (fail closed).

    `reason` is for the operator's log only (engine, rule path, what was wrong). It never
    holds fact content or identifiers, and it is not meant for the API client.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
