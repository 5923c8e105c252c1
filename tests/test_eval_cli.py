"""``affectkit eval`` as a user runs it: a real subprocess, real exit codes, files on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eval_support import EVAL_FIXTURES

ROOT = Path(__file__).resolve().parents[1]


def affectkit(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    full["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + full.get("PYTHONPATH", "")
    code = "import sys; from affectkit.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env=full)


def test_eval_a_lexicon_on_a_user_task_file(tmp_path):
    task = tmp_path / "tweets.yaml"
    task.write_text(f"task: tweets\ntype: perception\nmode: multi-label\n"
                    f"dataset: {{loader: semeval2018-ec, split: test, path: {EVAL_FIXTURES}/semeval2018/2018-E-c-En-test-gold.txt}}\n"
                    f"labels: semeval-ec\nmetrics: [jaccard, micro_f1]\n")
    out = tmp_path / "out"
    lexicon = EVAL_FIXTURES / "lexicon_emolex.txt"
    r = affectkit("eval", "--model", f"lexicon:{lexicon}", "--task", str(task), "-o", str(out), "--bootstrap", "30",
                  "--no-baselines")
    assert r.returncode == 0, r.stderr
    assert "tweets" in r.stdout and "jaccard" in r.stdout
    payload = json.loads((out / "results.json").read_text())
    (result,) = payload["results"]
    assert result["status"] == "ok" and result["mapping"]["route"] == ["nrc-emolex", "semeval-ec"]
    assert len((out / result["predictions"]).read_text().splitlines()) == 4
    # a second run reuses the finished predictions
    again = affectkit("eval", "--model", f"lexicon:{lexicon}", "--task", str(task), "-o", str(out), "--bootstrap",
                      "30", "--no-baselines", "-q")
    assert again.returncode == 0
    assert json.loads((out / "results.json").read_text())["results"][0]["seconds"] is None


def test_eval_errors_exit_nonzero_with_a_message(tmp_path):
    r = affectkit("eval", "--task", "nope", "-o", str(tmp_path))
    assert r.returncode == 1 and "unknown task 'nope'" in r.stderr
    r = affectkit("eval", "--model", "no-such-model", "--task", "emotion-cause", "-o", str(tmp_path),
                  env={"AFFECTKIT_DATA": str(EVAL_FIXTURES)})
    assert r.returncode == 1 and "unknown model 'no-such-model'" in r.stderr
    r = affectkit("eval", "--task", "emotion-cause")
    assert r.returncode == 1 and "-o DIR" in r.stderr


def test_list_tasks():
    r = affectkit("eval", "--list-tasks")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert {"goemotions", "goemotions-ekman", "emobank-vad", "meld", "emorynlp", "armanemo"} <= set(names)
