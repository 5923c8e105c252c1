"""The scorer on hand-made predictions gives exactly the hand-computed metrics, for every task type.

Predictions come from :class:`FixedAnalyzer`, an analyzer whose outputs are written by hand in each test, and go
through the real prediction and scoring code (plan, predict_chunk, records, scoring)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from eval_support import FixedAnalyzer

from affectkit.datasets import EmotionDataset
from affectkit.evaluation import (
    PredictionArrays,
    Unsupported,
    parse_task,
    plan_labels,
    predict_chunk,
    score_task,
    task_data,
)
from affectkit.evaluation.runner import mapping_report
from affectkit.labels import get_labelset

EKMAN = get_labelset("ekman")  # anger disgust fear joy sadness surprise neutral


def ekman_dist(**probs: float) -> list[float]:
    return [probs.get(lab, 0.0) for lab in EKMAN.labels]


def score(spec: dict, ds: EmotionDataset, analyzer: FixedAnalyzer):
    task = parse_task(spec)
    data = task_data(task, ds)
    plan = plan_labels(analyzer, task.labels, task.via)
    records = predict_chunk(analyzer, data.dataset.texts, plan=plan)
    preds = PredictionArrays.from_records(records, plan.output)
    return score_task(task, data, preds, n_boot=0), plan, preds, data


def values(scored) -> dict[str, float]:
    return {k: v["value"] for k, v in scored.metrics.items()}


def single_label_dataset(labels: list[str], texts: list[str] | None = None) -> EmotionDataset:
    texts = texts or [f"text {i}" for i in range(len(labels))]
    y = np.zeros((len(labels), len(EKMAN)), dtype=np.float32)
    for i, lab in enumerate(labels):
        y[i, EKMAN.index(lab)] = 1
    return EmotionDataset("hand", "test", texts, EKMAN, y)


PERCEPTION = {"task": "p", "type": "perception", "mode": "single-label", "dataset": "hand", "labels": "ekman",
              "metrics": ["accuracy", "macro_f1", "micro_f1", "weighted_f1", "best2_accuracy", "best3_accuracy", "ece"],
              "options": {"n_bins": 10}}


def test_single_label_perception_hand_computed():
    ds = single_label_dataset(["anger", "joy", "joy", "sadness", "neutral"])
    an = FixedAnalyzer({
        "text 0": {"dist": ekman_dist(anger=0.6, disgust=0.2, neutral=0.2)},    # anger, right
        "text 1": {"dist": ekman_dist(joy=0.5, surprise=0.3, neutral=0.2)},     # joy, right
        "text 2": {"dist": ekman_dist(surprise=0.45, joy=0.35, neutral=0.2)},   # surprise; joy 2nd
        "text 3": {"dist": ekman_dist(anger=0.4, fear=0.3, sadness=0.3)},       # anger; sadness 3rd (tie, label order)
        "text 4": {"dist": ekman_dist(neutral=0.9, joy=0.1)},                   # neutral, right
    })
    scored, *_ = score(PERCEPTION, ds, an)
    v = values(scored)
    assert v["accuracy"] == pytest.approx(3 / 5)
    assert v["micro_f1"] == pytest.approx(3 / 5)
    # per label F1: anger 2/3 (tp1 fp1), joy 2/3 (tp1 fn1), sadness 0, neutral 1, surprise 0 (predicted once);
    # disgust and fear occur nowhere and are left out
    assert v["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0 + 1 + 0) / 5)
    assert v["weighted_f1"] == pytest.approx((2 / 3 * 1 + 2 / 3 * 2 + 1 * 1) / 5)
    assert v["best2_accuracy"] == pytest.approx(4 / 5)
    assert v["best3_accuracy"] == pytest.approx(1.0)
    # bins (0.5,0.6]: conf .6 right; (0.4,0.5]: .5 right, .45 wrong; (0.3,0.4]: .4 wrong; (0.8,0.9]: .9 right
    assert v["ece"] == pytest.approx((0.4 + abs(1 - 0.95) + 0.4 + 0.1) / 5)
    cm = np.array(scored.confusion["matrix"])
    assert cm[EKMAN.index("joy"), EKMAN.index("surprise")] == 1 and cm[EKMAN.index("sadness"), EKMAN.index("anger")] == 1
    assert cm.trace() == 3
    table = {r["label"]: r for r in scored.per_label}
    assert table["anger"]["precision"] == pytest.approx(0.5) and table["joy"]["recall"] == pytest.approx(0.5)
    assert scored.samples[2] == {"gold": "joy", "pred": "surprise", "confidence": 0.45,
                                 "top3": ["surprise", "joy", "neutral"], "correct": False}


def test_bootstrap_intervals_bracket_the_value():
    ds = single_label_dataset(["anger", "joy", "joy", "sadness", "neutral"] * 8)
    an = FixedAnalyzer({"text 0": {"dist": ekman_dist(anger=1.0)}})
    task = parse_task(PERCEPTION)
    data = task_data(task, ds)
    plan = plan_labels(an, "ekman")
    preds = PredictionArrays.from_records(predict_chunk(an, ds.texts, plan=plan), "ekman")
    scored = score_task(task, data, preds, n_boot=200, seed=3)
    for m in scored.metrics.values():
        lo, hi = m["ci"]
        assert lo <= m["value"] + 1e-12 and m["value"] <= hi + 1e-12


def sentiment_dataset() -> EmotionDataset:
    ls = get_labelset("goemotions-sentiment")  # positive negative ambiguous neutral
    y = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32)
    return EmotionDataset("hand", "test", ["r0", "r1", "r2", "r3"], ls, y)


def test_multi_label_perception_hand_computed():
    an = FixedAnalyzer({
        "r0": {"dist": [0.7, 0.1, 0.1, 0.1], "scores": [0.9, 0.1, 0.2, 0.1]},      # decides {positive}
        "r1": {"dist": [0.3, 0.5, 0.1, 0.1], "scores": [0.6, 0.7, 0.1, 0.1]},      # {positive, negative}
        "r2": {"dist": [0.6, 0.3, 0.05, 0.05], "scores": [0.8, 0.4, 0.1, 0.1]},    # {positive}
        "r3": {"dist": [0.2, 0.1, 0.3, 0.4], "scores": [0.2, 0.1, 0.3, 0.4]},      # nothing
    }, labels="goemotions-sentiment", thresholds=[0.5, 0.5, 0.5, 0.5])
    spec = {"task": "m", "type": "perception", "mode": "multi-label", "dataset": "hand",
            "labels": "goemotions-sentiment",
            "metrics": ["macro_f1", "micro_f1", "weighted_f1", "jaccard", "exact_match", "top1_accuracy",
                        "best2_accuracy"]}
    scored, *_ = score(spec, sentiment_dataset(), an)
    v = values(scored)
    # positive: tp 2 fp 1 -> 4/5; negative: tp 1 fn 1 -> 2/3; ambiguous: fn 1 -> 0; neutral: absent
    assert v["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 3)
    assert v["micro_f1"] == pytest.approx(6 / 9)
    assert v["weighted_f1"] == pytest.approx((0.8 * 2 + 2 / 3 * 2) / 5)
    assert v["jaccard"] == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
    assert v["exact_match"] == pytest.approx(0.25)
    assert v["top1_accuracy"] == pytest.approx(0.75)  # r3's top label (neutral) is not gold
    assert v["best2_accuracy"] == pytest.approx(1.0)
    # the soft-label rule p_c > 1/K: r1 {pos .3, neg}, r2 {pos, neg .3}, r3 {ambiguous .3, neutral .4}
    spec["options"] = {"decision": "distribution"}
    v = values(score(spec, sentiment_dataset(), an)[0])
    assert v["macro_f1"] == pytest.approx((0.8 + 1 + 1 + 0) / 4)


def test_cross_label_set_mapping_is_reported():
    emolex = get_labelset("nrc-emolex")  # has trust, which Ekman lacks

    def dist(**p: float) -> list[float]:
        return [p.get(lab, 0.0) for lab in emolex.labels]

    an = FixedAnalyzer({"text 0": {"dist": dist(trust=0.8, joy=0.2)}, "text 1": {"dist": dist(anger=1.0)}},
                       labels="nrc-emolex")
    scored, plan, preds, data = score({**PERCEPTION, "metrics": ["accuracy"]},
                                      single_label_dataset(["joy", "anger"]), an)
    assert values(scored)["accuracy"] == pytest.approx(1.0)  # trust's mass is dropped, joy remains
    rep = mapping_report(plan, preds, data)
    assert rep["route"] == ["nrc-emolex", "ekman"] and rep["unmapped_model_labels"] == ["trust"]
    assert rep["rows_with_unmapped_top_label"] == 1
    assert rep["mean_probability_dropped"] == pytest.approx((0.8 + 0.0) / 2)


def test_mapping_via_an_intermediate_label_set():
    go = get_labelset("goemotions")
    an = FixedAnalyzer({"hi": {"dist": [1.0 if lab == "admiration" else 0.0 for lab in go.labels]}},
                       labels="goemotions")
    emory = get_labelset("emorynlp")
    ds = EmotionDataset("hand", "test", ["hi"], emory, np.eye(len(emory), dtype=np.float32)[[emory.index("joyful")]])
    spec = {"task": "e", "type": "perception", "dataset": "hand", "labels": "emorynlp", "via": "ekman",
            "metrics": ["accuracy"]}
    scored, plan, preds, data = score(spec, ds, an)
    assert [h.target.name for h in plan.hops] == ["ekman", "emorynlp"]  # admiration -> joy -> joyful
    assert values(scored)["accuracy"] == 1.0
    assert mapping_report(plan, preds, data)["unreachable_task_labels"] == ["peaceful", "powerful"]
    # without via, GoEmotions labels such as admiration have no EmoryNLP counterpart
    direct = plan_labels(an, "emorynlp")
    assert "admiration" in direct.unmapped_source_labels()


def test_unsupported_when_no_emotion_is_reachable():
    an = FixedAnalyzer({}, labels="goemotions-sentiment")
    with pytest.raises(Unsupported, match="map onto none of the emotions"):
        plan_labels(an, "ekman")


def test_gold_labels_mapped_onto_the_task_label_set():
    go = get_labelset("goemotions")
    y = np.zeros((2, len(go)), dtype=np.float32)
    y[0, go.index("annoyance")] = 1
    y[1, go.index("gratitude")] = 1
    ds = EmotionDataset("hand", "test", ["a", "b"], go, y)
    data = task_data(parse_task({**PERCEPTION, "mode": "multi-label", "metrics": ["macro_f1"]}), ds)
    assert data.dataset.labelset.name == "ekman"
    assert data.dataset.label_sets()[:, EKMAN.index("anger")].tolist() == [True, False]
    assert data.dataset.label_sets()[:, EKMAN.index("joy")].tolist() == [False, True]
    assert data.gold_mapping_report()["citation"].startswith("Demszky")


def test_multiple_choice_with_dataset_options():
    eemo = get_labelset("eemo")  # joy anger disgust sadness surprise fear neutral
    y = np.zeros((2, 7), dtype=np.float32)
    y[0, eemo.index("joy")] = 1
    y[1, eemo.index("fear")] = 1
    ds = EmotionDataset("hand", "test", ["a", "b"], eemo, y, options=[["joy", "fear"], ["fear", "neutral", "anger"]])

    def dist(**p: float) -> list[float]:
        return [p.get(lab, 0.0) for lab in eemo.labels]

    # a: surprise is most likely overall but not an option; joy beats fear -> right.  b: neutral > fear -> wrong
    an = FixedAnalyzer({"a": {"dist": dist(surprise=0.6, joy=0.3, fear=0.1)},
                        "b": {"dist": dist(neutral=0.5, fear=0.4, anger=0.1)}}, labels="eemo")
    spec = {"task": "mc", "type": "perception", "mode": "multiple-choice", "dataset": "hand", "labels": "eemo"}
    scored, *_ = score(spec, ds, an)
    assert values(scored)["accuracy"] == pytest.approx(0.5)
    assert scored.samples[0]["pred"] == "joy" and scored.samples[1]["pred"] == "neutral"


def test_multiple_choice_generated_options_contain_the_gold_label():
    ds = single_label_dataset(["anger", "joy", "fear"])
    spec = {"task": "mc", "type": "perception", "mode": "multiple-choice", "dataset": "hand", "labels": "ekman",
            "options": {"n_options": 3, "seed": 5}}
    scored, *_ = score(spec, ds, FixedAnalyzer({}))
    for s in scored.samples:
        assert len(s["options"]) == 3 and s["gold"] in s["options"]
    assert scored.details["chance"] == pytest.approx(1 / 3)


def test_emotion_ranking_hand_computed():
    eemo = get_labelset("eemo")
    ds = EmotionDataset("hand", "test", ["a", "b"], eemo, None,
                        rankings=[["joy", "surprise", "fear"], ["fear", "sadness"]])

    def dist(**p: float) -> list[float]:
        return [p.get(lab, 0.0) for lab in eemo.labels]

    an = FixedAnalyzer({"a": {"dist": dist(surprise=0.5, joy=0.3, anger=0.2)},
                        "b": {"dist": dist(fear=0.6, sadness=0.3, neutral=0.1)}}, labels="eemo")
    spec = {"task": "r", "type": "emotion_ranking", "dataset": "hand", "labels": "eemo"}
    v = values(score(spec, ds, an)[0])
    ndcg_a = (2 / 1 + 3 / math.log2(3)) / (3 + 2 / math.log2(3) + 1 / 2)
    assert v["top1_accuracy"] == pytest.approx(0.5)
    assert v["overlap@3"] == pytest.approx((2 / 3 + 1) / 2)
    assert v["kendall"] == pytest.approx((-1 + 1) / 2)
    assert v["ndcg@3"] == pytest.approx((ndcg_a + 1) / 2)


def vad_dataset(values_1_5: list[list[float]]) -> EmotionDataset:
    return EmotionDataset("hand", "test", [f"t{i}" for i in range(len(values_1_5))], vad=np.array(values_1_5),
                          vad_scale="1..5")


def test_assessment_converts_scales_hand_computed():
    ds = vad_dataset([[1, 2, 3], [3, 3, 3], [5, 4, 2]])
    # predictions on -1..1; valence -1, 0, 0.5 is 1, 3, 4 on 1..5
    an = FixedAnalyzer({"t0": {"vad": [-1, -0.5, 0]}, "t1": {"vad": [0, 0, 0.5]}, "t2": {"vad": [0.5, 0.5, -0.5]}})
    spec = {"task": "a", "type": "assessment", "dataset": "hand", "target": "valence",
            "metrics": ["pearson", "spearman", "ccc", "rmse", "mae"]}
    v = values(score(spec, ds, an)[0])
    # gold 1,3,5 vs 4/3-mean pred 1,3,4: cov 6, sum sq 8 and 14/3
    assert v["pearson"] == pytest.approx(6 / math.sqrt(8 * 14 / 3))
    assert v["spearman"] == pytest.approx(1.0)
    assert v["ccc"] == pytest.approx(36 / 39)
    assert v["rmse"] == pytest.approx(math.sqrt(1 / 3))
    assert v["mae"] == pytest.approx(1 / 3)
    spec.update(target="vad", metrics=["rmse"])
    v = values(score(spec, ds, an)[0])
    # arousal pred 2,3,4 = gold -> 0; dominance pred 3,4,2 vs 3,3,2 -> sqrt(1/3)
    assert v["valence.rmse"] == pytest.approx(math.sqrt(1 / 3)) and v["arousal.rmse"] == pytest.approx(0.0)
    assert v["rmse"] == pytest.approx((2 * math.sqrt(1 / 3)) / 3)


def test_assessment_without_predictions_is_reported():
    ds = vad_dataset([[1, 2, 3], [3, 3, 3], [5, 4, 2]])
    an = FixedAnalyzer({"t0": {"vad": [0, np.nan, np.nan]}, "t1": {"vad": [0.5, np.nan, np.nan]},
                        "t2": {"vad": [1, np.nan, np.nan]}})
    spec = {"task": "a", "type": "assessment", "dataset": "hand", "target": "vad", "metrics": ["pearson"]}
    scored = score(spec, ds, an)[0]
    assert scored.metrics["pearson"]["value"] is None  # needs all three dimensions
    assert scored.metrics["valence.pearson"]["value"] == pytest.approx(1.0)
    assert any("arousal: not predicted" in n for n in scored.notes)
    with pytest.raises(Unsupported):
        score(spec, ds, FixedAnalyzer({}))


def test_item_ranking_hand_computed():
    ds = vad_dataset([[1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0]])
    an = FixedAnalyzer({"t0": {"vad": [-1, 0, 0]}, "t1": {"vad": [0, 0, 0]}, "t2": {"vad": [-0.5, 0, 0]},
                        "t3": {"vad": [-0.5, 0, 0]}})
    spec = {"task": "i", "type": "item_ranking", "dataset": "hand", "target": "valence",
            "metrics": ["kendall", "ranking_accuracy", "spearman", "recall@25%", "ndcg@2"],
            "options": {"relevant_top": 0.25}}
    scored = score(spec, ds, an)[0]
    v = values(scored)
    # predicted order 1 > 2 = 3 > 0 against gold 3 > 2 > 1 > 0: C 3, D 2, one pair tied in the prediction
    assert v["kendall"] == pytest.approx(1 / math.sqrt(30))
    assert v["ranking_accuracy"] == pytest.approx(3.5 / 6)
    # relevant = the top 25% by gold (item 3); the first 25% screened is item 1 -> recall 0
    assert v["recall@25%"] == 0.0
    # relevance = gold - min = 0,1,2,3; predicted top 2 = items 1 (1), 2 (2) -> (1 + 2/log2 3) / (3 + 2/log2 3)
    assert v["ndcg@2"] == pytest.approx((1 + 2 / math.log2(3)) / (3 + 2 / math.log2(3)))
    assert [s["pred_rank"] for s in scored.samples] == [4, 1, 2, 3]


def test_pairwise_hand_computed():
    ds = vad_dataset([[0, 1, 0], [0, 2, 0], [0, 3, 0], [0, 4, 0]])
    an = FixedAnalyzer({"t0": {"vad": [0, -0.5, 0]}, "t1": {"vad": [0, 0.5, 0]}, "t2": {"vad": [0, 0, 0]},
                        "t3": {"vad": [0, 0, 0]}})
    spec = {"task": "pw", "type": "pairwise", "dataset": "hand", "target": "arousal", "options": {"n_pairs": 100}}
    # all 6 pairs: (0,1) (0,2) (0,3) right, (1,2) (1,3) wrong, (2,3) predicted tie = 1/2
    assert values(score(spec, ds, an)[0])["accuracy"] == pytest.approx(3.5 / 6)
    spec["options"]["min_gap"] = 1.5  # only pairs (0,2) (0,3) (1,3)
    scored = score(spec, ds, an)[0]
    assert values(scored)["accuracy"] == pytest.approx(2 / 3)
    assert {(s["a"], s["b"]) for s in scored.samples} == {(0, 2), (0, 3), (1, 3)}


def test_description_with_emotion_words_hand_computed():
    ds = EmotionDataset("hand", "test", ["a", "b", "c", "d"], words=[["joy"], ["sadness", "fear"], ["neutral"], ["anger"]])
    an = FixedAnalyzer({"a": {"words": ["happy", "anger"]}, "b": {"words": ["scared"]}, "c": {"words": ["joy"]},
                        "d": {"words": []}})
    spec = {"task": "d", "type": "description", "dataset": "hand"}
    scored = score(spec, ds, an)[0]
    v = values(scored)
    # both wheels: P = (1/2, 1, 0), R = (1, 1/2, 0) over the three rows with mappable gold -> F = 1/2
    assert v["wheel_f"] == pytest.approx(0.5)
    assert v["wheel_precision"] == pytest.approx(0.5) and v["wheel_recall"] == pytest.approx(0.5)
    assert v["parrott-1.wheel_f"] == pytest.approx(0.5)
    assert scored.n_scored == 3 and scored.details["words_source"] == "emotion_words"
    assert scored.details["unmapped"]["parrott-1"] == {"gold": 1, "pred": 0}


def test_description_falls_back_to_predicted_labels():
    ds = single_label_dataset(["joy", "anger"], ["a", "b"])
    an = FixedAnalyzer({"a": {"dist": ekman_dist(joy=0.9, neutral=0.1)}, "b": {"dist": ekman_dist(fear=1.0)}})
    spec = {"task": "d", "type": "description", "dataset": "hand", "labels": "ekman",
            "options": {"wheels": ["parrott-1"]}}
    scored = score(spec, ds, an)[0]
    # decisions at p >= 1/7: a {joy}, b {fear}; gold a {joy}, b {anger} -> P = R = (1, 0)
    assert values(scored)["wheel_f"] == pytest.approx(0.5)
    assert scored.details["words_source"] == "labels"
    with pytest.raises(Unsupported):
        score({**spec, "options": {"fallback": "none"}}, ds, an)


def test_cause_bleu2_hand_computed():
    ds = EmotionDataset("hand", "test", ["a", "b", "c"],
                        causes=["The cat is on the mat.", "The cat is on the mat.", None])
    an = FixedAnalyzer({"a": {"cause": "the cat the cat on the mat."}, "b": {"cause": "the cat"},
                        "c": {"cause": "anything"}})
    spec = {"task": "c", "type": "cause", "dataset": "hand"}
    scored = score(spec, ds, an)[0]
    v = values(scored)
    assert v["bleu2"] == pytest.approx((math.sqrt(6 / 8 * 4 / 7) + math.exp(1 - 7 / 2)) / 2)
    assert v["corpus_bleu2"] == pytest.approx(math.exp(1 - 14 / 10) * math.sqrt(8 / 10 * 5 / 8))
    assert scored.n_scored == 2 and scored.samples[2]["bleu2"] is None
    with pytest.raises(Unsupported, match="no causes"):
        score(spec, ds, FixedAnalyzer({}))


def test_failed_rows_count_as_wrong_and_are_reported():
    ds = single_label_dataset(["joy", "anger"], ["fine", "   "])  # whitespace-only text fails the input check
    an = FixedAnalyzer({"fine": {"dist": ekman_dist(joy=1.0)}})
    scored, _, preds, _ = score({**PERCEPTION, "metrics": ["accuracy"]}, ds, an)
    assert preds.errors[1] == "text is only whitespace"
    assert values(scored)["accuracy"] == pytest.approx(0.5)
    assert any("no prediction" in n for n in scored.notes)


def test_resampled_ece_equals_the_reference_on_the_resampled_pairs():
    from affectkit.evaluation import metrics as M
    from affectkit.evaluation.scoring import _ece_fn

    rng = np.random.default_rng(4)
    conf = rng.random((50, 3))
    conf[7] = np.nan  # a row without prediction
    correct = rng.random((50, 3)) < 0.4
    fn = _ece_fn(conf, correct, 15)
    for _ in range(5):
        idx = rng.integers(0, 50, 50)
        c, y = conf[idx].ravel(), correct[idx].ravel().astype(float)
        ok = ~np.isnan(c)
        assert fn(idx) == pytest.approx(M.expected_calibration_error(c[ok], y[ok], 15))


SEMEVAL_EC = get_labelset("semeval-ec")
EI_REG = {"task": "ei", "type": "assessment", "dataset": "hand", "labels": "semeval-ec", "target": "intensity",
          "attribute": "@emotion", "metrics": ["pearson"], "options": {"group_by": "emotion"}}


def intensity_dataset(emotions: list[str], gold: list[float]) -> EmotionDataset:
    """EI-reg / WASSA-2017 rows: one emotion per row (``meta['emotion']``) and its gold intensity."""
    return EmotionDataset("hand", "test", [f"t{i}" for i in range(len(gold))], SEMEVAL_EC,
                          meta={"id": [f"id{i}" for i in range(len(gold))], "emotion": emotions},
                          intensity=np.array(gold))


def test_emotion_intensity_scores_each_rows_own_probability_per_emotion():
    ds = intensity_dataset(["anger"] * 3 + ["joy"] * 3, [0.2, 0.5, 0.8, 0.1, 0.4, 0.7])

    def row(anger: float, joy: float, scores: list[float]) -> dict:
        dist = [0.0] * len(SEMEVAL_EC)
        dist[SEMEVAL_EC.index("anger")], dist[SEMEVAL_EC.index("joy")] = anger, joy
        dist[SEMEVAL_EC.index("trust")] = 1 - anger - joy
        return {"dist": dist, "scores": scores}

    # multi-label scores that run against the gold: the probabilities, not these, are scored
    an = FixedAnalyzer({"t0": row(0.1, 0.5, [0.9] * 11), "t1": row(0.3, 0.1, [0.5] * 11),
                        "t2": row(0.5, 0.2, [0.1] * 11), "t3": row(0.6, 0.2, [0.9] * 11),
                        "t4": row(0.1, 0.6, [0.2] * 11), "t5": row(0.0, 0.4, [0.1] * 11)}, labels="semeval-ec")
    scored, *_ = score(EI_REG, ds, an)
    v = values(scored)
    # anger: p 0.1, 0.3, 0.5 against 0.2, 0.5, 0.8 -> r = 1; joy: p 0.2, 0.6, 0.4 against 0.1, 0.4, 0.7 ->
    # deviations (-0.2, 0.2, 0) and (-0.3, 0, 0.3): r = 0.06 / sqrt(0.08 * 0.18) = 0.5
    assert v["anger.pearson"] == pytest.approx(1.0) and v["joy.pearson"] == pytest.approx(0.5)
    assert v["pearson"] == pytest.approx(0.75)  # the mean over the emotions, the official figure
    # each row once, under its own emotion
    assert scored.samples == [
        {"emotion": "anger", "intensity": {"gold": 0.2, "pred": 0.1}},
        {"emotion": "anger", "intensity": {"gold": 0.5, "pred": 0.3}},
        {"emotion": "anger", "intensity": {"gold": 0.8, "pred": 0.5}},
        {"emotion": "joy", "intensity": {"gold": 0.1, "pred": 0.2}},
        {"emotion": "joy", "intensity": {"gold": 0.4, "pred": 0.6}},
        {"emotion": "joy", "intensity": {"gold": 0.7, "pred": 0.4}},
    ]


def test_emotion_probability_is_not_renormalised_after_label_mapping():
    # an Ekman model on the semeval-ec labels: neutral has no counterpart, so the mapped distribution is
    # renormalised; the scored probability is the model's own p(anger), before that
    ds = intensity_dataset(["anger"] * 3, [0.1, 0.5, 0.9])
    an = FixedAnalyzer({"t0": {"dist": ekman_dist(anger=0.1, neutral=0.9)},
                        "t1": {"dist": ekman_dist(anger=0.3, joy=0.4, neutral=0.3)},
                        "t2": {"dist": ekman_dist(anger=0.7, disgust=0.3)}})
    scored, plan, *_ = score(EI_REG, ds, an)
    assert plan.source.name == "ekman" and plan.hops
    # renormalised, p(anger) would be 1.0, 0.3 / 0.7 and 0.7 (r < 0); the model's own is 0.1, 0.3, 0.7
    # (records keep six decimals of the mapped distribution and of the mass kept)
    assert [s["intensity"]["pred"] for s in scored.samples] == pytest.approx([0.1, 0.3, 0.7], abs=1e-5)
    assert values(scored)["pearson"] == pytest.approx(float(np.corrcoef([0.1, 0.5, 0.9], [0.1, 0.3, 0.7])[0, 1]),
                                                      abs=1e-5)


def test_grouped_assessment_of_several_dimensions_lists_each_row_once():
    ds = EmotionDataset("hand", "test", ["a", "b", "c", "d"], vad=np.array([[1, 2, 3], [2, 3, 4], [3, 1, 2],
                                                                             [5, 5, 5]], dtype=float),
                        vad_scale="1..5", meta={"source": ["x", "x", "y", "y"]})
    an = FixedAnalyzer({t: {"vad": [0, 0, 0]} for t in "abcd"})
    spec = {"task": "g", "type": "assessment", "dataset": "hand", "target": "vad", "metrics": ["rmse"],
            "options": {"group_by": "source"}}
    scored = score(spec, ds, an)[0]
    assert len(scored.samples) == 4
    assert scored.samples[2] == {"source": "y", "valence": {"gold": 3.0, "pred": 3.0},
                                 "arousal": {"gold": 1.0, "pred": 3.0}, "dominance": {"gold": 2.0, "pred": 3.0}}
