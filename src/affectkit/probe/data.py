"""A probe's data from any eval task: the task's loader read on its train, dev and test splits, with the gold
labels mapped onto the task's label set as ``affectkit eval`` maps them; and the two data-side controls (shuffled
labels, bag of words)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from affectkit.datasets import hash_split
from affectkit.errors import InputError
from affectkit.evaluation.metrics import tokenize
from affectkit.evaluation.task import Task, load_dataset_for, task_data

VAD_INDEX = {"valence": 0, "arousal": 1, "dominance": 2}
SPLITS = ("train", "dev", "test")


@dataclass
class Split:
    """Texts and targets: an indicator matrix ``(n, K)`` for categories, values ``(n,)`` or ``(n, 3)`` for
    scalars."""

    texts: list[str]
    y: np.ndarray

    def sample(self, limit: int | None, seed: int) -> Split:
        """A seeded random sample of at most ``limit`` rows, in their original order."""
        if limit is None or limit >= len(self.texts):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self.texts), limit, replace=False))
        return Split([self.texts[i] for i in idx], self.y[idx])


def probe_kind(task: Task) -> str:
    """``single-label`` / ``multi-label`` (logistic probe) for perception tasks, ``regression`` (ridge) for
    assessment tasks."""
    if task.type == "perception" and task.mode in ("single-label", "multi-label"):
        return str(task.mode)
    if task.type == "assessment":
        return "regression"
    raise InputError(f"task {task.name!r} is a {task.kind} task; probes take perception tasks (single- or "
                     "multi-label) and assessment tasks (VAD, intensity)")


def _targets(task: Task, kind: str, ds: Any) -> tuple[list[str], np.ndarray]:
    texts = list(ds.texts)
    if kind == "regression":
        target = task.target or "vad"
        if target == "intensity":
            y = np.asarray(ds.intensity, dtype=np.float64)
        elif target == "vad":
            y = np.asarray(ds.vad, dtype=np.float64)
        else:
            y = np.asarray(ds.vad, dtype=np.float64)[:, VAD_INDEX[target]]
        keep = ~np.isnan(y).reshape(len(y), -1).any(axis=1)
    else:
        y = ds.label_sets()
        keep = y.any(axis=1) if kind == "multi-label" else y.sum(axis=1) == 1
    keep &= np.array([isinstance(t, str) and bool(t.strip()) for t in texts], dtype=bool)
    return [t for t, k in zip(texts, keep) if k], y[keep]


def load_splits(task: Task, limits: dict[str, int | None] | None = None, seed: int = 0) -> dict[str, Split]:
    """The task's rows on train (fitting), dev (choosing the penalty and thresholds) and the task's own split
    (scoring; usually test). A loader with no dev split gives 10% of train (seeded) as dev. Rows without a usable
    target (no label, several labels for a single-label task, a missing rating, empty text) are left out. A path
    argument may hold ``{split}`` (``rows_{split}.csv``); a loader that gives the same rows for every split (a
    table file without ``{split}``) is cut by affectkit's fixed 80/10/10 hash split."""
    kind = probe_kind(task)
    limits = limits or {}
    test_split = task.dataset.split
    if test_split == "train":
        raise InputError(f"task {task.name!r} is scored on its train split; a probe needs train rows apart from "
                         "the rows it is scored on")
    out: dict[str, Split] = {}
    for name, split in (("train", "train"), ("dev", "dev"), ("test", test_split)):
        args = {k: v.replace("{split}", split) if isinstance(v, str) else v for k, v in task.dataset.args.items()}
        spec = replace(task.dataset, split=split, sample=None, args=args)
        try:
            ds = task_data(task, load_dataset_for(spec)).dataset
        except InputError:
            if name != "dev":
                raise
            continue
        out[name] = Split(*_targets(task, kind, ds))
    if out["train"].texts == out["test"].texts:  # a loader without splits (a table file): its fixed hash split
        rows = out["train"]
        for name in SPLITS:
            idx = [i for i, t in enumerate(rows.texts) if hash_split(t) == name]
            out[name] = Split([rows.texts[i] for i in idx], rows.y[idx])
    elif "dev" not in out:
        train = out["train"]
        order = np.random.default_rng(seed).permutation(len(train.texts))
        cut = max(1, len(order) // 10)
        dev_idx, train_idx = np.sort(order[:cut]), np.sort(order[cut:])
        out["dev"] = Split([train.texts[i] for i in dev_idx], train.y[dev_idx])
        out["train"] = Split([train.texts[i] for i in train_idx], train.y[train_idx])
    for name in SPLITS:
        if not out[name].texts:
            raise InputError(f"task {task.name!r}: no usable {name} rows for a probe")
    return {name: out[name].sample(limits.get(name), seed + i) for i, name in enumerate(SPLITS)}


def shuffled(splits: dict[str, Split], seed: int) -> dict[str, Split]:
    """The control task: each split's targets permuted among its rows (the label marginals stay, the link to
    the text goes), in the spirit of Hewitt and Liang (2019); a probe's selectivity is its score minus the score
    of the same probe fit and scored on these labels."""
    rng = np.random.default_rng(seed)
    return {name: Split(s.texts, s.y[rng.permutation(len(s.y))]) for name, s in splits.items()}


class BagOfWords:
    """Binary bag-of-words features over the train vocabulary (lower-cased word and punctuation tokens seen at
    least ``min_count`` times, the ``max_words`` most frequent), as a scipy sparse matrix."""

    def __init__(self, train_texts: list[str], min_count: int = 2, max_words: int = 20000) -> None:
        counts: dict[str, int] = {}
        for text in train_texts:
            for tok in set(tokenize(text)):
                counts[tok] = counts.get(tok, 0) + 1
        kept = sorted((c, w) for w, c in counts.items() if c >= min_count)[::-1][:max_words]
        self.vocab = {w: i for i, (_, w) in enumerate(sorted(kept, key=lambda cw: cw[1]))}

    def __call__(self, texts: list[str]) -> Any:
        from scipy.sparse import csr_matrix

        rows, cols = [], []
        for i, text in enumerate(texts):
            ids = sorted({self.vocab[t] for t in tokenize(text) if t in self.vocab})
            rows += [i] * len(ids)
            cols += ids
        return csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(len(texts), max(len(self.vocab), 1)))
