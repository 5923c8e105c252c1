"""The REST API in process (the real app, analyzers and batcher; only the socket is skipped): schema, parity
with the CLI and the Python API, ranking, limits, errors, auth, rate limits, CORS and metrics."""

import io
import json

import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from conftest import run_cli  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from serve_support import TEXTS, model_spec  # noqa: E402

import affectkit  # noqa: E402
from affectkit.ranking import attribute_scores, rank_order  # noqa: E402
from affectkit.schema import BatchPrediction  # noqa: E402
from affectkit.serve import Limits, ServeSettings, create_app, hash_key  # noqa: E402


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return model_spec(tmp_path_factory)


def make_client(spec, raise_server_exceptions=True, **kw) -> TestClient:
    limits = kw.pop("limits", Limits(rate=0))
    return TestClient(create_app(ServeSettings(models=[spec], limits=limits, **kw)), base_url="http://127.0.0.1",
                      raise_server_exceptions=raise_server_exceptions)


@pytest.fixture(scope="module")
def client(spec):
    with make_client(spec, limits=Limits(rate=0, max_texts=20, max_text_chars=500, max_body_bytes=64_000)) as c:
        yield c


def post(client, body, path="/v1/analyze", **kw):
    return client.post(path, json=body, **kw)


# -- what comes back -------------------------------------------------------------------------------------------------
def test_analyze_returns_predictions_in_order_like_the_python_api(client, spec):
    r = post(client, {"texts": TEXTS + [""], "labels": "ekman", "top_k": 2})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["model"] == spec and body["labelset"] == "ekman"
    expected = [p.to_dict() for p in affectkit.analyze(TEXTS + [""], model=spec, labels="ekman", top_k=2)]
    assert body["predictions"] == json.loads(json.dumps(expected))  # the very same Prediction.to_dict()
    first = body["predictions"][0]
    assert len(first["emotions"]) == 2 and set(first["distribution"]) == set(affectkit.get_labelset("ekman"))
    assert abs(sum(first["distribution"].values()) - 1) < 1e-6
    assert body["predictions"][-1]["error"] == "empty text" and body["predictions"][-1]["emotions"] == []


def test_single_text_and_vad_scale(client, spec):
    one = post(client, {"text": TEXTS[0]}).json()["predictions"]
    on_1_5 = post(client, {"text": TEXTS[0], "vad_scale": "1..5"}).json()["predictions"]
    assert len(one) == 1 and on_1_5[0]["vad_scale"] == "1..5"
    assert on_1_5[0]["valence"] == pytest.approx(affectkit.convert_vad(one[0]["valence"], "-1..1", "1..5"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_tabular_output_is_what_the_cli_writes(client, spec, tmp_path, fmt):
    """Same input, same output: the service's csv/jsonl rows are the rows `affectkit analyze` writes."""
    src = tmp_path / "in.jsonl"
    pd.DataFrame({"text": TEXTS}).to_json(src, orient="records", lines=True)
    out = tmp_path / f"cli.{fmt}"
    r = run_cli("analyze", str(src), "-o", str(out), "--model", spec, "--labels", "ekman", "--top-k", "2", "-q")
    assert r.returncode == 0, r.stderr
    served = post(client, {"texts": TEXTS, "labels": "ekman", "top_k": 2, "format": fmt})
    assert served.status_code == 200
    assert "attachment" in served.headers["content-disposition"]
    assert served.content == out.read_bytes()


def test_at_least_one_label_is_the_python_api_on_every_route(client, spec):
    texts = TEXTS + ["ok", ""]
    expected = [p.to_dict() for p in affectkit.analyze(texts, model=spec, labels="plutchik", at_least_one_label=True)]
    assert all(e["labels"] for e in expected[:-1]) and not expected[-1]["labels"]  # the empty text failed
    body = {"texts": texts, "labels": "plutchik", "at_least_one_label": True}
    assert post(client, body).json()["predictions"] == json.loads(json.dumps(expected))
    table = pd.read_csv(io.StringIO(post(client, {**body, "format": "csv"}).text), keep_default_na=False)
    assert table["labels"].tolist() == [";".join(e["labels"]) for e in expected]
    files = {"file": ("in.csv", pd.DataFrame({"text": texts}).to_csv(index=False).encode())}
    upload = client.post("/v1/analyze/file", files=files, data={"labels": "plutchik", "at_least_one_label": "true"})
    assert [p["labels"] for p in upload.json()["predictions"]] == [e["labels"] for e in expected]
    ranked = post(client, {"texts": texts[:-1], "by": "joy", "labels": "plutchik", "at_least_one_label": True},
                  path="/v1/rank").json()
    assert all(item["prediction"]["labels"] for item in ranked["ranking"])


def test_uploaded_table_matches_the_cli_on_the_same_file(client, spec, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text,group\n1,"I love this, truly",a\n2,,b\n3,too,many,fields\n4,I miss her so much,a\n')
    out = tmp_path / "cli.csv"
    r = run_cli("analyze", str(src), "-o", str(out), "--model", spec, "-q")
    assert r.returncode == 0, r.stderr
    files = {"file": ("in.csv", src.read_bytes(), "text/csv")}
    served = client.post("/v1/analyze/file", files=files, data={"format": "csv"})
    assert served.status_code == 200 and served.content == out.read_bytes()
    body = client.post("/v1/analyze/file", files=files).json()  # JSON: predictions with the row texts
    assert body["texts"] == ["I love this, truly", "", "too", "I miss her so much"]
    errors = [p["error"] for p in body["predictions"]]
    assert errors[0] is None and errors[1] == "empty text" and "expected 3 fields, found 4" in errors[2]
    cli_rows = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert [p["emotions"][0]["label"] if p["emotions"] else None for p in body["predictions"]] == \
        [None if pd.isna(x) else x for x in cli_rows["emotion_1"]]


def test_upload_with_clashing_columns_needs_a_prefix(client):
    files = {"file": ("in.csv", b"text,error\nI love it,none\n")}
    clash = client.post("/v1/analyze/file", files=files, data={"format": "csv"})
    assert clash.status_code == 422 and "already exist" in clash.json()["detail"]
    ok = client.post("/v1/analyze/file", files=files, data={"format": "csv", "prefix": "ak_"})
    assert ok.status_code == 200 and ok.text.splitlines()[0].startswith("text,error,ak_emotion_1,")


def test_upload_errors(client):
    bad_col = client.post("/v1/analyze/file", files={"file": ("in.csv", b"id,body\n1,hello\n")})
    assert bad_col.status_code == 422 and "column 'text' not found" in bad_col.json()["detail"]
    assert "upload." not in bad_col.json()["detail"]  # says the client's file name, not the server's temp path
    unknown = client.post("/v1/analyze/file", files={"file": ("in.xlsx", b"PK...")})
    assert unknown.status_code == 422 and "cannot tell the format" in unknown.json()["detail"]
    not_parquet = client.post("/v1/analyze/file", files={"file": ("in.parquet", b"not parquet at all")})
    assert not_parquet.status_code == 422
    for n, needle in ((21, "21 rows in one request, over the limit of 20"), (50, "more than 20 rows")):
        many = client.post("/v1/analyze/file", files={"file": ("in.txt", "\n".join(["hi"] * n).encode())})
        assert many.status_code == 413 and needle in many.json()["detail"]


def test_rank_uses_the_ranking_module(client, spec):
    texts = TEXTS + [""]
    body = post(client, {"texts": texts, "by": "-valence", "top_k": 1}, "/v1/rank").json()
    batch = affectkit.load(spec).analyze_batch(texts)
    order = rank_order(attribute_scores(batch, "-valence")).tolist()
    assert [item["index"] for item in body["ranking"]] == order
    assert [item["rank"] for item in body["ranking"]] == list(range(1, len(texts) + 1))
    assert body["ranking"][-1]["index"] == len(texts) - 1 and body["ranking"][-1]["value"] is None  # failed: last
    values = [item["value"] for item in body["ranking"][:-1]]
    assert values == sorted(values)  # ascending valence
    assert body["ranking"][0]["value"] == pytest.approx(batch.vad[order[0], 0])
    labels = post(client, {"texts": TEXTS, "by": "sadness+fear", "labels": "ekman"}, "/v1/rank").json()
    ek = affectkit.load(spec).analyze_batch(TEXTS, "ekman")
    assert [i["index"] for i in labels["ranking"]] == rank_order(attribute_scores(ek, "sadness+fear")).tolist()
    bad = post(client, {"texts": TEXTS, "by": "hunger"}, "/v1/rank")
    assert bad.status_code == 422 and "unknown attribute 'hunger'" in bad.json()["detail"]


def test_models_labelsets_health_and_docs(client, spec):
    models = client.get("/v1/models").json()
    assert models["default"] == spec and models["models"][0]["id"] == spec
    assert "path" not in models["models"][0]  # no server file paths to clients
    sets = client.get("/v1/labelsets").json()["labelsets"]
    assert {"goemotions", "ekman", "plutchik"} <= {s["name"] for s in sets}
    assert client.get("/healthz").json()["status"] == "ok"
    api = client.get("/openapi.json").json()
    assert {"/v1/analyze", "/v1/analyze/file", "/v1/rank", "/v1/models", "/v1/labelsets"} <= set(api["paths"])
    assert "Prediction" in api["components"]["schemas"]
    assert api["paths"]["/v1/analyze"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in api["paths"]["/healthz"]["get"]


# -- bad input: clear 413/422, never a stack trace ---------------------------------------------------------------------
@pytest.mark.parametrize("body,status,needle", [
    ({"text": "a", "texts": ["b"]}, 422, "either 'text'"),
    ({}, 422, "either 'text'"),
    ({"texts": "not a list"}, 422, "valid list"),
    ({"texts": [1, 2]}, 422, "valid string"),
    ({"texts": [None]}, 422, "valid string"),
    ({"texts": ["a"], "top-k": 2}, 422, "Extra inputs"),
    ({"texts": ["a"], "top_k": 0}, 422, "greater than or equal to 1"),
    ({"texts": ["a"], "top_k": "3"}, 422, "valid integer"),
    ({"texts": ["a"], "model": "../../etc/passwd"}, 422, "unknown model"),
    ({"texts": ["a"], "model": "hf:some/model"}, 422, "unknown model"),
    ({"texts": ["a"], "labels": "nope"}, 422, "unknown label set 'nope'"),
    ({"texts": ["a"], "vad_scale": "0..100"}, 422, "unknown VAD scale"),
    ({"texts": ["a"], "format": "xml"}, 422, "'json', 'csv' or 'jsonl'"),
    ({"texts": ["a"] * 21}, 413, "21 texts in one request, over the limit of 20"),
    ({"texts": ["a", "x" * 501]}, 413, "texts[1] has 501 characters, over the limit of 500"),
])
def test_bad_requests_get_clear_errors(client, body, status, needle):
    r = post(client, body)
    assert r.status_code == status, r.text
    assert needle in r.text


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[1, 2]", b"\xff\xfe", b"{" * 100_00 + b"}" * 100_00, b"null"])
def test_malformed_bodies(client, raw):
    r = client.post("/v1/analyze", content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert "Traceback" not in r.text and isinstance(r.json()["detail"], (str, list))


def test_body_size_limit_by_header_and_by_stream(client):
    big = json.dumps({"texts": ["x" * 400] * 200}).encode()  # 80 kB > 64 kB
    r = client.post("/v1/analyze", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit of 64,000 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while reading
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    r = client.post("/v1/analyze", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit of 64,000 bytes" in r.json()["detail"]
    upload = client.post("/v1/analyze/file", files={"file": ("big.txt", b"hello\n" * 20_000)})
    assert upload.status_code == 413


def test_internal_errors_are_generic_and_logged(spec, monkeypatch, caplog):
    def explode(self, *a, **k):
        raise RuntimeError("secret detail at /srv/affectkit/internal.py")

    with make_client(spec, raise_server_exceptions=False) as c:
        monkeypatch.setattr(BatchPrediction, "to_predictions", explode)  # fault injection
        r = post(c, {"text": "hello"})
        assert r.status_code == 500
        assert r.json()["detail"].startswith("internal server error (reference ")
        assert "secret" not in r.text and "Traceback" not in r.text
        assert any("secret detail" in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)
        monkeypatch.undo()
        assert post(c, {"text": "hello"}).status_code == 200  # and it keeps serving


# -- auth, rate limits, CORS, headers, metrics -------------------------------------------------------------------------
def test_api_keys(spec, monkeypatch):
    monkeypatch.setenv("AFFECTKIT_API_KEY_HASHES", f"alice={hash_key('ak_right')}")
    with make_client(spec, host="0.0.0.0") as c:
        missing = post(c, {"text": "hi"})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "missing API key" in missing.json()["detail"]
        wrong = post(c, {"text": "hi"}, headers={"Authorization": "Bearer ak_wrong"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
        assert post(c, {"text": "hi"}, headers={"Authorization": "Bearer ak_right"}).status_code == 200
        assert post(c, {"text": "hi"}, headers={"X-API-Key": "ak_right"}).status_code == 200
        assert c.get("/v1/models").status_code == 401 and c.get("/metrics").status_code == 401
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200  # no data there
        assert c.get("/healthz").json()["auth"] is True
        # a bad key is refused before the body is even read
        r = c.post("/v1/analyze", content=b"{broken", headers={"X-API-Key": "nope", "content-type": "application/json"})
        assert r.status_code == 401


def test_rate_limit_per_key(spec, monkeypatch):
    monkeypatch.setenv("AFFECTKIT_API_KEY_HASHES", f"a={hash_key('ak_a')},b={hash_key('ak_b')}")
    with make_client(spec, limits=Limits(rate=1, burst=2)) as c:
        now = [1000.0]
        c.app.state.rate_limiter.clock = lambda: now[0]  # a fake clock: no sleeping, no timing flakes
        a = {"X-API-Key": "ak_a"}
        assert [c.get("/v1/labelsets", headers=a).status_code for _ in range(2)] == [200, 200]
        limited = c.get("/v1/labelsets", headers=a)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert "rate limit of 1 requests/s exceeded" in limited.json()["detail"]
        assert c.get("/v1/labelsets", headers={"X-API-Key": "ak_b"}).status_code == 200  # b has its own bucket
        now[0] += 0.5  # half a token refilled: still limited
        assert c.get("/v1/labelsets", headers=a).status_code == 429
        now[0] += 0.5
        assert c.get("/v1/labelsets", headers=a).status_code == 200
        metrics = c.get("/metrics", headers={"X-API-Key": "ak_b"}).text
        assert 'affectkit_rejected_requests_total{reason="rate"} 2.0' in metrics


def test_auth_off_answers_only_on_loopback(spec):
    """An app built without keys (so for 127.0.0.1) but run on a public address refuses to answer."""
    app = create_app(ServeSettings(models=[spec], limits=Limits(rate=0)))
    with TestClient(app, base_url="http://192.0.2.10") as c:
        r = post(c, {"text": "hi"})
        assert r.status_code == 403 and "only on a loopback address" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200
    with TestClient(app, base_url="http://[::1]") as c:
        assert post(c, {"text": "hi"}).status_code == 200


def test_cors_is_off_by_default_and_settable(client, spec):
    origin = {"Origin": "http://evil.example"}
    r = post(client, {"text": "hi"}, headers=origin)
    assert "access-control-allow-origin" not in r.headers
    preflight = client.options("/v1/analyze", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    with make_client(spec, cors_origins=["http://app.example"]) as c:
        ok = c.options("/v1/analyze", headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "authorization,content-type"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://app.example"
        other = post(c, {"text": "hi"}, headers=origin)
        assert "access-control-allow-origin" not in other.headers


def test_security_headers_and_page(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http" not in page.text  # nothing loaded from elsewhere
    for asset in ("/static/app.js", "/static/style.css"):
        r = client.get(asset)
        assert r.status_code == 200
        assert "http" not in r.text.replace('"http://www.w3.org/2000/svg"', "")  # (the SVG namespace is a name)


def test_metrics_count_requests_and_batches(spec):
    with make_client(spec) as c:
        for _ in range(3):
            post(c, {"texts": TEXTS[:2]})
        post(c, {"texts": [1]})
        families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
    requests = {(s.labels["path"], s.labels["status"]): s.value for s in families["affectkit_http_requests"].samples
                if s.name.endswith("_total")}
    assert requests[("/v1/analyze", "200")] == 3 and requests[("/v1/analyze", "422")] == 1
    texts = [s for s in families["affectkit_texts"].samples if s.name.endswith("_total")]
    assert texts[0].value == 6
    batch_count = [s for s in families["affectkit_batch_texts"].samples if s.name.endswith("_count")][0].value
    assert 1 <= batch_count <= 3
    assert "affectkit_queue_texts" in families


def test_unknown_paths_do_not_grow_the_metric_labels(client):
    for i in range(5):
        assert client.get(f"/scan/{i}").status_code == 404
    text = client.get("/metrics").text
    assert "/scan/" not in text and 'path="other"' in text


def test_fast_prediction_to_dict_equals_dataclasses_asdict(spec):
    """The service serialises with Prediction.to_dict (rewritten for speed): it must equal asdict exactly."""
    import dataclasses

    batch = affectkit.load(spec).analyze_batch([TEXTS[0], "", TEXTS[1]], "ekman")
    batch.extra["emotion_words"] = [["glad", "thankful"], None, []]
    batch.extra["usage"] = [{"tokens": 3, "seconds": 0.5}, None, None]
    for p in batch.to_predictions(3, "1..5"):
        d = p.to_dict()
        assert d == dataclasses.asdict(p) and list(d) == [f.name for f in dataclasses.fields(p)]
        assert p.to_json() == json.dumps(dataclasses.asdict(p), ensure_ascii=False)
        d["distribution"]["anger"] = -1.0  # a copy: changing it leaves the prediction alone
        if d["extra"].get("usage"):
            d["extra"]["usage"]["tokens"] = 0
        assert p.distribution.get("anger") != -1.0 and (not p.extra.get("usage") or p.extra["usage"]["tokens"] == 3)


# -- issue 18, second probe ----------------------------------------------------------------------------------------
def test_auth_off_answers_only_to_loopback_host_names(client, spec, monkeypatch):
    """Finding 10: with auth off any Host was accepted, which let a web page reach the service by DNS rebinding."""
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1", "localhost.evil.example"):
        r = post(client, {"text": "hi"}, headers={"host": host})
        assert r.status_code == 421, (host, r.text)
        assert "answers only to loopback names" in r.json()["detail"]
        assert client.get("/", headers={"host": host}).status_code == 421  # the page too
    for host in ("localhost", "localhost:8000", "LOCALHOST.", "127.0.0.1:8000", "127.0.0.2", "[::1]:8000"):
        assert post(client, {"text": "hi"}, headers={"host": host}).status_code == 200, host
    assert 'affectkit_rejected_requests_total{reason="host"}' in client.get("/metrics").text
    monkeypatch.setenv("AFFECTKIT_API_KEY_HASHES", f"alice={hash_key('ak_right')}")
    with make_client(spec, host="0.0.0.0") as c:  # auth on: the key is what counts, whatever the Host
        r = post(c, {"text": "hi"}, headers={"host": "api.example.com", "X-API-Key": "ak_right"})
        assert r.status_code == 200


def _parquet(tmp_path, texts, row_group_size=None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"text": texts}), path, compression="zstd", row_group_size=row_group_size)
    return path.read_bytes()


def test_parquet_upload_bomb_is_refused_from_its_metadata(client, tmp_path, monkeypatch):
    """Finding 9: a 225 KB upload that decompressed to 60 M rows was read whole, then refused with 413."""
    import pyarrow.parquet as pq

    many = _parquet(tmp_path, ["same text"] * 2_000_000)
    wide = _parquet(tmp_path, ["x" * 200_000] * 5)  # 5 rows, 1 MB once decompressed
    assert len(many) < 64_000 and len(wide) < 64_000  # under the body limit

    def no_decoding(self, *a, **k):
        raise AssertionError("rows were decoded before the limits were checked")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_decoding)
    monkeypatch.setattr(pq.ParquetFile, "read", no_decoding)
    r = client.post("/v1/analyze/file", files={"file": ("bomb.parquet", many)})
    assert r.status_code == 413 and "the file has 2,000,000 rows, over the limit of 20" in r.json()["detail"]
    r = client.post("/v1/analyze/file", files={"file": ("wide.parquet", wide)})
    assert r.status_code == 413 and "bytes of data once decompressed, over the limit of 40,000" in r.json()["detail"]
    monkeypatch.undo()
    ok = client.post("/v1/analyze/file", files={"file": ("ok.parquet", _parquet(tmp_path, TEXTS))})
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == len(TEXTS)


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-2+3", "@SUM(A1:A9)", "\tcmd", "fine"]


def test_csv_download_escapes_formulas(client, tmp_path):
    """Finding 11: cells beginning with = + - @ passed through to the CSV download."""
    r = post(client, {"texts": FORMULAS, "format": "csv"})
    assert r.status_code == 200
    frame = pd.read_csv(io.StringIO(r.text), dtype=str, keep_default_na=False)
    assert frame["text"].tolist() == ["'" + t for t in FORMULAS[:5]] + ["fine"]
    raw = post(client, {"texts": FORMULAS, "format": "csv", "escape_formulas": False})
    assert pd.read_csv(io.StringIO(raw.text), dtype=str, keep_default_na=False)["text"].tolist() == FORMULAS
    jsonl = post(client, {"texts": FORMULAS, "format": "jsonl"})  # JSON is data, never run: left alone
    assert [json.loads(line)["text"] for line in jsonl.text.splitlines()] == FORMULAS
    upload = io.StringIO()
    pd.DataFrame({"text": FORMULAS, "@note": ["=1"] * len(FORMULAS)}).to_csv(upload, index=False)
    up = client.post("/v1/analyze/file", files={"file": ("in.csv", upload.getvalue().encode())},
                     data={"format": "csv"})
    frame = pd.read_csv(io.StringIO(up.text), dtype=str, keep_default_na=False)
    assert frame["text"].tolist()[:2] == ["'" + t for t in FORMULAS[:2]] and frame["'@note"].tolist()[0] == "'=1"


def test_lone_surrogates_are_item_errors_and_never_reach_the_model(spec, caplog):
    """Finding 21: a lone surrogate must be the item's error, not a failed model call retried text by text."""
    import logging

    from affectkit.analyzers import load

    analyzer = load(spec)
    seen: list[str] = []
    real = type(analyzer).predict_batch

    def recording(self, items, labels=None):
        seen.extend(items)
        return real(self, items, labels)

    body = '{"texts": ["I love it", "\\ud800 broken", "ok \\udfff", "fine \\ud83d\\ude00"]}'
    with make_client(spec) as c, caplog.at_level(logging.WARNING):
        type(analyzer).predict_batch = recording
        try:
            r = c.post("/v1/analyze", content=body, headers={"content-type": "application/json"})
        finally:
            type(analyzer).predict_batch = real
    errors = [p["error"] for p in r.json()["predictions"]]
    assert r.status_code == 200 and errors[0] is None and errors[3] is None
    assert errors[1] == "invalid text: unpaired surrogate U+D800 at character 0"
    assert errors[2] == "invalid text: unpaired surrogate U+DFFF at character 3"
    assert seen == ["I love it", "fine \U0001F600"]
    assert "retrying item by item" not in caplog.text
