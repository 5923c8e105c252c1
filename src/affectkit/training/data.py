"""Training data for a task: a built-in dataset, or a CSV / JSONL / Parquet file read through a column mapping.

Every split becomes an :class:`~affectkit.datasets.EmotionDataset`. Category targets are kept as counts per
label (a multi-hot row is one vote per label), so the aggregation rules of :mod:`affectkit.training.targets`
apply to files with vote columns and to plain multi-label files alike. Scalar targets for regression and
ranking heads sit in ``meta["score"]``, list ids for ranking in ``meta["group"]``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from affectkit.datasets import EmotionDataset, load_dataset
from affectkit.errors import InputError, UnknownLabelSetError
from affectkit.hashing import digest_texts
from affectkit.labels import LabelSet, get_labelset
from affectkit.text import check_text
from affectkit.training.config import TaskSpec
from affectkit.vad import DIMENSIONS, get_scale

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
_SPLIT_NAMES = {"train": ("train", "training"), "dev": ("dev", "validation", "valid", "val"), "test": ("test",)}


def load_task_splits(spec: TaskSpec, max_train_rows: int | None = None,
                     seed: int = 0) -> dict[str, EmotionDataset | None]:
    """``{"train": ..., "dev": ..., "test": ...}`` for a task (``None`` where a split does not exist).
    A label set inferred from the training file is reused for the other splits."""
    if spec.is_file or spec.columns:
        train = _from_file(spec, "train", None)
        assert train is not None  # the train split always has a file
        out = {"train": train, **{s: _from_file(spec, s, train.labelset) for s in ("dev", "test")}}
    else:
        out = {s: _builtin(spec, s) for s in SPLITS}
        if out["train"] is None:
            raise InputError(f"dataset {spec.dataset!r} has no train split")
    if spec.type in ("regression", "ranking"):
        out = {s: None if ds is None else _with_score(spec, ds) for s, ds in out.items()}
    train = out["train"]
    assert train is not None
    out["train"] = sample_rows(train, max_train_rows, seed)
    return out


def sample_rows(ds: EmotionDataset, max_rows: int | None, seed: int) -> EmotionDataset:
    """A seeded random subset of ``max_rows`` rows, in their original order (all rows when ``max_rows`` is falsy or
    not smaller than the dataset)."""
    if not max_rows or len(ds) <= max_rows:
        return ds
    rng = np.random.default_rng(seed)
    return ds.subset(np.sort(rng.choice(len(ds), max_rows, replace=False)))


def load_task_data(spec: TaskSpec, split: str) -> EmotionDataset | None:
    """One split of a task's data; ``None`` when the dataset has no such split."""
    return load_task_splits(spec)[split]


def data_fingerprint(ds: EmotionDataset) -> str:
    """sha256 over what a run trains on: the texts and every target array (not just the source files, so that
    in-memory data and column mappings are covered too)."""
    h = hashlib.sha256(digest_texts(ds.texts).encode())
    for arr in (ds.categories, ds.vad, ds.meta.get("score"), ds.meta.get("group")):
        if arr is not None:
            h.update(np.asarray(arr).astype(str if np.asarray(arr).dtype == object else np.float64).tobytes())
    if ds.labelset is not None:
        h.update("|".join(ds.labelset.labels).encode())
    return h.hexdigest()


# -- built-in datasets -----------------------------------------------------------------------------------------------
def _builtin(spec: TaskSpec, split: str) -> EmotionDataset | None:
    kwargs = {"perspective": spec.perspective} if spec.dataset == "emobank" else {}
    try:
        return load_dataset(spec.dataset, split, **kwargs)
    except InputError:
        if split == "train":
            raise
        return None


def _with_score(spec: TaskSpec, ds: EmotionDataset) -> EmotionDataset:
    """Put the regression / ranking target in ``meta["score"]`` (a VAD dimension of built-in data, or the
    ``score`` column of a file); rows without a target are dropped."""
    if "score" not in ds.meta:
        if spec.attribute not in DIMENSIONS or ds.vad is None:
            raise InputError(f"task {spec.head_name!r}: set attribute to valence, arousal or dominance for "
                             f"dataset {spec.dataset!r}, or give a file with a score column")
        ds.meta["score"] = list(ds.vad[:, DIMENSIONS.index(spec.attribute)])
    score = np.asarray(ds.meta["score"], dtype=np.float64)
    keep = np.flatnonzero(~np.isnan(score))
    return ds if len(keep) == len(ds) else ds.subset(keep)


# -- files -----------------------------------------------------------------------------------------------------------
def _from_file(spec: TaskSpec, split: str, labelset: LabelSet | None) -> EmotionDataset | None:
    cols = dict(spec.columns)
    split_col = cols.get("split")
    if split == "train":
        found: str | None = spec.dataset
    else:
        found = getattr(spec, split) or (spec.dataset if split_col else None)
    if found is None:
        return None
    path = found
    frame = read_table(path)
    if split_col:
        if split_col not in frame.columns:
            raise InputError(f"split column {split_col!r} not found in {path}")
        names = frame[split_col].astype(str).str.strip().str.lower()
        frame = frame[names.isin(_SPLIT_NAMES[split])].reset_index(drop=True)
        if len(frame) == 0:
            if split == "train":
                raise InputError(f"no training rows in {path}: column {split_col!r} has no 'train' value")
            return None
    return frame_to_dataset(frame, spec, split, labelset, source=Path(path))


def read_table(path: str | Path) -> pd.DataFrame:
    """A whole CSV / TSV / JSONL / Parquet file as a frame (rows that cannot be parsed are dropped, with a
    warning that counts them)."""
    from affectkit.tabular import read_chunks

    frames, bad = [], 0
    for chunk in read_chunks(path, chunk_size=65536):
        ok = [i for i, e in enumerate(chunk.errors) if e is None] if chunk.errors else list(range(len(chunk)))
        bad += len(chunk) - len(ok)
        frames.append(chunk.frame.iloc[ok])
    if bad:
        log.warning("%s: skipped %d row(s) that could not be parsed", path, bad)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def frame_to_dataset(frame: pd.DataFrame, spec: TaskSpec, split: str = "train", labelset: LabelSet | None = None,
                     source: Path | None = None) -> EmotionDataset:
    """Turn a table into a dataset through ``spec.columns``; rows with an unusable text are dropped (counted)."""
    cols = dict(spec.columns)
    text_col = cols.get("text", "text")
    _need(frame, [text_col], source)
    texts_raw = list(frame[text_col])
    checked = [check_text(t) for t in texts_raw]
    keep = [i for i, (_, err) in enumerate(checked) if err is None]
    if len(keep) < len(frame):
        log.warning("%s (%s): dropped %d row(s) without a usable text", source or "data", split, len(frame) - len(keep))
    frame = frame.iloc[keep].reset_index(drop=True)
    texts = [checked[i][0] or "" for i in keep]
    name = source.stem if source else "data"
    ds = EmotionDataset(name, split, texts, files=[source] if source else [], license=spec.license or "")
    if spec.type == "categories":
        ds.categories, ds.labelset = _category_counts(frame, cols, spec, labelset, source)
    if spec.type == "vad" or "vad" in cols:
        ds.vad, ds.vad_scale = _vad_columns(frame, cols, source)
    if "score" in cols:
        _need(frame, [cols["score"]], source)
        ds.meta["score"] = list(pd.to_numeric(frame[cols["score"]], errors="coerce").astype(float))
    if "group" in cols:
        _need(frame, [cols["group"]], source)
        ds.meta["group"] = [str(g) for g in frame[cols["group"]]]
    elif spec.type in ("regression", "ranking") and "score" not in cols:
        raise InputError(f"task {spec.head_name!r}: columns.score names the target column")
    return ds


def _need(frame: pd.DataFrame, names: Sequence[str], source: Path | None) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InputError(f"column(s) {missing} not found in {source or 'the data'}; columns are: "
                         f"{', '.join(map(repr, frame.columns))}")


def _category_counts(frame: pd.DataFrame, cols: dict[str, Any], spec: TaskSpec, labelset: LabelSet | None,
                     source: Path | None) -> tuple[np.ndarray, LabelSet]:
    """(n, K) counts per label from a separated label column, 0/1 columns or vote-count columns."""
    if "votes" in cols or isinstance(cols.get("labels"), list):
        names = list(cols.get("votes") or cols["labels"])
        _need(frame, names, source)
        counts = frame[names].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(np.float64)
        ls = labelset or make_labelset([str(n) for n in names], spec.labelset or spec.name, ordered=True)
        if tuple(map(str, names)) != ls.labels:
            idx = [ls.index(str(n)) for n in names]
            full = np.zeros((len(frame), len(ls)))
            full[:, idx] = counts
            counts = full
        return counts, ls
    col = cols.get("labels", "labels")
    _need(frame, [col], source)
    sep = cols.get("sep", ",")
    rows = [_split_labels(v, sep) for v in frame[col]]
    ls = labelset or make_labelset(sorted({lab for r in rows for lab in r}), spec.labelset or spec.name)
    unknown = sorted({lab for r in rows for lab in r if lab not in ls})
    if unknown:
        raise InputError(f"{source or 'data'}: labels {unknown[:10]} are not in label set {ls.name} "
                         f"({', '.join(ls.labels)})")
    counts = np.zeros((len(rows), len(ls)))
    for i, r in enumerate(rows):
        for lab in r:
            counts[i, ls.index(lab)] += 1
    return counts, ls


def _split_labels(value: Any, sep: str) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).split(sep) if p.strip()]


def make_labelset(labels: Sequence[str], name: str | None = None, ordered: bool = False) -> LabelSet:
    """A registered label set when ``name`` is one (``labels`` must belong to it), else a custom label set
    over ``labels`` (sorted unless ``ordered``), saved with the model's heads."""
    if name:
        try:
            ls = get_labelset(name)
        except UnknownLabelSetError:
            pass
        else:
            unknown = [lab for lab in labels if lab not in ls]
            if unknown:
                raise InputError(f"labels {unknown[:10]} are not in label set {ls.name} ({', '.join(ls.labels)})")
            return ls
    if not labels:
        raise InputError("no labels found in the training data")
    labels = list(labels) if ordered else sorted(labels)
    return LabelSet(name or "custom", tuple(labels), "neutral" if "neutral" in labels else None,
                    "label set of a trained model", "training data")


def _vad_columns(frame: pd.DataFrame, cols: dict[str, Any], source: Path | None) -> tuple[np.ndarray, str]:
    spec = cols.get("vad")
    if spec is None:
        raise InputError("a vad task needs columns.vad: [valence_col, arousal_col, dominance_col]")
    names = [spec.get(d) for d in DIMENSIONS] if isinstance(spec, dict) else list(spec)
    if len(names) != 3:
        raise InputError("columns.vad names 3 columns (valence, arousal, dominance; use null for a missing one)")
    scale = cols.get("vad_scale")
    if scale is None:
        raise InputError("columns.vad_scale is required with columns.vad (e.g. 1..5, 1..9, -1..1)")
    scale = get_scale(scale).name
    _need(frame, [n for n in names if n], source)
    vad = np.column_stack([pd.to_numeric(frame[n], errors="coerce").astype(float) if n else
                           np.full(len(frame), np.nan) for n in names])
    return vad, scale
