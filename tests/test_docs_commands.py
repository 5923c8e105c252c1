"""Every shell command in README.md and docs/*.md either runs, or says why not (issue 19).

A fenced ``bash``/``sh`` block runs as written, in a scratch folder that has the repository's ``examples/``: each
``affectkit`` command must exit 0 within ``TIMEOUT`` seconds. A block that cannot run here says so on the line
before its fence, with a reason:

    <!-- docs-test: skip REASON -->           nothing in it is run or checked (a cluster, a benchmark)
    <!-- docs-test: parse-only REASON -->     its affectkit commands are parsed against the CLI, not run
    <!-- docs-test: run-affectkit REASON -->  its affectkit commands run; the other lines (pip, ...) do not
    <!-- docs-test: serve -->                 its curl commands run against a real `affectkit serve` with a key

A block with a command other than ``affectkit`` and no marker fails the test, so a new example cannot go
unchecked silently. Every inline ``affectkit ...`` span in the prose is parsed against the CLI as well (unknown
options, bad option values and extra arguments fail; a span that leaves out a required argument is fine).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from affectkit.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT = 120  # seconds per command; they take 2-5 s on a quiet 2-core machine
MODES = ("skip", "parse-only", "run-affectkit", "serve")
_FENCE = re.compile(r"^```(bash|sh|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!--\s*docs-test:\s*(\S+)\s*(.*?)\s*-->")
_AFFECTKIT_BIN = str(Path(sys.executable).with_name("affectkit"))
_OPERATORS = ("&&", ";", "|")
_INPUT_ONLY = ("cat",)  # may feed an affectkit command in a pipe


@dataclass
class Block:
    path: Path
    line: int
    body: str
    mode: str  # "run" or one of MODES
    reason: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def lines(self) -> list[list[str]]:
        """Each command line as its words: continuation lines joined, comments dropped."""
        words = [shlex.split(line, comments=True) for line in self.body.replace("\\\n", " ").splitlines()]
        return [w for w in words if w]

    def commands(self) -> list[list[str]]:
        """Each command as its words: the lines split at ``&&``, ``;`` and ``|``."""
        out: list[list[str]] = []
        for line in self.lines():
            words: list[str] = []
            for word in line:
                if word in _OPERATORS:
                    out.append(words)
                    words = []
                else:
                    words.append(word)
            out.append(words)
        return [w for w in out if w]


def _blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text()
        for m in _FENCE.finditer(text):
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = _MARKER.fullmatch(before.strip())
            mode, reason = (marker.group(1), marker.group(2)) if marker else ("run", "")
            found.append(Block(path, text[: m.start()].count("\n") + 1, m.group(2), mode, reason))
    return found


def _inline_commands() -> list[tuple[str, str]]:
    """``affectkit ...`` code spans in the prose (outside fences): (where, span)."""
    spans = []
    for path in DOCS:
        text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text())
        for m in re.finditer(r"`(affectkit [^`\n]+)`", text):
            span = m.group(1)
            if "|" in span or " / " in span or "..." in span:  # a pattern of commands, not a command
                continue
            spans.append((f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}", span))
    return spans


BLOCKS = _blocks()


def parse_cli(args: list[str], partial: bool = False) -> None:
    """Parse ``args`` (after ``affectkit``) the way the CLI would, down to the subcommand, without running it.
    Raises click's usage errors; ``partial`` tolerates a missing required argument (a span in prose)."""
    command = typer.main.get_command(app)
    name = "affectkit"
    while True:
        try:
            ctx = command.make_context(name, list(args))
        except Exception as e:  # typer vendors its own copy of click's exception classes: matched by name
            kind = type(e).__name__
            if kind == "Exit":  # an eager option such as --version or --help ran
                return
            placeholder = partial and any(re.fullmatch(r"[A-Z][A-Z_]*", a) for a in args)
            if (partial and kind == "MissingParameter") or (kind == "BadParameter" and "does not exist" in str(e)) \
                    or (placeholder and kind == "BadParameter"):
                return  # a placeholder (CONFIG, INPUT, a K for a number) or a left-out argument
            raise
        if not hasattr(command, "commands"):
            return
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        if not rest:
            return
        name, command, args = command.resolve_command(ctx, rest)


def test_every_block_runs_or_says_why_not() -> None:
    assert BLOCKS, "no shell blocks found"
    for block in BLOCKS:
        assert block.mode in ("run", *MODES), f"{block.where}: unknown docs-test marker {block.mode!r}"
        if block.mode in ("skip", "parse-only", "run-affectkit"):
            assert block.reason, f"{block.where}: a {block.mode} marker needs a reason"
        if block.mode == "run":
            others = [" ".join(c) for c in block.commands() if c[0] not in ("affectkit", *_INPUT_ONLY)]
            assert not others, (f"{block.where}: {others[0]!r} is not run by this test; put "
                                "'<!-- docs-test: skip|parse-only|run-affectkit REASON -->' before the block")


_PARSED = [(b.where, c) for b in BLOCKS if b.mode != "skip" for c in b.commands() if c[0] == "affectkit"]


@pytest.mark.parametrize("where, words", _PARSED, ids=[f"{w} {' '.join(c)[:60]}" for w, c in _PARSED])
def test_block_commands_parse(where: str, words: list[str]) -> None:
    parse_cli(words[1:])


_INLINE = _inline_commands()


@pytest.mark.parametrize("where, span", _INLINE, ids=[f"{w} {s[:60]}" for w, s in _INLINE])
def test_inline_commands_parse(where: str, span: str) -> None:
    parse_cli(shlex.split(span)[1:], partial=True)


def _scratch(tmp_path: Path) -> Path:
    """A folder with the inputs the docs' examples name: examples/, posts.csv (the example posts), the same as
    posts.parquet, texts.txt (one text a line) and posts/ (two partitions)."""
    import pandas as pd

    (tmp_path / "examples").symlink_to(ROOT / "examples")
    posts = pd.read_csv(ROOT / "examples" / "posts.csv", dtype=str)
    posts.to_csv(tmp_path / "posts.csv", index=False)
    posts.to_parquet(tmp_path / "posts.parquet")
    (tmp_path / "texts.txt").write_text("\n".join(posts["text"]) + "\n")
    (tmp_path / "posts").mkdir()
    posts[:10].to_csv(tmp_path / "posts" / "a.csv", index=False)
    posts[10:].to_csv(tmp_path / "posts" / "b.csv", index=False)
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "80", "PATH": f"{Path(_AFFECTKIT_BIN).parent}:{os.environ.get('PATH', '')}"}


def _runnable(block: Block) -> list[list[str]]:
    """The lines of ``block`` this test runs: every line, or (run-affectkit) the affectkit commands alone."""
    if block.mode == "run":
        return block.lines()
    if block.mode == "run-affectkit":
        return [c for c in block.commands() if c[0] == "affectkit"]
    return []


_RUN = [(b.where, line) for b in BLOCKS for line in _runnable(b)]


@pytest.mark.parametrize("where, words", _RUN, ids=[f"{w} {' '.join(c)[:60]}" for w, c in _RUN])
def test_block_commands_run(tmp_path: Path, where: str, words: list[str]) -> None:
    script = "set -o pipefail; " + " ".join(w if w in _OPERATORS else shlex.quote(w) for w in words)
    r = subprocess.run(["bash", "-c", script], cwd=_scratch(tmp_path), env=_env(), capture_output=True, text=True,
                       timeout=TIMEOUT, check=False)
    assert r.returncode == 0, f"{where}: {' '.join(words)} exited {r.returncode}: {r.stderr[-2000:]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_serve_examples_answer_200(tmp_path: Path) -> None:
    """The curl examples of docs/serve.md, sent to a real server with a real key: each answers 200."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    blocks = [b for b in BLOCKS if b.mode == "serve"]
    assert blocks, "docs/serve.md has no block marked serve"
    cwd = _scratch(tmp_path)
    made = subprocess.run([_AFFECTKIT_BIN, "serve", "new-key", "docs", "--keys-file", "keys.txt"], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    key = re.search(r"\bak_[A-Za-z0-9_-]{20,}", made.stdout + made.stderr)
    assert made.returncode == 0 and key, made.stdout + made.stderr
    port = _free_port()
    server = subprocess.Popen([_AFFECTKIT_BIN, "serve", "--port", str(port), "--keys-file", "keys.txt"], cwd=cwd,
                              env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    f"http://127.0.0.1:{port}/healthz"], capture_output=True, text=True, check=False)
            if probe.stdout == "200":
                break
            assert server.poll() is None, server.stderr.read() if server.stderr else "server exited"
            time.sleep(0.3)
        for block in blocks:
            for words in block.commands():
                assert words[0] == "curl", f"{block.where}: only curl commands can be marked serve"
                args = [w.replace("ak_...", key.group(0)).replace("localhost:8000", f"127.0.0.1:{port}")
                        for w in words]
                r = subprocess.run([*args, "-w", "\n%{http_code}"], cwd=cwd, capture_output=True, text=True,
                                   timeout=TIMEOUT, check=False)
                status = r.stdout.rstrip().rsplit("\n", 1)[-1]
                assert r.returncode == 0 and status == "200", f"{block.where}: {' '.join(words)} -> {r.stdout[-500:]}"
    finally:
        server.terminate()
        server.wait(timeout=30)


_QUICK = [(w, s) for w, s in _INLINE if s.split()[1] in ("labels", "models", "--version", "--help")
          and not re.search(r"\b[A-Z]{1,}\b", s)]  # no placeholder such as A, B, WORD


@pytest.mark.parametrize("where, span", _QUICK, ids=[f"{w} {s[:60]}" for w, s in _QUICK])
def test_quick_inline_commands_run(tmp_path: Path, where: str, span: str) -> None:
    """The prose's complete ``affectkit labels ...`` and ``affectkit models`` spans run as written."""
    r = subprocess.run(["bash", "-c", span], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=TIMEOUT, check=False)
    assert r.returncode == 0 and r.stdout.strip(), f"{where}: {span} exited {r.returncode}: {r.stderr[-2000:]}"
