"""Reading the input of a report into an Arrow table: only the columns the report uses, with a clear message
when the analysis columns are missing (or, for a raw file, analysing it on the fly with the Python API)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from affectkit.errors import InputError, InputTooLarge
from affectkit.tabular import check_input

# what the report needs from an analysed file (besides at least one p_<label> column)
ANALYSIS_COLUMNS = ("emotion_1", "valence", "arousal")
OPTIONAL_COLUMNS = ("labels", "evidence", "error")


@dataclass
class ReportInput:
    """The table a report is built from, and what was noticed while reading it."""

    table: pa.Table
    labels: list[str]
    text_col: str | None
    analysed_here: bool = False
    warnings: list[str] = field(default_factory=list)


def read_columns(path: Path, fmt: str) -> list[str]:
    """The column names of a file, from its header (CSV/TSV), schema (Parquet) or first line (JSONL)."""
    if fmt in ("csv", "tsv"):
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            return next(csv.reader(f, delimiter="," if fmt == "csv" else "\t"), [])
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if fmt == "jsonl":
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    first = json.loads(line)
                    return list(first) if isinstance(first, dict) else []
        return []
    return ["text"]


def read_table(path: Path, fmt: str, columns: list[str]) -> pa.Table:
    """Read only ``columns`` of the file, with the probabilities as float32. Parquet is read column by column
    and CSV/TSV batch by batch, so the peak memory stays near the size of the table itself."""
    if fmt in ("csv", "tsv"):
        from pyarrow import csv as pacsv

        # every column but the numeric ones is read as text, so a group such as "007" keeps its zeros
        reader = pacsv.open_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter="," if fmt == "csv" else "\t", newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types=_text_types(columns), strings_can_be_null=True
            ),
            read_options=pacsv.ReadOptions(block_size=8 << 20),
        )
        return reader.read_all()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        source = pq.ParquetFile(path, pre_buffer=False)
        arrays = {}
        for name in columns:
            column = source.read(columns=[name], use_threads=False).column(0)
            arrays[name] = column.cast(pa.float32()) if name.startswith("p_") else column
        return pa.table(arrays)
    if fmt == "jsonl":
        from pyarrow import json as pajson

        table = pajson.read_json(path).select(columns)
        return table.cast(
            pa.schema([pa.field(f.name, pa.float32()) if f.name.startswith("p_") else f for f in table.schema])
        )
    raise InputError(f"a report needs a table (CSV, TSV, JSONL or Parquet), not {fmt}")


def _text_types(columns: list[str]) -> dict[str, Any]:
    """Column types for the CSV reader: probabilities as float32 (half the memory; 7 significant digits is
    more than the analysis writes), the scores as float64, the rest as text."""
    numeric = {"valence", "arousal", "dominance", "intensity", "emotion_1_score"}
    return {c: pa.float32() if c.startswith("p_") else pa.float64() if c in numeric else pa.string() for c in columns}


def missing_analysis(columns: list[str]) -> list[str]:
    """The analysis columns a file lacks (``p_<label>`` stands for "no probability column at all")."""
    missing = [c for c in ANALYSIS_COLUMNS if c not in columns]
    if not any(c.startswith("p_") for c in columns):
        missing.append("p_<label>")
    return missing


def load_input(
    path: str | Path,
    wanted: list[str],
    text_col: str = "text",
    analyze: bool | None = None,
    model: Any = "default",
    fmt: str | None = None,
    max_raw_rows: int | None = None,
) -> ReportInput:
    """Read ``path`` for a report. ``wanted`` are the extra columns the options name (group, date, ...); each
    must exist. A file with none of the analysis columns is analysed on the fly with ``model`` (a name or an
    analyzer) when ``analyze`` is not False, up to ``max_raw_rows`` rows; one with only some of them is an
    error that names what is missing."""
    path = Path(path)
    fmt = check_input(path, fmt)
    columns = read_columns(path, fmt)
    absent = [c for c in wanted if c not in columns]
    if absent:
        raise InputError(
            f"column(s) {', '.join(map(repr, absent))} not found in {path}; columns are: "
            f"{', '.join(map(repr, columns[:40]))}"
        )
    missing = missing_analysis(columns)
    has_text = text_col in columns
    if missing and (analyze is False or len(missing) < len(ANALYSIS_COLUMNS) + 1 or not has_text):
        hint = f"analyse it first: affectkit analyze {path} -o {path.stem}.affect{path.suffix or '.csv'}" + (
            "" if analyze is False or not has_text else " (or give the raw file, which is analysed on the fly)"
        )
        if not has_text:
            hint += f"; there is no text column {text_col!r} to analyse either (--text-col)"
        raise InputError(f"{path} is missing the analysis column(s) {', '.join(missing)}; {hint}")
    labels = [c[2:] for c in columns if c.startswith("p_")]
    keep = [
        c
        for c in columns
        if c in ANALYSIS_COLUMNS or c in OPTIONAL_COLUMNS or c.startswith("p_") or c in wanted or c == text_col
    ]
    if not missing:
        try:
            table = read_table(path, fmt, keep)
        except pa.ArrowInvalid as e:
            raise InputError(f"cannot read {path} as {fmt}: {e}") from None
        return ReportInput(table, labels, text_col if has_text else None)
    return _analyse_raw(path, fmt, wanted, text_col, model, max_raw_rows)


def _analyse_raw(
    path: Path, fmt: str, wanted: list[str], text_col: str, model: Any, max_rows: int | None
) -> ReportInput:
    """Analyse a raw file with the Python API (whole file in memory: for large files, ``affectkit analyze``
    first streams with bounded memory and resumes)."""
    import pandas as pd

    import affectkit
    from affectkit.tabular import read_chunks

    keep = list(dict.fromkeys([text_col, *wanted]))
    frames = [chunk.frame[keep] for chunk in read_chunks(path, fmt, 65536, text_col, max_rows=max_rows)]
    rows = sum(len(f) for f in frames)
    if max_rows is not None and rows > max_rows:
        raise InputTooLarge(
            f"the file has {rows:,} rows to analyse, over the limit of {max_rows:,}; analyse "
            "it first (affectkit analyze) and send the analysed file"
        )
    frame = affectkit.analyze(pd.concat(frames, ignore_index=True), model=model, text_col=text_col)
    labels = [c[2:] for c in frame.columns if c.startswith("p_")]
    name = model if isinstance(model, str) else type(model).__name__
    note = f"{path.name} had no analysis columns: its {len(frame):,} rows were analysed here with model {name!r}"
    return ReportInput(pa.Table.from_pandas(frame, preserve_index=False), labels, text_col, True, [note])
