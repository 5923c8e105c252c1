"""Micro-batching: texts from concurrent requests share model calls.

Requests put their texts on a queue and await a future. One worker task takes from the queue the texts that
share a (model, label set), up to ``max_batch_size``, and runs the model on them in a dedicated thread, so the
event loop keeps accepting requests while the model works. The first text of a batch waits at most
``max_wait_ms`` for others to join it; texts that queued while the model was busy go into the next batch at
once. This is the dynamic batching of inference servers (e.g. NVIDIA Triton's ``max_queue_delay``): under
load, batches grow by themselves and throughput approaches offline batch throughput, and a lone request
waits no more than ``max_wait_ms``.

With ``workers`` > 1, that many batches run at once, each in its own thread (onnxruntime sessions accept
concurrent runs): on a small machine two single-threaded model calls use the cores better than one call
split over both, and one batch's Python work (tokenizing, evidence, formatting) overlaps the other's matrix
work.

A request with more texts than ``max_batch_size`` is cut into pieces, and a partly served request goes to the
back of the queue, so one large request cannot hold the model while small ones wait.

A request may also pass ``render``, a hashable callable that turns predictions into what the response needs
(the service's JSON: :class:`affectkit.serve.encoding.RenderJSON`). It runs in the model thread, once per
distinct ``render`` over all the rows of a batch that asked for it, rather than once per request on the event
loop: building predictions for 16 rows at once costs less than half as much per row as for one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from affectkit.analyzers.base import Analyzer
from affectkit.schema import BatchPrediction

log = logging.getLogger(__name__)


Render = Callable[[BatchPrediction], list[Any]]  # and hashable: requests with equal renders share one call


class ServerBusy(Exception):
    """The queue is full; the client should retry later (HTTP 503 with Retry-After)."""


@dataclass
class _Job:
    key: tuple[str, str | None]  # (model, label set name or None for the model's own)
    items: list[Any]
    future: asyncio.Future
    enqueued: float  # loop time
    render: Render | None = None  # rows -> rendered rows, run in the model thread
    taken: int = 0  # items already put into batches
    done: int = 0  # items predicted
    parts: list[tuple[int, Any]] = field(default_factory=list)  # (first item, BatchPrediction or rendered rows)

    @property
    def waiting(self) -> int:
        return len(self.items) - self.taken


@dataclass
class BatchStats:
    """What one model call did, for metrics."""

    model: str
    texts: int
    requests: int
    seconds: float
    queue_wait: float  # how long the oldest text in the batch waited


class MicroBatcher:
    """Runs ``analyzers[model].analyze_batch`` on batches gathered from concurrent :meth:`analyze` calls."""

    def __init__(self, analyzers: Mapping[str, Analyzer], max_batch_size: int = 64, max_wait_ms: float = 2.0,
                 workers: int = 1, max_queue: int = 10_000,
                 on_batch: Callable[[BatchStats], None] | None = None) -> None:
        if max_batch_size < 1 or max_wait_ms < 0 or max_queue < 1 or workers < 1:
            raise ValueError("max_batch_size, workers and max_queue must be >= 1 and max_wait_ms >= 0")
        self.analyzers = dict(analyzers)
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.workers = workers
        self.on_batch = on_batch
        self._running: set[asyncio.Task] = set()  # model calls in flight
        self._pending: deque[_Job] = deque()
        self._queued = 0  # texts waiting, over all jobs
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def queued(self) -> int:
        return self._queued

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the batcher is already running")
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="affectkit-model")
        self._task = asyncio.create_task(self._run(), name="affectkit-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.set_exception(ServerBusy("the service is shutting down"))
        self._queued = 0
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def analyze(self, model: str, items: list[Any], labels: str | None = None,
                      render: Render | None = None) -> Any:
        """Predictions for ``items`` (one row each, in order), as ``analyzers[model].analyze_batch`` gives them;
        with ``render`` (hashable), ``render(predictions)``: a list with one entry per item."""
        if self._task is None or self._wakeup is None:
            raise RuntimeError("the batcher is not running (call start() first)")
        if model not in self.analyzers:
            raise KeyError(model)
        if not items:
            empty = self.analyzers[model].analyze_batch([], labels)
            return render(empty) if render is not None else empty
        if self._queued + len(items) > self.max_queue:
            raise ServerBusy(f"{self._queued:,} texts are waiting; the queue holds {self.max_queue:,}")
        loop = asyncio.get_running_loop()
        job = _Job((model, labels), list(items), loop.create_future(), loop.time(), render)
        self._pending.append(job)
        self._queued += len(job.items)
        self._wakeup.set()
        return await job.future

    # -- the worker ---------------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending or len(self._running) >= self.workers:
                self._wakeup.clear()
                await self._wakeup.wait()
            if self.max_wait > 0:
                deadline = self._pending[0].enqueued + self.max_wait
                while self._queued < self.max_batch_size and (remaining := deadline - loop.time()) > 0:
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), remaining)
                    except TimeoutError:
                        break
            pieces = self._take()
            if pieces:
                task = asyncio.create_task(self._predict(pieces, loop))
                self._running.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if self._wakeup is not None:
            self._wakeup.set()  # a worker is free

    def _take(self) -> list[tuple[_Job, int, int]]:
        """Up to ``max_batch_size`` texts from the oldest jobs that share the first live job's key."""
        pieces: list[tuple[_Job, int, int]] = []
        room, key = self.max_batch_size, None
        skipped: deque[_Job] = deque()
        again: list[_Job] = []
        while self._pending and room > 0:
            job = self._pending.popleft()
            if job.future.done():  # the client went away (or the job failed): drop what is left of it
                self._queued -= job.waiting
                continue
            if key is None:
                key = job.key
            if job.key != key:
                skipped.append(job)
                continue
            n = min(room, job.waiting)
            pieces.append((job, job.taken, job.taken + n))
            job.taken += n
            room -= n
            self._queued -= n
            if job.waiting:
                again.append(job)  # the rest of a large job waits its turn behind the others
        skipped.extend(self._pending)
        skipped.extend(again)
        self._pending = skipped
        return pieces

    async def _predict(self, pieces: list[tuple[_Job, int, int]], loop: asyncio.AbstractEventLoop) -> None:
        model, labels = pieces[0][0].key
        texts = [x for job, a, b in pieces for x in job.items[a:b]]
        waited = loop.time() - min(job.enqueued for job, _, _ in pieces)
        t0 = time.perf_counter()
        try:
            batch, rendered = await loop.run_in_executor(self._executor, self._run_model, model, texts, labels,
                                                         pieces)
        except Exception as e:  # analyze_batch isolates bad items, so this is a fault of the service itself
            log.exception("model batch of %d texts failed", len(texts))
            for job, _, _ in pieces:
                if not job.future.done():
                    job.future.set_exception(e)
            return
        seconds = time.perf_counter() - t0
        offset = 0
        for k, (job, a, b) in enumerate(pieces):
            part = rendered[k] if job.render is not None else batch.take(slice(offset, offset + b - a))
            offset += b - a
            if job.future.done():
                continue
            job.parts.append((a, part))
            job.done += b - a
            if job.done == len(job.items):
                parts = [p for _, p in sorted(job.parts, key=lambda x: x[0])]
                job.future.set_result([x for p in parts for x in p] if job.render is not None
                                      else BatchPrediction.concat(parts))
        if self.on_batch is not None:
            self.on_batch(BatchStats(model, len(texts), len(pieces), seconds, waited))

    def _run_model(self, model: str, texts: list[Any], labels: str | None,
                   pieces: list[tuple[_Job, int, int]]) -> tuple[BatchPrediction, dict[int, list[Any]]]:
        """In a model thread: the batch's predictions, and for each piece whose job has a ``render``, its rendered
        rows (each distinct render runs once, on all the rows that asked for it)."""
        batch = self.analyzers[model].analyze_batch(texts, labels)
        groups: dict[Render, list[int]] = {}  # a render is hashable: equal renders share one call
        for k, (job, _, _) in enumerate(pieces):
            if job.render is not None:
                groups.setdefault(job.render, []).append(k)
        starts = [0]
        for _, a, b in pieces:
            starts.append(starts[-1] + b - a)
        rendered: dict[int, list[Any]] = {}
        for render, ks in groups.items():
            rows = [r for k in ks for r in range(starts[k], starts[k + 1])]
            out = render(batch if len(rows) == len(batch) else batch.take(rows))
            at = 0
            for k in ks:
                n = starts[k + 1] - starts[k]
                rendered[k], at = out[at:at + n], at + n
        return batch, rendered
