"""Accuracy, throughput and peak memory of a model on the shipped test sets, in one run.

    python benchmarks/default_model.py                 # the shipped `default` model
    python benchmarks/default_model.py --model fast    # or any model spec / folder

Prints (and with --json writes) throughput in texts/s on the GoEmotions test texts through the same
``analyze_batch`` path the CLI uses (evidence on), peak resident memory, GoEmotions-28 test macro-F1 with the
model's calibrated per-label thresholds (and at a flat 0.5), Ekman-7 macro-F1 (gold mapped with the published
GoEmotions grouping), and EmoBank test Pearson r for valence, arousal and dominance.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np


def main() -> None:
    from affectkit.evaluation.metrics import f1_score  # macro-F1 over the labels, as everywhere in affectkit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the test texts (best is reported)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    import affectkit
    from affectkit.datasets import load_dataset
    from affectkit.labels import get_mapping

    t0 = time.perf_counter()
    model = affectkit.load(args.model)
    load_s = time.perf_counter() - t0
    go = load_dataset("goemotions", "test")
    texts = go.texts

    def run(labels=None):
        parts = [model.analyze_batch(texts[i : i + args.batch_size], labels)
                 for i in range(0, len(texts), args.batch_size)]
        from affectkit.schema import BatchPrediction

        return BatchPrediction.concat(parts)

    run()  # warm-up
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        pred = run()
        times.append(time.perf_counter() - t)
    best = min(times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    y = go.categories > 0
    f1_cal = f1_score(y, pred.decisions())
    f1_05 = f1_score(y, np.nan_to_num(pred.scores) >= 0.5) if pred.scores is not None else float("nan")
    ek = run("ekman")
    y_ek = get_mapping("goemotions", "ekman").map_indicators(go.categories)
    f1_ek = f1_score(y_ek, ek.decisions())

    eb = load_dataset("emobank", "test")
    vad = model.predict_vad(eb.texts, scale="1..5")
    rs = [float(np.corrcoef(vad[:, j], eb.vad[:, j])[0, 1]) if not np.isnan(vad[:, j]).all() else float("nan")
          for j in range(3)]

    out = {
        "model": args.model, "texts": len(texts), "threads": os.environ.get("AFFECTKIT_THREADS", os.cpu_count()),
        "throughput_texts_per_s": round(len(texts) / best, 1), "seconds_per_pass": [round(t, 3) for t in times],
        "load_seconds": round(load_s, 2), "peak_rss_mb": round(peak_mb, 1),
        "goemotions28_macro_f1_calibrated": round(f1_cal, 4), "goemotions28_macro_f1_at_0.5": round(f1_05, 4),
        "ekman7_macro_f1": round(f1_ek, 4),
        "emobank_pearson_v": round(rs[0], 4), "emobank_pearson_a": round(rs[1], 4), "emobank_pearson_d": round(rs[2], 4),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
    }
    print(f"model {args.model}: {out['throughput_texts_per_s']:,.0f} texts/s on {len(texts):,} GoEmotions test texts "
          f"(best of {args.repeats}), peak RSS {out['peak_rss_mb']:.0f} MB")
    print("| metric | value |\n|---|---|")
    for k in ("goemotions28_macro_f1_calibrated", "goemotions28_macro_f1_at_0.5", "ekman7_macro_f1",
              "emobank_pearson_v", "emobank_pearson_a", "emobank_pearson_d", "throughput_texts_per_s", "peak_rss_mb"):
        print(f"| {k} | {out[k]} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
