"""Evaluation tasks over media files: the loaders of the image, face and speech corpora (on tiny folders in their
official formats, made here), the media tasks' declarations, and `affectkit eval` end to end with the scene model
on generated images."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from affectkit.datasets import MEDIA_DATASETS, data_dir, load_dataset
from affectkit.errors import InputError
from affectkit.evaluation.runner import EvalOptions, ModelSpec, evaluate
from affectkit.evaluation.task import load_task, shipped_tasks

MEDIA_TASKS = {"oasis-valence": "oasis", "oasis-arousal": "oasis", "oasis-pairwise-arousal": "oasis",
               "oasis-rank-valence": "oasis", "bass-valence": "bass", "bass-arousal": "bass",
               "bass-pairwise-arousal": "bass", "bass-rank-valence": "bass", "faces-eval": "faces_eval",
               "ravdess-speech": "ravdess_speech", "emodb-speech": "emodb"}


def _write_csv(path: Path, header: list[str], rows: list[list], line_end: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator=line_end).writerows([header, *rows])


def _png(path: Path, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = rng.integers(0, 256, 3)
    grid = np.clip(base + rng.normal(0, 20 + 12 * seed, (48, 48, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(grid).resize((96, 96)).save(path)


def make_oasis(root: Path, n: int = 3) -> Path:
    """OASIS.csv as shipped (unnamed id column, old-Mac CR line ends, a theme with a trailing space)."""
    themes = ["Acorns 1", "War 2 ", "Sunset 1", "Dog 4", "Snow 2", "Yarn 3"][:n]
    rows = [[f"I{i + 1}", t, "Object", "Pixabay", 1 + i, 0.9, 101, 7 - i, 1.2, 102] for i, t in enumerate(themes)]
    _write_csv(root / "oasis" / "OASIS.csv", ["", "Theme", "Category", "Source", "Valence_mean", "Valence_SD",
                                             "Valence_N", "Arousal_mean", "Arousal_SD", "Arousal_N"], rows, "\r")
    for i, t in enumerate(themes):
        _png(root / "oasis" / "images" / f"{t.strip()}.jpg", i)  # PNG content under .jpg, as OASIS has one
    return root / "oasis"


def make_bass(root: Path, n: int = 8) -> Path:
    """BASS_data.csv (the US and Chinese raters' columns, others left out) and ``images/<file_name>``."""
    rows = []
    for i in range(n):
        name = f"shape{i}.png"
        _png(root / "bass" / "images" / name, i)
        rows.append([name, 1 + i, 9 - i, 1.0, 1.0, 100, 100, 5.0, 5.0, "kw", "Pixabay"])
    _write_csv(root / "bass" / "BASS_data.csv", ["file_name", "val_mean_us", "aro_mean_us", "val_sd_us",
                                                 "aro_sd_us", "val_n_us", "aro_n_us", "val_mean_ch", "aro_mean_ch",
                                                 "keywords", "source"], rows)
    return root / "bass"


def test_oasis_and_bass_loaders_on_hand_made_folders(tmp_path):
    make_oasis(tmp_path)
    ds = load_dataset("oasis", "all", root=tmp_path)
    assert len(ds) == 3 and ds.vad_scale == "-1..1" and ds.labelset is None
    assert ds.texts[1].endswith("images/War 2.jpg") and all(Path(t).is_file() for t in ds.texts)
    np.testing.assert_allclose(ds.vad[:, 0], [-1.0, -2 / 3, -1 / 3])  # 1, 2, 3 on 1..7
    np.testing.assert_allclose(ds.vad[:, 1], [1.0, 2 / 3, 1 / 3])
    assert np.isnan(ds.vad[:, 2]).all() and ds.meta["id"] == ["Acorns 1", "War 2", "Sunset 1"]
    assert "research use only" in ds.license and ds.files == [tmp_path / "oasis" / "OASIS.csv"]
    make_bass(tmp_path, 3)
    bass = load_dataset("bass", "all", root=tmp_path)
    np.testing.assert_allclose(bass.vad[:, :2], [[-1, 1], [-0.75, 0.75], [-0.5, 0.5]])  # US raters on 1..9
    assert bass.license == "CC-BY-4.0" and bass.texts[0].endswith("images/shape0.png")
    with pytest.raises(InputError, match="no split 'test'"):
        load_dataset("bass", "test", root=tmp_path)
    with pytest.raises(InputError, match="dataset file not found"):
        load_dataset("oasis", "all", root=tmp_path / "missing")


def test_faces_eval_loader_leaves_contempt_out_and_speaks_fer(tmp_path):
    folder = tmp_path / "faces_eval"
    emotions = ["anger", "contempt", "happiness", "sadness", "surprise", "neutral", "disgust", "fear"]
    _write_csv(folder / "labels.csv", ["file", "emotion", "source_file", "contributor_id", "orig_w", "orig_h", "w",
                                       "h"],
               [[f"images/p{i}.jpg", e, f"p{i}.jpg", 302, 350, 350, 256, 256] for i, e in enumerate(emotions)])
    ds = load_dataset("faces_eval", "all", root=tmp_path)
    assert ds.labelset.name == "fer" and len(ds) == 7
    assert [ds.labelset.labels[j] for j in ds.single_labels()] == ["angry", "happy", "sad", "surprise", "neutral",
                                                                   "disgust", "fear"]
    assert ds.texts[0] == str(folder / "images" / "p0.jpg") and ds.meta["id"][1] == "p2"
    assert "eval only" in ds.license


def _speech_folders(root: Path) -> None:
    rav = []
    for actor in (1, 15, 19, 24):
        for code, emo in (("01", "neutral"), ("05", "angry")):
            name = f"audio/03-01-{code}-01-01-01-{actor:02d}.ogg"
            rav.append([name, actor, "male" if actor % 2 else "female", emo, "normal", 1, 1, 3.3, code,
                        "Kids are talking by the door"])
    _write_csv(root / "ravdess_speech" / "labels.csv", ["file", "actor", "sex", "emotion", "intensity", "statement",
                                                        "repetition", "duration_s", "emotion_code",
                                                        "statement_text"], rav)
    emo = [["audio/03a01Wa.ogg", "03", "anger", "a01", "W"], ["audio/03a01La.ogg", "03", "boredom", "a01", "L"],
           ["audio/08a02Aa.ogg", "08", "fear", "a02", "A"], ["audio/08a02Fa.ogg", "08", "happiness", "a02", "F"]]
    _write_csv(root / "emodb" / "labels.csv", ["file", "speaker", "emotion", "text_id", "emotion_code", "version",
                                               "sex", "age", "recognition_pct", "naturalness_pct", "duration_s",
                                               "original_duration_s", "truncated", "text"],
               [[*r, "a", "male", 31, 90.0, 75.0, 2.0, 2.4, "True", "Der Lappen liegt auf dem Eisschrank."]
                for r in emo])


def test_speech_loaders_split_by_actor_and_map_emodb_onto_ravdess(tmp_path):
    _speech_folders(tmp_path)
    test = load_dataset("ravdess_speech", "test", root=tmp_path)
    assert test.meta["actor"] == [19, 19, 24, 24] and test.labelset.name == "ravdess"
    assert [test.labelset.labels[j] for j in test.single_labels()] == ["neutral", "angry"] * 2
    assert test.texts[0] == str(tmp_path / "ravdess_speech" / "audio" / "03-01-01-01-01-01-19.ogg")
    assert [len(load_dataset("ravdess_speech", s, root=tmp_path)) for s in ("train", "dev", "all")] == [2, 2, 8]
    assert "NC" in test.license
    emodb = load_dataset("emodb", "all", root=tmp_path)  # boredom has no RAVDESS class: left out
    assert [emodb.labelset.labels[j] for j in emodb.single_labels()] == ["angry", "fearful", "happy"]
    assert emodb.meta["speaker"] == ["03", "08", "08"] and emodb.meta["truncated"] == [True] * 3
    assert "eval only" in emodb.license


def test_media_tasks_are_declared_with_their_modality():
    tasks = shipped_tasks()
    for name, loader in MEDIA_TASKS.items():
        t = tasks[name]
        assert t.dataset.loader == loader and "media" in t.tags and loader in MEDIA_DATASETS
        assert t.modality == ("audio" if loader in ("ravdess_speech", "emodb") else "image")
    assert tasks["faces-eval"].headline == "macro_recall" and tasks["ravdess-speech"].dataset.split == "test"
    assert {t.modality for n, t in tasks.items() if n not in MEDIA_TASKS} == {"text"}


def test_macro_recall_is_the_mean_recall_over_gold_labels():
    from affectkit.evaluation import metrics as M
    from affectkit.evaluation.scoring import _macro_recall

    gold, pred = np.array([0, 0, 0, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
    # recall: class 0 1/3, class 1 1/1, class 2 1/2; class 3 has no gold row and does not count
    assert _macro_recall(M.onehot(gold, 4), M.onehot(pred, 4)) == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)


def test_eval_end_to_end_scene_on_generated_images(tmp_path, monkeypatch):
    """`affectkit eval` with the scene model on 8 generated images in BASS's format: the assessment, pairwise and
    ranking tasks are scored from the model's real predictions; a text model is skipped on these tasks."""
    data = tmp_path / "data"
    make_bass(data)
    monkeypatch.setenv("AFFECTKIT_DATA", str(data))
    tasks = [load_task(n) for n in ("bass-valence", "bass-pairwise-arousal", "bass-rank-valence")]
    run = evaluate([ModelSpec("scene"), ModelSpec("lexicon:" + str(_lexicon(tmp_path)))], tasks, tmp_path / "out",
                   EvalOptions(n_boot=50, progress=False))
    by = {(r["model"], r["task"]): r for r in run.results}
    val = by[("scene", "bass-valence")]
    assert val["status"] == "ok" and val["n"] == 8 and val["n_errors"] == 0
    for m in ("pearson", "spearman", "ccc", "rmse"):
        assert np.isfinite(val["metrics"][m]["value"])
    assert -1 <= val["headline"]["value"] <= 1 and val["metrics"]["rmse"]["value"] > 0
    pair = by[("scene", "bass-pairwise-arousal")]
    assert pair["status"] == "ok" and pair["n_scored"] == 28  # all 8*7/2 pairs differ by more than min_gap
    assert 0 <= pair["headline"]["value"] <= 1
    rank = by[("scene", "bass-rank-valence")]
    assert rank["status"] == "ok" and -1 <= rank["metrics"]["kendall"]["value"] <= 1
    rows = [json.loads(line) for line in (tmp_path / "out" / rank["predictions"]).read_text().splitlines()]
    assert len(rows) == 8 and rows[0]["text"].endswith("shape0.png") and rows[0]["pred"] is not None
    skipped = by[(f"lexicon:{_lexicon(tmp_path)}", "bass-valence")]
    assert skipped["status"] == "skipped" and "are image" in skipped["reason"]


def test_eval_cli_with_the_short_media_name_and_limit(tmp_path):
    from conftest import run_cli

    data = tmp_path / "data"
    make_bass(data)
    proc = run_cli("eval", "--task", "bass-arousal", "--model", "scene", "--limit", "5", "--no-baselines",
                   "--bootstrap", "20", "-q", "-o", str(tmp_path / "out"), env={"AFFECTKIT_DATA": str(data)})
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads((tmp_path / "out" / "results.json").read_text())["results"][0]
    assert result["model"] == "scene" and result["status"] == "ok" and result["n"] == 5
    assert np.isfinite(result["headline"]["value"])


def _lexicon(tmp_path: Path) -> Path:
    path = tmp_path / "lex.txt"
    if not path.exists():
        path.write_text("happy\tjoy\t1\nsad\tsadness\t1\n")
    return path


@pytest.mark.skipif(not all((data_dir() / n).is_dir() for n in MEDIA_DATASETS),
                    reason="media datasets not found under shared/data (set AFFECTKIT_DATA)")
def test_shared_media_datasets_counts():
    sizes = {"oasis": 900, "bass": 583, "faces_eval": 1648, "emodb": 454}
    for name, n in sizes.items():
        ds = load_dataset(name, "all")
        assert len(ds) == n and all(Path(t).is_file() for t in ds.texts[:: max(1, n // 20)])
    assert len(load_dataset("ravdess_speech", "test")) == 360
