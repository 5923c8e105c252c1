"""Heads map a pooled text vector to outputs. All heads are linear in the pooled vector, so a mean-pooled
text's logit decomposes exactly over its tokens: logit_c = sum_t (w_c . h_t) / T + b_c. affectkit uses that
decomposition to report the words that drive a prediction (evidence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from safetensors.numpy import load_file, save_file

from affectkit.errors import ModelFormatError, UnknownLabelSetError
from affectkit.labels import LabelSet, get_labelset
from affectkit.vad import CANONICAL, convert, get_scale


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # numerically stable for large |x|


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class Head(Protocol):
    kind: str

    def save(self, path: str | Path) -> None: ...


class CategoryHead:
    """Categories over one label set.

    Two linear maps share the input: ``multi`` gives independent per-label probabilities (sigmoid; decided
    against per-label ``thresholds``), ``dist`` gives the soft distribution (softmax with a calibrated
    ``temperature``, fit on dev data by minimising NLL, as in Guo et al. 2017).

    A label set with no neutral label may have one more ``dist`` output than labels: the *none* output, the mass
    of text that shows none of the set's emotions. It is reported beside the labels' probabilities, which then sum
    to one minus it (:meth:`forward`): neither dropped nor spread over the labels (affectkit.training.transfer).
    """

    kind = "categories"

    def __init__(self, labelset: str | LabelSet, w_multi: np.ndarray, b_multi: np.ndarray, w_dist: np.ndarray,
                 b_dist: np.ndarray, temperature: float = 1.0, thresholds: np.ndarray | None = None,
                 fallback_below: float | None = None) -> None:
        self.labelset = get_labelset(labelset)
        k = len(self.labelset)
        self.has_none = self.labelset.neutral is None and w_dist.shape[0] == k + 1
        if w_multi.shape[0] != k or (w_dist.shape[0] != k and not self.has_none):
            raise ModelFormatError(f"category head has {w_multi.shape[0]} outputs but {self.labelset.name} "
                                   f"has {k} labels")
        self.w_multi, self.b_multi = w_multi.astype(np.float32), b_multi.astype(np.float32)
        self.w_dist, self.b_dist = w_dist.astype(np.float32), b_dist.astype(np.float32)
        self.temperature = float(temperature)
        self.thresholds = np.full(k, 0.5) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        # decision rule calibrated with the thresholds: a text with no label over its threshold takes its most
        # probable label when its no-emotion mass is below this (see BatchPrediction.decisions)
        self.fallback_below = None if fallback_below is None else float(fallback_below)

    def __call__(self, pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distribution, per-label probabilities), each ``(n, K)``."""
        dist, scores, _ = self.forward(pooled)
        return dist, scores

    def forward(self, pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(probabilities of the labels, per-label multi-label probabilities, the none mass or ``None`` without that
        output); the first and the third sum to 1."""
        dist = softmax((pooled @ self.w_dist.T + self.b_dist) / self.temperature).astype(np.float64)
        scores = sigmoid(pooled @ self.w_multi.T + self.b_multi).astype(np.float64)
        if not self.has_none:
            return dist, scores, None
        return dist[:, :-1], scores, dist[:, -1]

    def token_contributions(self, states: np.ndarray, label: int) -> np.ndarray:
        """Each token's share of the distribution logit of ``label`` (before the bias), ``(t,)``."""
        return states @ self.w_dist[label] / max(len(states), 1)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({"w_multi": self.w_multi, "b_multi": self.b_multi, "w_dist": self.w_dist, "b_dist": self.b_dist},
                  str(path / "weights.safetensors"))
        cfg = {"type": self.kind, "labelset": self.labelset.name, "labels": list(self.labelset.labels),
               "neutral": self.labelset.neutral, "none_output": self.has_none, "temperature": self.temperature,
               "thresholds": {lab: float(t) for lab, t in zip(self.labelset.labels, self.thresholds)}}
        if self.fallback_below is not None:
            cfg["fallback_below"] = self.fallback_below
        (path / "config.json").write_text(json.dumps(cfg, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "CategoryHead":
        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        w = load_file(str(path / "weights.safetensors"))
        ls = _head_labelset(cfg)
        thr = cfg.get("thresholds")
        thresholds = None if thr is None else np.array([thr[lab] for lab in ls.labels])
        return cls(ls, w["w_multi"], w["b_multi"], w["w_dist"], w["b_dist"], cfg.get("temperature", 1.0), thresholds,
                   cfg.get("fallback_below"))


def _head_labelset(cfg: dict) -> LabelSet:
    """The shipped label set a head names, or, for a model trained on its own labels, the label set saved with
    the head (``labels`` and ``neutral`` in its config)."""
    try:
        ls = get_labelset(cfg["labelset"])
    except UnknownLabelSetError:
        if not cfg.get("labels"):
            raise
        return LabelSet(cfg["labelset"], tuple(cfg["labels"]), cfg.get("neutral"), "label set of a trained model",
                        "model folder")
    if cfg.get("labels") and tuple(cfg["labels"]) != ls.labels:
        raise ModelFormatError(f"head labels {cfg['labels']} differ from the shipped label set {ls.name}")
    return ls


class VADHead:
    """Linear regression onto valence, arousal, dominance. Targets were on ``scale`` at training time;
    outputs are clipped to that scale and returned on the canonical -1..1 scale."""

    kind = "vad"

    def __init__(self, w: np.ndarray, b: np.ndarray, scale: str = "1..5", perspective: str = "") -> None:
        if w.shape[0] != 3:
            raise ModelFormatError("a VAD head needs 3 outputs (valence, arousal, dominance)")
        self.w, self.b = w.astype(np.float32), b.astype(np.float32)
        self.scale = get_scale(scale).name
        self.perspective = perspective

    def __call__(self, pooled: np.ndarray) -> np.ndarray:
        s = get_scale(self.scale)
        raw = np.clip(pooled @ self.w.T + self.b, s.low, s.high)
        return convert(raw.astype(np.float64), s, CANONICAL)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({"w": self.w, "b": self.b}, str(path / "weights.safetensors"))
        (path / "config.json").write_text(json.dumps(
            {"type": self.kind, "scale": self.scale, "perspective": self.perspective}, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "VADHead":
        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        w = load_file(str(path / "weights.safetensors"))
        return cls(w["w"], w["b"], cfg.get("scale", "1..5"), cfg.get("perspective", ""))


class ScoreHead:
    """A learned scalar score for one attribute (e.g. a ranking head trained with RankNet or ListMLE)."""

    kind = "score"

    def __init__(self, attribute: str, w: np.ndarray, b: np.ndarray | float = 0.0, loss: str = "") -> None:
        self.attribute = attribute
        self.w = np.asarray(w, dtype=np.float32).reshape(-1)
        self.b = float(np.asarray(b).reshape(-1)[0]) if np.ndim(b) else float(b)
        self.loss = loss

    def __call__(self, pooled: np.ndarray) -> np.ndarray:
        return (pooled @ self.w + self.b).astype(np.float64)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({"w": self.w, "b": np.array([self.b], dtype=np.float32)}, str(path / "weights.safetensors"))
        (path / "config.json").write_text(json.dumps({"type": self.kind, "attribute": self.attribute,
                                                      "loss": self.loss}, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "ScoreHead":
        path = Path(path)
        cfg = json.loads((path / "config.json").read_text())
        w = load_file(str(path / "weights.safetensors"))
        return cls(cfg["attribute"], w["w"], w["b"], cfg.get("loss", ""))


HEADS: dict[str, Any] = {CategoryHead.kind: CategoryHead, VADHead.kind: VADHead, ScoreHead.kind: ScoreHead}


def load_head(path: str | Path) -> "CategoryHead | VADHead | ScoreHead":
    cfg_file = Path(path) / "config.json"
    if not cfg_file.exists():
        raise ModelFormatError(f"missing {cfg_file}")
    kind = json.loads(cfg_file.read_text()).get("type")
    if kind not in HEADS:
        raise ModelFormatError(f"unknown head type {kind!r} in {cfg_file}; known: {', '.join(HEADS)}")
    return HEADS[kind].load(path)
