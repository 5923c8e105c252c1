"""Hostile clients against a real ``affectkit serve`` on 127.0.0.1 (issue 18: findings 7, 8, 9, 10): huge request
headers, idle connections, Parquet upload bombs, foreign Host headers, then the 10,000-request bad-input mix of
``serve_bad_input.py``.

    PYTHONPATH=src python benchmarks/serve_hostile.py                  # the shipped `fast` model, about 2 minutes
    PYTHONPATH=src python benchmarks/serve_hostile.py --requests 2000  # a shorter bad-input mix

During each attack a normal client sends ``POST /v1/analyze`` every 50 ms and its latencies and statuses are
recorded; the server's resident memory (VmRSS) is sampled every 0.1 s. Printed: per attack, what the attackers
got, the normal requests' statuses and latency (p50, max), and the server's RSS before, at its peak and after;
at the end the 5xx count of the whole run. Exits 1 if a 5xx reached a normal or bad-input request, a normal
request failed while the attack could not take the server's connections, or RSS passed 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_bad_input import cases as bad_cases  # noqa: E402
from serve_bad_input import run as bad_run  # noqa: E402
from serve_load import free_port, start_server, stop_server  # noqa: E402

RSS_LIMIT_MB = 500


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Watch:
    """A normal client (one request every 50 ms) and an RSS sampler, while an attack runs."""

    def __init__(self, port: int, pid: int) -> None:
        self.port, self.pid = port, pid
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.peak = 0.0
        self._stop = threading.Event()

    def _client(self) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/analyze", json={"text": "I am so happy you came!"})
                    status: int | str = r.status_code
                except httpx.HTTPError as e:
                    status = type(e).__name__
                self.latencies.append(1000 * (time.perf_counter() - t0))
                self.statuses[status] += 1
                self._stop.wait(0.05)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.1)

    def __enter__(self) -> "Watch":
        self.before = rss_mb(self.pid)
        self.threads = [threading.Thread(target=self._client, daemon=True),
                        threading.Thread(target=self._sample, daemon=True)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(30)
        time.sleep(0.5)
        self.after = rss_mb(self.pid)
        self.peak = max(self.peak, self.after)

    def line(self) -> str:
        lat = sorted(self.latencies) or [float("nan")]
        statuses = ", ".join(f"{k} x {v}" for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0])))
        return (f"normal requests: {statuses}; latency p50 {statistics.median(lat):.1f} ms, max {lat[-1]:.1f} ms; "
                f"server RSS {self.before:.0f} MB before, {self.peak:.0f} MB peak, {self.after:.0f} MB after")

    def fives(self) -> int:
        return sum(v for k, v in self.statuses.items() if isinstance(k, int) and k >= 500)


def status_of(data: bytes) -> str:
    return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else ("closed" if not data else "?")


def read_reply(sock: socket.socket, timeout: float = 30) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


# -- attacks ------------------------------------------------------------------------------------------------------
def huge_headers(port: int, connections: int = 10, size: int = 50 * 1024 * 1024) -> Counter:
    """``connections`` clients, each streaming a ``size``-byte header."""
    got: Counter = Counter()

    def one() -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"POST /v1/analyze HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        piece, sent = b"a" * 65536, 0
        try:
            while sent < size:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
        got[f"{status_of(read_reply(sock))} after {sent / 1e6:.1f} MB sent"] += 1
        sock.close()

    threads = [threading.Thread(target=one) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def idle_connections(port: int, n: int, sources: int, hold: float) -> Counter:
    """``n`` connections that never send a byte, from ``sources`` loopback addresses, held ``hold`` seconds."""
    got: Counter = Counter()
    socks = []
    for i in range(n):
        src = f"127.3.{(i % sources) // 250}.{(i % sources) % 250 + 1}"
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0)))
        except OSError as e:
            got[type(e).__name__] += 1
    time.sleep(hold)
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(65536)
            got["503 at once" if data.startswith(b"HTTP/1.1 503") else ("closed by the server" if not data
                                                                       else status_of(data))] += 1
        except BlockingIOError:
            got["still open"] += 1
        except OSError as e:
            got[type(e).__name__] += 1
        s.close()
    return got


def parquet_bombs(tmp: Path) -> list[tuple[str, bytes]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    rows = 60_000_000  # one text repeated: dictionary-encoded, run-length coded, zstd
    codes = pa.array(__import__("numpy").zeros(rows, dtype="int8"))
    table = pa.table({"text": pa.DictionaryArray.from_arrays(codes, pa.array(["I am so happy you came!"]))})
    path = tmp / "rows.parquet"
    pq.write_table(table, path, compression="zstd", row_group_size=10_000_000)
    out.append((f"{rows / 1e6:.0f} M rows", path.read_bytes()))
    del table, codes
    wide = pa.table({"text": ["x" * 100_000_000, "y" * 100_000_000]})  # 200 MB of text in 2 rows
    path = tmp / "wide.parquet"
    pq.write_table(wide, path, compression="zstd")
    out.append(("2 rows of 100 MB", path.read_bytes()))
    return out


def upload(port: int, name: str, data: bytes) -> tuple[int, str]:
    r = httpx.post(f"http://127.0.0.1:{port}/v1/analyze/file", files={"file": (name, data)}, timeout=120)
    detail = r.json().get("detail", "") if r.headers.get("content-type", "").startswith("application/json") else ""
    return r.status_code, str(detail)[:90]


def host_headers(port: int, n: int = 1000) -> Counter:
    got: Counter = Counter()
    hosts = ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io", "192.168.1.5"]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for i in range(n):
            host = hosts[i % len(hosts)]
            path = "/v1/analyze" if i % 2 else "/"
            r = (http.post(path, json={"text": "secret"}, headers={"host": host}) if i % 2
                 else http.get(path, headers={"host": host}))
            got[r.status_code] += 1
    return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fast")
    ap.add_argument("--requests", type=int, default=10_000, help="requests in the bad-input mix")
    args = ap.parse_args(argv)
    from affectkit.serve.protocol import raise_fd_limit

    raise_fd_limit()  # this process holds 1,100 connections at once
    ok = True
    fives = 0
    t_start = time.time()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bombs = parquet_bombs(tmp)
        port = free_port()
        server = start_server(port, "--model", args.model, "--rate", "0", "--no-access-log",
                              log=tmp / "server.log")
        try:
            print(f"server: affectkit serve --model {args.model} on 127.0.0.1:{port}, auth off (loopback), "
                  f"RSS {rss_mb(server.pid):.0f} MB\n")
            attacks = [
                ("10 connections x 50 MB header", lambda: huge_headers(port), True),
                ("1,100 idle connections from one address", lambda: idle_connections(port, 1100, 1, 3.0), True),
                ("1,100 idle connections from 1,100 addresses",
                 lambda: idle_connections(port, 1100, 1100, 12.0), False),
                ("Parquet upload bombs (x3 each)",
                 lambda: Counter(f"{label}: {upload(port, 'bomb.parquet', data)}" for label, data in bombs
                                 for _ in range(3)), True),
                ("1,000 requests with a foreign Host", lambda: host_headers(port), True),
            ]
            for name, attack, must_serve in attacks:
                with Watch(port, server.pid) as watch:
                    time.sleep(0.3)
                    result = attack()
                    time.sleep(0.3)
                print(f"== {name}")
                print("   attackers got: " + "; ".join(f"{k} x {v}" for k, v in result.items()))
                print("   " + watch.line())
                fives += watch.fives() if must_serve else 0
                failed = sum(v for k, v in watch.statuses.items() if k != 200)
                if must_serve and failed:
                    ok = False
                if not must_serve:
                    print("   (spread over more addresses than the per-client cap can tell apart, the attack takes "
                          "every free connection: a client already connected keeps being served, a new one gets "
                          "503 at once until the header timeout (10 s) closes the idle connections)")
                if watch.peak > RSS_LIMIT_MB:
                    ok = False
            peak_a = rss_mb(server.pid)
        finally:
            stop_server(server)

        # the bad-input mix needs API keys (some of its cases are wrong keys), so a second server with a keys file
        from affectkit.serve import Limits, add_key

        keys = tmp / "keys.txt"
        key = add_key(keys, "hostile-run")
        port = free_port()
        server = start_server(port, "--model", args.model, "--keys-file", str(keys), "--rate", "0",
                              "--no-access-log", log=tmp / "server-b.log")
        try:
            with Watch(port, server.pid) as watch:
                watch._stop.set()  # RSS only: the normal client has no key here
                limits = Limits()
                all_cases = bad_cases(limits.max_body_bytes, limits.max_texts, limits.max_text_chars)
                before = rss_mb(server.pid)
                t0 = time.time()
                results, failures, health, metrics = asyncio.run(bad_run(port, key, args.requests, 16, all_cases))
                seconds = time.time() - t0
                after = rss_mb(server.pid)
        finally:
            stop_server(server)
    expect = {c.name: c.expect for c in all_cases}
    total: Counter = Counter()
    wrong = 0
    for name, counts in results.items():
        total.update(counts)
        wrong += sum(v for s, v in counts.items() if s != expect[name])
    mix_fives = sum(v for s, v in total.items() if isinstance(s, int) and s >= 500)
    print(f"== bad-input mix: {args.requests:,} requests, 16 at a time, {seconds:.1f} s (keyed server)")
    print("   statuses: " + ", ".join(f"{k} x {v}" for k, v in sorted(total.items(), key=lambda kv: str(kv[0]))))
    print(f"   requests with another status than their case's: {wrong}; /healthz afterwards: {health}")
    print(f"   server RSS {before:.0f} MB before, {after:.0f} MB after")
    fives += mix_fives
    ok = ok and wrong == 0 and health == 200 and after <= RSS_LIMIT_MB and peak_a <= RSS_LIMIT_MB
    print(f"\n5xx responses to normal and bad-input requests: {fives}")
    print(f"whole run: {time.time() - t_start:.0f} s; {'OK' if ok and fives == 0 else 'NOT OK'}")
    return 0 if ok and fives == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
