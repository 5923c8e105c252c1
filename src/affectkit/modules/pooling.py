"""Per-text pooling of per-window values: a long text is several windows, and each of its outputs is the
token-weighted mean (distributions, VAD, vectors) or the maximum (multi-label scores) over its windows."""

from __future__ import annotations

import numpy as np


def aggregate_mean(values: np.ndarray, owner: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Row ``i`` of the result: the ``weights``-weighted mean of the rows of ``values`` whose ``owner`` is ``i``."""
    if len(owner) == n and np.array_equal(owner, np.arange(n)):
        return values.astype(np.float64)
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, owner, values * weights[:, None])
    total = np.bincount(owner, weights=weights, minlength=n)
    return out / np.maximum(total, 1e-12)[:, None]


def aggregate_max(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Row ``i`` of the result: the element-wise maximum of the rows of ``values`` whose ``owner`` is ``i``."""
    if len(owner) == n and np.array_equal(owner, np.arange(n)):
        return values.astype(np.float64)
    out = np.full((n, values.shape[1]), -np.inf)
    np.maximum.at(out, owner, values)
    return out
