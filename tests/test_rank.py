"""``affectkit rank``: attribute scores (composites included), the cut, and the two-pass job end to end on a
real (tiny, random) static-embedding model built here; the spill-to-disk path must give the same output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from tiny_models import WORDS

from affectkit.labels import get_labelset
from affectkit.ranking import COMPOSITES, attribute_scores, cut_size, rank_order, run_rank
from affectkit.schema import BatchPrediction


def make_model(path: Path) -> Path:
    """tests/tiny_models.py's static model (random vectors, Ekman and VAD heads) plus a random score head."""
    from tiny_models import make_static_model

    from affectkit.modules.heads import ScoreHead

    make_static_model(path)
    ScoreHead("urgency", np.random.default_rng(0).normal(size=8), 0.5, "ranknet").save(path / "heads/urgency")
    cfg = json.loads((path / "affectkit_model.json").read_text())
    cfg["heads"].append("heads/urgency")
    (path / "affectkit_model.json").write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from affectkit.model import AffectModel

    return AffectModel.load(make_model(tmp_path_factory.mktemp("m") / "model"), evidence=False)


@pytest.fixture()
def posts(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(2, 7))) for _ in range(40)]
    texts[5] = ""  # no text: ranked last, with its reason
    texts[17] = "   "
    path = tmp_path / "posts.csv"
    pd.DataFrame({"id": range(40), "text": texts, "group": ["a", "b"] * 20}).to_csv(path, index=False)
    return path


def batch_with_vad(vad, scale="-1..1"):
    ls = get_labelset("ekman")
    n = len(vad)
    return BatchPrediction(ls, np.full((n, len(ls)), 1 / len(ls)), vad=np.asarray(vad, float), vad_scale=scale)


def test_distress_is_the_negative_affect_diagonal():
    # (v, a) = (-0.5, 0.5): (a - v) / sqrt 2 = 1 / sqrt 2
    b = batch_with_vad([[-0.5, 0.5, 0.0], [0.5, -0.5, 0.0], [0.0, 0.0, 0.9]])
    np.testing.assert_allclose(attribute_scores(b, "distress"), [1 / math.sqrt(2), -1 / math.sqrt(2), 0.0])
    np.testing.assert_allclose(attribute_scores(b, "positive-affect"), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(attribute_scores(b, "-distress"), [-1 / math.sqrt(2), 1 / math.sqrt(2), 0.0])
    # VAD on another scale is converted first: 1..5 midpoint 3 -> 0; (2, 4) -> (-0.5, 0.5)
    b5 = batch_with_vad([[2.0, 4.0, 3.0]], scale="1..5")
    np.testing.assert_allclose(attribute_scores(b5, "distress"), [1 / math.sqrt(2)])
    assert set(COMPOSITES) >= {"distress", "positive-affect", "calm", "depression"}


def test_composites_need_vad():
    ls = get_labelset("ekman")
    b = BatchPrediction(ls, np.full((1, len(ls)), 1 / len(ls)))
    with pytest.raises(ValueError, match="no VAD"):
        attribute_scores(b, "distress")


def test_cut_size():
    assert cut_size(25) == 25
    assert cut_size(25, top=3) == 3 and cut_size(2, top=3) == 2
    assert cut_size(25, share=0.1) == 3  # 2.5 rounds up: the first 10% of the queue is covered
    assert cut_size(30, share=0.1) == 3 and cut_size(30, share=1.0) == 30
    for bad in ({"top": 0}, {"share": 0.0}, {"share": 1.5}, {"top": 2, "share": 0.5}):
        with pytest.raises(ValueError):
            cut_size(10, **bad)


def test_rank_order_puts_nan_last_and_keeps_ties_stable():
    assert rank_order(np.array([0.2, np.nan, 0.9, 0.2])).tolist() == [2, 0, 3, 1]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("attribute", ["distress", "anger", "fear+sadness", "-valence", "score:urgency", "intensity"])
def test_rank_orders_by_the_models_own_scores(model, posts, tmp_path, attribute):
    out = tmp_path / "ranked.csv"
    report = run_rank(str(posts), str(out), model, attribute, progress=False)
    got = _read(out)
    assert report.rows == 40 and report.written == 40 and report.errors == 2
    assert got["rank"].tolist() == list(range(1, 41))
    texts = pd.read_csv(posts, keep_default_na=False)["text"].tolist()
    expected = attribute_scores(model.analyze_batch(texts), attribute)
    assert got["id"].tolist() == rank_order(expected).tolist()
    np.testing.assert_allclose(got["score"][:38], np.round(np.sort(expected[np.isfinite(expected)])[::-1], 6), atol=1e-6)
    assert got["id"].tolist()[-2:] == [5, 17]
    assert got["error"].tolist()[-2:] == ["empty text", "text is only whitespace"]
    assert got["error"][:38].isna().all()


def test_top_share_columns_and_formats(model, posts, tmp_path):
    full = run_rank(str(posts), str(tmp_path / "all.jsonl"), model, "distress", progress=False)
    assert full.written == 40
    all_rows = pd.read_json(tmp_path / "all.jsonl", lines=True)
    run_rank(str(posts), str(tmp_path / "top.parquet"), model, "distress", top=5, columns=["id"], progress=False)
    top = pd.read_parquet(tmp_path / "top.parquet")
    assert list(top.columns) == ["id", "rank", "score", "error"]
    assert top["id"].astype(int).tolist() == all_rows["id"].tolist()[:5]
    run_rank(str(posts), str(tmp_path / "share.csv"), model, "distress", share=0.1, progress=False)
    assert _read(tmp_path / "share.csv")["id"].tolist() == all_rows["id"].tolist()[:4]


def test_spilling_to_disk_gives_the_same_output(model, posts, tmp_path):
    run_rank(str(posts), str(tmp_path / "mem.csv"), model, "arousal", progress=False)
    report = run_rank(str(posts), str(tmp_path / "disk.csv"), model, "arousal", memory_rows=3, chunk_size=7,
                      progress=False)
    assert report.external
    assert (tmp_path / "mem.csv").read_bytes() == (tmp_path / "disk.csv").read_bytes()


def test_rank_errors(model, posts, tmp_path):
    from affectkit.errors import InputError

    with pytest.raises(InputError, match="unknown attribute 'joyful'"):
        run_rank(str(posts), None, model, "joyful", progress=False)
    with pytest.raises(InputError, match="score head 'speed'"):
        run_rank(str(posts), None, model, "score:speed", progress=False)
    clash = tmp_path / "clash.csv"
    pd.DataFrame({"text": ["so happy"], "score": [1]}).to_csv(clash, index=False)
    with pytest.raises(InputError, match="--prefix"):
        run_rank(str(clash), None, model, "joy", progress=False)
    with pytest.raises(InputError, match="not found"):
        run_rank(str(tmp_path / "missing.csv"), None, model, "joy", progress=False)


def test_rank_command_reads_stdin_and_exits_non_zero_on_bad_attribute(model):
    lines = b"i am so scared\nwhat a calm day\nthis is terrible news\n"
    r = run_cli("rank", "-", "--by", "distress", "--model", str(model.path), "--top", "2", "-q", input=lines)
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["rank"] for x in rows] == [1, 2] and rows[0]["score"] >= rows[1]["score"]
    assert {x["text"] for x in rows} <= {"i am so scared", "what a calm day", "this is terrible news"}
    bad = run_cli("rank", "-", "--by", "nonsense", "--model", str(model.path), "-q", input=lines)
    assert bad.returncode == 1 and "unknown attribute" in bad.stderr.decode()
    both = run_cli("rank", "-", "--by", "joy", "--top", "1", "--share", "0.5", "--model", str(model.path), input=lines)
    assert both.returncode == 1 and "not both" in both.stderr.decode()
