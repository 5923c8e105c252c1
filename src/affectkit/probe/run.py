"""``affectkit probe``: per-layer linear probes on an eval task, with controls, written as a table and a plot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from affectkit.evaluation.task import Task
from affectkit.probe.cache import StateCache, cache_key
from affectkit.probe.data import BagOfWords, Split, load_splits, probe_kind, shuffled
from affectkit.probe.extract import LayerStates, load_states_model
from affectkit.probe.linear import fit_probe, probe_metric, score_with_ci, standardize
from affectkit.probe.results import LayerScore

VARIANTS = ("probe", "control", "random-init", "bow")


@dataclass
class ProbeOptions:
    """How a probe run reads, extracts and scores (see ``affectkit probe --help``)."""

    pooling: str = "mean"
    limits: dict[str, int | None] = field(default_factory=lambda: {"train": 4000, "dev": 1000, "test": 2000})
    seed: int = 0
    n_boot: int = 1000
    chunk_size: int = 256
    batch_size: int = 32
    max_length: int = 128
    shuffled_control: bool = True
    bow: bool = True
    random_init: bool = False
    resume: bool = True
    gguf_file: str | None = None
    log: Callable[[str], None] | None = None


def _say(opts: ProbeOptions, message: str) -> None:
    if opts.log:
        opts.log(message)


def _fit_and_score(task: Task, model: str, variant: str, layer: int, kind: str, x: list[Any],
                   splits: dict[str, Split], opts: ProbeOptions) -> LayerScore:
    probe = fit_probe(kind, x[0], splits["train"].y, x[1], splits["dev"].y)
    score, lo, hi = score_with_ci(kind, splits["test"].y, probe.predict(x[2]), opts.n_boot, opts.seed)
    return LayerScore(task.name, model, variant, layer, probe_metric(kind)[0], score, lo, hi, probe.dev_score,
                      probe.penalty, len(splits["train"].texts), len(splits["dev"].texts), len(splits["test"].texts))


def extract_splits(states: LayerStates, splits: dict[str, Split], folder: Path,
                   opts: ProbeOptions) -> dict[str, StateCache]:
    """Fill (or resume) the on-disk state cache of every split."""
    caches = {}
    for name, split in splits.items():
        cache = StateCache(folder / name, states, split.texts, opts.pooling, opts.chunk_size)

        def progress(i: int, total: int, name: str = name) -> None:
            _say(opts, f"  {states.name}: {name} chunk {i}/{total}")

        n = cache.fill(opts.resume, progress)
        if n < cache.n_chunks:
            _say(opts, f"  {states.name}: {name}: {cache.n_chunks - n} of {cache.n_chunks} chunks from the cache")
        caches[name] = cache
    return caches


def probe_model(task: Task, states: LayerStates, variant: str, splits: dict[str, Split],
                control: dict[str, Split] | None, folder: Path, opts: ProbeOptions) -> list[LayerScore]:
    """Extract the states of every split, then fit, select and score a probe per layer (and the shuffled-label
    control on the same states). Memory: one layer of the three splits at a time."""
    kind = probe_kind(task)
    caches = extract_splits(states, splits, folder, opts)
    rows = []
    for layer in range(caches["train"].n_layers):
        x = standardize(*(caches[s].layer(layer) for s in ("train", "dev", "test")))
        rows.append(_fit_and_score(task, states.name, variant, layer, kind, x, splits, opts))
        if control is not None:
            rows.append(_fit_and_score(task, states.name, "control", layer, kind, x, control, opts))
        _say(opts, f"  {task.name} {states.name} layer {layer}: {rows[-1 - (control is not None)].score:.4f}")
    return rows


def bow_baseline(task: Task, splits: dict[str, Split], opts: ProbeOptions) -> LayerScore:
    """The same probe on binary bag-of-words features of the same rows."""
    bow = BagOfWords(splits["train"].texts)
    x = [bow(splits[s].texts) for s in ("train", "dev", "test")]
    return _fit_and_score(task, "bag of words", "bow", -1, probe_kind(task), x, splits, opts)


def run_probe(model: str, tasks: list[Task], output: str | Path, opts: ProbeOptions) -> list[LayerScore]:
    """Probe every layer of ``model`` on each task; write ``results.json``, ``probe.csv``, ``probe.md`` and
    ``probe_<task>.png`` under ``output`` (the state cache goes to ``output/cache``)."""
    from affectkit.probe.report import plot_task, write_reports

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    variants: list[tuple[str, LayerStates]] = [("probe", load_states_model(
        model, max_length=opts.max_length, batch_size=opts.batch_size, gguf_file=opts.gguf_file))]
    if opts.random_init:
        variants.append(("random-init", load_states_model(model, random_init=True, seed=opts.seed,
                                                          max_length=opts.max_length, batch_size=opts.batch_size,
                                                          gguf_file=opts.gguf_file)))
    rows: list[LayerScore] = []
    for task in tasks:
        splits = load_splits(task, opts.limits, opts.seed)
        _say(opts, f"{task.name}: {', '.join(f'{k} {len(v.texts)}' for k, v in splits.items())} rows")
        control = shuffled(splits, opts.seed + 1) if opts.shuffled_control else None
        for variant, states in variants:
            folder = output / "cache" / cache_key(states.identity, opts.pooling) / task.name
            rows += probe_model(task, states, variant, splits, control if variant == "probe" else None, folder, opts)
        if opts.bow:
            rows.append(bow_baseline(task, splits, opts))
        plot_task([r for r in rows if r.task == task.name], output / f"probe_{task.name}.png")
    meta = {"model": model, "options": {k: v for k, v in asdict(opts).items() if k != "log"},
            "tasks": [t.name for t in tasks]}
    write_reports(rows, output, meta)
    return rows
