"""The REST service: ``create_app(settings)`` builds a FastAPI app around the same analyzers and prediction
schema as the CLI.

Endpoints: ``POST /v1/analyze``, ``POST /v1/analyze/file``, ``POST /v1/rank``, ``GET /v1/models``,
``GET /v1/labelsets``, ``GET /healthz``, ``GET /metrics``, the OpenAPI document (``/openapi.json``, ``/docs``)
and the web page at ``/``. Requests pass, outermost first: metrics, security headers, CORS (only when origins
are configured), API key and rate limit, body size limit, then the route, whose model work goes through the
:class:`~affectkit.serve.batcher.MicroBatcher`.
"""

from __future__ import annotations

import inspect
import logging
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import affectkit
from affectkit.analyzers.base import Analyzer
from affectkit.serve import analyze_routes, info_routes
from affectkit.serve.auth import KeyStore
from affectkit.serve.batcher import MicroBatcher
from affectkit.serve.docs_page import add_docs_page
from affectkit.serve.errors import install_error_handlers
from affectkit.serve.media_routes import add_media_routes
from affectkit.serve.metrics import MetricsMiddleware, ServiceMetrics
from affectkit.serve.middleware import (
    AccessMiddleware,
    BodyLimitMiddleware,
    LoopbackHostMiddleware,
    RateLimiter,
    SecurityHeadersMiddleware,
)
from affectkit.serve.report_routes import add_report_routes
from affectkit.serve.service import Service, check_auth_policy
from affectkit.serve.settings import ServeSettings
from affectkit.threads import limit_blas_threads

log = logging.getLogger("affectkit.serve")

STATIC_DIR = Path(str(resources.files("affectkit.serve").joinpath("static")))
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


# FastAPI (0.16x) looks up OpenTelemetry providers on every request (about 4% of the event loop's time under load);
# the service exports its own Prometheus metrics at /metrics, so FastAPI's telemetry is off where it exists
_NO_OPENTELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def create_app(settings: ServeSettings | None = None, analyzers: dict[str, Analyzer] | None = None) -> FastAPI:
    """The service for ``settings`` (its models are loaded now, so a bad model name fails here)."""
    settings = settings or ServeSettings()
    limits = settings.limits
    keys = KeyStore.load(settings.api_keys_file, settings.api_keys_env)
    auth = check_auth_policy(keys, settings.host)
    analyzers = analyzers or {name: affectkit.load(name) for name in settings.models}
    metrics = ServiceMetrics()
    batcher = MicroBatcher(analyzers, settings.max_batch_size, settings.max_wait_ms, settings.workers,
                           max_queue=max(10_000, 10 * limits.max_texts), on_batch=metrics.observe_batch)
    metrics.queue.set_function(lambda: batcher.queued)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        limit_blas_threads()
        await batcher.start()
        if auth:
            log.info("auth is ON: %d API key(s)", len(keys))
        else:
            log.warning("auth is OFF: no API keys configured; allowed only because the server binds to the "
                        "loopback address %s", settings.host)
        log.info("models: %s; batches of up to %d texts, max wait %.1f ms, %d worker(s)", ", ".join(analyzers),
                 settings.max_batch_size, settings.max_wait_ms, settings.workers)
        yield
        await batcher.stop()

    app = FastAPI(title="affectkit", version=affectkit.__version__, lifespan=lifespan,
                  description="Emotion analysis: ranked emotions, calibrated distributions, VAD and evidence. "
                              "Send the API key as `Authorization: Bearer KEY` or `X-API-Key: KEY`.",
                  docs_url=None, redoc_url=None,  # /docs with local assets: add_docs_page below
                  **_NO_OPENTELEMETRY)
    app.state.service = Service(settings, analyzers, batcher, metrics, auth)

    install_error_handlers(app, metrics)

    app.include_router(analyze_routes.router)
    app.include_router(info_routes.router)

    if settings.page:
        @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
        async def page() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                                headers={"Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY",
                                         "Cache-Control": "no-cache"})

        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    add_report_routes(app, analyzers, settings)
    add_media_routes(app)
    add_docs_page(app)
    _document_security(app)

    # -- middleware: the last added runs first --------------------------------------------------------------------
    limiter = RateLimiter(limits.rate, limits.burst)
    app.state.rate_limiter = limiter  # its clock can be replaced (tests use a fake one)
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_body_bytes)
    app.add_middleware(AccessMiddleware, keys=keys if auth else None, limiter=limiter,
                       on_reject=lambda reason: metrics.rejected.labels(reason).inc())
    if not auth:  # loopback only: refuse Host names that are not this machine's (DNS rebinding)
        app.add_middleware(LoopbackHostMiddleware, bound_host=settings.host,
                           on_reject=lambda reason: metrics.rejected.labels(reason).inc())
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600)
    app.add_middleware(SecurityHeadersMiddleware)
    routers = (analyze_routes.router, info_routes.router)  # FastAPI >= 0.165 lists an included router as one entry
    known = {r.path for r in (*app.routes, *(r for rt in routers for r in rt.routes)) if hasattr(r, "path")}
    app.add_middleware(MetricsMiddleware, metrics=metrics, known=known)
    return app


def _document_security(app: FastAPI) -> None:
    """Declare the API key schemes in the OpenAPI document (AccessMiddleware enforces them)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
            for path, ops in schema.get("paths", {}).items():
                if AccessMiddleware.protected(path):
                    for op in ops.values():
                        op["security"] = [{"bearer": []}, {"apiKey": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app", "check_auth_policy"]
