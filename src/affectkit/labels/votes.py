"""From annotator votes to targets: majority, plurality or all-inclusive (the soft vote distribution), as compared
in the label-variation literature (Uma et al. 2021, "Learning from disagreement: a survey").

``votes`` is ``(n, K)``: how many annotators chose each label (multi-hot rows count as one vote per label).
"""

from __future__ import annotations

import numpy as np


def aggregate_votes(votes: np.ndarray, rule: str = "all-inclusive") -> tuple[np.ndarray, np.ndarray]:
    """Aggregate votes into targets; returns ``(targets (m, K), kept row indices (m,))``.

    - ``majority``: keep rows with a unique label holding more than half the votes; one-hot target.
    - ``plurality``: keep rows with a unique most-voted label; one-hot target.
    - ``all-inclusive``: keep every row, ties too; the target is the whole vote distribution n_c / N.
    """
    v = np.asarray(votes, dtype=np.float64)
    total = v.sum(axis=1)
    if rule == "all-inclusive":
        keep = np.flatnonzero(total > 0)
        return v[keep] / total[keep, None], keep
    top = v.max(axis=1)
    unique = (v == top[:, None]).sum(axis=1) == 1
    if rule == "plurality":
        ok = unique & (total > 0)
    elif rule == "majority":
        ok = unique & (top > total / 2)
    else:
        raise ValueError(f"unknown aggregation rule {rule!r}: use majority, plurality or all-inclusive")
    keep = np.flatnonzero(ok)
    onehot = np.zeros((len(keep), v.shape[1]))
    onehot[np.arange(len(keep)), v[keep].argmax(axis=1)] = 1.0
    return onehot, keep
