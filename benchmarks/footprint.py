"""Peak memory of `affectkit analyze` on the GoEmotions test file, and where the memory goes.

    python benchmarks/footprint.py                        # default and fast on the 5,427 GoEmotions test texts
    python benchmarks/footprint.py --size-gb 1            # also a generated 1 GB CSV (texts sampled at run time)

For each model: runs `python -m affectkit analyze` in a child process on a CSV of the GoEmotions test texts
(written to a temporary folder at run time from the shared data folder, never stored in the repository) and
prints its wall-clock seconds, rows per second and peak resident memory (getrusage of that child), and whether
the child imported pandas (a CSV-to-CSV job should not: ``affectkit.tabular.table``). Then, in another child, the
resident memory after each stage of the same work: Python, numpy, the CLI modules, the model loaded, the first
batch of 1,024 texts, all texts; and, for comparison, pandas with the pyarrow it imports (what every job paid
before text jobs streamed their rows without it).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = r'''
import resource, sys
def rss(stage):
    now = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"| {sys.argv[1]} | {stage} | {now} | {peak} |", flush=True)
rss("Python")
import numpy
rss("+ numpy")
import affectkit.cli.analyze, affectkit.runner
rss("+ affectkit CLI modules")
import affectkit
from affectkit.threads import limit_blas_threads
limit_blas_threads()
model = affectkit.load(sys.argv[1])
rss("+ model loaded")
texts = [row["text"] for row in __import__("csv").DictReader(open(sys.argv[2], encoding="utf-8"))]
model.analyze_batch(texts[:1024])
rss("+ first 1,024 texts analysed")
for i in range(0, len(texts), 1024):
    model.analyze_batch(texts[i : i + 1024])
rss("+ all texts analysed")
import pandas
rss("(+ pandas and pyarrow, not imported by the job)")
'''


def run_analyze(src: Path, out: Path, model: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of `affectkit analyze src -o out --model model` in a child process."""
    if out.exists():
        out.unlink()
    cmd = [sys.executable, "-m", "affectkit", "analyze", str(src), "-o", str(out), "--model", model, "-q",
           "--no-resume"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return seconds, usage.ru_maxrss / 1024


def imports_pandas(src: Path, out: Path, model: str) -> bool:
    """Whether `affectkit analyze src -o out` imports pandas (``python -X importtime`` lists every import)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "affectkit", "analyze", str(src), "-o", str(out), "--model",
           model, "-q", "--no-resume"]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return any(line.rstrip().endswith("| pandas") for line in done.stderr.splitlines())


def goemotions_csv(path: Path) -> int:
    from affectkit.datasets import load_dataset

    texts = load_dataset("goemotions", "test").texts
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows(enumerate(texts))
    return len(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="default,fast")
    ap.add_argument("--size-gb", type=float, default=0.0, help="also a generated CSV of this size (0: none)")
    ap.add_argument("--no-stages", action="store_true", help="skip the stage-by-stage breakdown")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="affectkit-footprint-"))
    inputs = [("GoEmotions test", work / "goemotions_test.csv")]
    rows = {inputs[0][0]: goemotions_csv(inputs[0][1])}
    if args.size_gb:
        sys.path.insert(0, str(Path(__file__).parent))
        from bounded_memory import make_input

        name = f"{args.size_gb:g} GB generated"
        inputs.append((name, work / "large.csv"))
        rows[name] = make_input(inputs[-1][1], int(args.size_gb * 2**30))
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start")
    print("| model | input | rows | seconds | rows/s | peak RSS MB | pandas imported |\n|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        for name, path in inputs:
            seconds, peak = run_analyze(path, work / f"out.{model}.csv", model)
            pandas = imports_pandas(path, work / f"check.{model}.csv", model) if path == inputs[0][1] else "-"
            print(f"| {model} | {name} | {rows[name]:,} | {seconds:.1f} | {rows[name] / seconds:,.0f} | {peak:.0f} | "
                  f"{pandas} |", flush=True)
    if not args.no_stages:
        print("\n| model | stage | RSS MB | peak RSS MB |\n|---|---|---|---|", flush=True)
        for model in args.models.split(","):
            subprocess.run([sys.executable, "-c", STAGES, model, str(inputs[0][1])], check=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
