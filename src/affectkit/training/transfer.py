"""Heads for any label set, trained on pooled vectors of every dataset mapped onto it (label-set transfer).

A model predicts in a label set best through a head of its own, trained and calibrated for that set, rather than
through another set's head and a mapping (the mapping loses the mass of labels with no counterpart, and the
other set's thresholds do not fit). This module trains such heads on frozen encoder vectors:

1. each dataset's gold labels become soft targets over the target set through
   :func:`affectkit.labels.get_mapping` (weights shared as the mapping says); mass with no counterpart (neutral,
   or an emotion the target set lacks) goes to the target's neutral label, or, for a set with no neutral label,
   to an explicit *none* output that the head keeps beside its labels;
2. rows are weighted so that every dataset counts alike (``balance=1``) or in between (``0 < balance < 1``), so
   that one large corpus does not decide what every domain looks like (dataset-balanced sampling);
3. two linear maps are fit by L-BFGS with an L2 penalty: a softmax over the labels (and *none*) on the soft
   targets, and one logistic output per label on the mapped multi-hot targets (multi-label decisions). A label
   that no label of a dataset maps onto (ISEAR's guilt from BRIGHTER's five emotions) was not on offer to that
   dataset's annotators, so the dataset's emotional rows are not taken as evidence against it: it is left out of
   their softmax normaliser and their logistic loss (learning from partial labels over label sets of different
   granularity; Cour, Sapp and Taskar 2011). Rows with no emotion remain negatives for every label;
4. on the pooled dev rows (weighted alike) the softmax gets a temperature (Guo et al. 2017) and each label a
   threshold that maximises its F1;
5. optionally (``prior_power`` a > 0) the softmax's label prior on that mix, pi (its mean output on the pooled dev
   rows), is divided out to the power a: the bias becomes b - a T log pi, post-hoc logit adjustment (Menon et al.
   2021). The mix's prior (much neutral from GoEmotions, ...) is an artifact of the training data, not a property
   of the user's domain; a = 1 gives the posterior under a uniform prior, the Bayes rule for balanced error.
6. optionally (``prototype_scale`` beta > 0) the softmax also reads the labels' names: each label's prompt
   (:func:`label_prompts`, "This text expresses joy.", in one template or the mean unit vector of several) is
   embedded by the same encoder, and beta times the text's
   similarity to it, ``x . p_hat / c`` (``p_hat`` the unit prompt vector, ``c`` the mean norm of the training
   vectors), is added to the label's calibrated and adjusted log-probability; the *none* output gets the mean
   over the labels and a constant that keeps its mean mass on the dev rows, so the prototypes share the labels'
   mass out differently and leave the no-emotion mass about as it was. The fallback level is calibrated before
   the prototypes are added: it is a level of no-emotion mass, and on the pooled dev rows, the training domains,
   the trained head alone picks the top label best (benchmarks/decision_rule.py measures the rule across
   domains).
   A label's name is the one thing about it that holds in every domain; scoring texts by their
   embedding similarity to label descriptions is "dataless" classification (Chang, Ratinov, Roth and Srikumar
   2008). The term is linear in the vector, so it folds into the head's weights: inference and speed are
   unchanged, and the evidence words stay exact.

The same code adapts a model to a user's own labelled rows (``affectkit adapt``): then the user's rows are the
only dataset, in their own label set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.labels import LabelSet, get_labelset, get_mapping
from affectkit.modules.heads import CategoryHead, sigmoid, softmax
from affectkit.training.calibration import calibrate_thresholds, f1_per_label, fit_temperature


@dataclass
class TransferTargets:
    """Soft targets of one dataset over a target label set.

    ``dist`` is ``(n, K)`` when the target set has a neutral label, else ``(n, K + 1)`` with *none* last;
    ``multi`` is ``(n, K)`` in [0, 1] (the weight with which each label is present);
    ``said`` is ``(n, K)`` bool: whether the row's gold speaks about each label (see :func:`transfer_targets`).
    """

    dist: np.ndarray
    multi: np.ndarray
    said: np.ndarray


def source_distribution(ds: EmotionDataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dataset's gold as ``(p, presence, none)`` over its own label set: ``p`` shares each row's mass over its
    emotion labels, ``presence`` says how strongly each label is present (0/1, or the share of annotators who chose
    it), ``none`` is the mass of no emotion (neutral gold, an all-zero row, or annotators who chose nothing)."""
    assert ds.categories is not None and ds.labelset is not None
    y = np.asarray(ds.categories, dtype=np.float64)
    ls = ds.labelset
    neutral = ls.index(ls.neutral) if ls.neutral is not None else None
    if ds.category_kind == "votes":
        raters = np.asarray(ds.meta.get("annotators", y.sum(axis=1)), dtype=np.float64)
        presence = np.clip(y / np.maximum(raters, 1.0)[:, None], 0.0, 1.0)
        p = y / np.maximum(np.maximum(y.sum(axis=1), raters), 1e-12)[:, None]
    else:
        presence = (y > 0).astype(np.float64) if ds.category_kind == "multi-hot" else np.clip(y, 0.0, 1.0)
        p = presence / np.maximum(presence.sum(axis=1), 1e-12)[:, None]
    none = 1.0 - p.sum(axis=1)
    if neutral is not None:
        none = none + p[:, neutral]
        p[:, neutral] = 0.0
        presence[:, neutral] = 0.0
    return p, presence, np.clip(none, 0.0, 1.0)


def transfer_targets(ds: EmotionDataset, target: LabelSet) -> TransferTargets:
    """Soft targets of ``ds`` over ``target`` (see the module docstring)."""
    p, presence, none = source_distribution(ds)
    assert ds.labelset is not None
    m = np.eye(len(target)) if ds.labelset == target else get_mapping(ds.labelset, target).matrix
    if target.neutral is not None:
        m = m.copy()
        m[:, target.index(target.neutral)] = 0.0
    mapped = p @ m
    lost = np.clip(1.0 - mapped.sum(axis=1), 0.0, 1.0)  # neutral, no emotion, or emotions the target lacks
    multi = np.clip(presence @ m, 0.0, 1.0)
    reach = m.sum(axis=0) > 0
    if target.neutral is not None:
        reach[target.index(target.neutral)] = True
    # a label no label of the dataset maps onto was not on offer to its annotators: an emotional row says nothing
    # about it (it may be what they called by a coarser name), while a row with no emotion at all rules out every one
    said = np.where((none < 1.0)[:, None], reach[None, :], True)
    if target.neutral is not None:
        k = target.index(target.neutral)
        mapped[:, k] = lost
        multi[:, k] = (multi.max(axis=1) == 0).astype(np.float64)
        return TransferTargets(mapped, multi, said)
    return TransferTargets(np.c_[mapped, lost], multi, said)


def dataset_weights(sizes: Sequence[int], balance: float) -> list[float]:
    """Per-row weight for each dataset, so that a dataset of ``n`` rows weighs ``n ** (1 - balance)`` in total
    (``balance=1``: every dataset alike; ``0``: every row alike), scaled to a mean row weight of 1."""
    total_rows = float(sum(sizes))
    if total_rows == 0:  # no rows at all (e.g. no dataset has a dev split): nothing to weigh
        return [0.0 for _ in sizes]
    raw = [n ** -balance if n else 0.0 for n in sizes]
    mean = sum(r * n for r, n in zip(raw, sizes)) / total_rows
    return [r / mean for r in raw]


@dataclass
class LinearFit:
    w: np.ndarray  # (outputs, dim)
    b: np.ndarray  # (outputs,)


def fit_linear(x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float, kind: str,
               max_iter: int = 100, mask: np.ndarray | None = None) -> LinearFit:
    """L2-penalised linear model by L-BFGS: ``kind="softmax"`` (soft-target cross-entropy) or ``"sigmoid"``
    (binary cross-entropy per output). The loss is the weighted mean over rows plus ``l2 / 2 * |W|^2``.

    ``mask`` (``(n, outputs)`` bool) leaves an output out of a row's loss: out of the softmax normaliser, or out of
    the sum of binary cross-entropies."""
    from scipy.optimize import minimize

    n, d = x.shape
    k = y.shape[1]
    wsum = float(weights.sum())

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: k * d].reshape(k, d)
        b = theta[k * d:]
        z = (x @ w.T.astype(x.dtype)).astype(np.float64) + b
        if kind == "softmax":
            if mask is not None:
                z = np.where(mask, z, -np.inf)
            zs = z - z.max(axis=1, keepdims=True)
            logp = zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))
            p = np.exp(logp)
            if mask is not None:
                logp = np.where(mask, logp, 0.0)
            loss = -(weights[:, None] * y * logp).sum() / wsum
            g = (p * y.sum(axis=1, keepdims=True) - y) * weights[:, None] / wsum
        else:
            rw = weights[:, None] if mask is None else weights[:, None] * mask
            loss = (rw * (np.logaddexp(0.0, z) - y * z)).sum() / wsum
            g = (sigmoid(z) - y) * rw / wsum
        loss += 0.5 * l2 * float((w * w).sum())
        gw = (g.T.astype(x.dtype) @ x).astype(np.float64) + l2 * w
        return loss, np.concatenate([gw.ravel(), g.sum(axis=0)])

    theta0 = np.zeros(k * d + k)
    res = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return LinearFit(res.x[: k * d].reshape(k, d), res.x[k * d:])


@dataclass
class TransferData:
    """Pooled vectors and gold of one dataset, by split (``dev`` may be ``None``)."""

    name: str
    train: EmotionDataset
    x_train: np.ndarray
    dev: EmotionDataset | None = None
    x_dev: np.ndarray | None = None
    weight: float = 1.0  # multiplies the dataset's share of the training weight
    calibrate: bool = True  # its dev rows calibrate the head (temperature, thresholds)


@dataclass
class TransferHead:
    """A fitted head and what it was fit on; :meth:`to_category_head` gives the model-folder head."""

    labelset: LabelSet
    dist: LinearFit
    multi: LinearFit
    temperature: float
    thresholds: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    record: dict = field(default_factory=dict)
    fallback_below: float | None = None

    def to_category_head(self) -> CategoryHead:
        """Fold the standardisation into the weights (inference sees raw pooled vectors)."""
        def fold(f: LinearFit) -> tuple[np.ndarray, np.ndarray]:
            w = f.w / self.sd[None, :]
            return w, f.b - w @ self.mean

        wm, bm = fold(self.multi)
        wd, bd = fold(self.dist)
        return CategoryHead(self.labelset, wm, bm, wd, bd, self.temperature, self.thresholds, self.fallback_below)


PROMPTS = ("This text expresses {}.", "The speaker feels {}.", "This is a {} message.")


def label_prompts(labelset: LabelSet, template: str = PROMPTS[0]) -> list[str]:
    """One sentence per label that names it (the neutral label as "neutral"), for the label prototypes."""
    def name(label: str) -> str:
        return "neutral" if label == labelset.neutral else label.replace("_", " ").replace("-", " ")

    return [template.format(name(label)) for label in labelset.labels]


@dataclass(frozen=True)
class LabelPrototypes:
    """One vector per label (the mean of its prompts' unit vectors) and the prompt templates behind them."""

    vectors: np.ndarray
    prompts: tuple[str, ...]


def label_prototypes(embed: Callable[[list[str]], np.ndarray], target: str | LabelSet,
                     prompts: Sequence[str] = PROMPTS) -> LabelPrototypes:
    """The ``prototypes`` of :func:`fit_transfer_head`: for each label, the mean of the encoder's unit vectors of
    its :func:`label_prompts` over the templates ``prompts`` (prompt ensembling, Radford et al. 2021)."""
    labelset = get_labelset(target)
    x = embed([p for t in prompts for p in label_prompts(labelset, t)]).astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return LabelPrototypes(x.reshape(len(prompts), len(labelset), -1).mean(axis=0), tuple(prompts))


def fold_prototypes(dist: LinearFit, prototypes: np.ndarray, scale: float, mean: np.ndarray, sd: np.ndarray,
                    norm: float) -> None:
    """Add ``scale * x . p_hat / norm`` for each label's unit prototype ``p_hat`` to ``dist``'s logits (the mean of
    them to a *none* output), written in the standardised coordinates ``(x - mean) / sd`` the head reads."""
    unit = prototypes / np.maximum(np.linalg.norm(prototypes, axis=1, keepdims=True), 1e-12)
    if len(dist.b) > len(unit):
        unit = np.vstack([unit, unit.mean(axis=0)])
    dist.w = dist.w + (scale / norm) * unit * sd[None, :]
    dist.b = dist.b + (scale / norm) * unit @ mean


def none_shift(logits: np.ndarray, temperature: float, target: float, weights: np.ndarray) -> float:
    """The shift of the last (none) logit, in units of the temperature, that makes its weighted mean probability
    ``target`` (bisection: the mean rises monotonically with the shift)."""
    lo, hi = -20.0, 20.0
    scaled = logits / temperature
    for _ in range(60):
        mid = (lo + hi) / 2
        z = scaled.copy()
        z[:, -1] += mid
        if np.average(softmax(z)[:, -1], weights=weights) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def fit_transfer_head(target: str | LabelSet, data: Sequence[TransferData], l2: float = 0.1,
                      balance: float = 1.0, max_iter: int = 100,
                      progress: Callable[[str], None] | None = None, mask_unreached: bool = True,
                      prior_power: float = 0.0, prototypes: LabelPrototypes | None = None,
                      prototype_scale: float = 0.0) -> TransferHead:
    """Fit a head over ``target`` on every dataset in ``data`` (see the module docstring). ``prototypes``
    (:func:`label_prototypes`) are used when ``prototype_scale`` is above 0."""
    target = get_labelset(target)
    xs, dists, multis, ws, masks = [], [], [], [], []
    dxs, ddists, dmultis, dws = [], [], [], []
    per_row = [w * d.weight for w, d in zip(dataset_weights([len(d.train) for d in data], balance), data)]
    calibrating = [d for d in data if d.calibrate and d.dev is not None and len(d.dev)]
    dev_sizes = [len(d.dev) for d in calibrating if d.dev is not None]
    dev_weight = dict(zip([d.name for d in calibrating], dataset_weights(dev_sizes, 1.0)))
    for d, w in zip(data, per_row):
        t = transfer_targets(d.train, target)
        xs.append(d.x_train)
        dists.append(t.dist)
        multis.append(t.multi)
        ws.append(np.full(len(d.train), w))
        masks.append(t.said if mask_unreached else np.ones(t.multi.shape, bool))
        if d.name in dev_weight and d.dev is not None and d.x_dev is not None:
            td = transfer_targets(d.dev, target)
            dxs.append(d.x_dev)
            ddists.append(td.dist)
            dmultis.append(td.multi)
            dws.append(np.full(len(d.dev), dev_weight[d.name]))
    x = np.concatenate(xs).astype(np.float64)
    mean, sd = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    norm = float(np.linalg.norm(x, axis=1).mean())
    x = ((x - mean) / sd).astype(np.float32)  # float32 products: twice as fast, and L-BFGS does not need more
    y_dist, y_multi, weights = np.concatenate(dists), np.concatenate(multis), np.concatenate(ws)
    if progress:
        progress(f"{target.name}: fitting on {len(x):,} rows from {len(data)} datasets")
    mask = np.concatenate(masks)
    dist_mask = mask if y_dist.shape[1] == len(target) else np.c_[mask, np.ones(len(mask), bool)]
    dist = fit_linear(x, y_dist, weights, l2, "softmax", max_iter, dist_mask)
    multi = fit_linear(x, y_multi, weights, l2, "sigmoid", max_iter, mask)
    if prototype_scale and prototypes is None:
        raise ValueError("prototype_scale needs the label prototypes (label_prototypes)")
    used = prototypes if prototype_scale else None  # the prototypes that enter the head
    head = TransferHead(target, dist, multi, 1.0, np.full(len(target), 0.5), mean, sd)
    if dxs:
        xd = (np.concatenate(dxs) - mean) / sd
        wd = np.concatenate(dws)
        logits = xd @ dist.w.T + dist.b
        head.temperature = fit_temperature(logits, np.concatenate(ddists), weights=wd)
        if prior_power:
            prior = np.average(softmax(logits / head.temperature), axis=0, weights=wd)
            dist.b = dist.b - prior_power * head.temperature * np.log(prior)
        gold = np.concatenate(dmultis) >= 0.5
        head.thresholds = calibrate_thresholds(sigmoid(xd @ multi.w.T + multi.b), gold, weights=wd)
        head.fallback_below = calibrate_fallback(head, np.concatenate(dxs), gold, wd)
        if used is not None:  # added to the calibrated, adjusted log-probabilities
            before = softmax((xd @ dist.w.T + dist.b) / head.temperature)
            fold_prototypes(dist, used.vectors, prototype_scale * head.temperature, mean, sd, norm)
            if len(dist.b) > len(target):  # the none output keeps its mean mass on the dev rows
                dist.b[-1] += head.temperature * none_shift(xd @ dist.w.T + dist.b, head.temperature,
                                                            float(np.average(before[:, -1], weights=wd)), wd)
    elif used is not None:
        fold_prototypes(dist, used.vectors, prototype_scale, mean, sd, norm)
    record = {"labelset": target.name, "l2": l2, "balance": balance, "mask_unreached": mask_unreached,
              "prior_power": prior_power,
              **({"prototype_scale": prototype_scale, "prototype_prompts": list(used.prompts)}
                 if used is not None else {}),
              "datasets": {d.name: {"train": len(d.train), "dev": len(d.dev) if d.dev is not None else 0,
                                    "row_weight": round(w, 6)} for d, w in zip(data, per_row)}}
    head.record = record
    return head


FALLBACK_GRID = (None, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def decide(head: TransferHead, x: np.ndarray, fallback_below: float | None = None) -> np.ndarray:
    """Multi-label decisions for raw pooled vectors, by the rule a model folder applies
    (:meth:`affectkit.schema.BatchPrediction.decisions`)."""
    from affectkit.schema import BatchPrediction

    dist, scores, none = predict_transfer(head, x)
    return BatchPrediction(head.labelset, dist, scores, head.thresholds, none=none,
                           fallback_below=fallback_below).decisions()


def calibrate_fallback(head: TransferHead, x: np.ndarray, gold: np.ndarray, weights: np.ndarray) -> float | None:
    """The no-emotion level below which a text with no label over its threshold takes its most probable label,
    chosen on dev rows to maximise the mean of macro-F1 and Jaccard (SemEval-2018 E-c's multi-label accuracy),
    both weighted; ``None`` when never falling back is best."""
    best, best_score = None, -1.0
    w = weights / weights.sum()
    for level in FALLBACK_GRID:
        pred = decide(head, x, level)
        inter, union = (gold & pred).sum(axis=1), (gold | pred).sum(axis=1)
        jac = float((np.where(union > 0, inter / np.maximum(union, 1), 1.0) * w).sum())
        f1 = float(f1_per_label(gold, pred, weights)[gold.any(axis=0)].mean())
        if (jac + f1) / 2 > best_score + 1e-9:
            best, best_score = level, (jac + f1) / 2
    return best


def predict_transfer(head: TransferHead, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(probabilities of the labels, per-label scores, none)`` for raw pooled vectors, as a model folder gives
    them (:meth:`affectkit.modules.heads.CategoryHead.forward`); ``none`` is the no-emotion mass (the neutral
    label's probability when the set has one), and with a none output the labels' probabilities sum to 1 - none."""
    xs = (x - head.mean) / head.sd
    p = softmax((xs @ head.dist.w.T + head.dist.b) / head.temperature)
    k = len(head.labelset)
    ls = head.labelset
    none = p[:, k] if p.shape[1] > k else p[:, ls.index(ls.neutral)] if ls.neutral is not None else np.zeros(len(x))
    return p[:, :k], sigmoid(xs @ head.multi.w.T + head.multi.b), none


__all__ = ["PROMPTS", "LabelPrototypes", "TransferData", "TransferHead", "TransferTargets", "calibrate_fallback",
           "dataset_weights", "decide", "fold_prototypes", "label_prompts", "label_prototypes", "none_shift",
           "fit_transfer_head", "predict_transfer", "source_distribution", "transfer_targets"]
