"""Inference never needs torch or transformers: the shipped models and the static-model tests run with both
blocked (they are the ``train`` extra only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BLOCK = "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parent)


def test_shipped_models_analyze_without_torch():
    r = _run("import affectkit\n"
             "for name in ('fast', 'default'):\n"
             "    p = affectkit.load(name).analyze(['I am so happy today'])[0]\n"
             "    assert p.error is None and p.top, p\n"
             "    print(name, p.top)")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "fast " in r.stdout and "default " in r.stdout


def test_static_model_tests_run_without_torch():
    r = _run("import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'test_model.py', '-k', "
             "'static or windows or pooling']))")
    assert r.returncode == 0, r.stdout[-2000:]
    assert "passed" in r.stdout and "failed" not in r.stdout
