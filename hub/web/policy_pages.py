"""The privacy officer's policy screens (issue 18): the disclosure matrix as a heat map, the
simulation, policy versions with their diff and four-eyes approval, and the history of policy
changes.
"""

from __future__ import annotations

from fastapi import APIRouter

from hub.web.core import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
