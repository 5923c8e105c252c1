"""Do multi-label decisions transfer? The fallback rule of the transfer heads, left out one dataset at a time.

    python benchmarks/decision_rule.py                  # default
    python benchmarks/decision_rule.py --model fast --json runs/decision_rule_fast.json

A transfer head decides a label when its score passes the label's threshold; a text with no label over its
threshold then takes its most probable label when its no-emotion probability is below a level (``fallback_below``)
calibrated on the pooled dev rows of the training datasets (affectkit.training.transfer.calibrate_fallback). How
often "no emotion" is the right answer differs by domain (82% of DailyDialog's utterances, 0% of
GoodNewsEveryone's headlines), so this checks how the calibrated level does on domains it never saw, against every
fixed level and against the parameter-free rule "the top label when it is more probable than no emotion".

For each (test set, label set) pair the head is fit as in benchmarks/cross_domain.py (every "ship" dataset but the
test set, the model's recorded L2, prior power and prototype scale), the test split's gold is mapped onto the label set
(``transfer_targets``; gold = presence >= 0.5), and rows whose emotions map onto none of the set's labels are
left out (they are neither "no emotion" nor any label). Scores: example-based Jaccard (SemEval-2018 E-c's
multi-label accuracy; a row with no gold and no prediction counts 1) and macro-F1 over the labels present in the
gold; "empty" is the share of rows given no label.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from affectkit.labels import get_labelset
from affectkit.training.adapt import transfer_prompts, transfer_settings
from affectkit.training.calibration import f1_per_label
from affectkit.training.corpora import MAX_TEST_ROWS, MAX_TRAIN_ROWS, SHIP, SPLITS, load_split
from affectkit.training.transfer import (
    FALLBACK_GRID,
    TransferData,
    decide,
    fit_transfer_head,
    label_prototypes,
    predict_transfer,
    source_distribution,
    transfer_targets,
)

sys.path.insert(0, str(Path(__file__).parent))
from cross_domain import model_encoder  # noqa: E402

# the shipped multi-label sets (Plutchik-8 as in film subtitles, SemEval-2018 E-c's 11, ISEAR's 7) on test sets
# whose share of "no emotion" runs from 0% to 82%
PAIRS = (("meld", "plutchik"), ("dailydialog", "plutchik"), ("emorynlp", "plutchik"), ("meld", "semeval-ec"),
         ("brighter", "semeval-ec"), ("brighter", "plutchik"), ("gne", "isear"), ("gne", "semeval-ec"),
         ("premo", "semeval-ec"), ("smile", "semeval-ec"), ("smile", "plutchik"))


def top_unless_none(head, x: np.ndarray) -> np.ndarray:
    """Thresholds, then the most probable label for a text with none decided when it outweighs no emotion."""
    out = decide(head, x, None)
    dist, _, none = predict_transfer(head, x)
    rows = np.flatnonzero(~out.any(axis=1) & (dist.max(axis=1) > none))
    out[rows, dist[rows].argmax(axis=1)] = True
    return out


def scores(gold: np.ndarray, pred: np.ndarray) -> dict:
    inter, union = (gold & pred).sum(axis=1), (gold | pred).sum(axis=1)
    jaccard = float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())
    f1 = float(f1_per_label(gold, pred)[gold.any(axis=0)].mean())
    return {"jaccard": jaccard, "macro_f1": f1, "empty": float(1.0 - pred.any(axis=1).mean())}


def run(model_spec: str) -> dict:
    _, _, model = model_encoder(model_spec)
    if model is None:
        raise SystemExit("--model takes an affectkit model (default, fast, a folder)")
    from affectkit.training.adapt import model_embedder

    embed = model_embedder(model)
    pool = {n: (load_split(n, SPLITS[n][0], MAX_TRAIN_ROWS), load_split(n, SPLITS[n][1])) for n in SHIP}
    vectors = {n: (embed(tr.texts), embed(dv.texts)) for n, (tr, dv) in pool.items()}
    settings, prompts = transfer_settings(model.path), transfer_prompts(model.path)
    out: dict = {"model": model_spec, **settings, "prompts": list(prompts), "pairs": {}}
    for name, target in PAIRS:
        ds = load_split(name, SPLITS[name][2], MAX_TEST_ROWS)
        data = [TransferData(n, tr, vectors[n][0], dv, vectors[n][1]) for n, (tr, dv) in pool.items() if n != name]
        head = fit_transfer_head(target, data, prototypes=label_prototypes(embed, target, prompts), **settings)
        gold = transfer_targets(ds, get_labelset(target)).multi >= 0.5
        keep = (source_distribution(ds)[2] >= 0.5) | gold.any(axis=1)
        gold, x = gold[keep], embed(ds.texts)[keep]
        rules = {("never" if lv is None else "always" if lv > 1 else f"{lv:g}"): decide(head, x, lv)
                 for lv in FALLBACK_GRID}
        rules["calibrated"] = decide(head, x, head.fallback_below)
        rules["top unless none"] = top_unless_none(head, x)
        out["pairs"][f"{name}->{target}"] = {"rows": int(keep.sum()), "gold_empty": float(1 - gold.any(axis=1).mean()),
                                             "calibrated_level": head.fallback_below,
                                             "rules": {r: scores(gold, p) for r, p in rules.items()}}
        print(f"{name}->{target}: {int(keep.sum())} rows, calibrated level {head.fallback_below}", file=sys.stderr)
    return out


def print_table(res: dict) -> None:
    pairs = res["pairs"]
    rules = list(next(iter(pairs.values()))["rules"])
    print(f"{res['model']} (L2 {res['l2']:g}, prior power {res['prior_power']:g}, prototype scale "
          f"{res['prototype_scale']:g}); Jaccard / macro-F1 / empty\n")
    print("| pair | gold empty | calibrated level | " + " | ".join(rules) + " |")
    print("|---|---|---|" + "---|" * len(rules))
    for pair, r in pairs.items():
        cells = [f"{s['jaccard']:.3f} / {s['macro_f1']:.3f} / {s['empty']:.2f}" for s in r["rules"].values()]
        print(f"| {pair} | {r['gold_empty']:.2f} | {r['calibrated_level']} | " + " | ".join(cells) + " |")
    means = []
    for rule in rules:
        j = np.mean([r["rules"][rule]["jaccard"] for r in pairs.values()])
        f = np.mean([r["rules"][rule]["macro_f1"] for r in pairs.values()])
        means.append(f"{j:.3f} / {f:.3f}")
    print("| mean | | | " + " | ".join(means) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    res = run(args.model)
    print_table(res)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
