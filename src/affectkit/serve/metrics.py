"""Prometheus metrics of the service (``GET /metrics``), on a registry of its own per app."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from affectkit.serve.batcher import BatchStats

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("affectkit_http_requests", "HTTP requests answered, by path and status code",
                                ["path", "status"], registry=r)
        self.latency = Histogram("affectkit_http_request_duration_seconds", "Time to answer a request, by path",
                                 ["path"], buckets=LATENCY_BUCKETS, registry=r)
        self.rejected = Counter("affectkit_rejected_requests", "Requests refused before the model: auth, rate, busy",
                                ["reason"], registry=r)
        self.texts = Counter("affectkit_texts", "Texts run through a model", ["model"], registry=r)
        self.batch_size = Histogram("affectkit_batch_texts", "Texts per model call", ["model"],
                                    buckets=BATCH_BUCKETS, registry=r)
        self.batch_requests = Histogram("affectkit_batch_requests", "Requests sharing one model call", ["model"],
                                        buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("affectkit_batch_duration_seconds", "Time of one model call", ["model"],
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.queue_wait = Histogram("affectkit_queue_wait_seconds", "How long a batch's oldest text waited",
                                    ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.queue = Gauge("affectkit_queue_texts", "Texts waiting for the model", registry=r)

    def observe_batch(self, s: BatchStats) -> None:
        self.texts.labels(s.model).inc(s.texts)
        self.batch_size.labels(s.model).observe(s.texts)
        self.batch_requests.labels(s.model).observe(s.requests)
        self.batch_seconds.labels(s.model).observe(s.seconds)
        self.queue_wait.labels(s.model).observe(s.queue_wait)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request (including those refused by the middleware inside it).

    Paths outside ``known`` are counted as ``other`` so that scanners cannot grow the label set.
    """

    def __init__(self, app, metrics: ServiceMetrics, known: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.known = known

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        label = path if path in self.known else "/static" if path.startswith("/static/") else "other"
        status = 500
        t0 = time.perf_counter()

        async def send_and_record(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.latency.labels(label).observe(time.perf_counter() - t0)
            self.metrics.requests.labels(label, str(status)).inc()
