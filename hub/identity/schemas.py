"""API models of the identity feature."""

from __future__ import annotations

from pydantic import BaseModel

from hub.vocabulary import PartnerKind, Purpose, Role


class Me(BaseModel):
    partner: str
    partner_kind: PartnerKind
    user: str
    roles: list[Role]
    purpose: Purpose
    display_name: str | None = None
