"""The service's state and the checks every route shares: which models it serves, its micro-batcher, metrics and
limits; resolving a request's model and label set, size limits, and predictions through the batcher."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from affectkit.analyzers.base import Analyzer
from affectkit.errors import AffectkitError
from affectkit.labels import LabelSet, get_labelset
from affectkit.runner import AnalyzeOptions, analyze_frame
from affectkit.schema import BatchPrediction, Prediction
from affectkit.serve.auth import KeyStore
from affectkit.serve.batcher import MicroBatcher
from affectkit.serve.encoding import dumps, json_object, prediction_json
from affectkit.serve.metrics import ServiceMetrics
from affectkit.serve.schemas import ErrorResponse
from affectkit.serve.settings import Limits, ServeSettings, is_loopback
from affectkit.tabular import write_frame
from affectkit.vad import get_scale

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
INLINE_RENDER_TEXTS = 32  # larger responses are rendered in a worker thread, off the event loop
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse}
                                          for status in (401, 413, 421, 422, 429, 503)}
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


def json_response(head: dict[str, Any], key: str, raw_items: list[bytes]) -> Response:
    """A JSON object of ``head`` plus ``key``: a list of already-encoded JSON values (:mod:`.encoding`)."""
    return Response(json_object(head, key, raw_items), media_type="application/json")


def with_prediction(fields: dict[str, Any], prediction: Prediction, only: list[str] | None = None) -> bytes:
    return dumps(fields)[:-1] + b', "prediction": ' + prediction_json(prediction, only) + b"}"


@dataclass
class Service:
    """What the routes share (``request.app.state.service``)."""

    settings: ServeSettings
    analyzers: dict[str, Analyzer]
    batcher: MicroBatcher
    metrics: ServiceMetrics
    auth: bool

    @property
    def limits(self) -> Limits:
        return self.settings.limits

    def resolve(self, model: str | None, labels: str | None, vad_scale: str | None) -> tuple[str, str | None]:
        model = model or self.settings.default_model
        if model not in self.analyzers:
            raise HTTPException(422, f"unknown model {model!r}; this server serves: {', '.join(self.analyzers)}")
        try:
            labelset = get_labelset(labels).name if labels else None
            if vad_scale:
                get_scale(vad_scale)
        except (KeyError, ValueError) as e:
            raise HTTPException(422, str(e)) from None
        return model, labelset

    def check_size(self, texts: list[Any], what: str = "texts") -> None:
        if len(texts) > self.limits.max_texts:
            raise HTTPException(413, f"{len(texts):,} {what} in one request, over the limit of "
                                     f"{self.limits.max_texts:,}; split the request")
        for i, t in enumerate(texts):
            if isinstance(t, str) and len(t) > self.limits.max_text_chars:
                raise HTTPException(413, f"{what}[{i}] has {len(t):,} characters, over the limit of "
                                         f"{self.limits.max_text_chars:,}")

    async def predict_rows(self, model: str, items: list[Any], labels: str | None,
                           read_errors: list[str | None] | None = None) -> BatchPrediction:
        """One prediction per item through the micro-batcher; rows with a read error keep it as their error."""
        if not read_errors or not any(read_errors):
            return await self.batcher.analyze(model, items, labels)
        ok = [i for i, e in enumerate(read_errors) if e is None]
        part = await self.batcher.analyze(model, [items[i] for i in ok], labels) if ok else None
        labelset = get_labelset(labels) if labels else self.analyzers[model].labelset
        return BatchPrediction.scatter(len(items), ok, part, {i: e for i, e in enumerate(read_errors) if e},
                                       labelset, self.analyzers[model].name)

    async def table(self, frame, model: str, opts: AnalyzeOptions, fmt: str, read_errors=None,
                    escape_formulas: bool = True) -> FileResponse:
        """The rows ``affectkit analyze`` writes for ``frame``, as a CSV or JSONL download (a CSV with formula-like
        cells quote-prefixed unless ``escape_formulas`` is false)."""
        queued = QueuedAnalyzer(self.batcher, model, asyncio.get_running_loop())
        try:
            result = await run_in_threadpool(analyze_frame, frame, queued, opts, read_errors)
        except AffectkitError as e:
            raise HTTPException(422, str(e).replace("--prefix", "prefix")) from None
        folder = tempfile.mkdtemp(prefix="affectkit-serve-")
        path = Path(folder) / f"affectkit-results.{fmt}"
        await run_in_threadpool(lambda: write_frame(result, path, fmt, escape_formulas=escape_formulas))
        return FileResponse(path, media_type=MEDIA_TYPES[fmt], filename=path.name,
                            background=BackgroundTask(shutil.rmtree, folder, True))


def service_of(request: Request) -> Service:
    """The :class:`Service` of the app that received ``request`` (a FastAPI dependency)."""
    return request.app.state.service
