"""The micro-batcher: concurrent requests share model calls, results keep their order, large requests are cut
into pieces without starving small ones, and failures reach exactly the requests they concern."""

import asyncio
import threading

import numpy as np
import pytest
from serve_support import TEXTS, model_spec

import affectkit
from affectkit.serve.batcher import MicroBatcher, ServerBusy


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory):
    return affectkit.load(model_spec(tmp_path_factory))


class Recording:
    """The real analyzer, with a log of the model calls it gets (and an optional gate to hold a call)."""

    def __init__(self, inner, gate: threading.Event | None = None, fail_on: str | None = None):
        self.inner, self.gate, self.fail_on = inner, gate, fail_on
        self.calls: list[tuple[list[str], str | None]] = []

    def analyze_batch(self, items, labels=None):
        self.calls.append((list(items), labels))
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError("model exploded")
        return self.inner.analyze_batch(items, labels)


def run(model, body, **settings):
    """Start a MicroBatcher serving ``model`` as "m", await ``body(batcher)``, stop the batcher."""
    async def main():
        b = MicroBatcher({"m": model}, **settings)
        await b.start()
        try:
            return await body(b)
        finally:
            await b.stop()

    return asyncio.run(main())


def same(a, b, tol=1e-6):
    assert a.labelset == b.labelset and a.errors == b.errors
    np.testing.assert_allclose(a.dist, b.dist, atol=tol)
    if a.vad is not None:
        np.testing.assert_allclose(a.vad, b.vad, atol=tol)


def as_called(analyzer, rec, texts, labels=None):
    """What the model gives for ``texts`` in the very calls the batcher made. (Compared this way because an
    int8 model with dynamic activation quantization gives a text slightly different scores in different
    batch company: the batcher must route each row back to its request, which this checks exactly.)"""
    parts = []
    for t in texts:
        items, lab = next((items, lab) for items, lab in rec.calls if t in items and lab == labels)
        parts.append(analyzer.analyze_batch(items, labels).take([items.index(t)]))
    from affectkit.schema import BatchPrediction

    return BatchPrediction.concat(parts)


def test_concurrent_requests_share_one_model_call(analyzer):
    rec = Recording(analyzer)

    async def body(b):
        return await asyncio.gather(*(b.analyze("m", [t]) for t in TEXTS))

    results = run(rec, body, max_batch_size=64, max_wait_ms=200)
    assert len(rec.calls) == 1 and rec.calls[0][0] == TEXTS  # one call, in arrival order
    for t, r in zip(TEXTS, results):
        assert len(r) == 1
        same(r, as_called(analyzer, rec, [t]))


def test_large_request_is_cut_and_small_ones_are_not_starved(analyzer):
    gate = threading.Event()
    rec = Recording(analyzer, gate=gate)
    big = [f"{t} ({i})" for i, t in enumerate(TEXTS * 2)]  # 10 texts

    async def body(b):
        first = asyncio.create_task(b.analyze("m", ["warm-up text"]))  # holds the worker at the gate
        await asyncio.sleep(0.05)
        big_job = asyncio.create_task(b.analyze("m", big))
        await asyncio.sleep(0.01)
        small_job = asyncio.create_task(b.analyze("m", ["a small request"]))
        await asyncio.sleep(0.01)
        gate.set()
        return await first, await big_job, await small_job

    _, big_result, small_result = run(rec, body, max_batch_size=4, max_wait_ms=0)
    sizes = [len(items) for items, _ in rec.calls]
    assert sizes == [1, 4, 4, 3]  # the big request in pieces of <= 4 ...
    assert "a small request" in rec.calls[2][0]  # ... and the small one rides in the second piece, not last
    same(big_result, as_called(analyzer, rec, big))  # the pieces come back together, in order
    assert len(small_result) == 1


def test_label_sets_are_batched_separately(analyzer):
    rec = Recording(analyzer)

    async def body(b):
        return await asyncio.gather(b.analyze("m", TEXTS[:2], "ekman"), b.analyze("m", TEXTS[2:3]),
                                    b.analyze("m", TEXTS[3:], "ekman"))

    e1, native, e2 = run(rec, body, max_batch_size=64, max_wait_ms=100)
    assert sorted((len(items), labels) for items, labels in rec.calls) == [(1, None), (4, "ekman")]
    assert e1.labelset.name == e2.labelset.name == "ekman" and native.labelset == analyzer.labelset
    same(e1, as_called(analyzer, rec, TEXTS[:2], "ekman"))
    same(e2, as_called(analyzer, rec, TEXTS[3:], "ekman"))
    same(native, as_called(analyzer, rec, TEXTS[2:3]))


def test_bad_items_stay_in_their_rows(analyzer):
    async def body(b):
        return await asyncio.gather(b.analyze("m", ["fine text", ""]), b.analyze("m", ["   "]))

    r1, r2 = run(analyzer, body, max_wait_ms=50)
    assert r1.errors == [None, "empty text"] and r2.errors == ["text is only whitespace"]
    assert not np.isnan(r1.dist[0]).any() and np.isnan(r1.dist[1]).all()


def test_a_failing_batch_fails_its_requests_and_the_batcher_goes_on(analyzer):
    rec = Recording(analyzer, fail_on="boom")

    async def body(b):
        bad = await asyncio.gather(b.analyze("m", ["boom"]), b.analyze("m", ["ok"]), return_exceptions=True)
        after = await b.analyze("m", ["still serving"])
        return bad, after

    bad, after = run(rec, body, max_wait_ms=50)
    assert all(isinstance(x, RuntimeError) for x in bad)  # both shared the failed call
    assert after.errors == [None]


def test_full_queue_is_refused_and_stop_fails_waiting_requests(analyzer):
    gate = threading.Event()
    rec = Recording(analyzer, gate=gate)

    async def body(b):
        running = asyncio.create_task(b.analyze("m", ["a", "b"]))  # taken by the worker, held at the gate
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(b.analyze("m", ["c", "d", "e"]))  # fills the queue
        await asyncio.sleep(0.01)
        with pytest.raises(ServerBusy, match="queue holds 3"):
            await b.analyze("m", ["f"])
        assert b.queued == 3
        gate.set()
        await running
        await b.stop()  # stopping twice (here and by run) is fine
        return waiting

    waiting = run(rec, body, max_batch_size=2, max_wait_ms=0, max_queue=3)
    assert waiting.done()
    # the waiting request either got its answer before the stop or was told the service is shutting down
    assert waiting.exception() is None or isinstance(waiting.exception(), ServerBusy)


def test_cancelled_requests_are_dropped(analyzer):
    gate = threading.Event()
    rec = Recording(analyzer, gate=gate)

    async def body(b):
        first = asyncio.create_task(b.analyze("m", ["held"]))
        await asyncio.sleep(0.05)
        gone = asyncio.create_task(b.analyze("m", ["client went away"]))
        kept = asyncio.create_task(b.analyze("m", ["client still here"]))
        await asyncio.sleep(0.01)
        gone.cancel()
        gate.set()
        await first
        return await kept

    kept = run(rec, body, max_batch_size=8, max_wait_ms=0)
    assert len(kept) == 1
    assert all("client went away" not in items for items, _ in rec.calls)


def test_workers_run_batches_at_once(analyzer):
    """With two workers, a second batch starts while the first is still in the model."""
    gate = threading.Event()
    rec = Recording(analyzer, gate=gate)

    async def body(b):
        tasks = [asyncio.create_task(b.analyze("m", [t])) for t in TEXTS[:3]]
        await asyncio.sleep(0.2)
        in_model = len(rec.calls)  # both workers are held at the gate
        gate.set()
        await asyncio.gather(*tasks)
        return in_model

    assert run(rec, body, max_batch_size=1, max_wait_ms=0, workers=2) == 2
    assert len(rec.calls) == 3
