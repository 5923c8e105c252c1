"""Bad-input run: 10,000 requests of malformed JSON, huge bodies, wrong types, wrong keys and invalid API keys
(with some good requests among them) against a real ``affectkit serve`` on localhost.

    PYTHONPATH=src python benchmarks/serve_bad_input.py                 # 10,000 requests, 16 at a time
    PYTHONPATH=src python benchmarks/serve_bad_input.py --requests 2000 --concurrency 8

Every case has the one status it must get: 413 for what is too large, 422 for what is malformed or wrong,
401 for a missing or wrong key, 400 for a body that cannot be decoded at all (invalid UTF-8, nesting too deep
for the JSON parser) or a broken HTTP request, 404/405 for a wrong path or method, 200 for good requests. The run prints a table
of counts by case and status, checks that the server is still up afterwards and that its own /metrics saw no
5xx, and exits 1 if any request got another status than its case's, or any 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import httpx

from affectkit.serve.auth import hash_key

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import free_port, start_server, stop_server  # noqa: E402  (same server start-up)


@dataclass
class Case:
    name: str
    group: str
    expect: int
    send: Callable[["Ctx"], Awaitable[int]]


class Ctx:
    def __init__(self, http: httpx.AsyncClient, port: int, key: str) -> None:
        self.http, self.port, self.key = http, port, key

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def post(self, body: bytes, path: str = "/v1/analyze", headers: dict | None = None,
                   content_type: str = "application/json") -> int:
        h = {"content-type": content_type, **self.auth, **(headers or {})}
        return (await self.http.post(path, content=body, headers=h)).status_code

    async def post_json(self, obj, path: str = "/v1/analyze") -> int:
        return await self.post(json.dumps(obj).encode(), path)

    async def raw(self, data: bytes, close_early: bool = False) -> int:
        """Send raw bytes on a fresh connection; return the status of the reply (0 if the server hung up)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(data)
            await writer.drain()
            if close_early:
                writer.write_eof()
            line = await asyncio.wait_for(reader.readline(), 30)
            return int(line.split()[1]) if line.startswith(b"HTTP/") else 0
        finally:
            writer.close()


def json_case(name, group, expect, obj, path="/v1/analyze"):
    return Case(name, group, expect, lambda c: c.post_json(obj, path))


def body_case(name, group, expect, body: bytes, content_type="application/json"):
    return Case(name, group, expect, lambda c: c.post(body, content_type=content_type))


async def _chunked_huge(c: Ctx) -> int:
    async def chunks():
        for _ in range(40):  # 40 x 64 KiB = 2.5 MiB, no Content-Length
            yield b"[" * 65536
    r = await c.http.post("/v1/analyze", content=chunks(), headers={**c.auth, "content-type": "application/json"})
    return r.status_code


async def _upload(c: Ctx, name: str, data: bytes, fields: dict | None = None) -> int:
    r = await c.http.post("/v1/analyze/file", files={"file": (name, data)}, data=fields or {}, headers=c.auth)
    return r.status_code


async def _with_key(c: Ctx, headers: dict) -> int:
    r = await c.http.post("/v1/analyze", json={"text": "hello"}, headers=headers)
    return r.status_code


def cases(max_body: int, max_texts: int, max_chars: int) -> list[Case]:
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        # malformed JSON
        body_case("truncated object", "malformed JSON", 422, b'{"texts": ["a", "b"'),
        body_case("garbage", "malformed JSON", 422, b"\x00\x01 not json at all"),
        body_case("single quotes", "malformed JSON", 422, b"{'text': 'hi'}"),
        body_case("trailing comma", "malformed JSON", 422, b'{"texts": ["a",],}'),
        body_case("NaN literal", "malformed JSON", 422, b'{"text": "a", "top_k": NaN}'),
        body_case("empty body", "malformed JSON", 422, b""),
        body_case("invalid UTF-8", "malformed JSON", 400, b'{"text": "\xff\xfe\xfd"}'),
        body_case("100k nested brackets", "malformed JSON", 400, deep[:max_body - 10] if len(deep) > max_body else deep),
        body_case("JSON array", "malformed JSON", 422, b'["a", "b"]'),
        body_case("JSON null", "malformed JSON", 422, b"null"),
        body_case("form-encoded body", "malformed JSON", 422, b"text=hello", "application/x-www-form-urlencoded"),
        # huge bodies
        body_case("body over the limit", "huge bodies", 413, b'{"texts": ["' + b"x" * (max_body + 10) + b'"]}'),
        Case("chunked body over the limit", "huge bodies", 413, _chunked_huge),
        json_case("too many texts", "huge bodies", 413, {"texts": ["hi"] * (max_texts + 1)}),
        json_case("text too long", "huge bodies", 413, {"texts": ["ok", "x" * (max_chars + 1)]}),
        Case("upload over the limit", "huge bodies", 413, lambda c: _upload(c, "big.txt", b"hello\n" * (max_body // 6 + 10))),
        Case("upload with too many rows", "huge bodies", 413,
             lambda c: _upload(c, "rows.txt", b"hi\n" * (max_texts + 5))),
        Case("declared 3 MB, sent nothing", "huge bodies", 413, lambda c: c.raw(
            b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 3000000\r\nAuthorization: Bearer " + c.key.encode() + b"\r\n\r\n")),
        # wrong types
        json_case("texts is a string", "wrong types", 422, {"texts": "hello"}),
        json_case("texts of numbers", "wrong types", 422, {"texts": [1, 2, 3]}),
        json_case("null in texts", "wrong types", 422, {"texts": ["a", None]}),
        json_case("nested lists", "wrong types", 422, {"texts": [["a"]]}),
        json_case("text is an object", "wrong types", 422, {"text": {"a": 1}}),
        json_case("top_k is a string", "wrong types", 422, {"text": "a", "top_k": "3"}),
        json_case("top_k is a float", "wrong types", 422, {"text": "a", "top_k": 2.5}),
        json_case("top_k negative", "wrong types", 422, {"text": "a", "top_k": -1}),
        json_case("top_k huge", "wrong types", 422, {"text": "a", "top_k": 10**30}),
        json_case("labels is a number", "wrong types", 422, {"text": "a", "labels": 7}),
        json_case("rank: by is a list", "wrong types", 422, {"texts": ["a"], "by": ["valence"]}, "/v1/rank"),
        # wrong keys and values
        json_case("unknown field", "wrong keys", 422, {"text": "a", "top-k": 3}),
        json_case("neither text nor texts", "wrong keys", 422, {"labels": "ekman"}),
        json_case("both text and texts", "wrong keys", 422, {"text": "a", "texts": ["b"]}),
        json_case("unknown model", "wrong keys", 422, {"text": "a", "model": "gpt-17"}),
        json_case("model is a path", "wrong keys", 422, {"text": "a", "model": "/etc"}),
        json_case("unknown label set", "wrong keys", 422, {"text": "a", "labels": "klingon"}),
        json_case("unknown VAD scale", "wrong keys", 422, {"text": "a", "vad_scale": "0..100"}),
        json_case("unknown format", "wrong keys", 422, {"text": "a", "format": "xlsx"}),
        json_case("rank: unknown attribute", "wrong keys", 422, {"texts": ["a"], "by": "hunger"}, "/v1/rank"),
        json_case("rank: missing by", "wrong keys", 422, {"texts": ["a"]}, "/v1/rank"),
        Case("upload: missing column", "wrong keys", 422, lambda c: _upload(c, "t.csv", b"id,body\n1,hi\n")),
        Case("upload: unknown extension", "wrong keys", 422, lambda c: _upload(c, "t.xlsx", b"PK\x03\x04")),
        Case("upload: not parquet", "wrong keys", 422, lambda c: _upload(c, "t.parquet", b"PAR1 nope")),
        Case("upload: no file", "wrong keys", 422, lambda c: _no_file(c)),
        # invalid API keys
        Case("no key", "invalid API keys", 401, lambda c: _with_key(c, {})),
        Case("wrong key", "invalid API keys", 401, lambda c: _with_key(c, {"Authorization": "Bearer ak_wrong"})),
        Case("key off by one char", "invalid API keys", 401,
             lambda c: _with_key(c, {"X-API-Key": c.key[:-1] + ("A" if c.key[-1] != "A" else "B")})),
        Case("basic auth", "invalid API keys", 401, lambda c: _with_key(c, {"Authorization": "Basic dTpw"})),
        Case("bearer without key", "invalid API keys", 401, lambda c: _with_key(c, {"Authorization": "Bearer"})),
        Case("8 KB key", "invalid API keys", 401, lambda c: _with_key(c, {"X-API-Key": "k" * 8192})),
        Case("key digest as key", "invalid API keys", 401, lambda c: _with_key(c, {"X-API-Key": hash_key(c.key)})),
        # broken HTTP
        Case("garbage request line", "broken HTTP", 400, lambda c: c.raw(b"HELLO WORLD\r\n\r\n")),
        Case("invalid Content-Length", "broken HTTP", 400, lambda c: c.raw(
            b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")),
        Case("wrong method", "broken HTTP", 405, lambda c: _status(c.http.get("/v1/analyze", headers=c.auth))),
        Case("unknown path", "broken HTTP", 404, lambda c: _status(c.http.post("/v1/nothing", headers=c.auth))),
        # good requests among the bad
        json_case("good: one text", "good", 200, {"text": "I am so happy today!"}),
        json_case("good: texts with empty rows", "good", 200, {"texts": ["fine", "", "   "], "labels": "ekman"}),
        json_case("good: rank", "good", 200, {"texts": ["great", "awful"], "by": "-valence"}, "/v1/rank"),
        Case("good: upload", "good", 200, lambda c: _upload(c, "t.csv", b"id,text\n1,hello\n2,\n3,bad,row\n")),
    ]


async def _status(request) -> int:
    return (await request).status_code


async def _no_file(c: Ctx) -> int:
    return (await c.http.post("/v1/analyze/file", data={"x": "1"}, headers=c.auth)).status_code


async def run(port: int, key: str, n: int, concurrency: int, all_cases: list[Case]):
    results: dict[str, Counter] = defaultdict(Counter)
    failures: list[str] = []
    order = [all_cases[i % len(all_cases)] for i in range(n)]
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in order:
        queue.put_nowait(case)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        ctx = Ctx(http, port, key)

        async def worker():
            while not queue.empty():
                case = queue.get_nowait()
                try:
                    status = await case.send(ctx)
                except Exception as e:  # the connection failed: counted, never hidden
                    status = f"{type(e).__name__}"
                    if len(failures) < 10:
                        failures.append(f"{case.name}: {e!r}")
                results[case.name][status] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        health = (await http.get("/healthz")).status_code
        metrics = (await http.get("/metrics", headers=ctx.auth)).text
    return results, failures, health, metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--model", default="default")
    args = ap.parse_args(argv)

    from affectkit.serve import Limits, add_key

    limits = Limits()
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.txt"
        key = add_key(keys, "bad-input-run")
        port = free_port()
        server = start_server(port, "--model", args.model, "--keys-file", str(keys), "--rate", "0")
        pid = server.pid
        t0 = time.time()
        try:
            all_cases = cases(limits.max_body_bytes, limits.max_texts, limits.max_text_chars)
            results, failures, health, metrics = asyncio.run(run(port, key, args.requests, args.concurrency,
                                                                 all_cases))
            alive = server.poll() is None
        finally:
            stop_server(server)
        seconds = time.time() - t0

    expect = {c.name: c.expect for c in all_cases}
    groups = {c.name: c.group for c in all_cases}
    statuses = sorted({s for r in results.values() for s in r}, key=str)
    total = Counter()
    wrong = 0
    print(f"{args.requests:,} requests, {args.concurrency} at a time, {seconds:.1f} s, server pid {pid}\n")
    print(f"{'group':17s} {'case':30s} {'expect':>6s}  " + "  ".join(f"{str(s):>6s}" for s in statuses) + "  ok")
    for name in (c.name for c in all_cases):
        counts = results.get(name, Counter())
        ok = set(counts) == {expect[name]}
        wrong += sum(v for s, v in counts.items() if s != expect[name])
        total.update(counts)
        print(f"{groups[name]:17s} {name[:30]:30s} {expect[name]:6d}  "
              + "  ".join(f"{counts.get(s, 0):6d}" for s in statuses) + ("  yes" if ok else "  NO"))
    print(f"{'':17s} {'total':30s} {'':6s}  " + "  ".join(f"{total.get(s, 0):6d}" for s in statuses))
    server_5xx = sum(float(v) for v in re.findall(r'affectkit_http_requests_total\{path="[^"]*",status="5\d\d"\} (\S+)',
                                                   metrics))
    client_5xx = sum(v for s, v in total.items() if isinstance(s, int) and s >= 500)
    print(f"\n5xx responses: {client_5xx} seen by the clients, {server_5xx:g} counted by the server's /metrics")
    print(f"server still up after the run: {'yes' if alive and health == 200 else 'NO'} (/healthz {health})")
    print(f"requests with another status than their case's: {wrong}")
    for f in failures:
        print("  ", f)
    return 0 if (wrong == 0 and client_5xx == 0 and server_5xx == 0 and alive and health == 200) else 1


if __name__ == "__main__":
    sys.exit(main())
