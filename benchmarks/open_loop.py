"""An open-loop HTTP load generator: Poisson arrivals at a fixed rate, latency from each request's scheduled
send time (used by ``serve_load.py --mode open``).

A closed loop (C clients that each wait for their answer before sending again) slows down with the server, so
it never shows queueing: when the server stalls, the clients stop sending, and the requests that would have
arrived meanwhile are never timed ("coordinated omission", Tene, *How NOT to Measure Latency*, 2015). Here
arrival times are drawn in advance (exponential gaps of mean ``1 / rate``, a Poisson process), each request is
sent at its time whatever happened to the earlier ones, on an idle keep-alive connection (a new one is opened
when none is idle), and its latency runs from its *scheduled* time to the end of its response. Time a request
spends waiting for a connection, or behind a late client loop, therefore counts against the server.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

MAX_CONNECTIONS = 1000  # the client never opens more; beyond it a request waits (and its wait is counted)
MAX_IDLE = 2.0  # seconds: a connection idle longer is closed rather than reused (the server's keep-alive is 5 s)


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


def poisson_schedule(rate: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Arrival offsets (seconds from the start) of a Poisson process of ``rate`` per second over ``seconds``."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds * 1.2 + 10 * np.sqrt(rate * seconds) + 10)
    times = np.cumsum(rng.exponential(1.0 / rate, n))
    while times[-1] < seconds:  # practically never: draw more
        times = np.concatenate([times, times[-1] + np.cumsum(rng.exponential(1.0 / rate, n))])
    return times[times < seconds]


@dataclass
class OpenLoopResult:
    rate: float  # requests per second asked for
    seconds: float  # measured span (after the warm-up)
    latencies_ms: list[float] = field(default_factory=list)  # answered requests, from their scheduled time
    statuses: Counter = field(default_factory=Counter)  # HTTP status or error kind, measured requests only
    connections: int = 0  # connections the client opened
    client_cpu_s: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return self.sent - self.statuses.get(200, 0)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


class _Pool:
    """Idle keep-alive connections; opens a new one when none is idle (up to ``MAX_CONNECTIONS``)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []  # and when it was freed
        self.opened = 0
        self.open_now = 0
        self.freed = asyncio.Condition()

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        stale = time.perf_counter() - MAX_IDLE
        while self.idle and self.idle[0][2] < stale:  # the oldest first: the server may be closing them
            self.idle.pop(0)[1].close()
            self.open_now -= 1
        while not self.idle:
            if self.open_now < MAX_CONNECTIONS:
                self.opened += 1
                self.open_now += 1
                try:
                    return await asyncio.open_connection(self.host, self.port)
                except OSError:
                    self.open_now -= 1
                    raise
            async with self.freed:
                await self.freed.wait()
        reader, writer, _ = self.idle.pop()
        return reader, writer

    async def put(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is None:  # broken: closed by the caller
            self.open_now -= 1
        else:
            self.idle.append((*conn, time.perf_counter()))
        async with self.freed:
            self.freed.notify()

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def _one(pool: _Pool, request: bytes, scheduled: float, record: bool, timeout: float,
               out: OpenLoopResult) -> None:
    conn = None
    try:
        async with asyncio.timeout(timeout):
            conn = await pool.get()
            conn[1].write(request)
            status: int | str = await read_response(conn[0])
    except TimeoutError:
        status = f"no answer within {timeout:g} s"
        if conn is not None:
            conn[1].close()
            conn = None
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
        status = "connection error"
        if conn is not None:
            conn[1].close()
            conn = None
    done = time.perf_counter()
    await pool.put(conn)
    if record:
        out.statuses[status] += 1
        if status == 200:
            out.latencies_ms.append(1000 * (done - scheduled))


async def open_loop(host: str, port: int, requests: list[bytes], rate: float, seconds: float, warmup: float = 2.0,
                    timeout: float = 10.0, seed: int = 0) -> OpenLoopResult:
    """Send ``requests`` (round robin) at Poisson times of ``rate`` per second for ``warmup + seconds``; the
    requests scheduled in the first ``warmup`` seconds are sent but not counted. Waits for every request (at
    most ``timeout`` seconds each: a slower one counts as an error)."""
    out = OpenLoopResult(rate, seconds)
    pool = _Pool(host, port)
    schedule = poisson_schedule(rate, warmup + seconds, seed)
    tasks: list[asyncio.Task] = []
    cpu0 = time.process_time()
    t0 = time.perf_counter() + 0.05
    for i, offset in enumerate(schedule):
        scheduled = t0 + offset
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(pool, requests[i % len(requests)], scheduled, offset >= warmup,
                                              timeout, out)))
        if len(tasks) >= 4096:  # keep the list short: drop finished ones
            tasks = [t for t in tasks if not t.done()]
    await asyncio.gather(*tasks)
    pool.close()
    out.connections = pool.opened
    out.client_cpu_s = time.process_time() - cpu0
    return out


def run_open_loop(*args, **kwargs) -> OpenLoopResult:
    """:func:`open_loop` in a fresh event loop (uvloop when installed: less client CPU per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(open_loop(*args, **kwargs))
    return uvloop.run(open_loop(*args, **kwargs))
