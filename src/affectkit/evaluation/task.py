"""Evaluation tasks declared as data: one YAML file per task, as in lm-evaluation-harness.

A task file names a dataset loader and split, the label set the gold labels are scored on, a task type and its
metrics. The shipped tasks live in ``affectkit/evaluation/tasks/``; users pass their own file to
``affectkit eval --task path/to/task.yaml``. See ``docs/evaluation.md`` for the keys.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from affectkit.datasets import EmotionDataset, data_dir, load_dataset
from affectkit.errors import InputError
from affectkit.evaluation.registry import parse_metric
from affectkit.labels import LabelSet, get_labelset
from affectkit.labels.mapping import LabelMapping

if TYPE_CHECKING:
    from affectkit.context import ContextOptions

TASK_TYPES = ("perception", "emotion_ranking", "item_ranking", "assessment", "description", "pairwise", "cause")
PERCEPTION_MODES = ("single-label", "multi-label", "multiple-choice")
SCALAR_TARGETS = ("valence", "arousal", "dominance", "intensity")
#: what a task's items are: texts, or paths to image / audio / video files (read by the ``media:`` analyzers)
MODALITIES = ("text", "image", "audio", "video")

DEFAULT_METRICS: dict[str, list[str]] = {
    "perception/single-label": ["accuracy", "macro_f1", "weighted_f1", "best2_accuracy", "best3_accuracy", "ece"],
    "perception/multi-label": ["macro_f1", "micro_f1", "weighted_f1", "jaccard", "best2_accuracy",
                               "best3_accuracy", "ece"],
    "perception/multiple-choice": ["accuracy"],
    "emotion_ranking": ["top1_accuracy", "overlap@3", "kendall", "ndcg@3"],
    "item_ranking": ["kendall", "spearman", "ndcg@10", "ranking_accuracy", "recall@10%"],
    "assessment": ["pearson", "spearman", "kendall", "ccc", "rmse"],
    "description": ["wheel_f", "wheel_precision", "wheel_recall"],
    "pairwise": ["accuracy"],
    "cause": ["bleu2", "corpus_bleu2"],
}
DEFAULT_HEADLINE = {"perception/single-label": "macro_f1", "perception/multi-label": "macro_f1",
                    "perception/multiple-choice": "accuracy", "emotion_ranking": "ndcg@3", "item_ranking": "kendall",
                    "assessment": "pearson", "description": "wheel_f", "pairwise": "accuracy", "cause": "bleu2"}
# options each task type accepts, with defaults
OPTIONS: dict[str, dict[str, Any]] = {
    "perception": {"aggregation": "plurality", "decision": "thresholds", "n_bins": 15, "n_options": 4, "seed": 13},
    "emotion_ranking": {"k": 3},
    "item_ranking": {"list_size": None, "relevant_top": 0.1, "seed": 13},
    "assessment": {"group_by": None},
    "description": {"wheels": ["parrott-1", "parrott-2"], "fallback": "labels"},
    "pairwise": {"n_pairs": 2000, "min_gap": 0.0, "seed": 13},
    "cause": {},
}
DATASET_KEYS = ("loader", "split", "sample", "seed")
PATH_ARGS = ("path", "neutral_path")


@dataclass
class DatasetSpec:
    """Which rows a task reads: a loader (see :data:`affectkit.datasets.LOADERS`), a split, loader arguments,
    and optionally a seeded random sample of ``sample`` rows."""

    loader: str
    split: str = "test"
    args: dict[str, Any] = field(default_factory=dict)
    sample: int | None = None
    seed: int = 13
    base: str | None = None  # folder of the task file: relative paths are looked up there, then in the data folder

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


@dataclass
class Task:
    """One evaluation task (see the module docstring and ``docs/evaluation.md``)."""

    name: str
    type: str
    dataset: DatasetSpec
    description: str = ""
    labels: str | None = None
    via: str | None = None
    mode: str | None = None
    target: str | None = None
    attribute: str | None = None
    metrics: list[str] = field(default_factory=list)
    headline: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    source: Path | None = None
    context: dict[str, Any] | None = None  # conversation context (affectkit.context.ContextOptions.from_mapping)
    modality: str = "text"  # what the items are (MODALITIES); a model that reads another kind is skipped

    def context_options(self) -> "ContextOptions | None":
        """The task's conversation context (``context:`` in the task file), or ``None``."""
        if not self.context:
            return None
        from affectkit.context import ContextOptions

        return ContextOptions.from_mapping(self.context, f"task {self.name!r}")

    @property
    def kind(self) -> str:
        """``type`` plus the perception mode (``perception/single-label``) - the key of
        :func:`affectkit.evaluation.registry.metrics_for`."""
        return f"perception/{self.mode}" if self.type == "perception" else self.type

    @property
    def labelset(self) -> LabelSet | None:
        return get_labelset(self.labels) if self.labels else None

    def prediction_key(self) -> str:
        """Tasks with the same key share one set of predictions per model."""
        key: dict[str, Any] = {"data": self.dataset.key(), "labels": self.labels, "via": self.via}
        if self.context:
            key["context"] = self.context
        return json.dumps(key, sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["source"] = str(self.source) if self.source else None
        return d


def parse_task(spec: dict[str, Any], source: Path | None = None) -> Task:
    """Validate a task mapping (as read from YAML) and build a :class:`Task`; errors name the file and key."""
    where = str(source) if source else "task"
    if not isinstance(spec, dict):
        raise InputError(f"{where}: a task file must hold a mapping of keys")
    known = {"task", "description", "type", "dataset", "labels", "via", "mode", "target", "attribute", "metrics",
             "headline", "options", "tags", "context", "modality"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; task keys are {', '.join(sorted(known))}")
    name = spec.get("task") or (source.stem if source else None)
    if not name:
        raise InputError(f"{where}: name the task (task: NAME)")
    ttype = spec.get("type")
    if ttype not in TASK_TYPES:
        raise InputError(f"{where}: type must be one of {', '.join(TASK_TYPES)}; got {ttype!r}")
    ds = spec.get("dataset")
    if isinstance(ds, str):
        ds = {"loader": ds}
    if not isinstance(ds, dict) or "loader" not in ds:
        raise InputError(f"{where}: dataset must name a loader (dataset: {{loader: goemotions, split: test}})")
    args = {k: v for k, v in ds.items() if k not in DATASET_KEYS}
    dspec = DatasetSpec(str(ds["loader"]), str(ds.get("split", "test")), args,
                        None if ds.get("sample") is None else int(ds["sample"]), int(ds.get("seed", 13)),
                        str(source.parent) if source is not None else None)
    mode = spec.get("mode")
    if ttype == "perception":
        mode = mode or "single-label"
        if mode not in PERCEPTION_MODES:
            raise InputError(f"{where}: mode must be one of {', '.join(PERCEPTION_MODES)}; got {mode!r}")
    elif mode is not None:
        raise InputError(f"{where}: mode applies to perception tasks only")
    labels = spec.get("labels")
    via = spec.get("via")
    for key, value in (("labels", labels), ("via", via)):
        if value is not None:
            try:
                get_labelset(value)
            except KeyError as e:
                raise InputError(f"{where}: {key}: {e}") from None
    if ttype in ("perception", "emotion_ranking") and not labels:
        raise InputError(f"{where}: a {ttype} task needs the label set its gold labels are scored on (labels: ...)")
    target = spec.get("target")
    if ttype in ("item_ranking", "pairwise"):
        if not target or not (target in SCALAR_TARGETS or str(target).startswith("label:")):
            raise InputError(f"{where}: target must be one of {', '.join(SCALAR_TARGETS)} or label:NAME")
    if ttype == "assessment" and target not in (*SCALAR_TARGETS, "vad"):
        raise InputError(f"{where}: assessment target must be vad, valence, arousal, dominance or intensity")
    task = Task(str(name), ttype, dspec, str(spec.get("description", "")).strip(), labels, via, mode, target,
                spec.get("attribute"), source=source, tags=[str(t) for t in spec.get("tags", [])])
    task.modality = str(spec.get("modality", "text"))
    if task.modality not in MODALITIES:
        raise InputError(f"{where}: modality must be one of {', '.join(MODALITIES)}; got {task.modality!r}")
    metrics = spec.get("metrics") or DEFAULT_METRICS[task.kind]
    for m in metrics:
        try:
            parse_metric(str(m), task.kind)
        except InputError as e:
            raise InputError(f"{where}: {e}") from None
    task.metrics = [str(m) for m in metrics]
    task.headline = str(spec.get("headline") or (DEFAULT_HEADLINE[task.kind] if DEFAULT_HEADLINE[task.kind]
                                                 in task.metrics else task.metrics[0]))
    if task.headline not in task.metrics:
        raise InputError(f"{where}: headline {task.headline!r} is not one of the task's metrics {task.metrics}")
    defaults = OPTIONS[ttype]
    opts = dict(spec.get("options") or {})
    bad_opts = sorted(set(opts) - set(defaults))
    if bad_opts:
        raise InputError(f"{where}: unknown option(s) {bad_opts} for {ttype} tasks; options are "
                         f"{', '.join(defaults) or '(none)'}")
    task.options = {**defaults, **opts}
    if spec.get("context") is not None:
        if ttype not in ("perception", "emotion_ranking", "assessment") or not isinstance(spec["context"], dict):
            raise InputError(f"{where}: context is a mapping (conversation, order, k, ...) for perception, "
                             "emotion_ranking and assessment tasks")
        task.context = dict(spec["context"])
        task.context_options()  # validate now, naming the file
    return task


def _resolve_data_path(value: Any, base: Path) -> Any:
    """Relative paths in a task file are looked up beside the file first, then in the data folder."""
    if isinstance(value, list):
        return [_resolve_data_path(v, base) for v in value]
    p = Path(str(value)).expanduser()
    if p.is_absolute():
        return str(p)
    import glob

    beside = base / p
    if beside.exists() or glob.glob(str(beside)):
        return str(beside)
    return str(data_dir() / p)


def tasks_dir() -> Path:
    """The folder of the shipped task files."""
    return Path(str(resources.files("affectkit.evaluation").joinpath("tasks")))


@lru_cache(maxsize=1)
def shipped_tasks() -> dict[str, Task]:
    """Every shipped task by name, in file-name order."""
    out: dict[str, Task] = {}
    for path in sorted(tasks_dir().glob("*.yaml"), key=lambda p: p.stem):
        task = read_task(path)
        if task.name in out:
            raise InputError(f"two shipped task files define task {task.name!r}")
        out[task.name] = task
    return out


def read_task(path: str | Path) -> Task:
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML: {e}") from None
    return parse_task(spec, path)


def load_task(name_or_path: str | Path) -> Task:
    """A shipped task by name, or a task file by path."""
    p = Path(str(name_or_path))
    if p.suffix in (".yaml", ".yml") or p.is_file():
        if not p.is_file():
            raise InputError(f"task file not found: {p}")
        return read_task(p)
    tasks = shipped_tasks()
    if str(name_or_path) not in tasks:
        raise InputError(f"unknown task {name_or_path!r}; shipped tasks: {', '.join(tasks)} (or give a task file)")
    return tasks[str(name_or_path)]


def select_tasks(names: list[str] | None = None, suites: list[str] | None = None) -> list[Task]:
    """Tasks named one by one plus the tasks of each suite (a tag of the shipped tasks; ``all`` = every
    shipped task), without repeats, in the order given."""
    out: dict[str, Task] = {}
    for suite in suites or []:
        members = [t for t in shipped_tasks().values() if suite == "all" or suite in t.tags]
        if not members:
            tags = sorted({tag for t in shipped_tasks().values() for tag in t.tags})
            raise InputError(f"no shipped task is in suite {suite!r}; suites: all, {', '.join(tags)}")
        for t in members:
            out.setdefault(t.name, t)
    for n in names or []:
        t = load_task(n)
        out.setdefault(t.name, t)
    if not out:
        raise InputError("no task chosen: pass --task NAME_OR_FILE or --suite shipped")
    return list(out.values())


@dataclass
class TaskData:
    """A task's rows, with the gold labels on the task's label set, and how they got there."""

    dataset: EmotionDataset
    gold_mapping: LabelMapping | None = None
    source_labelset: LabelSet | None = None
    gold_unmapped_rows: int = 0

    def gold_mapping_report(self) -> dict[str, Any] | None:
        """Which dataset labels have no counterpart in the task's label set, and how many rows carry one."""
        m = self.gold_mapping
        if m is None:
            return None
        return {"source": m.source.name, "target": m.target.name, "citation": m.citation, "derived": m.derived,
                "unmapped_dataset_labels": m.unmapped, "rows_touched": self.gold_unmapped_rows}


def load_dataset_for(spec: DatasetSpec) -> EmotionDataset:
    """Load the rows a :class:`DatasetSpec` names (with its seeded sample)."""
    args = dict(spec.args)
    for key in PATH_ARGS:
        if key in args:
            args[key] = _resolve_data_path(args[key], Path(spec.base) if spec.base else Path.cwd())
    ds = load_dataset(spec.loader, spec.split, **args)
    if spec.sample is not None and spec.sample < len(ds):
        rng = np.random.default_rng(spec.seed)
        ds = ds.subset(np.sort(rng.choice(len(ds), spec.sample, replace=False)))
    return ds


def task_data(task: Task, dataset: EmotionDataset | None = None) -> TaskData:
    """The task's rows with the gold categories mapped onto ``task.labels`` when the dataset uses another label
    set (e.g. GoEmotions rows scored on Ekman through the published grouping)."""
    ds = dataset if dataset is not None else load_dataset_for(task.dataset)
    source = ds.labelset
    mapping, touched = None, 0
    if task.labels and ds.labelset is not None and ds.categories is not None and task.type != "description":
        before = ds.label_sets()
        ds, mapping = ds.with_labelset(task.labels)
        if mapping is not None and mapping.unmapped:
            cols = [source.index(lab) for lab in mapping.unmapped]  # type: ignore[union-attr]
            touched = int(before[:, cols].any(axis=1).sum())
    _check_task_data(task, ds)
    return TaskData(ds, mapping, source, touched)


def _check_task_data(task: Task, ds: EmotionDataset) -> None:
    where = f"task {task.name!r} (dataset {ds.name})"
    if task.type in ("perception", "emotion_ranking") and ds.categories is None and ds.rankings is None:
        raise InputError(f"{where}: the dataset has no emotion labels")
    if task.type == "description" and ds.words is None and ds.categories is None:
        raise InputError(f"{where}: the dataset has neither emotion words nor labels")
    if task.type == "cause" and ds.causes is None:
        raise InputError(f"{where}: the dataset has no cause column")
    target = task.target or ""
    if target in ("valence", "arousal", "dominance", "vad") and ds.vad is None:
        raise InputError(f"{where}: the dataset has no VAD ratings")
    if target == "intensity" and ds.intensity is None:
        raise InputError(f"{where}: the dataset has no intensity scores")
    if target.startswith("label:"):
        if ds.labelset is None or target[6:] not in ds.labelset:
            raise InputError(f"{where}: {target} is not a label of the dataset's label set")
