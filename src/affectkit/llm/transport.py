"""HTTP plumbing for the LLM client: a deadline per request that holds across every read and write, a capped
body read, and the small decoding helpers. No policy lives here (retries, breaker and cache are elsewhere)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpcore
import httpx

log = logging.getLogger(__name__)


def retry_after(r: httpx.Response) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = r.headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


def excerpt(text: str, n: int = 200) -> str:
    text = " ".join(str(text)[: 4 * n].split())
    return text if len(text) <= n else text[: n - 3] + "..."


def decode_body(data: bytes, encoding: str | None) -> str:
    try:
        return data.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")



# -- a deadline per request ------------------------------------------------------------------------------------
# httpx's timeouts bound each network operation (one read), so a server that sends a byte now and then keeps a
# request alive for ever. Each attempt here runs under a deadline, kept per thread (a sync httpx client does its
# I/O in the calling thread): every connect, read and write of the connection pool is given at most the time left,
# and none is begun once it has passed. This holds for the reply's headers too, which httpx reads before handing
# over the response.
_DEADLINE = threading.local()


class deadline:
    """``with deadline(seconds):`` the network operations of this thread end by then (``httpx.TimeoutException``)."""

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


def install_deadlines(client: httpx.Client) -> None:
    """Route the client's connection pools (its own and any proxy's) through :class:`_DeadlineBackend`."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if pool is not None and backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)
        elif transport is not None and backend is None:
            log.warning("cannot put a deadline on LLM requests through %s; timeout applies per read",
                        type(transport).__name__)


def read_capped(r: httpx.Response, limit: int) -> tuple[bytes, bool]:
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
