"""The auditor's screens (issue 18): access-log search, an entry with its inclusion proof, the
verification status of the log and its export, and the art. 15 report as a page and a PDF.
"""

from __future__ import annotations

from fastapi import APIRouter

from hub.web.core import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
