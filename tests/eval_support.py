"""Helpers shared by the evaluation tests: a hand-written analyzer that returns fixed, hand-made outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.labels import LabelSet, get_labelset
from affectkit.schema import BatchPrediction

EVAL_FIXTURES = Path(__file__).parent / "fixtures" / "eval"


class FixedAnalyzer(Analyzer):
    """Answers from a table ``text -> outputs`` written by hand: ``dist`` (over ``labels``), optional ``scores``,
    ``vad`` (on -1..1), ``words`` (open-vocabulary emotion words) and ``cause``. Texts not in the table get a
    uniform distribution and no other output, unless ``default(text)`` gives their outputs. ``calls`` counts
    predict_batch calls; ``fail_after`` raises KeyboardInterrupt on the call after that many (to simulate an
    interrupted run)."""

    def __init__(self, table: dict[str, dict[str, Any]], labels: str = "ekman", name: str = "fixed",
                 thresholds: list[float] | None = None, fail_after: int | None = None,
                 default: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.table = table
        self.default = default
        self.labelset: LabelSet = get_labelset(labels)
        self.name = name
        self.thresholds = None if thresholds is None else np.asarray(thresholds, dtype=float)
        self.calls = 0
        self.fail_after = fail_after

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        k = len(self.labelset)
        n = len(items)
        rows = [self.table.get(t) or (self.default(t) if self.default else {}) for t in items]
        dist = np.array([r.get("dist", [1.0 / k] * k) for r in rows], dtype=float)
        has_scores = any("scores" in r for r in rows)
        scores = np.array([r.get("scores", [0.0] * k) for r in rows], dtype=float) if has_scores else None
        vad = None
        if any("vad" in r for r in rows):
            vad = np.array([r.get("vad", [np.nan] * 3) for r in rows], dtype=float)
        intensity = None
        if any("intensity" in r for r in rows):
            intensity = np.array([r.get("intensity", np.nan) for r in rows], dtype=float)
        out = BatchPrediction(self.labelset, dist, scores, self.thresholds if has_scores else None, vad, "-1..1",
                              intensity, model=self.name)
        if any("words" in r for r in rows):
            out.extra["emotion_words"] = [r.get("words") for r in rows]
        if any("cause" in r for r in rows):
            out.causes = [r.get("cause") for r in rows]
        assert len(out) == n
        return out
