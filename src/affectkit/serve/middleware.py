"""The service's guards as plain ASGI middleware, so that they act before a body is read or parsed: API keys
and a per-key rate limit (a token bucket), the request body size limit, the Host check when auth is off, and
security headers."""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Callable

from starlette.exceptions import HTTPException

from affectkit.serve.auth import KeyStore, key_from_headers
from affectkit.serve.settings import is_loopback, split_host

ASGIApp = Callable  # (scope, receive, send) -> awaitable


class RateLimiter:
    """Token bucket per client: ``burst`` requests at once, refilled at ``rate`` per second.

    ``acquire(client)`` returns 0.0 when the request may go ahead, else the seconds until it could.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 0 or burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, time of last update)
        self._lock = threading.Lock()

    def acquire(self, client: str) -> float:
        if self.rate == 0:
            return 0.0
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate


async def send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a complete JSON response from ASGI middleware."""
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit; FastAPI passes HTTP exceptions raised
    while reading a body through to the handlers, which answer 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the limit of {limit:,} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes``: at once from ``Content-Length``, or while reading a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return await send_json(send, 400, {"detail": "invalid Content-Length header"})
            if n > self.max_bytes:
                return await send_json(send, 413, {
                    "detail": f"request body is {n:,} bytes, over the limit of {self.max_bytes:,} bytes"})
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class AccessMiddleware:
    """API keys and rate limits for the protected paths (``/v1/...`` and ``/metrics``).

    With no key store (auth off, which the service allows only on a loopback address) the rate limit is per
    client address, and a request that came in on a non-loopback address is refused (403): a second guard for
    an app built for 127.0.0.1 but run by hand on a public address. The key's name (never the key) is put in
    ``scope["state"]["client"]`` for logging.
    """

    def __init__(self, app: ASGIApp, keys: KeyStore | None, limiter: RateLimiter, on_reject=None) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.on_reject = on_reject or (lambda reason: None)

    @staticmethod
    def protected(path: str) -> bool:
        return path.startswith("/v1/") or path == "/metrics"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or not self.protected(scope["path"]):
            return await self.app(scope, receive, send)
        if self.keys is not None:
            key = key_from_headers(scope.get("headers", ()))
            client = self.keys.verify(key)
            if client is None:
                self.on_reject("auth")
                detail = ("missing API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'" if not key
                          else "invalid API key")
                return await send_json(send, 401, {"detail": detail}, [(b"www-authenticate", b"Bearer")])
        else:
            local = (scope.get("server") or ("", 0))[0]
            if not is_loopback(str(local)):  # the app was started with auth off but bound to a public address
                self.on_reject("auth")
                return await send_json(send, 403, {"detail": "this server has no API keys, so it answers only on "
                                                             "a loopback address"})
            client = "addr:" + (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.acquire(client)
        if wait > 0:
            self.on_reject("rate")
            seconds = max(1, math.ceil(wait))
            return await send_json(send, 429, {"detail": f"rate limit of {self.limiter.rate:g} requests/s "
                                                         f"exceeded; retry in {seconds} s"},
                                   [(b"retry-after", str(seconds).encode())])
        scope.setdefault("state", {})["client"] = client
        await self.app(scope, receive, send)


class LoopbackHostMiddleware:
    """With auth off (loopback only), answer only requests whose ``Host`` names this machine: a loopback name
    or address (``localhost``, ``127.0.0.1``, ``[::1]``), the address the server was told to bind, or the
    address the request came in on. Anything else gets ``421``.

    Without this, DNS rebinding would open the service to any web page: a page on ``evil.example`` whose name
    then resolves to 127.0.0.1 can call this server from the user's browser, as the same origin, sending
    ``Host: evil.example``. A request without a ``Host`` header (HTTP/1.0) cannot come from a browser and passes.
    """

    def __init__(self, app: ASGIApp, bound_host: str, on_reject=None) -> None:
        self.app = app
        self.bound = split_host(bound_host)
        self.on_reject = on_reject or (lambda reason: None)

    def allowed(self, host: str, scope) -> bool:
        name = split_host(host)
        local = str((scope.get("server") or ("", 0))[0] or "").lower()
        return bool(name) and (is_loopback(name) or name == self.bound or name == split_host(local))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = _header(scope, b"host")
        if host is not None:
            text = host.decode("latin-1")
            if not self.allowed(text, scope):
                self.on_reject("host")
                shown = text if len(text) <= 100 else text[:97] + "..."
                return await send_json(send, 421, {
                    "detail": f"Host {shown!r} is not this server: with auth off it answers only to loopback "
                              "names (localhost, 127.0.0.1, [::1]); call it by one of them, or configure API keys"})
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` on every response; the pages
    set their own Content-Security-Policy."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
