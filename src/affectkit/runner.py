"""The batch job: read chunks, analyze each with one function, write parts, assemble.

:func:`analyze_frame` is the unit of work: one DataFrame in, the same rows out (same order, every input column
kept) plus prediction columns. The local engine below and the Ray engine both call it, so they produce the
same rows.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE, Analyzer
from affectkit.errors import InputError
from affectkit.labels import get_labelset
from affectkit.tabular import PartWriter, check_input, read_chunks, write_frame
from affectkit.tabular.writers import fingerprint_file

if TYPE_CHECKING:
    from affectkit.schema import BatchPrediction

log = logging.getLogger(__name__)


@dataclass
class AnalyzeOptions:
    """What to predict and how to lay it out; part of a job's identity for resuming."""

    text_col: str = "text"
    labels: str | None = None
    top_k: int = 3
    vad_scale: str | None = None
    distribution: bool = True
    prefix: str = ""
    batch_size: int = DEFAULT_BATCH_SIZE

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("batch_size")
        return d


def analyze_frame(frame: pd.DataFrame, analyzer: Analyzer, options: AnalyzeOptions,
                  read_errors: Sequence[str | None] | None = None) -> pd.DataFrame:
    """Analyze the ``options.text_col`` column of ``frame``; return ``frame`` plus prediction columns.

    Rows with a read error (from the reader) are not sent to the model; their ``error`` column says why.
    Output columns that would overwrite an input column are refused (use ``prefix``).
    """
    full = predict_frame(frame, analyzer, options, read_errors)
    cols = full.to_columns(options.top_k, options.vad_scale, options.distribution, options.prefix)
    clash = [c for c in cols if c in frame.columns]
    if clash:
        raise InputError(f"output columns {clash} already exist in the input; pass --prefix (e.g. --prefix ak_)")
    out = frame.reset_index(drop=True).copy()
    preds = pd.DataFrame(cols)
    return pd.concat([out, preds], axis=1)


def predict_frame(frame: pd.DataFrame, analyzer: Analyzer, options: AnalyzeOptions,
                  read_errors: Sequence[str | None] | None = None) -> "BatchPrediction":
    """The predictions for every row of ``frame`` (one per row, in order; rows with a read error carry it)."""
    from affectkit.schema import BatchPrediction

    col = options.text_col
    if col not in frame.columns and len(frame.columns) > 0:
        raise InputError(f"column {col!r} not found; columns are: {', '.join(map(repr, frame.columns))} "
                         "(choose one with --text-col)")
    n = len(frame)
    items = list(frame[col]) if col in frame.columns else []
    read_errors = list(read_errors) if read_errors is not None else [None] * n
    to_model = [i for i in range(n) if read_errors[i] is None]
    parts: list[Any] = []
    for b in range(0, len(to_model), options.batch_size):
        idx = to_model[b : b + options.batch_size]
        parts.append((idx, analyzer.analyze_batch([items[i] for i in idx], options.labels)))
    labelset = get_labelset(options.labels) if options.labels else analyzer.labelset
    if parts:
        batch = BatchPrediction.concat([p for _, p in parts])
        positions = [i for idx, _ in parts for i in idx]
    else:
        batch, positions = None, []
    return BatchPrediction.scatter(n, positions, batch, {i: e for i, e in enumerate(read_errors) if e}, labelset,
                                   analyzer.name)


@dataclass
class JobReport:
    rows: int = 0
    errors: int = 0
    chunks: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    output: str | None = None
    error_counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _progress(total: int | None, unit: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                desc="analyze")


def run_analyze(input_path: str | Path, output: str | Path | None, analyzer: Analyzer, options: AnalyzeOptions,
                fmt: str | None = None, output_format: str | None = None, chunk_size: int = 4096,
                resume: bool = True, progress: bool = True) -> JobReport:
    """Analyze a file (or ``-`` for stdin) chunk by chunk into ``output`` (``None`` = JSONL on stdout).

    With an output file the job is resumable: rerun the same command after an interruption and it continues
    from the last finished chunk.
    """
    fmt = check_input(input_path, fmt)
    report = JobReport(output=str(output) if output else None)
    t0 = time.time()
    is_file = str(input_path) != "-"
    total = Path(input_path).stat().st_size if is_file and fmt != "parquet" else None
    if fmt == "parquet" and is_file:
        import pyarrow.parquet as pq

        total = pq.ParquetFile(input_path).metadata.num_rows
    bar = _progress(total, "row" if fmt == "parquet" else "B", progress)
    writer = None
    if output is not None and str(output) != "-":
        identity = {"input": fingerprint_file(input_path) if is_file else "stdin", "format": fmt,
                    "model": analyzer.info(), "options": options.identity(), "chunk_size": chunk_size}
        writer = PartWriter(output, output_format, identity, resume=resume and is_file)
        report.resumed_chunks = writer.resumed
        if writer.resumed:
            log.warning("resuming: %d chunk(s) already done in %s", writer.resumed, writer.dir)
    try:
        for chunk in read_chunks(input_path, fmt, chunk_size, options.text_col, on_read=bar.update):
            report.chunks += 1
            report.rows += len(chunk)
            if writer is not None and writer.has(chunk.index):
                continue
            result = analyze_frame(chunk.frame, analyzer, options, chunk.errors)
            errs = result[options.prefix + "error"]
            report.errors += int(errs.notna().sum())
            for e in errs.dropna():
                key = str(e).split(":")[0]
                report.error_counts[key] = report.error_counts.get(key, 0) + 1
            if writer is not None:
                writer.write(chunk.index, result)
            else:
                write_frame(result, None)
    finally:
        bar.close()
    if writer is not None:
        writer.finish()
    report.seconds = time.time() - t0
    return report
