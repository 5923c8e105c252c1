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
    import pandas as pd

    frame = pd.DataFrame({"text": ["1", "2"], "n": ["7", "-0"], "f": ["2.5", ""], "lead": ["007", "1"],
                          "sci": ["1e3", "2"], "trail": ["1.50", "2"], "word": ["3", "x"], "huge": ["1" * 19, "1"]},
                         dtype=object)
    out = numbers_as_numbers(frame, keep="text")
    assert out["text"].tolist() == ["1", "2"]  # the text column is never touched
    assert out["n"].tolist() == ["7", "-0"]  # "-0" would come back as "0"
    assert out["f"].tolist() == [2.5, None]
    for col in ("lead", "sci", "trail", "word", "huge"):
        assert out[col].tolist() == frame[col].tolist(), col
    ok = numbers_as_numbers(pd.DataFrame({"text": ["a"], "n": ["-12"]}, dtype=object), keep="text")
    assert ok["n"].tolist() == [-12] and type(ok["n"][0]) is int


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
