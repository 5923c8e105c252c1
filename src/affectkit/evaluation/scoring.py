"""Scoring one task from prediction records: metrics with bootstrap confidence intervals, per-label tables,
confusion matrices and per-sample rows. Nothing here runs a model.

Rows whose prediction failed count as wrong for label metrics (no label predicted) and are left out of
correlations; their number is reported. Every headline figure carries a percentile bootstrap interval over the
task's units (rows, pairs or item lists).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from affectkit.evaluation import metrics as M
from affectkit.evaluation.predict import PredictionArrays, Unsupported
from affectkit.evaluation.registry import parse_metric
from affectkit.evaluation.scoring_scalar import score_assessment, score_item_ranking, score_pairwise
from affectkit.evaluation.stats import (
    Scored,
    StatFn,
    bootstrap_stats,
    finite_or_none,
    label_name,
    metric_k,
    nanmean_at,
)
from affectkit.evaluation.task import Task, TaskData


def score_task(task: Task, data: TaskData, preds: PredictionArrays, n_boot: int = 1000, seed: int = 0) -> Scored:
    """Score ``preds`` (one record per row of ``data``) on ``task``. Raises :class:`Unsupported` when the
    predictions lack what the task needs (e.g. no VAD for an assessment task)."""
    if len(preds) != len(data.dataset):
        raise ValueError(f"{len(preds)} predictions for {len(data.dataset)} rows")
    scorer = {"perception": _perception, "emotion_ranking": _emotion_ranking, "item_ranking": score_item_ranking,
              "assessment": score_assessment, "description": _description, "pairwise": score_pairwise,
              "cause": _cause}[task.type]
    scored = scorer(task, data, preds, n_boot, seed)
    n_err = int(sum(e is not None for e in preds.errors))
    if n_err:
        scored.notes.append(f"{n_err} of {len(preds)} rows have no prediction (errors); they count as wrong for "
                            "label metrics and are left out of correlations")
    return scored


# -- perception -------------------------------------------------------------------------------------------------
def _perception(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    if len(P) and P.failed.all() and all(e is None for e in P.errors):
        raise Unsupported("the analyzer gives no emotion distribution (e.g. valence and arousal only)")
    if task.mode == "multi-label":
        return _perception_multi(task, data, P, n_boot, seed)
    return _perception_single(task, data, P, n_boot, seed)


def _argmax(dist: np.ndarray) -> np.ndarray:
    failed = np.isnan(dist).any(axis=1)
    return np.where(failed, -1, np.nan_to_num(dist, nan=-np.inf).argmax(axis=1))


def _ece_fn(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> StatFn:
    """ECE over the (confidence, correct) pairs of the rows in ``idx``; ``conf`` is ``(n,)`` or ``(n, k)`` (k
    pairs per row, NaN = no prediction). Bins do not change under resampling, so per-row bin sums are computed
    once and a resample costs one weighted sum (the same value as :func:`metrics.expected_calibration_error` on
    the resampled pairs)."""
    n = len(conf)
    conf = np.asarray(conf, dtype=np.float64).reshape(n, -1)
    correct = np.asarray(correct, dtype=np.float64).reshape(n, -1)
    ok = ~np.isnan(conf)
    bins = M.calibration_bins(np.nan_to_num(conf), n_bins)
    rows = np.broadcast_to(np.arange(n)[:, None], conf.shape)
    conf_sums, corr_sums = np.zeros((n, n_bins)), np.zeros((n, n_bins))
    np.add.at(conf_sums, (rows[ok], bins[ok]), conf[ok])
    np.add.at(corr_sums, (rows[ok], bins[ok]), correct[ok])
    pairs = ok.sum(axis=1).astype(np.float64)

    def fn(idx: np.ndarray) -> float:
        w = np.bincount(idx, minlength=n).astype(np.float64)
        total = w @ pairs
        return float(np.abs(w @ corr_sums - w @ conf_sums).sum() / total) if total else math.nan

    return fn


def _label_table(labels: tuple[str, ...], gold: np.ndarray, pred: np.ndarray) -> list[dict[str, Any]]:
    prf = M.per_label_prf(gold, pred)
    predicted = np.asarray(pred, dtype=bool).sum(axis=0)
    return [{"label": lab, "precision": float(prf["precision"][j]), "recall": float(prf["recall"][j]),
             "f1": float(prf["f1"][j]), "support": int(prf["support"][j]), "predicted": int(predicted[j])}
            for j, lab in enumerate(labels)]


def _perception_single(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    ds, labels = data.dataset, P.labelset.labels
    k = len(labels)
    gold_all = ds.single_labels(task.options["aggregation"])
    keep = np.flatnonzero(gold_all >= 0)
    if task.mode == "multiple-choice":
        return _multiple_choice(task, data, P, gold_all, keep, n_boot, seed)
    pred_all = _argmax(P.dist)
    g, p, dist = gold_all[keep], pred_all[keep], P.dist[keep]
    G, Pm = M.onehot(g, k), M.onehot(p, k)
    conf = np.where(p >= 0, np.nanmax(np.where(np.isnan(dist), -np.inf, dist), axis=1), np.nan)
    fns: dict[str, StatFn] = {}
    for name in task.metrics:
        fns[name] = _single_metric(name, g, p, G, Pm, dist, conf, task.options["n_bins"])
    scored = Scored(bootstrap_stats(fns, len(keep), n_boot, seed), task.headline, len(keep), [],
                    _label_table(labels, G, Pm))
    cm = M.confusion_matrix(g, p, k)
    scored.confusion = {"labels": list(labels), "matrix": cm.tolist()}
    ok = ~np.isnan(conf)  # the leaderboard's calibration plot: top-label confidence against accuracy
    scored.details["reliability"] = M.reliability_bins(conf[ok], (g == p)[ok], task.options["n_bins"])
    dropped = len(ds) - len(keep)
    if dropped:
        scored.notes.append(f"{dropped} rows have no single gold label under the {task.options['aggregation']} "
                            "rule (ties or several labels) and are not scored")
    order = np.argsort(-np.nan_to_num(P.dist, nan=-np.inf), axis=1, kind="stable")[:, :3]
    for i in range(len(ds)):
        row_ok = not np.isnan(P.dist[i]).any()
        scored.samples.append({
            "gold": label_name(labels, int(gold_all[i])), "pred": label_name(labels, int(pred_all[i])),
            "confidence": float(P.dist[i, pred_all[i]]) if row_ok else None,
            "top3": [labels[j] for j in order[i]] if row_ok else None,
            "correct": None if gold_all[i] < 0 else bool(gold_all[i] == pred_all[i])})
    return scored


def _single_metric(name: str, g, p, G, Pm, dist, conf, n_bins: int) -> StatFn:
    if name == "accuracy":
        return lambda idx: M.accuracy(g[idx], p[idx])
    if name == "macro_recall":  # unweighted average recall over the labels the gold has (balanced accuracy)
        return lambda idx: _macro_recall(G[idx], Pm[idx])
    if name.endswith("_f1"):
        avg = name[: -len("_f1")]
        return lambda idx: M.f1_score(G[idx], Pm[idx], avg)
    if name.startswith(("top", "best")):
        kk = int(metric_k(name))
        return lambda idx: M.topk_accuracy(G[idx], dist[idx], kk)
    if name == "ece":
        return _ece_fn(conf, (g == p).astype(float), n_bins)
    raise ValueError(name)  # pragma: no cover - validated by parse_task


def _macro_recall(G: np.ndarray, Pm: np.ndarray) -> float:
    prf = M.per_label_prf(G, Pm)
    present = prf["support"] > 0
    return float(prf["recall"][present].mean()) if present.any() else math.nan


def _multiple_choice(task: Task, data: TaskData, P: PredictionArrays, gold_all: np.ndarray, keep: np.ndarray,
                     n_boot: int, seed: int) -> Scored:
    """Multiple choice (EEmo-Bench perception): the answer is the option with the highest probability. Options
    come from the dataset, else the gold label plus ``n_options - 1`` distractors drawn with ``seed``."""
    ds, labels = data.dataset, P.labelset.labels
    rng = np.random.default_rng(task.options["seed"])
    n_opt = int(task.options["n_options"])
    correct = np.zeros(len(ds))
    samples = []
    for i in range(len(ds)):
        g = int(gold_all[i])
        if ds.options is not None:
            opts = [P.labelset.index(o) for o in ds.options[i]]
        elif g >= 0:
            others = [j for j in range(len(labels)) if j != g]
            opts = sorted([g, *rng.choice(others, min(n_opt - 1, len(others)), replace=False).tolist()])
        else:
            opts = []
        answer = -1
        if opts and not np.isnan(P.dist[i]).any():
            answer = opts[int(np.argmax(P.dist[i, opts]))]
        correct[i] = float(g >= 0 and answer == g)
        samples.append({"gold": label_name(labels, g), "options": [labels[j] for j in opts],
                        "pred": label_name(labels, answer), "correct": None if g < 0 else bool(answer == g)})
    c = correct[keep]
    scored = Scored(bootstrap_stats({"accuracy": lambda idx: float(c[idx].mean())}, len(keep), n_boot, seed),
                    task.headline, len(keep), samples)
    scored.details["chance"] = float(np.mean([1 / len(opts) for opts in (s["options"] for s in samples)
                                              if isinstance(opts, list) and opts] or [math.nan]))
    return scored


def _perception_multi(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    ds, labels = data.dataset, P.labelset.labels
    k = len(labels)
    G = ds.label_sets()
    failed = P.failed
    if task.options["decision"] == "distribution":  # p_c > 1/K (the soft-label rule, docs/methods.md §1.5)
        Pm = np.nan_to_num(P.dist, nan=0.0) > 1.0 / k
    else:
        Pm = P.decisions.copy()
    Pm[failed] = False
    dist = P.dist
    score = P.scores if P.scores is not None else P.dist
    conf = np.where(failed[:, None], np.nan, score)
    fns: dict[str, StatFn] = {}
    for name in task.metrics:
        if name == "jaccard":
            fns[name] = lambda idx: M.jaccard(G[idx], Pm[idx])
        elif name == "exact_match":
            fns[name] = lambda idx: M.exact_match(G[idx], Pm[idx])
        elif name == "ece":  # marginal calibration of every (row, label) score
            fns[name] = _ece_fn(conf, G, task.options["n_bins"])
        else:
            fns[name] = _single_metric(name, None, None, G, Pm, dist, None, 0)
    scored = Scored(bootstrap_stats(fns, len(ds), n_boot, seed), task.headline, len(ds), [],
                    _label_table(labels, G, Pm))
    ok = ~np.isnan(conf)  # the calibration plot: every (row, label) score against whether the label is gold
    scored.details["reliability"] = M.reliability_bins(conf[ok], np.asarray(G, dtype=float)[ok],
                                                       task.options["n_bins"])
    order = np.argsort(-np.nan_to_num(dist, nan=-np.inf), axis=1, kind="stable")[:, :3]
    for i in range(len(ds)):
        gs = [labels[j] for j in np.flatnonzero(G[i])]
        ps = [labels[j] for j in np.flatnonzero(Pm[i])]
        scored.samples.append({"gold": gs, "pred": ps, "top3": None if failed[i] else [labels[j] for j in order[i]],
                               "jaccard": M.jaccard(G[i : i + 1], Pm[i : i + 1])})
    return scored


# -- ranking the emotions of one item ---------------------------------------------------------------------------
def _emotion_ranking(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    """Ranking the emotions of one item (EEmo-Bench): the predicted top-k by probability against the gold
    ranking. A metric's ``@k`` sets its depth; ``top1_accuracy`` and ``kendall`` use the task's ``k``."""
    k = int(task.options["k"])
    labels = P.labelset.labels
    depths = sorted({k, *(int(metric_k(m)) for m in task.metrics if parse_metric(m).k is not None)})
    gold = data.dataset.gold_rankings(max(depths))
    order = np.argsort(-np.nan_to_num(P.dist, nan=-np.inf), axis=1, kind="stable")[:, : max(depths)]
    rows = [i for i, g in enumerate(gold) if g]
    per = {d: {m: np.full(len(rows), np.nan) for m in ("top1", "overlap", "kendall", "ndcg")} for d in depths}
    by_row: dict[int, dict[str, Any]] = {}
    for r, i in enumerate(rows):
        pred = [] if P.failed[i] else [labels[j] for j in order[i]]
        for d in depths:
            s = M.ranked_list_scores(gold[i], pred, d)
            for m in per[d]:
                per[d][m][r] = s[m]
            if d == k:
                by_row[i] = {"gold": gold[i][:k], "pred": pred[:k], **s}
    fns: dict[str, StatFn] = {}
    for name in task.metrics:
        metric = parse_metric(name, task.kind)
        col = per[int(metric.k) if metric.k is not None else k][{"top1_accuracy": "top1"}.get(metric.base, metric.base)]
        fns[name] = nanmean_at(col)
    scored = Scored(bootstrap_stats(fns, len(rows), n_boot, seed), task.headline, len(rows), [])
    scored.samples = [by_row.get(i, {"gold": [], "pred": None}) for i in range(len(gold))]
    scored.notes.append(f"emotion ranking: ndcg@k uses graded relevance k..1 for the gold positions; kendall is "
                        f"tau over the emotions both top-{k} lists share (rows sharing fewer than two are left out)")
    if len(rows) < len(gold):
        scored.notes.append(f"{len(gold) - len(rows)} rows have no gold emotion to rank and are not scored")
    return scored


# -- open text --------------------------------------------------------------------------------------------------
def _description(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    """Open-vocabulary description scored with the emotion-wheel metric of AffectGPT/EMER: words mapped onto
    each wheel, per-sample precision and recall, F = 2 P̄ R̄ / (P̄ + R̄), averaged over wheels."""
    gold = data.dataset.gold_words()
    has_words = any(w is not None for w in P.emotion_words)
    if has_words:
        pred = [w or [] for w in P.emotion_words]
        source = "emotion_words"
    elif task.options["fallback"] == "labels":
        labels = P.labelset.labels
        pred = [[labels[j] for j in np.flatnonzero(row)] for row in P.decisions]
        source = "labels"
    else:
        raise Unsupported("the analyzer gives no open-vocabulary emotion_words")
    results = [M.wheel_scores(gold, pred, w) for w in task.options["wheels"]]
    valid = np.flatnonzero(np.any([r.valid for r in results], axis=0))

    def wheel_stat(kind: str, which: list[M.WheelResult]) -> StatFn:
        def fn(idx: np.ndarray) -> float:
            sel = valid[idx]
            vals = []
            for r in which:
                p, rc = r.precision[sel], r.recall[sel]
                ok = ~np.isnan(rc)
                if not ok.any():
                    return math.nan
                vals.append(M.wheel_f(p, rc) if kind == "f" else float(np.mean((p if kind == "p" else rc)[ok])))
            return float(np.mean(vals))

        return fn

    kinds = {"wheel_f": "f", "wheel_precision": "p", "wheel_recall": "r"}
    fns: dict[str, StatFn] = {name: wheel_stat(kinds[name], results) for name in task.metrics}
    if len(results) > 1:
        for r in results:
            fns[f"{r.wheel}.wheel_f"] = wheel_stat("f", [r])
    scored = Scored(bootstrap_stats(fns, len(valid), n_boot, seed), task.headline, len(valid), [])
    n_gold_words = sum(len(g) for g in gold)
    n_pred_words = sum(len(p) for p in pred)
    scored.details.update({"words_source": source, "wheels": [r.wheel for r in results],
                           "gold_words": n_gold_words, "pred_words": n_pred_words,
                           "unmapped": {r.wheel: {"gold": r.unmapped_gold, "pred": r.unmapped_pred} for r in results}})
    if source == "labels":
        scored.notes.append("the analyzer gives no emotion_words: its predicted labels stand in as its words")
    for r in results:
        if r.unmapped_gold or r.unmapped_pred:
            scored.notes.append(f"{r.wheel}: dropped {r.unmapped_pred} of {n_pred_words} predicted and "
                                f"{r.unmapped_gold} of {n_gold_words} gold words that map onto no wheel label")
    scored.samples = [{"gold": g, "pred": p,
                       **{f"{r.wheel}.precision": finite_or_none(r.precision[i]) for r in results},
                       **{f"{r.wheel}.recall": finite_or_none(r.recall[i]) for r in results}}
                      for i, (g, p) in enumerate(zip(gold, pred))]
    return scored


def _cause(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    """Emotion cause extraction scored with BLEU-2 against the gold cause phrase."""
    gold = data.dataset.causes or []
    if all(c is None for c in P.causes):
        raise Unsupported("the analyzer gives no causes")
    rows = np.array([i for i, g in enumerate(gold) if g])
    refs = [gold[i] for i in rows]
    hyps = [P.causes[i] or "" for i in rows]
    per = np.array([M.bleu2(r, h) for r, h in zip(refs, hyps)])
    fns: dict[str, StatFn] = {}
    for name in task.metrics:
        if name == "bleu2":
            fns[name] = lambda idx: float(per[idx].mean())
        else:
            fns[name] = lambda idx: M.corpus_bleu2([refs[i] for i in idx], [hyps[i] for i in idx])
    scored = Scored(bootstrap_stats(fns, len(rows), n_boot, seed), task.headline, len(rows), [])
    missing = sum(1 for h in hyps if not h)
    if missing:
        scored.notes.append(f"{missing} of {len(rows)} rows have no predicted cause (BLEU-2 = 0)")
    scored.notes.append("bleu2 is the mean sentence BLEU-2 (no smoothing); corpus_bleu2 pools n-gram counts")
    by_row = {int(i): (r, h, float(s)) for i, r, h, s in zip(rows, refs, hyps, per)}
    scored.samples = [{"gold": by_row[i][0], "pred": by_row[i][1], "bleu2": by_row[i][2]} if i in by_row
                      else {"gold": None, "pred": P.causes[i], "bleu2": None} for i in range(len(gold))]
    return scored
