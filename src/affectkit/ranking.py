"""Ranking items by an affect attribute ("most distressed first").

An attribute is one of:
- ``valence``, ``arousal``, ``dominance``, ``intensity``;
- a label of the output label set (its probability), or several joined by ``+`` (their summed probability);
- ``score:NAME``, a trained score head of the model (e.g. a RankNet head);
- any of the above prefixed with ``-`` to rank ascending instead of descending.
"""

from __future__ import annotations

import numpy as np

from affectkit.schema import BatchPrediction
from affectkit.vad import DIMENSIONS

SCALAR_ATTRIBUTES = (*DIMENSIONS, "intensity")


def parse_attribute(attribute: str) -> tuple[str, bool]:
    """``"-valence"`` -> ``("valence", True)`` (ascending)."""
    attribute = attribute.strip()
    if attribute.startswith("-"):
        return attribute[1:].strip(), True
    return attribute.lstrip("+").strip(), False


def attribute_scores(batch: BatchPrediction, attribute: str) -> np.ndarray:
    """Per-row score of ``attribute`` (higher = ranked first unless the attribute starts with ``-``).
    Rows that failed get NaN."""
    name, ascending = parse_attribute(attribute)
    if name in DIMENSIONS:
        if batch.vad is None:
            raise ValueError(f"this analyzer gives no {name}")
        s = batch.vad[:, DIMENSIONS.index(name)].astype(np.float64)
    elif name == "intensity":
        if batch.intensity is None:
            raise ValueError("this analyzer gives no intensity")
        s = batch.intensity.astype(np.float64)
    elif name.startswith("score:"):
        key = "score_" + name.split(":", 1)[1]
        if key not in batch.extra:
            raise ValueError(f"the model has no score head {name.split(':', 1)[1]!r}")
        s = np.array(batch.extra[key], dtype=np.float64)
    else:
        labels = [p.strip() for p in name.split("+")]
        missing = [lab for lab in labels if lab not in batch.labelset]
        if missing:
            raise ValueError(f"unknown attribute {name!r}: {missing} not in label set {batch.labelset.name} "
                             f"(use valence, arousal, dominance, intensity, score:NAME or labels of "
                             f"{batch.labelset.name}: {', '.join(batch.labelset.labels)})")
        s = batch.dist[:, [batch.labelset.index(lab) for lab in labels]].sum(axis=1)
    return -s if ascending else s


def rank_order(scores: np.ndarray) -> np.ndarray:
    """Indices from highest to lowest score; NaN last; ties keep input order."""
    key = np.where(np.isnan(scores), -np.inf, scores)
    return np.argsort(-key, kind="stable")


# -- ranking metrics -------------------------------------------------------------------------------------------------
def _pair_signs(pred: np.ndarray, gold: np.ndarray, block: int = 1024):
    """Yield ``(sign(pred_i - pred_j), sign(gold_i - gold_j))`` for all pairs i < j, a block of rows at a time."""
    n = len(pred)
    for a in range(0, n, block):
        rows = np.arange(a, min(a + block, n))
        upper = np.arange(n)[None, :] > rows[:, None]
        dp = np.sign(pred[rows, None] - pred[None, :])[upper]
        dg = np.sign(gold[rows, None] - gold[None, :])[upper]
        yield dp, dg


def _finite(pred: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gold = np.asarray(pred, np.float64).ravel(), np.asarray(gold, np.float64).ravel()
    if pred.shape != gold.shape:
        raise ValueError("predicted and gold scores differ in length")
    ok = np.isfinite(pred) & np.isfinite(gold)
    return pred[ok], gold[ok]


def kendall_tau(pred: np.ndarray, gold: np.ndarray) -> float:
    """Kendall's tau-b between predicted and gold scores (Kendall 1945): (C - D) / sqrt((P - T_pred)(P - T_gold))
    over the P = n(n-1)/2 pairs, T = pairs tied in one ranking. Without ties it is RESEARCH.md's
    (C - D) / C(n, 2). Rows where either score is not finite are left out."""
    pred, gold = _finite(pred, gold)
    c = d = tp = tg = total = 0
    for dp, dg in _pair_signs(pred, gold):
        prod = dp * dg
        c += int((prod > 0).sum())
        d += int((prod < 0).sum())
        tp += int((dp == 0).sum())
        tg += int((dg == 0).sum())
        total += len(dp)
    denom = np.sqrt(float(total - tp) * float(total - tg))
    return float((c - d) / denom) if denom > 0 else float("nan")


def ranking_accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    """The share of pairs with different gold scores that the prediction orders the same way (a tie in the
    prediction counts half). Pairs tied in gold have no right order and are left out."""
    pred, gold = _finite(pred, gold)
    right = 0.0
    pairs = 0
    for dp, dg in _pair_signs(pred, gold):
        ordered = dg != 0
        right += float(((dp * dg) > 0).sum()) + 0.5 * float(((dp == 0) & ordered).sum())
        pairs += int(ordered.sum())
    return right / pairs if pairs else float("nan")
