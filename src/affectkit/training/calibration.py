"""Calibration on dev data: per-label decision thresholds and a softmax temperature."""

from __future__ import annotations

import numpy as np

from affectkit.modules.heads import softmax


def f1_per_label(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """F1 of each label (column); with ``weights``, each row counts that much."""
    y_true, y_pred = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    w = np.ones(len(y_true)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w[:, None]
    tp = ((y_true & y_pred) * w).sum(0)
    fp = ((~y_true & y_pred) * w).sum(0)
    fn = ((y_true & ~y_pred) * w).sum(0)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1.0), 0.0)


def calibrate_thresholds(scores: np.ndarray, y_true: np.ndarray, grid: np.ndarray | None = None,
                         weights: np.ndarray | None = None) -> np.ndarray:
    """For each label, the threshold on ``scores`` that maximises that label's F1 on dev data
    (ties go to the threshold nearest 0.5); ``weights`` weigh the rows (e.g. every dataset alike)."""
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2) if grid is None else grid
    y = np.asarray(y_true, bool)
    best = np.full(scores.shape[1], 0.5)
    best_f1 = np.full(scores.shape[1], -1.0)
    for t in sorted(grid, key=lambda g: abs(g - 0.5)):
        f1 = f1_per_label(y, scores >= t, weights)
        better = f1 > best_f1 + 1e-12
        best[better], best_f1[better] = t, f1[better]
    return best


def fit_temperature(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Temperature T minimising the cross-entropy of softmax(logits / T) against target distributions on dev
    (Guo et al. 2017, temperature scaling), rows weighted by ``weights``. Grid search in log space, then a finer
    local grid."""
    y = targets / np.maximum(targets.sum(axis=1, keepdims=True), 1e-12)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)

    def nll(t: float) -> float:
        ce = -(y * np.log(np.clip(softmax(logits / t), 1e-12, 1))).sum(axis=1)
        return float((ce * w).sum() / w.sum())

    coarse = np.exp(np.linspace(np.log(0.2), np.log(5.0), 41))
    t0 = min(coarse, key=nll)
    fine = t0 * np.exp(np.linspace(-0.1, 0.1, 21))
    return float(min(fine, key=nll))
