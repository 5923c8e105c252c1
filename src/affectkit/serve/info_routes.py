"""``GET /v1/models``, ``/v1/labelsets``, ``/healthz`` and ``/metrics``: what the service serves and how it is doing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from affectkit.labels import list_labelsets
from affectkit.serve.service import Service, service_of

router = APIRouter()


@router.get("/v1/models", tags=["info"])
async def models(svc: Service = Depends(service_of)) -> dict[str, Any]:
    """The models this server serves (the first is the default) and what each gives."""
    return {"default": svc.settings.default_model,
            "models": [{"id": name, **{k: v for k, v in a.info().items() if k != "path"}}  # no server paths
                       for name, a in svc.analyzers.items()]}


@router.get("/v1/labelsets", tags=["info"])
async def labelsets() -> dict[str, Any]:
    """Every label set a request may ask for in ``labels``."""
    return {"labelsets": [ls.to_dict() for ls in list_labelsets()]}


@router.get("/healthz", tags=["info"])
async def healthz(svc: Service = Depends(service_of)) -> dict[str, Any]:
    """Liveness: the service answers and its svc.batcher runs."""
    return {"status": "ok", "models": list(svc.analyzers), "auth": svc.auth, "queued_texts": svc.batcher.queued}


@router.get("/metrics", tags=["info"], response_class=Response)
async def prometheus(svc: Service = Depends(service_of)) -> Response:
    """Prometheus svc.metrics (text exposition format)."""
    return Response(svc.metrics.exposition(), media_type=svc.metrics.content_type)
