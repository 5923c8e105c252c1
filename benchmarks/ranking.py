"""Learning to rank on EmoBank: order the test sentences by valence and by arousal.

Compares a plain regression head (MSE) with RankNet, ListNet, ListMLE and RankList (with the skip-wise
curriculum, and without it as an ablation), all trained with the same budget: the same frozen encoder (its
embeddings computed once), a linear head, the same epochs, batch (256 items: 32 lists of 8 random items for the
ranking losses), optimiser, learning rate and seeds; each run keeps its best epoch on EmoBank dev. Prints
Kendall tau-b and ranking accuracy (share of test pairs with different gold scores put in the right order) on
EmoBank test (1,000 sentences; gold = the corpus' combined reader/writer score), mean +- sd over seeds.

    python benchmarks/ranking.py                      # frozen all-MiniLM-L6-v2 (int8 ONNX)
    python benchmarks/ranking.py --encoder runs/default   # the encoder of a model folder

Needs the train extra and the EmoBank data (../shared/data or $AFFECTKIT_DATA).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = [  # (row name, task type, loss, extra task options)
    ("regression (MSE)", "regression", "mse", {}),
    ("RankNet", "ranking", "ranknet", {}),
    ("ListNet", "ranking", "listnet", {}),
    ("ListMLE", "ranking", "listmle", {}),
    ("RankList, skip-wise curriculum", "ranking", "ranklist", {"skip_start": 1, "curriculum": 0.5}),
    ("RankList, all pairs from the start", "ranking", "ranklist", {"skip_start": 7, "curriculum": 0.0}),
]


def encoder_dir(spec: str, cache: Path) -> tuple[Path, str]:
    """The encoder folder to rank with: a model folder's encoder, or the base exported to int8 ONNX once."""
    import json

    if (Path(spec) / "affectkit_model.json").exists():
        enc = json.loads((Path(spec) / "affectkit_model.json").read_text())["encoder"]
        return Path(spec) / enc["path"], enc["type"]
    from transformers import AutoModel

    from affectkit.training.config import TrainConfig
    from affectkit.training.export import export_onnx
    from affectkit.training.trainer import resolve_base

    base = resolve_base(spec)
    out = cache / (Path(base).name + "-int8")
    if not (out / "model.onnx").exists():
        export_onnx(AutoModel.from_pretrained(base), base, out, TrainConfig(base=spec))
    return out, "onnx-transformer"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder", default="minilm", help="minilm, a Hugging Face folder, or a model folder")
    ap.add_argument("--attributes", default="valence,arousal")
    ap.add_argument("--seeds", default="13,14,15")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--list-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "affectkit-bench"))
    args = ap.parse_args(argv)

    import torch

    from affectkit.datasets import data_dir
    from affectkit.evaluation.metrics import kendall, ranking_accuracy
    from affectkit.training.config import TaskSpec, TrainConfig
    from affectkit.training.features import FrozenFeatures
    from affectkit.training.trainer import Trainer

    if not (data_dir() / "emobank" / "emobank.csv").exists():
        print(f"EmoBank not found under {data_dir()} (set AFFECTKIT_DATA)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    t0 = time.time()
    enc_path, kind = encoder_dir(args.encoder, Path(args.cache))
    features = FrozenFeatures(enc_path, kind)
    seeds = [int(s) for s in args.seeds.split(",")]
    attributes = args.attributes.split(",")
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for attribute in attributes:
        for name, kind_, loss, extra in METHODS:
            for seed in seeds:
                spec = TaskSpec(kind_, "emobank", attribute=attribute, loss=loss, list_size=args.list_size,
                                name=f"{attribute}_score", **extra)
                cfg = TrainConfig(base=args.encoder, fine_tune=False, epochs=args.epochs, batch_size=256,
                                  head_lr=args.lr, dropout=0.0, warmup=0.02, seed=seed, tasks=[spec])
                trainer = Trainer(cfg, progress=False)
                tasks = trainer.prepare()
                features.reset()
                heads, _, _ = trainer.train_heads(features, tasks)
                task = tasks[0]
                x = torch.from_numpy(features.embed(task.test.texts))
                with torch.no_grad():
                    pred = heads[task.name](x).numpy()[:, 0]
                gold = np.asarray(task.test.meta["score"], dtype=np.float64)
                results.setdefault((attribute, name), []).append((kendall(gold, pred), ranking_accuracy(gold, pred)))
            taus = [r[0] for r in results[(attribute, name)]]
            print(f"  {attribute:8s} {name:36s} tau {np.mean(taus):.4f}", file=sys.stderr)
    n_test = len(task.test)
    print(f"\nEmoBank test ({n_test} sentences), encoder {args.encoder} (frozen, {kind}), linear heads, "
          f"{args.epochs} epochs, lr {args.lr}, lists of {args.list_size}, seeds {args.seeds}; "
          f"mean +- sd over seeds\n")
    header = "| method | " + " | ".join(f"{a} Kendall tau | {a} ranking acc." for a in attributes) + " |"
    print(header)
    print("|---" * (1 + 2 * len(attributes)) + "|")
    for name, *_ in METHODS:
        cells = []
        for a in attributes:
            r = np.array(results[(a, name)])
            cells += [f"{r[:, 0].mean():.4f} +- {r[:, 0].std():.4f}", f"{r[:, 1].mean():.4f} +- {r[:, 1].std():.4f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\n{time.time() - t0:.0f} s on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
