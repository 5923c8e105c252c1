"""From annotator votes to training targets (label-variance and annotator-subjectivity papers).

``votes`` is ``(n, K)``: how many annotators chose each label (multi-hot rows count as one vote per label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from affectkit.labels import LabelSet, get_labelset, get_mapping
from affectkit.labels.votes import aggregate_votes

if TYPE_CHECKING:
    from affectkit.datasets import EmotionDataset
    from affectkit.training.config import TaskSpec


def smooth_labels(targets: np.ndarray, epsilon: float) -> np.ndarray:
    """Label smoothing: y_c = (1 - eps) n_c / N + eps / K (targets are normalised first)."""
    t = np.asarray(targets, dtype=np.float64)
    t = t / np.maximum(t.sum(axis=1, keepdims=True), 1e-12)
    return (1 - epsilon) * t + epsilon / t.shape[1]


def cooccurrence_counts(y: np.ndarray) -> np.ndarray:
    """C_ij = number of training rows labelled with both i and j (diagonal: rows labelled i)."""
    b = (np.asarray(y) > 0).astype(np.float64)
    return b.T @ b


def positive_weights(y: np.ndarray, mode: str = "none", cap: float = 50.0) -> np.ndarray | None:
    """Per-label BCE positive weights from training label counts: ``balanced`` = n_neg / n_pos (King and Zeng
    2001's prior correction, as in scikit-learn's ``class_weight="balanced"`` for a binary problem), ``sqrt`` =
    its square root (a milder re-weighting; our choice). Capped at ``cap``; ``none`` returns None."""
    if mode == "none":
        return None
    b = np.asarray(y, dtype=np.float64)
    pos = b.sum(axis=0)
    ratio = (len(b) - pos) / np.maximum(pos, 1.0)
    w = np.sqrt(ratio) if mode == "sqrt" else ratio
    return np.clip(w, 1.0, cap)


@dataclass
class TaskTargets:
    """What one task trains on, for the rows of its dataset that it keeps (``rows``).

    categories: ``multi`` (targets of the sigmoid head), ``dist`` (targets of the softmax head), ``gold``
    (binary labels used for dev F1 and threshold calibration); vad / regression: ``values`` standardised with
    ``mean`` / ``std``; ranking: ``values`` (relevance, higher first) and ``groups`` (list ids, or None for
    random lists).
    """

    rows: np.ndarray
    multi: np.ndarray | None = None
    dist: np.ndarray | None = None
    gold: np.ndarray | None = None
    values: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    groups: np.ndarray | None = None
    labelset: LabelSet | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": len(self.rows)}
        if self.labelset is not None and self.gold is not None:
            out["labelset"] = self.labelset.name
            out["label_counts"] = {lab: int(c) for lab, c in zip(self.labelset.labels, self.gold.sum(axis=0))}
        if self.mean is not None and self.std is not None:
            out["target_mean"] = self.mean.tolist()
            out["target_std"] = self.std.tolist()
        return out


def category_counts(ds: EmotionDataset, labelset: str | LabelSet | None) -> tuple[np.ndarray, LabelSet]:
    """The dataset's label counts, mapped onto ``labelset`` when it differs from the dataset's (multi-hot rows
    through :meth:`LabelMapping.map_indicators`, vote counts summed onto the labels they map to)."""
    y, src = ds.categories, ds.labelset
    if y is None or src is None:
        raise ValueError(f"dataset {ds.name!r} has no category labels")
    if labelset is None or labelset == src or labelset == src.name or get_labelset(labelset) == src:
        return np.asarray(y, dtype=np.float64), src
    target = get_labelset(labelset)
    mapping = get_mapping(src, target)
    if np.isin(y, (0, 1)).all():
        return mapping.map_indicators(y).astype(np.float64), target
    return np.asarray(y, dtype=np.float64) @ (mapping.matrix > 0).astype(np.float64), target


def build_targets(spec: "TaskSpec", ds: EmotionDataset, labelset: LabelSet | None = None,
                  stats: TaskTargets | None = None) -> TaskTargets:
    """Targets of ``spec`` on ``ds``. ``stats`` (the training split's targets) fixes the standardisation of
    regression targets on dev / test."""
    if spec.type == "categories":
        counts, ls = category_counts(ds, labelset or spec.labelset)
        if spec.target == "multi-label":
            rows = np.arange(len(counts))
            gold = (counts > 0).astype(np.float64)
            dist = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)
            multi = gold
        else:
            rule = spec.aggregation if spec.target == "soft" else (
                "plurality" if spec.aggregation == "all-inclusive" else spec.aggregation)
            dist, rows = aggregate_votes(counts, rule)
            multi = dist
            k = dist.shape[1]
            gold = (dist > 1.0 / k).astype(np.float64) if spec.target == "soft" else (dist > 0).astype(np.float64)
        if spec.smoothing:
            dist = smooth_labels(dist, spec.smoothing)
        return TaskTargets(rows, multi.astype(np.float32), np.asarray(dist, dtype=np.float32), gold, labelset=ls)
    if spec.type == "vad":
        if ds.vad is None:
            raise ValueError(f"dataset {ds.name!r} has no VAD values")
        v = ds.vad.astype(np.float64)
        rows = np.flatnonzero(~np.isnan(v).all(axis=1))
        v = v[rows]
    else:
        v = np.asarray(ds.meta["score"], dtype=np.float64)[:, None]
        rows = np.arange(len(v))
    if spec.type == "ranking":
        groups = None
        if "group" in ds.meta:
            groups = np.asarray(ds.meta["group"], dtype=object)[rows]
        return TaskTargets(rows, values=v[:, 0], groups=groups)
    if stats is not None and stats.mean is not None and stats.std is not None:
        mean, std = stats.mean, stats.std
    else:
        mean, std = np.nanmean(v, axis=0), np.nanstd(v, axis=0)
        std = np.where(std > 0, std, 1.0)
    return TaskTargets(rows, values=((v - mean) / std).astype(np.float32), mean=mean, std=std)
