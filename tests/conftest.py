from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from affectkit.datasets import data_dir

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def shared_data() -> Path:
    return data_dir()


requires_data = pytest.mark.skipif(not (data_dir() / "INDEX.md").exists(),
                                   reason="shared datasets not found (set AFFECTKIT_DATA or place shared/data beside the repo)")


def run_cli(*args: str, input: bytes | None = None, cwd: Path | None = None, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m affectkit`` in a subprocess (real exit codes, real stdin)."""
    full_env = {**os.environ, **(env or {})}
    src = str(ROOT / "src")
    full_env["PYTHONPATH"] = src + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "affectkit", *args], input=input, cwd=cwd, capture_output=True,
                          timeout=timeout, env=full_env)
