"""Streaming readers. Each yields :class:`Chunk` objects of at most ``chunk_size`` rows, in input order.

A row that cannot be parsed (a CSV record with the wrong number of fields or a stray quote, a JSONL line that is
not a JSON object or lacks the text field) still becomes a row, with its reason in ``Chunk.errors``: rows in
equals rows out. Bytes that are not valid UTF-8 are kept as lone surrogates (``errors="surrogateescape"``) so the
row can say so. A CSV record that cannot be parsed and runs on over several lines (an unclosed quote) fails the
job instead: the records after it cannot be told apart reliably, and none is merged into its neighbour. An empty
input (no bytes, or only a header) gives one empty chunk, with the header's columns or just the text column.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator

from affectkit.errors import InputError, InputTooLarge

log = logging.getLogger(__name__)

FORMATS = ("csv", "tsv", "jsonl", "parquet", "txt")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
               ".parquet": "parquet", ".pq": "parquet", ".txt": "txt", ".text": "txt"}
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long texts are segmented later, never cut here
CHUNK_ROWS = 1024  #: rows per chunk of a text file, at most
#: characters per chunk of a text file, at most (a longer row is a chunk of its own): with ``CHUNK_ROWS`` this
#: bounds a chunk's memory whether its rows are tweets or books
CHUNK_CHARS = 4_000_000


if TYPE_CHECKING:
    import pandas as pd

MISSING = float("nan")  #: a JSONL row's cell for a field it lacks (what pandas puts there)


class Chunk:
    """Rows ``start .. start + len(chunk)`` of the input, with per-row read errors (``None`` = read fine).

    The text formats hold their rows as lists (:attr:`columns`, :attr:`rows`), so that a job that only streams
    rows through never imports pandas; :attr:`frame` gives them as a DataFrame of object columns, built on first
    use. A Parquet chunk is a DataFrame from the start."""

    def __init__(self, index: int, start: int, frame: "pd.DataFrame | None" = None,
                 errors: list[str | None] | None = None, *, columns: list[str] | None = None,
                 rows: list[list[Any]] | None = None) -> None:
        self.index, self.start = index, start
        self.errors: list[str | None] = list(errors) if errors is not None else []
        self._frame = frame
        self._rows = rows if frame is None else None
        self.columns: list[str] = [str(c) for c in frame.columns] if frame is not None else list(columns or [])

    def __len__(self) -> int:
        return len(self._frame) if self._frame is not None else len(self._rows or [])

    @property
    def frame(self) -> "pd.DataFrame":
        if self._frame is None:
            import pandas as pd

            self._frame = pd.DataFrame(self._rows or [], columns=self.columns, dtype=object)
        return self._frame

    @property
    def rows(self) -> list[list[Any]] | None:
        """The rows as lists in :attr:`columns` order, or None for a chunk read as a DataFrame (Parquet)."""
        return self._rows

    def column(self, name: str) -> list[Any]:
        """The cells of column ``name``, in row order."""
        if self._rows is None:
            return list(self.frame[name])
        at = self.columns.index(name)
        return [row[at] for row in self._rows]


def detect_format(path: str | Path, fmt: str | None = None, option: str = "--format") -> str:
    """The format named by ``fmt`` or by the file extension (``.gz`` and friends are not sniffed). ``option`` is
    the command-line option that names the format, for the message (``--output-format`` for an output)."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r} ({option}); supported: {', '.join(FORMATS)}")
        return fmt
    if str(path) == "-":
        return "txt"
    ext = Path(path).suffix.lower()
    if ext not in _EXTENSIONS:
        raise InputError(f"cannot tell the format of {path} from its extension {ext!r}; pass {option} "
                         f"({', '.join(FORMATS)})")
    return _EXTENSIONS[ext]


class _CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts bytes read (for byte-based progress)."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None] | None = None) -> None:
        self.raw = raw
        self.on_read = on_read
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        if self.on_read and n:
            self.on_read(n)
        return n


def check_input(path: str | Path, fmt: str | None = None) -> str:
    """Fail fast on a missing input file (``-`` is stdin) or a format that cannot be told; return the format."""
    if str(path) != "-" and not Path(path).is_file():
        raise InputError(f"input file not found: {path}")
    return detect_format(path, fmt)


def check_output(input_path: str | Path, output: str | Path | None) -> None:
    """Refuse an output file that is the input file: writing it would destroy the rows still to be read."""
    if output is None or str(output) == "-" or str(input_path) == "-":
        return
    src, dst = Path(input_path), Path(output)
    if src.resolve() == dst.resolve() or (src.exists() and dst.exists() and src.samefile(dst)):
        raise InputError(f"the output {output} is the input file: it would be overwritten; choose another -o")


def _open_text(path: str | Path, on_read: Callable[[int], None] | None) -> IO[str]:
    raw: IO[bytes] = sys.stdin.buffer if str(path) == "-" else open(path, "rb")
    counted = io.BufferedReader(_CountingReader(raw, on_read), buffer_size=1 << 20)
    # utf-8-sig drops a byte-order mark; undecodable bytes survive as lone surrogates and are reported per row
    return io.TextIOWrapper(counted, encoding="utf-8-sig", errors="surrogateescape", newline="")


def read_chunks(path: str | Path, fmt: str | None = None, chunk_size: int = CHUNK_ROWS, text_col: str | None = None,
                on_read: Callable[[int], None] | None = None, max_rows: int | None = None,
                max_bytes: int | None = None, typed: bool = True, chunk_chars: int = CHUNK_CHARS) -> Iterator[Chunk]:
    """Stream ``path`` (or ``-`` for stdin) as chunks of ``chunk_size`` rows or, in the text formats, fewer when
    their cells reach ``chunk_chars`` characters. ``text_col`` is checked against the header/first rows so
    that a missing column fails the job at once, listing the columns that exist.

    ``typed`` (with ``text_col`` given): a CSV/TSV column other than the text whose every cell in the chunk is a
    number written the way Python writes it back (``7``, ``-3``, ``2.5``; not ``007``, ``1e3`` or ``1.50``) holds
    ints and floats, empty cells None, so JSONL and Parquet outputs keep numbers numbers and a CSV output gets
    the same characters back.

    ``max_rows`` and ``max_bytes`` bound a Parquet file, whose few compressed bytes may hold millions of rows:
    they are checked against its metadata (rows, and bytes once decompressed) before any row is decoded, and
    over them :class:`~affectkit.errors.InputTooLarge` is raised. The text formats hold no more than their bytes,
    which the caller can bound (the service's body limit); they read on, chunk by chunk, as always."""
    fmt = detect_format(path, fmt)
    if str(path) != "-" and not Path(path).exists():
        raise InputError(f"input file not found: {path}")
    if fmt in ("csv", "tsv"):
        for chunk in _read_delimited(path, "," if fmt == "csv" else "\t", chunk_size, text_col, on_read,
                                     chunk_chars):
            if typed and text_col is not None and chunk.rows is not None:
                numbers_as_numbers(chunk.columns, chunk.rows, keep=text_col)
            yield chunk
    elif fmt == "jsonl":
        yield from read_jsonl(path, chunk_size, text_col, on_read, chunk_chars)
    elif fmt == "parquet":
        yield from _read_parquet(path, chunk_size, text_col, on_read, max_rows, max_bytes)
    else:
        yield from _read_lines(path, chunk_size, text_col, on_read, chunk_chars)


_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+")


def _as_number(cell: str) -> int | float | None:
    """``cell`` as the int or float that Python writes back as the same characters, else None."""
    if _INT.fullmatch(cell):
        return int(cell) if len(cell) < 19 and cell != "-0" else None  # int64 range, for Parquet
    if _FLOAT.fullmatch(cell):
        value = float(cell)
        return value if repr(value) == cell else None
    return None


def numbers_as_numbers(columns: list[str], rows: list[list[Any]], keep: str) -> None:
    """In ``rows`` (cells read as text), each column but ``keep`` whose non-empty cells are all numbers that
    round-trip exactly (:func:`_as_number`) is made to hold those numbers (empty and missing cells: None)."""
    for i, name in enumerate(columns):
        if name == keep:
            continue
        values: list[int | float | None] = []
        for row in rows:
            cell = row[i]
            number = None if cell is None or cell == "" else _as_number(cell)
            if number is None and cell not in (None, ""):
                break
            values.append(number)
        else:
            if any(v is not None for v in values):
                for row, v in zip(rows, values):
                    row[i] = v


def _missing_column(col: str, columns: list[str], path: str | Path) -> InputError:
    return InputError(f"column {col!r} not found in {path}; columns are: {', '.join(map(repr, columns)) or '(none)'}"
                      " (choose one with --text-col)")


def _read_delimited(path, delimiter: str, chunk_size: int, text_col: str | None, on_read,
                    chunk_chars: int = CHUNK_CHARS) -> Iterator[Chunk]:
    with _open_text(path, on_read) as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:  # no bytes at all: no rows, and only the text column is known
            yield Chunk(0, 0, columns=[text_col or "text"], rows=[])
            return
        except csv.Error as e:
            raise InputError(f"cannot parse the header of {path}: {e}") from None
        header = _dedupe([h.strip() or f"column_{i + 1}" for i, h in enumerate(header)])
        if text_col is not None and text_col not in header:
            raise _missing_column(text_col, header, path)
        width = len(header)
        rows: list[list[str | None]] = []
        errors: list[str | None] = []
        index = start = chars = 0
        while True:
            first_line = reader.line_num + 1
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as e:  # e.g. a quote inside a quoted field, or an unterminated quote at end of file
                if reader.line_num > first_line:  # a quote left open swallowed the lines after it
                    raise InputError(f"{path}: the record at line {first_line} is not valid CSV ({e}) and runs on "
                                     f"to line {reader.line_num} (an unclosed quote?): the records after it cannot "
                                     "be told apart reliably; fix the quoting and rerun") from None
                rows.append([None] * width)
                errors.append(f"malformed row at line {first_line}: {e}")
                continue
            if not rec:
                continue  # blank line: not a row
            if len(rec) != width:
                # keep what can be kept: the first fields in place, the rest named in the error
                extra = rec[width:]
                errors.append(f"malformed row at line {reader.line_num}: expected {width} fields, found {len(rec)}"
                              + (f" (extra: {', '.join(map(repr, extra))[:200]})" if extra else ""))
                padded: list[str | None] = [*rec[:width], *([None] * (width - len(rec)))]
                rows.append(padded)
            else:
                errors.append(None)
                rows.append(rec)  # type: ignore[arg-type]
            chars += sum(map(len, rec))
            if len(rows) >= chunk_size or chars >= chunk_chars:
                yield Chunk(index, start, None, errors, columns=header, rows=rows)
                index, start, rows, errors, chars = index + 1, start + len(rows), [], [], 0
        if rows or index == 0:
            yield Chunk(index, start, None, errors, columns=header, rows=rows)


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}.{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


_CHECK_ROWS = 1000  # JSONL rows read before a text field that no object among them has fails the whole job


def read_jsonl(path, chunk_size: int, text_col: str | None, on_read,
               chunk_chars: int = CHUNK_CHARS) -> Iterator[Chunk]:
    """A line without ``text_col`` is a row with an error, wherever it is. Only when none of the objects among the
    first rows has it (a wrong ``--text-col``) does the job fail, listing the fields of the first object."""
    with _open_text(path, on_read) as f:
        records: list[dict] = []
        errors: list[str | None] = []
        index = start = chars = 0
        first_keys: list[str] | None = None  # the fields of the first object, while none has text_col
        found = text_col is None
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                records.append({})
                errors.append(f"malformed JSON at line {lineno}: {e.msg}")
            else:
                if isinstance(obj, dict):
                    records.append(obj)
                    if text_col is None or text_col in obj:
                        errors.append(None)
                        found = True
                    else:
                        errors.append(f"line {lineno} has no {text_col!r} field")
                        first_keys = list(obj) if first_keys is None else first_keys
                else:
                    records.append({})
                    errors.append(f"line {lineno} is a JSON {type(obj).__name__}, not an object")
            if not found and start + len(records) >= _CHECK_ROWS:
                _check_text_field(text_col, first_keys, path)
                found = True  # only malformed lines so far: they stay per-row errors
            chars += len(line)
            while found and records and (len(records) >= chunk_size or chars >= chunk_chars):
                take = min(chunk_size, len(records))
                yield _records_chunk(index, start, records[:take], errors[:take], text_col)
                index, start = index + 1, start + take
                records, errors = records[take:], errors[take:]
                chars = chars if records else 0
        if not found:
            _check_text_field(text_col, first_keys, path)
        for b in range(0, len(records), chunk_size):
            yield _records_chunk(index, start, records[b : b + chunk_size], errors[b : b + chunk_size], text_col)
            index, start = index + 1, start + len(records[b : b + chunk_size])
        if index == 0:
            yield _records_chunk(0, 0, [], [], text_col)


def _check_text_field(text_col: str | None, first_keys: list[str] | None, path) -> None:
    """Fail the job when objects were read and none had the text field."""
    if text_col is not None and first_keys is not None:
        raise _missing_column(text_col, first_keys, path)


def _records_chunk(index: int, start: int, records: list[dict], errors: list[str | None],
                   text_col: str | None = None) -> Chunk:
    """JSON objects as rows over the union of their fields, in order of first appearance, with no type inference
    (so undecodable text survives to be reported per row); a field a row lacks is :data:`MISSING`. The text
    column is there even when none of these rows has it."""
    cols: dict[str, None] = {}
    for r in records:
        for k in r:
            cols.setdefault(k, None)
    if text_col is not None:
        cols.setdefault(text_col, None)
    names = list(cols)
    return Chunk(index, start, None, errors, columns=names, rows=[[r.get(c, MISSING) for c in names] for r in records])


def _read_parquet(path, chunk_size: int, text_col: str | None, on_read, max_rows: int | None = None,
                  max_bytes: int | None = None) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise InputError(f"cannot read Parquet file {path}: {e}") from None
    names = pf.schema_arrow.names
    if text_col is not None and text_col not in names:
        raise _missing_column(text_col, names, path)
    meta = pf.metadata
    if max_rows is not None and meta.num_rows > max_rows:
        raise InputTooLarge(f"the file has {meta.num_rows:,} rows, over the limit of {max_rows:,}")
    if max_bytes is not None:
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > max_bytes:
            raise InputTooLarge(f"the file holds {size:,} bytes of data once decompressed, over the limit of "
                                f"{max_bytes:,}")
    start = 0
    index = 0
    for batch in pf.iter_batches(batch_size=chunk_size):  # row group by row group, chunk_size rows at a time
        frame = batch.to_pandas()
        if on_read:
            on_read(len(frame))
        yield Chunk(index, start, frame, [None] * len(frame))
        index, start = index + 1, start + len(frame)
    if index == 0:
        yield Chunk(0, 0, pf.schema_arrow.empty_table().to_pandas(), [])


def looks_like_header(line: str, col: str) -> bool:
    """Whether a line read as plain text looks like a CSV or TSV header naming the column ``col``."""
    for delimiter in (",", "\t"):
        fields = [f.strip().strip('"').strip() for f in line.split(delimiter)]
        if len(fields) > 1 and col in fields:
            return True
    return False


def _read_lines(path, chunk_size: int, text_col: str | None, on_read,
                chunk_chars: int = CHUNK_CHARS) -> Iterator[Chunk]:
    col = text_col or "text"
    with _open_text(path, on_read) as f:
        source: Iterator[str] = iter(f)
        if str(path) == "-":  # a table piped in without --format: say so once, before any row is analysed
            first = next(source, None)
            if first is not None:
                if looks_like_header(first.rstrip("\r\n"), col):
                    log.warning("stdin is read as plain text, one text per line, and its first line %r looks like "
                                "the header of a table: pass --format csv (or tsv, jsonl) to read it as one",
                                first.rstrip("\r\n")[:80])
                source = itertools.chain([first], source)
        lines: list[str] = []
        index = start = chars = 0
        for line in source:
            lines.append(line.rstrip("\r\n"))
            chars += len(line)
            if len(lines) >= chunk_size or chars >= chunk_chars:
                yield Chunk(index, start, None, [None] * len(lines), columns=[col], rows=[[x] for x in lines])
                index, start, lines, chars = index + 1, start + len(lines), [], 0
        if lines or index == 0:
            yield Chunk(index, start, None, [None] * len(lines), columns=[col], rows=[[x] for x in lines])
