"""Any table a user brings (CSV, TSV, JSONL, Parquet) with a column mapping; and EEmo-Bench-style files
(ranked top-3 emotions plus VAD).

Licence: the user's.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from affectkit.datasets.base import EmotionDataset, LabelNormaliser, onehot_rows, resolve_paths
from affectkit.errors import InputError
from affectkit.labels import get_labelset
from affectkit.vad import DIMENSIONS, get_scale

LICENSE = "the user's"


TABLE_FIELDS = ("text", "id", "labels", "valence", "arousal", "dominance", "intensity", "ranking", "words", "cause",
                "options")


def _as_list(value: Any, sep: str | None) -> list[str]:
    """A list-valued cell: a JSON list (JSONL or ``[...]`` text) or text split on ``sep`` (default: any of
    ``, ; | >``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    s = str(value).strip()
    if s.startswith("["):
        try:
            parsed = json.loads(s)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed if str(v).strip()]
    parts = s.split(sep) if sep else re.split(r"[,;|>]", s)
    return [p.strip() for p in parts if p.strip()]


def _optional_text(value: Any) -> str | None:
    """A text cell, or ``None`` when it is missing or blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip():
        return None
    return str(value)


def _as_float(value: Any, where: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: expected a number, got {value!r}") from None


# long: one pass over a user's table, field by field (text, labels, VAD, intensity, ranking, words, cause);
# each field is a few lines
def load_table(split: str = "test", path: Any = None, columns: dict[str, str] | None = None,
               labelset: str | None = None, label_sep: str | None = None, label_map: dict[str, str] | None = None,
               vad_scale: str = "-1..1", format: str | None = None, name: str | None = None,
               meta_columns: Sequence[str] = ()) -> EmotionDataset:
    """Any CSV, TSV, JSONL or Parquet file with a column mapping.

    ``columns`` maps affectkit's fields to the file's columns: ``text`` (required), ``id``, ``labels`` (one
    label or several, as a list or joined by ``label_sep``), ``valence``/``arousal``/``dominance`` (on
    ``vad_scale``), ``intensity`` (0..1), ``ranking`` (gold emotions, most intense first), ``words``
    (open-vocabulary emotion words), ``cause`` and ``options`` (multiple choice). Unmapped fields default to a
    column of the same name when one exists. Labels are normalised onto ``labelset`` (``label_map`` renames
    spellings first).
    """
    from affectkit.tabular import read_chunks

    files = resolve_paths(path)
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(TABLE_FIELDS))
    if unknown:
        raise InputError(f"unknown column mapping field(s) {unknown}; fields are {', '.join(TABLE_FIELDS)}")
    frames = []
    for p in files:
        for chunk in read_chunks(p, format, 1 << 16, columns.get("text", "text"), typed=False):
            bad = [(chunk.start + i + 2, e) for i, e in enumerate(chunk.errors) if e]
            if bad:
                raise InputError(f"{p}: row {bad[0][0]}: {bad[0][1]}")
            frames.append(chunk.frame)
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    col = {f: columns.get(f, f) for f in TABLE_FIELDS}
    has = {f: col[f] in frame.columns for f in TABLE_FIELDS}
    for f, c in columns.items():
        if c not in frame.columns:
            raise InputError(f"{files[0]}: column {c!r} (for {f}) not found; columns are {list(frame.columns)}")
    n = len(frame)
    texts = [None if v is None else str(v) for v in frame[col["text"]]]
    where = str(files[0])
    ls = get_labelset(labelset) if labelset else None
    categories = rankings = None
    kind = "multi-hot"
    if has["labels"] or has["ranking"] or has["options"]:
        if ls is None:
            raise InputError(f"{where}: name the label set of the labels (labelset: ekman, goemotions, ...)")
    norm = LabelNormaliser(ls, label_map, source=where) if ls else None
    if has["labels"] and norm is not None:
        idx = [[norm(lab) for lab in _as_list(v, label_sep)] for v in frame[col["labels"]]]
        categories = onehot_rows(idx, len(ls))  # type: ignore[arg-type]
    if has["ranking"] and norm is not None:
        rankings = [[ls.labels[norm(lab)] for lab in _as_list(v, label_sep)] for v in frame[col["ranking"]]]  # type: ignore[union-attr]
        if categories is None:  # graded weights k, k-1, ..., 1 for the ranked labels
            categories, kind = np.zeros((n, len(ls)), dtype=np.float64), "votes"  # type: ignore[arg-type]
            for i, r in enumerate(rankings):
                for pos, lab in enumerate(r):
                    categories[i, ls.index(lab)] = len(r) - pos  # type: ignore[union-attr]
    vad = None
    if any(has[d] for d in DIMENSIONS):
        vad = np.full((n, 3), np.nan)
        for j, d in enumerate(DIMENSIONS):
            if has[d]:
                vad[:, j] = [_as_float(v, f"{where} ({d})") for v in frame[col[d]]]
    if vad is not None:
        try:
            vad_scale = get_scale(vad_scale).name
        except ValueError as e:
            raise InputError(str(e)) from None
    ds = EmotionDataset(name or Path(files[0]).stem, split, texts, ls, categories, vad,  # type: ignore[arg-type]
                        vad_scale if vad is not None else None, files=files, category_kind=kind, rankings=rankings)
    if has["intensity"]:
        ds.intensity = np.array([_as_float(v, f"{where} (intensity)") for v in frame[col["intensity"]]])
    if has["words"]:
        ds.words = [_as_list(v, label_sep) for v in frame[col["words"]]]
    if has["cause"]:
        ds.causes = [_optional_text(v) for v in frame[col["cause"]]]
    if has["options"] and norm is not None:
        ds.options = [[ls.labels[norm(o)] for o in _as_list(v, label_sep)] for v in frame[col["options"]]]  # type: ignore[union-attr]
    if has["id"]:
        ds.meta["id"] = [str(v) for v in frame[col["id"]]]
    for m in meta_columns:
        if m not in frame.columns:
            raise InputError(f"{where}: meta column {m!r} not found")
        ds.meta[m] = list(frame[m])
    return ds


def load_eemo(split: str = "test", path: Any = None, columns: dict[str, str] | None = None,
              vad_scale: str = "1..9", labelset: str = "eemo", label_sep: str | None = None,
              format: str | None = None) -> EmotionDataset:
    """An EEmo-Bench-style file (EEmo-Bench 2025): per item a ``ranking`` of its top-3 evoked emotions over the
    seven EEmo-Bench categories (a list, or text such as ``joy>surprise>neutral``) and Self-Assessment-Manikin
    ``valence``, ``arousal``, ``dominance`` on 1..9; optional ``options`` for multiple-choice perception. The
    item is in ``text`` (or a path to an image or clip, for analyzers of those). Any CSV/TSV/JSONL/Parquet
    file; ``columns`` renames fields as in :func:`load_table`."""
    return load_table(split, path, columns, labelset, label_sep, None, vad_scale, format, name="eemo")
