"""Domain adaptation learning curve: `affectkit adapt` with N labelled rows of a new domain, against zero-shot.

    python benchmarks/adapt_curve.py                    # default model; MELD, EmoryNLP, DailyDialog
    python benchmarks/adapt_curve.py --model fast --sizes 50 200 --json runs/adapt_fast.json

For each of three sets that no shipped model trained on (MELD and EmoryNLP: TV dialogue; DailyDialog: daily
conversation; all eval-only), N rows are drawn from its train split (DailyDialog: from the utterances outside the
fixed 5,000-row test sample) and the model gets a head over the set's own labels, exactly as `affectkit adapt` fits
it (80% of the N rows to train with the shipped datasets mapped onto the labels as a prior, 20% to calibrate).
Scored on the set's test split: macro-F1 of the argmax label. Each size is averaged over --seeds draws.

Zero-shot columns: `mapped` is the shipped model's own head mapped onto the set (what a user gets with
`--labels`), `transfer` the transfer head fit on the shipped datasets alone (N = 0), as the model's shipped heads are
(its L2 penalty, prior power and label prototypes). Adapted heads read their label names at the model's prototype
scale too, as `affectkit adapt` fits them (`--prototype-scale` to vary it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from affectkit.evaluation.metrics import f1_score, onehot
from affectkit.training.adapt import (
    fit_adapted_head,
    model_embedder,
    shipped_data,
    trained_labelsets,
    transfer_prompts,
    transfer_settings,
)
from affectkit.training.corpora import MAX_TEST_ROWS, SPLITS, load_split
from affectkit.training.transfer import fit_transfer_head, label_prototypes, predict_transfer

SETS = ("meld", "emorynlp", "dailydialog")


def macro_f1(ds, dist: np.ndarray) -> float:
    gold = np.asarray(ds.categories) > 0
    keep = gold.any(axis=1)
    return f1_score(gold[keep], onehot(dist[keep].argmax(axis=1), gold.shape[1]))


def pool_rows(name: str, test) -> object:
    """The rows adaptation may draw from: the train split, less any test row (DailyDialog's test is a sample of
    its train split)."""
    train = load_split(name, SPLITS[name][0])
    if SPLITS[name][0] == SPLITS[name][2]:
        test_texts = set(test.texts)
        train = train.subset(np.array([i for i, t in enumerate(train.texts) if t not in test_texts]))
    return train


def main() -> None:
    import affectkit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--sizes", nargs="+", type=int, default=[50, 100, 200, 500, 1000])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--prior-power", type=float, default=0.0,
                    help="logit adjustment of the adapted heads (prior from the user's held-out rows)")
    ap.add_argument("--prototype-scale", type=float, default=None,
                    help="label prototypes of the adapted heads (default: the model's transfer heads' scale, as "
                         "`affectkit adapt` fits them)")
    ap.add_argument("--json")
    args = ap.parse_args()
    model = affectkit.load(args.model)
    embed = model_embedder(model)
    shipped = shipped_data(embed)
    shipped_settings = transfer_settings(model.path)  # the zero-shot column: as the model's heads were fit
    l2 = shipped_settings["l2"]  # as `affectkit adapt` fits them: the model's own penalty and prototype scale
    scale = shipped_settings["prototype_scale"] if args.prototype_scale is None else args.prototype_scale
    prompts = transfer_prompts(model.path)
    results: dict = {"model": args.model, "l2": l2, "prior_power": args.prior_power, "prototype_scale": scale,
                     "sizes": args.sizes, "seeds": args.seeds, "sets": {}}
    for name in SETS:
        test = load_split(name, SPLITS[name][2], MAX_TEST_ROWS)
        ls = test.labelset
        xt = embed(test.texts)
        own = ls if ls.name in trained_labelsets(model.path) else model.labelset  # as shipped before transfer heads
        row: dict = {"mapped": macro_f1(test, model.predict_batch(test.texts, own).to_labelset(ls).dist)}
        zero = fit_transfer_head(ls, shipped, prototypes=label_prototypes(embed, ls, prompts),
                                 **shipped_settings)
        row["transfer"] = macro_f1(test, predict_transfer(zero, xt)[0])
        pool = pool_rows(name, test)
        for n in args.sizes:
            scores = []
            for seed in range(args.seeds):
                rows = np.sort(np.random.default_rng(1000 + seed).choice(len(pool), n, replace=False))
                head = fit_adapted_head(embed, pool.subset(rows), ls, shipped=shipped, seed=seed, l2=l2,
                                        prior_power=args.prior_power, prototype_scale=scale, prompts=prompts)
                scores.append(macro_f1(test, predict_transfer(head, xt)[0]))
            row[n] = float(np.mean(scores))
            print(f"{name} N={n}: {row[n]:.3f} (seeds {', '.join(f'{s:.3f}' for s in scores)})", file=sys.stderr)
        results["sets"][name] = row
    print(f"| set ({args.model}) | zero-shot mapped | zero-shot transfer | "
          + " | ".join(f"N = {n}" for n in args.sizes) + " | N = 200 minus mapped |")
    print("|---|---|---|" + "---|" * len(args.sizes) + "---|")
    for name, row in results["sets"].items():
        gain = f"{row[200] - row['mapped']:+.3f}" if 200 in row else "–"
        print(f"| {name} | {row['mapped']:.3f} | {row['transfer']:.3f} | "
              + " | ".join(f"{row[n]:.3f}" for n in args.sizes) + f" | {gain} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
