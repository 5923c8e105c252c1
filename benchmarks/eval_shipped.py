"""Time `affectkit eval` over the shipped suite: wall-clock, prediction throughput and scoring overhead.

    python benchmarks/eval_shipped.py [--model default] [--out runs/bench-eval] [--bootstrap 1000]

Predictions are recomputed (no cache reuse) so that the throughput is the model's; the rest of the wall-clock is
data loading, scoring with bootstrap intervals and writing the leaderboards. Prints one summary line per
prediction set and a total. Figures are written down in docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import os
import time

from affectkit.evaluation import EvalOptions, evaluate, select_tasks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", default="runs/bench-eval")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--suite", default="shipped")
    args = ap.parse_args()
    tasks = select_tasks(suites=[args.suite])
    t0, c0 = time.time(), time.process_time()
    run = evaluate([args.model], tasks, args.out, EvalOptions(n_boot=args.bootstrap, resume=False, progress=False))
    wall, cpu = time.time() - t0, time.process_time() - c0
    predicted = [r for r in run.results if r.get("seconds")]
    texts = sum(r["n"] for r in predicted)
    seconds = sum(r["seconds"] for r in predicted)
    print(f"cpu cores visible: {os.cpu_count()}, load average at end: {os.getloadavg()[0]:.1f}")
    for r in predicted:
        print(f"  {r['task']:28s} {r['n']:6d} texts  {r['seconds']:7.1f} s  {r['texts_per_second']:7.1f} texts/s")
    print(f"{args.model}: {len(run.results)} model x task results, {texts} texts predicted in {seconds:.1f} s "
          f"({texts / seconds if seconds else 0:.0f} texts/s); wall-clock {wall:.1f} s, of which "
          f"{wall - seconds:.1f} s loading data, scoring ({args.bootstrap} bootstrap resamples) and writing reports; "
          f"process CPU time {cpu:.1f} s (a shared machine: compare CPU time with wall-clock)")


if __name__ == "__main__":
    main()
