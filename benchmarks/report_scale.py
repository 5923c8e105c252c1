"""Time and peak memory of ``affectkit report`` on a large analysed file. python benchmarks/report_scale.py
# 1,000,000 rows, Parquet, every section python benchmarks/report_scale.py --rows 200000 --format csv The
analysed file is synthesised by resampling the rows of the analysed GoEmotions test split (analysed once with
the default model, or pass --analysed FILE), with a group, a date, a conversation, a turn and a speaker column
added, so every section of the report runs. The report runs as a child process (started by a small launcher
process); its wall time and its peak RSS (the launcher's ``getrusage(RUSAGE_CHILDREN).ru_maxrss``) are
printed. Targets: <= 60 s and <= 1 GB.


"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def analysed_goemotions(folder: Path) -> pd.DataFrame:
    """The GoEmotions test split analysed with the default model (about 25 s on 2 cores)."""
    import affectkit
    from affectkit.datasets import data_dir

    raw = pd.read_csv(
        data_dir() / "goemotions" / "test.tsv",
        sep="\t",
        header=None,
        names=["text", "gold", "id"],
        quoting=3,
        keep_default_na=False,
    )
    frame = affectkit.analyze(raw, model="default", text_col="text")
    frame.to_parquet(folder / "goemotions_test.affect.parquet", index=False)
    return frame


def synthesise(source: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows resampled from ``source``, with group, date, conversation, turn and speaker columns."""
    rng = np.random.default_rng(seed)
    frame = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    frame["subreddit"] = np.char.add("r/topic", rng.integers(0, 25, rows).astype(str))
    start = np.datetime64("2023-01-01")
    frame["date"] = (start + rng.integers(0, 730, rows).astype("timedelta64[D]")).astype(str)
    frame["thread"] = np.arange(rows) // 8
    frame["turn"] = np.arange(rows) % 8
    frame["author"] = np.char.add("user", rng.integers(0, 40, rows).astype(str))
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--analysed", type=Path, help="an analysed file to resample (default: GoEmotions test)")
    parser.add_argument("--workdir", type=Path, help="where to write the synthesised file and the report")
    args = parser.parse_args()
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="affectkit-report-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.analysed:
        source = pd.read_parquet(args.analysed) if args.analysed.suffix == ".parquet" else pd.read_csv(args.analysed)
    else:
        cached = folder / "goemotions_test.affect.parquet"
        source = pd.read_parquet(cached) if cached.exists() else analysed_goemotions(folder)
    data = folder / f"synthetic_{args.rows}.affect.{args.format}"
    frame = synthesise(source, args.rows)
    if args.format == "parquet":
        frame.to_parquet(data, index=False)
    else:
        frame.to_csv(data, index=False)
    del frame
    print(f"input: {data} ({args.rows:,} rows, {data.stat().st_size / 1e6:,.0f} MB)")
    out = folder / "report.html"
    cmd = [
        sys.executable,
        "-m",
        "affectkit",
        "report",
        str(data),
        "-o",
        str(out),
        "--group-col",
        "subreddit",
        "--date-col",
        "date",
        "--conversation-col",
        "thread",
        "--order-col",
        "turn",
        "--speaker-col",
        "author",
    ]
    # through a small launcher: a child forked from this (large) process would count this process's resident
    # pages in its own peak (Linux keeps the pre-exec high-water mark in ru_maxrss)
    launcher = (
        "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", launcher, *cmd], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"report failed ({done.returncode}): {done.stderr[-2000:]}")
    lines = done.stderr.strip().splitlines()
    peak_mb = int(lines[-1]) / 1024
    print(lines[-2])
    print(
        f"report of {args.rows:,} rows ({args.format}): {seconds:.1f} s wall, peak RSS {peak_mb:,.0f} MB, "
        f"HTML {out.stat().st_size / 1e6:.1f} MB"
    )
    print(f"targets: <= 60 s {'met' if seconds <= 60 else 'MISSED'}, <= 1 GB {'met' if peak_mb <= 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
