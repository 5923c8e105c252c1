"""A chunk's results as plain columns, written to CSV, TSV or JSONL without pandas.

``affectkit analyze`` on a text file streams each chunk's input cells and predictions through a :class:`Table`:
importing pandas (and the pyarrow it loads) would take more memory than a small model. Cells are written as
pandas writes the same columns (``pd.DataFrame(columns)`` then ``to_csv`` or the JSONL writer of
:mod:`affectkit.tabular.writers`), so the two ways give the same bytes; ``tests/test_output_fidelity.py`` checks
it. Parquet output and the jobs that need whole frames (context, ranking, Ray) use pandas as before.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np

from affectkit.errors import InputError
from affectkit.jsonable import to_jsonable
from affectkit.tabular.readers import detect_format
from affectkit.text import clean_for_output

_NUMBER = (int, float, np.integer, np.floating)
_BOOL = (bool, np.bool_)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def as_pandas_would(values: Sequence[Any]) -> tuple[list[Any], bool]:
    """A column's values as a DataFrame built from it holds them, and whether that is an object column: a numpy
    array as Python scalars; a list whose values are all numbers becomes floats when one is a float or missing
    (pandas infers float64, missing as NaN), ints otherwise; any other list as it is (an object column)."""
    if isinstance(values, np.ndarray):
        return values.tolist(), values.dtype == object
    vals = list(values)
    present = [v for v in vals if not _missing(v)]
    if present and all(isinstance(v, _NUMBER) and not isinstance(v, _BOOL) for v in present):
        if len(present) < len(vals) or any(isinstance(v, (float, np.floating)) for v in present):
            return [math.nan if _missing(v) else float(v) for v in vals], False
        return [int(v) for v in vals], False
    return vals, True


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:\.\.[+-]?\d+(?:\.\d+)?)?")


def escape_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_jsonl_rows(names: list[str], rows: Any, f: IO[str]) -> None:
    """One JSON object per row (strict JSON: NaN and infinities as null)."""
    for row in rows:
        f.write(json.dumps({c: to_jsonable(v) for c, v in zip(names, row)}, ensure_ascii=False))
        f.write("\n")


def _csv_cell(v: Any) -> str:
    """A cell as ``to_csv`` writes it: missing values empty, the rest as ``str`` (floats as their shortest repr)."""
    if _missing(v):
        return ""
    return v if isinstance(v, str) else str(v)


class Table:
    """Named columns of equal length (lists or numpy arrays): a chunk's input cells and its predictions."""

    def __init__(self, names: list[str], columns: list[Sequence[Any]], n_rows: int) -> None:
        self.names, self.columns, self.n_rows = list(names), list(columns), n_rows

    @classmethod
    def from_rows(cls, names: list[str], rows: list[list[Any]]) -> Table:
        columns: list[Sequence[Any]] = [list(c) for c in zip(*rows)] if rows else [[] for _ in names]
        return cls(names, columns, len(rows))

    @classmethod
    def from_dict(cls, columns: dict[str, Sequence[Any]], n_rows: int) -> Table:
        return cls(list(columns), list(columns.values()), n_rows)

    def __len__(self) -> int:
        return self.n_rows

    def join(self, other: Table) -> Table:
        """This table's columns, then ``other``'s (same rows)."""
        return Table(self.names + other.names, self.columns + other.columns, self.n_rows)

    def column(self, name: str) -> list[Any]:
        return list(self.columns[self.names.index(name)])

    def _cells(self, escape_formulas: bool) -> tuple[list[str], list[list[Any]]]:
        """Column names and values as the writers see them: text made writable as UTF-8 (and, for spreadsheets,
        formulas escaped) in object columns only, as :func:`~affectkit.tabular.writers.write_frame` does."""
        names = [clean_for_output(n) for n in self.names]
        columns = []
        for col in self.columns:
            values, is_object = as_pandas_would(col)
            if is_object:
                values = [clean_for_output(v) for v in values]
                if escape_formulas:
                    values = [escape_cell(v) for v in values]
            columns.append(values)
        if escape_formulas:
            names = [escape_cell(n) for n in names]
        return names, columns

    def write(self, path: str | Path | None, fmt: str | None = None, escape_formulas: bool = False) -> None:
        """Write to ``path`` in ``fmt`` (CSV, TSV or JSONL; ``None`` or ``-``: JSONL on stdout)."""
        to_stdout = path is None or str(path) == "-"
        fmt = "jsonl" if to_stdout else detect_format(path, fmt, option="--output-format")  # type: ignore[arg-type]
        if fmt not in ("csv", "tsv", "jsonl"):
            raise InputError(f"a table is written as CSV, TSV or JSONL, not {fmt!r}")
        names, columns = self._cells(escape_formulas and fmt in ("csv", "tsv"))
        rows = zip(*columns) if columns else iter([()] * self.n_rows)
        if to_stdout:
            write_jsonl_rows(names, rows, sys.stdout)
            sys.stdout.flush()
            return
        with open(path, "w", encoding="utf-8", newline="") as f:  # type: ignore[arg-type]
            if fmt == "jsonl":
                write_jsonl_rows(names, rows, f)
                return
            out = csv.writer(f, delimiter="," if fmt == "csv" else "\t", lineterminator=os.linesep)
            out.writerow(names)
            out.writerows([_csv_cell(v) for v in row] for row in rows)
