"""Writing results: one part file per chunk (atomic, so a job can resume), assembled into the output at the end.

    out.csv.affectkit-parts/
      manifest.json          the job's identity (input fingerprint, options, chunk size) and finished parts
      part-000000.csv ...    one per chunk, written to a temporary name and renamed when complete

Resuming a job skips chunks whose part exists; a part is either complete or absent, so no row is duplicated or
lost. Assembly streams part by part, so memory stays bounded whatever the input size. While a job writes
``out.csv`` it holds ``out.csv.affectkit-lock`` (:class:`OutputLock`), so a second job on the same output stops
at once with a message instead of removing the first one's parts.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from affectkit.errors import InputError, OutputLockedError
from affectkit.hashing import digest_file
from affectkit.jsonable import to_jsonable
from affectkit.tabular.readers import detect_format
from affectkit.tabular.table import Table, escape_cell, write_jsonl_rows
from affectkit.text import clean_for_output

if TYPE_CHECKING:
    import pandas as pd


def _clean_frame(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Make every string writable as UTF-8 (undecodable input bytes become U+FFFD in the output)."""
    out = frame.copy()
    out.columns = [clean_for_output(c) for c in out.columns]
    for i in range(out.shape[1]):
        if out.iloc[:, i].dtype == object:
            out.iloc[:, i] = out.iloc[:, i].map(clean_for_output)
    return out


def _arrow_table(frame: "pd.DataFrame"):
    """``frame`` as an Arrow table. A passthrough column whose cells mix types (an ``id`` that is a number on some
    JSONL lines and a string on others, a ``text`` that is sometimes a number) is written as strings; nulls stay
    null."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            try:
                pa.array(frame[col], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                frame[col] = frame[col].map(_as_text)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _as_text(v: Any) -> str | None:
    """A cell as text: strings as they are, other values as JSON (``5``, ``true``, ``{"a": 1}``), nulls as None."""
    v = to_jsonable(v)
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


def write_jsonl(frame: "pd.DataFrame", f: IO[str]) -> None:
    write_jsonl_rows(list(frame.columns), frame.itertuples(index=False, name=None), f)


def escape_formula_cells(frame: "pd.DataFrame") -> "pd.DataFrame":
    """``frame`` with every text cell (and column name) that a spreadsheet would run as a formula, one that
    starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, prefixed with a single quote (OWASP's
    advice against CSV injection). Numbers stay numbers, and so does text that is only a number or a range of
    numbers (``-0.5``, the VAD scale ``-1..1``): a spreadsheet runs neither."""
    import pandas as pd

    out = frame.copy()
    out.columns = [escape_cell(c) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            out.isetitem(i, col.map(escape_cell).astype(object))
    return out


def write_frame(frame: "pd.DataFrame | Table", path: str | Path | None, fmt: str | None = None,
                header: bool = True, escape_formulas: bool = False) -> None:
    """Write a whole frame to ``path`` in ``fmt`` (from the extension if not given); ``None`` or ``-`` = stdout
    as JSONL. ``escape_formulas`` (CSV and TSV only) prefixes text cells that a spreadsheet would run as a
    formula with a single quote (:func:`escape_formula_cells`). A :class:`Table` (a text file's chunk, CSV, TSV
    or JSONL only) is written with the same cells, without pandas."""
    if isinstance(frame, Table):
        frame.write(path, fmt, escape_formulas=escape_formulas)
        return
    frame = _clean_frame(frame)
    if path is None or str(path) == "-":
        write_jsonl(frame, sys.stdout)
        sys.stdout.flush()
        return
    fmt = detect_format(path, fmt, option="--output-format")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(_arrow_table(frame), path)
    elif fmt in ("csv", "tsv"):
        if escape_formulas:
            frame = escape_formula_cells(frame)
        frame.to_csv(path, index=False, header=header, sep="," if fmt == "csv" else "\t", encoding="utf-8")
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            write_jsonl(frame, f)
    else:
        raise InputError(f"cannot write results as {fmt!r}; write CSV, TSV, JSONL or Parquet")


def fingerprint_file(path: str | Path) -> dict[str, Any]:
    """The input's path, size and a SHA-256 of all its bytes (read in 1 MiB blocks): any edit, anywhere, makes a
    new fingerprint, whatever the file's mtime says; a file touched but not changed keeps its own. About 0.7 s per
    GB from the page cache on one core (SHA-256 has CPU instructions on current x86 and ARM: BLAKE2b took 1.15 s
    on the same machine), small next to analysing the file; see README, "Bad input, and nothing lost"."""
    p = Path(path)
    sha256, size = digest_file(p)
    return {"path": str(p.resolve()), "size": size, "sha256": sha256}


class OutputLock:
    """An exclusive lock on an output: ``OUTPUT.affectkit-lock`` held with ``flock`` while a job writes
    ``OUTPUT``, removed on :meth:`release`. A second job (in any process) that asks for it gets
    :class:`~affectkit.errors.OutputLockedError` at once; a lock file left by a killed job holds nothing and is
    taken over."""

    def __init__(self, output: str | Path) -> None:
        self.path = Path(output).with_name(Path(output).name + ".affectkit-lock")
        self._fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while self._fd is None:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    os.close(fd)
                    if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
                        raise OutputLockedError(f"another affectkit job is writing {output} (it holds {self.path}); "
                                                "wait for it to finish, or choose another -o") from None
                    raise
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    self._fd = fd
                else:  # its holder released (and removed) it between our open and flock: take the new one
                    os.close(fd)
        except OSError as e:
            raise InputError(f"cannot write the output {output}: {e.strerror or e}"
                             + (f" ({e.filename})" if e.filename else "")) from None

    def release(self) -> None:
        """Remove the lock file and unlock. Safe to call twice."""
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "OutputLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


class PartWriter:
    """Writes chunk results as atomic part files next to ``output`` and assembles them at the end. Holds the
    output's :class:`OutputLock` until :meth:`finish` or :meth:`close`."""

    def __init__(self, output: str | Path, fmt: str | None, identity: dict[str, Any], resume: bool = True,
                 escape_formulas: bool = False) -> None:
        self.output = Path(output)
        self.escape_formulas = escape_formulas
        self.fmt = detect_format(output, fmt, option="--output-format")
        if self.fmt == "txt":
            raise InputError("results need columns: write .csv, .tsv, .jsonl or .parquet")
        self.dir = self.output.with_name(self.output.name + ".affectkit-parts")
        self.identity = identity
        self.lock = OutputLock(self.output)
        manifest = self.dir / "manifest.json"
        self.resumed = 0
        try:
            if self.dir.exists():
                previous = json.loads(manifest.read_text()) if manifest.exists() else None
                if resume and previous is not None and previous.get("identity") == identity:
                    self.resumed = len(self.done())
                else:
                    shutil.rmtree(self.dir)
            self.dir.mkdir(parents=True, exist_ok=True)
            manifest.write_text(json.dumps({"identity": identity}, indent=2))
        except OSError as e:
            self.lock.release()
            raise InputError(f"cannot write the output {output}: {e.strerror or e}"
                             + (f" ({e.filename})" if e.filename else "")) from None

    def close(self) -> None:
        """Release the output's lock. Finished parts stay, so a rerun of the job resumes from them; a folder with
        no finished part (a job that failed or was stopped before its first chunk was written, e.g. on a missing
        text column) holds nothing to resume and is removed. Safe to call twice."""
        try:
            if self.dir.exists() and not self.done():
                shutil.rmtree(self.dir, ignore_errors=True)
        finally:
            self.lock.release()

    def _part(self, index: int) -> Path:
        ext = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl", "parquet": "parquet"}[self.fmt]
        return self.dir / f"part-{index:06d}.{ext}"

    def done(self) -> set[int]:
        return {int(p.name.split("-")[1].split(".")[0]) for p in self.dir.glob("part-*") if not p.name.endswith(".tmp")}

    def has(self, index: int) -> bool:
        return self._part(index).exists()

    def read_column(self, index: int, column: str) -> list[Any]:
        """The values of ``column`` in the finished part ``index`` (``None`` where empty; ``[]`` when the part
        lacks it), e.g. the error column of a chunk done by an earlier run, for the job's summary."""
        part = self._part(index)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            if column not in pq.read_schema(part).names:
                return []
            return pq.read_table(part, columns=[column]).column(0).to_pylist()
        if self.fmt in ("csv", "tsv"):
            sep = "," if self.fmt == "csv" else "\t"
            with open(part, encoding="utf-8", newline="") as f:
                reader = csv.reader(f, delimiter=sep)
                header = next(reader, [])
                if column not in header:
                    return []
                at = header.index(column)
                return [row[at] if row[at] != "" else None for row in reader]
        with open(part, encoding="utf-8") as f:
            return [json.loads(line).get(column) for line in f if line.strip()]

    def write(self, index: int, frame: "pd.DataFrame | Table") -> None:
        """Write chunk ``index``'s results (a DataFrame, or a :class:`Table` in a text format) as its part."""
        final = self._part(index)
        tmp = final.with_name(final.name + ".tmp")
        write_frame(frame, tmp, self.fmt, escape_formulas=self.escape_formulas)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)

    def finish(self) -> int:
        """Assemble parts in order into the output; returns the number of data rows written."""
        parts = sorted(p for p in self.dir.glob("part-*") if not p.name.endswith(".tmp"))
        indices = [int(p.name.split("-")[1].split(".")[0]) for p in parts]
        if indices != list(range(len(indices))):
            raise RuntimeError(f"parts in {self.dir} are not contiguous; rerun the job to resume it")
        rows = assemble_parts(parts, self.output, self.fmt)
        shutil.rmtree(self.dir)
        self.close()
        return rows


def assemble_parts(parts: list[Path], output: str | Path, fmt: str) -> int:
    """Concatenate part files (all in ``fmt``) in the given order into ``output``, atomically (a temporary file
    renamed at the end). Returns the number of data rows for Parquet, -1 for text formats.

    A part whose rows all failed (or that has no rows) lacks the prediction columns no row filled; it is aligned
    to the widest header, with those columns empty."""
    output = Path(output)
    tmp = output.with_name(output.name + ".tmp")
    if fmt == "parquet":
        rows = _assemble_parquet(parts, tmp)
    elif fmt in ("csv", "tsv"):
        rows = -1
        sep = "," if fmt == "csv" else "\t"
        headers = [_read_header(p, sep) for p in parts]
        columns = max(headers, key=len) if headers else []
        odd = [p.name for p, h in zip(parts, headers) if not set(h) <= set(columns)]
        if odd:
            raise InputError(f"cannot assemble {fmt.upper()} output: {odd[0]} has columns that {parts[0].name} lacks; "
                             "write .parquet or .jsonl, or a directory")
        with open(tmp, "wb") as out:
            for i, (p, h) in enumerate(zip(parts, headers)):
                if h == columns:
                    with open(p, "rb") as f:
                        if i > 0:
                            f.readline()  # the header (column names never contain newlines)
                        shutil.copyfileobj(f, out, 1 << 20)
                else:
                    import pandas as pd

                    frame = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False).reindex(columns=columns)
                    frame.to_csv(out, index=False, header=i == 0, sep=sep, encoding="utf-8")
    else:
        rows = -1
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
    os.replace(tmp, output)
    return rows


def _read_header(path: Path, sep: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return next(csv.reader(f, delimiter=sep), [])


def _assemble_parquet(parts: list[Path], out: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # the widest schema first, so that columns missing from some parts keep their place
    schemas = sorted((pq.read_schema(p) for p in parts), key=lambda sc: -len(sc.names))
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        schema = _unify_as_text(schemas)  # a column whose type differs between chunks is written as strings
    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema])
    rows = 0
    with pq.ParquetWriter(out, schema) as w:
        for p in parts:
            t = pq.read_table(p)
            t = pa.Table.from_arrays([_cast(t.column(n), schema.field(n).type) if n in t.column_names
                                      else pa.nulls(t.num_rows, schema.field(n).type) for n in schema.names],
                                     schema=schema)
            w.write_table(t)
            rows += t.num_rows
    return rows


def _unify_as_text(schemas: list) -> Any:
    """Unify part schemas field by field (in the order of the first, widest one); a field whose types cannot be
    unified (an ``id`` of numbers in one chunk and of strings in the next) becomes a string field."""
    import pyarrow as pa

    names: dict[str, None] = {}
    for sc in schemas:
        names.update(dict.fromkeys(sc.names))
    fields = []
    for name in names:
        found = [pa.schema([sc.field(name)]) for sc in schemas if name in sc.names]
        try:
            fields.append(pa.unify_schemas(found, promote_options="permissive").field(0))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


def _cast(column: Any, type_: Any) -> Any:
    """``column`` as ``type_``; a nested column that Arrow cannot cast to a string is written as JSON text."""
    import pyarrow as pa

    try:
        return column.cast(type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        if not pa.types.is_string(type_):
            raise
        return pa.array([_as_text(v) for v in column.to_pylist()], pa.string())
