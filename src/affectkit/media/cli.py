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
from typing import Any

import pandas as pd

from affectkit.errors import InputError
from affectkit.media.base import TABLE_SUFFIXES, MediaError, detect_modality

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
        return pd.DataFrame({"path": [input_path]}) if os.path.isfile(input_path) and _is_media(input_path) else None
    if not listed or any(Path(p).suffix.lower() in TABLE_SUFFIXES for p in listed):
        return None  # a folder or glob of tables: the text job's partitioned run
    return pd.DataFrame({"path": listed}) if any(_is_media(p) for p in listed) else None


def _read_table(input_path: str, path_col: str, fmt: str | None) -> pd.DataFrame:
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


def analyze_media(frame: pd.DataFrame, path_col: str, analyzer: Any, options: Any, segments: bool) -> pd.DataFrame:
    """``frame`` plus prediction columns: one row per input, or per segment (input columns repeated)."""
    from affectkit.runner import analyze_frame

    if not segments:
        opts = _with_batch(options, path_col)
        return analyze_frame(frame, analyzer, opts)
    if not hasattr(analyzer, "analyze_segments_batch"):
        raise InputError(f"--segments needs a media model; {analyzer.name} has no segments")
    paths = list(frame[path_col])
    parts = [analyzer.analyze_segments_batch(paths[b : b + MEDIA_BATCH], options.labels, first_parent=b)
             for b in range(0, len(paths), MEDIA_BATCH)]
    from affectkit.schema import BatchPrediction

    batch = BatchPrediction.concat(parts) if parts else analyzer.analyze_batch([], options.labels)
    cols = batch.to_columns(options.top_k, options.vad_scale, options.distribution, options.prefix)
    clash = [c for c in cols if c in frame.columns]
    if clash:
        raise InputError(f"output columns {clash} already exist in the input; pass --prefix (e.g. --prefix ak_)")
    parents = [int(p) for p in batch.extra.get("parent", [])]
    left = frame.iloc[parents].reset_index(drop=True)
    return pd.concat([left, pd.DataFrame(cols)], axis=1)


def _with_batch(options: Any, path_col: str) -> Any:
    from dataclasses import replace

    return replace(options, text_col=path_col, batch_size=min(options.batch_size, MEDIA_BATCH), max_chars=None)


def run_media(frame: pd.DataFrame, output: str | None, model: str, options: Any, path_col: str, segments: bool,
              output_format: str | None, quiet: bool, engine: str = "local") -> tuple[int, int, dict[str, int]]:
    """Analyze and write a media job; return ``(rows, errors, error counts by reason)``."""
    import affectkit
    from affectkit.tabular import write_frame

    if engine != "local":
        raise InputError(f"--engine {engine} does not take image, audio or video inputs yet; use --engine local")

    analyzer = affectkit.load(media_model(model))
    start = time.time()
    out = analyze_media(frame, path_col, analyzer, options, segments)
    write_frame(out, output, output_format, escape_formulas=options.csv_escape_formulas)
    errors = [e for e in out[options.prefix + "error"] if isinstance(e, str) and e]
    counts: dict[str, int] = {}
    for e in errors:
        counts[e.split(":")[0]] = counts.get(e.split(":")[0], 0) + 1
    if not quiet:
        unit = "segment rows" if segments else "files"
        print(f"analyzed {len(frame):,} files into {len(out):,} {unit} in {time.time() - start:.1f}s, "
              f"{len(errors):,} with errors" + (f" -> {output}" if output else ""), file=sys.stderr)
        for reason, count in sorted(counts.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {count:,} x {reason}", file=sys.stderr)
    return len(out), len(errors), counts
