"""Peak memory of `affectkit analyze` on a large CSV: streaming keeps memory bounded by the chunk size.

    python benchmarks/bounded_memory.py --size-gb 1 --model fast
    python benchmarks/bounded_memory.py --size-gb 1 --model default --max-seconds 600   # stops after 10 min

Writes a CSV of the requested size (texts sampled from the GoEmotions train split at run time, read from the
shared data folder, never stored in the repository) to a temporary folder, runs the CLI on it in a subprocess,
samples the child's resident memory every 0.5 s, and prints the peak and the RSS after each tenth of the input.
With --max-seconds the job is stopped part-way (and is resumable); memory is what is measured.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_mb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def make_input(path: Path, size_bytes: int, seed: int = 0) -> int:
    from affectkit.datasets import load_dataset

    texts = load_dataset("goemotions", "train").texts
    rng = random.Random(seed)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        while f.tell() < size_bytes:
            for _ in range(10_000):
                w.writerow([rows, rng.choice(texts)])
                rows += 1
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--model", default="fast")
    ap.add_argument("--max-seconds", type=float, default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="affectkit-mem-"))
    src = work / "input.csv"
    if not src.exists() or src.stat().st_size < args.size_gb * 2**30 * 0.99:
        t = time.time()
        rows = make_input(src, int(args.size_gb * 2**30))
        print(f"wrote {src} ({src.stat().st_size / 2**30:.2f} GiB, {rows:,} rows) in {time.time() - t:.0f}s")
    out = work / "output.csv"
    cmd = [sys.executable, "-m", "affectkit", "analyze", str(src), "-o", str(out), "--model", args.model, "-q",
           "--no-distribution"]
    t0 = time.time()
    proc = subprocess.Popen(cmd)
    peak, samples = 0.0, []
    while proc.poll() is None:
        r = rss_mb(proc.pid)
        peak = max(peak, r)
        samples.append((time.time() - t0, r))
        if args.max_seconds and time.time() - t0 > args.max_seconds:
            proc.terminate()
            proc.wait()
            break
        time.sleep(0.5)
    elapsed = time.time() - t0
    parts = out.with_name(out.name + ".affectkit-parts")
    done = "finished" if out.exists() else f"stopped after {elapsed:.0f}s ({len(list(parts.glob('part-*')))} chunks done)"
    print(f"model {args.model}: {done}; input {src.stat().st_size / 2**30:.2f} GiB; wall {elapsed:.0f}s; "
          f"peak RSS {peak:.0f} MB")
    if samples:
        step = max(1, len(samples) // 10)
        print("RSS over time (s, MB): " + ", ".join(f"{t:.0f}:{r:.0f}" for t, r in samples[::step]))


if __name__ == "__main__":
    main()
