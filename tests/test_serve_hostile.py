"""Hostile clients at the connection level (issue 18, findings 7 and 8): huge request headers, idle and
half-sent connections, one client opening hundreds of connections. A real uvicorn server with affectkit's guarded
protocol (:mod:`affectkit.serve.protocol`) on 127.0.0.1, serving a tiny app in a thread, and once the real
``affectkit serve``."""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")

import uvicorn  # noqa: E402
from serve_support import LiveServer, free_port, model_spec  # noqa: E402

from affectkit.serve.protocol import client_key, serve_options  # noqa: E402

HEADER_LIMIT = 8 * 1024
HEADER_TIMEOUT = 1.0
PER_CLIENT = 5


async def hello(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            await send({"type": kind + ".complete"})
            if kind == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class ThreadServer:
    def __init__(self, **guards) -> None:
        self.port = free_port()
        self.http = guards.get("http", "auto")
        opts = serve_options(**guards)
        self.server = uvicorn.Server(uvicorn.Config(hello, host="127.0.0.1", port=self.port, log_level="warning",
                                                    **opts))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ThreadServer":
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module", params=["auto", "h11"])  # auto: httptools where installed, as in production
def server(request):
    with ThreadServer(max_header_bytes=HEADER_LIMIT, header_timeout=HEADER_TIMEOUT, keep_alive=3,
                      max_connections=40, max_per_client=PER_CLIENT, http=request.param) as s:
        yield s


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    return sock


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


def read_all_until_ok(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"ok"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def get(port: int, source: str = "127.0.0.1", sock: socket.socket | None = None) -> bytes:
    own = sock is None
    sock = sock or connect(port, source)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"\r\n\r\nok" not in data and not data.startswith(b"HTTP/1.1 5"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    if own:
        sock.close()
    return data


def test_huge_headers_get_431_and_the_connection_is_closed(server):
    """Finding 7: no limit on request-header size; 10 connections with 50 MB headers took 480 MB."""
    sock = connect(server.port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
    sent = 0
    try:
        while sent < 4 * 1024 * 1024:  # streamed a piece at a time, never completed
            sock.sendall(b"a" * 4096)
            sent += 4096
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 ") and b"over the limit of 8,192 bytes" in answer
    assert sent < 4 * 1024 * 1024  # the server hung up before the 4 MB were sent (the rest sat in socket buffers)
    # headers over the limit that arrive complete in one piece
    sock = connect(server.port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 900)
                                                                      for i in range(12)) + b"\r\n")
    answer = read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    # within the limit, with a body in the same piece: served
    body = b"x" * 20_000
    sock = connect(server.port)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert read_all_until_ok(sock).endswith(b"ok")
    sock.close()
    assert get(server.port).endswith(b"ok")  # the server is fine


def test_idle_and_half_sent_connections_are_closed_after_the_header_timeout(server):
    """Finding 8: idle connections were never closed."""
    idle = connect(server.port)
    half = connect(server.port)
    half.sendall(b"GET / HTTP/1.1\r\nHost: loc")  # a slowloris: the rest never comes
    t0 = time.monotonic()
    assert read_all(idle) == b""  # closed without a word: nothing was asked
    assert read_all(half).startswith(b"HTTP/1.1 408 ")
    assert HEADER_TIMEOUT - 0.2 < time.monotonic() - t0 < HEADER_TIMEOUT + 2
    idle.close()
    half.close()


def test_a_kept_alive_connection_is_not_cut_by_the_header_timeout(server):
    sock = connect(server.port)
    assert get(server.port, sock=sock).endswith(b"ok")
    time.sleep(HEADER_TIMEOUT + 0.5)  # idle between requests: uvicorn's keep-alive (3 s) applies, not ours
    assert get(server.port, sock=sock).endswith(b"ok")
    body = b'{"x": 1}'
    sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(HEADER_TIMEOUT + 0.5)  # request and response done; the connection stays
    assert get(server.port, sock=sock).endswith(b"ok")
    sock.close()


def test_one_client_cannot_take_every_connection(server):
    """Finding 8: 1,100 idle connections from one client made every other request fail."""
    held = [connect(server.port, "127.0.0.2") for _ in range(PER_CLIENT)]
    time.sleep(0.2)
    extra = connect(server.port, "127.0.0.2")
    answer = read_all(extra)
    assert answer.startswith(b"HTTP/1.1 503 ") and b"the limit per client is 5" in answer
    assert b"retry-after: 1" in answer.lower()
    assert get(server.port, "127.0.0.1").endswith(b"ok")  # another client is served meanwhile
    for s in held + [extra]:
        s.close()
    time.sleep(0.3)
    assert get(server.port, "127.0.0.2").endswith(b"ok")  # and the client may connect again once it let go


def test_the_server_wide_connection_cap_answers_503():
    with ThreadServer(max_header_bytes=HEADER_LIMIT, header_timeout=5, max_connections=16 + 2,
                      max_per_client=100) as s:
        # serve_options never sets fewer than 16; 18 here
        held = [connect(s.port, f"127.0.1.{i + 1}") for i in range(18)]
        time.sleep(0.2)
        answer = read_all(connect(s.port, "127.0.2.1"))
        assert answer.startswith(b"HTTP/1.1 503 ") and b"18 open connections, its limit" in answer
        for sock in held:
            sock.close()
        time.sleep(0.3)
        assert get(s.port).endswith(b"ok")


def test_client_key_groups_ipv6_by_its_64():
    assert client_key(("2001:db8:1:2:aaaa::1", 5)) == client_key(("2001:db8:1:2:bbbb::9", 6)) == "2001:db8:1:2::/64"
    assert client_key(("127.0.0.1", 1)) == "127.0.0.1" and client_key(("::ffff:10.0.0.1", 1)) == "10.0.0.1"


def test_affectkit_serve_applies_the_guards(tmp_path_factory, tmp_path):
    """The options reach uvicorn from the command line, and the Host check answers 421 (finding 10)."""
    spec = model_spec(tmp_path_factory)
    with LiveServer("--model", spec, "--max-header-bytes", "4096", "--header-timeout", "1",
                    "--max-connections-per-client", "3", log=tmp_path / "server.log") as live:
        big = connect(live.port)
        big.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 20_000)
        assert read_all(big).startswith(b"HTTP/1.1 431 ")
        idle = connect(live.port)
        t0 = time.monotonic()
        assert read_all(idle) == b"" and time.monotonic() - t0 < 5
        rebound = connect(live.port)
        rebound.sendall(b"GET /healthz HTTP/1.1\r\nHost: evil.example:8000\r\n\r\n")
        assert rebound.recv(65536).startswith(b"HTTP/1.1 421 ")
        for s in (big, idle, rebound):
            s.close()
