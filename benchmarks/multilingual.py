"""The ``multilingual`` tier zero-shot on ArmanEmo (Persian), beside its English scores.

    python benchmarks/multilingual.py                 # prints the figures
    python benchmarks/multilingual.py --card          # and writes them into the model card (README.md)

- ArmanEmo test macro-F1, zero-shot: argmax of the distribution over the 7 ArmanEmo classes. The ``multilingual``
  model answers through its own ``armanemo`` head (fit on English data mapped onto those classes; ArmanEmo itself
  is never trained on); the English-only model scored for contrast (``default``) likewise answers through its
  own ``armanemo`` head when it has one, else as the shipped ``armanemo`` evaluation task asks it: in Ekman's
  set, mapped onto ArmanEmo.
- The tier's English scores: GoEmotions-28 test macro-F1 (the model's calibrated multi-label decisions against the
  multi-hot gold), Ekman-7 macro-F1 on GoEmotions test (gold mapped with ``ds.with_labelset("ekman")``), EmoBank
  test Pearson r for valence, arousal and dominance.
- Throughput in texts/s on the first 2,000 GoEmotions test texts (``predict_batch``, one call).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ARMAN_TARGET = 0.35


def argmax_onehot(dist: np.ndarray) -> np.ndarray:
    out = np.zeros(dist.shape, dtype=bool)
    out[np.arange(len(dist)), np.nan_to_num(dist, nan=-1.0).argmax(axis=1)] = True
    return out


def armanemo_scores(model, texts: list[str], gold: np.ndarray) -> dict:
    """Macro-F1 and accuracy of the argmax over ArmanEmo's classes, and how the model got there."""
    from affectkit.evaluation.metrics import f1_score
    from affectkit.evaluation.predict import plan_labels
    from affectkit.labels import get_labelset

    target = get_labelset("armanemo")
    plan = plan_labels(model, target, via="ekman")  # native when the model has an armanemo head
    batch = model.predict_batch(texts, plan.source)
    for hop in plan.hops:
        batch = batch.to_labelset(hop.target)
    pred = argmax_onehot(batch.dist)
    per_label = {}
    for j, lab in enumerate(target.labels):
        tp = int((pred[:, j] & gold[:, j]).sum())
        denom = int(pred[:, j].sum() + gold[:, j].sum())
        per_label[lab] = round(2 * tp / denom, 4) if denom else 0.0
    return {"macro_f1": round(f1_score(gold, pred), 4), "accuracy": round(float((pred & gold).any(axis=1).mean()), 4),
            "route": (" -> ".join([plan.source.name] + [h.target.name for h in plan.hops]) if plan.hops
                      else "its own armanemo head"),
            "per_label_f1": per_label,
            "predicted_share": {lab: round(float(pred[:, j].mean()), 3) for j, lab in enumerate(target.labels)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="multilingual")
    ap.add_argument("--contrast", default="default", help="an English-only model scored on ArmanEmo beside it "
                                                          "('' to skip)")
    ap.add_argument("--throughput-texts", type=int, default=2000)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--card", action="store_true", help="write the figures into the model folder's README.md")
    args = ap.parse_args()

    import affectkit
    from affectkit.datasets import load_dataset
    from affectkit.evaluation.metrics import f1_score
    from affectkit.labels import get_labelset
    from affectkit.schema import BatchPrediction
    from affectkit.threads import cpu_description

    model = affectkit.load(args.model)
    arman = load_dataset("armanemo", "test")
    gold_arman = np.asarray(arman.categories) > 0
    out: dict = {"model": args.model, "armanemo_test_rows": len(arman)}
    t0 = time.perf_counter()
    out["armanemo"] = {args.model: armanemo_scores(model, arman.texts, gold_arman)}
    print(f"ArmanEmo test ({len(arman):,} Persian texts), zero-shot, argmax over 7 classes:")
    print(f"  {args.model}: macro-F1 {out['armanemo'][args.model]['macro_f1']:.4f} "
          f"(accuracy {out['armanemo'][args.model]['accuracy']:.4f}; {out['armanemo'][args.model]['route']}; "
          f"{time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"    per label F1: {json.dumps(out['armanemo'][args.model]['per_label_f1'])}")
    if args.contrast:
        contrast = affectkit.load(args.contrast)
        out["armanemo"][args.contrast] = armanemo_scores(contrast, arman.texts, gold_arman)
        c = out["armanemo"][args.contrast]
        print(f"  {args.contrast}: macro-F1 {c['macro_f1']:.4f} (accuracy {c['accuracy']:.4f}; {c['route']})",
              flush=True)

    go = load_dataset("goemotions", "test")
    n_tp = min(args.throughput_texts, len(go))
    t = time.perf_counter()
    first = model.predict_batch(go.texts[:n_tp], get_labelset("goemotions"))
    seconds = time.perf_counter() - t
    rest = model.predict_batch(go.texts[n_tp:], get_labelset("goemotions"))
    pred = BatchPrediction.concat([first, rest])
    out["throughput_texts_per_s"] = round(n_tp / seconds, 1)
    out["goemotions28_macro_f1"] = round(f1_score(go.categories > 0, pred.decisions()), 4)
    ek_ds, _ = go.with_labelset("ekman")
    ek = model.predict_batch(go.texts, get_labelset("ekman")).to_labelset(get_labelset("ekman"))
    out["ekman7_macro_f1"] = round(f1_score(np.asarray(ek_ds.categories) > 0, ek.decisions()), 4)
    eb = load_dataset("emobank", "test")
    vad = model.predict_vad(eb.texts, scale="1..5")
    rs = [float(np.corrcoef(vad[:, j], eb.vad[:, j])[0, 1]) for j in range(3)]
    out.update({"emobank_pearson_v": round(rs[0], 4), "emobank_pearson_a": round(rs[1], 4),
                "emobank_pearson_d": round(rs[2], 4)})
    out["machine"] = {"cpus": os.cpu_count(), "cpu": cpu_description(), "platform": platform.platform(),
                      "python": sys.version.split()[0], "threads": os.environ.get("AFFECTKIT_THREADS", "all")}
    print(f"{args.model}, English: GoEmotions-28 test macro-F1 {out['goemotions28_macro_f1']:.4f}; Ekman-7 "
          f"{out['ekman7_macro_f1']:.4f}; EmoBank test r V {rs[0]:.4f} A {rs[1]:.4f} D {rs[2]:.4f}; "
          f"{out['throughput_texts_per_s']:.1f} texts/s ({n_tp:,} GoEmotions test texts, one predict_batch call) "
          f"on {out['machine']['cpu']}")
    ok = out["armanemo"][args.model]["macro_f1"] >= ARMAN_TARGET
    print(f"ArmanEmo target macro-F1 >= {ARMAN_TARGET}: {'met' if ok else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    if args.card:
        write_card(model, args, out)


def write_card(model, args, out: dict) -> None:
    folder = getattr(model, "path", None)
    if folder is None:
        print("--card: the model has no folder", file=sys.stderr)
        return
    card = Path(folder) / "README.md"
    text = card.read_text()
    start, end = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
    a = out["armanemo"]
    rows = [(f"| ArmanEmo test macro-F1, zero-shot ({out['armanemo_test_rows']:,} Persian texts, argmax over 7 "
             f"classes) | {a[args.model]['macro_f1']:.4f} |"),
            f"| ArmanEmo test accuracy | {a[args.model]['accuracy']:.4f} |"]
    if args.contrast and args.contrast in a:
        rows.append(f"| ArmanEmo test macro-F1 of the English-only `{args.contrast}` model, for contrast "
                    f"({a[args.contrast]['route']}) | {a[args.contrast]['macro_f1']:.4f} |")
    rows += [f"| GoEmotions-28 test macro-F1 (calibrated decisions) | {out['goemotions28_macro_f1']:.4f} |",
             f"| Ekman-7 macro-F1 on GoEmotions test | {out['ekman7_macro_f1']:.4f} |",
             (f"| EmoBank test Pearson r, valence / arousal / dominance | {out['emobank_pearson_v']:.4f} / "
              f"{out['emobank_pearson_a']:.4f} / {out['emobank_pearson_d']:.4f} |"),
             f"| throughput, texts/s (2,000 GoEmotions test texts) | {out['throughput_texts_per_s']:.1f} |"]
    per = ", ".join(f"{k} {v:.2f}" for k, v in a[args.model]["per_label_f1"].items())
    section = (f"{start}\nMeasured with `python benchmarks/multilingual.py --card` on {out['machine']['cpu']} "
               f"({out['machine']['platform']}, Python {out['machine']['python']}), a machine shared with other "
               f"jobs (throughput is a lower bound).\n\n| metric | value |\n|---|---|\n" + "\n".join(rows) +
               f"\n\nArmanEmo per-class F1: {per}.\n{end}")
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n## Benchmark\n" + section + "\n"
    card.write_text(text)
    print(f"wrote the benchmark figures into {card}")


if __name__ == "__main__":
    main()
