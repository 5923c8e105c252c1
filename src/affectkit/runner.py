"""The batch job: read chunks, analyze each with one function, write parts, assemble.

:func:`analyze_frame` is the unit of work: one DataFrame in, the same rows out (same order, every input column
kept) plus prediction columns. The local engine below and the Ray engine both call it, so they produce the
same rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE, Analyzer
from affectkit.errors import InputError, RowErrorsError
from affectkit.labels import get_labelset
from affectkit.progress import progress_bar
from affectkit.reports import JobReport
from affectkit.tabular import CHUNK_CHARS, CHUNK_ROWS, PartWriter, check_input, check_output, read_chunks, write_frame
from affectkit.tabular.table import Table
from affectkit.tabular.writers import fingerprint_file

if TYPE_CHECKING:
    import pandas as pd

    from affectkit.context import ContextOptions
    from affectkit.schema import BatchPrediction
    from affectkit.tabular import Chunk

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
    max_chars: int | None = None  # longer texts get a row error instead of a prediction (None: no limit)
    csv_escape_formulas: bool = False  # CSV/TSV output: quote-prefix text cells a spreadsheet would run
    context: "ContextOptions | None" = None  # conversation context (affectkit.context); None: each row alone
    at_least_one_label: bool = False  # every row gets its most probable label (BatchPrediction.always_labelled)

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("batch_size")
        for key, default in (("max_chars", None), ("csv_escape_formulas", False), ("context", None),
                             ("at_least_one_label", False)):
            if d[key] == default:  # a job that does not use them keeps the identity it had before they existed
                d.pop(key)
        if "context" in d:  # a tuple of columns, as JSON reads it back from a resumed job's manifest
            d["context"]["conversation_cols"] = list(d["context"]["conversation_cols"])
        return d


def analyze_frame(frame: pd.DataFrame, analyzer: Analyzer, options: AnalyzeOptions,
                  read_errors: Sequence[str | None] | None = None, context_carry: Any = None) -> pd.DataFrame:
    """Analyze the ``options.text_col`` column of ``frame``; return ``frame`` plus prediction columns.

    Rows with a read error (from the reader) are not sent to the model; their ``error`` column says why.
    Output columns that would overwrite an input column are refused (use ``prefix``).
    """
    import pandas as pd

    full = predict_frame(frame, analyzer, options, read_errors, context_carry)
    cols = output_columns(full, options, list(frame.columns))
    out = frame.reset_index(drop=True).copy()
    preds = pd.DataFrame(cols)
    return pd.concat([out, preds], axis=1)


def analyze_rows(chunk: "Chunk", analyzer: Analyzer, options: AnalyzeOptions) -> Table:
    """:func:`analyze_frame` for a chunk of a text file (no conversation context), as a :class:`Table`: the same
    cells, without pandas."""
    col = options.text_col
    items = chunk.column(col) if col in chunk.columns else []
    full = _predict_items(chunk.columns, items, len(chunk), analyzer, options, chunk.errors)
    cols = output_columns(full, options, chunk.columns)
    return Table.from_rows(chunk.columns, chunk.rows or []).join(Table.from_dict(cols, len(chunk)))


def output_columns(full: "BatchPrediction", options: AnalyzeOptions, input_columns: list[Any]) -> dict[str, Any]:
    """The prediction columns, laid out and decided as ``options`` say; refused when one would overwrite an input
    column (use ``prefix``)."""
    if options.at_least_one_label:
        full = full.always_labelled()
    cols = full.to_columns(options.top_k, options.vad_scale, options.distribution, options.prefix)
    clash = [c for c in cols if c in input_columns]
    if clash:
        raise InputError(f"output columns {clash} already exist in the input; pass --prefix (e.g. --prefix ak_)")
    return cols


def predict_frame(frame: pd.DataFrame, analyzer: Analyzer, options: AnalyzeOptions,
                  read_errors: Sequence[str | None] | None = None, context_carry: Any = None) -> "BatchPrediction":
    """The predictions for every row of ``frame`` (one per row, in order; rows with a read error carry it).
    With ``options.context``, each row with its previous turns (:mod:`affectkit.context`; ``context_carry``
    holds the turns of the chunk before)."""
    if options.context is not None:
        from affectkit.context import predict_in_context

        return predict_in_context(frame, analyzer, options, read_errors or [None] * len(frame), context_carry,
                                  predict_frame)
    col = options.text_col
    items = list(frame[col]) if col in frame.columns else []
    return _predict_items(list(frame.columns), items, len(frame), analyzer, options, read_errors)


def _predict_items(columns: list[Any], items: list[Any], n: int, analyzer: Analyzer, options: AnalyzeOptions,
                   read_errors: Sequence[str | None] | None = None) -> "BatchPrediction":
    """The predictions for ``n`` rows whose text column holds ``items`` (empty when the rows have no columns)."""
    from affectkit.schema import BatchPrediction

    col = options.text_col
    if col not in columns and len(columns) > 0:
        raise InputError(f"column {col!r} not found; columns are: {', '.join(map(repr, columns))} "
                         "(choose one with --text-col)")
    read_errors = list(read_errors) if read_errors is not None else [None] * n
    if options.max_chars is not None:
        limit = options.max_chars
        read_errors = [e if e is not None or not isinstance(t, str) or len(t) <= limit else
                       f"text has {len(t):,} characters, over the limit of {limit:,} (--max-chars)"
                       for t, e in zip(items, read_errors)] + read_errors[len(items):]
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
    out = BatchPrediction.scatter(n, positions, batch, {i: e for i, e in enumerate(read_errors) if e}, labelset,
                                  analyzer.name)
    if all(out.errors):  # no row predicted (or no rows): still every output column the analyzer gives
        _add_empty_outputs(out, analyzer, labelset)
    return out


def _add_empty_outputs(batch: "BatchPrediction", analyzer: Analyzer, labelset: Any) -> None:
    """Give a batch in which no row was predicted the outputs (VAD, intensity, evidence, ...) the analyzer gives,
    all empty, so that its table has the same columns as any other chunk's. The analyzer's answer for no items
    says which outputs those are."""
    try:
        template = analyzer.predict_batch([], labelset).to_labelset(labelset)
    except Exception:  # noqa: BLE001 - an analyzer that cannot answer for no items: keep the columns there are
        return
    n = len(batch)
    if template.vad is not None and batch.vad is None:
        batch.vad, batch.vad_scale = np.full((n, 3), np.nan), template.vad_scale
    if template.intensity is not None and batch.intensity is None:
        batch.intensity = np.full(n, np.nan)
    if template.evidence is not None and batch.evidence is None:
        batch.evidence = [[] for _ in range(n)]
    for name in ("causes", "explanations"):
        if getattr(template, name) is not None and getattr(batch, name) is None:
            setattr(batch, name, [None] * n)
    for key in template.extra:
        batch.extra.setdefault(key, [None] * n)
    if template.n_segments is not None and batch.n_segments is None:
        batch.n_segments = np.zeros(n, dtype=np.int64)


@dataclass
class AnalyzeReport(JobReport):
    """What ``analyze`` did: :class:`~affectkit.reports.JobReport` plus its chunks, and how many were resumed."""

    chunks: int = 0
    resumed_chunks: int = 0


def run_analyze(input_path: str | Path, output: str | Path | None, analyzer: Analyzer, options: AnalyzeOptions,
                fmt: str | None = None, output_format: str | None = None, chunk_size: int = CHUNK_ROWS,
                resume: bool = True, progress: bool = True) -> AnalyzeReport:
    """Analyze a file (or ``-`` for stdin) chunk by chunk into ``output`` (``None`` = JSONL on stdout).

    With an output file the job is resumable: rerun the same command after an interruption and it continues
    from the last finished chunk.
    """
    fmt = check_input(input_path, fmt)
    check_output(input_path, output)
    report = AnalyzeReport(output=str(output) if output else None)
    t0 = time.time()
    is_file = str(input_path) != "-"
    total = Path(input_path).stat().st_size if is_file and fmt != "parquet" else None
    if fmt == "parquet" and is_file:
        import pyarrow.parquet as pq

        try:
            total = pq.ParquetFile(input_path).metadata.num_rows
        except Exception as e:  # noqa: BLE001 - pyarrow's errors for an empty or corrupt file vary
            raise InputError(f"cannot read Parquet file {input_path}: {e}") from None
    writer = None
    if output is not None and str(output) != "-":
        identity = {"input": fingerprint_file(input_path) if is_file else "stdin", "format": fmt,
                    "model": analyzer.info(), "options": options.identity(), "chunk_size": chunk_size,
                    "chunk_chars": CHUNK_CHARS}
        writer = PartWriter(output, output_format, identity, resume=resume and is_file,
                            escape_formulas=options.csv_escape_formulas)
        report.resumed_chunks = writer.resumed
        if writer.resumed:
            log.warning("resuming: %d chunk(s) already done in %s", writer.resumed, writer.dir)
    bar = progress_bar(total, "row" if fmt == "parquet" else "B", progress)
    carry = None
    if options.context is not None:
        from affectkit.context import ContextCarry

        carry = ContextCarry(options.context, options.text_col)
    try:
        for chunk in read_chunks(input_path, fmt, chunk_size, options.text_col, on_read=bar.update):
            report.chunks += 1
            report.rows += len(chunk)
            if writer is not None and writer.has(chunk.index):  # done by an earlier run: its errors still count
                report.count_errors(writer.read_column(chunk.index, options.prefix + "error"))
                if carry is not None:  # the next chunk's context still needs this chunk's last turns
                    carry.observe(chunk.frame, chunk.errors)
                continue
            result: "pd.DataFrame | Table"
            if chunk.rows is not None and carry is None and (writer is None or writer.fmt != "parquet"):
                result = analyze_rows(chunk, analyzer, options)  # a text file to a text file: no pandas
                report.count_errors(result.column(options.prefix + "error"))
            else:
                result = analyze_frame(chunk.frame, analyzer, options, chunk.errors, carry)
                report.count_errors(result[options.prefix + "error"].tolist())
            report.analysed += len(chunk)
            if writer is not None:
                writer.write(chunk.index, result)
            else:
                write_frame(result, None)
        if writer is not None:
            writer.finish()
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if report.rows == 0:
        log.warning("no rows in %s: %s", input_path if is_file else "stdin",
                    f"{output} has every column and no rows" if writer is not None else "nothing to write")
    report.seconds = time.time() - t0
    return report


def check_row_errors(rows: int, errors: int, max_error_rate: float | None = None,
                     error_counts: dict[str, int] | None = None) -> None:
    """After a job has written its output: raise :class:`~affectkit.errors.RowErrorsError` when every row failed
    (exit status 1) or, with ``max_error_rate``, when the share of failed rows is over it (exit status 3). An
    input without rows fails neither."""
    if rows == 0 or errors == 0:
        return
    top = max(error_counts.items(), key=lambda kv: kv[1])[0] if error_counts else None
    why = f" (most often: {top} ...)" if top else ""  # the reasons are counted by their text before any ':'
    if errors >= rows:
        raise RowErrorsError(f"all {rows:,} rows failed{why}; each row's reason is in the error column")
    if max_error_rate is not None and errors / rows > max_error_rate:
        raise RowErrorsError(f"{errors:,} of {rows:,} rows failed ({errors / rows:.1%}), over --max-error-rate "
                             f"{max_error_rate:g}{why}; the output is written, each row's reason is in the error "
                             "column", exit_code=3)
