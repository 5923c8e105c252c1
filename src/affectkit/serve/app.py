"""The REST service: ``create_app(settings)`` builds a FastAPI app around the same analyzers and prediction
schema as the CLI.

Endpoints: ``POST /v1/analyze``, ``POST /v1/analyze/file``, ``POST /v1/rank``, ``GET /v1/models``,
``GET /v1/labelsets``, ``GET /healthz``, ``GET /metrics``, the OpenAPI document (``/openapi.json``, ``/docs``)
and the web page at ``/``. Requests pass, outermost first: metrics, security headers, CORS (only when origins
are configured), API key and rate limit, body size limit, then the route, whose model work goes through the
:class:`~affectkit.serve.batcher.MicroBatcher`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import math
import shutil
import tempfile
import uuid
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

import affectkit
from affectkit.analyzers.base import Analyzer
from affectkit.errors import AffectkitError, InputTooLarge
from affectkit.labels import LabelSet, get_labelset, list_labelsets
from affectkit.ranking import attribute_scores, parse_attribute, rank_order
from affectkit.runner import AnalyzeOptions, analyze_frame
from affectkit.schema import BatchPrediction, Prediction
from affectkit.serve.auth import KeyStore
from affectkit.serve.batcher import MicroBatcher, ServerBusy
from affectkit.serve.metrics import MetricsMiddleware, ServiceMetrics
from affectkit.serve.middleware import (AccessMiddleware, BodyLimitMiddleware, LoopbackHostMiddleware, RateLimiter,
                                        SecurityHeadersMiddleware)
from affectkit.serve.schemas import (AnalyzeFileResponse, AnalyzeRequest, AnalyzeResponse, ErrorResponse,
                                     OutputFormat, RankRequest, RankResponse)
from affectkit.serve.settings import ServeSettings, is_loopback
from affectkit.tabular import detect_format, read_chunks, write_frame
from affectkit.text import clean_for_output
from affectkit.threads import limit_blas_threads
from affectkit.vad import get_scale

log = logging.getLogger("affectkit.serve")

STATIC_DIR = Path(str(resources.files("affectkit.serve").joinpath("static")))
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
INLINE_RENDER_TEXTS = 32  # larger responses are rendered in a worker thread, off the event loop
ERRORS = {status: {"model": ErrorResponse} for status in (401, 413, 421, 422, 429, 503)}
UPLOAD_BYTES_PER_CHAR = 4  # an upload may decompress to max_texts x max_text_chars x this (UTF-8), no more


def check_auth_policy(keys: KeyStore, host: str) -> bool:
    """Whether auth is on. It must be unless the server binds to a loopback address only."""
    if len(keys):
        return True
    if not is_loopback(host):
        raise AffectkitError(f"refusing to serve on {host} without API keys: anyone who can reach this address "
                             "could use the service. Create a key with 'affectkit serve new-key NAME --keys-file "
                             "keys.txt' and pass --keys-file keys.txt, or bind to 127.0.0.1")
    return False


class QueuedAnalyzer(Analyzer):
    """An analyzer whose batches go through the service's micro-batcher, for code that calls
    ``analyze_batch`` from a worker thread (such as :func:`affectkit.runner.analyze_frame`)."""

    def __init__(self, batcher: MicroBatcher, model: str, loop: asyncio.AbstractEventLoop) -> None:
        self.batcher, self.model, self.loop = batcher, model, loop
        inner = batcher.analyzers[model]
        self.name, self.labelset, self.modality = inner.name, inner.labelset, inner.modality
        self._inner = inner

    def analyze_batch(self, items, labels=None) -> BatchPrediction:
        name = get_labelset(labels).name if labels is not None else None
        return asyncio.run_coroutine_threadsafe(self.batcher.analyze(self.model, list(items), name),
                                                self.loop).result()

    def predict_batch(self, items, labels: LabelSet | None = None) -> BatchPrediction:
        return self.analyze_batch(items, labels)

    def info(self) -> dict[str, Any]:
        return self._inner.info()


# FastAPI (0.16x) looks up OpenTelemetry providers on every request (about 4% of the event loop's time under load);
# the service exports its own Prometheus metrics at /metrics, so FastAPI's telemetry is off where it exists
_NO_OPENTELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def _json(head: dict[str, Any], key: str, raw_items: list[str]) -> Response:
    """A JSON object of ``head`` plus ``key``: a list of already-serialised JSON values (Prediction.to_json)."""
    text = json.dumps(head, ensure_ascii=False)[:-1] + f', "{key}": [' + ",".join(raw_items) + "]}"
    # lone surrogates cannot be UTF-8: written as \\uXXXX escapes, which is still valid JSON
    return Response(text.encode("utf-8", "backslashreplace"), media_type="application/json")


def _with_prediction(fields: dict[str, Any], prediction: Prediction) -> str:
    return json.dumps(fields)[:-1] + ', "prediction": ' + prediction.to_json() + "}"


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
                  **_NO_OPENTELEMETRY)
    app.state.settings, app.state.batcher, app.state.metrics, app.state.auth = settings, batcher, metrics, auth

    # -- errors: clear messages, never a stack trace ------------------------------------------------------------------
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

    # -- request checks -------------------------------------------------------------------------------------------------
    def resolve(model: str | None, labels: str | None, vad_scale: str | None) -> tuple[str, str | None]:
        model = model or settings.default_model
        if model not in analyzers:
            raise HTTPException(422, f"unknown model {model!r}; this server serves: {', '.join(analyzers)}")
        try:
            labelset = get_labelset(labels).name if labels else None
            if vad_scale:
                get_scale(vad_scale)
        except (KeyError, ValueError) as e:
            raise HTTPException(422, str(e)) from None
        return model, labelset

    def check_size(texts: list[Any], what: str = "texts") -> None:
        if len(texts) > limits.max_texts:
            raise HTTPException(413, f"{len(texts):,} {what} in one request, over the limit of "
                                     f"{limits.max_texts:,}; split the request")
        for i, t in enumerate(texts):
            if isinstance(t, str) and len(t) > limits.max_text_chars:
                raise HTTPException(413, f"{what}[{i}] has {len(t):,} characters, over the limit of "
                                         f"{limits.max_text_chars:,}")

    async def predict_rows(model: str, items: list[Any], labels: str | None,
                           read_errors: list[str | None] | None = None) -> BatchPrediction:
        """One prediction per item through the micro-batcher; rows with a read error keep it as their error."""
        if not read_errors or not any(read_errors):
            return await batcher.analyze(model, items, labels)
        ok = [i for i, e in enumerate(read_errors) if e is None]
        part = await batcher.analyze(model, [items[i] for i in ok], labels) if ok else None
        labelset = get_labelset(labels) if labels else analyzers[model].labelset
        return BatchPrediction.scatter(len(items), ok, part, {i: e for i, e in enumerate(read_errors) if e},
                                       labelset, analyzers[model].name)

    async def table(frame, model: str, opts: AnalyzeOptions, fmt: str, read_errors=None,
                    escape_formulas: bool = True) -> FileResponse:
        """The rows ``affectkit analyze`` writes for ``frame``, as a CSV or JSONL download (a CSV with formula-like
        cells quote-prefixed unless ``escape_formulas`` is false)."""
        queued = QueuedAnalyzer(batcher, model, asyncio.get_running_loop())
        try:
            result = await run_in_threadpool(analyze_frame, frame, queued, opts, read_errors)
        except AffectkitError as e:
            raise HTTPException(422, str(e).replace("--prefix", "prefix")) from None
        folder = tempfile.mkdtemp(prefix="affectkit-serve-")
        path = Path(folder) / f"affectkit-results.{fmt}"
        await run_in_threadpool(lambda: write_frame(result, path, fmt, escape_formulas=escape_formulas))
        return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=path.name,
                            background=BackgroundTask(shutil.rmtree, folder, True))

    # -- the API ---------------------------------------------------------------------------------------------------------
    @app.post("/v1/analyze", response_model=AnalyzeResponse, responses=ERRORS, tags=["analyze"])
    async def analyze(req: AnalyzeRequest):
        """Ranked emotions, distribution, multi-label decisions, VAD, intensity, polarity and evidence for one
        text or many, in order; a text that cannot be analyzed keeps its place and says why in ``error``."""
        items = req.items
        check_size(items)
        model, labels = resolve(req.model, req.labels, req.vad_scale)
        if req.format != "json":
            import pandas as pd

            opts = AnalyzeOptions(labels=labels, top_k=req.top_k, vad_scale=req.vad_scale,
                                  batch_size=max(1, len(items)))
            return await table(pd.DataFrame({"text": items}, dtype=object), model, opts, req.format,
                               escape_formulas=req.escape_formulas)
        batch = await predict_rows(model, items, labels)

        def render() -> Response:
            preds = batch.to_predictions(req.top_k, req.vad_scale)
            return _json({"model": model, "labelset": batch.labelset.name}, "predictions",
                         [p.to_json() for p in preds])

        return render() if len(items) <= INLINE_RENDER_TEXTS else await run_in_threadpool(render)

    @app.post("/v1/analyze/file", response_model=AnalyzeFileResponse, responses=ERRORS, tags=["analyze"])
    async def analyze_file(file: UploadFile = File(..., description="CSV, TSV, JSONL, Parquet or text file."),
                           text_col: str = Form("text"), model: str | None = Form(None),
                           labels: str | None = Form(None), top_k: int = Form(3, ge=1, le=1000),
                           vad_scale: str | None = Form(None), format: OutputFormat = Form("json"),
                           prefix: str = Form("", description="Prefix for the prediction columns of csv/jsonl "
                                                              "output, for tables that already have such names."),
                           escape_formulas: bool = Form(True, description="format=csv: prefix text cells that "
                                                                          "start with = + - @ (or a tab or CR) "
                                                                          "with a single quote.")):
        """Analyze the text column of an uploaded table; ``format=csv`` or ``jsonl`` returns the same file
        ``affectkit analyze`` writes (every input column plus the prediction columns)."""
        model, labels = resolve(model, labels, vad_scale)
        try:
            fmt = detect_format(file.filename or "")
        except AffectkitError as e:
            raise HTTPException(422, str(e)) from None
        folder = tempfile.mkdtemp(prefix="affectkit-upload-")
        try:
            path = Path(folder) / f"upload.{fmt}"
            with open(path, "wb") as out:
                await run_in_threadpool(shutil.copyfileobj, file.file, out)
            # the limits apply while reading: a Parquet file is measured by its metadata before any row is
            # decoded, so a small upload that decompresses to millions of rows is refused without holding them
            max_bytes = limits.max_texts * limits.max_text_chars * UPLOAD_BYTES_PER_CHAR
            try:  # one chunk over the limit is enough to say so: never more than two are read
                chunks = await run_in_threadpool(lambda: list(itertools.islice(read_chunks(
                    path, fmt, limits.max_texts + 1, text_col, max_rows=limits.max_texts, max_bytes=max_bytes), 2)))
            except InputTooLarge as e:
                raise HTTPException(413, f"{e}; split the file, or use 'affectkit analyze' for large files") from None
            except AffectkitError as e:
                raise HTTPException(422, str(e).replace(str(path), file.filename or "the file")) from None
            except Exception as e:  # an unreadable file (e.g. not Parquet at all) is the client's problem
                raise HTTPException(422, f"cannot read {file.filename!r} as {fmt}: {type(e).__name__}") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        chunk = chunks[0]
        if len(chunks) > 1:
            raise HTTPException(413, f"the file has more than {limits.max_texts:,} rows, the limit per request; "
                                     "use 'affectkit analyze' for large files")
        frame, errors = chunk.frame, chunk.errors
        items = list(frame[text_col]) if text_col in frame.columns else []
        check_size(items, "rows")
        if format != "json":
            opts = AnalyzeOptions(text_col=text_col, labels=labels, top_k=top_k, vad_scale=vad_scale,
                                  prefix=prefix, batch_size=max(1, len(items)))
            return await table(frame, model, opts, format, errors, escape_formulas=escape_formulas)
        batch = await predict_rows(model, items, labels, errors)

        def render() -> Response:
            preds = batch.to_predictions(top_k, vad_scale)
            texts = [clean_for_output(t) if isinstance(t, str) else None for t in items]
            return _json({"model": model, "labelset": batch.labelset.name, "text_col": text_col, "texts": texts},
                         "predictions", [p.to_json() for p in preds])

        return await run_in_threadpool(render)

    @app.post("/v1/rank", response_model=RankResponse, responses=ERRORS, tags=["analyze"])
    async def rank(req: RankRequest):
        """The texts ordered by an affect attribute, highest first (``-`` first: lowest first); texts that
        fail come last. Uses :func:`affectkit.ranking.attribute_scores` and ``rank_order``."""
        check_size(req.texts)
        model, labels = resolve(req.model, req.labels, req.vad_scale)
        batch = await predict_rows(model, req.texts, labels)
        try:
            keys = attribute_scores(batch, req.by)
            values = attribute_scores(batch, parse_attribute(req.by)[0])
        except ValueError as e:
            raise HTTPException(422, str(e)) from None

        def render() -> Response:
            preds = batch.to_predictions(req.top_k, req.vad_scale)
            items = []
            for r, i in enumerate(rank_order(keys).tolist()):
                value = float(values[i])
                items.append(_with_prediction(
                    {"rank": r + 1, "index": i, "value": None if math.isnan(value) else value}, preds[i]))
            return _json({"model": model, "labelset": batch.labelset.name, "by": req.by}, "ranking", items)

        return render() if len(req.texts) <= INLINE_RENDER_TEXTS else await run_in_threadpool(render)

    @app.get("/v1/models", tags=["info"])
    async def models() -> dict[str, Any]:
        """The models this server serves (the first is the default) and what each gives."""
        return {"default": settings.default_model,
                "models": [{"id": name, **{k: v for k, v in a.info().items() if k != "path"}}  # no server paths
                           for name, a in analyzers.items()]}

    @app.get("/v1/labelsets", tags=["info"])
    async def labelsets() -> dict[str, Any]:
        """Every label set a request may ask for in ``labels``."""
        return {"labelsets": [ls.to_dict() for ls in list_labelsets()]}

    @app.get("/healthz", tags=["info"])
    async def healthz() -> dict[str, Any]:
        """Liveness: the service answers and its batcher runs."""
        return {"status": "ok", "models": list(analyzers), "auth": auth, "queued_texts": batcher.queued}

    @app.get("/metrics", tags=["info"], response_class=Response)
    async def prometheus() -> Response:
        """Prometheus metrics (text exposition format)."""
        return Response(metrics.exposition(), media_type=metrics.content_type)

    if settings.page:
        @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
        async def page() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                                headers={"Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY",
                                         "Cache-Control": "no-cache"})

        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    _document_security(app)

    # -- middleware: the last added runs first ---------------------------------------------------------------------------
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
    known = {r.path for r in app.routes if hasattr(r, "path")}
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


__all__ = ["create_app", "QueuedAnalyzer", "OutputFormat"]
