"""How the LLM client waits and gives up: exponential backoff with jitter that honours ``Retry-After``, and a
circuit breaker so that a server that keeps failing is not waited on row after row."""

from __future__ import annotations

import logging
import random
import threading
import time

from affectkit.llm.settings import LLMSettings

log = logging.getLogger(__name__)


def backoff_delay(settings: LLMSettings, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry ``attempt + 1``: ``min(max_backoff, backoff * 2**attempt)`` scaled by a
    uniform jitter in [0.5, 1) ("full jitter" halved), and never less than the server's ``Retry-After``."""
    wait = min(settings.max_backoff, settings.backoff * 2**attempt) * (0.5 + random.random() / 2)
    if retry_after is not None:
        wait = min(settings.max_backoff, max(wait, retry_after))
    return wait


class CircuitBreaker:
    """After ``settings.breaker`` requests in a row fail with transient faults, requests fail at once; every
    ``max(max_backoff, timeout)`` seconds one request is let through to test the server (half-open)."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._failures_in_a_row = 0
        self._open_until = 0.0
        self._last_failure = ""

    @property
    def _period(self) -> float:
        return max(self.settings.max_backoff, self.settings.timeout)

    def blocked(self) -> str | None:
        """Why this request is skipped, or ``None`` to send it."""
        if not self.settings.breaker:
            return None
        with self._lock:
            now = time.monotonic()
            if self._failures_in_a_row < self.settings.breaker:
                return None
            if now >= self._open_until:  # half-open: let this one request test the server
                self._open_until = now + self._period
                return None
            return (f"skipped: the LLM server failed {self._failures_in_a_row} requests in a row "
                    f"(last: {self._last_failure}); it is tried again every {self._period:g}s")

    def failure(self, error: str) -> None:
        with self._lock:
            self._failures_in_a_row += 1
            self._last_failure = error
            if self._failures_in_a_row == self.settings.breaker:
                self._open_until = time.monotonic() + self._period
                log.warning("the LLM server failed %d requests in a row (%s); failing further rows at once and "
                            "retrying the server every %gs", self._failures_in_a_row, error, self._period)

    def success(self) -> None:
        if self._failures_in_a_row:
            with self._lock:
                self._failures_in_a_row = 0
                self._open_until = 0.0
