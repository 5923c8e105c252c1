"""The service's lean per-request path: JSON encoding (orjson or the standard library, the same values),
``fields`` on request, predictions rendered once per batch in the model thread, and the settings that travel to
the worker processes of ``affectkit serve --processes N``."""

import asyncio
import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from fastapi.testclient import TestClient
from serve_support import TEXTS, model_spec

import affectkit
from affectkit.serve import (
    Limits,
    ServeSettings,
    create_app,
    encoding,
)
from affectkit.serve.batcher import MicroBatcher
from affectkit.serve.encoding import RenderJSON, check_fields, dumps, json_object, prediction_json
from affectkit.serve.processes import settings_from_json, settings_to_json


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return model_spec(tmp_path_factory)


@pytest.fixture(scope="module")
def analyzer(spec):
    return affectkit.load(spec)


def test_encoding_gives_the_standard_librarys_json_values(analyzer, monkeypatch):
    prediction = analyzer.analyze_batch(TEXTS[:1]).to_predictions(3)[0]
    fast = prediction_json(prediction)
    monkeypatch.setattr(encoding, "orjson", None)  # the fallback path: json.dumps
    slow = prediction_json(prediction)
    assert json.loads(fast) == json.loads(slow) == json.loads(prediction.to_json())
    assert json.loads(json_object({"model": "m"}, "predictions", [fast, slow])) == {
        "model": "m", "predictions": [json.loads(slow)] * 2}


def test_lone_surrogates_are_escaped_not_refused():
    value = {"text": "bad \udc80 byte", "n": 1}
    assert dumps(value) == b'{"text": "bad \\udc80 byte", "n": 1}'  # json.dumps's separators, escape kept
    assert json.loads(dumps(value)) == value


def test_fields_are_checked_and_kept_in_the_order_asked(analyzer):
    assert check_fields(["valence", "emotions", "valence"]) == ["valence", "emotions"]
    with pytest.raises(ValueError, match="unknown prediction field.*'mood'.*the fields are: labelset"):
        check_fields(["mood", "valence"])
    prediction = analyzer.analyze_batch(TEXTS[:1]).to_predictions(3)[0]
    assert list(json.loads(prediction_json(prediction, ["valence", "error"]))) == ["valence", "error"]


def test_requests_with_the_same_render_are_rendered_once_per_batch(analyzer):
    calls = []

    class CountingRender(RenderJSON):
        def __call__(self, batch):
            calls.append(len(batch))
            return super().__call__(batch)

    async def scenario():
        batcher = MicroBatcher({"m": analyzer}, max_batch_size=64, max_wait_ms=50)
        await batcher.start()
        try:
            render = CountingRender(2, "1..5", ("emotions", "valence"))
            return await asyncio.gather(*(batcher.analyze("m", [t], None, render=render) for t in TEXTS),
                                        batcher.analyze("m", TEXTS[:2]))
        finally:
            await batcher.stop()

    *rendered, plain = asyncio.run(scenario())
    assert calls == [len(TEXTS)]  # one render call for the five requests that shared the model call
    expected = analyzer.analyze_batch(TEXTS + TEXTS[:2]).to_predictions(2, "1..5")  # the batch the model saw
    for rows, p in zip(rendered, expected):
        assert rows == [prediction_json(p, ("emotions", "valence"))]
    assert len(plain) == 2 and plain.labelset == analyzer.labelset  # no render: a BatchPrediction as before


def test_fields_on_request_over_http(spec):
    app = create_app(ServeSettings(models=[spec], limits=Limits(rate=0)))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        full = client.post("/v1/analyze", json={"texts": TEXTS[:2]}).json()
        some = client.post("/v1/analyze", json={"texts": TEXTS[:2], "fields": ["emotions", "valence"]}).json()
        assert [list(p) for p in some["predictions"]] == [["emotions", "valence"]] * 2
        assert [p["valence"] for p in some["predictions"]] == [p["valence"] for p in full["predictions"]]
        ranked = client.post("/v1/rank", json={"texts": TEXTS[:3], "by": "valence", "fields": ["valence"]}).json()
        assert all(list(r["prediction"]) == ["valence"] for r in ranked["ranking"])
        bad = client.post("/v1/analyze", json={"text": "x", "fields": ["mood"]})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "fields"]


def test_settings_travel_to_worker_processes_unchanged():
    settings = ServeSettings(host="127.0.0.1", port=8123, models=["default", "fast"], max_batch_size=32,
                             limits=Limits(rate=5.0, max_texts=7), cors_origins=["http://a.example"], page=False)
    again, level = settings_from_json(settings_to_json(settings, "warning"))
    assert again == settings and level == "warning"


def test_a_request_cut_into_pieces_gets_its_rendered_rows_in_order(analyzer):
    async def scenario():
        batcher = MicroBatcher({"m": analyzer}, max_batch_size=2, max_wait_ms=0)
        await batcher.start()
        try:
            return await batcher.analyze("m", TEXTS, None, render=RenderJSON())
        finally:
            await batcher.stop()

    rows = asyncio.run(scenario())  # 5 texts in batches of at most 2: three model calls, three renders
    expected = [prediction_json(p) for a in range(0, len(TEXTS), 2)
                for p in analyzer.analyze_batch(TEXTS[a:a + 2]).to_predictions(3)]
    assert rows == expected
