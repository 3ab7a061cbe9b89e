"""What a policy engine answers: small frozen values that carry the policy version.

A decision travels from the engine to the disclosure door and into the access log, so it is
immutable and names the policy version that produced it (the log must let an auditor replay
the decision under that exact version).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.vocabulary import DisclosureLevel


@dataclass(frozen=True, slots=True)
class FactDecision:
    """What one viewer may see of one fact.

    `fields` are the released field names, sorted; `rule` names the Rego rule that decided
    (its METADATA annotation says why, see `hub.rego.annotations`).
    """

    level: DisclosureLevel
    fields: tuple[str, ...]
    reason: str
    rule: str
    policy_version: str

    @property
    def released(self) -> bool:
        """True when the viewer learns anything at all (existence or more)."""
        return self.level is not DisclosureLevel.NONE


@dataclass(frozen=True, slots=True)
class IdentityDecision:
    """What one viewer may see of who a case is about: the identity classes released (of
    name, date_of_birth, address, bsn and the registration reason), sorted, and why."""

    classes: tuple[str, ...]
    reason: str
    rule: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """An allow/deny answer for a publish or a case action, with its reason."""

    allowed: bool
    reason: str
    policy_version: str
