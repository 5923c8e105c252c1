"""How training batches are drawn: task groups that share texts, ranking lists, the epoch schedule, padding, and
each task's loss on a batch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from affectkit.training.targets import TaskTargets
from affectkit.training.task import TrainTask, texts_key


def _loss_for(t: TrainTask, losses: Any) -> Any:
    import torch

    from affectkit.training.targets import cooccurrence_counts, positive_weights

    spec = t.spec
    if spec.type == "categories":
        gold = t.y.gold
        assert gold is not None, "categories targets carry gold labels"
        pw = positive_weights(gold, spec.class_weighting)
        pen = None
        if spec.cooccurrence_penalty > 0:
            pen = losses.CooccurrencePenalty(torch.tensor(cooccurrence_counts(gold)), spec.cooccurrence_penalty)
        return (losses.MultiLabelBCE(None if pw is None else torch.tensor(pw, dtype=torch.float32)),
                losses.SoftLabelCrossEntropy(), pen)
    if spec.type in ("vad", "regression"):
        return losses.CCCLoss() if spec.loss == "ccc" else losses.MSELoss()
    return losses.RANKING_LOSSES[spec.loss]()


def _task_loss(task: TrainTask, head: Any, loss_fn: Any, pooled: Any, idx: np.ndarray) -> Any:
    import torch

    spec = task.spec
    y = task.y
    if spec.type == "categories":
        assert y.multi is not None and y.dist is not None and y.gold is not None, "categories targets"
        bce, soft, pen = loss_fn
        logits_m, logits_d = head["multi"](pooled), head["dist"](pooled)
        part = bce(logits_m, torch.from_numpy(y.multi[idx])) + soft(logits_d, torch.from_numpy(y.dist[idx]))
        if pen is not None:
            part = part + pen(logits_m, torch.from_numpy(y.gold[idx].astype(np.float32)))
        return part
    assert y.values is not None, f"{spec.type} targets carry values"
    if spec.type == "ranking":  # idx is (lists, list_size), -1 = padding
        mask = torch.from_numpy(idx >= 0)
        scores = torch.zeros(mask.shape, dtype=pooled.dtype)
        scores = scores.masked_scatter(mask, head(pooled)[:, 0])
        rel = torch.zeros(mask.shape, dtype=torch.float32)
        rel[mask] = torch.from_numpy(y.values[idx[idx >= 0]].astype(np.float32))
        return loss_fn(scores, rel, mask)
    return loss_fn(head(pooled), torch.from_numpy(y.values[idx]))


def _realign(y: TaskTargets) -> TaskTargets:
    """Targets indexed 0..m-1 after the dataset was cut to the kept rows."""
    y.rows = np.arange(len(y.rows))
    return y


def _exported(tasks: list[TrainTask]) -> list[TrainTask]:
    """The tasks whose heads go into the model folder (calibrated and test-scored): all but auxiliary ones."""
    return [t for t in tasks if not t.spec.auxiliary]


def _group_key(group: list[TrainTask]) -> str:
    return group[0].name


def _batch_groups(tasks: list[TrainTask]) -> list[list[TrainTask]]:
    """Tasks on the same texts share batches (one encoder pass feeds all their heads); ranking tasks batch
    lists of items and stay on their own."""
    groups: dict[str, list[TrainTask]] = {}
    for t in tasks:
        key = t.name if t.spec.type == "ranking" else texts_key(t.train.texts)
        groups.setdefault(key, []).append(t)
    return list(groups.values())


def ranking_lists(n: int, list_size: int, rng: np.random.Generator,
                  groups: np.ndarray | None = None) -> list[np.ndarray]:
    """Lists of item indices for one epoch: the items of each group (list id) in random order, cut into lists of
    at most ``list_size``; without groups, a random permutation cut the same way (random lists)."""
    if groups is None:
        perm = rng.permutation(n)
        return [perm[s : s + list_size] for s in range(0, n, list_size)]
    by_group: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    out: list[np.ndarray] = []
    for members in by_group.values():
        perm = rng.permutation(np.asarray(members))
        out.extend(perm[s : s + list_size] for s in range(0, len(perm), list_size))
    return [out[i] for i in rng.permutation(len(out))] if out else []


def _epoch_schedule(groups: list[list[TrainTask]], batch_size: int, seed: int,
                    lengths: dict[str, np.ndarray | None] | None = None) -> list[tuple[list[TrainTask], np.ndarray]]:
    """Shuffled batches for one epoch. Rows of a group are repeated ``oversample`` times; with token
    ``lengths``, rows are sorted by length inside windows of 50 batches (bucketing, which cuts padding without
    ordering the epoch by length). A ranking batch is a ``(lists, list_size)`` index matrix, -1 = padding."""
    rng = np.random.default_rng(seed)
    schedule: list[tuple[list[TrainTask], np.ndarray]] = []
    for g in groups:
        spec = g[0].spec
        n = len(g[0].train)
        if spec.type == "ranking":
            lists = ranking_lists(n, spec.list_size, rng, g[0].y.groups)
            reps = max(1, int(round(spec.oversample)))
            for _ in range(reps - 1):
                lists += ranking_lists(n, spec.list_size, rng, g[0].y.groups)
            per_batch = max(1, batch_size // spec.list_size)
            for b in range(0, len(lists), per_batch):
                chunk = lists[b : b + per_batch]
                mat = np.full((len(chunk), spec.list_size), -1, dtype=np.int64)
                for r, items in enumerate(chunk):
                    mat[r, : len(items)] = items
                schedule.append((g, mat))
            continue
        oversample = spec.oversample
        reps = int(math.floor(oversample))
        idx = np.concatenate([rng.permutation(n) for _ in range(max(reps, 1))])
        frac = oversample - reps
        if frac > 0:
            idx = np.concatenate([idx, rng.choice(n, int(frac * n), replace=False)])
        lens = (lengths or {}).get(_group_key(g))
        if lens is not None:
            window = 50 * batch_size
            idx = np.concatenate([w[np.argsort(lens[w], kind="stable")] for w in
                                  (idx[s : s + window] for s in range(0, len(idx), window))])
        for b in range(0, len(idx), batch_size):
            schedule.append((g, idx[b : b + batch_size]))
    order = rng.permutation(len(schedule))
    return [schedule[i] for i in order]
