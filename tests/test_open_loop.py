"""The open-loop load generator of ``benchmarks/serve_load.py``: Poisson arrivals, and latency counted from each
request's scheduled time, so a slow server's queue shows in the figures (no coordinated omission)."""

import asyncio
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from open_loop import open_loop, poisson_schedule


def test_poisson_schedule_has_the_rate_and_exponential_gaps():
    times = poisson_schedule(rate=1000.0, seconds=10.0, seed=1)
    assert times[0] >= 0 and times[-1] < 10.0 and np.all(np.diff(times) > 0)
    # a Poisson count over 10 s at 1,000/s: mean 10,000, standard deviation 100
    assert 9_600 < len(times) < 10_400
    gaps = np.diff(times)
    assert abs(gaps.mean() - 1e-3) < 5e-5  # exponential gaps of mean 1 / rate
    assert abs(np.median(gaps) - np.log(2) * 1e-3) < 1e-4  # the median of Exp(rate) is ln 2 / rate


def _slow_server(seconds_per_request: float) -> tuple[int, threading.Event]:
    """An HTTP server on 127.0.0.1 that answers one request at a time, each after ``seconds_per_request``."""
    ready, stop = threading.Event(), threading.Event()
    port = []

    async def main():
        lock = asyncio.Lock()

        async def handle(reader, writer):
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                      if line.lower().startswith(b"content-length")))
                    await reader.readexactly(length)
                    async with lock:
                        await asyncio.sleep(seconds_per_request)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait(10)
    return port[0], stop


def test_a_server_slower_than_the_arrivals_shows_its_queue():
    port, stop = _slow_server(0.1)  # serves 10 requests/s, one at a time
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    try:
        result = asyncio.run(open_loop("127.0.0.1", port, [request], rate=20.0, seconds=1.0, warmup=0.0, seed=3))
    finally:
        stop.set()
    scheduled = len(poisson_schedule(20.0, 1.0, seed=3))
    assert result.sent == scheduled and result.errors == 0  # every arrival was sent and counted
    # each request takes 0.1 s of service, and arrivals come twice as fast: the k-th answer comes no earlier
    # than 0.1 * k s after the start, so the last request, scheduled before 1 s, waited at least
    # 0.1 * n - 1 s (a closed loop would have timed every request at about 0.1 s)
    assert max(result.latencies_ms) >= 1000 * (0.1 * scheduled - 1.0) - 20
    assert result.percentile(50) > 150
