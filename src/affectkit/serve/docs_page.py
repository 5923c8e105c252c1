"""``GET /docs``: Swagger UI for the OpenAPI document, with its script and style served by the service itself
from the ``swagger-ui-bundle`` package (Swagger UI 4.15.5, Apache-2.0; in the ``serve`` extra), so the page
works offline. Without that package the page loads them from FastAPI's default CDN, as FastAPI does. ReDoc
(``/redoc``) is not served: no package ships its files."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

ASSETS = "/docs-assets"


def add_docs_page(app: FastAPI) -> bool:
    """Serve ``/docs`` on ``app`` (built with ``docs_url=None``); returns whether its assets are local."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        swagger_ui_path = None
    local = swagger_ui_path is not None
    if local:
        app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    else:
        log.info("/docs loads Swagger UI from a CDN: pip install swagger-ui-bundle to serve it locally")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        openapi_url, title = app.openapi_url or "/openapi.json", f"{app.title} API"
        if not local:
            return get_swagger_ui_html(openapi_url=openapi_url, title=title)
        return get_swagger_ui_html(openapi_url=openapi_url, title=title,
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")

    return local
