"""Identity endpoints: who the hub takes the caller to be."""

from __future__ import annotations

from fastapi import APIRouter

from hub.identity.dependencies import CurrentViewer
from hub.identity.schemas import Me

router = APIRouter(tags=["identity"])


@router.get(
    "/me",
    response_model=Me,
    summary="The authenticated caller as the hub sees it",
    description=(
        "Who the hub takes the caller to be after verifying the token: partner, partner kind, "
        "user, roles and the stated purpose. Any authenticated user, any purpose; a refused "
        "token is logged, a successful call is not (it reads no case data)."
    ),
)
def me(viewer: CurrentViewer) -> Me:
    return Me(
        partner=viewer.partner,
        partner_kind=viewer.partner_kind,
        user=viewer.user,
        roles=sorted(viewer.roles),
        purpose=viewer.purpose,
        display_name=viewer.display_name,
    )
