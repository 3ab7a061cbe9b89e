"""FastAPI glue: the authenticated viewer of a request.

A sync dependency on purpose: key fetches (JWKS URLs) and the replay store block, so FastAPI
runs it in its worker threads, off the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from hub.audit.log import RequestInfo
from hub.context import HubContext, get_context
from hub.identity.viewer import Viewer


def request_info(request: Request) -> RequestInfo:
    request_id = getattr(request.state, "request_id", None)
    source = request.client.host if request.client else None
    return RequestInfo(request_id=request_id, source=source)


def current_viewer(
    request: Request,
    ctx: Annotated[HubContext, Depends(get_context)],
    authorization: Annotated[
        str | None, Header(description="Bearer token signed by the partner's key.")
    ] = None,
    purpose: Annotated[
        str | None,
        Header(
            alias="Purpose",
            description="Why this request is made: intake, screening, preparation, "
            "case_conference, plan, execution, audit, policy_review or subject_access.",
        ),
    ] = None,
) -> Viewer:
    return ctx.authenticator.authenticate(authorization, purpose, request_info(request))


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]
