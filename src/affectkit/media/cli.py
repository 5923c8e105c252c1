"""``affectkit analyze`` for media: which inputs are media, and the run that analyzes them.

A media input is an image, audio or video file; a folder or a glob whose files are not tables (a folder of CSV
files stays a text job); or any table with ``--path-col`` naming its column of file paths (relative paths are
tried from the current folder, then from the table's folder). The output has one row per input (or one per
segment with ``--segments``), in order, with ``path`` (or the table's columns) first.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from affectkit.errors import InputError
from affectkit.media.base import TABLE_SUFFIXES, MediaError, detect_modality

if TYPE_CHECKING:
    import pandas as pd

MEDIA_BATCH = 32  # files per model call: bounds the decoded pixels or samples held at once
SHORT_NAMES = {"default": "media:auto", "media": "media:auto", "face": "media:face", "scene": "media:scene",
               "speech": "media:speech", "video": "media:video"}


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _listed(input_path: str) -> list[str] | None:
    """The files a folder or glob names, sorted (hidden files skipped); None when it is neither."""
    if os.path.isdir(input_path):
        return sorted(str(p) for p in Path(input_path).iterdir() if p.is_file() and not p.name.startswith("."))
    if _is_glob(input_path) and not os.path.exists(input_path):
        return sorted(p for p in glob.glob(input_path, recursive=True) if os.path.isfile(p))
    return None


def _is_media(path: str) -> bool:
    try:
        return detect_modality(path) in ("image", "audio", "video")
    except MediaError:
        return False


def media_input(input_path: str, path_col: str | None, fmt: str | None = None) -> pd.DataFrame | None:
    """The input table of a media job (a ``path`` column, or the user's table with ``path_col``), or None when
    ``input_path`` is a text job."""
    if path_col:
        return _read_table(input_path, path_col, fmt)
    if input_path == "-":
        return None
    listed = _listed(input_path)
    if listed is None:
        return _paths([input_path]) if os.path.isfile(input_path) and _is_media(input_path) else None
    if not listed or any(Path(p).suffix.lower() in TABLE_SUFFIXES for p in listed):
        return None  # a folder or glob of tables: the text job's partitioned run
    return _paths(listed) if any(_is_media(p) for p in listed) else None


def _paths(paths: list[str]) -> pd.DataFrame:
    import pandas as pd  # only for media jobs: a text job streams its rows without pandas

    return pd.DataFrame({"path": paths})


def _read_table(input_path: str, path_col: str, fmt: str | None) -> pd.DataFrame:
    import pandas as pd

    from affectkit.tabular import read_chunks

    frames = [chunk.frame for chunk in read_chunks(input_path, fmt, 100_000, path_col)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({path_col: []})
    base = Path(input_path).parent if input_path != "-" else Path.cwd()

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value and not os.path.isabs(value) and not os.path.exists(value):
            candidate = base / value
            return str(candidate) if candidate.exists() else value
        return value

    frame[path_col] = [resolve(v) for v in frame[path_col]]
    return frame


def media_model(model: str) -> str:
    """``default`` and the short names (face, scene, speech, video) as media model specs."""
    return SHORT_NAMES.get(model, model)


def chunk_rows(chunk_size: int | None) -> int:
    """Files per chunk (the unit of resume, and of work on a Ray worker): ``--chunk-size``, at most
    :data:`MEDIA_BATCH`."""
    return max(1, min(chunk_size or MEDIA_BATCH, MEDIA_BATCH))


def chunk_starts(rows: int, chunk: int) -> list[int]:
    """The first row of each chunk; an empty input is one empty chunk (its output still has every column)."""
    return list(range(0, rows, chunk)) or [0]


def media_fingerprint(frame: pd.DataFrame, path_col: str) -> dict[str, Any]:
    """What identifies a media job's input rows: the table's cells and, for each path, the file's size and a
    SHA-256 of its bytes (:func:`affectkit.hashing.digest_file`; a path that cannot be read is kept with the
    reason). Relative paths are read from the current folder, as the analyzers read them."""
    from affectkit.hashing import digest_file, digest_json

    files = []
    for value in frame[path_col] if path_col in frame.columns else []:
        try:
            sha256, size = digest_file(value)
            files.append([str(value), size, sha256])
        except (OSError, TypeError, ValueError) as e:
            files.append([str(value), type(e).__name__])
    table = frame.to_dict(orient="split", index=False)
    return {"rows": len(frame), "table": digest_json(table), "files": digest_json(files)}


def analyze_media(frame: pd.DataFrame, path_col: str, analyzer: Any, options: Any, segments: bool,
                  offset: int = 0) -> pd.DataFrame:
    """``frame`` plus prediction columns: one row per input, or per segment (input columns repeated). ``frame``
    may be a chunk of the job's input starting at row ``offset``: ``parent`` then still counts from the job's
    first row."""
    import pandas as pd

    from affectkit.runner import analyze_frame, output_columns

    if not segments:
        opts = _with_batch(options, path_col)
        return analyze_frame(frame, analyzer, opts)
    if not hasattr(analyzer, "analyze_segments_batch"):
        raise InputError(f"--segments needs a media model; {analyzer.name} has no segments")
    paths = list(frame[path_col])
    parts = [analyzer.analyze_segments_batch(paths[b : b + MEDIA_BATCH], options.labels, first_parent=offset + b)
             for b in range(0, len(paths), MEDIA_BATCH)]
    from affectkit.schema import BatchPrediction

    batch = BatchPrediction.concat(parts) if parts else analyzer.analyze_batch([], options.labels)
    cols = output_columns(batch, options, list(frame.columns))
    parents = [int(p) - offset for p in batch.extra.get("parent", [])]
    left = frame.iloc[parents].reset_index(drop=True)
    return pd.concat([left, pd.DataFrame(cols)], axis=1)


def _with_batch(options: Any, path_col: str) -> Any:
    from dataclasses import replace

    return replace(options, text_col=path_col, batch_size=min(options.batch_size, MEDIA_BATCH), max_chars=None)


def run_media(frame: pd.DataFrame, output: str | None, model: str, options: Any, path_col: str, segments: bool,
              output_format: str | None, quiet: bool, chunk_size: int = MEDIA_BATCH,
              resume: bool = True) -> tuple[int, int, dict[str, int]]:
    """Analyze a media job chunk by chunk (:func:`chunk_rows` files each) on this machine and write it; return
    ``(rows, errors, error counts by reason)``. With an output file the chunks are atomic part files
    (:class:`~affectkit.tabular.PartWriter`) under the job's identity (its input rows and files, the model, the
    options), so rerunning the same command after an interruption continues after the last finished chunk and
    writes the file an uninterrupted run writes. ``--engine ray`` runs the same chunks on Ray workers
    (:mod:`affectkit.distributed.media_job`)."""
    import affectkit
    from affectkit.progress import progress_bar
    from affectkit.reports import JobReport
    from affectkit.tabular import PartWriter, write_frame

    analyzer = affectkit.load(media_model(model))
    start = time.time()
    chunk = chunk_rows(chunk_size)
    writer = None
    if output is not None and str(output) != "-":
        identity = {"media": media_fingerprint(frame, path_col), "path_col": path_col, "segments": segments,
                    "model": analyzer.info(), "options": options.identity(), "chunk_size": chunk}
        writer = PartWriter(output, output_format, identity, resume=resume,
                            escape_formulas=options.csv_escape_formulas)
    report = JobReport()
    bar = progress_bar(len(frame), "file", not quiet, "analyze", unit_scale=False)
    try:
        for index, lo in enumerate(chunk_starts(len(frame), chunk)):
            part = frame.iloc[lo : lo + chunk]
            if writer is not None and writer.has(index):  # done by an earlier run: its rows still count
                values = writer.read_column(index, options.prefix + "error")
                out_rows = len(values)
            else:
                out = analyze_media(part, path_col, analyzer, options, segments, offset=lo)
                values, out_rows = list(out[options.prefix + "error"]), len(out)
                if writer is not None:
                    writer.write(index, out)
                else:
                    write_frame(out, None)
            report.rows += out_rows
            report.count_errors(values)
            bar.update(len(part))
        if writer is not None:
            writer.finish()
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if not quiet:
        unit = "segment rows" if segments else "files"
        resumed = f", resumed after {writer.resumed} finished chunk(s)" if writer is not None and writer.resumed else ""
        print(f"analyzed {len(frame):,} files into {report.rows:,} {unit} in {time.time() - start:.1f}s, "
              f"{report.errors:,} with errors{resumed}" + (f" -> {output}" if output else ""), file=sys.stderr)
        for reason, count in sorted(report.error_counts.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {count:,} x {reason}", file=sys.stderr)
    return report.rows, report.errors, report.error_counts
