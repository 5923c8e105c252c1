"""Throughput of ``affectkit analyze`` on the local engine and on Ray with 1 and 2 workers, on this machine.

    python benchmarks/ray_scaling.py                      # 20,000 texts, 8 Parquet partitions, model default
    python benchmarks/ray_scaling.py --rows 50000 --model fast

The input is built at run time by sampling sentences from GoEmotions (read from the shared data folder;
nothing is written into the repository) and written as Parquet partitions in a temporary folder. Each engine
runs the same CLI command in a fresh process and is timed from the outside (wall clock, including Python
start, model loading and, for Ray, starting a local Ray):

- ``local``         ``--engine local``, onnxruntime on every core of the machine;
- ``local 1 thread``  the same with ``AFFECTKIT_THREADS=1 OMP_NUM_THREADS=1`` (what one Ray worker gets);
- ``ray 1 worker`` / ``ray 2 workers``  ``--engine ray --workers N`` (1 CPU and 1 thread per worker).

Each run's start-up (launch to its first partition: Python, the driver's model load, starting Ray and the
workers) is reported apart from its steady state (each worker's rows over its busy seconds, summed over the
workers), from the manifest's per-partition records; the target is 2 workers >= 1.8x one worker in steady
state. Any line a ``-q`` run prints to stderr is reported (a normal run prints none).

It prints one table, the ratios between the engines, whether the Ray results equal the local ones, a breakdown
of one core's time (reading, tokenising, the model, building the output table, writing) and the cost of 100
million posts derived from the measured per-core rate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE  # noqa: E402
from affectkit.datasets import data_dir  # noqa: E402

POSTS = 100_000_000


def sample_texts(n: int, seed: int) -> list[str]:
    path = data_dir() / "goemotions" / "train.tsv"
    if not path.exists():
        sys.exit(f"needs {path} (set AFFECTKIT_DATA to the shared data folder)")
    texts = [line.split("\t", 1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.integers(0, len(texts), n)]


def write_partitions(texts: list[str], n_parts: int, root: Path) -> None:
    root.mkdir(parents=True)
    for k, idx in enumerate(np.array_split(np.arange(len(texts)), n_parts)):
        pd.DataFrame({"id": idx, "text": [texts[i] for i in idx]}).to_parquet(root / f"part-{k:03d}.parquet")


def run_engine(name: str, args: list[str], env: dict[str, str]) -> dict:
    """Run one engine's command; its wall time, and from its manifest the start-up (launch to the first
    partition's start: Python, the driver's model load, Ray and the workers) and the steady state (each worker's
    rows over its busy time, summed over the workers: the rate once every worker is up)."""
    cmd = [sys.executable, "-m", "affectkit", *args, "-q"]
    launched, t0 = time.time(), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{name} failed ({done.returncode}):\n{done.stderr}")
    out = Path(args[args.index("-o") + 1])
    manifest = json.loads((out / "_manifest.json").read_text())
    parts = manifest["partitions"]
    per_worker: dict[str, list[float]] = {}
    for r in parts:
        rows_busy = per_worker.setdefault(r["worker"], [0.0, 0.0])
        rows_busy[0] += r["rows"]
        rows_busy[1] += r["seconds"]
    first = min(r["started"] for r in parts)
    last = max(r["started"] + r["seconds"] for r in parts)
    return {"name": name, "wall": wall, "rows": manifest["rows"], "out": out,
            "busy": sum(r["seconds"] for r in parts), "cpu": sum(r["cpu_seconds"] for r in parts),
            "startup": first - launched, "window": last - first,
            "steady": sum(rows / busy for rows, busy in per_worker.values() if busy > 0),
            "stray_lines": [line for line in done.stderr.splitlines() if line.strip()]}


def read_results(out: Path) -> pd.DataFrame:
    manifest = json.loads((out / "_manifest.json").read_text())
    return pd.concat([pd.read_parquet(out / r["part"]) for r in manifest["partitions"]], ignore_index=True)


def breakdown(inp: Path, model: str, rows: int, batch_size: int) -> list[tuple[str, float]]:
    """CPU seconds per stage for the first ``rows`` rows of the input, in this process (run it with one thread:
    CPU time is then one core's time, whatever else the machine is doing)."""
    import affectkit
    from affectkit.runner import AnalyzeOptions, analyze_frame
    from affectkit.tabular import read_chunks, write_frame

    analyzer = affectkit.load(model)
    t = time.process_time()
    frames = []
    for f in sorted(inp.glob("*.parquet")):
        frames += [c.frame for c in read_chunks(f, chunk_size=4096, text_col="text")]
    read = (time.process_time() - t) * rows / sum(len(f) for f in frames)
    frame = pd.concat(frames, ignore_index=True).iloc[:rows]
    texts = list(frame["text"])
    tokenize = 0.0
    tokenizer = getattr(getattr(analyzer, "encoder", None), "tokenizer", None)
    if tokenizer is not None:
        t = time.process_time()
        for b in range(0, rows, batch_size):
            tokenizer.encode_batch(texts[b : b + batch_size], add_special_tokens=False)
        tokenize = time.process_time() - t
    predict = 0.0
    inner = analyzer.analyze_batch

    def timed(*args, **kwargs):  # the model's share of analyze_frame, measured inside the same call
        nonlocal predict
        t0 = time.process_time()
        out = inner(*args, **kwargs)
        predict += time.process_time() - t0
        return out

    analyzer.analyze_batch = timed  # type: ignore[method-assign]
    t = time.process_time()
    result = analyze_frame(frame, analyzer, AnalyzeOptions(batch_size=batch_size))
    table = time.process_time() - t - predict
    with tempfile.TemporaryDirectory() as tmp:
        t = time.process_time()
        write_frame(result, Path(tmp) / "out.parquet")
        write = time.process_time() - t
    return [("read Parquet", read), ("tokenise", tokenize), ("model (encoder + heads + evidence)", predict - tokenize),
            ("output table (analyze_frame minus model)", table), ("write Parquet", write)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--model", default="default")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--breakdown-rows", type=int, default=4_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--breakdown-of", type=Path, help=argparse.SUPPRESS)  # internal: one-thread breakdown run
    a = ap.parse_args()
    if a.breakdown_of:
        print(json.dumps(breakdown(a.breakdown_of, a.model, a.breakdown_rows, a.batch_size)))
        return

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    for var in ("AFFECTKIT_THREADS", "OMP_NUM_THREADS", "RAY_ADDRESS"):
        env.pop(var, None)
    with tempfile.TemporaryDirectory(prefix="ak-bench-") as tmp:
        inp = Path(tmp) / "in"
        write_partitions(sample_texts(a.rows, a.seed), a.partitions, inp)
        one_thread = {**env, "AFFECTKIT_THREADS": "1", "OMP_NUM_THREADS": "1"}
        common = ["analyze", str(inp), "-m", a.model, "--batch-size", str(a.batch_size)]
        runs = [
            run_engine("local", [*common, "-o", f"{tmp}/local/"], env),
            run_engine("local 1 thread", [*common, "-o", f"{tmp}/local1/"], one_thread),
            run_engine("ray 1 worker", [*common, "-o", f"{tmp}/ray1/", "--engine", "ray", "--workers", "1"], env),
            run_engine("ray 2 workers", [*common, "-o", f"{tmp}/ray2/", "--engine", "ray", "--workers", "2"], env),
        ]
        reference = read_results(runs[1]["out"])
        same = {r["name"]: read_results(r["out"]).equals(reference) for r in runs}
        n = min(a.breakdown_rows, a.rows)
        done = subprocess.run([sys.executable, __file__, "--breakdown-of", str(inp), "--model", a.model,
                               "--breakdown-rows", str(n), "--batch-size", str(a.batch_size)], env=one_thread,
                              capture_output=True, text=True, check=True)
        stages = json.loads(done.stdout.strip().splitlines()[-1])

    cpus = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"\naffectkit analyze, model {a.model!r}: {a.rows:,} GoEmotions sentences in {a.partitions} Parquet "
          f"partitions; {cpus} CPU cores, load average {load:.1f} at the end\n")
    print(f"{'engine':<16} {'wall s':>7} {'rows/s':>8} {'start-up s':>10} {'steady rows/s':>13} {'window rows/s':>13} "
          f"{'rows/core-s':>11} {'cores used':>10}  identical to local 1 thread")
    for r in runs:
        print(f"{r['name']:<16} {r['wall']:>7.1f} {r['rows'] / r['wall']:>8.1f} {r['startup']:>10.1f} "
              f"{r['steady']:>13.1f} {r['rows'] / r['window']:>13.1f} {r['rows'] / r['cpu']:>11.1f} "
              f"{r['cpu'] / r['window']:>10.2f}  "
              f"{'yes' if same[r['name']] else 'no'}")
    by = {r["name"]: r for r in runs}
    one, two = by["ray 1 worker"], by["ray 2 workers"]
    steady = two["steady"] / one["steady"]
    print(f"\nray 2 workers / ray 1 worker: steady state {steady:.2f}x (target >= 1.8x: "
          f"{'met' if steady >= 1.8 else 'NOT met'}); partition window {one['window'] / two['window']:.2f}x; "
          f"wall clock, start-up included, {one['wall'] / two['wall']:.2f}x")
    print(f"ray 1 worker / local 1 thread, steady state: {one['steady'] / by['local 1 thread']['steady']:.2f}; "
          f"ray 2 workers / local (all cores), steady state: {two['steady'] / by['local']['steady']:.2f}")
    print("start-up s: from launching the command to its first partition (Python, the driver's model load, and for "
          "Ray: starting it and the workers, each loading the model); steady rows/s: each worker's rows over its "
          "busy seconds, summed over the workers; window rows/s: rows over first partition start to last end; "
          "rows/core-s: rows per CPU second of the worker processes (independent of other load on the machine); "
          "cores used: the workers' CPU seconds over the window (what the machine gave them)")
    efficiency = (two["rows"] / two["cpu"]) / (one["rows"] / one["cpu"])
    print(f"per-core efficiency, 2 workers / 1 worker: {efficiency:.2f} (rows/core-s): 2 workers on 2 free cores "
          f"would give about {2 * efficiency:.2f}x one worker; the steady-state ratio above is what this machine "
          f"gave ({two['cpu'] / two['window']:.2f} vs {one['cpu'] / one['window']:.2f} cores used)")
    stray = {r["name"]: r["stray_lines"] for r in runs if r["stray_lines"]}
    print("stderr of the runs (-q): " + ("nothing" if not stray else "; ".join(
        f"{name}: {len(lines)} line(s), first: {lines[0][:160]}" for name, lines in stray.items())))
    print(f"(load average {load:.1f} on {cpus} cores at the end: with other jobs running, steady rates are lower "
          "and 2 workers cannot get 2 cores)")

    total = sum(secs for _, secs in stages)
    print(f"\none core, {n:,} rows, CPU time (AFFECTKIT_THREADS=1 OMP_NUM_THREADS=1): {n / total:,.1f} rows per "
          "core-second end to end")
    for name, secs in stages:
        rate = f"{n / secs:>10,.0f}" if secs > 0 else f"{'-':>10}"
        print(f"  {name:<42} {secs:>7.2f} s  {rate} rows/s  {100 * secs / total:>5.1f} %")

    per_core = runs[2]["rows"] / runs[2]["cpu"]  # one Ray worker = one core, one thread
    core_hours = POSTS / per_core / 3600
    print(f"\ncost of {POSTS:,} posts at {per_core:,.1f} texts per core-second (ray 1 worker): "
          f"{core_hours:,.1f} core-hours")
    for cores in (64, 256, 1024):
        hours = core_hours / cores
        print(f"  on {cores:>5} cores: " + (f"{hours:,.1f} h" if hours >= 1 else f"{60 * hours:,.1f} min"))


if __name__ == "__main__":
    main()
