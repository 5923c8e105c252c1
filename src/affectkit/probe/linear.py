"""Linear probes on one layer's states: logistic regression for categories, ridge regression for scalars.

A probe is fit on train with each penalty of a small grid, the penalty is chosen on dev, and the chosen probe is
scored once on test with a percentile bootstrap interval (Alain and Bengio 2016, linear classifier probes;
Hewitt and Liang 2019 for the choice of a simple, regularised probe). The logistic fit is the project's own
L-BFGS fit (:func:`affectkit.training.transfer.fit_linear`); multi-label decisions use per-label thresholds calibrated
on dev (:func:`affectkit.training.calibration.calibrate_thresholds`), as the shipped heads do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from affectkit.evaluation.metrics import bootstrap_ci, f1_score, onehot, pearson
from affectkit.modules.heads import sigmoid
from affectkit.training.calibration import calibrate_thresholds
from affectkit.training.transfer import fit_linear

LOGISTIC_L2 = (1e-4, 1e-3, 1e-2, 1e-1)  # penalty on the mean loss (l2 / 2 * |W|^2)
RIDGE_ALPHA = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # per row: lambda = alpha * n_train
KINDS = ("single-label", "multi-label", "regression")


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre and scale every column by its train mean and standard deviation (constant columns: scale 1)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std < 1e-8] = 1.0
    return [((x - mean) / std).astype(np.float32) for x in (train, *others)]


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 of indicator matrices (:func:`affectkit.evaluation.metrics.f1_score`)."""
    return f1_score(gold, pred, "macro")


def mean_pearson(gold: np.ndarray, pred: np.ndarray) -> float:
    """Pearson r of each target column, averaged (one column: r itself)."""
    g, p = np.atleast_2d(gold.T).T, np.atleast_2d(pred.T).T
    return float(np.mean([pearson(g[:, k], p[:, k]) for k in range(g.shape[1])]))


def probe_metric(kind: str) -> tuple[str, Callable[[np.ndarray, np.ndarray], float]]:
    """The metric a probe of this kind is selected and scored with: macro-F1 for categories, Pearson r for
    scalars."""
    return ("pearson", mean_pearson) if kind == "regression" else ("macro_f1", macro_f1)


@dataclass
class Probe:
    """A fitted linear probe: ``w`` (outputs, dim), ``b`` (outputs,), the chosen penalty and its dev score."""

    kind: str
    w: np.ndarray
    b: np.ndarray
    penalty: float
    dev_score: float
    thresholds: np.ndarray | None = None
    dev_scores: dict[float, float] = field(default_factory=dict)

    def scores(self, x: Any) -> np.ndarray:
        return np.asarray(x @ self.w.T, dtype=np.float64) + self.b

    def predict(self, x: Any) -> np.ndarray:
        """Indicator matrix (categories) or predicted values (regression)."""
        z = self.scores(x)
        if self.kind == "regression":
            return z
        if self.kind == "single-label":
            return onehot(z.argmax(axis=1), z.shape[1])
        return sigmoid(z) >= self.thresholds


def fit_logistic(x: Any, y: np.ndarray, x_dev: Any, y_dev: np.ndarray, kind: str,
                 grid: tuple[float, ...] = LOGISTIC_L2, max_iter: int = 100) -> Probe:
    """Logistic probe: softmax (single-label) or one sigmoid per label (multi-label) on indicator targets
    ``y``; the penalty with the best dev macro-F1 wins."""
    best: Probe | None = None
    dev_scores: dict[float, float] = {}
    weights = np.ones(y.shape[0])
    for l2 in grid:
        fit = fit_linear(x, y.astype(np.float64), weights, l2, "softmax" if kind == "single-label" else "sigmoid",
                   max_iter=max_iter)
        probe = Probe(kind, fit.w, fit.b, l2, math.nan)
        if kind == "multi-label":
            probe.thresholds = calibrate_thresholds(sigmoid(probe.scores(x_dev)), y_dev)
        probe.dev_score = dev_scores[l2] = macro_f1(y_dev, probe.predict(x_dev))
        if best is None or probe.dev_score > best.dev_score + 1e-12:
            best = probe
    assert best is not None
    best.dev_scores = dev_scores
    return best


def _centred_gram(x: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """The smaller Gram matrix of the column-centred ``x`` (primal ``d x d`` or dual ``n x n``), its column
    means, and whether it is the primal one. Works for dense and scipy.sparse ``x`` without densifying it."""
    n, d = x.shape
    mean = np.asarray(x.mean(axis=0), dtype=np.float64).ravel()
    if d <= n:
        gram = np.asarray((x.T @ x).todense() if hasattr(x, "todense") else x.T @ x, dtype=np.float64)
        return gram - n * np.outer(mean, mean), mean, True
    k = np.asarray((x @ x.T).todense() if hasattr(x, "todense") else x @ x.T, dtype=np.float64)
    u = np.asarray(x @ mean, dtype=np.float64).ravel()
    return k - u[:, None] - u[None, :] + mean @ mean, mean, False


def fit_ridge(x: Any, y: np.ndarray, x_dev: Any, y_dev: np.ndarray, grid: tuple[float, ...] = RIDGE_ALPHA) -> Probe:
    """Ridge probe (Hoerl and Kennard 1970) with an unpenalised intercept, ``min |y - Xw - b|^2 + lambda |w|^2``
    with ``lambda = alpha * n``, solved exactly for every alpha from one eigendecomposition (primal when
    dim <= rows, dual otherwise); the alpha with the best dev Pearson r wins."""
    y2 = np.atleast_2d(np.asarray(y, dtype=np.float64).T).T
    n = y2.shape[0]
    y_mean = y2.mean(axis=0)
    yc = y2 - y_mean
    gram, mean, primal = _centred_gram(x)
    s, v = np.linalg.eigh(gram)
    s = np.clip(s, 0.0, None)
    if primal:
        xty = np.asarray(x.T @ yc, dtype=np.float64) - np.outer(mean, yc.sum(axis=0))
        proj = v.T @ xty
    else:
        proj = v.T @ yc
    best: Probe | None = None
    dev_scores: dict[float, float] = {}
    for alpha in grid:
        coef = v @ (proj / (s + alpha * n)[:, None])
        w = coef if primal else (np.asarray(x.T @ coef, dtype=np.float64) - np.outer(mean, coef.sum(axis=0)))
        probe = Probe("regression", w.T, y_mean - mean @ w, alpha, math.nan)
        probe.dev_score = dev_scores[alpha] = mean_pearson(np.asarray(y_dev, dtype=np.float64), probe.predict(x_dev))
        if best is None or probe.dev_score > best.dev_score + 1e-12:
            best = probe
    assert best is not None
    best.dev_scores = dev_scores
    return best


def fit_probe(kind: str, x: Any, y: np.ndarray, x_dev: Any, y_dev: np.ndarray) -> Probe:
    if kind == "regression":
        return fit_ridge(x, y, x_dev, y_dev)
    if kind in ("single-label", "multi-label"):
        return fit_logistic(x, y, x_dev, y_dev, kind)
    raise ValueError(f"unknown probe kind {kind!r}: one of {', '.join(KINDS)}")


def score_with_ci(kind: str, gold: np.ndarray, pred: np.ndarray, n_boot: int = 1000,
                  seed: int = 0) -> tuple[float, float, float]:
    """The probe's test metric and its 95% percentile bootstrap interval over test rows."""
    _, metric = probe_metric(kind)
    lo, hi = bootstrap_ci(lambda idx: metric(gold[idx], pred[idx]), len(gold), n_boot, seed)
    return metric(gold, pred), lo, hi
