"""Bounded load test of ``affectkit serve`` on localhost, against offline batch throughput in the same run.

    PYTHONPATH=src python benchmarks/serve_load.py                     # open loop, model default, ~3 minutes
    PYTHONPATH=src python benchmarks/serve_load.py --processes 2       # a server of 2 worker processes
    PYTHONPATH=src python benchmarks/serve_load.py --mode closed       # 50 clients x 60 s back to back
    PYTHONPATH=src python benchmarks/serve_load.py --mode closed --texts-per-request 1,32   # then 32 texts each

Open loop (``--mode open``, the default): after the offline measurement, one server is started; its maximum
rate is measured with a closed loop of ``--max-clients`` clients (200: with fewer, the batches of a server of
several processes stay small and the rate is not the maximum) for ``--max-seconds`` (after ``--max-warmup``);
then requests of single short texts arrive as a Poisson process at ``--fractions`` (25%, 50%, 75%) of that
rate for ``--open-seconds`` (30, 60, 30 s; each after ``--open-warmup`` s that are sent but not counted), and
each request's latency runs from its *scheduled* send time, so queueing is not hidden by the client slowing
down (coordinated omission; see ``open_loop.py``). It prints p50 / p99 / p99.9 / max, errors (non-200 answers,
connection errors, no answer within ``--timeout``), the server's CPU per request, and the targets: p99 <= 50 ms
and no errors at 50%, maximum single-text rate >= 0.60 x offline.

Closed loop (``--mode closed``):
1. offline: ``analyzer.analyze_batch`` on the same texts, ``--offline-batch`` texts per call (1,024, the CLI
   default), for ``--offline-seconds``; measured before and after the load (the machine may be shared, so the
   ratio uses the mean of the two);
2. starts the server in its own process (``affectkit serve``, no rate limit, no access log) and waits for
   ``/healthz``;
3. ``--clients`` concurrent clients, each on one keep-alive connection, send single short texts (or
   ``--texts-per-request`` texts in each request) to ``POST /v1/analyze`` back to back (a closed loop;
   ``--think-ms`` adds a pause between a client's requests) for ``--duration`` seconds after ``--warmup`` seconds;
4. prints throughput, latency percentiles, status counts, the server's mean batch size (from /metrics), the
   service/offline throughput ratio, and the targets (p99 <= 100 ms, ratio >= 0.70). On a busy machine it
   also helps to compare CPU per text (offline process vs server process, all threads), which depends much
   less on what else runs.

The clients are a minimal HTTP/1.1 loop over asyncio streams with prebuilt requests, not a general HTTP
client: at hundreds of requests per second a general client (httpx) costs about a millisecond of CPU per
request, which on a 2-core machine takes CPU from the server it measures. The client's own CPU use is printed.
Latency is measured from writing the request to reading the whole response.

Little's law bounds what a closed loop can show: with C clients and no think time, mean latency = C /
throughput, so p99 <= 100 ms at 50 clients needs more than 500 texts/s from the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE
from affectkit.threads import cpu_description

sys.path.insert(0, str(Path(__file__).resolve().parent))
from open_loop import read_response, run_open_loop

# Short, varied, invented texts (no dataset rows), 3-20 words like typical posts and reviews.
TEXTS = [
    "I can't believe you did this for me, thank you!",
    "This is so annoying, I have been waiting for an hour.",
    "What a lovely day at the beach with the kids.",
    "I'm scared of what the doctor will say tomorrow.",
    "Honestly, I don't care anymore.",
    "Why would anyone think that was a good idea?",
    "We won the final! Best night ever!",
    "I miss my grandmother so much.",
    "The package arrived broken again. Unacceptable.",
    "Not sure how I feel about the new update.",
    "That joke made me laugh so hard I cried.",
    "I'm really proud of how far you've come.",
    "Ugh, the train is late again.",
    "Thanks for the help, it really saved my afternoon.",
    "I feel so alone in this city.",
    "Wow, I did not expect that ending at all!",
    "Please stop sending me these emails.",
    "I'm nervous about the interview on Monday.",
    "The food was fine, nothing special.",
    "You always know how to cheer me up.",
    "I regret saying those things to him.",
    "This place is disgusting, never coming back.",
    "Can't wait to see you next week!",
    "It's okay, these things happen.",
    "I'm so sorry for your loss.",
    "They finally fixed the bug, what a relief.",
    "Meh.",
    "How does this even work?",
    "I love the colours in this painting.",
    "Stop. Just stop.",
    "The meeting was moved to Thursday.",
    "Hope you feel better soon!",
]


def offline_throughput(model: str, texts: list[str], batch: int, seconds: float) -> tuple[float, float]:
    """Texts per second of ``analyze_batch`` on ``batch``-text batches for about ``seconds``, and the CPU
    milliseconds (all threads) each text took."""
    import affectkit

    analyzer = affectkit.load(model)
    pool = [texts[i % len(texts)] for i in range(batch)]
    analyzer.analyze_batch(pool[:8])  # warm up the session
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        analyzer.analyze_batch(pool)
        n += len(pool)
        if time.perf_counter() - t0 >= seconds:
            return n / (time.perf_counter() - t0), 1000 * (time.process_time() - c0) / n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *options: str, log: Path | None = None) -> subprocess.Popen:
    """``affectkit serve`` on 127.0.0.1:``port`` in its own process (output to ``log``), once it answers
    /healthz."""
    cmd = [sys.executable, "-m", "affectkit", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-page",
           *options]
    log = log or Path(tempfile.gettempdir()) / f"affectkit-serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    print(f"server: pid {proc.pid}, log {log}", flush=True)
                    return proc
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("server did not answer /healthz within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def build_requests(host: str, port: int, texts: list[str], per_request: int = 1,
                   path: str = "/v1/analyze") -> list[bytes]:
    """Prebuilt HTTP/1.1 requests: one text each (``{"text": ...}``), or ``per_request`` texts each."""
    out = []
    for i, t in enumerate(texts):
        payload = {"text": t} if per_request == 1 else {
            "texts": [texts[(i + j) % len(texts)] for j in range(per_request)]}
        body = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        out.append(head + body)
    return out


async def client(host: str, port: int, requests: list[bytes], start: int, warm_until: float, stop_at: float,
                 think: float, latencies: list[float], statuses: Counter, answered: list[int]) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while (now := loop.time()) < stop_at:
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                status = await read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                statuses["connection error"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            answered[0] += 1
            if now >= warm_until:
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1
            if think:
                await asyncio.sleep(think)
    finally:
        writer.close()


async def load(host: str, port: int, clients: int, warmup: float, duration: float, think_ms: float,
               texts: list[str], per_request: int = 1) -> tuple[list[float], Counter, int]:
    """Closed loop: ``clients`` connections sending back to back; latencies and statuses after the warm-up, and
    the responses of the whole run (warm-up included, for CPU per text)."""
    requests = build_requests(host, port, texts, per_request)
    latencies: list[float] = []
    statuses: Counter = Counter()
    answered = [0]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    warm_until, stop_at = t0 + warmup, t0 + warmup + duration
    await asyncio.gather(*(client(host, port, requests, c * 7, warm_until, stop_at, think_ms / 1000, latencies,
                                  statuses, answered) for c in range(clients)))
    return latencies, statuses, answered[0]


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the worker processes of ``affectkit serve --processes N``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of a server (its process and any worker processes), split into main threads (the
    event loops: HTTP, validation, formatting) and all other threads (model workers, onnxruntime, tokenizers),
    from Linux /proc."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for proc in _descendants(pid):
        try:
            tasks = list(Path(f"/proc/{proc}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kind = "event loop" if task.name == str(proc) else "model threads"
            out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for name in ("affectkit_batch_texts_sum", "affectkit_batch_texts_count", "affectkit_batch_requests_sum",
                 "affectkit_batch_duration_seconds_sum"):
        m = re.search(rf"^{name}{{[^}}]*}} ([0-9.e+-]+)$", text, re.MULTILINE)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def start_loaded_server(args, workers: int, max_batch: int, max_wait: float) -> tuple[subprocess.Popen, int]:
    """``affectkit serve`` for a load test: no rate limit, no access log, room for the open loop's connections."""
    port = free_port()
    server = start_server(port, "--model", args.model, "--rate", "0", "--no-access-log", "--log-level", "warning",
                          "--max-batch-size", str(max_batch), "--max-wait-ms", str(max_wait),
                          *(["--workers", str(workers)] if workers else []), "--threads", str(args.threads),
                          "--processes", str(args.processes), "--max-connections-per-client", "1024")
    return server, port


def closed_loop(args, server: subprocess.Popen, port: int, clients: int, warmup: float, duration: float,
                per_request: int = 1) -> dict:
    """A closed loop against a running server: throughput, latency, its metrics and CPU."""
    cpu0, server0 = time.process_time(), thread_cpu(server.pid)
    latencies, statuses, answered = asyncio.run(load("127.0.0.1", port, clients, warmup, duration, args.think_ms,
                                                     TEXTS, per_request))
    client_cpu = time.process_time() - cpu0
    server1 = thread_cpu(server.pid)
    stats = scrape(port)
    lat = np.array(latencies) * 1000
    ok = statuses.get(200, 0)
    p50, p95, p99 = (float(np.percentile(lat, q)) if len(lat) else float("nan") for q in (50, 95, 99))
    batches = stats["affectkit_batch_texts_count"] or 1
    cpu = {k: server1[k] - server0.get(k, 0.0) for k in server1}
    return {
        "requests_ok": ok, "statuses": {str(k): v for k, v in statuses.items()},
        "texts_per_request": per_request, "requests_per_s": ok / duration,
        "throughput_texts_per_s": ok * per_request / duration, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
        "max_ms": float(lat.max()) if len(lat) else float("nan"),
        # from one worker process's /metrics when the server runs several
        "mean_batch_texts": stats["affectkit_batch_texts_sum"] / batches,
        "mean_batch_requests": stats["affectkit_batch_requests_sum"] / batches,
        "model_busy": stats["affectkit_batch_duration_seconds_sum"] / (duration + warmup),
        "server_cpu_s": cpu, "server_cpu_ms_per_text": 1000 * sum(cpu.values()) / max(1, answered * per_request),
        "client_cpu_s": client_cpu, "load_average_end": os.getloadavg()[0],
    }


def measure(args, workers: int, max_batch: int, max_wait: float, per_request: int = 1) -> dict:
    """One server configuration under load: start it, load it, read its metrics and CPU, stop it."""
    server, port = start_loaded_server(args, workers, max_batch, max_wait)
    try:
        f = closed_loop(args, server, port, args.clients, args.warmup, args.duration, per_request)
    finally:
        stop_server(server)
    return {"workers": workers, "max_batch_size": max_batch, "max_wait_ms": max_wait, **f}


def report(f: dict, args, offline: float) -> None:
    f["service_over_offline"] = f["throughput_texts_per_s"] / offline if offline else float("nan")
    n = f["texts_per_request"]
    what = "single short texts" if n == 1 else f"{n} short texts per request"
    print(f"\nload: {args.clients} clients x {args.duration:.0f} s (after {args.warmup:.0f} s warm-up), {what}, "
          f"think time {args.think_ms:g} ms, model {args.model}; server: {f['workers']} worker(s), "
          f"batches <= {f['max_batch_size']}, max wait {f['max_wait_ms']:g} ms")
    print(f"  responses:   {f['statuses']}")
    print(f"  throughput:  {f['throughput_texts_per_s']:,.1f} texts/s ({f['requests_per_s']:,.1f} requests/s)")
    print(f"  latency ms:  p50 {f['p50_ms']:.1f}  p95 {f['p95_ms']:.1f}  p99 {f['p99_ms']:.1f}  max {f['max_ms']:.1f}")
    print(f"  server:      mean batch {f['mean_batch_texts']:.1f} texts; model calls in flight "
          f"{f['model_busy']:.2f} on average")
    cpu = f["server_cpu_s"]
    print(f"  server CPU:  {sum(cpu.values()):.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items())
          + f"), {f['server_cpu_ms_per_text']:.2f} CPU-ms per text")
    print(f"  client CPU:  {f['client_cpu_s']:.1f} s ({100 * f['client_cpu_s'] / (args.duration + args.warmup):.0f}% "
          f"of one core); load average at end {f['load_average_end']:.2f}")
    print(f"  ratio:       service/offline = {f['service_over_offline']:.2f} (throughput); CPU per text "
          f"offline/service = {f['offline_cpu_over_service_cpu']:.2f} (less sensitive to a busy machine)")
    p99 = (f"p99 <= 100 ms {'met' if f['p99_ms'] <= 100 else 'NOT met'} ({f['p99_ms']:.1f} ms)"
           if f["texts_per_request"] == 1 else "p99 <= 100 ms is for single texts (not this run)")
    print(f"  targets:     {p99}; service >= 0.70 x offline {'met' if f['service_over_offline'] >= 0.70 else 'NOT met'} "
          f"({f['service_over_offline']:.2f})")


def numbers(kind):
    return lambda text: [kind(x) for x in text.split(",")]


def open_loop_steps(args, offline: float) -> dict:
    """Start one server; measure its maximum rate with a closed loop of ``--max-clients``; then Poisson arrivals at
    each fraction of that rate (latency from the scheduled send time)."""
    server, port = start_loaded_server(args, args.workers[0], args.max_batch_size[0], args.max_wait_ms[0])
    steps = []
    try:
        peak = closed_loop(args, server, port, args.max_clients, args.max_warmup, args.max_seconds)
        print(f"maximum rate (closed loop, {args.max_clients} clients x {args.max_seconds:g} s after {args.max_warmup:g} "
              f"s warm-up): {peak['requests_per_s']:,.1f} requests/s = {peak['requests_per_s'] / offline:.2f} x "
              f"offline; p99 {peak['p99_ms']:.1f} ms; {peak['server_cpu_ms_per_text']:.2f} server CPU-ms per "
              f"request; responses {peak['statuses']}", flush=True)
        requests = build_requests("127.0.0.1", port, TEXTS)
        for fraction, seconds in zip(args.fractions, args.open_seconds):
            rate = fraction * peak["requests_per_s"]
            cpu0 = thread_cpu(server.pid)
            r = run_open_loop("127.0.0.1", port, requests, rate, seconds, warmup=args.open_warmup,
                              timeout=args.timeout, seed=int(100 * fraction))
            cpu1 = thread_cpu(server.pid)
            server_cpu = sum(cpu1.values()) - sum(cpu0.values())
            sent_all = r.sent * (seconds + args.open_warmup) / seconds  # warm-up requests were served too
            step = {"fraction": fraction, "rate": rate, "seconds": seconds, "sent": r.sent, "errors": r.errors,
                    "statuses": {str(k): v for k, v in r.statuses.items()}, "p50_ms": r.percentile(50),
                    "p99_ms": r.percentile(99), "p999_ms": r.percentile(99.9),
                    "max_ms": max(r.latencies_ms, default=float("nan")), "connections": r.connections,
                    "server_cpu_ms_per_request": 1000 * server_cpu / max(1.0, sent_all),
                    "client_cpu_s": r.client_cpu_s, "load_average_end": os.getloadavg()[0]}
            steps.append(step)
            print(f"  {100 * fraction:3.0f}%: {rate:,.1f} requests/s for {seconds:g} s: p50 {step['p50_ms']:.1f}, "
                  f"p99 {step['p99_ms']:.1f}, p99.9 {step['p999_ms']:.1f} ms; {r.errors} errors; load average "
                  f"{step['load_average_end']:.1f}", flush=True)
    finally:
        stop_server(server)
    return {"max": peak, "steps": steps}


def report_open(result: dict, args, offline: float) -> None:
    peak = result["max"]
    ratio = peak["requests_per_s"] / offline
    print(f"\nopen loop: Poisson arrivals of single short texts, latency from each request's scheduled send time "
          f"(no coordinated omission); model {args.model}; server: {args.processes} process(es) x "
          f"{args.workers[0] or 'the default number of'} worker(s), batches <= {args.max_batch_size[0]}, max wait {args.max_wait_ms[0]:g} ms")
    print(f"maximum rate: {peak['requests_per_s']:,.1f} requests/s (closed loop, {args.max_clients} clients), "
          f"service/offline = {ratio:.2f}")
    print("  load   requests/s  seconds   sent  errors    p50_ms    p99_ms  p99.9_ms    max_ms  conns  "
          "server_cpu_ms/req")
    for f in result["steps"]:
        print(f"  {100 * f['fraction']:3.0f}%  {f['rate']:11,.1f} {f['seconds']:8g} {f['sent']:6d} {f['errors']:7d} "
              f"{f['p50_ms']:9.1f} {f['p99_ms']:9.1f} {f['p999_ms']:9.1f} {f['max_ms']:9.1f} {f['connections']:6d}  "
              f"{f['server_cpu_ms_per_request']:17.2f}")
        if f["errors"]:
            print(f"        statuses: {f['statuses']}")
    half = next((f for f in result["steps"] if abs(f["fraction"] - 0.5) < 1e-9), None)
    if half is not None:
        ok = half["p99_ms"] <= 50 and half["errors"] == 0
        print(f"targets: at 50% of the maximum rate p99 <= 50 ms and no errors over {half['seconds']:g} s: "
              f"{'met' if ok else 'NOT met'} (p99 {half['p99_ms']:.1f} ms, {half['errors']} errors)")
    print(f"         maximum single-text throughput >= 0.60 x offline: {'met' if ratio >= 0.60 else 'NOT met'} "
          f"({ratio:.2f})")
    print(f"(load average {os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} cores: figures taken while other "
          "jobs ran are slower than the machine can do)")


def offline_pair(args, when: str) -> tuple[float, float]:
    rate, cpu = offline_throughput(args.model, TEXTS, args.offline_batch, args.offline_seconds)
    print(f"offline analyze_batch ({args.offline_batch} per call), {when}: {rate:,.1f} texts/s, "
          f"{cpu:.2f} CPU-ms per text", flush=True)
    return rate, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--mode", choices=["open", "closed"], default="open",
                    help="open: maximum rate, then Poisson arrivals at --fractions of it; closed: --clients "
                         "clients sending back to back for --duration (a sweep over the server options)")
    ap.add_argument("--fractions", type=numbers(float), default=[0.25, 0.5, 0.75],
                    help="open: arrival rates as fractions of the measured maximum")
    ap.add_argument("--open-seconds", type=numbers(float), default=[30.0, 60.0, 30.0],
                    help="open: measured seconds at each fraction")
    ap.add_argument("--open-warmup", type=float, default=2.0, help="open: seconds sent before each measured span")
    ap.add_argument("--max-seconds", type=float, default=15.0, help="open: seconds of the maximum-rate closed loop")
    ap.add_argument("--max-warmup", type=float, default=3.0, help="open: warm-up before the maximum-rate loop")
    ap.add_argument("--timeout", type=float, default=10.0, help="open: a request unanswered after this is an error")
    ap.add_argument("--processes", type=int, default=1, help="server: worker processes sharing the port")
    ap.add_argument("--clients", type=int, default=50, help="closed: concurrent clients")
    ap.add_argument("--max-clients", type=int, default=200,
                    help="open: concurrent clients of the maximum-rate loop (enough to keep the batches full)")
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds (per configuration)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    ap.add_argument("--think-ms", type=float, default=0.0, help="pause between a client's requests")
    ap.add_argument("--texts-per-request", type=numbers(int), default=[1],
                    help="texts in each request (1: {'text': ...}; more: {'texts': [...]}; list: a sweep)")
    ap.add_argument("--workers", type=numbers(int), default=[0],
                    help="server: model calls at once per process (0: the server's default; list: a sweep)")
    ap.add_argument("--max-batch-size", type=numbers(int), default=[64], help="server (list: a sweep)")
    ap.add_argument("--max-wait-ms", type=numbers(float), default=[2.0], help="server (list: a sweep)")
    ap.add_argument("--threads", type=int, default=0,
                    help="server: onnxruntime runs at once, shared by the workers (0 = the CPU count)")
    ap.add_argument("--offline-batch", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--offline-seconds", type=float, default=8.0, help="offline measurement, before and after")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)

    print(f"machine: {cpu_description()}, load average {os.getloadavg()[0]:.2f} (1 min) at start", flush=True)
    before, cpu_before = offline_pair(args, "before")
    if args.mode == "open":
        result = open_loop_steps(args, before)
    else:
        runs = [measure(args, w, b, m, n) for n in args.texts_per_request for w in args.workers
                for b in args.max_batch_size for m in args.max_wait_ms]
    after, cpu_after = offline_pair(args, "after ")
    offline, offline_cpu = (before + after) / 2, (cpu_before + cpu_after) / 2
    print(f"offline: {offline:,.1f} texts/s, {offline_cpu:.2f} CPU-ms per text (means of before and after; the "
          "ratios use them)")
    if args.mode == "open":
        report_open(result, args, offline)
        if args.json:
            args.json.write_text(json.dumps({"offline_before": before, "offline_after": after,
                                             "offline_cpu_ms_per_text": offline_cpu, **result}, indent=2))
        return 0
    for f in runs:
        f["offline_cpu_over_service_cpu"] = offline_cpu / f["server_cpu_ms_per_text"]
        report(f, args, offline)
    if len(runs) > 1:
        print("\ntexts/request workers batch wait_ms   texts/s   p50_ms   p99_ms  mean_batch  cpu_ms/text  ratio  cpu_ratio")
        for f in runs:
            print(f"{f['texts_per_request']:13d} {f['workers']:7d} {f['max_batch_size']:5d} {f['max_wait_ms']:7g} {f['throughput_texts_per_s']:9.1f} "
                  f"{f['p50_ms']:8.1f} {f['p99_ms']:8.1f} {f['mean_batch_texts']:11.1f} "
                  f"{f['server_cpu_ms_per_text']:12.2f} {f['service_over_offline']:6.2f} "
                  f"{f['offline_cpu_over_service_cpu']:10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"offline_before": before, "offline_after": after,
                                         "offline_cpu_ms_per_text": offline_cpu, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
