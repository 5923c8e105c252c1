"""From trained heads to a model folder: the encoder as (int8) ONNX, heads as safetensors, calibration on the
exported model, test scores for the model card, and the records training.json keeps."""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from affectkit.hashing import digest_folder
from affectkit.training.config import TrainConfig
from affectkit.training.data import data_fingerprint
from affectkit.training.quantize import QUANTIZATION, quantize_int8
from affectkit.training.task import TrainTask


def export_heads(config: TrainConfig, heads: Any, tasks: list[TrainTask], out: Path, kind: str,
                  fold: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
    from affectkit.model import CONFIG_FILE
    from affectkit.modules.heads import CategoryHead, ScoreHead, VADHead

    cfg = config
    heads_cfg = []
    for t in tasks:
        h = heads[t.name]
        rel = f"heads/{t.name}"
        if t.spec.type == "categories":
            CategoryHead(t.labelset, *fold(_np(h["multi"].weight), _np(h["multi"].bias)),
                         *fold(_np(h["dist"].weight), _np(h["dist"].bias))).save(out / rel)
        else:
            w, b = fold(_np(h.weight), _np(h.bias))
            mean, std = t.y.mean, t.y.std
            if mean is not None:  # regression targets were standardised: undo it in the weights
                assert std is not None, "standardised targets carry their std"
                w, b = w * std[:, None], b * std + mean
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


def calibrate_exported(out: Path, tasks: list[TrainTask]) -> None:
    """Fit each category head's temperature and per-label thresholds on dev data, using the exported
    (quantised) model so that calibration matches what users run."""
    from affectkit.model import AffectModel
    from affectkit.training.calibration import calibrate_thresholds, fit_temperature

    m = AffectModel.load(out, evidence=False)
    for t in tasks:
        if t.spec.type != "categories" or t.dev is None or t.y_dev is None:
            continue
        dist, gold = t.y_dev.dist, t.y_dev.gold
        assert dist is not None and gold is not None, "categories targets carry dist and gold"
        head = m.category_heads[t.labelset.name]
        pooled = m.embed(t.dev.texts)
        head.temperature = fit_temperature(pooled @ head.w_dist.T + head.b_dist, dist)
        _, scores = head(pooled)
        head.thresholds = calibrate_thresholds(scores, gold > 0)
        head.save(out / f"heads/{t.name}")


def score_exported(out: Path, tasks: list[TrainTask]) -> dict[str, Any]:
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
            assert t.y_test.gold is not None, "categories targets carry gold"
            gold = t.y_test.gold > 0
            metrics[key] = {"macro_f1": _r(f1_per_label(gold, scores >= head.thresholds).mean()),
                            "macro_f1_at_0.5": _r(f1_per_label(gold, scores >= 0.5).mean())}
        elif t.spec.type == "vad":
            assert m.vad_head is not None
            vad = t.test.vad
            assert vad is not None, "a vad task's dataset carries VAD"
            pred = m.vad_head(x)
            metrics[key] = {"pearson": dict(zip(("valence", "arousal", "dominance"),
                                                [_r(pearson(pred[:, j], vad[:, j])) for j in range(3)]))}
        else:
            s = m.score_heads[t.name](x)
            values, mean, std = t.y_test.values, t.y.mean, t.y.std
            assert values is not None, f"{t.spec.type} targets carry values"
            if mean is not None:  # undo the standardisation of the training targets
                assert std is not None, "standardised targets carry their std"
                gold_s = values[:, 0] * std[0] + mean[0]
            else:
                gold_s = values
            if t.spec.type == "regression":
                metrics[key] = {"pearson": _r(pearson(s, gold_s))}
            else:
                metrics[key] = {"kendall_tau": _r(kendall(gold_s, s)),
                                "ranking_accuracy": _r(ranking_accuracy(gold_s, s))}
    return metrics


def evaluate_heads(embed: Callable[[list[str]], np.ndarray], heads: Any, tasks: list[TrainTask],
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


def _data_record(t: TrainTask) -> dict[str, Any]:
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


def _unique_texts(tasks: list[TrainTask]) -> list[str]:
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
