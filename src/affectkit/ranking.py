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
