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

import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from affectkit.llm.cache import ReplyCache
from affectkit.llm.parsing import ReplyError, parse_reply
from affectkit.llm.resilience import CircuitBreaker, backoff_delay
from affectkit.llm.settings import LLMConfigError, LLMSettings, redact, redact_url
from affectkit.llm.templates import RenderedPrompt, relaxed_schema
from affectkit.llm.transport import (
    deadline,
    decode_body,
    excerpt,
    install_deadlines,
    read_capped,
    retry_after,
)

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
        install_deadlines(self._http)
        self._lock = threading.Lock()
        self._format: str | None = None if settings.structured == "auto" else settings.structured
        self._model: str | None = settings.model
        self.cache = ReplyCache(settings)
        self.breaker = CircuitBreaker(settings)
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
                with deadline(self.settings.timeout):
                    with self._http.stream("GET", "models") as r:
                        data, _ = read_capped(r, self.settings.max_reply_bytes)
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
        key = self.cache.key(prompt, body)
        hit = self.cache.get(key)
        if hit is not None:
            result = self._parse(prompt, hit["content"], hit.get("finish_reason"))
            if result.error is None:
                result.cached = result.answered = True
                return self._record(result)
        skip = self.breaker.blocked()
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
                self.cache.put(key, {"content": content, "finish_reason": finish})
            self.breaker.success()
        except LLMRequestError as e:
            result.error = self._redact(str(e))
            result.attempts = e.attempts
            if e.transient:
                self.breaker.failure(result.error)
            else:
                self.breaker.success()  # the server answered
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
        self.cache.close()

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
                with deadline(s.timeout):
                    with self._http.stream("POST", "chat/completions", json=body) as r:
                        data, complete = read_capped(r, s.max_reply_bytes)
            except httpx.TimeoutException:
                last = f"request timed out after {s.timeout:g}s"
            except httpx.TransportError as e:
                last = f"connection failed ({type(e).__name__}: {e})"
            else:
                text = decode_body(data, r.encoding)
                if r.status_code in RETRY_STATUSES:
                    last = f"HTTP {r.status_code}: {excerpt(text)}"
                    delay = retry_after(r)
                    err = LLMRequestError(last, r.status_code, text, attempt + 1)
                    if "response_format" in body and _rejects_format(err):  # llama-cpp-python answers 500
                        raise err
                elif r.status_code >= 400:
                    raise LLMRequestError(f"HTTP {r.status_code}: {excerpt(text)}", r.status_code, text,
                                          attempt + 1)
                elif not complete:  # retrying would only fetch it again
                    seen = f": {excerpt(text)}" if text.strip() else ""
                    raise LLMRequestError(f"the server's reply is over {s.max_reply_bytes:,} bytes (max_reply_bytes);"
                                          f" not read further{seen}", r.status_code, "", attempt + 1)
                else:
                    try:
                        payload = json.loads(data)
                    except ValueError:
                        last = f"server sent a body that is not JSON: {excerpt(text)}"
                    else:
                        if isinstance(payload, dict):
                            return payload, attempt + 1
                        last = f"server sent JSON that is not an object: {excerpt(text)}"
            if attempt < s.max_retries:
                with self._lock:
                    self.totals.retries += 1
                wait = backoff_delay(s, attempt, delay)
                log.info("LLM request failed (%s); retry %d/%d in %.2fs", self._redact(last), attempt + 1,
                         s.max_retries, wait)
                time.sleep(wait)
        raise LLMRequestError(f"{last} (gave up after {s.max_retries + 1} attempts)", attempts=s.max_retries + 1,
                              transient=True)

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
        raise LLMRequestError(f"the server's reply has no choices: {excerpt(json.dumps(err or payload))}") from None


def clip_message(text: str, n: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``n`` characters (with ``...``), for messages that may quote a server's reply."""
    return text if len(text) <= n else text[: n - 3] + "..."
