"""What a partitioned job reads and where it writes: input partitions and the output layout.

An input is one file, a glob (``posts/*.csv``, ``posts/**/*.parquet``) or a directory walked recursively. Each
file is one partition: it is read by the same chunked readers as the local engine, its rows keep their order,
and its results go to one output file. Partitions are ordered by their path relative to the input root, so the
output order is the input order whatever order workers finish in.

Inside a directory, names starting with ``.`` or ``_`` are skipped (``_SUCCESS``, ``_temporary/``,
``.ipynb_checkpoints/``), as Spark, Hive and pyarrow do.
"""

from __future__ import annotations

import glob as globlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from affectkit.errors import InputError
from affectkit.tabular import FORMATS, detect_format

MANIFEST = "_manifest.json"
WORK_SUFFIX = ".affectkit-parts"  # in-progress results (same suffix as the local engine's part folders)
_GLOB_CHARS = set("*?[")
OUTPUT_FORMATS = ("parquet", "csv", "tsv", "jsonl")
_EXT = {"parquet": ".parquet", "csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl"}


@dataclass(frozen=True)
class Partition:
    """One input file. ``key`` (its path relative to the input root, with ``/``) names it in the manifest and in
    the output."""

    key: str
    path: str
    fmt: str


def find_partitions(input: str | Path, fmt: str | None = None, exclude: Path | None = None) -> list[Partition]:
    """The partitions of ``input`` (a file, a glob or a directory), sorted by key.

    Without ``fmt`` every file's format comes from its extension and all files must share one format; with
    ``fmt`` every (non-hidden) file is read as ``fmt``. ``exclude`` (the output location) is never read.
    """
    text = str(input)
    if text == "-":
        raise InputError("partitioned jobs cannot read stdin: give a file, a glob or a directory")
    path = Path(text)
    if path.is_file():
        root, files = path.parent, [path]
    elif path.is_dir():
        root, files = path, _walk(path)
    elif any(c in text for c in _GLOB_CHARS):
        root = _glob_root(text)
        files = [Path(p) for p in globlib.glob(text, recursive=True) if Path(p).is_file()]
        if not files:
            raise InputError(f"no file matches {text}")
    else:
        raise InputError(f"input not found: {text}")
    if exclude is not None:
        excluded = exclude.resolve()
        files = [f for f in files if excluded != f.resolve() and excluded not in f.resolve().parents]
    files = [f for f in files if not any(part.endswith(WORK_SUFFIX) for part in f.parts)]
    if not files:
        raise InputError(f"no input files in {text}")
    parts = [Partition(PurePosixPath(*f.relative_to(root).parts).as_posix(), str(f.resolve()), _format(f, fmt))
             for f in files]
    _check_formats(parts, fmt, text)
    return sorted(parts, key=lambda p: p.key)


def _walk(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith((".", "_"))]
    return out


def _glob_root(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard (``data/2024-*/x.csv`` -> ``data``)."""
    fixed = []
    for part in Path(pattern).parts:
        if any(c in part for c in _GLOB_CHARS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _format(path: Path, fmt: str | None) -> str:
    try:
        return detect_format(path, fmt)
    except InputError:
        return ""  # reported with the others in _check_formats


def _check_formats(parts: list[Partition], fmt: str | None, input: str) -> None:
    if fmt:
        return
    unknown = [p.key for p in parts if not p.fmt]
    if unknown:
        raise InputError(f"cannot tell the format of {len(unknown)} file(s) in {input} from the extension "
                         f"(e.g. {unknown[0]}); pass --format ({', '.join(FORMATS)}) or a glob that matches only "
                         "data files")
    counts = Counter(p.fmt for p in parts)
    if len(counts) > 1:
        found = ", ".join(f"{n} {f}" for f, n in counts.most_common())
        raise InputError(f"{input} mixes formats ({found}); pass --format or a glob that matches one format")


@dataclass(frozen=True)
class OutputLayout:
    """Where results go. A directory output keeps one file per partition (mirroring the input's relative paths)
    plus ``_manifest.json``; a file output keeps them in ``FILE.affectkit-parts/`` while the job runs and is
    assembled into FILE, in partition order, when every partition is done."""

    target: Path
    fmt: str
    single_file: bool

    @property
    def work_dir(self) -> Path:
        return self.target.with_name(self.target.name + WORK_SUFFIX) if self.single_file else self.target

    @property
    def manifest(self) -> Path:
        return self.work_dir / MANIFEST

    def part_name(self, key: str) -> str:
        """The result file of a partition, relative to :attr:`work_dir`: the key with the output extension."""
        return str(PurePosixPath(key).with_suffix(_EXT[self.fmt]))

    def part_path(self, key: str) -> Path:
        return self.work_dir / self.part_name(key)


def is_directory_output(output: str | Path) -> bool:
    """A directory if it exists as one, ends with a path separator, or has no file extension."""
    text = str(output)
    return Path(text).is_dir() or text.endswith(("/", os.sep)) or not Path(text).suffix


def output_layout(output: str | Path, output_format: str | None = None) -> OutputLayout:
    """The layout for ``-o OUTPUT``: a directory (parts in ``output_format``, default Parquet) or one file."""
    if is_directory_output(output):
        fmt = (output_format or "parquet").lower()
        single = False
    else:
        fmt = detect_format(output, output_format, option="--output-format")
        single = True
    if fmt not in OUTPUT_FORMATS:
        raise InputError(f"results need columns: write {', '.join(OUTPUT_FORMATS)} (got {fmt!r})")
    return OutputLayout(Path(output).absolute(), fmt, single)  # workers do not share the driver's cwd


def check_part_names(parts: list[Partition], layout: OutputLayout) -> None:
    """Two inputs must not write the same result file (``a.csv`` and ``a.jsonl`` both give ``a.parquet``)."""
    seen: dict[str, str] = {}
    for p in parts:
        name = layout.part_name(p.key)
        if name in seen:
            raise InputError(f"{seen[name]} and {p.key} would both write {name}; rename one of them")
        seen[name] = p.key
