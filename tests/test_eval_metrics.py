"""Every metric against values computed by hand (worked out in the comments), and against scikit-learn/scipy
where they implement the same quantity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affectkit.evaluation import metrics as M

# gold / predicted label sets of 4 rows over 3 labels:
#   label 0: gold rows 0,2; predicted rows 0,1,2 -> tp 2, fp 1, fn 0 -> F1 = 4/5
#   label 1: gold rows 1,2; predicted row 1     -> tp 1, fp 0, fn 1 -> F1 = 2/3
#   label 2: gold row 3;    predicted nowhere   -> tp 0, fp 0, fn 1 -> F1 = 0
GOLD = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
PRED = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)


def test_f1_hand_values():
    assert M.f1_score(GOLD, PRED, "macro") == pytest.approx((0.8 + 2 / 3 + 0) / 3)
    assert M.f1_score(GOLD, PRED, "micro") == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))  # tp 3, fp 1, fn 2
    assert M.f1_score(GOLD, PRED, "weighted") == pytest.approx((0.8 * 2 + 2 / 3 * 2 + 0 * 1) / 5)
    prf = M.per_label_prf(GOLD, PRED)
    assert prf["precision"].tolist() == pytest.approx([2 / 3, 1.0, 0.0])
    assert prf["recall"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert prf["support"].tolist() == [2, 2, 1]


def test_macro_f1_leaves_out_labels_absent_from_gold_and_predictions():
    gold = np.hstack([GOLD, np.zeros((4, 2), dtype=bool)])
    pred = np.hstack([PRED, np.zeros((4, 2), dtype=bool)])
    assert M.f1_score(gold, pred, "macro") == pytest.approx(M.f1_score(GOLD, PRED, "macro"))


def test_f1_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    g = rng.random((200, 6)) < 0.3
    p = rng.random((200, 6)) < 0.3
    for avg in ("macro", "micro", "weighted"):
        assert M.f1_score(g, p, avg) == pytest.approx(f1_score(g, p, average=avg, zero_division=0))
    gi, pi = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    present = sorted(set(gi) | set(pi))
    for avg in ("macro", "weighted"):
        assert M.f1_score(M.onehot(gi, 5), M.onehot(pi, 5), avg) == pytest.approx(
            f1_score(gi, pi, average=avg, labels=present))


def test_jaccard_semeval_ec():
    # rows: {0}/{0} = 1; {1}/{0,1} = 1/2; {0,1}/{0} = 1/2; {2}/{} = 0  -> mean 0.5
    assert M.jaccard(GOLD, PRED) == pytest.approx(0.5)
    # a fifth row with both sets empty scores 1 (the official script's rule) -> (2 + 1) / 5
    g = np.vstack([GOLD, [0, 0, 0]])
    p = np.vstack([PRED, [0, 0, 0]])
    assert M.jaccard(g, p) == pytest.approx(0.6)
    from sklearn.metrics import jaccard_score

    assert M.jaccard(g, p) == pytest.approx(jaccard_score(g, p, average="samples", zero_division=1))
    assert M.exact_match(GOLD, PRED) == pytest.approx(0.25)


def test_accuracy_topk_and_best_k():
    gold = np.array([0, 1, 2, 1])
    scores = np.array([[0.5, 0.3, 0.2],   # top1 0 (hit)
                       [0.5, 0.4, 0.1],   # top1 0, top2 {0,1} (hit at 2)
                       [0.1, 0.5, 0.4],   # top2 {1,2} (hit at 2)
                       [0.6, 0.1, 0.3]])  # top2 {0,2}, top3 all (hit at 3)
    assert M.accuracy(gold, scores.argmax(axis=1)) == pytest.approx(0.25)
    g = M.onehot(gold, 3)
    assert M.topk_accuracy(g, scores, 1) == pytest.approx(0.25)
    assert M.topk_accuracy(g, scores, 2) == pytest.approx(0.75)
    assert M.topk_accuracy(g, scores, 3) == pytest.approx(1.0)
    from sklearn.metrics import top_k_accuracy_score

    assert M.topk_accuracy(g, scores, 2) == pytest.approx(top_k_accuracy_score(gold, scores, k=2))


def test_confusion_matrix():
    cm = M.confusion_matrix(np.array([0, 0, 1, 2, 2, -1]), np.array([0, 1, 1, 2, 0, 0]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_expected_calibration_error():
    # four rows in four different bins of width 0.1:
    # |1 - 0.9| + |0 - 0.8| + |0 - 0.3| + |1 - 0.65| = 1.55, over 4 rows
    assert M.expected_calibration_error([0.9, 0.8, 0.3, 0.65], [1, 0, 0, 1], n_bins=10) == pytest.approx(0.3875)
    # two rows in bin (0.6, 0.7]: accuracy 1/2, mean confidence 0.65 -> 0.15
    assert M.expected_calibration_error([0.62, 0.68], [1, 0], n_bins=10) == pytest.approx(0.15)
    # bin edges are right-closed: 0.7 falls in (0.6, 0.7] with 0.62
    assert M.expected_calibration_error([0.62, 0.7], [1, 1], n_bins=10) == pytest.approx(1 - 0.66)


def test_correlations_hand_values():
    x, y = np.array([1.0, 2, 3]), np.array([1.0, 3, 2])
    # cov = (-1)(-1) + 0 + (1)(0) = 1, var_x = var_y = 2 -> r = 0.5; ranks equal the values
    assert M.pearson(x, y) == pytest.approx(0.5)
    assert M.spearman(x, y) == pytest.approx(0.5)
    # pairs (1,2) C, (1,3) C, (2,3) D -> (2 - 1) / 3
    assert M.kendall(x, y) == pytest.approx(1 / 3)
    # CCC of x and x + 1: 2 cov / (var_x + var_y + 1) = (4/3) / (2/3 + 2/3 + 1) = 4/7
    assert M.ccc(x, x + 1) == pytest.approx(4 / 7)
    # errors 1, 0, 2 -> sqrt(5/3)
    assert M.rmse(x, np.array([2.0, 2, 5])) == pytest.approx(math.sqrt(5 / 3))
    assert M.mae(x, np.array([2.0, 2, 5])) == pytest.approx(1.0)
    # NaN pairs are dropped; a constant side gives NaN
    assert M.pearson([1, 2, 3, np.nan], [1, 3, 2, 5]) == pytest.approx(0.5)
    assert math.isnan(M.pearson([1, 2, 3], [2, 2, 2]))


def test_ndcg_hand_value_and_sklearn():
    rel = np.array([3.0, 2, 1, 0])
    scores = np.array([0.8, 0.9, 0.1, 0.3])  # predicted order: item1 (2), item0 (3), item3 (0), item2 (1)
    dcg = 2 / 1 + 3 / math.log2(3) + 0 / 2
    idcg = 3 / 1 + 2 / math.log2(3) + 1 / 2
    assert M.ndcg_rows(rel, scores, 3)[0] == pytest.approx(dcg / idcg)
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(3)
    r, s = rng.integers(0, 4, (20, 7)).astype(float), rng.random((20, 7))
    r[r.sum(axis=1) == 0, 0] = 1
    assert np.nanmean(M.ndcg_rows(r, s, 5)) == pytest.approx(ndcg_score(r, s, k=5, ignore_ties=True))


def test_ranking_accuracy_hand_values():
    # pairs of gold [1,2,3,4] vs pred [1,3,2,2]: (0,1) (0,2) (0,3) right, (1,2) (1,3) wrong, (2,3) tied -> 3.5 / 6
    assert M.ranking_accuracy([1, 2, 3, 4], [1, 3, 2, 2]) == pytest.approx(3.5 / 6)
    # gold ties are not pairs to order: only (0,2) and (1,2) count, both right
    assert M.ranking_accuracy([1, 1, 2], [1, 2, 3]) == pytest.approx(1.0)
    assert M.ranking_accuracy([1, 2, 3], [5, 5, 5]) == pytest.approx(0.5)


def test_ranking_accuracy_matches_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(20):
        g = rng.integers(0, 5, 40).astype(float)
        p = rng.integers(0, 6, 40).astype(float)
        total = score = 0.0
        for i in range(40):
            for j in range(i + 1, 40):
                if g[i] == g[j]:
                    continue
                total += 1
                d = (p[i] - p[j]) * np.sign(g[i] - g[j])
                score += 1.0 if d > 0 else 0.5 if d == 0 else 0.0
        assert M.ranking_accuracy(g, p) == pytest.approx(score / total)


def test_recall_at_percent():
    relevant = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    scores = np.array([0.9, 0.95, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    # 20% of 10 = 2 items screened: item1 (not relevant), item0 (relevant) -> 1 of 3
    assert M.recall_at_percent(relevant, scores, 20) == pytest.approx(1 / 3)
    # 30% -> items 1, 0, 9 -> 2 of 3
    assert M.recall_at_percent(relevant, scores, 30) == pytest.approx(2 / 3)


def test_ranked_list_scores():
    s = M.ranked_list_scores(["joy", "surprise", "fear"], ["surprise", "joy", "anger"], 3)
    assert s["top1"] == 0.0
    assert s["overlap"] == pytest.approx(2 / 3)
    assert s["kendall"] == pytest.approx(-1.0)  # joy, surprise swapped
    dcg = 2 / 1 + 3 / math.log2(3)  # surprise (gain 2) first, joy (gain 3) second, anger 0
    idcg = 3 + 2 / math.log2(3) + 1 / 2
    assert s["ndcg"] == pytest.approx(dcg / idcg)
    same = M.ranked_list_scores(["joy", "fear"], ["joy", "fear", "anger"], 3)
    assert same["top1"] == 1.0 and same["ndcg"] == pytest.approx(1.0) and same["kendall"] == pytest.approx(1.0)
    assert math.isnan(M.ranked_list_scores(["joy"], ["fear"], 3)["kendall"])


def test_emotion_wheel_hand_values():
    gold = [["joy"], ["sadness", "fear"], ["neutral"], ["anger"]]
    pred = [["happy", "anger"], ["scared"], ["joy"], []]
    r1 = M.wheel_scores(gold, pred, "parrott-1")
    # level 1: row0 G {joy} P {joy, anger}: P 1/2 R 1; row1 G {sadness, fear} P {fear}: P 1 R 1/2;
    # row2 gold "neutral" maps nowhere -> skipped; row3 P empty -> P = R = 0
    assert np.isnan(r1.recall[2])
    assert r1.precision[[0, 1, 3]].tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert r1.recall[[0, 1, 3]].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert M.wheel_f(r1.precision, r1.recall) == pytest.approx(0.5)  # P̄ = R̄ = 1/2
    assert (r1.unmapped_gold, r1.unmapped_pred) == (1, 0)
    # level 2: "joy"/"happy" -> cheerfulness, "anger" -> rage, "sadness" -> sadness, "fear"/"scared" -> horror
    r2 = M.wheel_scores(gold, pred, "parrott-2")
    assert r2.precision[[0, 1, 3]].tolist() == pytest.approx([0.5, 1.0, 0.0])
    # words above every anchor go to the alphabetically first label beneath (AffectGPT's level-2 rule)
    assert M.EmotionWheel("parrott-2").label("love") == "affection"
    # a wheel with fewer, coarser labels: "disgust" is its own label on Ekman
    assert M.EmotionWheel("ekman").label("disgust") == "disgust"
    assert M.EmotionWheel("ekman").label("love") is None


def test_bleu2_hand_values():
    ref = "The cat is on the mat."
    # hyp tokens: the cat the cat on the mat . (8); ref: the cat is on the mat . (7)
    # p1: the 3 -> clipped 2, cat 2 -> 1, on 1, mat 1, . 1 -> 6/8
    # p2: the-cat 2 -> 1, cat-the 0, cat-on 0, on-the 1, the-mat 1, mat-. 1 -> 4/7; BP = 1 (8 > 7)
    assert M.bleu2(ref, "the cat the cat on the mat.") == pytest.approx(math.sqrt(6 / 8 * 4 / 7))
    # short hypothesis: p1 = p2 = 1, BP = exp(1 - 7/2)
    assert M.bleu2(ref, "the cat") == pytest.approx(math.exp(1 - 7 / 2))
    assert M.bleu2(ref, "") == 0.0
    assert M.bleu2(ref, "a dog") == 0.0  # no matching unigram or bigram
    # corpus: pooled p1 = (6 + 2)/(8 + 2), p2 = (4 + 1)/(7 + 1), c = 10, r = 14 -> BP = exp(1 - 14/10)
    expected = math.exp(1 - 14 / 10) * math.sqrt(8 / 10 * 5 / 8)
    assert M.corpus_bleu2([ref, ref], ["the cat the cat on the mat.", "the cat"]) == pytest.approx(expected)


def test_bootstrap_ci():
    values = np.arange(10, dtype=float)
    lo, hi = M.bootstrap_ci(lambda idx: float(values[idx].mean()), 10, 500, seed=1)
    assert lo < 4.5 < hi
    assert (lo, hi) == M.bootstrap_ci(lambda idx: float(values[idx].mean()), 10, 500, seed=1)
    const = M.bootstrap_ci(lambda idx: 0.25, 10, 100)
    assert const == (0.25, 0.25)
    rng = np.random.default_rng(0)
    sample = rng.normal(0, 1, 400)
    lo, hi = M.bootstrap_ci(lambda idx: float(sample[idx].mean()), 400, 1000)
    se = sample.std() / 20
    assert lo == pytest.approx(sample.mean() - 1.96 * se, abs=0.3 * se)
    assert hi == pytest.approx(sample.mean() + 1.96 * se, abs=0.3 * se)
