"""The published documents and their interactive docs, served without any CDN.

`/openapi.json` is the storefront's document, `/admin/openapi.json` the staff's. Swagger
UI (`/docs`, `/admin/docs`) and ReDoc (`/redoc`, `/admin/redoc`) load their scripts,
styles and favicon from the app itself (the bundles shipped by fastapi-offline), so they
work on a machine with no internet and under a CSP that names no other host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from app.core.openapi import audience_document

ASSETS_PATH = "/docs/assets"
SWAGGER_INIT_PATH = "/docs/swagger-init.js"
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
# No inline script: the docs CSP allows scripts from this origin only.
_SWAGGER_INIT = """\
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.specUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

STOREFRONT = "storefront"
ADMIN = "admin"
SPEC_URLS = {STOREFRONT: "/openapi.json", ADMIN: "/admin/openapi.json"}


def published_document(app: FastAPI, audience: str) -> dict[str, Any]:
    """The storefront's or the staff's document, cut once from the complete one."""
    documents: dict[str, dict[str, Any]] | None = getattr(app.state, "openapi_documents", None)
    if documents is None:
        documents = app.state.openapi_documents = {}
    if audience not in documents:
        complete = app.state.complete_openapi()
        documents[audience] = audience_document(complete, admin=audience == ADMIN)
    return documents[audience]


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
</head>
<body>
{body}
</body>
</html>
"""
    )


def install_docs(app: FastAPI) -> None:
    """Serve both documents and their docs pages. Build the app with `openapi_url=None`
    and `docs_url=None`: these routes replace FastAPI's."""
    for audience, spec_url in SPEC_URLS.items():
        title = app.title if audience == STOREFRONT else f"{app.title} staff API"
        prefix = "/admin" if audience == ADMIN else ""

        async def serve_spec(_: Request, audience: str = audience) -> JSONResponse:
            return JSONResponse(published_document(app, audience))

        async def serve_swagger(
            request: Request, title: str = title, spec_url: str = spec_url
        ) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return _page(
                f"{title} - Swagger UI",
                f'<link rel="icon" type="image/png" href="{root}{ASSETS_PATH}/favicon.png">\n'
                f'<link rel="stylesheet" href="{root}{ASSETS_PATH}/swagger-ui.css">',
                f'<div id="swagger-ui" data-spec-url="{root}{spec_url}"></div>\n'
                f'<script src="{root}{ASSETS_PATH}/swagger-ui-bundle.js"></script>\n'
                f'<script src="{root}{SWAGGER_INIT_PATH}"></script>',
            )

        async def serve_redoc(
            request: Request, title: str = title, spec_url: str = spec_url
        ) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return _page(
                f"{title} - ReDoc",
                f'<link rel="icon" type="image/png" href="{root}{ASSETS_PATH}/favicon.png">',
                f'<redoc spec-url="{root}{spec_url}"></redoc>\n'
                f'<script src="{root}{ASSETS_PATH}/redoc.standalone.js"></script>',
            )

        app.add_route(spec_url, serve_spec, include_in_schema=False)
        app.add_route(f"{prefix}/docs", serve_swagger, include_in_schema=False)
        app.add_route(f"{prefix}/redoc", serve_redoc, include_in_schema=False)

    async def swagger_init(_: Request) -> Response:
        return Response(_SWAGGER_INIT, media_type="text/javascript")

    app.add_route(SWAGGER_INIT_PATH, swagger_init, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
