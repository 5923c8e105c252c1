"""Mappings between label sets, as weight matrices.

A mapping from label set S to label set T is a matrix ``M`` of shape ``(|S|, |T|)`` whose row ``s`` says how the
probability of source label ``s`` is shared among target labels (rows sum to 1, or to 0 when ``s`` has no
counterpart in T). Published mappings (``data/mappings.yaml``) cite their source. For other pairs the mapping
is derived, in this order, and says so in ``citation``:

1. labels with the same name map to each other, and neutral maps to neutral;
2. through a published mapping from S to an intermediate set whose labels all exist by name in T;
3. through the Parrott tree: walking up from the source label's node, the first ancestor (or the node itself)
   that is anchored in the target wins (roll-up); failing that, at the node itself or at any ancestor below
   the primary tier, the target labels anchored beneath it share the mass evenly (roll-down to the nearest
   relatives, e.g. "irritation" to GoEmotions "annoyance", both under anger.irritation).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from affectkit.labels.labelset import LabelSet, get_labelset
from affectkit.labels.tree import parrott_tree


@dataclass(frozen=True)
class LabelMapping:
    source: LabelSet
    target: LabelSet
    matrix: np.ndarray
    citation: str
    derived: bool

    @property
    def unmapped(self) -> list[str]:
        """Source labels with no counterpart in the target set."""
        return [lab for lab, row in zip(self.source.labels, self.matrix) if row.sum() == 0]

    @property
    def unreached(self) -> list[str]:
        """Target labels that no source label feeds."""
        return [lab for lab, col in zip(self.target.labels, self.matrix.T) if col.sum() == 0]

    def mass_carried(self) -> dict[str, float]:
        """The share of each source label's probability that lands on a target label (1 = all of it; the rest
        is no-emotion mass: the source's neutral label, or an emotion the target set has no counterpart for)."""
        return {lab: round(float(row.sum()), 6) for lab, row in zip(self.source.labels, self.matrix)}

    def targets_of(self, label: str) -> dict[str, float]:
        row = self.matrix[self.source.index(label)]
        return {self.target.labels[j]: float(w) for j in np.flatnonzero(row) for w in [row[j]]}

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {lab: self.targets_of(lab) for lab in self.source.labels}

    def map_distribution(self, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map distributions ``(n, |S|)`` to ``(n, |T|)``; returns (renormalised distribution, mapped mass).

        The mass that falls on unmapped source labels is dropped and the rest renormalised; a row whose mass is
        all unmapped becomes uniform. The second value (mass kept, in [0, 1]) lets callers report it.
        """
        dist = np.atleast_2d(np.asarray(dist, dtype=np.float64))
        out = dist @ self.matrix
        mass = out.sum(axis=1)
        safe = np.where(mass > 0, mass, 1.0)
        out = out / safe[:, None]
        out[mass <= 0] = 1.0 / len(self.target)
        return out, mass

    def map_scores(self, scores: np.ndarray) -> np.ndarray:
        """Map independent per-label probabilities (multi-label): a target label's score is the largest score
        among the source labels that feed it (0 when none do)."""
        scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        out = np.zeros((scores.shape[0], len(self.target)))
        for j in range(len(self.target)):
            src = np.flatnonzero(self.matrix[:, j] > 0)
            if len(src):
                out[:, j] = scores[:, src].max(axis=1)
        return out

    def map_indicators(self, y: np.ndarray) -> np.ndarray:
        """Map multi-hot gold labels ``(n, |S|)`` to ``(n, |T|)``: a target is on when any source feeding it is."""
        y = np.atleast_2d(np.asarray(y)).astype(bool)
        return (y.astype(np.float64) @ (self.matrix > 0).astype(np.float64)) > 0

    def map_label(self, label: str) -> list[str]:
        """Target labels for one source label, heaviest first."""
        return [k for k, _ in sorted(self.targets_of(label).items(), key=lambda kv: -kv[1])]


@lru_cache(maxsize=1)
def _published() -> dict[tuple[str, str], tuple[dict, str]]:
    raw = yaml.safe_load(resources.files("affectkit.labels.data").joinpath("mappings.yaml").read_text("utf-8"))
    return {(m["source"], m["target"]): (m["map"], m["citation"]) for m in raw}


def _matrix_from_spec(src: LabelSet, tgt: LabelSet, spec: dict) -> np.ndarray:
    m = np.zeros((len(src), len(tgt)))
    for s_label, t in spec.items():
        weights = {t: 1.0} if isinstance(t, str) else dict(t)
        for t_label, w in weights.items():
            m[src.index(s_label), tgt.index(t_label)] = float(w)
    return m


def _by_name(src: LabelSet, tgt: LabelSet) -> np.ndarray:
    m = np.zeros((len(src), len(tgt)))
    for i, lab in enumerate(src.labels):
        if lab in tgt:
            m[i, tgt.index(lab)] = 1.0
        elif lab == src.neutral and tgt.neutral is not None:
            m[i, tgt.index(tgt.neutral)] = 1.0
    return m


def _by_tree(src: LabelSet, tgt: LabelSet) -> np.ndarray:
    tree = parrott_tree()
    m = _by_name(src, tgt)
    tgt_by_node: dict[str, list[int]] = {}
    for j, lab in enumerate(tgt.labels):
        node = tgt.anchors.get(lab)
        if node:
            tgt_by_node.setdefault(node, []).append(j)
    for i, lab in enumerate(src.labels):
        node = src.anchors.get(lab)
        if m[i].sum() > 0 or not node:
            continue
        # walk up from the node: the nearest ancestor that is itself anchored in the target wins; below the
        # primary tier, target labels anchored beneath that ancestor (siblings, cousins) count too, shared evenly
        for anc in tree.ancestors(node):
            if anc in tgt_by_node:
                targets = tgt_by_node[anc]
            elif anc.count(".") >= 1 or anc == node:
                targets = [j for n, js in tgt_by_node.items() if n.startswith(anc + ".") for j in js]
            else:
                targets = []
            if targets:
                for j in targets:
                    m[i, j] = 1.0 / len(targets)
                break
    return m


def _reach(m: np.ndarray) -> tuple[int, int]:
    """How much of both label sets a mapping matrix uses: (target labels reached, source labels mapped)."""
    return int((m.sum(axis=0) > 0).sum()), int((m.sum(axis=1) > 0).sum())


def _keep_neutral(m: np.ndarray, src: LabelSet, tgt: LabelSet) -> np.ndarray:
    if src.neutral is not None and tgt.neutral is not None and m[src.index(src.neutral)].sum() == 0:
        m = m.copy()
        m[src.index(src.neutral), tgt.index(tgt.neutral)] = 1.0
    return m


SPREAD = 0.1  # share of a source label's mass spread over the unreached target labels of its Parrott primary
SPREAD_TARGETS = ("parrott-2", "parrott-3")  # finer than any training data: reachable only through the spread


def _spread_within_primary(m: np.ndarray, src: LabelSet, tgt: LabelSet) -> np.ndarray:
    """Make every target label reachable that sits under a Parrott primary the source reaches: each mapped source
    label gives :data:`SPREAD` of its mass evenly to the target labels under its primary that no source label
    reaches. Used only for Parrott's 25 and 135 tiers (:data:`SPREAD_TARGETS`), finer than any source can tell
    apart; a prior, not an estimate: the rest of the mass keeps the derived mapping."""
    unreached = m.sum(axis=0) == 0
    if not unreached.any():
        return m
    primary_of = {j: (tgt.anchors.get(lab) or "").split(".")[0] for j, lab in enumerate(tgt.labels)}
    out = m.copy()
    for i, lab in enumerate(src.labels):
        node = src.anchors.get(lab)
        if not node or m[i].sum() == 0:
            continue
        pool = [int(j) for j in np.flatnonzero(unreached) if primary_of[int(j)] == node.split(".")[0]]
        if pool:
            out[i] *= 1.0 - SPREAD
            out[i, pool] += SPREAD * m[i].sum() / len(pool)
    return out


@lru_cache(maxsize=512)
def _mapping(src: LabelSet, tgt: LabelSet) -> LabelMapping:
    if src == tgt:
        return LabelMapping(src, tgt, np.eye(len(src)), "identity", False)
    published = _published()
    if (src.name, tgt.name) in published:
        spec, citation = published[(src.name, tgt.name)]
        return LabelMapping(src, tgt, _matrix_from_spec(src, tgt, spec), citation, False)
    # derived: through a published mapping to an intermediate set whose labels all exist by name in the target,
    # or through the Parrott tree, whichever reaches more target labels (then maps more source labels)
    best = (_by_tree(src, tgt), "derived: by label name, then through Parrott-tree anchors (affectkit labelsets.yaml)")
    for (s, mid_name), (spec, citation) in published.items():
        if s != src.name:
            continue
        mid = get_labelset(mid_name)
        to_target = _by_name(mid, tgt)
        if not (to_target.sum(axis=1) > 0).all() and not all(
                to_target[j].sum() > 0 or lab == mid.neutral for j, lab in enumerate(mid.labels)):
            continue
        matrix = _keep_neutral(_matrix_from_spec(src, mid, spec) @ to_target, src, tgt)
        if _reach(matrix) > _reach(best[0]):
            best = (matrix, f"derived: {citation}, then {mid.name} -> {tgt.name} by name")
    matrix = _spread_within_primary(best[0], src, tgt) if tgt.name in SPREAD_TARGETS else best[0]
    citation = best[1]
    if matrix is not best[0]:
        citation += f"; {SPREAD:.0%} of each label's mass spread over the unreached labels of its Parrott primary"
    return LabelMapping(src, tgt, matrix, citation, True)


def get_mapping(source: str | LabelSet, target: str | LabelSet) -> LabelMapping:
    """The mapping from ``source`` to ``target`` label set (published if one exists, else derived)."""
    return _mapping(get_labelset(source), get_labelset(target))
