"""Output fidelity and user expectations (issue 19): numbers in CSV columns stay numbers, a text's scores barely
move with its batch, ``classes_`` labels ``predict_proba``'s columns, failed runs leave no parts folder, and a
missing training file is named at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import affectkit
from affectkit.cli import main
from affectkit.tabular.readers import numbers_as_numbers, read_chunks

ROOT = Path(__file__).resolve().parents[1]
CSV = "id,score,text,zip,code,note\n1,2.5,I love this,007,1e3,\n2,3.0,awful day,12,,x\n-3,,so tired,5,7,\n"


@pytest.fixture(scope="module")
def fast() -> affectkit.Analyzer:
    return affectkit.load("fast")


def test_plain_numbers_become_numbers_and_nothing_else_does() -> None:
    given = {"text": ["1", "2"], "n": ["7", "-0"], "f": ["2.5", ""], "lead": ["007", "1"], "sci": ["1e3", "2"],
             "trail": ["1.50", "2"], "word": ["3", "x"], "huge": ["1" * 19, "1"]}
    names = list(given)
    rows = [list(r) for r in zip(*given.values())]
    numbers_as_numbers(names, rows, keep="text")
    out = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    assert out["text"] == ["1", "2"]  # the text column is never touched
    assert out["n"] == ["7", "-0"]  # "-0" would come back as "0"
    assert out["f"] == [2.5, None]
    for col in ("lead", "sci", "trail", "word", "huge"):
        assert out[col] == given[col], col
    rows = [["a", "-12"]]
    numbers_as_numbers(["text", "n"], rows, keep="text")
    assert rows[0][1] == -12 and type(rows[0][1]) is int


def test_training_readers_keep_text(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    assert next(read_chunks(src, text_col="text", typed=False)).frame["id"].tolist() == ["1", "2", "-3"]
    assert next(read_chunks(src)).frame["id"].tolist() == ["1", "2", "-3"]  # no text column named: untouched


@pytest.mark.parametrize("ext", ["jsonl", "parquet", "csv"])
def test_csv_numbers_round_trip_through_analyze(tmp_path: Path, ext: str) -> None:
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    out = tmp_path / f"out.{ext}"
    assert main(["analyze", str(src), "-o", str(out), "--model", "fast", "-q"]) == 0
    if ext == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["id"] for r in rows] == [1, 2, -3] and [r["score"] for r in rows] == [2.5, 3.0, None]
        assert [r["zip"] for r in rows] == ["007", "12", "5"] and [r["code"] for r in rows] == ["1e3", "", "7"]
        assert [r["note"] for r in rows] == ["", "x", ""]
    elif ext == "parquet":
        table = pq.read_table(out)
        assert str(table.schema.field("id").type) == "int64" and str(table.schema.field("score").type) == "double"
        assert table.column("id").to_pylist() == [1, 2, -3] and table.column("zip").to_pylist() == ["007", "12", "5"]
    else:  # a CSV output gives back every character of the input columns
        import csv

        with open(out, newline="") as f:
            rows = [r[:6] for r in csv.reader(f)]
        assert rows == list(csv.reader(CSV.splitlines()))


def test_chunks_of_different_types_still_assemble_to_parquet(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,happy\n2,sad\nx3,angry\n")
    out = tmp_path / "out.parquet"
    assert main(["analyze", str(src), "-o", str(out), "--model", "fast", "--chunk-size", "2", "-q"]) == 0
    assert pq.read_table(out).column("id").to_pylist() == ["1", "2", "x3"]  # a mixed column is text, as before


def test_a_texts_scores_move_only_in_float32_rounding_with_its_batch(fast: affectkit.Analyzer) -> None:
    """Tolerance stated in docs/scale-out.md (benchmarks/batch_exactness.py measures it on GoEmotions)."""
    texts = [line.split(",", 1)[-1] for line in (ROOT / "examples" / "posts.csv").read_text().splitlines()[1:]]
    texts = texts + [t * 3 for t in texts[:6]] + ["ok", "no."]
    for name in ("fast", "default"):
        model = fast if name == "fast" else affectkit.load("default")
        alone = [model.analyze_batch([t]) for t in texts]
        together = model.analyze_batch(texts)
        dist = np.vstack([a.dist for a in alone])
        vad = np.vstack([a.vad for a in alone])
        assert np.abs(together.dist - dist).max() < 1e-5, name
        assert np.abs(together.vad - vad).max() < 1e-5, name
        assert (together.dist.argmax(1) == dist.argmax(1)).all()


def test_classes_label_the_columns_of_predict_proba(fast: affectkit.Analyzer) -> None:
    texts = ["thank you so much for your help", "this is terrifying"]
    proba = fast.predict_proba(texts)
    assert list(fast.classes_) == list(fast.labelset.labels) and proba.shape == (2, len(fast.classes_))
    assert list(fast.classes_[proba.argmax(1)]) == list(fast.predict(texts))


def test_a_run_that_fails_before_its_first_chunk_leaves_no_parts_folder(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("body\nhello\n")
    out = tmp_path / "out.csv"
    assert main(["analyze", str(src), "-o", str(out), "--model", "fast", "-q"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_finished_parts_stay_for_resume(tmp_path: Path) -> None:
    from affectkit.tabular.writers import PartWriter

    writer = PartWriter(tmp_path / "out.jsonl", None, {"job": 1})
    writer.write(0, __import__("pandas").DataFrame({"a": [1]}))
    writer.close()  # as after Ctrl-C: the finished part is kept
    again = PartWriter(tmp_path / "out.jsonl", None, {"job": 1})
    assert again.resumed == 1
    again.close()


def test_a_missing_training_file_is_named_before_any_data_is_loaded(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from affectkit.errors import InputError
    from affectkit.training.config import TaskSpec
    from affectkit.training.trainer import check_task_files

    monkeypatch.chdir(tmp_path)
    spec = TaskSpec(type="vad", dataset="runs/distill/teacher.csv", name="vad_teacher",
                    source="a teacher's VAD labels, written by scripts/teacher_labels.py")
    with pytest.raises(InputError, match="'vad_teacher': training file runs/distill/teacher.csv not found.*"
                                         "teacher_labels.py"):
        check_task_files([spec])
    (tmp_path / "runs" / "distill").mkdir(parents=True)
    (tmp_path / "runs" / "distill" / "teacher.csv").write_text("text\n")
    check_task_files([spec, TaskSpec(type="categories", dataset="goemotions")])  # built-in names are not files


ROWS_CSV = ("id,score,text,zip,code,note,formula\n1,2.5,I love this,007,1e3,,=SUM(A1)\n2,3.0,awful day,12,,x,-0.5\n"
            "-3,,so tired,5,7,,\n4,1,\"a, \"\"quoted\"\"\nline\",6,8,y,@x\n5,2\n")
ROWS_JSONL = ('{"id": 1, "text": "I love this", "meta": {"a": [1, 2]}, "flag": true}\n'
              '{"id": "b", "text": "awful =day", "score": 0.25}\n'
              '{"text": "no id here", "flag": null}\nnot json\n{"id": 4}\n'
              '{"id": 5, "text": "bad \\udcff byte", "score": 7}\n')


@pytest.mark.parametrize("out_fmt", ["csv", "tsv", "jsonl"])
@pytest.mark.parametrize("given", ["csv", "jsonl", "txt"])
@pytest.mark.parametrize("options", [{}, {"prefix": "ak_", "labels": "plutchik", "top_k": 2},
                                     {"distribution": False, "vad_scale": "1-9", "csv_escape_formulas": True}])
def test_a_chunk_written_from_rows_has_the_bytes_of_the_same_chunk_written_from_a_frame(
        tmp_path, fast, given, out_fmt, options) -> None:
    """``analyze`` streams a text file's rows without pandas (:func:`affectkit.runner.analyze_rows`); the rows it
    writes are the bytes the DataFrame path writes for the same chunk: numbers, empty and missing cells, nested
    JSON, quoting, row errors, undecodable bytes, escaped formulas, prefixes and label sets alike."""
    from affectkit.runner import AnalyzeOptions, analyze_frame, analyze_rows
    from affectkit.tabular.writers import write_frame

    src = tmp_path / f"in.{given}"
    src.write_text({"csv": ROWS_CSV, "jsonl": ROWS_JSONL, "txt": "I love this\n\n=cmd\nawful day\n"}[given],
                   encoding="utf-8", errors="surrogateescape")
    opts = AnalyzeOptions(**options)
    escape = opts.csv_escape_formulas and out_fmt != "jsonl"
    for chunk in read_chunks(src, chunk_size=3, text_col="text"):
        assert chunk.rows is not None
        table = analyze_rows(chunk, fast, opts)
        frame = analyze_frame(chunk.frame, fast, opts, chunk.errors)
        table.write(tmp_path / f"rows.{out_fmt}", escape_formulas=escape)
        write_frame(frame, tmp_path / f"frame.{out_fmt}", escape_formulas=escape)
        assert (tmp_path / f"rows.{out_fmt}").read_bytes() == (tmp_path / f"frame.{out_fmt}").read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_table_infers_column_types_as_pandas_does(tmp_path, fmt) -> None:
    """Ints with a missing value are floats in a DataFrame (``1.0``), ints alone stay ints, booleans with a
    missing value stay objects, NaN is empty or null: a :class:`Table` writes each as pandas would."""
    import pandas as pd

    from affectkit.tabular.table import Table, as_pandas_would
    from affectkit.tabular.writers import write_frame

    cols = {"a": [1, None], "b": [1, 2], "c": [True, None], "d": np.array([0.5, np.nan]), "e": ["x", None],
            "f": [1, 2.5], "g": [np.float64(1e-7), np.int64(3)], "h": [None, None], "i": [{"k": 1}, [1, 2]]}
    assert as_pandas_would(cols["a"]) == ([1.0, pytest.approx(np.nan, nan_ok=True)], False)
    assert as_pandas_would(cols["b"]) == ([1, 2], False)
    Table.from_dict(cols, 2).write(tmp_path / f"t.{fmt}")
    write_frame(pd.DataFrame(cols), tmp_path / f"f.{fmt}")
    assert (tmp_path / f"t.{fmt}").read_bytes() == (tmp_path / f"f.{fmt}").read_bytes()
    if fmt == "csv":
        assert (tmp_path / "t.csv").read_text().splitlines()[1].startswith("1.0,1,True,0.5,x,1.0,1e-07,")
