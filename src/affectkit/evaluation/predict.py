"""Computing predictions for evaluation: one function over a chunk of items.

:func:`predict_chunk` is the unit of work (the local runner and a distributed engine both call it): items in,
one JSON-able record per item out, in order. A record holds everything any task type scores - the distribution
over the task's label set, multi-label decisions and scores, VAD on -1..1, intensity, open-vocabulary
``emotion_words``, the ``cause``, trained score heads - plus how the labels were mapped. Scoring
(:mod:`affectkit.evaluation.scoring`) is separate and works from these records alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE, Analyzer
from affectkit.labels import LabelSet, get_labelset
from affectkit.labels.mapping import LabelMapping, get_mapping
from affectkit.schema import BatchPrediction
from affectkit.vad import CANONICAL, convert

if TYPE_CHECKING:
    from affectkit.context import ContextOptions

RECORD_VERSION = 1


class Unsupported(Exception):
    """The analyzer cannot answer this task (e.g. its labels map onto none of the task's emotions)."""


@dataclass
class LabelPlan:
    """How an analyzer's answers reach the task's label set: ask in ``source`` (the analyzer's native label
    set for the request), then map through ``hops`` (none when the analyzer answers in the task's set)."""

    source: LabelSet
    target: LabelSet | None
    hops: list[LabelMapping] = field(default_factory=list)

    @property
    def output(self) -> LabelSet:
        return self.target if self.target is not None else self.source

    def matrix(self) -> np.ndarray:
        """The composite mapping matrix ``(|source|, |output|)``."""
        m = np.eye(len(self.source))
        for hop in self.hops:
            m = m @ hop.matrix
        return m

    def unmapped_source_labels(self) -> list[str]:
        m = self.matrix()
        return [lab for lab, row in zip(self.source.labels, m) if row.sum() == 0]

    def unreachable_target_labels(self) -> list[str]:
        m = self.matrix()
        return [lab for j, lab in enumerate(self.output.labels) if m[:, j].sum() == 0]

    def describe(self) -> dict[str, Any]:
        return {"source": self.source.name, "target": self.output.name,
                "route": [self.source.name] + [h.target.name for h in self.hops],
                "citations": [h.citation for h in self.hops], "derived": any(h.derived for h in self.hops),
                "unmapped_model_labels": self.unmapped_source_labels(),
                "unreachable_task_labels": self.unreachable_target_labels()}


def plan_labels(analyzer: Analyzer, target: "str | LabelSet | None", via: "str | LabelSet | None" = None) -> LabelPlan:
    """Decide how ``analyzer`` answers in ``target``: natively when it can; else through ``via`` when given (ask
    in ``via``, then map with its mapping to ``target``); else by mapping its native answers. Raises
    :class:`Unsupported` when the mapping reaches none of the target's emotions."""
    if target is None:
        return LabelPlan(analyzer.labelset, None)
    tgt = get_labelset(target)
    src = analyzer.native_labelset(tgt)
    if src == tgt:
        return LabelPlan(tgt, tgt)
    hops: list[LabelMapping] = []
    if via is not None:
        mid = get_labelset(via)
        src = analyzer.native_labelset(mid)
        if src != mid:
            hops.append(get_mapping(src, mid))
        if mid != tgt:
            hops.append(get_mapping(mid, tgt))
    else:
        hops.append(get_mapping(src, tgt))
    plan = LabelPlan(src, tgt, hops)
    m = plan.matrix()
    emotions = [j for j, lab in enumerate(tgt.labels) if lab != tgt.neutral]
    if not (m[:, emotions].sum(axis=0) > 0).any():
        raise Unsupported(f"{analyzer.name}'s labels ({src.name}) map onto none of the emotions of {tgt.name}")
    return plan


def _num(x: Any) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, 6)


def records_from_batch(batch: BatchPrediction, plan: LabelPlan | None = None) -> list[dict[str, Any]]:
    """Turn a batch of predictions (in ``plan.source``) into one record per row, mapped through the plan."""
    n = len(batch)
    native_top: list[str | None] = [None] * n
    kept = np.ones(n)
    if plan is not None and plan.hops:
        ok = ~np.isnan(batch.dist).any(axis=1)
        names = plan.source.labels
        for j in np.flatnonzero(ok):
            native_top[j] = names[int(np.argmax(batch.dist[j]))]
        for hop in plan.hops:
            if ok.any():
                _, mass = hop.map_distribution(batch.dist[ok])
                kept[ok] *= mass
            batch = batch.to_labelset(hop.target)
    vad = None if batch.vad is None else convert(batch.vad, batch.vad_scale, CANONICAL)
    labels = batch.labelset.labels
    decisions = batch.decisions()
    score_keys = [k for k in batch.extra if k.startswith("score_")]
    out: list[dict[str, Any]] = []
    for i in range(n):
        row = batch.dist[i]
        failed = bool(np.isnan(row).any())
        rec: dict[str, Any] = {"error": batch.errors[i]}
        # a row without a distribution may still have scalars (the scene model gives valence and arousal only)
        scalars = (vad is not None and not np.isnan(vad[i]).all()) or (
            batch.intensity is not None and not np.isnan(batch.intensity[i]))
        if failed and rec["error"] is None and not scalars:
            rec["error"] = "no prediction"
        rec["dist"] = None if failed else [round(float(x), 6) for x in row]
        rec["scores"] = (None if failed or batch.scores is None else
                         [round(float(x), 6) for x in np.nan_to_num(batch.scores[i], nan=0.0)])
        rec["labels"] = None if failed else [labels[j] for j in np.flatnonzero(decisions[i])]
        rec["vad"] = None if vad is None else [_num(x) for x in vad[i]]
        rec["intensity"] = None if batch.intensity is None else _num(batch.intensity[i])
        words = batch.extra.get("emotion_words")
        rec["emotion_words"] = None if words is None or words[i] is None else [str(w) for w in words[i]]
        rec["cause"] = None if batch.causes is None else batch.causes[i]
        for k in score_keys:
            v = batch.extra[k][i]
            rec[k] = None if v is None else _num(v)
        if plan is not None and plan.hops:
            rec["native_top"] = native_top[i]
            rec["kept_mass"] = None if failed else round(float(kept[i]), 6)
        out.append(rec)
    return out


def analyzer_reads(analyzer: Analyzer) -> tuple[str, ...]:
    """The kinds of item an analyzer reads: a media analyzer's ``accepts`` (the router's routes), else text."""
    routes = getattr(analyzer, "routes", None)
    if isinstance(routes, dict):
        return tuple(routes)
    return tuple(getattr(analyzer, "accepts", None) or ("text",))


def predict_chunk(analyzer: Analyzer, items: Sequence[Any], labels: "str | LabelSet | None" = None,
                  via: "str | LabelSet | None" = None, batch_size: int = DEFAULT_BATCH_SIZE,
                  plan: LabelPlan | None = None) -> list[dict[str, Any]]:
    """Predict for one chunk of items: one record per item, in order (failed items carry ``error``).

    ``labels`` is the task's label set (``None`` = the analyzer's own) and ``via`` an intermediate label set
    for analyzers that cannot answer in ``labels`` natively (see :func:`plan_labels`).
    """
    plan = plan or plan_labels(analyzer, labels, via)
    if analyzer_reads(analyzer) != ("text",):  # files: bound the decoded pixels or samples held at once
        from affectkit.media.cli import MEDIA_BATCH

        batch_size = min(batch_size, MEDIA_BATCH)
    out: list[dict[str, Any]] = []
    for b in range(0, len(items), batch_size):
        batch = analyzer.analyze_batch(list(items[b : b + batch_size]), plan.source)
        out.extend(records_from_batch(batch, plan))
    return out


@dataclass
class PredictionArrays:
    """Records as arrays over ``labelset`` for scoring (NaN rows for failed items)."""

    labelset: LabelSet
    dist: np.ndarray
    scores: np.ndarray | None
    decisions: np.ndarray
    vad: np.ndarray
    intensity: np.ndarray
    emotion_words: list[list[str] | None]
    causes: list[str | None]
    errors: list[str | None]
    native_top: list[str | None]
    kept_mass: np.ndarray
    extra: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.dist)

    @property
    def failed(self) -> np.ndarray:
        return np.isnan(self.dist).any(axis=1)

    @classmethod
    def from_records(cls, records: Sequence[dict[str, Any]], labelset: "str | LabelSet") -> "PredictionArrays":
        ls = get_labelset(labelset)
        n, k = len(records), len(ls)
        dist = np.full((n, k), np.nan)
        scores = np.full((n, k), np.nan)
        has_scores = False
        decisions = np.zeros((n, k), dtype=bool)
        vad = np.full((n, 3), np.nan)
        intensity = np.full(n, np.nan)
        kept = np.full(n, np.nan)
        extra_keys = sorted({key for r in records for key in r if key.startswith("score_")})
        extra = {key: np.full(n, np.nan) for key in extra_keys}
        index = {lab: j for j, lab in enumerate(ls.labels)}
        for i, r in enumerate(records):
            if r.get("dist") is not None:
                if len(r["dist"]) != k:
                    raise ValueError(f"record {i} has {len(r['dist'])} probabilities; {ls.name} has {k} labels")
                dist[i] = r["dist"]
            if r.get("scores") is not None:
                scores[i] = r["scores"]
                has_scores = True
            for lab in r.get("labels") or []:
                decisions[i, index[lab]] = True
            if r.get("vad") is not None:
                vad[i] = [np.nan if x is None else x for x in r["vad"]]
            if r.get("intensity") is not None:
                intensity[i] = r["intensity"]
            if r.get("kept_mass") is not None:
                kept[i] = r["kept_mass"]
            for key in extra_keys:
                if r.get(key) is not None:
                    extra[key][i] = r[key]
        return cls(ls, dist, scores if has_scores else None, decisions, vad, intensity,
                   [r.get("emotion_words") for r in records], [r.get("cause") for r in records],
                   [r.get("error") for r in records], [r.get("native_top") for r in records], kept, extra)

    def to_batch(self) -> BatchPrediction:
        """A :class:`BatchPrediction` view (for :func:`affectkit.ranking.attribute_scores`)."""
        has_vad = not np.isnan(self.vad).all()
        has_int = not np.isnan(self.intensity).all()
        return BatchPrediction(self.labelset, self.dist, self.scores, None, self.vad if has_vad else None,
                               CANONICAL.name, self.intensity if has_int else None, errors=list(self.errors),
                               extra={k: list(v) for k, v in self.extra.items()})


def predict_dataset(analyzer: Analyzer, dataset: Any, plan: Any, context: "ContextOptions",
                    batch_size: int) -> list[dict[str, Any]]:
    """Evaluation records (:func:`affectkit.evaluation.predict.records_from_batch`) for every row of an
    :class:`~affectkit.datasets.EmotionDataset`, each with its previous turns; the context columns are the
    dataset's ``meta`` keys (e.g. MELD's ``dialogue_id`` and ``utterance_id``)."""
    import pandas as pd

    from affectkit.context import predict_in_context
    from affectkit.errors import InputError
    from affectkit.runner import AnalyzeOptions, predict_frame

    missing = [c for c in context.columns if c not in dataset.meta]
    if missing:
        raise InputError(f"dataset {dataset.name} has no {missing} for context; it has "
                         f"{', '.join(sorted(dataset.meta)) or 'no row metadata'}")
    text_col = "\0text"
    frame = pd.DataFrame({text_col: list(dataset.texts), **{c: list(dataset.meta[c]) for c in context.columns}})
    options = AnalyzeOptions(text_col=text_col, labels=plan.source, batch_size=batch_size, context=context)
    return records_from_batch(predict_in_context(frame, analyzer, options, [None] * len(frame), None,
                                                  predict_frame), plan)
