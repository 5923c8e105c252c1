"""CPU per single-text request of the service's own code (FastAPI, middleware, validation, batching, rendering),
with the model's work taken out, and the pieces of a response's rendering.

    PYTHONPATH=src python benchmarks/serve_request_cpu.py            # model default, about 30 s

The app is the real one (``create_app``: middleware, routes, micro-batcher), called in process through ASGI
(no socket, no HTTP parsing: uvicorn's share is not in these figures), 16 requests at a time, with a stand-in
analyzer that returns rows of a prediction batch computed once by the real model: what remains is the CPU the
service spends per request around the model. It is measured with orjson and, for comparison, with the standard
library's ``json`` (the fallback when orjson is not installed). CPU time is the process's (all threads), so it
depends little on other load, though caches shared with other jobs make it vary by some 10-20%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any

import affectkit
from affectkit.analyzers.base import Analyzer
from affectkit.serve import encoding
from affectkit.serve.app import create_app
from affectkit.serve.settings import Limits, ServeSettings

TEXT = "I can't believe you did this for me, thank you!"


def per_call_us(f, n: int) -> float:
    f()
    t0 = time.process_time()
    for _ in range(n):
        f()
    return 1e6 * (time.process_time() - t0) / n


def rendering(model: str) -> list[tuple[str, float]]:
    """Microseconds of CPU for the pieces of one prediction's rendering."""
    batch = affectkit.load(model).analyze_batch([TEXT] * 16)
    one = batch.take(slice(0, 1))
    prediction = one.to_predictions(3)[0]
    orjson = encoding.orjson
    rows = [("predictions of a 1-row batch (to_predictions)", per_call_us(lambda: one.to_predictions(3), 2000)),
            ("predictions of a 16-row batch, per row", per_call_us(lambda: batch.to_predictions(3), 300) / 16),
            ("JSON of one prediction, json.dumps (Prediction.to_json)", per_call_us(prediction.to_json, 2000))]
    if orjson is not None:
        rows.append(("JSON of one prediction, orjson.dumps of to_dict()",
                     per_call_us(lambda: orjson.dumps(prediction.to_dict()), 2000)))
    return rows


class _Replay(Analyzer):
    """Returns rows of a batch the real model computed once: the service's work without the model's."""

    modality = "text"

    def __init__(self, model: str) -> None:
        real = affectkit.load(model)
        self.name, self.labelset = real.name, real.labelset
        self.pool = real.analyze_batch([TEXT] * 64)

    def analyze_batch(self, items, labels=None):
        return self.pool.take(slice(0, len(items)))

    def predict_batch(self, items, labels=None):
        return self.analyze_batch(items, labels)

    def info(self) -> dict[str, Any]:
        return {}


async def _requests(app, n: int, at_once: int) -> tuple[float, float]:
    body = json.dumps({"text": TEXT}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/analyze", "raw_path": b"/v1/analyze", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}

    async def one() -> None:
        status = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        assert status == [200], status

    async with app.router.lifespan_context(app):
        for _ in range(50):
            await one()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n // at_once):
            await asyncio.gather(*(one() for _ in range(at_once)))
        return 1e6 * (time.process_time() - c0) / n, 1e6 * (time.perf_counter() - t0) / n


def request_cpu(model: str, n: int) -> float:
    app = create_app(ServeSettings(limits=Limits(rate=0)), {"default": _Replay(model)})
    cpu, _ = asyncio.run(_requests(app, n, 16))
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    logging.getLogger("affectkit.serve").setLevel(logging.ERROR)
    print(f"rendering one prediction of model {a.model!r} (CPU microseconds):")
    for name, us in rendering(a.model):
        print(f"  {name:<58} {us:7.1f}")
    orjson = encoding.orjson
    print(f"\nthe service's own CPU per single-text POST /v1/analyze, in process, model work replayed "
          f"({a.requests:,} requests, 16 at a time; best of {a.repeats}):")
    for label, module in (("orjson", orjson), ("json (orjson not installed)", None)):
        if label == "orjson" and module is None:
            continue
        encoding.orjson = module  # type: ignore[assignment]
        best = min(request_cpu(a.model, a.requests) for _ in range(a.repeats))
        print(f"  {label:<30} {best:7.1f} CPU-us per request")
    encoding.orjson = orjson  # type: ignore[assignment]


if __name__ == "__main__":
    main()
