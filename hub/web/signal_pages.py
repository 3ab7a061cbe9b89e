"""Misuse signals (issue 18): the periodic report per user for the privacy officer of that user's
own organisation.
"""

from __future__ import annotations

from fastapi import APIRouter

from hub.web.core import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
