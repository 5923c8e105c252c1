"""What every scorer shares: a statistic over resampled units, its bootstrap interval, and the scored-task type."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from affectkit.evaluation import metrics as M
from affectkit.evaluation.registry import parse_metric

StatFn = Callable[[np.ndarray], float]


def nanmean_at(values: np.ndarray) -> StatFn:
    """The statistic "mean of ``values`` over the resampled units, ignoring NaN" (NaN when all are NaN)."""

    def stat(idx: np.ndarray) -> float:
        sub = values[idx]
        return float(np.nanmean(sub)) if (~np.isnan(sub)).any() else math.nan

    return stat


def queue_stat(metric: Callable[[np.ndarray, np.ndarray], float], gold: np.ndarray, pred: np.ndarray,
                items: np.ndarray) -> StatFn:
    """``metric(gold, pred)`` over the resampled items of one queue."""
    return lambda idx: metric(gold[items[idx]], pred[items[idx]])


def part_stat(metric: Callable[[np.ndarray, np.ndarray], float], gold: np.ndarray, pred: np.ndarray,
               member: np.ndarray) -> StatFn:
    """``metric`` on the resampled units that belong to one part (``member`` marks them)."""

    def stat(idx: np.ndarray) -> float:
        sel = idx[member[idx]]
        return metric(gold[sel], pred[sel])

    return stat


def mean_of(fns: list[StatFn]) -> StatFn:
    """The mean of several statistics on the same resample."""
    return lambda idx: float(np.mean([fn(idx) for fn in fns]))


@dataclass
class Scored:
    """The outcome of scoring one task: ``metrics`` maps a name to ``{"value", "ci"}``."""

    metrics: dict[str, dict[str, Any]]
    headline: str
    n_scored: int
    samples: list[dict[str, Any]]
    per_label: list[dict[str, Any]] | None = None
    confusion: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def metric_k(name: str) -> float:
    """The number in a metric name (``ndcg@10`` -> 10), as the registry parses it."""
    k = parse_metric(name).k
    assert k is not None, name
    return k


def bootstrap_stats(fns: dict[str, StatFn], n: int, n_boot: int, seed: int) -> dict[str, dict[str, Any]]:
    """Each statistic on all ``n`` units plus its bootstrap interval (the same resamples for every metric)."""
    all_idx = np.arange(n)
    out = {}
    for name, fn in fns.items():
        value = fn(all_idx) if n else math.nan
        ci = M.bootstrap_ci(fn, n, n_boot, seed) if n_boot else None
        out[name] = {"value": None if value is None or math.isnan(value) else float(value),
                     "ci": None if ci is None or math.isnan(ci[0]) else [float(ci[0]), float(ci[1])]}
    return out


def label_name(labels: tuple[str, ...], idx: int) -> str | None:
    """The label at ``idx``, or ``None`` for -1 (no label)."""
    return labels[idx] if idx >= 0 else None


def finite_or_none(x: float | None) -> float | None:
    """``x`` as a float, or ``None`` when it is missing or NaN (for strict-JSON sample rows)."""
    return None if x is None or np.isnan(x) else float(x)
