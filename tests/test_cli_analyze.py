"""End-to-end tests of `affectkit analyze` on every input format and on each kind of bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, run_cli

from affectkit.cli import main

TEXTS = ["I love this so much", "I hate waiting", "The meeting is at noon", "This is terrible news", "happy happy"]


@pytest.fixture
def lexicon(fixtures):
    return f"lexicon:{fixtures / 'emolex_wordlevel.txt'},{fixtures / 'nrc_vad.tsv'}"


def read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_inputs(tmp_path):
    df = pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS, "group": list("ababa")})
    paths = {
        "csv": tmp_path / "in.csv", "tsv": tmp_path / "in.tsv", "jsonl": tmp_path / "in.jsonl",
        "parquet": tmp_path / "in.parquet", "txt": tmp_path / "in.txt",
    }
    df.to_csv(paths["csv"], index=False)
    df.to_csv(paths["tsv"], index=False, sep="\t")
    df.to_json(paths["jsonl"], orient="records", lines=True)
    df.to_parquet(paths["parquet"], index=False)
    paths["txt"].write_text("\n".join(TEXTS) + "\n")
    return paths


def read_output(path):
    ext = path.suffix
    if ext == ".parquet":
        return pd.read_parquet(path)
    if ext == ".jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_csv(path, sep="\t" if ext == ".tsv" else ",", keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet", "txt"])
@pytest.mark.parametrize("out_ext", [".csv", ".jsonl", ".parquet"])
def test_every_input_format_to_every_output_format(tmp_path, lexicon, fmt, out_ext):
    paths = write_inputs(tmp_path)
    out = tmp_path / f"out{out_ext}"
    assert main(["analyze", str(paths[fmt]), "-o", str(out), "--model", lexicon, "-q"]) == 0
    df = read_output(out)
    assert list(df["text"]) == TEXTS  # same rows, same order
    if fmt != "txt":  # input columns kept (CSV cells stay text: "007" keeps its zeros)
        assert [str(x) for x in df["id"]] == [str(i) for i in range(5)] and list(df["group"]) == list("ababa")
    assert df["error"].isna().all()
    assert df.loc[1, "emotion_1"] in ("anger", "disgust", "fear", "sadness")
    assert {"emotion_1", "emotion_1_score", "labels", "valence", "arousal", "dominance", "intensity", "polarity",
            "evidence", "p_joy"} <= set(df.columns)
    assert not out.with_name(out.name + ".affectkit-parts").exists()  # parts were assembled and removed


def test_stdin_to_stdout_with_label_set_and_top_k(lexicon):
    r = run_cli("analyze", "-", "--model", lexicon, "--labels", "ekman", "--top-k", "2", "-q",
                input="I hate waiting\nhappy\n".encode())
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(r.stdout.decode())
    assert len(rows) == 2 and "emotion_3" not in rows[0] and "p_surprise" in rows[0]
    assert rows[1]["emotion_1"] == "joy"


def test_tsv_output_and_vad_scale_and_prefix(tmp_path, lexicon):
    paths = write_inputs(tmp_path)
    out = tmp_path / "out.tsv"
    assert main(["analyze", str(paths["csv"]), "-o", str(out), "--model", lexicon, "--vad-scale", "1..9",
                 "--prefix", "ak_", "--no-distribution", "-q"]) == 0
    df = read_output(out)
    assert (df["ak_vad_scale"] == "1..9").all() and df["ak_valence"].dropna().between(1, 9).all()
    assert df["ak_valence"].isna().tolist() == [False, False, True, False, False]  # no VAD word, no guess
    assert not any(c.startswith("ak_p_") for c in df.columns)


def test_bad_rows_get_their_own_error_and_rows_in_equal_rows_out(tmp_path, lexicon):
    raw = (b'id,text\n1,I love it\n2,""\n3,"   "\n4,"bad,row",extra\n5,caf\xff broken\n6,happy\n'
           b"7," + b"so happy today " * 70_000 + b"\n")  # a ~1 MB text: segmented, not truncated
    src = tmp_path / "bad.csv"
    src.write_bytes(raw)
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    rows = read_jsonl(out.read_text())
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]  # a CSV column of plain numbers stays numbers
    errors = [r["error"] for r in rows]
    assert errors[0] is None and errors[5] is None and errors[6] is None
    assert errors[1] == "empty text" and errors[2] == "text is only whitespace"
    assert errors[3].startswith("malformed row at line 5: expected 2 fields, found 3")
    assert errors[4].startswith("invalid UTF-8: byte 0xff")
    assert rows[4]["text"] == "caf\ufffd broken"  # the row is kept; undecodable bytes are replaced on output
    assert rows[6]["emotion_1"] in ("anticipation", "joy", "trust")


def test_jsonl_bad_lines_and_non_string_cells(tmp_path, lexicon):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "happy"}\n{not json\n[1, 2]\n{"text": 5}\n{"text": null}\n{"text": "sad"}\n')
    out = tmp_path / "out.csv"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    df = read_output(out)
    assert len(df) == 6
    assert df["error"].tolist()[1].startswith("malformed JSON at line 2")
    assert df["error"].tolist()[2] == "line 3 is a JSON list, not an object"
    assert df["error"].tolist()[3] == "expected text, got int 5"
    assert df["error"].tolist()[4] == "missing text"
    assert pd.isna(df["error"].tolist()[0]) and pd.isna(df["error"].tolist()[5])


def test_parquet_nulls_and_numbers(tmp_path, lexicon):
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": ["happy", None, "sad"]}), src)
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", lexicon, "-q"]) == 0
    assert [r["error"] for r in read_jsonl(out.read_text())] == [None, "missing text", None]


@pytest.mark.parametrize("args,message", [
    (["--text-col", "body"], "column 'body' not found"),
    (["--labels", "nope"], "unknown label set 'nope'"),
    (["--model", "nope"], "unknown model 'nope'"),
    (["--vad-scale", "0..100"], "unknown VAD scale"),
])
def test_whole_job_errors_exit_non_zero_with_a_clear_message(tmp_path, lexicon, args, message):
    paths = write_inputs(tmp_path)
    extra = [] if "--model" in args else ["--model", lexicon]
    r = run_cli("analyze", str(paths["csv"]), "-o", str(tmp_path / "o.csv"), *extra, *args, "-q")
    assert r.returncode == 1
    assert message in r.stderr.decode() and "Traceback" not in r.stderr.decode()


def test_missing_input_and_unknown_extension(tmp_path):
    r = run_cli("analyze", str(tmp_path / "none.csv"), "-q")
    assert r.returncode == 1 and "input file not found" in r.stderr.decode()
    odd = tmp_path / "in.xlsx"
    odd.write_text("x")
    r = run_cli("analyze", str(odd), "-q")
    assert r.returncode == 1 and "--format" in r.stderr.decode()


def test_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path, lexicon):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["happy", "sad"]}).to_csv(src, index=False)
    before = src.read_bytes()
    for args in (("analyze", str(src), "-o", str(src)), ("analyze", str(src), "-o", str(tmp_path / "." / "in.csv")),
                 ("rank", str(src), "--by", "valence", "-o", str(src))):
        r = run_cli(*args, "--model", lexicon, "-q")
        assert r.returncode == 1 and "is the input file" in r.stderr.decode(), args
        assert src.read_bytes() == before


def test_output_column_clash_asks_for_a_prefix(tmp_path, lexicon):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["happy"], "valence": [1]}).to_csv(src, index=False)
    r = run_cli("analyze", str(src), "--model", lexicon, "-q")
    assert r.returncode == 1 and "--prefix" in r.stderr.decode()


def test_interrupted_job_resumes_without_duplicating_or_losing_rows(tmp_path, fixtures):
    lexicon = f"lexicon:{fixtures / 'emolex_wordlevel.txt'}"
    n = 30_000
    src = tmp_path / "big.csv"
    pd.DataFrame({"id": range(n), "text": [f"{TEXTS[i % 5]} number {i}" for i in range(n)]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    parts = tmp_path / "out.csv.affectkit-parts"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "affectkit", "analyze", str(src), "-o", str(out), "--model", lexicon,
           "--chunk-size", "500", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.csv"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # a hard kill: no chance to clean up
    proc.wait()
    done_before = len(list(parts.glob("part-*.csv")))
    assert 5 <= done_before < n // 500, "the job should have been killed part-way"
    assert not out.exists()
    r = subprocess.run(cmd[:-1], env=env, capture_output=True)  # same command again, without -q: it reports
    assert r.returncode == 0, r.stderr
    assert f"resumed after {done_before} finished chunk(s)" in r.stderr.decode()
    df = pd.read_csv(out)
    assert df["id"].tolist() == list(range(n))  # every row exactly once, in order
    assert df["error"].isna().all()


def test_python_api_on_a_dataframe(lexicon):
    import affectkit

    df = pd.DataFrame({"body": TEXTS, "k": range(5)}, index=[10, 11, 12, 13, 14])
    out = affectkit.analyze(df, model=lexicon, text_col="body", labels="ekman")
    assert len(out) == 5 and list(out["k"]) == list(range(5)) and "p_anger" in out
    one = affectkit.analyze("I hate waiting", model=lexicon)
    assert one.top in ("anger", "disgust", "fear", "sadness")
    many = affectkit.analyze(TEXTS, model=lexicon)
    assert len(many) == 5


def test_at_least_one_label_labels_every_row_and_changes_nothing_else(tmp_path):
    texts = ["ok", "The meeting is at noon.", "I miss her so much.", "What a lovely calm evening."]
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": texts}).to_csv(src, index=False)
    plain, every = tmp_path / "plain.csv", tmp_path / "every.csv"
    assert main(["analyze", str(src), "-o", str(plain), "--labels", "semeval-ec", "-q"]) == 0
    assert main(["analyze", str(src), "-o", str(every), "--labels", "semeval-ec", "-q", "--at-least-one-label"]) == 0
    a, b = read_output(plain), read_output(every)
    assert a["labels"].isna().any()  # the calibrated rule leaves some of these without a label
    assert b["labels"].notna().all()
    for x, y, top in zip(a["labels"], b["labels"], b["emotion_1"]):
        assert y == x if isinstance(x, str) else y == top  # only the empty rows change: they get their top label
    pd.testing.assert_frame_equal(a.drop(columns="labels"), b.drop(columns="labels"))
    import affectkit

    assert [p.labels for p in affectkit.analyze(texts, labels="semeval-ec", at_least_one_label=True)] == \
        [y.split(";") for y in b["labels"]]
