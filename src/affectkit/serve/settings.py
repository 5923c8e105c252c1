"""Everything ``affectkit serve`` can be told, in one place (the CLI fills it; tests build it directly)."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def split_host(value: str) -> str:
    """The host name of a ``Host`` header value (``[::1]:8000`` gives ``::1``, ``LocalHost.:80`` ``localhost``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


@functools.lru_cache(maxsize=1024)  # asked on every request (Host check, auth-off guard); parsing costs ~10 us
def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Limits:
    """Bounds on every request; anything over them is refused with 413 before it reaches a model."""

    max_body_bytes: int = 2 * 1024 * 1024  # JSON bodies and file uploads alike
    max_texts: int = 1000  # texts (or file rows) per request
    max_text_chars: int = 20_000  # characters per text; longer texts are segmented by the model up to this
    rate: float = 50.0  # requests per second per API key (per client address when auth is off); 0 = no limit
    burst: int = 100  # requests a key may send at once before the rate applies
    # connections (enforced by affectkit.serve.protocol, below the app; only under `affectkit serve`)
    max_header_bytes: int = 64 * 1024  # request line and headers; over it: 431 and the connection is closed
    header_timeout: float = 10.0  # seconds a connection (or a new request on it) has to send complete headers
    keep_alive: float = 5.0  # seconds an idle kept-alive connection stays open between requests
    max_connections: int = 1024  # open connections; over it a new one gets 503 and is closed
    max_connections_per_client: int = 128  # open connections per client address (IPv6: per /64)


@dataclass
class ServeSettings:
    """How the service runs: which models it serves, how it batches, who may call it and how much."""

    host: str = "127.0.0.1"
    port: int = 8000
    models: list[str] = field(default_factory=lambda: ["default"])  # the first is the default model
    max_batch_size: int = 64  # texts per model call
    max_wait_ms: float = 2.0  # how long the first text of a batch may wait for others to join it
    workers: int = 2  # model calls that may run at once (each in its own thread)
    limits: Limits = field(default_factory=Limits)
    api_keys_file: str | None = None  # lines "NAME sha256:HEX" (see affectkit.serve.auth)
    api_keys_env: str = "AFFECTKIT_API_KEY_HASHES"  # "NAME=sha256:HEX,..." in the environment
    cors_origins: list[str] = field(default_factory=list)  # empty = CORS off (browsers refuse cross-origin calls)
    page: bool = True  # serve the web page at /

    @property
    def default_model(self) -> str:
        return self.models[0]
