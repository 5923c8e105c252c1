"""From annotator votes to training targets (label-variance and annotator-subjectivity papers).

``votes`` is ``(n, K)``: how many annotators chose each label (multi-hot rows count as one vote per label).
"""

from __future__ import annotations

import numpy as np


def aggregate_votes(votes: np.ndarray, rule: str = "all-inclusive") -> tuple[np.ndarray, np.ndarray]:
    """Aggregate votes into targets; returns ``(targets (m, K), kept row indices (m,))``.

    - ``majority``: keep rows with a unique label holding more than half the votes; one-hot target.
    - ``plurality``: keep rows with a unique most-voted label; one-hot target.
    - ``all-inclusive``: keep every row, ties too; the target is the whole vote distribution n_c / N.
    """
    v = np.asarray(votes, dtype=np.float64)
    total = v.sum(axis=1)
    if rule == "all-inclusive":
        keep = np.flatnonzero(total > 0)
        return v[keep] / total[keep, None], keep
    top = v.max(axis=1)
    unique = (v == top[:, None]).sum(axis=1) == 1
    if rule == "plurality":
        ok = unique & (total > 0)
    elif rule == "majority":
        ok = unique & (top > total / 2)
    else:
        raise ValueError(f"unknown aggregation rule {rule!r}: use majority, plurality or all-inclusive")
    keep = np.flatnonzero(ok)
    onehot = np.zeros((len(keep), v.shape[1]))
    onehot[np.arange(len(keep)), v[keep].argmax(axis=1)] = 1.0
    return onehot, keep


def smooth_labels(targets: np.ndarray, epsilon: float) -> np.ndarray:
    """Label smoothing: y_c = (1 - eps) n_c / N + eps / K (targets are normalised first)."""
    t = np.asarray(targets, dtype=np.float64)
    t = t / np.maximum(t.sum(axis=1, keepdims=True), 1e-12)
    return (1 - epsilon) * t + epsilon / t.shape[1]


def cooccurrence_counts(y: np.ndarray) -> np.ndarray:
    """C_ij = number of training rows labelled with both i and j (diagonal: rows labelled i)."""
    b = (np.asarray(y) > 0).astype(np.float64)
    return b.T @ b
