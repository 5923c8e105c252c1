"""Does conversation context help? Macro-F1 with the previous turns against utterance-only prediction.

    python benchmarks/dialogue_context.py                      # default model, MELD and EmoryNLP test splits
    python benchmarks/dialogue_context.py --model fast --json runs/dialogue_context.json

MELD (7 classes, Ekman + neutral) and EmoryNLP (7 feeling-wheel classes) are evaluation-only data: nothing here was
fit or tuned on them. The shipped context default (``blend``, k = 3, beta = 0.25, decay = 0.5, speaker-blind;
:mod:`affectkit.context`) was fixed a priori; every other row is a sensitivity measurement on these test sets,
printed so that the choice can be checked, not used to make it. Predictions go through the ``eval`` path
(:func:`affectkit.evaluation.predict.plan_labels` and ``records_from_batch``; the label set of the shipped task),
and the prediction is the argmax, as the ``meld`` and ``emorynlp`` tasks score it.

The interval is a 95% percentile bootstrap of the paired difference (context minus utterance-only), resampling
whole conversations (1,000 resamples), since the turns of one conversation are not independent.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import affectkit
from affectkit.context import (
    Turns,
    blend,
    context_texts,
    context_weights,
    previous_turns,
)
from affectkit.evaluation.metrics import bootstrap_ci, f1_score, onehot
from affectkit.evaluation.predict import PredictionArrays, plan_labels, predict_dataset, records_from_batch
from affectkit.evaluation.task import load_task, task_data
from affectkit.schema import BatchPrediction

TASKS = {"meld": "meld-context", "emorynlp": "emorynlp-context"}
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("blend k=3 (shipped default, a priori)", {}),
    ("blend k=1", {"k": 1}),
    ("blend k=5", {"k": 5}),
    ("blend k=3, beta=0.5", {"beta": 0.5}),
    ("blend k=3, same speaker x2", {"same_speaker": 1.0, "other_speaker": 0.5}),
    ("blend k=3, other speaker x2", {"same_speaker": 0.5, "other_speaker": 1.0}),
    ("text k=1", {"method": "text", "k": 1}),
    ("text k=3", {"method": "text", "k": 3}),
]


def argmax_predictions(records: list[dict[str, Any]], labelset: Any) -> np.ndarray:
    dist = PredictionArrays.from_records(records, labelset).dist
    return np.where(np.isnan(dist).any(axis=1), -1, np.nan_to_num(dist, nan=-1.0).argmax(axis=1))


def predict_raw(analyzer: Any, texts: list[Any], plan: Any, batch_size: int = 256) -> BatchPrediction:
    return BatchPrediction.concat([analyzer.analyze_batch(texts[b : b + batch_size], plan.source)
                                   for b in range(0, len(texts), batch_size)])


def paired_difference(gold: np.ndarray, base: np.ndarray, other: np.ndarray, clusters: list[np.ndarray], k: int,
                      n_boot: int, seed: int) -> tuple[float, float, float]:
    """Macro-F1(other) - macro-F1(base) and its conversation-bootstrap 95% interval."""
    G, B, O = onehot(gold, k), onehot(base, k), onehot(other, k)

    def diff(rows: np.ndarray) -> float:
        return f1_score(G[rows], O[rows], "macro") - f1_score(G[rows], B[rows], "macro")

    def stat(idx: np.ndarray) -> float:
        return diff(np.concatenate([clusters[i] for i in idx]))

    lo, hi = bootstrap_ci(stat, len(clusters), n_boot, seed)
    return diff(np.arange(len(gold))), lo, hi


def run_dataset(analyzer: Any, name: str, n_boot: int, seed: int) -> dict[str, Any]:
    task = load_task(TASKS[name])
    data = task_data(task)
    ds = data.dataset
    base_ctx = task.context_options()
    assert base_ctx is not None
    plan = plan_labels(analyzer, task.labels, task.via)
    gold = ds.single_labels(task.options["aggregation"])
    keep = np.flatnonzero(gold >= 0)
    frame_cols = {c: list(ds.meta[c]) for c in base_ctx.columns}
    import pandas as pd

    from affectkit.context import turns_of

    turns: Turns = turns_of(pd.DataFrame(frame_cols), base_ctx)
    codes: dict[Any, list[int]] = {}
    for i in keep:
        codes.setdefault(turns.conversation[i], []).append(int(i))
    clusters = [np.searchsorted(keep, np.array(rows)) for rows in codes.values()]
    k = len(plan.output)
    t0 = time.time()
    raw = predict_raw(analyzer, list(ds.texts), plan)
    alone = argmax_predictions(records_from_batch(raw, plan), plan.output)
    seconds_alone = time.time() - t0
    usable = ~np.isnan(raw.dist).any(axis=1)
    rows = [{"variant": "utterance only", "macro_f1": f1_score(onehot(gold[keep], k), onehot(alone[keep], k))}]
    for label, change in VARIANTS:
        ctx = replace(base_ctx, **change)
        prev = previous_turns(turns.conversation, turns.order, ctx.k, usable)
        if ctx.method == "text":
            batch = predict_raw(analyzer, context_texts(list(ds.texts), prev, ctx.separator), plan)
        else:
            batch = blend(raw, prev, context_weights(prev, turns.speaker, ctx), ctx.beta)
        pred = argmax_predictions(records_from_batch(batch, plan), plan.output)
        if not change:  # the shipped default, also through the eval path itself: the same predictions
            via_eval = argmax_predictions(predict_dataset(analyzer, ds, plan, ctx, 256), plan.output)
            assert np.array_equal(via_eval, pred), "eval path and benchmark disagree"
            counts = {"gold": np.bincount(gold[keep], minlength=k).tolist(),
                      "utterance only": np.bincount(alone[alone >= 0], minlength=k).tolist(),
                      label: np.bincount(pred[pred >= 0], minlength=k).tolist()}
        diff, lo, hi = paired_difference(gold[keep], alone[keep], pred[keep], clusters, k, n_boot, seed)
        rows.append({"variant": label, "macro_f1": f1_score(onehot(gold[keep], k), onehot(pred[keep], k)),
                     "gain": diff, "ci": [lo, hi]})
    return {"dataset": name, "task": task.name, "labels": plan.output.name, "labels_order": list(plan.output.labels), "route": plan.describe()["route"],
            "rows": len(keep), "conversations": len(clusters), "seconds_utterance_only": seconds_alone,
            "results": rows, "predicted_counts": counts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--datasets", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    analyzer = affectkit.load(args.model, evidence=False)
    out = {"model": args.model, "affectkit": affectkit.__version__, "python": platform.python_version(),
           "bootstrap": {"resamples": args.n_boot, "seed": args.seed, "unit": "conversation"}, "datasets": []}
    for name in args.datasets:
        res = run_dataset(analyzer, name, args.n_boot, args.seed)
        out["datasets"].append(res)
        print(f"\n{name} test ({res['rows']:,} utterances, {res['conversations']} conversations), model "
              f"{args.model}, labels {res['labels']} (route {' -> '.join(res['route'])}), macro-F1:")
        print("| variant | macro-F1 | gain over utterance only [95% CI] |\n|---|---|---|")
        for r in res["results"]:
            gain = "" if "gain" not in r else f"{r['gain']:+.4f} [{r['ci'][0]:+.4f}, {r['ci'][1]:+.4f}]"
            print(f"| {r['variant']} | {r['macro_f1']:.4f} | {gain} |")
        print(f"rows per class ({', '.join(res['labels_order'])}):")
        for what, counts in res["predicted_counts"].items():
            print(f"  {what}: {counts}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
