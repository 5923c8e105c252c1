"""Partitioned jobs on the local engine: partition discovery, manifest, restart, bad partitions, exit codes.

The Ray engine runs the same code per partition (see test_distributed_ray.py for the real cluster)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from affectkit.cli import main
from affectkit.distributed import find_partitions
from affectkit.distributed.manifest import PartRecord, count_rows, sha256_file, verify_part
from affectkit.distributed.partitions import is_directory_output, output_layout
from affectkit.errors import InputError
from affectkit.runner import AnalyzeOptions, run_analyze

LEXICON_ROWS = ["happy\tjoy\t1", "love\tjoy\t1", "angry\tanger\t1", "hate\tanger\t1", "afraid\tfear\t1",
                "sad\tsadness\t1", "wow\tsurprise\t1", "trust\ttrust\t1"]


@pytest.fixture()
def lexicon(tmp_path: Path) -> str:
    path = tmp_path / "lexicon.tsv"
    path.write_text("\n".join(LEXICON_ROWS) + "\n", encoding="utf-8")
    return f"lexicon:{path}"


def write_partitions(root: Path) -> list[Path]:
    """Three CSV partitions and one Parquet partition, with bad rows: a record with extra fields, bytes that are
    not UTF-8, an empty text, a null, and a text with a newline inside quotes."""
    root.mkdir(parents=True, exist_ok=True)
    a = root / "2024-01.csv"
    a.write_bytes(b'id,text\n1,I am so happy today\n2,"I hate this, and I am angry"\n3,too,many,fields\n'
                  b'4,bad \xff\xfe bytes here\n5,\n6,"two\nlines of love"\n')
    b = root / "2024-02.csv"
    b.write_text("id,text\n" + "".join(f"{i},text number {i} is sad or wow\n" for i in range(7, 30)),
                 encoding="utf-8")
    c = root / "2024-03" / "part-0.csv"
    c.parent.mkdir()
    c.write_text("id,text\n30,I trust you\n31,afraid of nothing\n", encoding="utf-8")
    d = root / "2024-04.csv"
    d.write_text("id,text\n", encoding="utf-8")  # an empty partition gives an empty result, not an error
    (root / "_SUCCESS").write_text("")
    (root / ".hidden.csv").write_text("id,text\n99,never read\n")
    return [a, b, c, d]


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def local_reference(files: list[Path], model: str, tmp: Path, ext: str = "parquet") -> pd.DataFrame:
    """The local engine (``run_analyze``) on each partition file, concatenated in partition order."""
    import affectkit

    frames = []
    for i, f in enumerate(files):
        out = tmp / f"ref-{i}.{ext}"
        run_analyze(f, out, affectkit.load(model), AnalyzeOptions(), progress=False)
        frames.append(pd.read_parquet(out) if ext == "parquet" else
                      pd.read_csv(out, dtype=str, keep_default_na=False))
    return pd.concat(frames, ignore_index=True)


def test_find_partitions_walks_sorted_and_skips_hidden(tmp_path: Path) -> None:
    files = write_partitions(tmp_path / "in")
    parts = find_partitions(tmp_path / "in")
    assert [p.key for p in parts] == ["2024-01.csv", "2024-02.csv", "2024-03/part-0.csv", "2024-04.csv"]
    assert [p.path for p in parts] == [str(f.resolve()) for f in files]
    assert {p.fmt for p in parts} == {"csv"}
    globbed = find_partitions(str(tmp_path / "in" / "**" / "*.csv"))
    assert [p.key for p in globbed] == [p.key for p in parts]
    single = find_partitions(files[1])
    assert [(p.key, p.fmt) for p in single] == [("2024-02.csv", "csv")]


def test_find_partitions_refuses_mixed_or_unknown_formats(tmp_path: Path) -> None:
    write_partitions(tmp_path / "in")
    (tmp_path / "in" / "notes.txt").write_text("a note\n")
    with pytest.raises(InputError, match="mixes formats"):
        find_partitions(tmp_path / "in")
    (tmp_path / "in" / "notes.txt").unlink()
    (tmp_path / "in" / "README.md").write_text("# data\n")
    with pytest.raises(InputError, match=r"cannot tell the format of 1 file.*README\.md"):
        find_partitions(tmp_path / "in")
    with pytest.raises(InputError, match="no file matches"):
        find_partitions(str(tmp_path / "in" / "*.parquet"))
    with pytest.raises(InputError, match="not found"):
        find_partitions(tmp_path / "missing")


def test_find_partitions_never_reads_the_output(tmp_path: Path) -> None:
    write_partitions(tmp_path / "in")
    (tmp_path / "in" / "results").mkdir()
    (tmp_path / "in" / "results" / "2024-01.csv").write_text("id,text\n1,x\n")
    keys = [p.key for p in find_partitions(tmp_path / "in", exclude=tmp_path / "in" / "results")]
    assert "results/2024-01.csv" not in keys and len(keys) == 4


def test_output_layout() -> None:
    assert is_directory_output("results/") and is_directory_output("results")
    assert not is_directory_output("results.csv")
    d = output_layout("results/")
    assert (d.fmt, d.single_file, d.work_dir, d.part_path("a/b.csv")) == (
        "parquet", False, Path.cwd() / "results", Path.cwd() / "results/a/b.parquet")
    f = output_layout("out.jsonl")
    assert (f.fmt, f.single_file, f.work_dir.name) == ("jsonl", True, "out.jsonl.affectkit-parts")
    with pytest.raises(InputError):
        output_layout("results/", "txt")


def test_count_rows_and_verify(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    pd.DataFrame({"text": ["one", "two\nlines", "three"]}).to_csv(p, index=False)
    assert count_rows(p, "csv") == 3
    rec = PartRecord("x.csv", "ok", rows=3, sha256=sha256_file(p), bytes=p.stat().st_size)
    assert verify_part(p, "csv", rec) is None
    p.write_text(p.read_text().replace("one", "uno"))
    assert verify_part(p, "csv", rec) == "checksum differs from the manifest"
    p.write_text(p.read_text() + "four\n")
    assert "size" in verify_part(p, "csv", rec)
    p.unlink()
    assert verify_part(p, "csv", rec) == "result file missing"


def test_directory_output_equals_local_engine_per_partition(tmp_path: Path, lexicon: str) -> None:
    files = write_partitions(tmp_path / "in")
    out = tmp_path / "out"
    assert run_cli("analyze", tmp_path / "in", "-o", f"{out}/", "-m", lexicon, "-q") == 0
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["complete"] and manifest["partitions_ok"] == 4
    parts = [out / r["part"] for r in manifest["partitions"]]
    assert [r["part"] for r in manifest["partitions"]] == [
        "2024-01.parquet", "2024-02.parquet", "2024-03/part-0.parquet", "2024-04.parquet"]
    for r, p in zip(manifest["partitions"], parts):
        assert r["sha256"] == sha256_file(p) and r["rows"] == count_rows(p, "parquet")
    got = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    ref = local_reference(files, lexicon, tmp_path)
    pd.testing.assert_frame_equal(got, ref)
    # rows in = rows out, bad rows carry their reason
    assert list(got["id"]) == list(range(1, 32))  # a CSV column of plain numbers stays numbers
    errors = dict(zip(got["id"].astype(str), got["error"]))
    assert "expected 2 fields, found 4" in errors["3"]
    assert "invalid UTF-8" in errors["4"] and errors["5"] == "empty text"
    assert pd.isna(errors["6"]) and pd.isna(errors["1"]) and got["text"][5] == "two\nlines of love"


def test_single_file_output_is_assembled_in_partition_order(tmp_path: Path, lexicon: str) -> None:
    files = write_partitions(tmp_path / "in")
    out = tmp_path / "all.csv"
    assert run_cli("analyze", str(tmp_path / "in" / "**" / "*.csv"), "-o", out, "-m", lexicon, "-q") == 0
    assert not (tmp_path / "all.csv.affectkit-parts").exists()
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    # the empty partition has no prediction columns of its own; assembly aligns it to the others
    ref = local_reference(files, lexicon, tmp_path, "csv")[list(got.columns)].fillna("")
    pd.testing.assert_frame_equal(got, ref)


def test_rerun_skips_verified_partitions_and_redoes_tampered_ones(tmp_path: Path, lexicon: str,
                                                                  capsys: pytest.CaptureFixture) -> None:
    write_partitions(tmp_path / "in")
    out = tmp_path / "out"
    args = ("analyze", tmp_path / "in", "-o", f"{out}/", "-m", lexicon)
    assert run_cli(*args) == 0
    first = {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in out.glob("*.parquet")}
    capsys.readouterr()
    assert run_cli(*args) == 0
    assert "0 computed, 4 verified from an earlier run" in capsys.readouterr().err
    assert {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in out.glob("*.parquet")} == first
    # a result file that no longer matches its checksum is computed again, and comes back identical
    tampered = out / "2024-02.parquet"
    tampered.write_bytes(tampered.read_bytes()[:-10] + b"0123456789")
    assert run_cli(*args) == 0
    assert "1 computed, 3 verified from an earlier run" in capsys.readouterr().err
    assert sha256_file(tampered) == first["2024-02.parquet"][1]
    # a changed input partition is computed again; a removed one loses its result
    (tmp_path / "in" / "2024-04.csv").write_text("id,text\n40,so happy\n")
    (tmp_path / "in" / "2024-01.csv").unlink()
    assert run_cli(*args) == 0
    assert "1 computed, 2 verified from an earlier run" in capsys.readouterr().err
    assert not (out / "2024-01.parquet").exists()
    assert list(pd.read_parquet(out / "2024-04.parquet")["id"]) == [40]
    # other options are another job: everything is computed again
    assert run_cli(*args, "--top-k", "2") == 0
    assert "3 computed, 0 verified" in capsys.readouterr().err


def test_unreadable_partition_is_reported_and_the_rest_finish(tmp_path: Path, lexicon: str,
                                                               capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for i in range(3):
        pd.DataFrame({"id": [i * 10 + j for j in range(5)], "text": ["happy"] * 5}).to_parquet(root / f"p{i}.parquet")
    bad = root / "p1.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    out = tmp_path / "out"
    assert run_cli("analyze", root, "-o", f"{out}/", "-m", lexicon, "-q") == 3
    err = capsys.readouterr().err
    assert "1 of 3 partition(s) failed" in err and f"{bad.resolve()}: " in err and "not a parquet file" in err
    manifest = json.loads((out / "_manifest.json").read_text())
    assert [r["status"] for r in manifest["partitions"]] == ["ok", "failed", "ok"]
    assert not manifest["complete"] and (out / "p0.parquet").exists() and not (out / "p1.parquet").exists()
    # a file output is not assembled while partitions are missing
    assert run_cli("analyze", root, "-o", tmp_path / "all.parquet", "-m", lexicon, "-q") == 3
    assert not (tmp_path / "all.parquet").exists()
    # the bad partition removed, a rerun finishes the job and reuses the verified partitions
    bad.unlink()
    assert run_cli("analyze", root, "-o", f"{out}/", "-m", lexicon) == 0
    assert "0 computed, 2 verified" in capsys.readouterr().err
    assert run_cli("analyze", root, "-o", tmp_path / "all.parquet", "-m", lexicon, "-q") == 0
    assert list(pd.read_parquet(tmp_path / "all.parquet")["id"]) == [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]


def test_every_partition_failing_is_a_whole_job_failure(tmp_path: Path, lexicon: str,
                                                        capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for i in range(2):
        (root / f"p{i}.csv").write_text("id,body\n1,happy\n")
    assert run_cli("analyze", root, "-o", f"{tmp_path / 'out'}/", "-m", lexicon, "-q") == 1
    err = capsys.readouterr().err
    assert "all 2 partition(s) failed" in err and "column 'text' not found" in err


def test_refuses_a_foreign_non_empty_output_directory(tmp_path: Path, lexicon: str,
                                                      capsys: pytest.CaptureFixture) -> None:
    write_partitions(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert run_cli("analyze", tmp_path / "in", "-o", f"{out}/", "-m", lexicon, "-q") == 1
    assert "not empty" in capsys.readouterr().err and (out / "precious.txt").read_text() == "keep me"


def test_stdin_and_missing_output_are_refused(tmp_path: Path, lexicon: str, capsys: pytest.CaptureFixture) -> None:
    write_partitions(tmp_path / "in")
    assert run_cli("analyze", tmp_path / "in", "-m", lexicon, "-q") == 1
    assert "pass -o DIR" in capsys.readouterr().err
    assert run_cli("analyze", tmp_path / "in", "-o", tmp_path / "o/", "--engine", "spark", "-q") == 2


def test_local_single_file_jobs_keep_the_local_engine(tmp_path: Path, lexicon: str) -> None:
    files = write_partitions(tmp_path / "in")
    out = tmp_path / "one.jsonl"
    assert run_cli("analyze", files[0], "-o", out, "-m", lexicon, "-q") == 0
    assert not (tmp_path / "_manifest.json").exists()
    assert len(out.read_text().splitlines()) == 6
    assert os.path.exists(out)


def test_engine_option_parsing(tmp_path: Path) -> None:
    from affectkit.distributed import load_runtime_env, needs_partitioned_run
    from affectkit.distributed.ray_engine import parse_workers
    from affectkit.errors import AffectkitError

    assert parse_workers(None) is None and parse_workers("4") == (4, 4) and parse_workers("2-8") == (2, 8)
    for bad in ("0", "8-2", "x", "1-y"):
        with pytest.raises(AffectkitError):
            parse_workers(bad)
    assert load_runtime_env('{"pip": ["affectkit[ray]"]}') == {"pip": ["affectkit[ray]"]}
    env_file = tmp_path / "env.yaml"
    env_file.write_text("env_vars:\n  AFFECTKIT_THREADS: '1'\n")
    assert load_runtime_env(str(env_file)) == {"env_vars": {"AFFECTKIT_THREADS": "1"}}
    with pytest.raises(InputError):
        load_runtime_env("[1, 2]")
    one = tmp_path / "one.csv"
    one.write_text("text\nhappy\n")
    assert not needs_partitioned_run(str(one), "out.csv", "local")
    assert not needs_partitioned_run("-", None, "local") and not needs_partitioned_run("missing.csv", None, "local")
    assert needs_partitioned_run(str(one), "out.csv", "ray") and needs_partitioned_run(str(one), "out/", "local")
    assert needs_partitioned_run(str(tmp_path), "out.csv", "local") and needs_partitioned_run("x/*.csv", None, "local")


# -- rank over partitions ----------------------------------------------------------------------------------------
def write_rank_partitions(root: Path) -> Path:
    """Four CSV partitions (one empty) with many tied scores, texts without an emotion word and empty texts, plus
    the same rows as one file (the local engine's input)."""
    words = ["happy", "angry", "sad", "afraid", "love", "wow", "nothing", "", "hate and love", "so happy happy"]
    sizes = [7, 0, 12, 5]
    root.mkdir(parents=True)
    rows, start = [], 0
    for k, n in enumerate(sizes):
        part = pd.DataFrame({"id": range(start, start + n),
                             "text": [words[(i * 7 + k) % len(words)] for i in range(start, start + n)]})
        part.to_csv(root / f"part-{k}.csv", index=False)
        rows.append(part)
        start += n
    whole = root.parent / "whole.csv"
    pd.concat(rows).to_csv(whole, index=False)
    return whole


@pytest.mark.parametrize("by, cut, ext", [("joy", [], "csv"), ("anger+sadness", ["--top", "6"], "jsonl"),
                                          ("-joy", ["--share", "0.5"], "parquet")])
def test_rank_over_partitions_equals_the_local_ranking(tmp_path: Path, lexicon: str, by: str, cut: list[str],
                                                        ext: str) -> None:
    whole = write_rank_partitions(tmp_path / "in")
    local, merged = tmp_path / f"local.{ext}", tmp_path / f"merged.{ext}"
    common = ["--by", by, "-m", lexicon, "--memory-rows", "4", "--chunk-size", "3", *cut, "-q"]
    assert run_cli("rank", whole, "-o", local, *common) == 0
    assert run_cli("rank", tmp_path / "in", "-o", merged, *common) == 0
    assert not (tmp_path / f"merged.{ext}.affectkit-parts").exists()
    if ext == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(merged), pd.read_parquet(local))
    else:
        assert merged.read_bytes() == local.read_bytes()
    ranked = pd.read_parquet(merged) if ext == "parquet" else pd.read_json(merged, lines=True) if ext == "jsonl" \
        else pd.read_csv(merged)
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1)) and "_affectkit_sort_key" not in ranked


def test_rank_over_partitions_restarts_from_verified_partitions(tmp_path: Path, lexicon: str,
                                                                  capsys: pytest.CaptureFixture) -> None:
    write_rank_partitions(tmp_path / "in")
    bad = tmp_path / "in" / "part-9.csv"
    bad.write_text("id,body\n99,so happy happy happy\n")
    out = tmp_path / "ranked.csv"
    args = ("rank", tmp_path / "in", "-o", out, "--by", "joy", "-m", lexicon)
    assert run_cli(*args) == 3
    err = capsys.readouterr().err
    assert "1 of 5 partition(s) failed" in err and "part-9.csv: column 'text' not found" in err
    assert not out.exists() and (tmp_path / "ranked.csv.affectkit-parts" / "_manifest.json").exists()
    # fixed, the failed partition is scored; the four others are verified and merged as they are
    bad.write_text("id,text\n99,so happy happy happy\n")
    assert run_cli(*args) == 0
    assert "1 computed, 4 verified from an earlier run" in capsys.readouterr().err
    ranked = pd.read_csv(out)
    assert len(ranked) == 25 and 99 in set(ranked["id"])
    whole = tmp_path / "whole-and-fixed.csv"
    pd.concat([pd.read_csv(tmp_path / "whole.csv"), pd.read_csv(bad)]).to_csv(whole, index=False)
    assert run_cli("rank", whole, "-o", tmp_path / "local.csv", "--by", "joy", "-m", lexicon, "-q") == 0
    assert out.read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_rank_over_partitions_needs_one_output_file(tmp_path: Path, lexicon: str,
                                                    capsys: pytest.CaptureFixture) -> None:
    write_rank_partitions(tmp_path / "in")
    assert run_cli("rank", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--by", "joy", "-m", lexicon, "-q") == 1
    assert "one ranking: give -o FILE" in capsys.readouterr().err
    assert run_cli("rank", tmp_path / "in", "-o", tmp_path / "r.csv", "--by", "valence", "-m", lexicon, "-q") == 1
    err = capsys.readouterr().err
    assert "all 4 partition(s) failed" in err and "part-2.csv: this analyzer gives no valence" in err


# -- eval as one unit per (task, model) pair ---------------------------------------------------------------------
TIMING = {"seconds", "texts_per_second", "created", "command"}


def comparable_results(out: Path) -> dict:
    """``results.json`` without the timings and the command line, which differ between any two runs."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING}
        return [strip(v) for v in obj] if isinstance(obj, list) else obj

    return strip(json.loads((out / "results.json").read_text()))


def test_eval_pairs_as_units_equal_the_local_evaluation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    from eval_support import EVAL_FIXTURES

    from affectkit.distributed import run_distributed
    from affectkit.distributed.eval_job import EvalRequest
    from affectkit.evaluation import EvalOptions, ModelSpec, evaluate, select_tasks

    monkeypatch.setenv("AFFECTKIT_DATA", str(EVAL_FIXTURES))
    tasks = select_tasks(["semeval2018-ec", "emotion-cause", "eemo-ranking", "eemo-assessment"])
    models = [ModelSpec(f"lexicon:{EVAL_FIXTURES / 'lexicon_emolex.txt'}"),
              ModelSpec("baseline:vader", baseline=True), ModelSpec("baseline:text2emotion", baseline=True)]
    options = EvalOptions(n_boot=30, progress=False, chunk_size=2, batch_size=2)
    evaluate(models, tasks, tmp_path / "local", options)
    report = run_distributed("eval", "", f"{tmp_path / 'units'}/", models, EvalRequest(tasks, options),
                             engine="local", quiet=True)
    local, units = comparable_results(tmp_path / "local"), comparable_results(tmp_path / "units")
    assert units == local
    ok = [r for r in local["results"] if r["status"] == "ok"]
    # a unit per pair with something to predict (a pair can still be skipped when scored, as locally)
    assert report.computed == report.partitions >= len(ok) >= 3
    assert any(r["status"] == "skipped" for r in local["results"])  # recorded as locally, not run as units
    for r in ok:
        assert (tmp_path / "units" / r["predictions"]).read_bytes() == \
            (tmp_path / "local" / r["predictions"]).read_bytes()
    # a rerun verifies every unit and scores again; so does a rerun with fewer models and tasks
    again = run_distributed("eval", "", f"{tmp_path / 'units'}/", models, EvalRequest(tasks, options),
                            engine="local", quiet=True)
    assert (again.computed, again.skipped) == (0, report.partitions)
    assert comparable_results(tmp_path / "units") == local
    other = run_distributed("eval", "", f"{tmp_path / 'units'}/", models[:1], EvalRequest(tasks[:2], options),
                            engine="local", quiet=True)
    assert other.computed == 0 and other.skipped == other.partitions >= 1
    assert not list((tmp_path / "units" / "records").rglob("*.affectkit-parts"))


def test_eval_units_need_a_folder(tmp_path: Path) -> None:
    from affectkit.distributed import run_distributed
    from affectkit.distributed.eval_job import EvalRequest
    from affectkit.evaluation import EvalOptions, select_tasks

    with pytest.raises(InputError, match="give -o DIR"):
        run_distributed("eval", "", tmp_path / "results.json", ["baseline:vader"],
                        EvalRequest(select_tasks(["emotion-cause"]), EvalOptions()), engine="local", quiet=True)
