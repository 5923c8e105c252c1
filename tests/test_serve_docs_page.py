"""``/docs`` works offline: Swagger UI's files come from the service itself (issue 19)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("swagger_ui_bundle")

from fastapi.testclient import TestClient

from affectkit.serve.app import create_app
from affectkit.serve.settings import Limits, ServeSettings


def test_docs_page_loads_its_assets_from_the_service() -> None:
    client = TestClient(create_app(ServeSettings(models=["fast"], limits=Limits(rate=0))),
                        base_url="http://127.0.0.1")
    with client:
        page = client.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "/docs-assets/swagger-ui-bundle.js" in page.text and "/docs-assets/swagger-ui.css" in page.text
        assert "cdn." not in page.text and "https://" not in page.text.replace("https://swagger.io", "")
        assert "/openapi.json" in page.text
        js = client.get("/docs-assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000 and b"SwaggerUIBundle" in js.content
        assert client.get("/docs-assets/swagger-ui.css").status_code == 200
        assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not served
