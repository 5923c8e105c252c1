"""One prediction schema for every analyzer.

A :class:`Prediction` is what affectkit says about one input: ranked emotions, the full soft distribution over
a label set, multi-label decisions with per-label thresholds, VAD on an explicit scale, intensity, polarity,
evidence, and (for LLM analyzers) a cause and an explanation. A failed input keeps its row and says why in
``error``. :class:`BatchPrediction` holds the same fields for many inputs as arrays, which is how analyzers
produce them and how they flatten to table columns without a Python object per row.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Sequence

import numpy as np

from affectkit.jsonable import json_default
from affectkit.labels import LabelSet, get_labelset, get_mapping
from affectkit.vad import CANONICAL, DIMENSIONS, convert, get_scale


@dataclass
class Evidence:
    """A span of the input that drives a prediction: ``text[start:end]``, the label it supports and a weight."""

    text: str
    start: int
    end: int
    label: str | None = None
    weight: float = 0.0


@dataclass
class EmotionScore:
    label: str
    score: float


@dataclass
class Prediction:
    """The full affect picture of one input."""

    labelset: str
    emotions: list[EmotionScore] = field(default_factory=list)  # ranked, top-k by distribution
    distribution: dict[str, float] = field(default_factory=dict)  # sums to 1 over the label set (with no_emotion)
    scores: dict[str, float] = field(default_factory=dict)  # independent per-label probabilities (multi-label)
    labels: list[str] = field(default_factory=list)  # multi-label decisions: scores >= per-label thresholds
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    vad_scale: str = CANONICAL.name
    intensity: float | None = None  # 0..1
    # for a label set with no neutral label, the mass of "none of these emotions" (then distribution + no_emotion
    # sum to 1); None where the label set has a neutral label (its probability says the same) or the head has none
    no_emotion: float | None = None
    polarity: str | None = None  # positive | negative | ambiguous | neutral
    evidence: list[Evidence] = field(default_factory=list)
    cause: str | None = None
    explanation: str | None = None
    n_segments: int = 1
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # analyzer-specific outputs, e.g. emotion_words
    error: str | None = None

    @property
    def top(self) -> str | None:
        return self.emotions[0].label if self.emotions else None

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain dicts and lists: what ``dataclasses.asdict`` gives, without its generic deep copy
        (about 10x faster, which matters per request in the service)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("emotions", "evidence"):
                value = [dict(vars(x)) for x in value]  # EmotionScore / Evidence: flat dataclasses
            elif f.name == "extra":
                value = copy.deepcopy(value) if value else {}
            elif isinstance(value, (dict, list)):
                value = type(value)(value)
            out[f.name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, default=json_default)


POLARITY_LABELSET = "goemotions-sentiment"


@dataclass
class BatchPrediction:
    """Predictions for ``n`` inputs, held as arrays.

    ``dist`` rows sum to 1, or to ``1 - none`` when the label set has no neutral label and the head reports the
    no-emotion mass ``none`` (NaN rows for failed inputs); ``scores`` are independent per-label probabilities used
    for multi-label decisions against ``thresholds``; ``vad`` is ``(n, 3)`` on ``vad_scale`` (NaN = unknown).
    """

    labelset: LabelSet
    dist: np.ndarray
    scores: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    vad: np.ndarray | None = None
    vad_scale: str = CANONICAL.name
    intensity: np.ndarray | None = None
    evidence: list[list[Evidence]] | None = None
    causes: list[str | None] | None = None
    explanations: list[str | None] | None = None
    n_segments: np.ndarray | None = None
    errors: list[str | None] = field(default_factory=list)
    model: str | None = None
    # analyzer-specific per-row outputs, one list per key; conventions: "emotion_words" (open-vocabulary words,
    # list[str]), "score_<attribute>" (a trained score head), "usage" (LLM tokens and seconds)
    extra: dict[str, list[Any]] = field(default_factory=dict)
    # the no-emotion mass per row (a head's none output, or its neutral label's probability), and the decision
    # rule calibrated with it: a row with no label over its threshold takes its most probable label when its
    # no-emotion mass is below ``fallback_below`` (None: no such rule; ``math.inf``: every row, see
    # :meth:`always_labelled`)
    none: np.ndarray | None = None
    fallback_below: float | None = None

    def __post_init__(self) -> None:
        n = len(self.dist)
        if not self.errors:
            self.errors = [None] * n

    def __len__(self) -> int:
        return len(self.dist)

    # -- construction ----------------------------------------------------------------------------------------------
    @classmethod
    def failed(cls, labelset: LabelSet, errors: Sequence[str], model: str | None = None) -> "BatchPrediction":
        n = len(errors)
        return cls(labelset, np.full((n, len(labelset)), np.nan), errors=list(errors), model=model)

    @classmethod
    def scatter(cls, n: int, positions: Sequence[int], part: "BatchPrediction | None",
                errors: dict[int, str], labelset: LabelSet, model: str | None = None) -> "BatchPrediction":
        """Place ``part`` (predictions for ``positions``) into a batch of ``n`` rows; other rows get ``errors``."""
        k = len(labelset)
        out = cls(labelset, np.full((n, k), np.nan), errors=[errors.get(i) for i in range(n)], model=model)
        if part is None or len(positions) == 0:
            return out
        pos = np.asarray(positions, dtype=np.int64)
        out.dist[pos] = part.dist
        if part.scores is not None:
            out.scores = np.full((n, k), np.nan)
            out.scores[pos] = part.scores
        out.thresholds = part.thresholds
        if part.vad is not None:
            out.vad = np.full((n, 3), np.nan)
            out.vad[pos] = part.vad
        out.vad_scale = part.vad_scale
        if part.intensity is not None:
            out.intensity = np.full(n, np.nan)
            out.intensity[pos] = part.intensity
        if part.n_segments is not None:
            out.n_segments = np.zeros(n, dtype=np.int64)
            out.n_segments[pos] = part.n_segments
        if part.none is not None:
            out.none = np.full(n, np.nan)
            out.none[pos] = part.none
        out.fallback_below = part.fallback_below
        for name in ("evidence", "causes", "explanations"):
            vals = getattr(part, name)
            if vals is not None:
                full: list[Any] = [[] if name == "evidence" else None for _ in range(n)]
                for p, v in zip(pos, vals):
                    full[p] = v
                setattr(out, name, full)
        for key, vals in part.extra.items():
            full = [None] * n
            for p, v in zip(pos, vals):
                full[p] = v
            out.extra[key] = full
        for p, err in zip(pos, part.errors):
            if err:
                out.errors[p] = err
        return out

    @classmethod
    def concat(cls, parts: Sequence["BatchPrediction"]) -> "BatchPrediction":
        """Stack batches over the same label set, in order."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        n = sum(len(p) for p in parts)

        def stack(name: str, width: int | None):
            if all(getattr(p, name) is None for p in parts):
                return None
            arrs = []
            for p in parts:
                v = getattr(p, name)
                if v is None:
                    shape = (len(p),) if width is None else (len(p), width)
                    v = np.full(shape, np.nan)
                arrs.append(v)
            return np.concatenate(arrs)

        def join(name: str, empty: Any):
            if all(getattr(p, name) is None for p in parts):
                return None
            return [x for p in parts for x in (getattr(p, name) or [empty() if callable(empty) else empty] * len(p))]

        out = cls(first.labelset, np.concatenate([p.dist for p in parts]), stack("scores", len(first.labelset)),
                  first.thresholds, stack("vad", 3), first.vad_scale, stack("intensity", None), join("evidence", list),
                  join("causes", None), join("explanations", None), None,
                  [e for p in parts for e in p.errors], first.model)
        segs = [p.n_segments if p.n_segments is not None else np.ones(len(p), dtype=np.int64) for p in parts]
        out.n_segments = np.concatenate(segs) if any(p.n_segments is not None for p in parts) else None
        keys = dict.fromkeys(k for p in parts for k in p.extra)  # first-seen order: stable column order
        out.extra = {k: [x for p in parts for x in p.extra.get(k, [None] * len(p))] for k in keys}
        out.none = stack("none", None)
        out.fallback_below = first.fallback_below
        assert len(out) == n
        return out

    def take(self, rows: "Sequence[int] | slice") -> "BatchPrediction":
        """The predictions for ``rows`` (positions or a slice), in that order."""
        idx = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)

        def arr(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        def lst(v: list | None) -> list | None:
            return None if v is None else [v[i] for i in idx]

        return BatchPrediction(self.labelset, self.dist[idx], arr(self.scores), self.thresholds, arr(self.vad),
                               self.vad_scale, arr(self.intensity), lst(self.evidence), lst(self.causes),
                               lst(self.explanations), arr(self.n_segments), [self.errors[i] for i in idx],
                               self.model, {key: [vals[i] for i in idx] for key, vals in self.extra.items()},
                               arr(self.none), self.fallback_below)

    # -- transformation --------------------------------------------------------------------------------------------
    def to_labelset(self, labels: "str | LabelSet | None", thresholds: np.ndarray | None = None) -> "BatchPrediction":
        """The same predictions over another label set, through :func:`affectkit.labels.get_mapping`.

        The distribution is mapped by summing probability; multi-label scores by the largest feeding score, and
        a target label is decided on when a feeding source label was (or, with ``thresholds``, by those).
        """
        if labels is None:
            return self
        target = get_labelset(labels)
        if target == self.labelset:
            return self
        mapping = get_mapping(self.labelset, target)
        ok = ~np.isnan(self.dist).any(axis=1)
        dist = np.full((len(self), len(target)), np.nan)
        if ok.any():
            dist[ok] = mapping.map_distribution(self.dist[ok])[0]
        scores = new_thr = None
        if self.scores is not None:
            scores = np.full((len(self), len(target)), np.nan)
            if ok.any():
                if thresholds is not None:
                    scores[ok] = mapping.map_scores(self.scores[ok])
                    new_thr = np.asarray(thresholds, dtype=np.float64)
                else:
                    # Express each source score relative to its own threshold, map, then decide at 0.5:
                    # a target is on exactly when some feeding source label is on.
                    rel = _relative_to_threshold(self.scores[ok], self._thresholds())
                    scores[ok] = mapping.map_scores(rel)
                    new_thr = np.full(len(target), 0.5)
        out = BatchPrediction(target, dist, scores, new_thr, self.vad, self.vad_scale, self.intensity,
                              self.evidence, self.causes, self.explanations, self.n_segments, list(self.errors),
                              self.model, dict(self.extra))
        if self.evidence is not None:
            out.evidence = [[_relabel(e, mapping) for e in ev] for ev in self.evidence]
        return out

    def _thresholds(self) -> np.ndarray:
        return self.thresholds if self.thresholds is not None else np.full(len(self.labelset), 0.5)

    def decisions(self) -> np.ndarray:
        """Multi-label decisions ``(n, K)``: per-label score >= threshold (from the distribution when no scores),
        then the calibrated fallback (see ``fallback_below``): a row with no label decided whose no-emotion mass
        is below it takes its most probable label."""
        if self.scores is None:
            out = np.nan_to_num(self.dist) >= 1.0 / len(self.labelset)
        else:
            out = np.nan_to_num(self.scores, nan=-1.0) >= self._thresholds()[None]
        if self.fallback_below is not None:
            ok = ~np.isnan(self.dist).any(axis=1) & (np.nan_to_num(self.dist).max(axis=1) > 0)  # a top label
            none = np.zeros(len(self)) if self.none is None else np.nan_to_num(self.none, nan=1.0)
            rows = np.flatnonzero(ok & ~out.any(axis=1) & (none < self.fallback_below))
            out[rows, np.nan_to_num(self.dist[rows], nan=-1.0).argmax(axis=1)] = True
        return out

    def always_labelled(self) -> "BatchPrediction":
        """The same predictions, decided so that every row (but a failed one) gets at least its most probable
        label: for collections where every text expresses some emotion (emotion-tagged posts, event descriptions),
        where the calibrated rule would leave rows the model finds unemotional without a label
        (``affectkit analyze --at-least-one-label``; docs/cross-domain.md measures both rules)."""
        return replace(self, fallback_below=math.inf)

    def polarity(self) -> list[str | None]:
        """positive / negative / ambiguous / neutral, from the published GoEmotions sentiment grouping of the
        distribution when the label set maps onto it, else from the sign of valence."""
        out: list[str | None] = [None] * len(self)
        ok = ~np.isnan(self.dist).any(axis=1)
        if not ok.any():
            return out
        try:
            mapping = get_mapping(self.labelset, POLARITY_LABELSET)
            usable = not mapping.derived or not mapping.unmapped
        except Exception:  # pragma: no cover - mapping always derivable, kept defensive
            usable = False
        if usable:
            pol, _ = mapping.map_distribution(self.dist[ok])
            names = np.array(mapping.target.labels, dtype=object)[pol.argmax(axis=1)]
            for i, name in zip(np.flatnonzero(ok), names):
                out[i] = str(name)
        elif self.vad is not None:
            v = convert(self.vad[:, 0], self.vad_scale, CANONICAL)
            for i in np.flatnonzero(ok & ~np.isnan(v)):
                out[i] = "positive" if v[i] > 0.1 else "negative" if v[i] < -0.1 else "neutral"
        return out

    # -- output ----------------------------------------------------------------------------------------------------
    def _vad_on(self, scale: str | None) -> np.ndarray | None:
        if self.vad is None:
            return None
        return self.vad if scale is None else convert(self.vad, self.vad_scale, scale)

    def to_predictions(self, top_k: int | None = 3, vad_scale: str | None = None) -> list[Prediction]:
        """One :class:`Prediction` per row."""
        labels = self.labelset.labels
        k = len(labels) if top_k is None else min(top_k, len(labels))
        decisions = self.decisions()
        polarity = self.polarity()
        vad = self._vad_on(vad_scale)
        scale = get_scale(vad_scale).name if vad_scale else self.vad_scale
        out: list[Prediction] = []
        for i in range(len(self)):
            p = Prediction(self.labelset.name, model=self.model, vad_scale=scale, error=self.errors[i])
            row = self.dist[i]
            if not np.isnan(row).any():
                order = np.argsort(-row, kind="stable")[:k]
                p.emotions = [EmotionScore(labels[j], float(row[j])) for j in order]
                p.distribution = {lab: float(x) for lab, x in zip(labels, row)}
                if self.scores is not None:
                    p.scores = {lab: float(x) for lab, x in zip(labels, self.scores[i])}
                p.labels = [labels[j] for j in np.flatnonzero(decisions[i])]
                p.polarity = polarity[i]
            if vad is not None:
                p.valence, p.arousal, p.dominance = (_num(x) for x in vad[i])
            if self.intensity is not None:
                p.intensity = _num(self.intensity[i])
            if self.none is not None and self.labelset.neutral is None:
                p.no_emotion = _num(self.none[i])
            if self.evidence is not None:
                p.evidence = list(self.evidence[i])
            if self.causes is not None:
                p.cause = self.causes[i]
            if self.explanations is not None:
                p.explanation = self.explanations[i]
            if self.n_segments is not None:
                p.n_segments = int(self.n_segments[i])
            if self.extra:
                p.extra = {key: vals[i] for key, vals in self.extra.items()}
            out.append(p)
        return out

    def to_columns(self, top_k: int = 3, vad_scale: str | None = None, distribution: bool = True,
                   prefix: str = "") -> dict[str, list | np.ndarray]:
        """Flatten to table columns (vectorised): ``emotion_1``, ``emotion_1_score``, ..., ``labels``,
        ``valence``/``arousal``/``dominance``/``vad_scale``, ``intensity``, ``polarity``, ``evidence``,
        ``cause``, ``explanation``, ``n_segments``, ``error``, and ``p_<label>`` for the full distribution."""
        n, labels = len(self), self.labelset.labels
        k = min(top_k, len(labels))
        ok = ~np.isnan(self.dist).any(axis=1)
        safe = np.where(ok[:, None], self.dist, -np.inf)
        order = np.argsort(-safe, axis=1, kind="stable")[:, :k]
        names = np.array(labels, dtype=object)
        cols: dict[str, Any] = {}
        for r in range(k):
            lab = names[order[:, r]]
            sc = np.take_along_axis(self.dist, order[:, r : r + 1], axis=1)[:, 0]
            cols[f"emotion_{r + 1}"] = [x if o else None for x, o in zip(lab, ok)]
            cols[f"emotion_{r + 1}_score"] = np.round(sc, 6)
        decisions = self.decisions()
        cols["labels"] = [";".join(names[np.flatnonzero(d)]) if o else None for d, o in zip(decisions, ok)]
        vad = self._vad_on(vad_scale)
        if vad is not None:
            for j, dim in enumerate(DIMENSIONS):
                cols[dim] = np.round(vad[:, j], 6)
            cols["vad_scale"] = [get_scale(vad_scale).name if vad_scale else self.vad_scale] * n
        if self.intensity is not None:
            cols["intensity"] = np.round(self.intensity, 6)
        if self.none is not None and self.labelset.neutral is None:
            cols["no_emotion"] = np.round(self.none, 6)
        cols["polarity"] = self.polarity()
        if self.evidence is not None:
            cols["evidence"] = ["; ".join(_evidence_word(e) for e in ev) if ev else None for ev in self.evidence]
        if self.causes is not None:
            cols["cause"] = list(self.causes)
        if self.explanations is not None:
            cols["explanation"] = list(self.explanations)
        for key, vals in self.extra.items():
            cols[key] = list(vals)
        if self.n_segments is not None:
            cols["n_segments"] = self.n_segments
        if distribution:
            for j, name in enumerate(self.labelset.labels):
                cols[f"p_{name.replace(' ', '_')}"] = np.round(self.dist[:, j], 6)
        cols["error"] = list(self.errors)
        return {prefix + key: val for key, val in cols.items()} if prefix else cols


def _evidence_word(e: Evidence) -> str:
    return e.text if e.label is None else f"{e.text} ({e.label})"


def _relabel(e: Evidence, mapping) -> Evidence:
    if e.label is None or e.label not in mapping.source:
        return e
    targets = mapping.map_label(e.label)
    return Evidence(e.text, e.start, e.end, targets[0] if targets else None, e.weight)


def _relative_to_threshold(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Monotone rescaling that sends each label's threshold to 0.5: below it linearly onto [0, 0.5),
    above it onto [0.5, 1]."""
    t = np.clip(thresholds[None], 1e-6, 1 - 1e-6)
    return np.where(scores < t, 0.5 * scores / t, 0.5 + 0.5 * (scores - t) / (1 - t))


def _num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x
