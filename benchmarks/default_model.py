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

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE
from affectkit.threads import cpu_description


def main() -> None:
    from affectkit.evaluation.metrics import f1_score  # macro-F1 over the labels, as everywhere in affectkit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="texts per call (the CLI default)")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the test texts (best is reported)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--card", action="store_true",
                    help="also write the figures into the model folder's model card (README.md), section Benchmark")
    args = ap.parse_args()

    import affectkit
    from affectkit.datasets import load_dataset
    from affectkit.labels import get_mapping
    from affectkit.threads import limit_blas_threads

    limit_blas_threads()  # as `affectkit analyze` and the service do: BLAS threads only spin beside the encoder

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

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def timed(repeats: int):
        run()  # warm-up
        times, cpus = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), cpu()
            pred = run()
            times.append(time.perf_counter() - t)
            cpus.append(cpu() - c)
        return pred, times, cpus

    pred, times, cpus = timed(args.repeats)
    best = min(times)
    evidence_default = getattr(model, "evidence", None)
    if evidence_default:  # the same passes without evidence words (what a scores-only job costs)
        model.evidence = False
        _, times_ne, _ = timed(args.repeats)
        model.evidence = evidence_default
    else:
        times_ne = times
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
        "throughput_no_evidence_texts_per_s": round(len(texts) / min(times_ne), 1),
        "texts_per_cpu_second": round(len(texts) / min(cpus), 1),
        "load_seconds": round(load_s, 2), "peak_rss_mb": round(peak_mb, 1),
        "goemotions28_macro_f1_calibrated": round(f1_cal, 4), "goemotions28_macro_f1_at_0.5": round(f1_05, 4),
        "ekman7_macro_f1": round(f1_ek, 4),
        "emobank_pearson_v": round(rs[0], 4), "emobank_pearson_a": round(rs[1], 4), "emobank_pearson_d": round(rs[2], 4),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_description(), "platform": platform.platform(),
                    "python": sys.version.split()[0]},
    }
    print(f"model {args.model}: {out['throughput_texts_per_s']:,.0f} texts/s on {len(texts):,} GoEmotions test texts "
          f"(best of {args.repeats}), peak RSS {out['peak_rss_mb']:.0f} MB\non {out['machine']['cpu']}")
    keys = ("goemotions28_macro_f1_calibrated", "goemotions28_macro_f1_at_0.5", "ekman7_macro_f1",
            "emobank_pearson_v", "emobank_pearson_a", "emobank_pearson_d", "throughput_texts_per_s",
            "throughput_no_evidence_texts_per_s", "texts_per_cpu_second", "peak_rss_mb")
    table = "| metric | value |\n|---|---|\n" + "".join(f"| {k} | {out[k]} |\n" for k in keys)
    print(table, end="")
    if args.card:
        write_card_section(model, args, out, table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


def write_card_section(model, args, out: dict, table: str) -> None:
    """Replace (or add) the "## Benchmark" section of the model folder's README.md with this run's figures."""
    from pathlib import Path

    folder = getattr(model, "path", None)
    if folder is None:
        print("--card: the model has no folder", file=sys.stderr)
        return
    card = Path(folder) / "README.md"
    text = card.read_text() if card.exists() else ""
    start = text.find("\n## Benchmark\n")
    if start != -1:
        end = text.find("\n## ", start + 5)
        text = text[:start] + (text[end:] if end != -1 else "\n")
    section = (f"\n## Benchmark\n\nMeasured with `python benchmarks/default_model.py --model {args.model} --card` "
               f"on {out['machine']['cpu']} ({out['machine']['platform']}, Python {out['machine']['python']}): "
               f"{out['texts']:,} GoEmotions test texts, batches of {args.batch_size}, best of {args.repeats} passes, "
               "evidence words on unless the row says otherwise; GoEmotions-28 macro-F1 with the model's calibrated "
               "thresholds; Ekman-7 through the published GoEmotions grouping; EmoBank test Pearson r.\n\n" + table)
    marker = text.find("\n## Limitations")
    text = text[:marker] + section + text[marker:] if marker != -1 else text.rstrip("\n") + "\n" + section
    card.write_text(text)
    print(f"wrote the Benchmark section of {card}")


if __name__ == "__main__":
    main()
