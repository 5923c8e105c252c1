"""``fit`` in the Python API: a scikit-learn style estimator whose fitted state is an affectkit model folder.

    >>> from affectkit.training import AffectEstimator
    >>> est = AffectEstimator(task="single-label", base="minilm", fine_tune=False).fit(texts, labels)
    >>> est.predict(["what a day"]); est.save("my-model")       # then affectkit.load("my-model")

``fit(X, y)`` accepts single-label targets (one label per text), multi-label targets (a list of labels per
text, a ``sep``-separated string, or a 0/1 matrix with ``labels``), or vote counts / distributions (a matrix
with ``labels``, for ``task="soft"``); ``vad=`` adds a valence/arousal/dominance head on the same texts.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.labels import LabelSet, get_labelset
from affectkit.text import check_text
from affectkit.training.config import StaticOptions, TaskSpec, TrainConfig
from affectkit.training.data import make_labelset


class AffectEstimator:
    """Train encoder + heads on in-memory texts (see the module docstring); ``model_`` is the fitted
    :class:`~affectkit.model.AffectModel`, ``path_`` its folder."""

    def __init__(self, task: str = "multi-label", labels: "str | Sequence[str] | None" = None, *,
                 base: str = "minilm", encoder: str = "transformer", fine_tune: bool = False,
                 epochs: int | None = None, batch_size: int = 32, lr: float = 5e-5, head_lr: float = 2e-3,
                 seed: int = 13, aggregation: str = "all-inclusive", smoothing: float = 0.0,
                 cooccurrence_penalty: float = 0.0, class_weighting: str = "none", vad_loss: str = "mse",
                 vad_scale: str = "1..5", calibrate: bool = True, quantize: bool = True, max_length: int = 128,
                 static: dict[str, Any] | None = None, name: str = "model", sep: str = ",",
                 output: str | Path | None = None, progress: bool = False) -> None:
        self.task = task
        self.labels = labels
        self.base = base
        self.encoder = encoder
        self.fine_tune = fine_tune
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.head_lr = head_lr
        self.seed = seed
        self.aggregation = aggregation
        self.smoothing = smoothing
        self.cooccurrence_penalty = cooccurrence_penalty
        self.class_weighting = class_weighting
        self.vad_loss = vad_loss
        self.vad_scale = vad_scale
        self.calibrate = calibrate
        self.quantize = quantize
        self.max_length = max_length
        self.static = static
        self.name = name
        self.sep = sep
        self.output = output
        self.progress = progress

    # scikit-learn protocol -------------------------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"}

    def set_params(self, **params: Any) -> "AffectEstimator":
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"unknown parameter {k!r} for {type(self).__name__}")
            setattr(self, k, v)
        return self

    def config(self) -> TrainConfig:
        """The training config this estimator runs (the same as ``affectkit train --config``)."""
        frozen = self.encoder == "static" or not self.fine_tune
        tasks = [TaskSpec("categories", "<memory>", name="categories", target=self.task, aggregation=self.aggregation,
                          smoothing=self.smoothing, cooccurrence_penalty=self.cooccurrence_penalty,
                          class_weighting=self.class_weighting)]
        return TrainConfig(name=self.name, base=self.base, encoder=self.encoder, fine_tune=self.fine_tune,
                           static=StaticOptions(**(self.static or {})), epochs=self.epochs or (20 if frozen else 3),
                           batch_size=self.batch_size, lr=self.lr, head_lr=self.head_lr, seed=self.seed,
                           calibrate=self.calibrate, quantize=self.quantize, max_length=self.max_length, tasks=tasks)

    def fit(self, X: Sequence[str], y: Any, X_dev: Sequence[str] | None = None, y_dev: Any = None,
            vad: Any = None, vad_dev: Any = None) -> "AffectEstimator":
        """Train on ``X`` / ``y`` (and ``vad`` on ``vad_scale``); ``X_dev`` / ``y_dev`` calibrate thresholds and
        pick the best epoch."""
        from affectkit.model import AffectModel
        from affectkit.training.trainer import Trainer

        cfg = self.config()
        train = self._dataset(X, y, vad, "train", None)
        data: dict[str, dict[str, EmotionDataset | None]] = {"categories": {"train": train, "dev": None}}
        dev = None
        if X_dev is not None:
            dev = self._dataset(X_dev, y_dev, vad_dev, "dev", train.labelset)
            data["categories"]["dev"] = dev
        cfg.tasks[0].labelset = train.labelset.name if train.labelset else None
        if vad is not None:
            cfg.tasks.append(TaskSpec("vad", "<memory>", loss=self.vad_loss))
            data["vad"] = {"train": train, "dev": dev if vad_dev is not None else None}
        out = Path(self.output) if self.output else Path(tempfile.mkdtemp(prefix="affectkit-fit-")) / self.name
        Trainer(cfg, self.progress, data=data, command="affectkit.training.AffectEstimator("
                + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k not in ("output", "progress"))
                + ").fit(X, y)").fit(out)
        self.path_ = out
        self.model_ = AffectModel.load(out)
        return self

    def _dataset(self, X: Sequence[str], y: Any, vad: Any, split: str, labelset: LabelSet | None) -> EmotionDataset:
        texts: list[str] = []
        for i, x in enumerate(X):
            t, err = check_text(x)
            if err:
                raise ValueError(f"X[{i}]: {err}")
            texts.append(t or "")
        counts, ls = targets_from_y(y, self.task, self.labels, labelset, self.sep, self.name)
        if len(counts) != len(texts):
            raise ValueError(f"X has {len(texts)} texts but y has {len(counts)} rows")
        ds = EmotionDataset("in-memory", split, texts, ls, counts)
        if vad is not None:
            v = np.asarray(vad, dtype=np.float64)
            if v.shape != (len(texts), 3):
                raise ValueError(f"vad must be (n, 3) valence, arousal, dominance; got {v.shape}")
            ds.vad, ds.vad_scale = v, self.vad_scale
        return ds

    # prediction ------------------------------------------------------------------------------------------------------
    def _model(self):
        if not hasattr(self, "model_"):
            raise RuntimeError("this estimator is not fitted yet: call fit(X, y) or AffectEstimator.load(path)")
        return self.model_

    def predict(self, X: Sequence[str]) -> Any:
        """Multi-label: the list of labels over threshold per text; otherwise the top label per text."""
        m = self._model()
        return m.predict_labels(list(X)) if self.task == "multi-label" else m.predict(list(X))

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self._model().predict_proba(list(X))

    def predict_vad(self, X: Sequence[str], scale: str = "-1..1") -> np.ndarray:
        return self._model().predict_vad(list(X), scale)

    @property
    def classes_(self) -> np.ndarray:
        return np.array(self._model().labelset.labels, dtype=object)

    # persistence -----------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Copy the fitted model folder to ``path`` (load it with ``affectkit.load(path)``)."""
        src = Path(self._model().path)
        dst = Path(path)
        if dst.resolve() != src.resolve():
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst)
        return dst

    @classmethod
    def load(cls, path: str | Path) -> "AffectEstimator":
        """An estimator around a saved model folder (its training parameters come from ``training.json``)."""
        import json

        from affectkit.model import AffectModel

        path = Path(path)
        est = cls()
        record = path / "training.json"
        if record.exists():
            spec = json.loads(record.read_text())["config"]["tasks"][0]
            est.task = spec.get("target", est.task) if spec.get("type") == "categories" else est.task
        est.model_ = AffectModel.load(path)
        est.path_ = path
        return est


def targets_from_y(y: Any, task: str, labels: "str | Sequence[str] | None", labelset: LabelSet | None,
                   sep: str = ",", name: str = "model") -> tuple[np.ndarray, LabelSet]:
    """``(counts (n, K), label set)`` from single-label, multi-label or vote-count targets."""
    if isinstance(labels, str):
        labelset = labelset or get_labelset(labels)
    numeric = isinstance(y, np.ndarray) and y.ndim == 2 and np.issubdtype(y.dtype, np.number)
    if numeric:
        if labelset is None:
            if labels is None:
                raise ValueError("a target matrix needs labels=[...] naming its columns (or a label set name)")
            labelset = make_labelset(list(labels), name, ordered=True)
        if y.shape[1] != len(labelset):
            raise ValueError(f"y has {y.shape[1]} columns but the label set has {len(labelset)} labels")
        return np.asarray(y, dtype=np.float64), labelset
    rows: list[list[str]] = []
    for v in (list(y) if not isinstance(y, str) else [y]):
        if isinstance(v, str):
            rows.append([v.strip()] if task != "multi-label" else [p.strip() for p in v.split(sep) if p.strip()])
        elif isinstance(v, (list, tuple, set, np.ndarray)):
            rows.append([str(p).strip() for p in v])
        elif v is None:
            rows.append([])
        else:
            rows.append([str(v)])
    if labelset is None:
        found = sorted({lab for r in rows for lab in r})
        labelset = make_labelset(list(labels) if labels is not None else found, name, ordered=labels is not None)
    unknown = sorted({lab for r in rows for lab in r if lab not in labelset})
    if unknown:
        raise ValueError(f"labels {unknown[:10]} are not in the label set ({', '.join(labelset.labels)})")
    counts = np.zeros((len(rows), len(labelset)))
    for i, r in enumerate(rows):
        for lab in r:
            counts[i, labelset.index(lab)] += 1
    return counts, labelset


def fit(X: Sequence[str], y: Any, **params: Any):
    """Train a model on ``X`` / ``y`` and return it as an :class:`~affectkit.model.AffectModel` (its folder is
    ``model.path``). ``params`` are :class:`AffectEstimator`'s (``task``, ``labels``, ``base``, ``fine_tune``,
    ...) plus ``X_dev``, ``y_dev``, ``vad``, ``vad_dev`` for :meth:`AffectEstimator.fit`."""
    fit_args = {k: params.pop(k) for k in ("X_dev", "y_dev", "vad", "vad_dev") if k in params}
    return AffectEstimator(**params).fit(X, y, **fit_args).model_
