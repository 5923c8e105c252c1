"""Evaluation metrics, each a plain function of arrays, and bootstrap confidence intervals.

Labels take indicator matrices ``(n, K)`` (multi-label) or label indices ``(n,)`` (single-label); scores take
1-d arrays; rankings take score arrays or ordered label lists. scipy supplies the correlation coefficients;
the count-based metrics are a few lines of numpy each (they run inside every bootstrap resample, so they must be
fast) and the tests check them against hand-computed values and against scikit-learn.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from affectkit.labels import LabelSet, get_labelset, parrott_tree


# -- labels -----------------------------------------------------------------------------------------------------
def onehot(indices: np.ndarray, k: int) -> np.ndarray:
    """Label indices ``(n,)`` to a boolean indicator matrix ``(n, k)``; -1 gives an all-false row."""
    idx = np.asarray(indices, dtype=np.int64)
    out = np.zeros((len(idx), k), dtype=bool)
    ok = idx >= 0
    out[np.flatnonzero(ok), idx[ok]] = True
    return out


def label_counts(gold: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label true positives, false positives and false negatives of indicator matrices ``(n, K)``."""
    g, p = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    tp = (g & p).sum(axis=0)
    return tp, (~g & p).sum(axis=0), (g & ~p).sum(axis=0)


def per_label_prf(gold: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-label precision, recall, F1 and support (gold count); 0 where undefined (as scikit-learn)."""
    tp, fp, fn = label_counts(gold, pred)
    precision = np.divide(tp, tp + fp, out=np.zeros(len(tp)), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros(len(tp)), where=(tp + fn) > 0)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(tp)), where=(2 * tp + fp + fn) > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def f1_score(gold: np.ndarray, pred: np.ndarray, average: str = "macro") -> float:
    """F1 of indicator matrices (van Rijsbergen's F with beta = 1).

    ``macro``: the unweighted mean of per-label F1 over the labels that occur in the gold or the predictions
    (scikit-learn's rule for single-label input); ``weighted``: the mean weighted by gold support; ``micro``:
    F1 of the pooled counts.
    """
    tp, fp, fn = label_counts(gold, pred)
    if average == "micro":
        denom = 2 * tp.sum() + fp.sum() + fn.sum()
        return float(2 * tp.sum() / denom) if denom else 0.0
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(len(tp)), where=denom > 0)
    if average == "macro":
        present = denom > 0
        return float(f1[present].mean()) if present.any() else 0.0
    if average == "weighted":
        support = tp + fn
        return float((f1 * support).sum() / support.sum()) if support.sum() else 0.0
    raise ValueError(f"unknown average {average!r}: macro, micro or weighted")


def accuracy(gold: np.ndarray, pred: np.ndarray) -> float:
    """Share of rows whose predicted label index equals the gold one."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    return float((gold == pred).mean()) if len(gold) else math.nan


def exact_match(gold: np.ndarray, pred: np.ndarray) -> float:
    """Multi-label subset accuracy: share of rows whose predicted label set equals the gold set."""
    return float((np.asarray(gold, dtype=bool) == np.asarray(pred, dtype=bool)).all(axis=1).mean())


def jaccard(gold: np.ndarray, pred: np.ndarray) -> float:
    """Multi-label accuracy of SemEval-2018 Task 1 E-c (Mohammad et al. 2018): the mean over rows of
    |G ∩ P| / |G ∪ P|, a row with both sets empty scoring 1 (as the official script's scikit-learn
    ``jaccard_similarity_score``)."""
    g, p = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    inter, union = (g & p).sum(axis=1), (g | p).sum(axis=1)
    return float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())


def topk_hits(gold: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Per row: is some gold label among the ``k`` highest scores? ``gold`` is ``(n, K)`` indicators.
    Ties are broken by label order (stable sort)."""
    order = np.argsort(-np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf), axis=1, kind="stable")
    top = order[:, :k]
    return np.asarray(np.take_along_axis(np.asarray(gold, dtype=bool), top, axis=1).any(axis=1))


def topk_accuracy(gold: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Top-k accuracy; with k = 2 and 3 it is the "2-best" and "3-best" accuracy of the label-variance work
    (a prediction counts as right when the gold label is among the model's top 2 or 3)."""
    return float(topk_hits(gold, scores, k).mean())


def confusion_matrix(gold: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts, rows = gold label, columns = predicted label (indices < 0 are left out)."""
    gold, pred = np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    ok = (gold >= 0) & (pred >= 0)
    return np.bincount(gold[ok] * k + pred[ok], minlength=k * k).reshape(k, k)


def calibration_bins(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """The bin of each confidence among ``n_bins`` equal-width bins ((m-1)/M, m/M]; 0 goes to the first."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """ECE (Naeini et al. 2015; Guo et al. 2017): sum over equal-width confidence bins ((m-1)/M, m/M] of
    |B_m|/n * |accuracy(B_m) - mean confidence(B_m)|. Confidence 0 falls in the first bin."""
    conf = np.asarray(confidence, dtype=np.float64)
    corr = np.asarray(correct, dtype=np.float64)
    if len(conf) == 0:
        return math.nan
    bins = calibration_bins(conf, n_bins)
    # |B_m| * |acc(B_m) - conf(B_m)| = |sum of correct - sum of confidence| within the bin
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    corr_sum = np.bincount(bins, weights=corr, minlength=n_bins)
    return float(np.abs(corr_sum - conf_sum).sum() / len(conf))


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> list[dict[str, float]]:
    """The reliability diagram behind :func:`expected_calibration_error` (Guo et al. 2017, fig. 1): for each
    non-empty bin ((m-1)/M, m/M], its edges, its number of predictions, their mean confidence and accuracy."""
    conf = np.asarray(confidence, dtype=np.float64)
    corr = np.asarray(correct, dtype=np.float64)
    bins = calibration_bins(conf, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    corr_sum = np.bincount(bins, weights=corr, minlength=n_bins)
    return [{"low": m / n_bins, "high": (m + 1) / n_bins, "n": int(count[m]),
             "confidence": float(conf_sum[m] / count[m]), "accuracy": float(corr_sum[m] / count[m])}
            for m in range(n_bins) if count[m]]


# -- scores -----------------------------------------------------------------------------------------------------
def _pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = ~(np.isnan(x) | np.isnan(y))
    return x[ok], y[ok]


def _constant(a: np.ndarray) -> bool:
    return len(a) < 2 or bool(np.all(a == a[0]))


def pearson(gold: np.ndarray, pred: np.ndarray) -> float:
    """Pearson's r (scipy), over rows where both values exist; NaN when either side is constant."""
    from scipy import stats

    x, y = _pair(gold, pred)
    return math.nan if _constant(x) or _constant(y) else float(stats.pearsonr(x, y)[0])


def spearman(gold: np.ndarray, pred: np.ndarray) -> float:
    """Spearman's rho (scipy; average ranks for ties)."""
    from scipy import stats

    x, y = _pair(gold, pred)
    return math.nan if _constant(x) or _constant(y) else float(stats.spearmanr(x, y)[0])


def kendall(gold: np.ndarray, pred: np.ndarray) -> float:
    """Kendall's tau-b (scipy): (C - D) / sqrt((n0 - T_gold)(n0 - T_pred)); equals (C - D) / C(n, 2) when
    nothing is tied."""
    from scipy import stats

    x, y = _pair(gold, pred)
    return math.nan if _constant(x) or _constant(y) else float(stats.kendalltau(x, y)[0])


def ccc(gold: np.ndarray, pred: np.ndarray) -> float:
    """Lin's (1989) concordance correlation coefficient 2 cov(x, y) / (var x + var y + (mean x - mean y)^2),
    with population (1/n) moments."""
    x, y = _pair(gold, pred)
    if len(x) < 2:
        return math.nan
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    denom = x.var() + y.var() + (mx - my) ** 2
    return float(2 * cov / denom) if denom > 0 else math.nan


def rmse(gold: np.ndarray, pred: np.ndarray) -> float:
    """Root mean squared error (on the gold scale)."""
    x, y = _pair(gold, pred)
    return float(np.sqrt(((x - y) ** 2).mean())) if len(x) else math.nan


def mae(gold: np.ndarray, pred: np.ndarray) -> float:
    x, y = _pair(gold, pred)
    return float(np.abs(x - y).mean()) if len(x) else math.nan


# -- rankings ---------------------------------------------------------------------------------------------------
def ndcg_rows(relevance: np.ndarray, scores: np.ndarray, k: int | None = None) -> np.ndarray:
    """NDCG@k per row (Järvelin and Kekäläinen 2002) with linear gains: DCG = sum_{i<=k} rel_i / log2(i + 1) in
    the predicted order (ties broken by position), divided by the DCG of the ideal order. NaN where every
    relevance is 0. ``relevance`` and ``scores`` are ``(n, m)`` (or ``(m,)`` for one list)."""
    rel = np.atleast_2d(np.asarray(relevance, dtype=np.float64))
    sc = np.atleast_2d(np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf))
    m = rel.shape[1]
    k = m if k is None else min(k, m)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    order = np.argsort(-sc, axis=1, kind="stable")[:, :k]
    dcg = (np.take_along_axis(rel, order, axis=1) * discount).sum(axis=1)
    ideal = (-np.sort(-rel, axis=1)[:, :k] * discount).sum(axis=1)
    return np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), np.nan)


def _tied_pairs(values: np.ndarray) -> int:
    _, counts = np.unique(values, return_counts=True, axis=0)
    return int((counts * (counts - 1) // 2).sum())


def ranking_accuracy(gold: np.ndarray, pred: np.ndarray) -> float:
    """Share of item pairs ordered correctly (RankList, 2025): over pairs whose gold values differ, 1 when the
    prediction orders them the same way, 1/2 when it ties them, 0 otherwise.

    Computed in O(n log n) from Kendall's S = C - D: with U = pairs untied in gold and T_p = pairs tied only in
    the prediction, U = C + D + T_p, so (C + T_p / 2) / U = 1/2 + S / (2 U). S comes from scipy's tau-b.
    """
    from scipy import stats

    x, y = _pair(gold, pred)
    n0 = len(x) * (len(x) - 1) // 2
    u = n0 - _tied_pairs(x)
    if u <= 0:
        return math.nan
    tp_all = _tied_pairs(y)
    if tp_all == n0:
        return 0.5
    tau = stats.kendalltau(x, y)[0]
    s = float(tau) * math.sqrt(float(u) * float(n0 - tp_all))
    return 0.5 + s / (2 * u)


def recall_at_percent(relevant: np.ndarray, scores: np.ndarray, percent: float) -> float:
    """Recall at k% screened (screening prioritisation, e.g. Cohen et al. 2006): order the queue by ``scores``
    (highest first, NaN last), look at the first ceil(k% of n) items, and return the share of all relevant
    items found there."""
    rel = np.asarray(relevant, dtype=bool)
    if not rel.any():
        return math.nan
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    m = int(math.ceil(percent / 100.0 * len(s)))
    top = np.argsort(-s, kind="stable")[:m]
    return float(rel[top].sum() / rel.sum())


def ranked_list_scores(gold: Sequence[str], pred: Sequence[str], k: int) -> dict[str, float]:
    """Metrics of one item's ranked emotions (EEmo-Bench-style ranking; docs/methods.md §2.1): ``top1``
    (first emotions agree), ``overlap`` |P_k ∩ G_k| / |G_k|, ``kendall`` tau over the emotions in both lists
    (NaN when fewer than two are shared) and ``ndcg`` with graded relevance k, k-1, ... for the gold positions."""
    g, p = list(gold)[:k], list(pred)[:k]
    out = {"top1": float(bool(g) and bool(p) and g[0] == p[0]),
           "overlap": len(set(g) & set(p)) / len(g) if g else math.nan}
    shared = [lab for lab in g if lab in p]
    if len(shared) >= 2:
        from scipy import stats

        out["kendall"] = float(stats.kendalltau([g.index(s) for s in shared], [p.index(s) for s in shared])[0])
    else:
        out["kendall"] = math.nan
    gains = {lab: len(g) - i for i, lab in enumerate(g)}
    dcg = sum(gains.get(lab, 0) / math.log2(i + 2) for i, lab in enumerate(p))
    idcg = sum((len(g) - i) / math.log2(i + 2) for i in range(len(g)))
    out["ndcg"] = dcg / idcg if idcg > 0 else math.nan
    return out


# -- open text --------------------------------------------------------------------------------------------------
@dataclass
class WheelResult:
    """Emotion-wheel scores for one wheel: sample means of precision and recall and F = 2 P R / (P + R);
    ``precision``/``recall`` hold the per-sample values (NaN for samples without a mappable gold word)."""

    wheel: str
    precision: np.ndarray
    recall: np.ndarray
    unmapped_gold: int
    unmapped_pred: int

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.recall)


def wheel_f(precision: np.ndarray, recall: np.ndarray) -> float:
    """F = 2 P̄ R̄ / (P̄ + R̄) from per-sample precision and recall (NaN = sample skipped)."""
    ok = ~np.isnan(recall)
    if not ok.any():
        return math.nan
    p, r = float(np.mean(precision[ok])), float(np.mean(recall[ok]))
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


class EmotionWheel:
    """Maps free-text emotion words onto the labels of a label set used as an emotion wheel (AffectGPT/EMER).

    A word goes to a node of Parrott's tree through :meth:`EmotionTree.normalize` (synonyms and word forms),
    then to the label whose Parrott anchor is the node's deepest anchored ancestor; a node above every anchor
    goes to the alphabetically first label anchored beneath it (AffectGPT's rule for a level-1 word on a level-2
    wheel). ``parrott-1`` and ``parrott-2`` are the wheel's levels 1 and 2. Words that map nowhere are dropped.
    """

    def __init__(self, labels: "str | LabelSet") -> None:
        self.labelset = get_labelset(labels)
        self.tree = parrott_tree()
        self._by_node = {node: lab for lab, node in self.labelset.anchors.items() if node}
        self._cache: dict[str, str | None] = {}

    def label(self, word: str) -> str | None:
        key = word.strip().lower()
        if key not in self._cache:
            self._cache[key] = self._label(word)
        return self._cache[key]

    def _label(self, word: str) -> str | None:
        r = self.tree.normalize(word)
        if r.node is None:
            return None
        for anc in self.tree.ancestors(r.node.id):
            if anc in self._by_node:
                return self._by_node[anc]
        below = sorted(lab for node, lab in self._by_node.items() if node.startswith(r.node.id + "."))
        return below[0] if below else None

    def map(self, words: Iterable[str]) -> tuple[set[str], int]:
        """The set of wheel labels named by ``words`` and the number of words that map nowhere."""
        out, dropped = set(), 0
        for w in words:
            lab = self.label(w)
            if lab is None:
                dropped += 1
            else:
                out.add(lab)
        return out, dropped


def wheel_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], wheel: "str | LabelSet") -> WheelResult:
    """Per-sample precision |G ∩ P| / |P| and recall |G ∩ P| / |G| of mapped word sets on one wheel, as in
    AffectGPT's evaluation code: a sample whose gold maps to nothing is skipped (NaN); an empty mapped prediction
    scores P = R = 0."""
    w = EmotionWheel(wheel)
    n = len(gold)
    prec, rec = np.full(n, np.nan), np.full(n, np.nan)
    ug = up = 0
    for i, (g_words, p_words) in enumerate(zip(gold, pred)):
        g, dg = w.map(g_words)
        p, dp = w.map(p_words or [])
        ug, up = ug + dg, up + dp
        if not g:
            continue
        inter = len(g & p)
        prec[i] = inter / len(p) if p else 0.0
        rec[i] = inter / len(g) if p else 0.0
    return WheelResult(w.labelset.name, prec, rec, ug, up)


_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (the tokenisation used for BLEU here)."""
    return _TOKEN.findall(str(text).lower())


def _nltk_bleu():
    try:
        from nltk.translate.bleu_score import corpus_bleu, sentence_bleu
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("BLEU-2 needs nltk (pip install 'affectkit[eval]' or pip install nltk)") from None
    return sentence_bleu, corpus_bleu


def bleu2(reference: str, hypothesis: str) -> float:
    """Sentence BLEU-2 = BP * exp(1/2 log p1 + 1/2 log p2) (Papineni et al. 2002) with clipped n-gram precisions
    and no smoothing (a hypothesis without a matching bigram scores 0), computed by nltk. An empty hypothesis
    scores 0."""
    sentence_bleu, _ = _nltk_bleu()
    ref, hyp = tokenize(reference), tokenize(hypothesis or "")
    if not hyp or not ref:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sentence_bleu([ref], hyp, weights=(0.5, 0.5)))


def corpus_bleu2(references: Sequence[str], hypotheses: Sequence[str | None]) -> float:
    """Corpus BLEU-2: n-gram counts pooled over all pairs before the precisions and brevity penalty (nltk)."""
    _, corpus_bleu = _nltk_bleu()
    refs = [[tokenize(r)] for r in references]
    hyps = [tokenize(h or "") for h in hypotheses]
    if not any(hyps):
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(corpus_bleu(refs, hyps, weights=(0.5, 0.5)))


# -- bootstrap --------------------------------------------------------------------------------------------------
def bootstrap_ci(stat: Callable[[np.ndarray], float], n: int, n_boot: int = 1000, seed: int = 0,
                 alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap confidence interval (Efron and Tibshirani 1993): ``stat(idx)`` is recomputed on
    ``n_boot`` resamples of the ``n`` units (rows, pairs or lists) drawn with replacement; the interval is the
    alpha/2 and 1 - alpha/2 percentiles of the resampled values (NaN resamples are ignored)."""
    if n == 0 or n_boot <= 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        values[b] = stat(rng.integers(0, n, n))
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (math.nan, math.nan)
    lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return (float(lo), float(hi))
