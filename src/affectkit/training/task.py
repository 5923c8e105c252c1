"""A training task with its splits and targets, and the small helpers every training module shares."""

from __future__ import annotations

from dataclasses import dataclass

from affectkit.datasets import EmotionDataset
from affectkit.hashing import digest_texts
from affectkit.labels import LabelSet
from affectkit.training.config import TaskSpec
from affectkit.training.targets import TaskTargets


@dataclass
class TrainTask:
    """A task with its splits; ``train``/``dev``/``test`` hold only the rows its targets keep."""

    spec: TaskSpec
    train: EmotionDataset
    y: TaskTargets
    dev: EmotionDataset | None = None
    y_dev: TaskTargets | None = None
    test: EmotionDataset | None = None
    y_test: TaskTargets | None = None

    @property
    def name(self) -> str:
        return self.spec.head_name

    @property
    def labelset(self) -> LabelSet:
        assert self.y.labelset is not None
        return self.y.labelset


def texts_key(texts: list[str]) -> str:
    return digest_texts(texts)


def pad_batch(seqs: list[list[int]]):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask
