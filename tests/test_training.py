"""``affectkit train`` and ``fit`` end to end on a tiny BERT (random weights, a 30-word vocabulary),
so fine-tuning, ONNX export, static distillation, calibration and loading all run for real in seconds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import affectkit  # noqa: E402
from affectkit.errors import InputError  # noqa: E402
from affectkit.training import AffectEstimator, TaskSpec, TrainConfig, fit, train  # noqa: E402

WORDS = {"joy": ["happy", "great", "love", "good", "joy"], "sadness": ["sad", "terrible", "bad"],
         "anger": ["angry", "hate"]}
FILLER = "i you is was not very day today this that it and so really the a news".split()
VALENCE = {"joy": 4.2, "sadness": 1.8, "anger": 2.0}
# SIF weights tokens by a Zipf estimate from their vocabulary rank, which means nothing for the toy vocabulary
# (its emotion words come first, so SIF would mute them)
NO_SIF = {"pca_dims": None, "sif_coefficient": None}


def toy_rows(n: int, seed: int = 0) -> list[dict]:
    """Synthetic texts whose emotion is the emotion word they contain (hand-made; no dataset rows)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lab = rng.choice(list(WORDS))
        text = " ".join(rng.sample(FILLER, 2) + [rng.choice(WORDS[lab])] + rng.sample(FILLER, 1))
        v = VALENCE[lab] + rng.gauss(0, 0.2)
        rows.append({"text": text, "label": lab, "v": v, "a": 3 + rng.gauss(0, 0.5), "d": 3 + rng.gauss(0, 0.5),
                     "votes_joy": 2 * (lab == "joy") + rng.randint(0, 1), "votes_sadness": 2 * (lab == "sadness"),
                     "votes_anger": 2 * (lab == "anger"), "thread": i // 8,
                     "split": "train" if i % 5 < 3 else ("dev" if i % 5 == 3 else "test")})
    return rows


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random BERT over a word-level vocabulary of the toy words (tests/tiny_models.py)."""
    from tiny_models import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "toy.csv"
    pd.DataFrame(toy_rows(200)).to_csv(path, index=False)
    return path


def _split(rows, name):
    return [r for r in rows if r["split"] == name]


def test_fit_fine_tunes_exports_onnx_and_loads(tiny_base, tmp_path):
    rows = toy_rows(120)
    train_rows, dev_rows = _split(rows, "train"), _split(rows, "dev")
    est = AffectEstimator(task="single-label", base=str(tiny_base), fine_tune=True, epochs=1, batch_size=16,
                          max_length=16, output=tmp_path / "run" / "model")
    est.fit([r["text"] for r in train_rows], [r["label"] for r in train_rows],
            X_dev=[r["text"] for r in dev_rows], y_dev=[r["label"] for r in dev_rows])
    assert set(est.predict(["i am so happy today"])) <= {"anger", "joy", "sadness"}
    assert list(est.classes_) == ["anger", "joy", "sadness"]
    saved = est.save(tmp_path / "saved")
    for f in ("affectkit_model.json", "encoder/model.onnx", "encoder/tokenizer.json", "heads/categories/config.json",
              "heads/categories/weights.safetensors", "training.json", "README.md"):
        assert (saved / f).is_file(), f
    assert (tmp_path / "run" / "model.hf-encoder" / "config.json").is_file()  # kept for distillation
    m = affectkit.load(saved, cache=False)
    assert m.labelset.labels == ("anger", "joy", "sadness")
    assert m.analyze("this is sad news").top in {"anger", "joy", "sadness"}
    record = json.loads((saved / "training.json").read_text())
    assert record["seed"] == 13 and len(record["config_digest"]) == 16
    assert len(record["data"]["categories"]["train_sha256"]) == 64
    head_cfg = json.loads((saved / "heads/categories/config.json").read_text())
    assert set(head_cfg["thresholds"]) == {"anger", "joy", "sadness"}
    card = (saved / "README.md").read_text()
    assert "AffectEstimator(task='single-label'" in card and "## Measured scores" in card
    # the estimator reloads from the folder
    again = AffectEstimator.load(saved)
    np.testing.assert_allclose(again.predict_proba(["so glad"]), est.predict_proba(["so glad"]), atol=1e-6)


def _config(toy_csv: Path, tiny_base: Path, **over) -> dict:
    cols = {"text": "text", "split": "split"}
    cfg = {
        "name": "toy", "base": str(tiny_base), "fine_tune": False, "epochs": 20, "batch_size": 16, "head_lr": 0.01,
        "max_length": 16, "license": "CC0-1.0",
        "tasks": [
            {"type": "categories", "dataset": str(toy_csv), "labelset": "toy", "target": "single-label",
             "columns": {**cols, "labels": "label"}},
            {"type": "categories", "dataset": str(toy_csv), "name": "votes", "target": "soft", "smoothing": 0.1,
             "cooccurrence_penalty": 0.05, "class_weighting": "sqrt",
             "columns": {**cols, "votes": ["votes_anger", "votes_joy", "votes_sadness"]}},
            {"type": "vad", "dataset": str(toy_csv), "loss": "ccc",
             "columns": {**cols, "vad": ["v", "a", "d"], "vad_scale": "1..5"}},
            {"type": "ranking", "dataset": str(toy_csv), "attribute": "valence", "loss": "ranklist", "list_size": 4,
             "columns": {**cols, "score": "v", "group": "thread"}},
            {"type": "regression", "dataset": str(toy_csv), "name": "arousal_score", "loss": "mse",
             "columns": {**cols, "score": "a"}},
        ]}
    cfg.update(over)
    return cfg


def test_train_command_with_a_column_mapping(tiny_base, toy_csv, tmp_path):
    import yaml

    from affectkit.cli import main

    cfg_path = tmp_path / "toy.yaml"
    # static encoder + heads: fast, and its vectors keep the toy words apart (the frozen-transformer path is
    # covered by the reproducibility test below)
    cfg_path.write_text(yaml.safe_dump(_config(toy_csv, tiny_base, encoder="static", static=NO_SIF, head_lr=0.02)))
    out = tmp_path / "toy-model"
    assert main(["train", "--config", str(cfg_path), "-o", str(out), "--seed", "3", "--quiet"]) == 0
    model = json.loads((out / "affectkit_model.json").read_text())
    assert model["heads"] == ["heads/toy", "heads/votes", "heads/vad", "heads/rank_valence", "heads/arousal_score"]
    assert json.loads((out / "heads/rank_valence/config.json").read_text())["loss"] == "ranklist"
    m = affectkit.load(out, cache=False)
    assert sorted(m.score_heads) == ["arousal_score", "rank_valence"]
    texts = ["i am so happy today", "this is terrible news", "it was a furious day"]
    batch = m.analyze_batch(texts)
    assert batch.vad is not None and batch.vad.shape == (3, 3)
    assert len(batch.extra["score_rank_valence"]) == 3
    record = json.loads((out / "training.json").read_text())
    assert record["command"] == f"affectkit train --config {cfg_path} -o {out} --seed 3"
    assert record["seed"] == 3 and record["config"]["seed"] == 3
    assert set(record["test_metrics"]) == {f"{h} (toy test, {n} rows)" for h, n in
                                           [("toy", 40), ("votes", 40), ("vad", 40), ("rank_valence", 40),
                                            ("arousal_score", 40)]}
    # the heads learnt the toy signal: emotion words decide the label, joy words rank above sad ones
    assert record["test_metrics"]["toy (toy test, 40 rows)"]["macro_f1"] > 0.8  # chance is about 0.33
    assert record["test_metrics"]["rank_valence (toy test, 40 rows)"]["kendall_tau"] > 0.3
    card = (out / "README.md").read_text()
    assert "license: cc0-1.0" in card and f"affectkit train --config {cfg_path}" in card


def test_heads_only_runs_are_reproducible(tiny_base, toy_csv, tmp_path):
    from safetensors.numpy import load_file

    cfg = _config(toy_csv, tiny_base, epochs=2, evaluate_test=False)
    cfg["tasks"] = cfg["tasks"][:1] + cfg["tasks"][3:4]
    a = train(TrainConfig.from_dict(cfg), tmp_path / "a", progress=False)
    b = train(TrainConfig.from_dict(cfg), tmp_path / "b", progress=False)
    c = train(TrainConfig.from_dict({**cfg, "seed": 99}), tmp_path / "c", progress=False)
    wa, wb, wc = (load_file(str(p / "heads/rank_valence/weights.safetensors"))["w"] for p in (a, b, c))
    np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(wa, wc)
    ra, rb = (json.loads((p / "training.json").read_text()) for p in (a, b))
    assert ra["data"] == rb["data"] and ra["config_digest"] == rb["config_digest"]


def test_static_encoder_reproduces_model2vec(tiny_base, tmp_path):
    pytest.importorskip("model2vec")
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    from affectkit.modules.encoders import StaticEmbeddingEncoder
    from affectkit.training.config import StaticOptions
    from affectkit.training.distill import distill_static

    opts = StaticOptions(pca_dims=None, sif_coefficient=1e-4, normalize=True)
    distill_static(str(tiny_base), tmp_path / "enc", opts)
    ours = StaticEmbeddingEncoder(tmp_path / "enc")
    theirs = distill_from_model(AutoModel.from_pretrained(tiny_base), AutoTokenizer.from_pretrained(tiny_base),
                                pca_dims=None, sif_coefficient=1e-4, device="cpu")
    texts = ["I am so HAPPY today!", "this is terrible, terrible news", "zebra unknownword happy", "!"]
    np.testing.assert_allclose(ours.encode(texts).pooled, theirs.encode(texts), atol=2e-3)
    assert ours.embeddings.shape == theirs.embedding.shape
    from safetensors.numpy import load_file

    assert load_file(str(tmp_path / "enc" / "embeddings.safetensors"))["embeddings"].dtype == np.float16


def test_fit_static_multilabel_learns(tiny_base):
    rows = toy_rows(150, seed=2)
    texts = [r["text"] for r in rows]
    labels = [[r["label"]] + (["joy"] if "love" in r["text"] else []) for r in rows]
    m = fit(texts, labels, task="multi-label", base=str(tiny_base), encoder="static", epochs=60, head_lr=0.02,
            static=NO_SIF, X_dev=texts[:40], y_dev=labels[:40])
    assert m.config["encoder"]["type"] == "static"
    pred = m.predict(texts)
    acc = np.mean([p == r["label"] for p, r in zip(pred, rows)])
    assert acc > 0.8  # chance is about 0.33: the emotion word decides the label


def test_fit_vad_head_beside_categories(tiny_base):
    rows = toy_rows(90, seed=3)
    texts = [r["text"] for r in rows]
    vad = np.array([[r["v"], r["a"], r["d"]] for r in rows])
    est = AffectEstimator(task="single-label", base=str(tiny_base), encoder="static", epochs=40, head_lr=0.02,
                          static=NO_SIF).fit(texts, [r["label"] for r in rows], vad=vad)
    pred = est.predict_vad(texts, scale="1..5")
    assert np.corrcoef(pred[:, 0], vad[:, 0])[0, 1] > 0.8


def test_clear_errors(tiny_base, toy_csv, tmp_path):
    cfg = _config(toy_csv, tiny_base)
    cfg["tasks"][0]["columns"]["labels"] = "emotion"
    with pytest.raises(InputError, match="'emotion'"):
        train(TrainConfig.from_dict({**cfg, "tasks": cfg["tasks"][:1]}), tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="needs a categories task"):
        train(TrainConfig.from_dict({**cfg, "tasks": cfg["tasks"][2:3]}), tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="unknown training options: epoch"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="unknown ranking loss"):
        TaskSpec("ranking", "emobank", loss="lambdarank")
    with pytest.raises(ValueError, match="labels=\\[...\\]"):
        AffectEstimator(task="soft", base=str(tiny_base)).fit(["a", "b"], np.array([[1, 0], [0, 1]]))
    assert not (tmp_path / "x").exists()


def test_auxiliary_task_and_an_encoder_without_token_types(toy_csv, tmp_path):
    """An auxiliary task (e.g. a teacher's VAD labels) trains the encoder but is left out of the model folder,
    its test scores and checkpoint selection; ``max_rows`` caps one task; MPNet-style encoders take no
    ``token_type_ids`` and export to an ONNX graph without them."""
    import onnx
    from tiny_models import make_tiny_mpnet

    base = make_tiny_mpnet(tmp_path / "mpnet")
    cols = {"text": "text", "split": "split"}
    cfg = TrainConfig.from_dict({
        "name": "aux", "base": str(base), "fine_tune": True, "epochs": 1, "batch_size": 16, "max_length": 16,
        "license": "CC0-1.0", "quantize": False,
        "tasks": [
            {"type": "categories", "dataset": str(toy_csv), "labelset": "toy", "target": "single-label",
             "columns": {**cols, "labels": "label"}, "max_rows": 60},
            {"type": "vad", "dataset": str(toy_csv), "name": "teacher_vad", "auxiliary": True,
             "license": "CC-BY-SA-4.0", "source": "toy texts with a teacher's VAD",
             "columns": {**cols, "vad": ["v", "a", "d"], "vad_scale": "1..5"}},
        ]})
    out = train(cfg, tmp_path / "model", progress=False)
    assert json.loads((out / "affectkit_model.json").read_text())["heads"] == ["heads/toy"]
    assert not (out / "heads/teacher_vad").exists()
    record = json.loads((out / "training.json").read_text())
    assert list(record["test_metrics"]) == ["toy (toy test, 40 rows)"]
    assert record["data"]["toy"]["train_rows"] == 60 and record["data"]["teacher_vad"]["train_rows"] == 120
    assert all("teacher_vad_pearson_dev" in h for h in record["history"])  # reported, not selected on
    # a file dataset's licence and provenance reach the record and the model card
    assert record["data"]["teacher_vad"]["license"] == "CC-BY-SA-4.0" and record["data"]["teacher_vad"]["auxiliary"]
    card = (out / "README.md").read_text()
    assert "| teacher_vad (auxiliary: trains the encoder, not in the folder) |" in card
    assert "- teacher_vad: toy texts with a teacher's VAD" in card and "CC-BY-SA-4.0 |" in card
    graph = onnx.load(str(out / "encoder/model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    m = affectkit.load(out, cache=False)
    assert m.vad_head is None and m.analyze("i am so happy today").top in {"anger", "joy", "sadness"}


def test_targets_from_files(toy_csv):
    from affectkit.training.data import load_task_splits
    from affectkit.training.targets import build_targets

    spec = TaskSpec("categories", str(toy_csv), target="multi-label", smoothing=0.2,
                    columns={"text": "text", "labels": "label", "split": "split"})
    splits = load_task_splits(spec)
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [120, 40, 40]
    y = build_targets(spec, splits["train"])
    # smoothing changes the distribution target only; the sigmoid head still learns the 0/1 labels
    assert set(np.unique(y.multi)) == {0.0, 1.0}
    np.testing.assert_allclose(y.dist.sum(axis=1), 1.0, rtol=1e-6)
    assert y.dist.min() == pytest.approx(0.2 / 3)
    votes = TaskSpec("categories", str(toy_csv), target="single-label", aggregation="majority",
                     columns={"text": "text", "votes": ["votes_anger", "votes_joy", "votes_sadness"]})
    ds = load_task_splits(votes)["train"]
    yv = build_targets(votes, ds)
    assert len(yv) == len(ds)  # 2 of 2 or 2 of 3 votes: always a majority here
    assert (yv.dist.sum(axis=1) == 1).all()


def test_tuned_static_embeddings_are_saved_and_used(tiny_base, tmp_path):
    from safetensors.numpy import load_file

    rows = toy_rows(120, seed=4)
    texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    tuned = fit(texts, labels, task="single-label", base=str(tiny_base), encoder="static", epochs=30, head_lr=0.02,
                static={**NO_SIF, "tune": True, "tune_lr": 0.01}, output=tmp_path / "tuned")
    frozen = fit(texts, labels, task="single-label", base=str(tiny_base), encoder="static", epochs=30,
                 head_lr=0.02, static=NO_SIF, output=tmp_path / "frozen")
    e_tuned = load_file(str(tmp_path / "tuned/encoder/embeddings.safetensors"))["embeddings"]
    e_frozen = load_file(str(tmp_path / "frozen/encoder/embeddings.safetensors"))["embeddings"]
    assert e_tuned.dtype == np.float16 and e_tuned.shape == e_frozen.shape
    assert not np.array_equal(e_tuned, e_frozen)  # the token vectors moved
    assert json.loads((tmp_path / "tuned/encoder/config.json").read_text())["tuned"]
    acc = np.mean(tuned.predict(texts) == np.array(labels))
    assert acc > 0.9  # chance is about 0.33
