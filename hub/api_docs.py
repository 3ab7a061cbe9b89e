"""The interactive API documentation (Swagger UI), served from the installed package.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script: a
blank page without internet, and no page a strict Content-Security-Policy allows. Here the
page, its script and its stylesheet all come from the hub: Swagger UI's files from the
`fastapi-offline` distribution (pinned in pyproject.toml), the start script from this module.
The page's CSP lets it load scripts, styles and images from the hub only and fetch only from
the hub (`connect-src 'self'`), so "Try it out" cannot send a pasted token anywhere else;
Swagger UI's online validator badge is switched off for the same reason.

Every URL on the page is relative (`docs/...`, `openapi.json`), so the page works under any
path prefix a reverse proxy adds.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

#: the docs page's own policy: scripts, styles, images and fetches from the hub only
DOCS_CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
#: the files of the page below the docs path, and their media types
ASSETS: Final[dict[str, str]] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
INIT_SCRIPT: Final = "swagger-ui-init.js"

#: starts Swagger UI on the document next to the page; no validator (it would call out)
_INIT_JS: Final = """\
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""


def assets_dir() -> Path:
    """Where the installed `fastapi-offline` distribution keeps Swagger UI's files (found
    without importing it: only its files are used)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline distribution (Swagger UI's files) is missing")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def asset_paths(docs_url: str) -> frozenset[str]:
    """Every path the docs page is made of: public, like the page and the document."""
    return frozenset({docs_url, *(f"{docs_url}/{name}" for name in (*ASSETS, INIT_SCRIPT))})


def _page(title: str, docs_name: str) -> str:
    base = docs_name  # relative to the page's own directory
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="icon" type="image/png" href="{base}/favicon.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/{INIT_SCRIPT}"></script>
</body>
</html>
"""


def install_api_docs(app: FastAPI, *, docs_url: str) -> None:
    """Serve the docs page at `docs_url` and its files below it (the OpenAPI document must
    be served next to it, as `openapi.json`)."""
    directory = assets_dir()
    missing = [name for name in ASSETS if not (directory / name).is_file()]
    if missing:
        raise RuntimeError("Swagger UI's files are incomplete in the fastapi-offline package")
    docs_name = docs_url.rstrip("/").rsplit("/", 1)[-1]
    html = _page(app.title, docs_name)
    page_headers = {"content-security-policy": DOCS_CONTENT_SECURITY_POLICY}

    @app.get(docs_url, include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(html, headers=page_headers)

    @app.get(f"{docs_url}/{INIT_SCRIPT}", include_in_schema=False)
    def docs_init_script() -> Response:
        return Response(_INIT_JS, media_type="text/javascript; charset=utf-8")

    for name, media_type in ASSETS.items():
        _serve_file(app, f"{docs_url}/{name}", directory / name, media_type)


def _serve_file(app: FastAPI, path: str, file: Path, media_type: str) -> None:
    @app.get(path, include_in_schema=False)
    def docs_asset() -> FileResponse:
        return FileResponse(file, media_type=media_type)
