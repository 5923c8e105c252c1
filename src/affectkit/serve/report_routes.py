"""``POST /v1/report``: the report of ``affectkit report`` for an uploaded file, as one self-contained HTML
page."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from affectkit.analyzers.base import Analyzer
from affectkit.errors import AffectkitError, InputTooLarge
from affectkit.serve.settings import ServeSettings
from affectkit.tabular import detect_format

log = logging.getLogger(__name__)

# the report has no script and loads nothing: its styles are inline and its images are data: URIs
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action "
    "'none'; frame-ancestors 'none'"
)


def add_report_routes(app: FastAPI, analyzers: dict[str, Analyzer], settings: ServeSettings) -> None:
    """Register ``POST /v1/report`` on ``app``. An analysed file of any size the body limit lets through is
    reported; a raw one is analysed first with the chosen model, up to the per-request row limit."""
    from affectkit.report import SECTIONS, TEXT_SECTIONS, ReportOptions, build_report

    @app.post(
        "/v1/report",
        tags=["report"],
        response_class=Response,
        responses={200: {"content": {"text/html": {}}, "description": "The report, one HTML page."}},
    )
    async def report(
        file: UploadFile = File(..., description="An analysed (or raw) CSV, TSV, JSONL or Parquet file."),  # noqa: B008
        group_col: str | None = Form(None),
        date_col: str | None = Form(None),
        freq: str = Form("auto"),
        conversation_col: str | None = Form(None),
        speaker_col: str | None = Form(None),
        order_col: str | None = Form(None),
        gold_valence_col: str | None = Form(None),
        text_col: str = Form("text"),
        model: str | None = Form(None),
        no_text: bool = Form(False),
    ) -> Response:
        """The report of the uploaded file (the sections of ``affectkit report``)."""
        name = model or settings.default_model
        if name not in analyzers:
            raise HTTPException(422, f"unknown model {name!r}; this server serves: {', '.join(analyzers)}")
        try:
            fmt = detect_format(file.filename or "")
        except AffectkitError as e:
            raise HTTPException(422, str(e)) from None
        sections = tuple(s for s in SECTIONS if not (no_text and s in TEXT_SECTIONS))
        opts = ReportOptions(
            text_col=text_col,
            group_col=group_col or None,
            date_col=date_col or None,
            freq=freq,
            conversation_col=conversation_col or None,
            speaker_col=speaker_col or None,
            order_col=order_col or None,
            gold_valence_col=gold_valence_col or None,
            sections=sections,
            model=analyzers[name],
            max_raw_rows=settings.limits.max_texts,
            title=f"Emotion report: {Path(file.filename or 'upload').name}",
        )
        folder = tempfile.mkdtemp(prefix="affectkit-report-")
        try:
            path = Path(folder) / f"upload.{fmt}"
            await run_in_threadpool(_save, file, path)
            page = await run_in_threadpool(_build, build_report, path, opts, file.filename or "the file")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
        )


def _save(file: UploadFile, path: Path) -> None:
    with open(path, "wb") as out:
        shutil.copyfileobj(file.file, out)


def _build(build_report: Any, path: Path, opts: Any, shown_name: str) -> bytes:
    """Build the report next to the upload and return its bytes; input problems become 413 / 422."""
    output = path.with_suffix(".html")
    try:
        build_report(path, output, opts)
    except InputTooLarge as e:
        raise HTTPException(413, str(e).replace(str(path), shown_name)) from None
    except AffectkitError as e:
        raise HTTPException(422, str(e).replace(str(path), shown_name).replace(path.name, shown_name)) from None
    except Exception as e:  # an unreadable file is the client's problem
        log.warning("report of %s failed", shown_name, exc_info=True)
        raise HTTPException(422, f"cannot build a report of {shown_name!r}: {type(e).__name__}") from None
    return output.read_bytes()
