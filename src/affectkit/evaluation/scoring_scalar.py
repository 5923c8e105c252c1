"""Scoring tasks on a scalar target (valence, arousal, dominance, intensity, or one label's probability):
item ranking, pairwise comparison and assessment, each with bootstrap intervals over its units."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from affectkit.evaluation import metrics as M
from affectkit.evaluation.predict import PredictionArrays, Unsupported
from affectkit.evaluation.stats import (
    Scored,
    StatFn,
    bootstrap_stats,
    finite_or_none,
    mean_of,
    metric_k,
    nanmean_at,
    part_stat,
    queue_stat,
)
from affectkit.evaluation.task import Task, TaskData
from affectkit.vad import CANONICAL, DIMENSIONS, convert


def _gold_scalar(target: str, data: TaskData) -> tuple[np.ndarray, str | None]:
    ds = data.dataset
    if target in DIMENSIONS:
        assert ds.vad is not None
        return ds.vad[:, DIMENSIONS.index(target)].astype(np.float64), ds.vad_scale
    if target == "intensity":
        assert ds.intensity is not None
        return ds.intensity.astype(np.float64), "0..1"
    if target.startswith("label:"):
        assert ds.categories is not None and ds.labelset is not None
        return ds.categories[:, ds.labelset.index(target[6:])].astype(np.float64), None
    raise ValueError(target)


def _pred_scalar(task: Task, target: str, data: TaskData, P: PredictionArrays, scale: str | None) -> np.ndarray:
    """The predicted value of ``target`` per row: VAD dimensions converted to the gold ``scale``; otherwise the
    task's ``attribute`` (see :mod:`affectkit.ranking`), by default the target itself.

    ``@emotion`` is the probability of each row's ``meta['emotion']`` label, the analyzer's ``p_<emotion>`` (as the
    EI-reg and WASSA-2017 scorers take it: one system score per tweet for its own emotion). When the analyzer's
    labels were mapped onto the task's, it is the probability mass of the model labels that map onto the emotion,
    *before* the mapped distribution is renormalised (renormalising after the model's neutral and unmapped labels
    are dropped would inflate it on neutral texts). Thresholded multi-label scores are not used: after mapping
    they are the largest of several piecewise-rescaled scores, not a probability of the emotion."""
    from affectkit.ranking import attribute_scores

    attribute = task.attribute or (target[6:] if target.startswith("label:") else target)
    if attribute == "@emotion":
        emotions = data.dataset.meta.get("emotion")
        if emotions is None:
            raise Unsupported("attribute @emotion needs meta['emotion'] in the dataset")
        cols = np.array([P.labelset.index(e) if e in P.labelset else -1 for e in emotions])
        if (cols < 0).any():
            raise Unsupported(f"emotions {sorted({e for e, c in zip(emotions, cols) if c < 0})} are not labels of "
                              f"{P.labelset.name} (set labels: to a label set that has them)")
        kept = np.where(np.isnan(P.kept_mass), 1.0, P.kept_mass)  # NaN = the labels were not mapped
        return P.dist[np.arange(len(cols)), cols] * kept
    try:
        values = attribute_scores(P.to_batch(), attribute)
    except ValueError as e:
        raise Unsupported(str(e)) from None
    if attribute.lstrip("-") in DIMENSIONS and scale is not None:
        values = convert(values, CANONICAL, scale)
    if np.isnan(values).all():
        raise Unsupported(f"the analyzer gives no {attribute}")
    return np.asarray(values, dtype=np.float64)


def score_item_ranking(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    assert task.target is not None
    gold, scale = _gold_scalar(task.target, data)
    pred = _pred_scalar(task, task.target, data, P, scale)
    valid = np.flatnonzero(~np.isnan(gold))
    size = task.options["list_size"]
    if size:
        rng = np.random.default_rng(task.options["seed"])
        shuffled = rng.permutation(valid)
        lists = [shuffled[i : i + int(size)] for i in range(0, len(shuffled), int(size))]
        lists = [li for li in lists if len(li) >= 2]
    else:
        lists = [valid]
    top = float(task.options["relevant_top"])

    def list_metric(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
        if name == "kendall":
            return M.kendall
        if name == "spearman":
            return M.spearman
        if name == "ranking_accuracy":
            return M.ranking_accuracy
        if name.startswith("ndcg@"):
            kk = int(metric_k(name))
            return lambda g, p: float(M.ndcg_rows(g - g.min(), p, kk)[0])
        if name.startswith("recall@"):
            pct = metric_k(name)

            def rec(g: np.ndarray, p: np.ndarray) -> float:
                m = max(1, int(math.ceil(top * len(g))))
                relevant = np.zeros(len(g), dtype=bool)
                relevant[np.argsort(-g, kind="stable")[:m]] = True
                return M.recall_at_percent(relevant, p, pct)

            return rec
        raise ValueError(name)  # pragma: no cover

    fns: dict[str, StatFn] = {}
    if len(lists) == 1:  # one queue: resample its items
        items = lists[0]
        for name in task.metrics:
            f = list_metric(name)
            fns[name] = queue_stat(f, gold, pred, items)
        n_units = len(items)
    else:  # many lists: the unit is a list
        for name in task.metrics:
            f = list_metric(name)
            vals = np.array([f(gold[li], pred[li]) for li in lists])
            fns[name] = nanmean_at(vals)
        n_units = len(lists)
    scored = Scored(bootstrap_stats(fns, n_units, n_boot, seed), task.headline, len(valid), [])
    scored.details.update({"lists": len(lists), "list_size": int(size) if size else len(valid),
                           "attribute": task.attribute or task.target})
    scored.notes.append(f"items ranked by predicted {task.attribute or task.target} against gold {task.target}; "
                        f"recall@k% counts the top {top:.0%} of each list by gold as relevant; ndcg uses "
                        "gold minus the list minimum as relevance")
    rank = np.full(len(gold), np.nan)
    for li in lists:
        order = np.argsort(-np.nan_to_num(pred[li], nan=-np.inf), kind="stable")
        rank[li[order]] = np.arange(1, len(li) + 1)
    scored.samples = [{"gold": finite_or_none(gold[i]), "pred": finite_or_none(pred[i]),
                       "pred_rank": finite_or_none(rank[i])} for i in range(len(gold))]
    return scored


def score_pairwise(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    """Pairwise comparison (EEmo-Bench): "which of the two has the higher <target>?". Pairs of rows whose gold
    values differ by more than ``min_gap`` are drawn with ``seed``; the prediction compares the two predicted
    values (a tie scores 1/2, a missing prediction 0)."""
    assert task.target is not None
    gold, scale = _gold_scalar(task.target, data)
    pred = _pred_scalar(task, task.target, data, P, scale)
    pairs = sample_pairs(gold, int(task.options["n_pairs"]), float(task.options["min_gap"]), task.options["seed"])
    a, b = pairs[:, 0], pairs[:, 1]
    gs = np.sign(gold[a] - gold[b])
    d = pred[a] - pred[b]
    score = np.where(np.isnan(d), 0.0, np.where(d == 0, 0.5, (np.sign(d) == gs).astype(float)))
    scored = Scored(bootstrap_stats({"accuracy": lambda idx: float(score[idx].mean()) if len(idx) else math.nan},
                           len(pairs), n_boot, seed), task.headline, len(pairs), [])
    scored.samples = [{"a": int(x), "b": int(y), "gold_higher": "a" if g > 0 else "b",
                       "pred_higher": None if np.isnan(dd) else ("a" if dd > 0 else "b" if dd < 0 else "tie"),
                       "score": float(s)} for x, y, g, dd, s in zip(a, b, gs, d, score)]
    scored.details["pairs"] = len(pairs)
    return scored


def sample_pairs(gold: np.ndarray, n_pairs: int, min_gap: float, seed: int) -> np.ndarray:
    """Up to ``n_pairs`` distinct index pairs (i < j) whose gold values differ by more than ``min_gap``: all
    such pairs when there are at most ``n_pairs``, else a seeded uniform sample of them."""
    valid = np.flatnonzero(~np.isnan(gold))
    n = len(valid)
    total = n * (n - 1) // 2
    rng = np.random.default_rng(seed)
    if total <= 4 * n_pairs:
        i, j = np.triu_indices(n, 1)
        cand = np.stack([valid[i], valid[j]], axis=1)
        cand = cand[np.abs(gold[cand[:, 0]] - gold[cand[:, 1]]) > min_gap]
        if len(cand) > n_pairs:
            cand = cand[np.sort(rng.choice(len(cand), n_pairs, replace=False))]
        return cand
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    for _ in range(50):
        x = valid[rng.integers(0, n, 4 * n_pairs)]
        y = valid[rng.integers(0, n, 4 * n_pairs)]
        for p, q in zip(np.minimum(x, y), np.maximum(x, y)):
            key = (int(p), int(q))
            if p != q and key not in seen and abs(gold[p] - gold[q]) > min_gap:
                seen.add(key)
                out.append(key)
                if len(out) == n_pairs:
                    return np.array(out, dtype=np.int64)
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def score_assessment(task: Task, data: TaskData, P: PredictionArrays, n_boot: int, seed: int) -> Scored:
    """Regression against ratings (EmoBank, Warriner, SemEval V-reg/EI-reg): per dimension (and per
    ``group_by`` group, e.g. the four EI-reg emotions), then the mean over dimensions or groups. Per-sample rows
    hold each row once, with its group and its own gold and prediction."""
    assert task.target is not None
    dims = list(DIMENSIONS) if task.target == "vad" else [task.target]
    group_key = task.options.get("group_by")
    if group_key:
        if group_key not in data.dataset.meta:
            raise Unsupported(f"group_by: the dataset has no meta column {group_key!r}")
        groups = np.asarray([str(x) for x in data.dataset.meta[group_key]])
        group_names = sorted(set(groups))
    else:
        groups, group_names = None, [None]
    parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []  # (name, gold, pred, rows)
    per_dim: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # dim -> (gold, pred) over all rows
    notes = []
    for dim in dims:
        gold, scale = _gold_scalar(dim, data)
        try:
            pred = _pred_scalar(task, dim, data, P, scale)
        except Unsupported as e:
            notes.append(f"{dim}: not predicted ({e})")
            continue
        per_dim[dim] = (gold, pred)
        for g in group_names:
            rows = np.arange(len(gold)) if g is None else np.flatnonzero(groups == g)
            name = dim if g is None else (g if len(dims) == 1 else f"{dim}/{g}")
            parts.append((name, gold, pred, rows))
    if not parts:
        raise Unsupported("the analyzer predicts none of " + ", ".join(dims))
    fns: dict[str, StatFn] = {}
    n = len(data.dataset)
    for metric in task.metrics:
        f = getattr(M, metric)
        per_part: list[StatFn] = []
        for name, gold, pred, rows in parts:
            member = np.zeros(n, dtype=bool)
            member[rows] = True

            part_fn = part_stat(f, gold, pred, member)

            if len(dims) * len(group_names) > 1:
                fns[f"{name}.{metric}"] = part_fn
            per_part.append(part_fn)
        complete = len(parts) == len(dims) * len(group_names)
        fns[metric] = mean_of(per_part) if complete else (lambda idx: math.nan)
    scored = Scored(bootstrap_stats(fns, n, n_boot, seed), task.headline, n, [], notes=notes)
    if len(parts) < len(dims) * len(group_names):
        scored.notes.append(f"the headline needs every dimension of {task.target}; see the per-dimension figures")
    if len(parts) > 1:
        scored.notes.append(f"{task.headline} is the mean over " + ", ".join(p[0] for p in parts))
    scales = {d: _gold_scalar(d, data)[1] for d in dims}
    scored.details["gold_scale"] = scales
    scored.samples = [{**({} if groups is None else {str(group_key): str(groups[i])}),
                       **{dim: {"gold": finite_or_none(g[i]), "pred": finite_or_none(p[i])}
                          for dim, (g, p) in per_dim.items()}}
                      for i in range(n)]
    return scored
