"""Error responses: clear messages in ``{"detail": ...}``, never a stack trace (an unexpected error is logged with
a reference the client gets)."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from affectkit.serve.batcher import ServerBusy
from affectkit.serve.metrics import ServiceMetrics

log = logging.getLogger("affectkit.serve")


def install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    """Register the service's exception handlers on ``app``."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors():
            msg, ctx = e.get("msg", ""), e.get("ctx") or {}
            if e.get("type") == "json_invalid" and isinstance(ctx.get("error"), str):
                msg = f"invalid JSON: {ctx['error']}"
            details.append({"loc": list(e.get("loc", ())), "msg": msg, "type": e.get("type", "")})
        return JSONResponse({"detail": details}, 422)

    @app.exception_handler(ServerBusy)
    async def busy(request: Request, exc: ServerBusy) -> JSONResponse:
        metrics.rejected.labels("busy").inc()
        return JSONResponse({"detail": f"server busy: {exc}; retry later"}, 503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.error("internal error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"internal server error (reference {ref})"}, 500)
