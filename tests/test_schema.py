import json

import numpy as np
import pytest

from affectkit.labels import get_labelset
from affectkit.schema import BatchPrediction, Evidence, _relative_to_threshold


def make_batch():
    ls = get_labelset("ekman")  # anger disgust fear joy sadness surprise neutral
    dist = np.array([[0.1, 0.0, 0.0, 0.6, 0.1, 0.1, 0.1], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    scores = np.array([[0.2, 0.1, 0.1, 0.9, 0.3, 0.6, 0.1], [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9]])
    thr = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.55, 0.5])
    vad = np.array([[0.5, 0.2, 0.0], [0.0, -0.2, 0.1]])
    ev = [[Evidence("great", 4, 9, "joy", 1.2)], []]
    return BatchPrediction(ls, dist, scores, thr, vad, "-1..1", np.array([0.9, 0.0]), ev, model="test")


def test_to_predictions_ranks_and_decides():
    p = make_batch().to_predictions(top_k=2)
    assert [(e.label, e.score) for e in p[0].emotions] == [("joy", 0.6), ("anger", 0.1)]
    assert p[0].labels == ["joy", "surprise"]  # 0.6 >= 0.55 for surprise
    assert p[0].polarity == "positive" and p[1].polarity == "neutral"
    assert p[1].labels == ["neutral"] and p[0].distribution["joy"] == 0.6
    assert p[0].evidence[0].text == "great"
    json.loads(p[0].to_json())


def test_vad_scale_conversion_on_output():
    p = make_batch().to_predictions(vad_scale="1..5")[0]
    assert (p.valence, p.arousal, p.dominance, p.vad_scale) == (4.0, pytest.approx(3.4), 3.0, "1..5")


def test_to_columns_flattens_every_field():
    cols = make_batch().to_columns(top_k=2)
    assert cols["emotion_1"] == ["joy", "neutral"] and list(cols["emotion_1_score"]) == [0.6, 1.0]
    assert cols["labels"] == ["joy;surprise", "neutral"]
    assert list(cols["valence"]) == [0.5, 0.0] and cols["vad_scale"] == ["-1..1", "-1..1"]
    assert cols["evidence"] == ["great (joy)", None]
    assert list(cols["p_joy"]) == [0.6, 0.0] and cols["error"] == [None, None]
    assert "p_joy" not in make_batch().to_columns(distribution=False)
    assert "ak_emotion_1" in make_batch().to_columns(prefix="ak_")


def test_scatter_keeps_rows_and_errors_in_place():
    part = make_batch()
    full = BatchPrediction.scatter(4, [1, 3], part, {0: "empty text", 2: "missing text (null)"}, part.labelset, "test")
    preds = full.to_predictions()
    assert [p.error for p in preds] == ["empty text", None, "missing text (null)", None]
    assert preds[1].top == "joy" and preds[3].top == "neutral" and preds[0].emotions == []
    cols = full.to_columns()
    assert cols["emotion_1"] == [None, "joy", None, "neutral"]
    assert np.isnan(cols["valence"][0]) and cols["valence"][1] == 0.5


def test_concat_preserves_order():
    a, b = make_batch(), make_batch()
    c = BatchPrediction.concat([a, b])
    assert len(c) == 4 and c.to_predictions()[2].top == "joy"


def test_relative_threshold_rescaling_hand_values():
    out = _relative_to_threshold(np.array([[0.1, 0.2, 0.6]]), np.array([0.2, 0.2, 0.2]))
    assert out[0] == pytest.approx([0.25, 0.5, 0.75])


def test_to_labelset_decides_a_target_on_exactly_when_a_source_is_on():
    ls = get_labelset("goemotions")
    n = len(ls)
    dist = np.full((1, n), 1 / n)
    scores = np.zeros((1, n))
    thr = np.full(n, 0.5)
    scores[0, ls.index("annoyance")] = 0.35  # below 0.5 ...
    thr[ls.index("annoyance")] = 0.3  # ... but above its own calibrated threshold
    scores[0, ls.index("joy")] = 0.45  # below its threshold 0.5
    b = BatchPrediction(ls, dist, scores, thr).to_labelset("ekman")
    assert b.to_predictions()[0].labels == ["anger"]
    assert b.dist.sum() == pytest.approx(1.0)
    assert b.dist[0, b.labelset.index("joy")] == pytest.approx(12 / 28)  # 12 GoEmotions labels group into joy


def test_failed_rows_stay_nan_through_mapping():
    b = BatchPrediction.failed(get_labelset("goemotions"), ["bad"]).to_labelset("ekman")
    assert np.isnan(b.dist).all() and b.errors == ["bad"]
