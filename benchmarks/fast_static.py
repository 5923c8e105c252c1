"""The `fast` (static-embedding) model: what each distillation / training choice buys, and its speed.

Trains configs/fast.yaml once per variant (each a few overrides), from the base encoder given with --base
(the fine-tuned default encoder, runs/<default>.hf-encoder, or `minilm` for the stock all-MiniLM-L6-v2), and
prints one table: GoEmotions-28 and Ekman-7 test macro-F1 (per-label thresholds calibrated on dev), EmoBank test
Pearson r for V/A/D, and throughput (texts/s, GoEmotions test texts, --threads CPU threads, with and without
evidence words).

    python benchmarks/fast_static.py --base minilm --variants baseline,no-pca,corpus-vocab,tuned
    python benchmarks/fast_static.py --base runs/default.hf-encoder --variants baseline,tuned --keep runs/fast-variants

Needs the train extra and GoEmotions + EmoBank (../shared/data or $AFFECTKIT_DATA).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS: dict[str, dict] = {
    "baseline": {},  # configs/fast.yaml as is: PCA 256, SIF 1e-4, subword vocabulary, heads only
    "no-pca": {"static": {"pca_dims": None}},
    "pca-128": {"static": {"pca_dims": 128}},
    "no-sif": {"static": {"sif_coefficient": None}},
    "corpus-vocab": {"static": {"vocabulary": "corpus", "vocabulary_size": 20000}},
    "class-weights": {"tasks": {"class_weighting": "sqrt"}},
    "tuned": {"static": {"tune": True, "tune_lr": 1e-3}},
    "tuned-corpus-vocab": {"static": {"tune": True, "tune_lr": 1e-3, "vocabulary": "corpus", "vocabulary_size": 20000}},
}


def variant_config(base_cfg: dict, name: str, base: str, epochs: int | None) -> dict:
    cfg = json.loads(json.dumps(base_cfg))
    over = VARIANTS[name]
    cfg["base"] = base
    cfg["name"] = f"fast-{name}"
    cfg.setdefault("static", {}).update(over.get("static", {}))
    for t in cfg["tasks"]:
        if t["type"] == "categories":
            t.update(over.get("tasks", {}))
    if epochs:
        cfg["epochs"] = epochs
    return cfg


def throughput(path: Path, texts: list[str], threads: int, evidence: bool, batch: int = 4096) -> float:
    from affectkit.model import AffectModel

    m = AffectModel.load(path, evidence=evidence)
    m.analyze_batch(texts[:batch])  # warm-up
    t0 = time.perf_counter()
    for b in range(0, len(texts), batch):
        m.analyze_batch(texts[b : b + batch])
    return len(texts) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="minilm")
    ap.add_argument("--config", default=str(ROOT / "configs" / "fast.yaml"))
    ap.add_argument("--variants", default="baseline,no-pca,corpus-vocab,class-weights,tuned")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2, help="threads for the throughput measurement")
    ap.add_argument("--keep", default=None, help="folder to keep the trained models in (default: a temp folder)")
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from affectkit.datasets import load_dataset
    from affectkit.training.config import TrainConfig
    from affectkit.training.trainer import train

    base_cfg = yaml.safe_load(Path(args.config).read_text())
    out_root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="affectkit-fast-"))
    texts = load_dataset("goemotions", "test").texts * 4
    rows = []
    for name in args.variants.split(","):
        cfg = TrainConfig.from_dict(variant_config(base_cfg, name, args.base, args.epochs))
        t0 = time.time()
        out = train(cfg, out_root / name, progress=False,
                    command=f"python benchmarks/fast_static.py --base {args.base} --variants {name}")
        secs = time.time() - t0
        tm = json.loads((out / "training.json").read_text())["test_metrics"]
        get = {k.split(" ")[0]: v for k, v in tm.items()}
        vad = get["vad"]["pearson"]
        row = (name, get["goemotions"]["macro_f1"], get["ekman"]["macro_f1"], vad["valence"], vad["arousal"],
               vad["dominance"], throughput(out, texts, args.threads, False), throughput(out, texts, args.threads, True),
               secs)
        rows.append(row)
        print(f"  {name}: " + ", ".join(f"{x:.4f}" if isinstance(x, float) else str(x) for x in row[1:]), file=sys.stderr)
    print(f"\nfast model variants from base {args.base} (configs/fast.yaml + overrides); GoEmotions / EmoBank test; "
          f"throughput on {len(texts):,} GoEmotions test texts, {args.threads} threads\n")
    print("| variant | GoEmotions-28 macro-F1 | Ekman-7 macro-F1 | V r | A r | D r | texts/s | texts/s with evidence "
          "| train s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.4f} | {r[5]:.4f} | {r[6]:,.0f} | {r[7]:,.0f} "
              f"| {r[8]:.0f} |")
    print(f"\nmodels in {out_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
