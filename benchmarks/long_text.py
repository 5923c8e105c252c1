"""Time and peak memory of `affectkit analyze` on one long text, and how time grows with length.

    python benchmarks/long_text.py                                  # default and fast, 0.01 to 3 MB, + 250k words
    python benchmarks/long_text.py --models fast --sizes 0.1,1 --words 0

For each model and size, writes a one-row CSV whose text is built deterministically from a word list (the whole
words of the default model's tokenizer vocabulary, drawn with Zipf-like weights into sentences, seed 0; about 5
characters a word, like English prose; no dataset rows), runs `python -m affectkit analyze` on it in a child
process and prints the child's wall-clock seconds, the job's own seconds from its summary line (reading, analysis
and writing, after start-up and model load; 0.1 s steps), and the child's peak resident memory (getrusage of that
child). A one-word run shows the start-up. Then fits job time = c * size^k by least squares on log-log from 0.1
to 3 MB and prints k.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER = ROOT / "src" / "affectkit" / "pretrained" / "default" / "encoder" / "tokenizer.json"


def word_list() -> list[str]:
    """Whole words of the default tokenizer's vocabulary, in vocabulary order (roughly by frequency)."""
    vocab = json.loads(TOKENIZER.read_text())["model"]["vocab"]
    return [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if w.isalpha() and w.isascii() and len(w) > 1]


def make_text(n_chars: int | None = None, n_words: int | None = None, seed: int = 0) -> str:
    """Sentences of 6 to 24 words drawn with weights 1 / (rank + 3)^1.2, up to ``n_chars`` characters or
    ``n_words`` words."""
    words = word_list()
    weights = [1.0 / (r + 3) ** 1.2 for r in range(len(words))]
    rng = random.Random(seed)
    out: list[str] = []
    chars = count = 0
    while (n_chars is not None and chars < n_chars) or (n_words is not None and count < n_words):
        k = rng.randint(6, 24) if n_words is None else min(rng.randint(6, 24), n_words - count)
        s = rng.choices(words, weights, k=k)
        sentence = " ".join([s[0].capitalize(), *s[1:]]) + "."
        out.append(sentence)
        chars += len(sentence) + 1
        count += k
    text = " ".join(out)
    return text[:n_chars].rstrip() if n_chars is not None else text


def run_cli(csv_path: Path, model: str, out_dir: Path) -> tuple[float, float, float]:
    """(wall seconds, the job's own seconds, peak RSS in MB) of `affectkit analyze` on ``csv_path`` in a child
    process; the job's seconds are those its summary line reports (reading, analysis and writing, after the model
    is loaded)."""
    out = out_dir / f"{csv_path.stem}.{model}.out.csv"
    if out.exists():
        out.unlink()
    cmd = [sys.executable, "-m", "affectkit", "analyze", str(csv_path), "-o", str(out), "--model", model]
    log = out_dir / "analyze.log"
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "TQDM_DISABLE": "1"})
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {log.read_text()[-2000:]}")
    job = re.search(r"analyzed [\d,]+ rows in ([\d.]+)s", log.read_text())
    return seconds, float(job.group(1)) if job else float("nan"), usage.ru_maxrss / 1024


def fit_exponent(sizes: list[float], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(size)."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(t, 1e-3)) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def write_csv(path: Path, text: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerow([0, text])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="default,fast")
    ap.add_argument("--sizes", default="0.01,0.1,0.3,1,3", help="text sizes in MB (10^6 characters)")
    ap.add_argument("--words", type=int, default=250_000, help="also a text of this many words (0: none)")
    args = ap.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="affectkit-long-"))
    inputs: list[tuple[str, float, int, Path]] = []  # name, MB, words, CSV
    for mb in sizes:
        text = make_text(n_chars=int(mb * 1_000_000))
        inputs.append((f"{mb:g} MB", mb, len(text.split()), work / f"text-{mb:g}mb.csv"))
        write_csv(inputs[-1][3], text)
    if args.words:
        text = make_text(n_words=args.words)
        inputs.append((f"{args.words:,} words", len(text) / 1e6, args.words, work / f"text-{args.words}w.csv"))
        write_csv(inputs[-1][3], text)
    tiny = work / "one-word.csv"
    write_csv(tiny, "hello")
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start; inputs in {work}")
    print("| model | text | MB | words | command s | job s | peak RSS MB |\n|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        startup, job0, rss0 = run_cli(tiny, model, work)
        print(f"| {model} | one word (start-up, model load) | 0 | 1 | {startup:.2f} | {job0:.1f} | {rss0:.0f} |")
        fit_x, fit_y = [], []
        for name, mb, words, path in inputs:
            seconds, job, rss = run_cli(path, model, work)
            print(f"| {model} | {name} | {mb:.2f} | {words:,} | {seconds:.2f} | {job:.1f} | {rss:.0f} |", flush=True)
            if 0.1 <= mb <= 3 and name.endswith("MB"):
                fit_x.append(mb)
                fit_y.append(max(job, 0.05))  # the summary has 0.1 s steps
        if len(fit_x) >= 2:
            print(f"{model}: job time ~ size^{fit_exponent(fit_x, fit_y):.3f} from {min(fit_x):g} to {max(fit_x):g} MB")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
