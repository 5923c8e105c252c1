"""A client for OpenAI-compatible chat completion servers (vLLM, llama.cpp, Ollama, hosted APIs) that survives
the ways real servers fail.

- A deadline on every request: ``timeout`` seconds for the whole attempt (connecting, sending, the reply's
  headers and body together), not per read, so a server that drips a byte at a time cannot hold a row for longer.
  Retries with exponential backoff and jitter after HTTP 408/409/425/429/5xx, timeouts, refused or dropped
  connections and bodies that are not JSON, honouring ``Retry-After``.
- A cap on the reply: at most ``max_reply_bytes`` are read (the response is streamed, and a larger one is
  dropped unread as a row error); error messages quote at most 300 characters of what the server sent.
- At most ``concurrency`` requests in flight (a thread pool over one pooled ``httpx.Client``); results come back
  in input order.
- Structured output: the reply's JSON schema goes to the server as ``response_format``, first the OpenAI form
  (``json_schema``), then the llama-cpp-python form (``json_object`` with ``schema``), then none; the first form
  the server accepts is kept. Whatever the server did, the reply is parsed, repaired and validated
  (:mod:`affectkit.llm.parsing`).
- A disk cache of successful replies keyed by model, prompt id (name and version), messages, schema and sampling
  options.
- Token counts, attempts and seconds per request, and running totals for the job summary.

Errors never escape as exceptions from :meth:`ChatClient.complete`: a failed request gives a :class:`ChatResult`
whose ``error`` says why, with any secret removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import diskcache
import httpcore
import httpx

from affectkit.llm.parsing import ReplyError, parse_reply
from affectkit.llm.settings import LLMConfigError, LLMSettings, redact, redact_url
from affectkit.llm.templates import RenderedPrompt, relaxed_schema

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_MESSAGE_CHARS = 300  # the most of a server's words that an error message (a row's error cell) quotes
FORMATS = ("json_schema", "json_object", "none")
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|grammar|schema", re.IGNORECASE)


class LLMRequestError(Exception):
    """A request that failed for good (after retries, or with a status that retrying cannot fix)."""

    def __init__(self, message: str, status: int | None = None, body: str = "", attempts: int = 1,
                 transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.attempts = attempts
        self.transient = transient  # a fault retrying might have fixed (timeouts, connections, 429/5xx)


@dataclass
class ChatResult:
    """One request's outcome: the validated reply ``data``, or ``error``; plus usage."""

    data: dict[str, Any] | None = None
    error: str | None = None
    content: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    attempts: int = 0
    cached: bool = False
    answered: bool = False  # a reply came (from the server or the cache), usable or not
    repairs: list[str] = field(default_factory=list)

    def usage(self) -> dict[str, Any]:
        """What goes in a row's ``extra["usage"]``."""
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "seconds": round(self.seconds, 3), "attempts": self.attempts, "cached": self.cached}


@dataclass
class UsageTotals:
    """Running totals over a client's life, for the run summary."""

    prompts: int = 0  # prompts handled (answered, failed or skipped)
    requests: int = 0  # HTTP attempts sent
    replies: int = 0  # prompts the server (or the cache) answered with a reply, usable or not
    cache_hits: int = 0
    retries: int = 0
    failed: int = 0
    repaired: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0  # summed request time (requests overlap when concurrency > 1)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d


def default_cache_dir() -> Path:
    """``$AFFECTKIT_CACHE_DIR/llm``, else ``$XDG_CACHE_HOME/affectkit/llm`` (``~/.cache/affectkit/llm``)."""
    root = os.environ.get("AFFECTKIT_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "llm"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "affectkit" / "llm"


class ChatClient:
    """Chat completions against one server and model. Thread-safe; close it (or use ``with``) when done."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url:
            raise LLMConfigError(
                "no LLM server given: use llm:MODEL@BASE_URL (e.g. llm:qwen2.5@http://localhost:8000/v1), set "
                "AFFECTKIT_LLM_BASE_URL (or OPENAI_BASE_URL), or put base_url in the LLM config file")
        self.settings = settings
        headers = {"User-Agent": "affectkit-llm"}
        key = settings.api_key.get()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        headers["Accept-Encoding"] = "identity"  # max_reply_bytes counts what is read: no compressed bombs
        timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
        limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
        self._http = httpx.Client(base_url=settings.base_url + "/", headers=headers, timeout=timeout, limits=limits)
        _install_deadlines(self._http)
        self._lock = threading.Lock()
        self._format: str | None = None if settings.structured == "auto" else settings.structured
        self._model: str | None = settings.model
        self._cache: Any = None
        self._failures_in_a_row = 0  # requests that failed for good with transient faults, since the last success
        self._open_until = 0.0  # circuit breaker: until then, requests fail at once instead of waiting on retries
        self._last_failure = ""
        self.totals = UsageTotals()

    # -- public --------------------------------------------------------------------------------------------------
    @property
    def structured_format(self) -> str | None:
        """The ``response_format`` form in use (``None`` until a server answered under ``auto``)."""
        return self._format

    def model(self) -> str:
        """The model name; asks the server's ``/models`` when none was configured and it serves exactly one."""
        if self._model:
            return self._model
        with self._lock:
            if self._model:
                return self._model
            try:
                with _deadline(self.settings.timeout):
                    with self._http.stream("GET", "models") as r:
                        data, _ = _read_capped(r, self.settings.max_reply_bytes)
                r.raise_for_status()
                ids = [m.get("id") for m in json.loads(data).get("data", []) if isinstance(m, dict)]
            except (httpx.HTTPError, ValueError, AttributeError) as e:
                raise LLMConfigError(self._redact(
                    f"no LLM model given and listing the models of {redact_url(self.settings.base_url)} failed "
                    f"({type(e).__name__}: {e}); use llm:MODEL or set AFFECTKIT_LLM_MODEL")) from None
            if len(ids) != 1:
                raise LLMConfigError(f"no LLM model given and the server offers {len(ids)}: "
                                     f"{', '.join(map(str, ids[:20]))}; choose one with llm:MODEL")
            self._model = str(ids[0])
            return self._model

    def complete(self, prompt: RenderedPrompt) -> ChatResult:
        """Send one prompt; the result holds the validated reply or an error (never raises for server faults)."""
        try:
            body = self._body(prompt)
        except LLMConfigError as e:
            return self._record(ChatResult(error=str(e)))
        key = self._cache_key(prompt, body)
        hit = self._cache_get(key)
        if hit is not None:
            result = self._parse(prompt, hit["content"], hit.get("finish_reason"))
            if result.error is None:
                result.cached = result.answered = True
                return self._record(result)
        skip = self._breaker_open()
        if skip:
            return self._record(ChatResult(error=skip))
        t0 = time.perf_counter()
        result = ChatResult()
        try:
            payload, result.attempts = self._send_negotiating(body, prompt)
            result.answered = True
            content, finish = _message_content(payload)
            usage = payload.get("usage") or {}
            result.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            result.completion_tokens = int(usage.get("completion_tokens") or 0)
            parsed = self._parse(prompt, content, finish)
            result.data, result.error, result.content, result.repairs = (parsed.data, parsed.error, content,
                                                                         parsed.repairs)
            if result.error is None:
                self._cache_put(key, {"content": content, "finish_reason": finish})
            self._breaker_success()
        except LLMRequestError as e:
            result.error = self._redact(str(e))
            result.attempts = e.attempts
            if e.transient:
                self._breaker_failure(result.error)
            else:
                self._breaker_success()  # the server answered
        result.seconds = time.perf_counter() - t0
        return self._record(result)

    def complete_many(self, prompts: list[RenderedPrompt]) -> list[ChatResult]:
        """:meth:`complete` for many prompts, ``concurrency`` at a time, results in input order."""
        if not prompts:
            return []
        results: list[ChatResult | None] = [None] * len(prompts)
        start = 0
        if self._format is None:  # learn which response_format the server takes before fanning out
            results[0] = self.complete(prompts[0])
            start = 1
        rest = list(range(start, len(prompts)))
        if len(rest) <= 1 or self.settings.concurrency == 1:
            for i in rest:
                results[i] = self.complete(prompts[i])
        else:
            with ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(rest)),
                                    thread_name_prefix="affectkit-llm") as pool:
                for i, res in zip(rest, pool.map(self.complete, [prompts[i] for i in rest])):
                    results[i] = res
        return [r if r is not None else ChatResult(error="not run") for r in results]

    def close(self) -> None:
        self._http.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> "ChatClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------------------------------
    def _body(self, prompt: RenderedPrompt) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {"model": self.model(), "messages": prompt.messages, "max_tokens": s.max_tokens,
                                "temperature": s.temperature}
        if s.seed is not None:
            body["seed"] = s.seed
        return body

    def _send_negotiating(self, body: dict[str, Any], prompt: RenderedPrompt) -> tuple[dict[str, Any], int]:
        """Send with the structured-output form in use; under ``auto``, step down the forms the server rejects."""
        attempts = 0
        form = self._format or FORMATS[0]
        while True:
            full = dict(body)
            rf = _response_format(form, prompt)
            if rf is not None:
                full["response_format"] = rf
            try:
                payload, n = self._send(full)
            except LLMRequestError as e:
                attempts += e.attempts
                if self.settings.structured == "auto" and form != "none" and _rejects_format(e):
                    nxt = FORMATS[FORMATS.index(form) + 1]
                    log.info("the server rejected response_format %s; trying %s", form, nxt)
                    form = nxt
                    continue
                e.attempts = attempts
                raise
            attempts += n
            if self._format is None:
                with self._lock:
                    self._format = self._format or form
            return payload, attempts

    def _send(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """POST with retries; returns (payload, attempts) or raises :class:`LLMRequestError`."""
        s = self.settings
        last = "no attempt"
        for attempt in range(s.max_retries + 1):
            delay: float | None = None
            with self._lock:
                self.totals.requests += 1
            try:
                with _deadline(s.timeout):
                    with self._http.stream("POST", "chat/completions", json=body) as r:
                        data, complete = _read_capped(r, s.max_reply_bytes)
            except httpx.TimeoutException:
                last = f"request timed out after {s.timeout:g}s"
            except httpx.TransportError as e:
                last = f"connection failed ({type(e).__name__}: {e})"
            else:
                text = _decode(data, r.encoding)
                if r.status_code in RETRY_STATUSES:
                    last = f"HTTP {r.status_code}: {_excerpt(text)}"
                    delay = _retry_after(r)
                    err = LLMRequestError(last, r.status_code, text, attempt + 1)
                    if "response_format" in body and _rejects_format(err):  # llama-cpp-python answers 500
                        raise err
                elif r.status_code >= 400:
                    raise LLMRequestError(f"HTTP {r.status_code}: {_excerpt(text)}", r.status_code, text,
                                          attempt + 1)
                elif not complete:  # retrying would only fetch it again
                    seen = f": {_excerpt(text)}" if text.strip() else ""
                    raise LLMRequestError(f"the server's reply is over {s.max_reply_bytes:,} bytes (max_reply_bytes);"
                                          f" not read further{seen}", r.status_code, "", attempt + 1)
                else:
                    try:
                        payload = json.loads(data)
                    except ValueError:
                        last = f"server sent a body that is not JSON: {_excerpt(text)}"
                    else:
                        if isinstance(payload, dict):
                            return payload, attempt + 1
                        last = f"server sent JSON that is not an object: {_excerpt(text)}"
            if attempt < s.max_retries:
                with self._lock:
                    self.totals.retries += 1
                wait = min(s.max_backoff, s.backoff * 2**attempt) * (0.5 + random.random() / 2)
                if delay is not None:
                    wait = min(s.max_backoff, max(wait, delay))
                log.info("LLM request failed (%s); retry %d/%d in %.2fs", self._redact(last), attempt + 1,
                         s.max_retries, wait)
                time.sleep(wait)
        raise LLMRequestError(f"{last} (gave up after {s.max_retries + 1} attempts)", attempts=s.max_retries + 1,
                              transient=True)

    # -- circuit breaker: a server that keeps failing is not waited on row after row ----------------------------
    def _breaker_open(self) -> str | None:
        s = self.settings
        if not s.breaker:
            return None
        with self._lock:
            now = time.monotonic()
            if self._failures_in_a_row < s.breaker:
                return None
            if now >= self._open_until:  # half-open: let this one request test the server
                self._open_until = now + max(s.max_backoff, s.timeout)
                return None
            return (f"skipped: the LLM server failed {self._failures_in_a_row} requests in a row "
                    f"(last: {self._last_failure}); it is tried again every {max(s.max_backoff, s.timeout):g}s")

    def _breaker_failure(self, error: str) -> None:
        with self._lock:
            self._failures_in_a_row += 1
            self._last_failure = error
            if self._failures_in_a_row == self.settings.breaker:
                self._open_until = time.monotonic() + max(self.settings.max_backoff, self.settings.timeout)
                log.warning("the LLM server failed %d requests in a row (%s); failing further rows at once and "
                            "retrying the server every %gs", self._failures_in_a_row, error,
                            max(self.settings.max_backoff, self.settings.timeout))

    def _breaker_success(self) -> None:
        if self._failures_in_a_row:
            with self._lock:
                self._failures_in_a_row = 0
                self._open_until = 0.0

    # -- replies -------------------------------------------------------------------------------------------------
    def _parse(self, prompt: RenderedPrompt, content: str | None, finish: str | None) -> ChatResult:
        if content is None:
            return ChatResult(error="the server's reply has no message content")
        try:
            parsed = parse_reply(content, relaxed_schema(prompt.schema, prompt.optional))
        except ReplyError as e:
            cut = (f" (the reply was cut off at max_tokens={self.settings.max_tokens}; raise max_tokens)"
                   if finish == "length" else "")
            return ChatResult(error=f"invalid reply: {e}{cut}", content=content)
        return ChatResult(data=parsed.data, content=content, repairs=parsed.repairs)

    def _record(self, result: ChatResult) -> ChatResult:
        if result.error is not None:
            result.error = clip_message(result.error)
        with self._lock:
            t = self.totals
            t.prompts += 1
            t.replies += int(result.answered)
            t.cache_hits += int(result.cached)
            t.failed += int(result.error is not None)
            t.repaired += int(bool(result.repairs))
            if not result.cached:
                t.prompt_tokens += result.prompt_tokens
                t.completion_tokens += result.completion_tokens
                t.seconds += result.seconds
        return result

    def _redact(self, text: str) -> str:
        return redact(text, self.settings.api_key)

    # -- cache ---------------------------------------------------------------------------------------------------
    def _cache_key(self, prompt: RenderedPrompt, body: dict[str, Any]) -> str:
        s = self.settings
        ident = {"model": body["model"], "prompt": prompt.prompt_id, "messages": prompt.messages,
                 "schema": prompt.schema, "options": {"max_tokens": s.max_tokens, "temperature": s.temperature,
                                                      "seed": s.seed, "structured": s.structured}}
        return hashlib.sha256(json.dumps(ident, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _cache_store(self) -> Any:
        if not self.settings.disk_cache:
            return None
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    folder = self.settings.cache_dir
                    path = Path(folder).expanduser() if folder else default_cache_dir()
                    path.mkdir(parents=True, exist_ok=True)
                    self._cache = diskcache.Cache(str(path))
        return self._cache

    def _cache_get(self, key: str) -> dict[str, Any] | None:
        store = self._cache_store()
        if store is None:
            return None
        try:
            value = store.get(key)
        except Exception as e:  # a damaged cache must not fail the job
            log.warning("LLM cache read failed: %s", e)
            return None
        return json.loads(value) if isinstance(value, str) else None

    def _cache_put(self, key: str, value: dict[str, Any]) -> None:
        store = self._cache_store()
        if store is not None:
            try:
                store.set(key, json.dumps(value, ensure_ascii=False))
            except Exception as e:
                log.warning("LLM cache write failed: %s", e)


def _response_format(form: str, prompt: RenderedPrompt) -> dict[str, Any] | None:
    if form == "json_schema":  # OpenAI, vLLM, Ollama, llama.cpp's llama-server
        name = re.sub(r"[^A-Za-z0-9_-]", "_", prompt.prompt_id.split("@")[0]) or "reply"
        return {"type": "json_schema", "json_schema": {"name": name, "schema": prompt.schema}}
    if form == "json_object":  # llama-cpp-python's server (grammar from the schema)
        return {"type": "json_object", "schema": prompt.schema}
    return None


def _rejects_format(e: LLMRequestError) -> bool:
    """Whether an error says the server does not take this ``response_format`` (rather than another fault)."""
    return e.status in (400, 404, 415, 422, 500, 501) and bool(_FORMAT_WORDS.search(e.body or ""))


def _message_content(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    try:
        choice = payload["choices"][0]
        return choice["message"].get("content"), choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        err = payload.get("error") if isinstance(payload, dict) else None
        raise LLMRequestError(f"the server's reply has no choices: {_excerpt(json.dumps(err or payload))}") from None


def _retry_after(r: httpx.Response) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = r.headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


def _excerpt(text: str, n: int = 200) -> str:
    text = " ".join(str(text)[: 4 * n].split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _decode(data: bytes, encoding: str | None) -> str:
    try:
        return data.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def clip_message(text: str, n: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``n`` characters (with ``...``), for messages that may quote a server's reply."""
    return text if len(text) <= n else text[: n - 3] + "..."


# -- a deadline per request ------------------------------------------------------------------------------------
# httpx's timeouts bound each network operation (one read), so a server that sends a byte now and then keeps a
# request alive for ever. Each attempt here runs under a deadline, kept per thread (a sync httpx client does its
# I/O in the calling thread): every connect, read and write of the connection pool is given at most the time left,
# and none is begun once it has passed. This holds for the reply's headers too, which httpx reads before handing
# over the response.
_DEADLINE = threading.local()


class _deadline:
    """``with _deadline(seconds):`` the network operations of this thread end by then (``httpx.TimeoutException``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        self.previous = getattr(_DEADLINE, "at", None)
        _DEADLINE.at = time.monotonic() + self.seconds

    def __exit__(self, *exc: object) -> None:
        _DEADLINE.at = self.previous


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    at = getattr(_DEADLINE, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _time_left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _time_left(timeout, httpcore.ConnectTimeout),
                                                         local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(
            path, _time_left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _install_deadlines(client: httpx.Client) -> None:
    """Route the client's connection pools (its own and any proxy's) through :class:`_DeadlineBackend`."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)
        elif transport is not None and backend is None:
            log.warning("cannot put a deadline on LLM requests through %s; timeout applies per read",
                        type(transport).__name__)


def _read_capped(r: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of the response body, and whether that was all of it (a larger body is not read
    further: closing the response drops the connection)."""
    declared = r.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", False
    data = bytearray()
    for chunk in r.iter_bytes():
        data += chunk
        if len(data) > limit:
            return bytes(data[:limit]), False
    return bytes(data), True
