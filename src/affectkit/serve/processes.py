"""``affectkit serve --processes N``: N worker processes accept on one listening socket.

One process runs one event loop, and with it one interpreter lock: the HTTP work of every request (parsing,
validation, JSON, middleware) and the Python parts of the model (tokenising, evidence, building predictions)
take turns on it, so single-text requests leave cores idle however many model threads there are. Several
processes each with their own loop, batcher and model use the cores the way a single process cannot; each
holds its own copy of the model (its RSS, about 350 MB for ``default``).

This uses uvicorn's own supervisor (:class:`uvicorn.supervisors.Multiprocess`, what ``uvicorn --workers``
runs): the parent binds the socket once, starts the workers with ``spawn`` (no fork of a loaded model), pings
them and restarts one that dies, and stops them all on Ctrl-C or SIGTERM. The kernel hands each new connection
to one worker; a kept-alive connection stays with it. Each worker rebuilds the app and the guarded HTTP protocol
(:mod:`affectkit.serve.protocol`) from the settings, which travel in the environment (``AFFECTKIT_SERVE_CONFIG``,
JSON): uvicorn's spawned workers import the app and the protocol class by name.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

from affectkit.serve.settings import Limits, ServeSettings

ENV = "AFFECTKIT_SERVE_CONFIG"
APP = "affectkit.serve.processes:app_from_environment"
PROTOCOL = "affectkit.serve.processes:GuardedProtocol"


def settings_to_json(settings: ServeSettings, log_level: str = "info") -> str:
    return json.dumps({"settings": dataclasses.asdict(settings), "log_level": log_level})


def settings_from_json(text: str) -> tuple[ServeSettings, str]:
    data = json.loads(text)
    fields = dict(data["settings"])
    fields["limits"] = Limits(**fields["limits"])
    return ServeSettings(**fields), data.get("log_level", "info")


def _environment() -> tuple[ServeSettings, str]:
    text = os.environ.get(ENV)
    if not text:
        raise RuntimeError(f"{ENV} is not set: this module builds the app of a worker started by 'affectkit serve "
                           "--processes N'")
    return settings_from_json(text)


def app_from_environment() -> Any:
    """The app of one worker process (uvicorn calls it: ``factory=True``)."""
    from affectkit.serve.app import create_app

    settings, level = _environment()
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(levelname)s:     %(name)s: %(message)s")
    return create_app(settings)


def guard_options(limits: Limits) -> dict[str, Any]:
    """:func:`affectkit.serve.protocol.serve_options` for these limits."""
    from affectkit.serve.protocol import serve_options

    return serve_options(limits.max_header_bytes, limits.header_timeout, limits.keep_alive, limits.max_connections,
                         limits.max_connections_per_client)


def __getattr__(name: str) -> Any:
    """``GuardedProtocol``: the guarded HTTP protocol class for the limits in the environment, built once per
    worker process when uvicorn imports it by name."""
    if name == "GuardedProtocol":
        settings, _ = _environment()
        protocol = guard_options(settings.limits)["http"]
        globals()[name] = protocol
        return protocol
    raise AttributeError(name)


def run_processes(settings: ServeSettings, processes: int, log_level: str, access_log: bool) -> None:
    """Serve ``settings`` from ``processes`` worker processes sharing one listening socket (blocks until
    stopped)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[ENV] = settings_to_json(settings, log_level)
    options = guard_options(settings.limits)  # in the parent too: raises the open-files limit the workers inherit
    options["http"] = PROTOCOL
    config = uvicorn.Config(APP, factory=True, host=settings.host, port=settings.port, workers=processes,
                            log_level=log_level, access_log=access_log, server_header=False, date_header=False,
                            **options)
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
