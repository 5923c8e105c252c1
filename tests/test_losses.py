"""Training losses, target aggregation, smoothing, calibration and ranking metrics against values computed by
hand (the closed forms are spelled out with ``math`` next to each expected value)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from affectkit.evaluation.metrics import kendall, ranking_accuracy  # noqa: E402
from affectkit.training import losses  # noqa: E402
from affectkit.training.calibration import calibrate_thresholds, fit_temperature  # noqa: E402
from affectkit.training.targets import aggregate_votes, cooccurrence_counts, positive_weights, smooth_labels  # noqa: E402


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def sp(x: float) -> float:
    """softplus: log(1 + e^x)."""
    return math.log1p(math.exp(x))


# -- pairwise and listwise ranking -----------------------------------------------------------------------------------
def test_ranknet_hand_value():
    # pairs (0,1), (0,2), (1,2) with score gaps 1, 2, 1: mean of -log sigma(gap) = softplus(-gap)
    loss = losses.RankNetLoss()(t([[2.0, 1.0, 0.0]]), t([[3.0, 2.0, 1.0]]))
    assert loss.item() == pytest.approx((sp(-1) + sp(-2) + sp(-1)) / 3, abs=1e-6)


def test_ranknet_ignores_padding_and_ties():
    base = losses.RankNetLoss()(t([[2.0, 1.0]]), t([[1.0, 0.0]]))
    padded = losses.RankNetLoss()(t([[2.0, 1.0, 50.0]]), t([[1.0, 0.0, 9.0]]), torch.tensor([[True, True, False]]))
    assert padded.item() == pytest.approx(base.item(), abs=1e-6) == pytest.approx(sp(-1), abs=1e-6)
    assert losses.RankNetLoss()(t([[2.0, 1.0]]), t([[1.0, 1.0]])).item() == 0.0  # a tie orders nothing


def test_listnet_hand_value():
    # target softmax([1, 0]) = (e/(1+e), 1/(1+e)); scores equal to relevance: loss = entropy of that Bernoulli
    p = math.e / (1 + math.e)
    expected = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    assert losses.ListNetLoss()(t([[1.0, 0.0]]), t([[1.0, 0.0]])).item() == pytest.approx(expected, abs=1e-6)
    assert losses.ListNetLoss()(t([[0.0, 0.0, 0.0]]), t([[5.0, 1.0, 0.0]])).item() == pytest.approx(math.log(3), abs=1e-6)


def test_listnet_padding_gets_no_probability():
    base = losses.ListNetLoss()(t([[1.0, 0.0]]), t([[1.0, 0.0]]))
    padded = losses.ListNetLoss()(t([[1.0, 0.0, 30.0]]), t([[1.0, 0.0, 30.0]]), torch.tensor([[True, True, False]]))
    assert padded.item() == pytest.approx(base.item(), abs=1e-6)


def test_listmle_hand_value():
    # gold order 0 > 1 > 2, scores (1, 0, -1): Plackett-Luce terms log(e^1 + e^0 + e^-1) - 1 and log(e^0 + e^-1) - 0
    # (the last term is log e^-1 - (-1) = 0), averaged over the 3 items
    expected = (math.log(math.e + 1 + math.exp(-1)) - 1 + math.log(1 + math.exp(-1))) / 3
    loss = losses.ListMLELoss()(t([[1.0, 0.0, -1.0]]), t([[3.0, 2.0, 1.0]]))
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    # the list's input order does not matter, only the relevance order
    shuffled = losses.ListMLELoss()(t([[-1.0, 1.0, 0.0]]), t([[1.0, 3.0, 2.0]]))
    assert shuffled.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("pad_score", [-30.0, 0.0, 30.0])
def test_listmle_padding_does_not_enter_the_normaliser(pad_score):
    scores, rel = t([[1.0, 0.0, -1.0]]), t([[3.0, 2.0, 1.0]])
    base = losses.ListMLELoss()(scores, rel).item()
    # padding anywhere, with any score and any relevance: the Plackett-Luce normalisers must not see it
    padded_scores = t([[pad_score, 1.0, pad_score, 0.0, -1.0]])
    padded_rel = t([[9.0, 3.0, 0.0, 2.0, 1.0]])
    mask = torch.tensor([[False, True, False, True, True]])
    assert losses.ListMLELoss()(padded_scores, padded_rel, mask).item() == pytest.approx(base, abs=1e-6)


def test_listmle_batch_mixes_list_lengths():
    two = losses.ListMLELoss()(t([[1.0, 0.0]]), t([[1.0, 0.0]])).item()
    three = losses.ListMLELoss()(t([[1.0, 0.0, -1.0]]), t([[3.0, 2.0, 1.0]])).item()
    batch = losses.ListMLELoss()(t([[1.0, 0.0, 0.0], [1.0, 0.0, -1.0]]), t([[1.0, 0.0, 0.0], [3.0, 2.0, 1.0]]),
                                 torch.tensor([[True, True, False], [True, True, True]])).item()
    assert batch == pytest.approx((two + three) / 2, abs=1e-6)


def test_ranklist_hand_values_and_skip():
    scores, rel = t([[1.0, 0.0, -1.0]]), t([[3.0, 2.0, 1.0]])
    # all later items: anchor 0 -> log(1 + e^-1 + e^-2), anchor 1 -> log(1 + e^-1); mean over the 2 anchors
    full = (math.log(1 + math.exp(-1) + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2
    assert losses.RankListLoss()(scores, rel).item() == pytest.approx(full, abs=1e-6)
    # skip k = 1: neighbours only, both anchors -> log(1 + e^-1)
    assert losses.RankListLoss(skip=1)(scores, rel).item() == pytest.approx(sp(-1), abs=1e-6)
    lossfn = losses.RankListLoss(skip=1)
    lossfn.set_skip(2)
    assert lossfn(scores, rel).item() == pytest.approx(full, abs=1e-6)


def test_ranklist_reduces_to_ranknet_on_lists_of_two():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(64, 2, generator=gen) * 3
    rel = torch.randn(64, 2, generator=gen)
    for skip in (None, 1):
        assert losses.RankListLoss(skip)(scores, rel).item() == pytest.approx(
            losses.RankNetLoss()(scores, rel).item(), abs=1e-5)


def test_ranklist_ignores_padding():
    base = losses.RankListLoss()(t([[1.0, 0.0, -1.0]]), t([[3.0, 2.0, 1.0]])).item()
    padded = losses.RankListLoss()(t([[1.0, 40.0, 0.0, -1.0]]), t([[3.0, 2.5, 2.0, 1.0]]),
                                   torch.tensor([[True, False, True, True]])).item()
    assert padded == pytest.approx(base, abs=1e-6)


def test_skip_curriculum_grows_k():
    c = losses.SkipCurriculum(start=1, end=4, share=0.5)
    ks = [c(p) for p in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 1.0)]
    assert ks == [1, 1, 2, 3, 4, 4, 4, 4]
    assert ks == sorted(ks)
    assert losses.SkipCurriculum(2, 2)(0.0) == 2
    assert losses.SkipCurriculum(1, 7, share=0.0)(0.0) == 7
    with pytest.raises(ValueError):
        losses.SkipCurriculum(3, 2)


# -- regression and categories ---------------------------------------------------------------------------------------
def test_ccc_hand_values():
    # identical: CCC = 1
    assert losses.CCCLoss()(t([1.0, 2.0, 3.0]), t([1.0, 2.0, 3.0])).item() == pytest.approx(0.0, abs=1e-6)
    # shifted by 1: var 2/3 each, cov 2/3, mean gap 1 -> CCC = (4/3) / (2/3 + 2/3 + 1) = 4/7
    assert losses.CCCLoss()(t([1.0, 2.0, 3.0]), t([2.0, 3.0, 4.0])).item() == pytest.approx(3 / 7, abs=1e-6)
    # two columns are averaged
    two = losses.CCCLoss()(t([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), t([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]]))
    assert two.item() == pytest.approx((0 + 3 / 7) / 2, abs=1e-6)


def test_mse_ignores_nan_targets():
    assert losses.MSELoss()(t([[1.0, 2.0]]), t([[3.0, float("nan")]])).item() == pytest.approx(4.0)


def test_soft_label_cross_entropy_hand_values():
    # votes (2, 1, 1) -> y = (.5, .25, .25); uniform logits -> log 3
    assert losses.SoftLabelCrossEntropy()(t([[0.0, 0.0, 0.0]]), t([[2.0, 1.0, 1.0]])).item() == pytest.approx(math.log(3))
    z = math.log(math.e + 2)  # log-normaliser of logits (1, 0, 0)
    expected = -(0.5 * (1 - z) + 0.25 * (-z) + 0.25 * (-z))
    assert losses.SoftLabelCrossEntropy()(t([[1.0, 0.0, 0.0]]), t([[2.0, 1.0, 1.0]])).item() == pytest.approx(expected, abs=1e-6)


def test_bce_hand_values_and_positive_weights():
    assert losses.MultiLabelBCE()(t([[0.0]]), t([[1.0]])).item() == pytest.approx(math.log(2))
    plain = (sp(-2) + sp(-1)) / 2  # targets (1, 0) with logits (2, -1): -log sigma(2), -log(1 - sigma(-1))
    assert losses.MultiLabelBCE()(t([[2.0, -1.0]]), t([[1.0, 0.0]])).item() == pytest.approx(plain, abs=1e-6)
    weighted = (3 * sp(-2) + sp(-1)) / 2
    got = losses.MultiLabelBCE(t([3.0, 1.0]))(t([[2.0, -1.0]]), t([[1.0, 0.0]])).item()
    assert got == pytest.approx(weighted, abs=1e-6)


def test_cooccurrence_penalty_hand_value():
    # C = [[4, 2], [2, 2]] -> P = 1 - C / 4 = [[0, .5], [.5, .5]]; y = (1, 0), p = (.5, .5):
    # sum_ij y_i P_ij p_j = 0 * .5 + .5 * .5 = .25, times lambda .1
    pen = losses.CooccurrencePenalty(t([[4.0, 2.0], [2.0, 2.0]]), weight=0.1)
    assert pen(t([[0.0, 0.0]]), t([[1.0, 0.0]])).item() == pytest.approx(0.025, abs=1e-7)
    # predicting only what co-occurs with the gold label most often costs nothing
    assert pen(t([[10.0, -50.0]]), t([[1.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-6)


def test_cooccurrence_counts():
    y = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]])
    assert cooccurrence_counts(y).tolist() == [[2, 1, 0], [1, 2, 1], [0, 1, 1]]


# -- targets ---------------------------------------------------------------------------------------------------------
VOTES = np.array([[3, 1, 0], [2, 2, 0], [1, 1, 1], [0, 0, 0], [2, 1, 1]])


def test_majority_keeps_only_more_than_half():
    y, keep = aggregate_votes(VOTES, "majority")
    assert keep.tolist() == [0]  # 3 of 4; row 4 has 2 of 4 (not more than half); ties and empty rows go
    assert y.tolist() == [[1, 0, 0]]


def test_plurality_keeps_unique_winners():
    y, keep = aggregate_votes(VOTES, "plurality")
    assert keep.tolist() == [0, 4]
    assert y.tolist() == [[1, 0, 0], [1, 0, 0]]


def test_all_inclusive_keeps_ties_with_the_distribution():
    y, keep = aggregate_votes(VOTES, "all-inclusive")
    assert keep.tolist() == [0, 1, 2, 4]
    np.testing.assert_allclose(y, [[.75, .25, 0], [.5, .5, 0], [1 / 3] * 3, [.5, .25, .25]])
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate_votes(VOTES, "mode")


def test_label_smoothing():
    # (1 - .3) * (3/4, 1/4, 0) + .3 / 3
    np.testing.assert_allclose(smooth_labels(np.array([[3, 1, 0]]), 0.3), [[0.625, 0.275, 0.1]])
    np.testing.assert_allclose(smooth_labels(np.array([[0.2, 0.8]]), 0.0), [[0.2, 0.8]])


def test_positive_weights():
    y = np.array([[1, 0], [1, 0], [0, 1], [1, 0]])
    assert positive_weights(y, "none") is None
    np.testing.assert_allclose(positive_weights(y, "balanced"), [1.0, 3.0])  # 1/3 is raised to 1
    np.testing.assert_allclose(positive_weights(y, "sqrt"), [1.0, math.sqrt(3)])


# -- calibration -----------------------------------------------------------------------------------------------------
def test_calibrate_thresholds_hand_values():
    scores = np.array([[0.9, 0.9], [0.8, 0.6], [0.3, 0.4], [0.2, 0.1]])
    gold = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    # label 0: every t in (0.3, 0.8] is perfect; ties go to the threshold nearest 0.5
    # label 1: F1 is 0.8 for t in (0.1, 0.4] (3 predicted, 2 right) and lower elsewhere; nearest 0.5 is 0.40
    np.testing.assert_allclose(calibrate_thresholds(scores, gold), [0.5, 0.4])


def test_fit_temperature_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(400, 5)) * 3
    z = logits / 2.0
    targets = np.exp(z - z.max(1, keepdims=True))
    targets /= targets.sum(1, keepdims=True)
    assert fit_temperature(logits, targets) == pytest.approx(2.0, rel=0.01)


# -- ranking metrics -------------------------------------------------------------------------------------------------
def test_kendall_and_ranking_accuracy_hand_values():
    assert kendall([10, 20, 30, 40], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert kendall([10, 20, 30, 40], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # pairs (0,1) and (0,2) concordant, (1,2) discordant: tau = (2 - 1) / 3, accuracy 2 / 3
    assert kendall([1, 3, 2], [1, 2, 3]) == pytest.approx(1 / 3)
    assert ranking_accuracy([1, 3, 2], [1, 2, 3]) == pytest.approx(2 / 3)
    # a gold tie: tau-b = 2 / sqrt(3 * 2); the tied pair has no right order, so accuracy is 2 / 2
    assert kendall([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert ranking_accuracy([1, 1, 2], [1, 2, 3]) == pytest.approx(1.0)
    # a predicted tie counts half
    assert ranking_accuracy([1, 2], [1, 1]) == pytest.approx(0.5)
    # NaN rows are left out
    assert kendall([1, 5, 3], [1, np.nan, 3]) == pytest.approx(1.0)

