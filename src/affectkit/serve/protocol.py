"""Connection guards below the ASGI app: uvicorn's HTTP protocol with limits on what one connection, and one
client, may hold.

uvicorn (with httptools) buffers request headers without a size limit, and a new connection that never sends a
byte is kept until the client goes away: its keep-alive timeout only starts after a response. A client could so
pile up memory (a 50 MB header per connection) or file descriptors (1,000 idle connections) until normal
requests failed. :func:`guarded_protocol` returns uvicorn's HTTP protocol class (httptools, else h11) with:

- a **header size limit** (``max_header_bytes``, request line and headers together): over it, ``431`` and the
  connection is closed; each piece that arrives is checked before the parser buffers it, so no more than the
  limit is ever held (under h11, uvicorn's ``h11_max_incomplete_event_size`` is set to the limit too);
- a **header deadline** (``header_timeout`` seconds from a connection's first moment, or from the first byte of
  each later request, until its headers are complete): a connection that sends nothing, or dribbles a header
  (slowloris), is closed (``408`` when part of a request came);
- a **cap on open connections** (``max_connections``) and **per client address** (``max_per_client``; IPv6
  clients by their /64): a connection over either cap is answered ``503`` with ``Retry-After`` and closed at once,
  so it holds no file descriptor, and one client cannot take the connections every other client needs.

Requests that pass go on unchanged to the app (and uvicorn's own keep-alive timeout applies between them).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger("affectkit.serve")

MAX_HEADER_BYTES = 64 * 1024
HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 1024
MAX_CONNECTIONS_PER_CLIENT = 128


def client_key(client: Any) -> str:
    """The address a per-client cap counts by: the IP, or the /64 network of an IPv6 address."""
    host = client[0] if isinstance(client, (tuple, list)) and client else str(client or "unknown")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _response(status: int, reason: str, detail: str, extra: bytes = b"") -> bytes:
    body = json.dumps({"detail": detail}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n").encode() + extra + b"\r\n" + body


def _too_large_app(limit: int) -> Callable[[Any, Any, Any], Awaitable[None]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps({"detail": f"request headers are over the limit of {limit:,} bytes"}).encode()
        await send({"type": "http.response.start", "status": 431,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    return app


# long: one protocol class built around the server's own; its overrides share the limits in this closure
# and read best together
def guarded_protocol(max_header_bytes: int = MAX_HEADER_BYTES, header_timeout: float = HEADER_TIMEOUT,
                     max_connections: int = MAX_CONNECTIONS, max_per_client: int = MAX_CONNECTIONS_PER_CLIENT,
                     http: str = "auto") -> type:
    """uvicorn's HTTP protocol class (``http``: ``auto``, ``httptools`` or ``h11``, as uvicorn names them) with the
    guards of this module; pass it as ``uvicorn.run(http=...)``. Each call makes a new class with its own
    connection counts, so give one server one class."""
    base: type[Any]  # the uvicorn protocol class picked at run time
    if http == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    elif http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    else:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol as base
    per_client: dict[str, int] = {}
    refusals = {"count": 0, "logged": 0.0}  # refused connections are logged at most every 5 s, with a count

    class GuardedProtocol(base):
        limits = {"max_header_bytes": max_header_bytes, "header_timeout": header_timeout,
                  "max_connections": max_connections, "max_per_client": max_per_client}
        clients = per_client  # open connections per client address (shared by this server's connections)
        app: Any  # the ASGI app, set by uvicorn's protocol

        # -- connection life ------------------------------------------------------------------------------------
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            key = client_key(self.client)
            self._guard_key: str | None = key
            self._header_bytes = 0
            self._tail = b""  # the last bytes of the previous piece, where an empty line may begin
            self._parsed_bytes = 0
            self._reading_headers = True
            self._headers_done = 0  # requests whose headers were read (httptools)
            self._header_timer: asyncio.TimerHandle | None = None
            per_client[key] = per_client.get(key, 0) + 1
            if len(self.connections) > max_connections:
                self._refuse(503, "Service Unavailable", f"the server has {max_connections:,} open connections, "
                             "its limit; retry later", b"retry-after: 1\r\n")
            elif per_client[key] > max_per_client:
                self._refuse(503, "Service Unavailable", f"this client has {per_client[key] - 1:,} "
                             f"open connections, the limit per client is {max_per_client:,}; reuse them or "
                             "retry later", b"retry-after: 1\r\n")
            else:
                self._arm_header_timer()

        def connection_lost(self, exc) -> None:
            self._cancel_header_timer()
            key = getattr(self, "_guard_key", None)
            if key is not None:
                left = per_client.get(key, 1) - 1
                if left > 0:
                    per_client[key] = left
                else:
                    per_client.pop(key, None)
                self._guard_key = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            waiting = self._awaiting_headers()
            done = self._headers_done
            if waiting:
                if self._header_timer is None:
                    self._arm_header_timer()  # a later request on a kept-alive connection: its own deadline
                if self._over_header_limit(data):  # checked before the parser buffers any of it
                    return self._refuse(431, "Request Header Fields Too Large",
                                        f"request headers are over the limit of {max_header_bytes:,} bytes")
            super().data_received(data)
            if self.transport.is_closing():
                return
            if self._headers_done != done or (waiting and not self._awaiting_headers()):
                self._cancel_header_timer()  # a request's headers are complete: the app has it
                self._header_bytes, self._tail = 0, b""

        def _over_header_limit(self, data: bytes) -> bool:
            """Whether the request line and headers, of which ``data`` is the next piece, pass the limit: they
            end at the first empty line, which may come in this piece, after the limit, or not yet."""
            before = self._header_bytes
            self._header_bytes += len(data)
            window = self._tail + data
            self._tail = data[-3:]
            if self._header_bytes <= max_header_bytes:
                return False
            ends = [i + n for sep, n in ((b"\r\n\r\n", 4), (b"\n\n", 2)) if (i := window.find(sep)) >= 0]
            if not ends:
                return True
            return before - (len(window) - len(data)) + min(ends) > max_header_bytes

        # -- httptools: the size of headers that arrived complete within one read -----------------------------------
        def on_message_begin(self) -> None:
            self._parsed_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._parsed_bytes += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._parsed_bytes += len(name) + len(value) + 4
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._reading_headers = False
            self._headers_done += 1
            if self._parsed_bytes <= max_header_bytes:
                return super().on_headers_complete()
            app, self.app = self.app, _too_large_app(max_header_bytes)  # the request gets 431, not the app
            try:
                super().on_headers_complete()
            finally:
                self.app = app

        def on_message_complete(self) -> None:
            self._reading_headers = True  # what comes next is the next request's headers
            super().on_message_complete()

        # -- helpers -------------------------------------------------------------------------------------------
        def _awaiting_headers(self) -> bool:
            """Whether the bytes that arrive now belong to a request's line and headers (not to a body)."""
            conn = getattr(self, "conn", None)
            if conn is not None:  # h11
                import h11

                return conn.their_state is h11.IDLE
            return self._reading_headers

        def _arm_header_timer(self) -> None:
            self._cancel_header_timer()
            self._header_timer = self.loop.call_later(header_timeout, self._header_timeout)

        def _cancel_header_timer(self) -> None:
            timer = getattr(self, "_header_timer", None)
            if timer is not None:
                timer.cancel()
                self._header_timer = None

        def _header_timeout(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or not self._awaiting_headers():
                return
            if self._header_bytes:
                self._refuse(408, "Request Timeout", f"request headers not complete within {header_timeout:g} s")
            else:
                self.transport.close()  # nothing sent: just hang up

        def _refuse(self, status: int, reason: str, detail: str, extra: bytes = b"") -> None:
            self._cancel_header_timer()
            refusals["count"] += 1
            now = self.loop.time()
            if now - refusals["logged"] >= 5.0:  # an attack must not flood the log
                log.warning("connection from %s refused: %d %s (%d refused since the last such message)",
                            self._guard_key, status, detail, refusals["count"])
                refusals["count"], refusals["logged"] = 0, now
            try:
                self.transport.write(_response(status, reason, detail, extra))
            finally:
                self.transport.close()

    if not hasattr(base, "on_headers_complete"):  # h11: it enforces the header limit itself (see serve_options)
        for name in ("on_message_begin", "on_url", "on_header", "on_headers_complete", "on_message_complete"):
            delattr(GuardedProtocol, name)
    GuardedProtocol.__name__ = f"Guarded{base.__name__}"
    return GuardedProtocol


def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (as servers do); return the soft limit
    in force afterwards (a large number where there is no such limit)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def serve_options(max_header_bytes: int = MAX_HEADER_BYTES, header_timeout: float = HEADER_TIMEOUT,
                  keep_alive: float = 5.0, max_connections: int = MAX_CONNECTIONS,
                  max_per_client: int = MAX_CONNECTIONS_PER_CLIENT, http: str = "auto") -> dict[str, Any]:
    """The keyword arguments for ``uvicorn.run`` that apply the guards. ``max_connections`` is cut to what the
    process's file-descriptor limit allows (minus 128 for model files, uploads and logs)."""
    fds = raise_fd_limit()
    allowed = max(16, min(max_connections, fds - 128))
    if allowed < max_connections:
        log.warning("--max-connections %d is over what the open-files limit (%d) allows; using %d",
                    max_connections, fds, allowed)
    protocol = guarded_protocol(max_header_bytes, header_timeout, allowed, min(max_per_client, allowed), http)
    # limit_concurrency: uvicorn's own 503 for requests beyond it; the protocol already refuses connections over
    # `allowed` when they open, so this only backs it up (+1: uvicorn counts the connection asking)
    return {"http": protocol, "h11_max_incomplete_event_size": max_header_bytes,
            "timeout_keep_alive": max(1, round(keep_alive)), "limit_concurrency": allowed + 1}
