"""Shared helpers of the ``test_serve*`` tests: which model to serve, and a real server in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT

TEXTS = ["I can't believe you did this for me, thank you!", "This is so annoying, I hate waiting.",
         "What a lovely calm evening.", "I miss her so much.", "The meeting is at noon."]


def model_spec(tmp_path_factory) -> str:
    """The shipped ``default`` model; where a checkout has none yet, a tiny static model made here, so the
    service tests still run the real code paths."""
    from affectkit.analyzers import shipped_models

    if "default" in shipped_models():
        return "default"
    from tiny_models import make_static_model

    return str(make_static_model(tmp_path_factory.mktemp("serve-model")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``python -m affectkit serve ...`` on a free localhost port, stopped with SIGINT like Ctrl-C."""

    def __init__(self, *args: str, log: Path, env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + full_env.get("PYTHONPATH", "")
        self._out = open(log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "affectkit", "serve", "--port", str(self.port), *args],
                                     env=full_env, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within 120 s: {self.output()}")

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return self.proc.returncode

    def __enter__(self) -> "LiveServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
