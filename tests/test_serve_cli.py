"""`affectkit serve` as a user runs it: a real uvicorn server in a subprocess, API keys made by `new-key`."""

import httpx
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")

from conftest import run_cli  # noqa: E402
from serve_support import TEXTS, LiveServer, model_spec  # noqa: E402


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return model_spec(tmp_path_factory)


def test_refuses_a_public_address_without_keys(spec):
    r = run_cli("serve", "--host", "0.0.0.0", "--model", spec, timeout=120)
    assert r.returncode == 1
    assert b"refusing to serve on 0.0.0.0 without API keys" in r.stderr


def test_new_key_then_serve_with_auth(spec, tmp_path):
    keys = tmp_path / "keys.txt"
    made = run_cli("serve", "new-key", "alice", "--keys-file", str(keys))
    assert made.returncode == 0, made.stderr
    key = made.stdout.decode().strip()
    assert key.startswith("ak_") and key not in keys.read_text() and keys.read_text().startswith("alice sha256:")
    assert run_cli("serve", "new-key", "alice", "--keys-file", str(keys)).returncode == 1  # names are unique

    with LiveServer("--model", spec, "--keys-file", str(keys), "--rate", "100", log=tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.post("/v1/analyze", json={"texts": TEXTS}).status_code == 401
            r = http.post("/v1/analyze", json={"texts": TEXTS}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200 and len(r.json()["predictions"]) == len(TEXTS)
            assert http.get("/healthz").json()["auth"] is True
    assert server.proc.returncode == 0  # Ctrl-C stops it cleanly
    log = server.output()
    assert "auth ON" in log and "auth is ON: 1 API key(s)" in log and key not in log


def test_localhost_without_keys_says_auth_is_off(spec, tmp_path):
    with LiveServer("--model", spec, log=tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.post("/v1/analyze", json={"text": TEXTS[0]}).status_code == 200
    log = server.output()
    assert "auth is OFF" in log and "loopback" in log


def test_several_processes_share_the_port_with_the_same_guards(spec, tmp_path):
    refused = run_cli("serve", "--host", "0.0.0.0", "--processes", "2", "--model", spec, timeout=120)
    assert refused.returncode == 1 and b"refusing to serve on 0.0.0.0 without API keys" in refused.stderr
    with LiveServer("--model", spec, "--processes", "2", "--max-header-bytes", "1024",
                    log=tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for _ in range(4):  # new connections: the kernel may hand them to either worker
                with httpx.Client(base_url=server.url, timeout=60) as fresh:
                    r = fresh.post("/v1/analyze", json={"text": TEXTS[0], "fields": ["emotions"]})
                    assert r.status_code == 200 and list(r.json()["predictions"][0]) == ["emotions"]
            assert http.get("/healthz", headers={"X-Padding": "x" * 2048}).status_code == 431  # guarded protocol
            assert http.get("/healthz", headers={"Host": "evil.example"}).status_code == 421  # Host check
        workers = [pid for pid in _children(server.proc.pid) if b"spawn_main" in _cmdline(pid)]
        assert len(workers) == 2, server.output()
    assert server.proc.returncode == 0, server.output()  # Ctrl-C stops the workers and the parent
    assert server.output().count("Application startup complete") == 2


def _children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
