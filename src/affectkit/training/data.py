"""Training data for a task: a built-in dataset or a user file with a column mapping."""

from __future__ import annotations

from affectkit.datasets import EmotionDataset, load_dataset
from affectkit.errors import InputError
from affectkit.training.config import TaskSpec


def load_task_data(spec: TaskSpec, split: str) -> EmotionDataset | None:
    """The ``split`` of a task's data; ``None`` when the dataset has no such split (e.g. no dev)."""
    kwargs = {"perspective": spec.perspective} if spec.dataset == "emobank" else {}
    try:
        return load_dataset(spec.dataset, split, **kwargs)
    except InputError:
        if split == "train":
            raise
        return None
