"""``POST /v1/analyze/media``: images (and, where installed, audio and video) uploaded as multipart files.

Each uploaded file is written to a private temporary folder under a generated name (the client's file name is only
echoed back), analyzed by a media model (``media:auto`` unless the form says otherwise; only ``media:`` models are
accepted here), and deleted. The server's body limit caps the upload; a file that cannot be analyzed (corrupt,
truncated, a decompression bomb, no face) keeps its place in the answer with its ``error``.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from affectkit.serve.encoding import json_object, prediction_json

MAX_FILES = 64  # files per request


def add_media_routes(app: FastAPI) -> None:
    """Register ``POST /v1/analyze/media`` on ``app`` (media models are loaded on first use and kept)."""
    loaded: dict[str, Any] = {}
    lock = threading.Lock()

    def analyzer_for(spec: str) -> Any:
        import affectkit
        from affectkit.media.cli import media_model

        spec = media_model(spec)
        if not spec.startswith("media:"):
            raise HTTPException(422, f"{spec!r} is not a media model; use media:auto, media:face, media:scene, ...")
        with lock:
            if spec not in loaded:
                try:
                    loaded[spec] = affectkit.load(spec)
                except Exception as e:  # noqa: BLE001 - an unknown analyzer or option is the client's problem
                    raise HTTPException(422, f"cannot load {spec!r}: {e}") from None
            return loaded[spec]

    @app.post("/v1/analyze/media", tags=["analyze"], response_class=Response,
              responses={200: {"content": {"application/json": {}},
                               "description": "One prediction per file (per face / window with segments=true)."}})
    async def analyze_media(files: list[UploadFile] = File(..., description="Image, audio or video."),  # noqa: B008
                            model: str = Form("media:auto"), labels: str | None = Form(None),
                            top_k: int = Form(3, ge=1, le=1000), vad_scale: str | None = Form(None),
                            segments: bool = Form(False)) -> Response:
        """Emotions, valence/arousal and the modality's fields (face boxes, time windows) for each file."""
        if len(files) > MAX_FILES:
            raise HTTPException(413, f"at most {MAX_FILES} files per request")
        analyzer = await run_in_threadpool(analyzer_for, model)
        if labels:
            from affectkit.labels import get_labelset

            try:
                get_labelset(labels)
            except Exception as e:  # noqa: BLE001
                raise HTTPException(422, str(e)) from None
        folder = Path(tempfile.mkdtemp(prefix="affectkit-media-"))
        try:
            paths = await run_in_threadpool(_save, files, folder)
            names = [Path(f.filename or f"file-{i}").name for i, f in enumerate(files)]
            rows = await run_in_threadpool(_predict, analyzer, paths, names, labels, top_k, vad_scale, segments)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        head = {"model": analyzer.name, "labelset": labels or analyzer.labelset.name, "files": names}
        return Response(json_object(head, "predictions", rows), media_type="application/json")


def _save(files: list[UploadFile], folder: Path) -> list[str]:
    """Write the uploads under generated names in ``folder``."""
    paths = []
    for i, upload in enumerate(files):
        path = folder / f"upload-{i}"
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out)
        paths.append(str(path))
    return paths


def _predict(analyzer: Any, paths: list[str], names: list[str], labels: str | None, top_k: int,
             vad_scale: str | None, segments: bool) -> list[bytes]:
    batch = (analyzer.analyze_segments_batch(paths, labels) if segments and hasattr(analyzer, "analyze_segments_batch")
             else analyzer.analyze_batch(paths, labels))
    preds = batch.to_predictions(top_k, vad_scale)
    for p in preds:  # the server's temporary path means nothing to the client
        if p.error:
            for path, name in zip(paths, names):
                p.error = p.error.replace(path, name)
    return [prediction_json(p) for p in preds]
