"""Emotion dynamics over turns or time: transition matrices and their stationary distribution, emotional
inertia, smoothing, change points, Lin's concordance (CCC), bootstrap group comparisons and a polarisation
index.

Every function takes plain arrays that are already in sequence order (sort by conversation and turn first,
e.g. with :func:`order_sequences`), and works on whole arrays: no Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from affectkit.errors import InputError

# Esteban & Ray (1994) allow alpha in (0, 1.6]; 1.6 weighs identification with one's own group the most
ESTEBAN_RAY_ALPHA = 1.6


@dataclass
class Transitions:
    """Counts of ``labels[i] -> labels[j]`` between consecutive turns and the row-stochastic matrix."""

    labels: list[str]
    counts: np.ndarray
    matrix: np.ndarray

    @property
    def stationary(self) -> np.ndarray:
        return stationary_distribution(self.matrix)


def order_sequences(sequence: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Indices that sort rows by sequence, then by ``order`` (stable, so ties keep the input order)."""
    return np.lexsort((np.arange(len(order)), order, sequence))


def _consecutive(sequence: np.ndarray) -> np.ndarray:
    """Boolean mask over pairs (t, t+1) that belong to the same sequence."""
    sequence = np.asarray(sequence)
    return np.asarray(sequence[1:] == sequence[:-1], dtype=bool)


def transition_matrix(
    states: Sequence[str | None] | np.ndarray, sequence: np.ndarray, labels: Sequence[str] | None = None
) -> Transitions:
    """First-order Markov transition matrix between consecutive states of each sequence: ``counts[i, j]`` is
    how often state j follows state i; ``matrix`` is the maximum-likelihood estimate ``counts / row sums`` (a
    row with no outgoing transition stays zero), as in Markov-chain studies of emotion transitions (e.g.
    Kuppens & Verduyn 2017, "Emotion dynamics"). ``states`` are names, or integer codes into ``labels`` (-1:
    none)."""
    import pandas as pd

    raw = np.asarray(states)
    if np.issubdtype(raw.dtype, np.integer):
        if labels is None:
            raise ValueError("integer states need the labels they index")
        names, codes = list(labels), raw.astype(np.int64)
    else:
        names = list(labels) if labels is not None else sorted({s for s in raw.tolist() if isinstance(s, str)})
        codes = np.asarray(pd.Categorical(raw.astype(object), categories=names).codes, dtype=np.int64)
    keep = _consecutive(sequence) & (codes[:-1] >= 0) & (codes[1:] >= 0)
    k = len(names)
    flat = codes[:-1][keep] * k + codes[1:][keep]
    counts = np.bincount(flat, minlength=k * k).reshape(k, k).astype(np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    matrix = np.divide(counts, totals, out=np.zeros((k, k)), where=totals > 0)
    return Transitions(names, counts, matrix)


def stationary_distribution(matrix: np.ndarray) -> np.ndarray:
    """The distribution pi with ``pi P = pi`` and ``sum(pi) = 1`` (least squares, so a chain with several
    closed classes still gets one answer; rows of zeros are treated as staying put)."""
    p = np.array(matrix, dtype=float)
    k = p.shape[0]
    empty = p.sum(axis=1) == 0
    p[empty, empty] = 1.0
    system = np.vstack([p.T - np.eye(k), np.ones((1, k))])
    rhs = np.zeros(k + 1)
    rhs[-1] = 1.0
    pi, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return np.asarray(pi / pi.sum())


def inertia(values: np.ndarray, sequence: np.ndarray) -> float:
    """Emotional inertia (Kuppens, Allen & Sheeber 2010): the lag-1 autocorrelation of a series, pooled over
    sequences, each centred on its own mean: ``sum (x_t - m)(x_{t+1} - m) / sum (x_t - m)^2``. NaN when no
    sequence has two turns or nothing varies."""
    x = np.asarray(values, dtype=float)
    seq = np.asarray(sequence)
    if len(x) < 2:
        return float("nan")
    _, codes = np.unique(seq, return_inverse=True)
    means = np.bincount(codes, weights=x) / np.bincount(codes)
    centred = x - means[codes]
    pairs = _consecutive(codes)
    sizes = np.bincount(codes)
    in_long = sizes[codes] > 1
    denominator = float(np.sum(centred[in_long] ** 2))
    numerator = float(np.sum(centred[:-1][pairs] * centred[1:][pairs]))
    return numerator / denominator if denominator > 0 else float("nan")


def smooth(values: np.ndarray, sequence: np.ndarray, alpha: float = 0.3) -> np.ndarray:
    """Exponentially weighted moving average within each sequence, ``s_t = alpha x_t + (1 - alpha) s_{t-1}``
    (restarting at each sequence's first turn)."""
    import pandas as pd

    frame = pd.DataFrame({"x": np.asarray(values, dtype=float), "s": np.asarray(sequence)})
    return np.asarray(frame.groupby("s", sort=False)["x"].transform(lambda s: s.ewm(alpha=alpha, adjust=False).mean()))


def change_points(values: np.ndarray, penalty: float | None = None, min_size: int = 2) -> list[int]:
    """Shifts in the mean of one series by PELT (Killick, Fearnhead & Eckley 2012) with the squared-error
    cost. Returns the indices where a new segment starts. The default penalty is ``2 log(n) sigma^2``
    (BIC-like), with sigma estimated from first differences (MAD / 0.6745 / sqrt 2) so it is robust to the
    shifts themselves."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2 * min_size:
        return []
    if penalty is None:
        diffs = np.diff(x)
        sigma = float(np.median(np.abs(diffs - np.median(diffs)))) / 0.6745 / np.sqrt(2)
        sigma = sigma if sigma > 0 else float(np.std(x)) or 1.0
        penalty = 2.0 * np.log(n) * sigma**2
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def cost(a: np.ndarray, b: int) -> np.ndarray:  # squared error of x[a:b] around its mean
        return (s2[b] - s2[a]) - (s1[b] - s1[a]) ** 2 / (b - a)

    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype=np.int64)
    candidates = np.array([0], dtype=np.int64)
    for end in range(min_size, n + 1):
        ready = candidates[end - candidates >= min_size]
        waiting = candidates[end - candidates < min_size]
        if len(ready):
            totals = best[ready] + cost(ready, end)
            j = int(np.argmin(totals))
            best[end], last[end] = totals[j] + penalty, ready[j]
            ready = ready[totals <= best[end]]  # pruning: these can never start the last segment later
        candidates = np.concatenate([ready, waiting, [end] if np.isfinite(best[end]) else []]).astype(np.int64)
    points, end = [], n
    while end > 0:
        start = int(last[end])
        if start > 0:
            points.append(start)
        end = start
    return sorted(points)


def ccc(predicted: np.ndarray, gold: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (Lin 1989), the OMG-Empathy score:
    ``2 cov(x, y) / (var x + var y + (mean x - mean y)^2)`` with population (1/n) moments."""
    x, y = np.asarray(predicted, dtype=float), np.asarray(gold, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return float("nan")
    mx, my = x.mean(), y.mean()
    cov = float(np.mean((x - mx) * (y - my)))
    denominator = float(x.var() + y.var() + (mx - my) ** 2)
    return 2 * cov / denominator if denominator > 0 else float("nan")


@dataclass
class Comparison:
    """``statistic(a) - statistic(b)`` with a percentile bootstrap interval."""

    group_a: str
    group_b: str
    n_a: int
    n_b: int
    difference: float
    low: float
    high: float


def bootstrap_difference(
    a: np.ndarray,
    b: np.ndarray,
    names: tuple[str, str] = ("a", "b"),
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    max_resample: int = 5_000,
) -> Comparison:
    """Difference of a statistic (default: the mean) between two groups, with a percentile bootstrap interval
    (Efron & Tibshirani 1993), resampling each group independently. ``statistic`` maps an (n_boot, n) array to
    n_boot values. A group larger than ``max_resample`` is resampled m-out-of-n (m = ``max_resample``) and the
    bootstrap deviations are scaled by sqrt(m / n) (Bickel, Goetze & van Zwet 1997), which keeps the work
    bounded for a million rows; for a mean this is the same interval up to Monte Carlo error. A group with
    fewer than two rows is an error (no interval can be had from one row)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    for name, x in zip(names, (a, b)):
        if len(x) < 2:
            raise InputError(f"group {name!r} has {len(x)} row(s) with a value; a comparison needs at least 2")
    stat = statistic or (lambda m: m.mean(axis=-1))
    rng = np.random.default_rng(seed)
    point_a, point_b = float(stat(a[None, :])[0]), float(stat(b[None, :])[0])
    deviations = np.zeros(n_boot)
    for x, point, sign in ((a, point_a, 1.0), (b, point_b, -1.0)):
        m = min(len(x), max_resample)
        scale = np.sqrt(m / len(x))
        chunk = max(1, 2_000_000 // m)
        for start in range(0, n_boot, chunk):
            k = min(chunk, n_boot - start)
            drawn = x[rng.integers(0, len(x), size=(k, m))]
            deviations[start : start + k] += sign * scale * (stat(drawn) - point)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(deviations, [tail, 100 - tail])
    point = point_a - point_b
    return Comparison(names[0], names[1], len(a), len(b), point, point + float(low), point + float(high))


def esteban_ray(
    values: np.ndarray, bins: int = 10, lower: float = -1.0, upper: float = 1.0, alpha: float = ESTEBAN_RAY_ALPHA
) -> float:
    """Esteban & Ray (1994) polarisation of a distribution binned into ``bins`` equal groups on [lower,
    upper]: ``P = sum_i sum_j pi_i^(1 + alpha) pi_j |y_i - y_j|``, with pi the shares and y the bin centres
    rescaled to [0, 1] (K = 1). 0 when all mass is in one bin; half the mass in each outer bin gives the
    maximum, ``2 * 0.5^(2+alpha) * (1 - 1/bins)`` (0.148 for 10 bins and alpha = 1.6)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    counts, edges = np.histogram(np.clip(x, lower, upper), bins=bins, range=(lower, upper))
    shares = counts / counts.sum()
    centres = ((edges[:-1] + edges[1:]) / 2 - lower) / (upper - lower)
    distance = np.abs(centres[:, None] - centres[None, :])
    return float(np.sum((shares ** (1 + alpha))[:, None] * shares[None, :] * distance))


def bimodality_coefficient(values: np.ndarray) -> float:
    """Sarle's bimodality coefficient with the small-sample correction (Pfister et al. 2013): ``BC = (g^2 + 1)
    / (k + 3 (n - 1)^2 / ((n - 2)(n - 3)))`` with g the sample skewness and k the sample excess kurtosis (both
    bias-corrected). Above 5/9 (the value of a uniform distribution) suggests bimodality."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 4:
        return float("nan")
    d = x - x.mean()
    m2, m3, m4 = np.mean(d**2), np.mean(d**3), np.mean(d**4)
    if m2 == 0:
        return float("nan")
    g = np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
    k = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * (m4 / m2**2 - 3) + 6)
    return float((g**2 + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


__all__ = [
    "Comparison",
    "Transitions",
    "bimodality_coefficient",
    "bootstrap_difference",
    "ccc",
    "change_points",
    "esteban_ray",
    "inertia",
    "order_sequences",
    "smooth",
    "stationary_distribution",
    "transition_matrix",
]
