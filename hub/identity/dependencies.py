"""FastAPI glue: the authenticated viewer of a request.

Authentication itself happens in `AuthenticationMiddleware`, before routing and body
parsing; this dependency hands its result to the endpoint, and declares the two headers so
the OpenAPI document shows them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from hub.errors import Unauthenticated
from hub.identity.viewer import Viewer


def current_viewer(
    request: Request,
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
    viewer = getattr(request.state, "viewer", None)
    if not isinstance(viewer, Viewer):  # fail closed if the middleware did not run
        raise Unauthenticated()
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]
