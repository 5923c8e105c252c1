"""``affectkit probe``: pooling, the probe fits and metrics against hand-computed values, the resumable state
cache, the ONNX layer read-out, and the command end to end on a tiny BERT that the tests build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import make_tiny_bert

from affectkit.cli import main
from affectkit.probe.cache import StateCache
from affectkit.probe.data import BagOfWords, Split, shuffled
from affectkit.probe.extract import HFStates, OnnxStates, pool
from affectkit.probe.linear import fit_logistic, fit_ridge, macro_f1, mean_pearson, score_with_ci

POSITIVE = ["happy day", "great news", "love it", "joy joy", "very good", "good day", "happy joy", "great day"]
NEGATIVE = ["sad day", "terrible news", "hate it", "fear fear", "very bad", "bad day", "sad fear", "terrible day"]


def test_pool_hand_computed():
    # one layer, two texts of 3 token slots, dim 1; text 2 is right-padded after 2 tokens
    states = np.array([[[[1.0], [2.0], [6.0]], [[4.0], [8.0], [100.0]]]])
    mask = np.array([[1, 1, 1], [1, 1, 0]])
    assert pool(states, mask, "mean")[0, :, 0].tolist() == [3.0, 6.0]
    assert pool(states, mask, "last")[0, :, 0].tolist() == [6.0, 8.0]
    assert pool(states, mask, "cls")[0, :, 0].tolist() == [1.0, 4.0]
    left = np.array([[0, 1, 1], [1, 1, 1]])  # left padding: the last token is still the last unmasked one
    assert pool(states, left, "last")[0, :, 0].tolist() == [6.0, 100.0]


def test_probe_metrics_hand_computed():
    gold = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)
    pred = np.array([[1, 0], [0, 1], [0, 1], [0, 1]], dtype=bool)
    # label 0: tp 1, fn 1 -> F1 2/3; label 1: tp 2, fp 1 -> F1 4/5; macro = (2/3 + 4/5) / 2 = 11/15
    assert macro_f1(gold, pred) == pytest.approx(11 / 15)
    score, lo, hi = score_with_ci("multi-label", gold, pred, n_boot=0)
    assert score == pytest.approx(11 / 15) and np.isnan(lo) and np.isnan(hi)
    # Pearson r of (1, 2, 3) with (1, 3, 2): cov 0.5 / (1 * 1) = 0.5; with (3, 2, 1): -1; mean -0.25
    y = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    assert mean_pearson(y, np.array([[1.0, 3.0], [3.0, 2.0], [2.0, 1.0]])) == pytest.approx(-0.25)
    score, lo, hi = score_with_ci("regression", y[:, 0], np.array([1.0, 3.0, 2.0]), n_boot=200)
    assert score == pytest.approx(0.5) and -1.0 <= lo <= hi <= 1.0


def test_ridge_hand_computed_and_dual_matches_primal():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, 3.0, 5.0, 7.0])
    # centred x = (-1.5, -.5, .5, 1.5): Sxx = 5, Sxy = 10; lambda = 0.25 * 4 = 1 -> w = 10 / 6, b = 4 - w * 1.5
    probe = fit_ridge(x, y, x, y, grid=(0.25,))
    assert probe.w[0, 0] == pytest.approx(10 / 6)
    assert probe.b[0] == pytest.approx(4 - 1.5 * 10 / 6)
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(0)
    wide = rng.normal(size=(5, 9))  # more columns than rows: the dual solution, here on a sparse matrix
    t = rng.normal(size=5)
    xc, tc = wide - wide.mean(0), t - t.mean()
    expected = np.linalg.solve(xc.T @ xc + 0.5 * 5 * np.eye(9), xc.T @ tc)
    dual = fit_ridge(csr_matrix(wide), t, csr_matrix(wide), t, grid=(0.5,))
    np.testing.assert_allclose(dual.w[0], expected, atol=1e-9)
    np.testing.assert_allclose(dual.predict(wide)[:, 0], xc @ expected + t.mean(), atol=1e-9)


def test_logistic_probe_separates_and_picks_penalty_on_dev():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(2, 1, (40, 3)), rng.normal(-2, 1, (40, 3))])
    y = np.zeros((80, 2), dtype=bool)
    y[:40, 0] = y[40:, 1] = True
    for kind in ("single-label", "multi-label"):
        probe = fit_logistic(x, y, x, y, kind, grid=(1e-3, 10.0))
        assert set(probe.dev_scores) == {1e-3, 10.0}
        assert probe.dev_score == max(probe.dev_scores.values())
        assert macro_f1(y, probe.predict(x)) > 0.95


def test_shuffled_control_keeps_marginals_and_bow_features():
    splits = {"train": Split(["a b", "b c", "c d"], np.array([1.0, 2.0, 3.0]))}
    control = shuffled(splits, seed=3)
    assert sorted(control["train"].y.tolist()) == [1.0, 2.0, 3.0]
    bow = BagOfWords(["happy day", "sad day", "happy news"], min_count=2)
    assert sorted(bow.vocab) == ["day", "happy"]
    assert bow(["happy happy day", "nothing"]).toarray().tolist() == [[1.0, 1.0], [0.0, 0.0]]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("probe") / "bert")


def test_state_cache_resumes_after_a_lost_chunk(tiny_bert, tmp_path):
    states = HFStates(str(tiny_bert), max_length=16, batch_size=4)
    texts = POSITIVE + NEGATIVE
    cache = StateCache(tmp_path / "c", states, texts, "mean", chunk_size=5)
    assert cache.fill() == 4 and cache.n_layers == 3  # embeddings + 2 layers; 16 texts in chunks of 5
    full = cache.layer(2)
    assert full.shape == (16, 32)
    cache.chunk_path(1).unlink()  # as if the run had stopped there
    assert StateCache(tmp_path / "c", states, texts, "mean", chunk_size=5).fill() == 1
    np.testing.assert_allclose(cache.layer(2), full, atol=1e-6)
    assert StateCache(tmp_path / "c", states, texts[:-1], "mean", chunk_size=5).fill() == 3  # other texts: redo


def test_onnx_states_read_every_layer_of_the_default_encoder():
    import onnxruntime as ort

    from affectkit.analyzers import pretrained_dir

    folder = pretrained_dir() / "default" / "encoder"
    states = OnnxStates(folder, batch_size=8)
    out = states(["I am so happy today!", "This is awful."], "mean")
    assert out.shape == (7, 2, 384)  # embeddings + 6 layers of MiniLM-L6
    plain = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    enc = states.tokenizer.encode("This is awful.")
    ids = np.array([enc.ids], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    last = plain.run(["last_hidden_state"], feed)[0].mean(axis=1)[0]
    np.testing.assert_allclose(out[-1, 1], last, atol=1e-4)
    assert not np.allclose(out[3, 1], last)


def _write_task(folder: Path) -> Path:
    rows = {"train": (POSITIVE * 3, NEGATIVE * 3), "dev": (POSITIVE, NEGATIVE), "test": (POSITIVE, NEGATIVE)}
    for split, (pos, neg) in rows.items():
        lines = ["text,labels,valence"] + [f"{t},joy,0.8" for t in pos] + [f"{t},sadness,-0.6" for t in neg]
        (folder / f"rows_{split}.csv").write_text("\n".join(lines) + "\n")
    for name, extra in (("tiny-cat", "type: perception\nmode: single-label\nlabels: ekman\n"),
                        ("tiny-valence", "type: assessment\ntarget: valence\n")):
        (folder / f"{name}.yaml").write_text(
            f"task: {name}\n{extra}dataset: {{loader: table, split: test, path: 'rows_{{split}}.csv', "
            "labelset: ekman}\n")
    return folder


def test_probe_cli_end_to_end(tiny_bert, tmp_path):
    tasks = _write_task(tmp_path)
    out = tmp_path / "run"
    args = ["probe", "--model", f"hf:{tiny_bert}", "--task", str(tasks / "tiny-cat.yaml"), "--task",
            str(tasks / "tiny-valence.yaml"), "-o", str(out), "--bootstrap", "50", "--random-init",
            "--chunk-size", "8", "--quiet"]
    assert main(args) == 0
    payload = json.loads((out / "results.json").read_text())
    rows = payload["rows"]
    for task in ("tiny-cat", "tiny-valence"):
        mine = [r for r in rows if r["task"] == task]
        assert sorted(r["layer"] for r in mine if r["variant"] == "probe") == [0, 1, 2]
        assert sorted(r["layer"] for r in mine if r["variant"] == "control") == [0, 1, 2]
        assert sorted(r["layer"] for r in mine if r["variant"] == "random-init") == [0, 1, 2]
        assert [r["layer"] for r in mine if r["variant"] == "bow"] == [-1]
        assert all(r["n_train"] == 48 and r["n_dev"] == 16 and r["n_test"] == 16 for r in mine)
        assert (out / f"probe_{task}.png").stat().st_size > 1000
    cat = [r for r in rows if r["task"] == "tiny-cat"]
    # the words alone separate the classes: the bag-of-words probe is perfect
    assert next(r for r in cat if r["variant"] == "bow")["score"] == 1.0
    assert all(r["metric"] == "macro_f1" for r in cat)
    assert "| layer | probe macro_f1 [95% CI] | shuffled control | selectivity |" in (out / "probe.md").read_text()
    chunks = sorted((out / "cache").rglob("chunk_*.npy"))
    stamps = [p.stat().st_mtime_ns for p in chunks]
    assert main(args) == 0  # rerun: every state comes from the cache
    assert [p.stat().st_mtime_ns for p in sorted((out / "cache").rglob("chunk_*.npy"))] == stamps


def test_probe_cli_bad_input(tiny_bert, tmp_path):
    out = str(tmp_path / "run")
    assert main(["probe", "--model", f"hf:{tiny_bert}", "--task", "goemotions-ekman", "-o", out,
                 "--pooling", "max", "-q"]) == 2
    assert main(["probe", "--model", f"hf:{tmp_path / 'missing'}", "--task", "goemotions-ekman", "-o", out,
                 "-q"]) == 1
    assert main(["probe", "--model", "fast", "--task", "goemotions-ekman", "-o", out, "-q"]) == 1


def test_results_json_has_no_nan():
    from affectkit.probe.results import LayerScore, results_payload

    row = LayerScore("t", "m", "probe", 0, "macro_f1", 0.5, float("nan"), float("nan"), 0.4, 0.01, 10, 5, 5)
    payload = json.loads(results_payload([row], {"model": "m"}))
    assert payload["rows"][0]["ci_low"] is None and payload["rows"][0]["score"] == 0.5
