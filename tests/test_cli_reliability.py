"""The reliability findings of issue 18, as a user meets them on the command line: Ctrl-C, exit codes, broken
CSV quoting, bad bytes and mixed types in JSONL, empty inputs, two jobs on one output, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, run_cli

from affectkit.cli import main
from affectkit.tabular.writers import OutputLock

INTERRUPTED = "interrupted: rerun the same command to resume"
BIG_ROWS = 100_000  # several seconds of work for the lexicon on a busy 2-core machine


@pytest.fixture
def lexicon(fixtures):
    return f"lexicon:{fixtures / 'emolex_wordlevel.txt'},{fixtures / 'nrc_vad.tsv'}"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    words = ["I love this so much", "I hate waiting", "The meeting is at noon", "happy happy", "so sad today"]
    path.write_text("id,text\n" + "".join(f"{i},{words[i % 5]} number {i}\n" for i in range(BIG_ROWS)))
    return path


def interrupt(tmp_path: Path, *args: str, marker: str) -> tuple[int, str]:
    """Run the CLI in a subprocess, wait until ``marker`` (a progress bar's name) shows on stderr, press Ctrl-C
    (SIGINT), and return the exit status and stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    err_path = tmp_path / f"stderr-{time.monotonic_ns()}.txt"
    with open(err_path, "wb") as err:
        # SIGINT back to its default, in case the test runner was started with it ignored (a background job)
        proc = subprocess.Popen([sys.executable, "-m", "affectkit", *args], env=env, stdout=subprocess.DEVNULL,
                                stderr=err, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and marker not in err_path.read_text(errors="replace"):
            time.sleep(0.05)
        assert proc.poll() is None, "the job finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=120)
    # After `main` has returned 130, CPython sometimes ends the process by SIGINT instead (when C code it ran saw
    # the KeyboardInterrupt unhandled); a shell reports both as 130, so both count as the same exit status here.
    return (130 if rc == -signal.SIGINT else rc), err_path.read_text(errors="replace")


def semeval_file(path: Path, n: int) -> Path:
    labels = "anger anticipation disgust fear joy love optimism pessimism sadness surprise trust".split()
    rows = "".join(f"2018-En-{i:06d}\tI love this so much number {i}\t" + "\t".join("1" if j == i % 11 else "0"
                   for j in range(11)) + "\n" for i in range(n))
    path.write_text("ID\tTweet\t" + "\t".join(labels) + "\n" + rows)
    return path


# -- 1. Ctrl-C ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["analyze-stdout", "rank", "eval", "partitioned"])
def test_ctrl_c_exits_130_with_a_message_on_every_command(tmp_path, lexicon, big_csv, case):
    if case == "analyze-stdout":
        args, marker = ["analyze", str(big_csv), "--model", lexicon, "--chunk-size", "500"], "analyze:"
    elif case == "rank":
        args, marker = ["rank", str(big_csv), "--by", "joy", "--model", lexicon, "--chunk-size", "500"], "analyze:"
    elif case == "eval":
        data = semeval_file(tmp_path / "tweets.txt", BIG_ROWS)
        task = tmp_path / "tweets.yaml"
        task.write_text(f"task: tweets\ntype: perception\nmode: multi-label\n"
                        f"dataset: {{loader: semeval2018-ec, split: test, path: {data}}}\n"
                        f"labels: semeval-ec\nmetrics: [jaccard]\n")
        args = ["eval", "--model", lexicon, "--task", str(task), "-o", str(tmp_path / "eval"), "--bootstrap", "0",
                "--no-baselines", "--chunk-size", "500"]
        marker = "eval:"
    else:  # a directory of partitions, on the local engine
        parts = tmp_path / "parts"
        parts.mkdir()
        for name in ("a.csv", "b.csv"):
            (parts / name).write_bytes(big_csv.read_bytes())
        args = ["analyze", str(parts), "-o", str(tmp_path / "results/"), "--model", lexicon, "--chunk-size", "500"]
        marker = "partitions:"
    rc, err = interrupt(tmp_path, *args, marker=marker)
    assert rc == 130, err[-2000:]
    assert INTERRUPTED in err and "Traceback" not in err


def test_a_ctrl_c_swallowed_by_a_finaliser_still_stops_the_job_at_the_next_progress_update():
    """Python drops a KeyboardInterrupt raised inside a finaliser ("Exception ignored in ..."), so a Ctrl-C that
    lands there used to let the job run to its end; the recorded interrupt makes the next update raise it."""
    from affectkit.interrupts import interrupts_recorded
    from affectkit.progress import progress_bar

    from affectkit.interrupts import _record_and_raise

    class PressesCtrlCWhileFinalised:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)

    # the CLI records Ctrl-C only where SIGINT has Python's default handler: make sure it has here, whatever an
    # earlier test in this process left behind
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with interrupts_recorded():
            assert signal.getsignal(signal.SIGINT) is _record_and_raise
            bar = progress_bar(10, "row", enabled=False)
            bar.update(1)  # nothing pressed yet
            PressesCtrlCWhileFinalised()  # collected at once: the KeyboardInterrupt is raised in __del__, dropped
            with pytest.raises(KeyboardInterrupt):
                bar.update(1)
        progress_bar(10, "row", enabled=False).update(1)  # outside the block nothing is recorded any more
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


# -- 3. exit codes: one test for each -------------------------------------------------------------------------------
def test_exit_codes_success_partial_total_interrupted_usage(tmp_path, lexicon, big_csv):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,I love this\n2,\n3,I hate waiting\n4,happy happy\n")  # row 2 fails: empty text
    out = tmp_path / "out.csv"
    # success: row errors within the allowed share (by default any share, as long as some row succeeded)
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q", "--max-error-rate", "0.25"]) == 0
    # partial failure: more rows failed than --max-error-rate allows; the output is still written
    r = run_cli("analyze", str(src), "-o", str(out), "--model", lexicon, "-q", "--max-error-rate", "0.2")
    assert r.returncode == 3, r.stderr
    assert "1 of 4 rows failed (25.0%), over --max-error-rate 0.2" in r.stderr.decode()
    assert len(pd.read_csv(out)) == 4
    # total failure: no row succeeded
    dead = tmp_path / "dead.csv"
    dead.write_text("id,text\n1,\n2,   \n")
    r = run_cli("analyze", str(dead), "-o", str(tmp_path / "dead-out.csv"), "--model", lexicon, "-q")
    assert r.returncode == 1 and "all 2 rows failed" in r.stderr.decode()
    assert len(pd.read_csv(tmp_path / "dead-out.csv")) == 2  # each row still says why
    # interrupted
    rc, err = interrupt(tmp_path, "analyze", str(big_csv), "-o", str(tmp_path / "big-out.csv"), "--model", lexicon,
                        "--chunk-size", "500", marker="analyze:")
    assert rc == 130 and INTERRUPTED in err
    # bad usage
    for bad in (["--max-error-rate", "1.5"], ["--no-such-option"]):
        r = run_cli("analyze", str(src), "--model", lexicon, "-q", *bad)
        assert r.returncode == 2, r.stderr


def test_total_and_partial_failure_for_rank_and_partitioned_jobs(tmp_path, lexicon):
    dead = tmp_path / "dead.csv"
    dead.write_text("id,text\n1,\n2,   \n")
    assert main(["rank", str(dead), "--by", "joy", "-o", str(tmp_path / "r.csv"), "--model", lexicon, "-q"]) == 1
    some = tmp_path / "some.csv"
    some.write_text("id,text\n1,\n2,happy\n")
    assert main(["rank", str(some), "--by", "joy", "-o", str(tmp_path / "r.csv"), "--model", lexicon, "-q"]) == 0
    assert main(["rank", str(some), "--by", "joy", "-o", str(tmp_path / "r.csv"), "--model", lexicon, "-q",
                 "--max-error-rate", "0.4"]) == 3
    parts = tmp_path / "parts"
    parts.mkdir()
    for name in ("a.csv", "b.csv"):
        (parts / name).write_text("id,text\n1,\n2,  \n")
    assert main(["analyze", str(parts), "-o", str(tmp_path / "res/"), "--model", lexicon, "-q"]) == 1


def test_an_unreachable_llm_server_fails_the_job(tmp_path, fixtures):
    pytest.importorskip("httpx", reason="the llm extra is not installed")
    src = tmp_path / "in.txt"
    src.write_text("I love it\nI hate it\n")
    llm = "llm:fake-model@http://127.0.0.1:9/v1?max_retries=0&disk_cache=false"  # nothing listens on port 9
    env = {"AFFECTKIT_CACHE_DIR": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = run_cli("analyze", str(src), "-o", str(tmp_path / "out.jsonl"), "-q", "--model", llm, env=env)
    assert r.returncode == 1 and "all 2 rows failed (most often: connection failed" in r.stderr.decode()
    task = tmp_path / "tweets.yaml"
    task.write_text(f"task: tweets\ntype: perception\nmode: multi-label\ndataset: {{loader: semeval2018-ec, "
                    f"split: test, path: {fixtures}/eval/semeval2018/2018-E-c-En-test-gold.txt}}\n"
                    f"labels: semeval-ec\nmetrics: [jaccard]\n")
    lexicon = f"lexicon:{fixtures}/eval/lexicon_emolex.txt"
    r = run_cli("eval", "--model", llm, "--model", lexicon, "--task", str(task), "-o", str(tmp_path / "ev"),
                "--bootstrap", "0", "--no-baselines", "-q", env=env)
    assert r.returncode == 1 and f"every row failed for {llm} " in r.stderr.decode()
    r = run_cli("eval", "--model", lexicon, "--task", str(task), "-o", str(tmp_path / "ev2"), "--bootstrap", "0",
                "--no-baselines", "-q", env=env)
    assert r.returncode == 0, r.stderr


# -- 2. CSV quoting ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,line", [
    ('id,text\n1,happy day\n2,"unclosed quote here\n3,sad news\n4,angry me\n', 3),
    ('id,text\n1,happy day\n2,sad\n3,"unclosed to the end\n4,angry me\n', 4),
])
def test_an_unclosed_csv_quote_fails_the_job_naming_the_line(tmp_path, lexicon, raw, line):
    src = tmp_path / "in.csv"
    src.write_text(raw)
    out = tmp_path / "out.csv"
    r = run_cli("analyze", str(src), "-o", str(out), "--model", lexicon, "-q")
    err = r.stderr.decode()
    assert r.returncode == 1 and f"the record at line {line} is not valid CSV" in err and "unclosed quote" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_stray_quote_within_one_line_is_a_row_error(tmp_path, lexicon):
    src = tmp_path / "in.csv"
    src.write_text('id,text\n1,"happy" day\n2,sad news\n3,"multi\nline, fine"\n')
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 3 and rows[0]["error"].startswith("malformed row at line 2: ")
    assert rows[1]["text"] == "sad news" and rows[1]["error"] is None and rows[2]["text"] == "multi\nline, fine"


# -- 5. two jobs on one output --------------------------------------------------------------------------------------
def test_a_second_job_on_the_same_output_stops_with_a_one_line_message(tmp_path, lexicon, big_csv):
    out = tmp_path / "out.csv"
    parts = tmp_path / "out.csv.affectkit-parts"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    first = subprocess.Popen([sys.executable, "-m", "affectkit", "analyze", str(big_csv), "-o", str(out), "--model",
                              lexicon, "--chunk-size", "500", "-q"], env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and first.poll() is None and len(list(parts.glob("part-*.csv"))) < 2:
        time.sleep(0.05)
    assert first.poll() is None, "the first job finished too soon"
    second = run_cli("analyze", str(big_csv), "-o", str(out), "--model", lexicon, "--chunk-size", "500", "-q")
    err = second.stderr.decode()
    assert second.returncode == 1 and "another affectkit job is writing" in err and "Traceback" not in err
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err.decode()
    assert pd.read_csv(out)["id"].tolist() == list(range(BIG_ROWS))  # the first job lost nothing
    assert not (tmp_path / "out.csv.affectkit-lock").exists()


def test_output_lock_is_taken_over_from_a_killed_job_and_guards_partitioned_outputs(tmp_path, lexicon):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,happy\n")
    out = tmp_path / "out.csv"
    (tmp_path / "out.csv.affectkit-lock").write_text("")  # left by a killed job: holds nothing
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    assert out.exists() and not (tmp_path / "out.csv.affectkit-lock").exists()
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("id,text\n1,happy\n")
    with OutputLock(tmp_path / "results"):
        r = run_cli("analyze", str(parts), "-o", str(tmp_path / "results/"), "--model", lexicon, "-q")
    assert r.returncode == 1 and "another affectkit job is writing" in r.stderr.decode()
    assert main(["analyze", str(parts), "-o", str(tmp_path / "results/"), "--model", lexicon, "-q"]) == 0


# -- 15, 16, 18. JSONL: bad bytes, surrogates, mixed types, a missing text field -------------------------------------
@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_jsonl_with_invalid_utf8_and_surrogate_escapes_gives_row_errors(tmp_path, lexicon, ext):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "happy"}\n{"text": "caf\xff"}\n{"text": "a\\ud800b"}\n'
                    b'{"text": "sad", "meta": {"k\xfe": ["x\\udfff"]}, "note": "\xfe"}\n')
    out = tmp_path / f"out{ext}"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    df = (pd.read_parquet(out) if ext == ".parquet" else pd.read_json(out, lines=True) if ext == ".jsonl"
          else pd.read_csv(out))
    errors = [None if pd.isna(e) else e for e in df["error"]]
    assert errors[0] is None and errors[3] is None
    assert errors[1] == "invalid UTF-8: byte 0xff at character 3"
    assert errors[2] == "invalid text: unpaired surrogate U+D800 at character 1"
    assert list(df["text"]) == ["happy", "caf\ufffd", "a\ufffdb", "sad"]  # written as UTF-8, never dropped
    assert df["note"].tolist()[3] == "\ufffd"


def test_mixed_types_in_a_jsonl_column_are_written_to_parquet_as_text(tmp_path, lexicon):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "happy"}\n{"id": "b-2", "text": 5}\n{"id": 3, "text": "sad"}\n'
                   '{"id": {"n": 4}, "text": "angry"}\n')
    for chunk in ("4096", "1"):  # mixed inside one chunk, and between chunks
        out = tmp_path / f"out-{chunk}.parquet"
        assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q", "--chunk-size", chunk]) == 0
        df = pd.read_parquet(out)
        assert df["id"].tolist() == ["1", "b-2", "3", '{"n": 4}']
        assert df["text"].tolist() == ["happy", "5", "sad", "angry"]
        assert df["error"].tolist()[1] == "expected text, got int 5"


def test_a_jsonl_line_without_text_is_a_row_error_wherever_it_is(tmp_path, lexicon):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "body": "x"}\n{"id": 2, "text": "happy"}\n{"id": 3}\n')
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q", "--chunk-size", "1"]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert [r["error"] for r in rows] == ["line 1 has no 'text' field", None, "line 3 has no 'text' field"]
    assert list(rows[0])[:3] == ["id", "body", "text"]  # input columns in input order
    # a field that no object has is a wrong --text-col: the job fails at once
    r = run_cli("analyze", str(src), "--model", lexicon, "-q", "--text-col", "content")
    assert r.returncode == 1 and "column 'content' not found" in r.stderr.decode()


# -- 17. one-line errors instead of tracebacks ----------------------------------------------------------------------
def test_broken_parquet_unwritable_output_and_missing_torch_give_one_line_errors(tmp_path, lexicon, monkeypatch,
                                                                                   capsys):
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"this is not parquet")
    for src in (empty, corrupt):
        r = run_cli("analyze", str(src), "--model", lexicon, "-q")
        err = r.stderr.decode()
        assert r.returncode == 1 and f"cannot read Parquet file {src}" in err and "Traceback" not in err
    good = tmp_path / "in.csv"
    good.write_text("text\nhappy\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = run_cli("analyze", str(good), "-o", str(blocker / "out.csv"), "--model", lexicon, "-q")
    err = r.stderr.decode()
    assert r.returncode == 1 and f"cannot write the output {blocker / 'out.csv'}" in err and "Traceback" not in err
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert main(["analyze", str(good), "--model", "hf:some/model", "-q"]) == 1
    assert "hf: models need the hf extra" in capsys.readouterr().err


# -- 19. empty inputs -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,content", [("empty.csv", b""), ("header.csv", b"id,text\n"), ("empty.jsonl", b""),
                                          ("blank.jsonl", b"\n\n"), ("empty.txt", b""), ("header.parquet", None)])
@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_empty_inputs_give_an_empty_output_with_every_column(tmp_path, lexicon, name, content, ext):
    src = tmp_path / name
    if content is None:
        pq.write_table(pa.table({"id": pa.array([], pa.int64()), "text": pa.array([], pa.string())}), src)
    else:
        src.write_bytes(content)
    full = tmp_path / "in.csv"
    full.write_text("id,text\n1,happy\n")
    assert main(["analyze", str(full), "-o", str(tmp_path / f"full{ext}"), "--model", lexicon, "-q"]) == 0
    out = tmp_path / f"out{ext}"
    r = run_cli("analyze", str(src), "-o", str(out), "--model", lexicon)
    assert r.returncode == 0, r.stderr
    assert f"no rows in {src}" in r.stderr.decode()
    read = pd.read_parquet if ext == ".parquet" else pd.read_csv
    expected = [c for c in read(tmp_path / f"full{ext}").columns if c != "id" or name.startswith("header")]
    df = read(out)
    assert len(df) == 0 and list(df.columns) == expected


def test_empty_stdin_is_an_empty_result():
    r = run_cli("analyze", "-", input=b"")
    assert r.returncode == 0 and r.stdout == b"" and "no rows in stdin" in r.stderr.decode()


def test_a_table_piped_in_as_plain_text_is_named_in_a_warning(lexicon):
    table = b"id,text\n1,I hate waiting\n2,happy\n"
    r = run_cli("analyze", "-", "--model", lexicon, input=table)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.decode().splitlines()) == 3  # one text per line, the header too: that is what txt means
    assert "pass --format csv" in r.stderr.decode()
    r = run_cli("analyze", "-", "--format", "csv", "--model", lexicon, input=table)
    assert r.returncode == 0 and len(r.stdout.decode().splitlines()) == 2
    assert "pass --format" not in r.stderr.decode()
    r = run_cli("analyze", "-", "--model", lexicon, input=b"the text, for once, has commas\nhappy\n")
    assert r.returncode == 0 and "pass --format" not in r.stderr.decode()


# -- 21. messages ---------------------------------------------------------------------------------------------------
def test_unknown_output_extension_names_output_format(tmp_path, lexicon):
    src = tmp_path / "in.csv"
    src.write_text("text\nhappy\n")
    r = run_cli("analyze", str(src), "-o", str(tmp_path / "x.xyz"), "--model", lexicon)  # with the progress bar
    err = r.stderr.decode()
    assert r.returncode == 1 and "pass --output-format" in err
    assert err.startswith("error: ") or "\nerror: " in err  # on a line of its own


def test_warnings_during_a_progress_bar_get_their_own_line(tmp_path, lexicon):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("text\nhappy\n")
    (parts / "b.csv").write_text("body\nsad\n")  # fails: no text column
    r = run_cli("analyze", str(parts), "-o", str(tmp_path / "res/"), "--model", lexicon)
    err = r.stderr.decode()
    assert r.returncode == 3
    assert re.search(r"(^|[\r\n])ERROR: partition \S*b\.csv failed", err), err


# -- issue 18, second probe: resume fingerprint, run summary, CSV formulas, long texts ------------------------------
class _Interrupting:
    """Wraps an analyzer; ``analyze_batch`` raises KeyboardInterrupt on call number ``stop_at`` (1-based), as a
    Ctrl-C in the middle of a job would."""

    def __init__(self, inner, stop_at: int | None = None) -> None:
        self.inner, self.stop_at, self.calls = inner, stop_at, 0
        self.name, self.labelset = inner.name, inner.labelset

    def analyze_batch(self, items, labels=None):
        self.calls += 1
        if self.stop_at is not None and self.calls >= self.stop_at:
            raise KeyboardInterrupt
        return self.inner.analyze_batch(items, labels)

    def predict_batch(self, items, labels=None):
        return self.inner.predict_batch(items, labels)

    def info(self):
        return self.inner.info()


def _interrupted_then_resumed(tmp_path, lexicon, texts, chunk_size, edit=None):
    """Run a job on ``texts`` that is interrupted after its first chunk, apply ``edit(path)`` to the input, then
    run the same job again; return the second run's report and output."""
    import affectkit
    from affectkit.runner import AnalyzeOptions, run_analyze

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(src, index=False)
    analyzer = affectkit.load(lexicon)
    opts = AnalyzeOptions(batch_size=chunk_size)
    with pytest.raises(KeyboardInterrupt):
        run_analyze(src, out, _Interrupting(analyzer, stop_at=2), opts, chunk_size=chunk_size, progress=False)
    assert len(list((tmp_path / "out.csv.affectkit-parts").glob("part-*.csv"))) == 1
    if edit is not None:
        edit(src)
    report = run_analyze(src, out, analyzer, opts, chunk_size=chunk_size, progress=False)
    return report, pd.read_csv(out, keep_default_na=False)


def test_resume_notices_a_same_size_edit_in_mid_file_with_the_mtime_restored(tmp_path, lexicon):
    """Finding 4: the fingerprint covered only size, mtime and the first and last MiB."""
    n = 100_000  # about 3 MiB: row 45,000 is more than 1 MiB from either end, in the first chunk
    texts = [f"I love this {i:06d}" for i in range(n)]

    def edit(path: Path) -> None:
        st = path.stat()
        data = bytearray(path.read_bytes())
        at = data.index(b"I love this 045000")
        assert 1 << 20 < at < len(data) - (1 << 20)
        data[at:at + 11] = b"I hate this"  # same length
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns

    report, df = _interrupted_then_resumed(tmp_path, lexicon, texts, 60_000, edit)
    assert report.resumed_chunks == 0  # the job started over: its input is not the one the parts came from
    assert df.loc[45_000, "text"] == "I hate this 045000"


def test_fingerprint_hashes_every_byte_and_ignores_the_mtime(tmp_path):
    from affectkit.tabular.writers import fingerprint_file

    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * (3 << 20))
    before = fingerprint_file(path)
    path.write_bytes(b"a" * (3 << 19) + b"b" + b"a" * ((3 << 19) - 1))
    assert fingerprint_file(path) != before
    path.write_bytes(b"a" * (3 << 20))
    os.utime(path, (1, 1))
    assert fingerprint_file(path) == before  # touched, not changed: still resumable


def test_summary_after_a_resume_counts_every_error_and_the_speed_of_this_run_only(tmp_path, lexicon):
    """Finding 20: errors in resumed chunks were not counted, and rows/s counted rows this run did not analyse."""
    texts = [("" if i % 10 == 0 else f"I love this {i}") for i in range(2_000)]  # 200 empty texts, 100 per chunk
    report, df = _interrupted_then_resumed(tmp_path, lexicon, texts, 1_000)
    assert report.resumed_chunks == 1 and report.rows == 2_000 and report.analysed == 1_000
    assert report.errors == 200 == (df["error"] != "").sum()
    assert report.error_counts == {"empty text": 200}
    assert report.rows_per_second == pytest.approx(1_000 / report.seconds)


def test_csv_escape_formulas_on_the_command_line(tmp_path, lexicon):
    """Finding 11: cells starting with = + - @ reached the CSV as they were."""
    src = tmp_path / "in.csv"
    texts = ["=HYPERLINK(\"http://x\",\"click\")", "+1+2", "-2+3", "@SUM(A1)", "I love this", "\tTAB"]
    pd.DataFrame({"=id": range(len(texts)), "text": texts}).to_csv(src, index=False)
    out, raw = tmp_path / "out.csv", tmp_path / "raw.csv"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q", "--csv-escape-formulas"]) == 0
    assert main(["analyze", str(src), "-o", str(raw), "--model", lexicon, "-q"]) == 0
    escaped = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert escaped["text"].tolist() == ["'" + t for t in texts[:4]] + ["I love this", "'\tTAB"]
    assert list(escaped.columns)[0] == "'=id" and escaped["'=id"].tolist() == [str(i) for i in range(6)]
    assert pd.to_numeric(escaped["valence"]).notna().any()  # numbers (negative ones too) stay numbers
    assert pd.read_csv(raw, dtype=str, keep_default_na=False)["text"].tolist() == texts  # off by default


def test_max_chars_gives_a_row_error_not_a_truncation(tmp_path, lexicon):
    """Finding 22: a per-text length limit (off by default)."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in ["I love this", "happy " * 50, "so sad"]))
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q", "--max-chars", "100"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["error"] for r in rows] == [None, "text has 300 characters, over the limit of 100 (--max-chars)", None]
    assert rows[1]["emotion_1"] is None and rows[0]["emotion_1"] is not None


def test_a_batch_is_split_so_no_model_call_holds_more_than_max_batch_chars(lexicon):
    """Finding 22: four 0.5 MB texts went to the encoder in one call; memory now grows with the largest call."""
    import affectkit
    from affectkit.analyzers.base import MAX_BATCH_CHARS

    analyzer = affectkit.load(lexicon)
    sizes: list[int] = []
    real = type(analyzer).predict_batch

    def recording(self, items, labels=None):
        sizes.append(sum(len(t) for t in items))
        return real(self, items, labels)

    long = ("I am so happy today and also a little sad. " * 12_000)[:500_000]
    texts = [long, "short one", long, long, "another", long] + ["tiny"] * 100
    try:
        type(analyzer).predict_batch = recording
        batch = analyzer.analyze_batch(texts)
    finally:
        type(analyzer).predict_batch = real
    assert len(batch) == len(texts) and not any(batch.errors)
    assert max(sizes) <= 500_000 + len("short one") and sum(sizes) == sum(map(len, texts))
    assert all(s <= MAX_BATCH_CHARS for s in sizes if s < 500_000)
    alone = affectkit.load(lexicon).analyze_batch([long])
    np.testing.assert_allclose(batch.dist[2], alone.dist[0])  # the same scores as without the split


@pytest.mark.parametrize("ext", ["csv", "jsonl", "txt"])
def test_chunks_close_at_a_character_budget_as_well_as_a_row_count(tmp_path, ext):
    """Memory follows what the rows hold: rows of 100 characters with a budget of 250 make chunks of 3 rows (the
    row that reaches the budget closes its chunk); every row comes back once, in order."""
    from affectkit.tabular import read_chunks

    texts = [f"{i:03d}" + "x" * 97 for i in range(10)]
    path = tmp_path / f"in.{ext}"
    if ext == "csv":
        path.write_text("text\n" + "\n".join(texts) + "\n")
    elif ext == "jsonl":
        path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    else:
        path.write_text("\n".join(texts) + "\n")
    chunks = list(read_chunks(path, chunk_size=1000, text_col="text", chunk_chars=250))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [c.start for c in chunks] == [0, 3, 6, 9]
    assert [t for c in chunks for t in c.frame["text"]] == texts
    by_rows = list(read_chunks(path, chunk_size=4, text_col="text"))  # the default budget is far above 1,000 chars
    assert [len(c) for c in by_rows] == [4, 4, 2]
