"""``POST /v1/analyze``, ``POST /v1/analyze/file`` and ``POST /v1/rank``: texts in, predictions (or the table
``affectkit analyze`` writes) out, through the service's micro-batcher."""

from __future__ import annotations

import itertools
import math
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from affectkit.errors import AffectkitError, InputTooLarge
from affectkit.ranking import attribute_scores, parse_attribute, rank_order
from affectkit.runner import AnalyzeOptions
from affectkit.serve.encoding import RenderJSON, prediction_json
from affectkit.serve.schemas import (
    AnalyzeFileResponse,
    AnalyzeRequest,
    AnalyzeResponse,
    OutputFormat,
    RankRequest,
    RankResponse,
)
from affectkit.serve.service import (
    ERRORS,
    INLINE_RENDER_TEXTS,
    UPLOAD_BYTES_PER_CHAR,
    Service,
    json_response,
    service_of,
    with_prediction,
)
from affectkit.tabular import detect_format, read_chunks
from affectkit.text import clean_for_output

router = APIRouter()


@router.post("/v1/analyze", response_model=AnalyzeResponse, responses=ERRORS, tags=["analyze"])
async def analyze(req: AnalyzeRequest, svc: Service = Depends(service_of)):
    """Ranked emotions, distribution, multi-label decisions, VAD, intensity, polarity and evidence for one
    text or many, in order; a text that cannot be analyzed keeps its place and says why in ``error``."""
    items = req.items
    svc.check_size(items)
    model, labels = svc.resolve(req.model, req.labels, req.vad_scale)
    if req.format != "json":
        import pandas as pd

        opts = AnalyzeOptions(labels=labels, top_k=req.top_k, vad_scale=req.vad_scale,
                              batch_size=max(1, len(items)), at_least_one_label=req.at_least_one_label)
        return await svc.table(pd.DataFrame({"text": items}, dtype=object), model, opts, req.format,
                           escape_formulas=req.escape_formulas)
    # the predictions are rendered to JSON in the model thread, for all the requests of a batch at once
    render = RenderJSON(req.top_k, req.vad_scale, tuple(req.fields) if req.fields is not None else None,
                        req.at_least_one_label)
    rows = await svc.batcher.analyze(model, items, labels, render=render)
    labelset = labels or svc.analyzers[model].labelset.name
    return json_response({"model": model, "labelset": labelset}, "predictions", rows)


@router.post("/v1/analyze/file", response_model=AnalyzeFileResponse, responses=ERRORS, tags=["analyze"])
async def analyze_file(file: UploadFile = File(..., description="CSV, TSV, JSONL, Parquet or text file."),
                       text_col: str = Form("text"), model: str | None = Form(None),
                       labels: str | None = Form(None), top_k: int = Form(3, ge=1, le=1000),
                       vad_scale: str | None = Form(None), format: OutputFormat = Form("json"),
                       prefix: str = Form("", description="Prefix for the prediction columns of csv/jsonl "
                                                          "output, for tables that already have such names."),
                       escape_formulas: bool = Form(True, description="format=csv: prefix text cells that "
                                                                      "start with = + - @ (or a tab or CR) "
                                                                      "with a single quote."),
                       at_least_one_label: bool = Form(False, description="Give every row at least its most "
                                                                          "probable label."),
                       svc: Service = Depends(service_of)):
    """Analyze the text column of an uploaded table; ``format=csv`` or ``jsonl`` returns the same file
    ``affectkit analyze`` writes (every input column plus the prediction columns)."""
    model, labels = svc.resolve(model, labels, vad_scale)
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
        max_bytes = svc.limits.max_texts * svc.limits.max_text_chars * UPLOAD_BYTES_PER_CHAR
        try:  # one chunk over the limit is enough to say so: never more than two are read
            chunks = await run_in_threadpool(lambda: list(itertools.islice(read_chunks(
                path, fmt, svc.limits.max_texts + 1, text_col, max_rows=svc.limits.max_texts, max_bytes=max_bytes), 2)))
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
        raise HTTPException(413, f"the file has more than {svc.limits.max_texts:,} rows, the limit per request; "
                                 "use 'affectkit analyze' for large files")
    frame, errors = chunk.frame, chunk.errors
    items = list(frame[text_col]) if text_col in frame.columns else []
    svc.check_size(items, "rows")
    if format != "json":
        opts = AnalyzeOptions(text_col=text_col, labels=labels, top_k=top_k, vad_scale=vad_scale,
                              prefix=prefix, batch_size=max(1, len(items)), at_least_one_label=at_least_one_label)
        return await svc.table(frame, model, opts, format, errors, escape_formulas=escape_formulas)
    batch = await svc.predict_rows(model, items, labels, errors)
    if at_least_one_label:
        batch = batch.always_labelled()

    def render() -> Response:
        preds = batch.to_predictions(top_k, vad_scale)
        texts = [clean_for_output(t) if isinstance(t, str) else None for t in items]
        return json_response({"model": model, "labelset": batch.labelset.name, "text_col": text_col, "texts": texts},
                     "predictions", [prediction_json(p) for p in preds])

    return await run_in_threadpool(render)


@router.post("/v1/rank", response_model=RankResponse, responses=ERRORS, tags=["analyze"])
async def rank(req: RankRequest, svc: Service = Depends(service_of)):
    """The texts ordered by an affect attribute, highest first (``-`` first: lowest first); texts that
    fail come last. Uses :func:`affectkit.ranking.attribute_scores` and ``rank_order``."""
    svc.check_size(req.texts)
    model, labels = svc.resolve(req.model, req.labels, req.vad_scale)
    batch = await svc.predict_rows(model, req.texts, labels)
    if req.at_least_one_label:
        batch = batch.always_labelled()
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
            items.append(with_prediction(
                {"rank": r + 1, "index": i, "value": None if math.isnan(value) else value}, preds[i],
                req.fields))
        return json_response({"model": model, "labelset": batch.labelset.name, "by": req.by}, "ranking", items)

    return render() if len(req.texts) <= INLINE_RENDER_TEXTS else await run_in_threadpool(render)
