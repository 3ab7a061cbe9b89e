"""Who is asking, for which partner, in which roles, and for which purpose."""

from __future__ import annotations

from dataclasses import dataclass

from hub.audit.log import Actor, RequestInfo
from hub.vocabulary import PartnerKind, Purpose, Role


@dataclass(frozen=True)
class Viewer:
    """An authenticated caller with a stated purpose: what the policy and the log see."""

    partner: str
    partner_kind: PartnerKind
    user: str
    roles: frozenset[Role]
    purpose: Purpose
    request: RequestInfo
    display_name: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(
            partner=self.partner,
            partner_kind=self.partner_kind,
            user=self.user,
            roles=tuple(sorted(self.roles)),
        )

    def has_role(self, role: Role) -> bool:
        return role in self.roles
