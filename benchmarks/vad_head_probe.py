"""Is a model's EmoBank valence limited by its VAD head, or by its encoder? Refit the head on the model's own
embeddings in several ways and print EmoBank dev and test Pearson r for each.

    python benchmarks/vad_head_probe.py runs/default-v7 [--teacher-labels runs/distill/goemotions-train-teacher-vad.csv]
                                        [--hf-encoder runs/default-v7.hf-encoder]

- ``model head``: the model's own VAD head (what ``affectkit analyze`` outputs);
- ``ridge``: a ridge regression on EmoBank train embeddings, over a range of penalties;
- ``kernel ridge``: an RBF kernel ridge (targets centred), over a grid of widths and penalties;
- with ``--teacher-labels`` (a CSV of texts with a teacher's valence, arousal, dominance on 1..5, as
  ``scripts/teacher_labels.py`` writes it): a ridge on gold and teacher rows together (teacher rows down-weighted),
  and the average of a gold-only and a teacher-only ridge;
- with ``--hf-encoder`` (the fine-tuned encoder in Hugging Face format, needs the train extra): the model head on
  a float32 ONNX export of the same weights, against the int8 export.

Needs scikit-learn (``[eval]`` extra) and EmoBank in ../shared/data.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

from affectkit.datasets import load_emobank
from affectkit.model import AffectModel
from affectkit.vad import CANONICAL, convert


def pearson(pred: np.ndarray, gold: np.ndarray) -> str:
    return " / ".join(f"{np.corrcoef(pred[:, k], gold[:, k])[0, 1]:.4f}" for k in range(3))


def report(name: str, dev: np.ndarray, test: np.ndarray, gold: dict[str, np.ndarray]) -> None:
    print(f"| {name} | {pearson(dev, gold['dev'])} | {pearson(test, gold['test'])} |", flush=True)


def head_predictions(model: AffectModel, x: np.ndarray) -> np.ndarray:
    return convert(model.vad_head(x.astype(np.float32)), CANONICAL, model.vad_head.scale)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a model folder with a VAD head")
    ap.add_argument("--teacher-labels", help="CSV: text, valence, arousal, dominance (1..5)")
    ap.add_argument("--hf-encoder", help="the model's fine-tuned encoder in Hugging Face format")
    args = ap.parse_args()
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge

    model = AffectModel.load(args.model, evidence=False)
    data = {s: load_emobank(s) for s in ("train", "dev", "test")}
    x = {s: model.embed(list(d.texts)) for s, d in data.items()}
    y = {s: np.asarray(d.vad, dtype=np.float64) for s, d in data.items()}
    print(f"{args.model}: EmoBank Pearson r, valence / arousal / dominance\n")
    print("| VAD head | dev | test |\n|---|---|---|")
    report("model head", head_predictions(model, x["dev"]), head_predictions(model, x["test"]), y)
    for alpha in (0.1, 1.0, 10.0, 30.0, 100.0):
        ridge = Ridge(alpha=alpha).fit(x["train"], y["train"])
        report(f"ridge, alpha {alpha:g}", ridge.predict(x["dev"]), ridge.predict(x["test"]), y)
    mean = y["train"].mean(axis=0)
    for gamma in (0.005, 0.01, 0.02):
        for alpha in (0.1, 0.3, 1.0):
            krr = KernelRidge(alpha=alpha, kernel="rbf", gamma=gamma).fit(x["train"], y["train"] - mean)
            report(f"kernel ridge, gamma {gamma:g}, alpha {alpha:g}", krr.predict(x["dev"]) + mean,
                   krr.predict(x["test"]) + mean, y)
    if args.teacher_labels:
        import pandas as pd

        frame = pd.read_csv(args.teacher_labels)
        xt = model.embed(frame["text"].astype(str).tolist())
        yt = frame[["valence", "arousal", "dominance"]].to_numpy(np.float64)
        gold = Ridge(alpha=10.0).fit(x["train"], y["train"])
        teacher = Ridge(alpha=10.0).fit(xt, yt)
        report("teacher-only ridge", teacher.predict(x["dev"]), teacher.predict(x["test"]), y)
        for share in (0.2, 0.35, 0.5):
            report(f"average of gold and teacher ridges, teacher share {share:g}",
                   *((1 - share) * gold.predict(x[s]) + share * teacher.predict(x[s]) for s in ("dev", "test")), y)
        for weight in (0.05, 0.1, 0.2, 0.5):
            joint = Ridge(alpha=10.0).fit(np.vstack([x["train"], xt]), np.vstack([y["train"], yt]),
                                          sample_weight=np.r_[np.ones(len(y["train"])),
                                                              np.full(len(yt), weight)])
            report(f"ridge on gold and teacher rows, teacher weight {weight:g}", joint.predict(x["dev"]),
                   joint.predict(x["test"]), y)
    if args.hf_encoder:
        report_float32(args, {s: list(data[s].texts) for s in ("dev", "test")}, y)


def report_float32(args: argparse.Namespace, texts: dict[str, list[str]], y: dict[str, np.ndarray]) -> None:
    """The model head on a float32 ONNX export of the fine-tuned weights (the shipped export runs int8 products),
    exported by ``export_onnx`` with the model's own training config, quantization off."""
    import dataclasses

    from transformers import AutoModel

    from affectkit.training.export import export_onnx
    from affectkit.training.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        shutil.copytree(args.model, folder)
        cfg = dataclasses.replace(Trainer.of_model(folder).config, quantize=False)
        export_onnx(AutoModel.from_pretrained(args.hf_encoder), args.hf_encoder, folder / "encoder", cfg)
        model = AffectModel.load(folder, evidence=False)
        x = {s: model.embed(t) for s, t in texts.items()}
        report("model head, float32 export of the same weights", head_predictions(model, x["dev"]),
               head_predictions(model, x["test"]), y)


if __name__ == "__main__":
    main()
