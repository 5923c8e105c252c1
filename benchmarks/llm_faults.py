"""``affectkit analyze --model llm:...`` against a fake OpenAI-compatible server that misbehaves (issue 18,
findings 12, 13, 14): one run per fault mode, each on the same 5 rows.

    PYTHONPATH=src python benchmarks/llm_faults.py            # about a minute

Modes: ``ok`` (a good reply, for reference), ``drip`` (the reply one byte every 2 s), ``hang`` (no answer at
all), ``huge`` (an 80 MB reply), ``out-of-range`` (valence 23.5 and arousal -2.5 on the 1..9 scale, intensity 3.0
on 0..1), ``unreachable`` (nothing listens on the port) and ``5xx`` (always HTTP 503). The server runs in this
process on 127.0.0.1; the job runs as a user runs it, in a subprocess, with ``timeout=3`` and one retry. The first
row goes alone (it learns which structured-output form the server takes), then the other 4 at once, so the job's
deadline is 2 waves x 2 attempts x 3 s, the backoffs, and 15 s to start Python. Printed per mode: the wall time
against that deadline, the exit status (non-zero when no row succeeded), the job's peak memory (VmHWM), the size
of its output, the first row's error and the job's LLM summary. Exits 1 if a mode overran its deadline or got an
unexpected exit status.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT, RETRIES, BACKOFF = 3.0, 1, 0.2
DEADLINE = 2 * ((RETRIES + 1) * TIMEOUT + 0.5) + 15.0  # 2 waves of attempts and backoff (<= 0.5 s), start-up
TEXTS = ["I love the gift you sent me", "This is so annoying", "What a calm evening", "I miss her so much",
         "The meeting is at noon"]
GOOD = {"emotions": [{"label": "joy", "score": 0.8}], "valence": 8, "arousal": 6, "dominance": 6, "intensity": 0.7,
        "evidence": [{"quote": "love", "emotion": "joy"}], "cause": "the gift", "explanation": "They love it."}


class FakeServer:
    """Just enough of ``POST /v1/chat/completions``; what it does is set by ``mode``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stop_event = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = server.mode
                if mode == "hang":
                    server.stop_event.wait(600)
                    return
                if mode == "5xx":
                    return self._send(503, json.dumps({"error": {"message": "overloaded"}}).encode())
                reply = dict(GOOD)
                if mode == "out-of-range":
                    reply.update(valence=23.5, arousal=-2.5, intensity=3.0)
                content = json.dumps(reply)
                if mode == "huge":
                    content = json.dumps({"emotions": "x" * 80_000_000})
                body = json.dumps({"id": "x", "object": "chat.completion", "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10}}).encode()
                if mode == "drip":
                    return self._drip(body)
                self._send(200, body)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 1 << 20):
                        self.wfile.write(body[i:i + (1 << 20)])
                except OSError:  # the client stopped reading
                    self.close_connection = True

            def _drip(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(len(body)):  # one byte every 2 s: no single read waits 3 s
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        if server.stop_event.wait(2.0):
                            return
                except OSError:
                    pass
                self.close_connection = True

        return Handler


def _hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(url: str, tmp: Path, mode: str) -> dict[str, Any]:
    src, out = tmp / "in.txt", tmp / f"out-{mode}.jsonl"
    src.write_text("\n".join(TEXTS) + "\n")
    spec = (f"llm:fake@{url}?timeout={TIMEOUT:g}&max_retries={RETRIES}&backoff={BACKOFF}&max_backoff=0.5"
            "&concurrency=5&breaker=0&disk_cache=false")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "AFFECTKIT_CACHE_DIR": str(tmp / "cache")}
    err_path = tmp / f"stderr-{mode}.txt"
    t0 = time.monotonic()
    peak = 0.0
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "affectkit", "analyze", str(src), "-o", str(out),
                                 "--labels", "ekman", "--model", spec], stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
        while proc.poll() is None:  # the child's own high-water mark (ru_maxrss would include this process's)
            peak = max(peak, _hwm_mb(proc.pid))
            time.sleep(0.05)
    wall = time.monotonic() - t0
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    stderr = err_path.read_text(errors="replace")
    summary = next((line.split(": ", 1)[1] for line in stderr.splitlines() if line.startswith("  llm:")), "")
    return {"wall": wall, "rc": proc.returncode, "rss_mb": peak, "rows": rows,
            "out_bytes": out.stat().st_size if out.exists() else 0, "summary": summary, "stderr": stderr}


def main() -> int:
    expected_rc = {"ok": 0, "drip": 1, "hang": 1, "huge": 1, "out-of-range": 0, "unreachable": 1, "5xx": 1}
    bad = 0
    print(f"each job: 5 rows, timeout={TIMEOUT:g} s per request (a deadline), {RETRIES} retry, the first row "
          f"alone, then 4 at once; deadline for the whole job {DEADLINE:g} s (start-up included)\n")
    print(f"{'mode':13s} {'wall s':>7s} {'exit':>4s} {'peak RSS':>9s} {'output':>9s}  first row")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for mode in expected_rc:
            if mode == "unreachable":
                r = run_job(f"http://127.0.0.1:{closed_port()}/v1", tmp, mode)
            else:
                with FakeServer(mode) as server:
                    r = run_job(server.url, tmp, mode)
            first = r["rows"][0] if r["rows"] else {}
            shown = first.get("error") or (f"ok: {first.get('emotion_1')}, valence {first.get('valence')}, "
                                           f"arousal {first.get('arousal')}, intensity {first.get('intensity')}, "
                                           f"notes {first.get('repairs')}")
            ok = r["wall"] <= DEADLINE and r["rc"] == expected_rc[mode] and len(r["rows"]) == len(TEXTS)
            bad += not ok
            print(f"{mode:13s} {r['wall']:7.1f} {r['rc']:4d} {r['rss_mb']:6.0f} MB {r['out_bytes'] / 1024:6.1f} KB  "
                  f"{str(shown)[:150]}{'' if ok else '   <-- NOT OK'}")
            if r["summary"]:
                print(f"{'':13s} summary: {r['summary']}")
            if not r["rows"]:
                print(r["stderr"][-2000:])
    print(f"\n{'every mode within its deadline, with the expected exit status' if not bad else f'{bad} mode(s) NOT OK'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
