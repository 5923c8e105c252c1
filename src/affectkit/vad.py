"""Valence, arousal and dominance (VAD) with explicit scales, and the bridge between VAD and categories.

Every VAD number carries its scale: EmoBank rates on 1..5, Warriner and the Self-Assessment Manikin on 1..9,
Russell and Mehrabian (1977) on -1..1. affectkit computes on -1..1 and converts at the edges.

From a VAD point to categories ("Revisiting Emotions Representation", 2025): each category c is a Gaussian
N(mu_c, Sigma_c) with prior pi_c, and p(c | x) = pi_c N(x; mu_c, Sigma_c) / sum_k pi_k N(x; mu_k, Sigma_k),
computed with log-sum-exp. The reverse maps a category distribution to its expected VAD point and spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

import numpy as np
import yaml

from affectkit.labels import LabelSet, get_labelset, get_mapping

DIMENSIONS = ("valence", "arousal", "dominance")


@dataclass(frozen=True)
class VADScale:
    """A closed rating interval such as 1..5 (EmoBank) or -1..1 (Russell and Mehrabian)."""

    name: str
    low: float
    high: float

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2


SCALES: dict[str, VADScale] = {
    "-1..1": VADScale("-1..1", -1.0, 1.0),
    "0..1": VADScale("0..1", 0.0, 1.0),
    "1..5": VADScale("1..5", 1.0, 5.0),
    "1..7": VADScale("1..7", 1.0, 7.0),
    "1..9": VADScale("1..9", 1.0, 9.0),
}
_SCALE_ALIASES = {"emobank": "1..5", "sam": "1..9", "warriner": "1..9", "russell": "-1..1", "nrc-vad": "0..1",
                  "1-5": "1..5", "1-9": "1..9", "1-7": "1..7", "0-1": "0..1", "-1-1": "-1..1"}
CANONICAL = SCALES["-1..1"]


def get_scale(scale: "str | VADScale") -> VADScale:
    """A scale by name ("1..5", "1-9", "emobank", "sam", ...)."""
    if isinstance(scale, VADScale):
        return scale
    key = _SCALE_ALIASES.get(str(scale).strip().lower(), str(scale).strip())
    if key not in SCALES:
        raise ValueError(f"unknown VAD scale {scale!r}; known: {', '.join(SCALES)} "
                         f"(aliases: {', '.join(_SCALE_ALIASES)})")
    return SCALES[key]


def convert(values, source: "str | VADScale", target: "str | VADScale"):
    """Linearly rescale ``values`` from one rating interval to another: the ends map to the ends.

    ``convert(3, "1..5", "-1..1") == 0``; ``convert(9, "1..9", "1..5") == 5``.
    """
    s, t = get_scale(source), get_scale(target)
    x = np.asarray(values, dtype=np.float64)
    out = (x - s.low) / (s.high - s.low) * (t.high - t.low) + t.low
    return float(out) if out.ndim == 0 else out


def convert_sd(sd, source: "str | VADScale", target: "str | VADScale"):
    """Rescale a standard deviation (a spread, so no offset) between rating intervals."""
    s, t = get_scale(source), get_scale(target)
    out = np.asarray(sd, dtype=np.float64) * (t.high - t.low) / (s.high - s.low)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class VAD:
    """A point in VAD space on an explicit scale. ``dominance`` may be ``None`` when a source lacks it."""

    valence: float
    arousal: float
    dominance: float | None
    scale: str = CANONICAL.name

    def to(self, scale: "str | VADScale") -> "VAD":
        tgt = get_scale(scale)
        d = None if self.dominance is None else convert(self.dominance, self.scale, tgt)
        return VAD(convert(self.valence, self.scale, tgt), convert(self.arousal, self.scale, tgt), d, tgt.name)

    def as_dict(self) -> dict:
        return {"valence": self.valence, "arousal": self.arousal, "dominance": self.dominance, "scale": self.scale}


@dataclass(frozen=True)
class VADAnchors:
    """Per-category Gaussians in VAD space: ``means`` and ``sds`` are ``(K, D)`` on ``scale``, diagonal covariance."""

    name: str
    labelset: LabelSet
    dims: tuple[str, ...]
    means: np.ndarray
    sds: np.ndarray
    priors: np.ndarray
    scale: str
    source: str

    def on_scale(self, scale: "str | VADScale") -> "VADAnchors":
        return VADAnchors(self.name, self.labelset, self.dims, convert(self.means, self.scale, scale),
                          convert_sd(self.sds, self.scale, scale), self.priors, get_scale(scale).name, self.source)


@lru_cache(maxsize=8)
def load_anchors(name: str = "russell_mehrabian_1977") -> VADAnchors:
    """Load a shipped anchor table (see ``affectkit/data/vad_anchors.yaml`` for sources)."""
    tables = yaml.safe_load(resources.files("affectkit.data").joinpath("vad_anchors.yaml").read_text("utf-8"))
    if name not in tables:
        raise KeyError(f"unknown VAD anchor table {name!r}; known: {', '.join(tables)}")
    t = tables[name]
    labels = tuple(t["anchors"])
    ls = LabelSet(f"vad-anchors:{name}", labels, "neutral" if "neutral" in labels else None,
                  f"categories of the VAD anchor table {name}", t["source"], (), dict(t.get("parrott", {})))
    means = np.array([t["anchors"][k]["mean"] for k in labels], dtype=np.float64)
    sds = np.array([t["anchors"][k]["sd"] for k in labels], dtype=np.float64)
    priors = np.array([t["anchors"][k].get("prior", 1.0) for k in labels], dtype=np.float64)
    return VADAnchors(name, ls, tuple(t["dims"]), means, sds, priors / priors.sum(), t["scale"], t["source"])


def gaussian_mixture_posterior(points: np.ndarray, means: np.ndarray, sds: np.ndarray,
                               priors: np.ndarray) -> np.ndarray:
    """p(c | x) = pi_c N(x; mu_c, diag(sd_c^2)) / sum_k pi_k N(x; mu_k, diag(sd_k^2)), via log-sum-exp.

    Revisiting Emotions Representation (2025). ``points`` is ``(n, D)``; returns ``(n, K)``.
    """
    x = np.atleast_2d(np.asarray(points, dtype=np.float64))[:, None, :]  # n,1,D
    z = (x - means[None]) / sds[None]
    log_pdf = -0.5 * (z**2).sum(-1) - np.log(sds).sum(-1)[None] - 0.5 * means.shape[1] * np.log(2 * np.pi)
    log_joint = log_pdf + np.log(priors)[None]
    m = log_joint.max(axis=1, keepdims=True)
    log_norm = m + np.log(np.exp(log_joint - m).sum(axis=1, keepdims=True))
    return np.exp(log_joint - log_norm)


def vad_to_distribution(points, scale: "str | VADScale" = CANONICAL, labels: "str | LabelSet | None" = None,
                        anchors: str = "russell_mehrabian_1977") -> tuple[np.ndarray, LabelSet]:
    """Category distribution for VAD points (columns valence, arousal[, dominance]) on ``scale``.

    Uses the anchor table's dimensions only. With ``labels`` the anchor categories are mapped onto that
    label set (see :func:`affectkit.labels.get_mapping`). Returns ``(probabilities (n, K), label set)``.
    """
    table = load_anchors(anchors)
    pts = convert(np.atleast_2d(np.asarray(points, dtype=np.float64)), scale, table.scale)
    pts = pts[:, [DIMENSIONS.index(d) for d in table.dims]]
    probs = gaussian_mixture_posterior(pts, table.means, table.sds, table.priors)
    if labels is None:
        return probs, table.labelset
    target = get_labelset(labels)
    mapped, _ = get_mapping(table.labelset, target).map_distribution(probs)
    return mapped, target


def distribution_to_vad(dist, labels: "str | LabelSet", anchors: str = "russell_mehrabian_1977",
                        scale: "str | VADScale" = CANONICAL) -> tuple[np.ndarray, np.ndarray]:
    """Expected VAD point and spread of a category distribution over ``labels``.

    The distribution is mapped onto the anchor categories, then E[x] = sum_c p_c mu_c and, by the law of total
    variance, Var[x] = sum_c p_c (sd_c^2 + mu_c^2) - E[x]^2. Returns ``(means (n, D), sds (n, D))`` on ``scale``
    over the table's dimensions.
    """
    table = load_anchors(anchors).on_scale(scale)
    src = get_labelset(labels)
    p, _ = get_mapping(src, table.labelset).map_distribution(np.atleast_2d(dist))
    mean = p @ table.means
    second = p @ (table.sds**2 + table.means**2)
    return mean, np.sqrt(np.maximum(second - mean**2, 0.0))


def vad_columns(dims: Sequence[str] = DIMENSIONS) -> list[str]:
    return list(dims)
