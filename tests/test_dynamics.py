"""affectkit.dynamics: every formula against values computed by hand."""

import numpy as np
import pytest

from affectkit import dynamics
from affectkit.errors import InputError


def test_transition_matrix_counts_only_pairs_inside_a_sequence():
    # sequence 1: a b a; sequence 2: a b b  -> a->b twice, b->a once, b->b once (no a->a across the boundary)
    t = dynamics.transition_matrix(["a", "b", "a", "a", "b", "b"], np.array([1, 1, 1, 2, 2, 2]))
    assert t.labels == ["a", "b"]
    assert t.counts.tolist() == [[0, 2], [1, 1]]
    np.testing.assert_allclose(t.matrix, [[0.0, 1.0], [0.5, 0.5]])
    # pi P = pi: pi_a = 0.5 pi_b, so pi = (1/3, 2/3)
    np.testing.assert_allclose(t.stationary, [1 / 3, 2 / 3])


def test_transition_matrix_keeps_given_labels_and_skips_unknown_states():
    t = dynamics.transition_matrix(["a", None, "c", "a", "a"], np.zeros(5), labels=["a", "c", "z"])
    # pairs: a-None (skipped), None-c (skipped), c->a, a->a
    assert t.counts.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]
    assert t.matrix[2].tolist() == [0.0, 0.0, 0.0]  # a state never left stays a row of zeros


def test_stationary_distribution_of_a_three_state_chain():
    p = np.array([[0.5, 0.5, 0.0], [0.25, 0.5, 0.25], [0.0, 0.5, 0.5]])
    # detailed balance: pi = (1/4, 1/2, 1/4)
    np.testing.assert_allclose(dynamics.stationary_distribution(p), [0.25, 0.5, 0.25], atol=1e-12)


def test_order_sequences_sorts_by_sequence_then_order():
    idx = dynamics.order_sequences(np.array([2, 1, 2, 1]), np.array([5.0, 9.0, 1.0, 3.0]))
    assert idx.tolist() == [3, 1, 2, 0]


def test_inertia_is_pooled_lag1_autocorrelation_around_each_sequence_mean():
    # seq 1: 1 2 3 (mean 2: -1 0 1) -> products -1*0 + 0*1 = 0; squares 2
    # seq 2: 1 3 (mean 2: -1 1)     -> product -1;               squares 2      => -1 / 4
    assert dynamics.inertia(np.array([1, 2, 3, 1, 3.0]), np.array([1, 1, 1, 2, 2])) == pytest.approx(-0.25)
    # a slow drift is inert: 1 2 3 4 (mean 2.5) -> (-1.5*-0.5 + -0.5*0.5 + 0.5*1.5) / 5 = 1.25 / 5
    assert dynamics.inertia(np.array([1, 2, 3, 4.0]), np.zeros(4)) == pytest.approx(0.25)
    assert np.isnan(dynamics.inertia(np.array([1.0, 1.0]), np.zeros(2)))


def test_smooth_is_recursive_ewma_restarting_per_sequence():
    s = dynamics.smooth(np.array([1.0, 0.0, 0.0, 4.0, 0.0]), np.array([1, 1, 1, 2, 2]), alpha=0.5)
    np.testing.assert_allclose(s, [1.0, 0.5, 0.25, 4.0, 2.0])


def test_change_points_find_mean_shifts_and_nothing_in_noise():
    rng = np.random.default_rng(0)
    x = np.r_[np.zeros(20), np.full(20, 3.0), np.zeros(10)] + rng.normal(0, 0.3, 50)
    assert dynamics.change_points(x) == [20, 40]
    assert dynamics.change_points(rng.normal(0, 0.3, 60)) == []
    assert dynamics.change_points(np.array([1.0, 2.0])) == []


def test_ccc_by_hand():
    x = np.array([1.0, 2.0, 3.0])
    assert dynamics.ccc(x, x) == pytest.approx(1.0)
    # y = x + 1: cov 2/3, var 2/3 each, mean gap 1 -> (4/3) / (4/3 + 1) = 4/7
    assert dynamics.ccc(x, x + 1) == pytest.approx(4 / 7)
    assert dynamics.ccc(x - 2, 2 - x) == pytest.approx(-1.0)
    # y = -x: cov -2/3, mean gap 4 -> (-4/3) / (4/3 + 16) = -1/13
    assert dynamics.ccc(x, -x) == pytest.approx(-1 / 13)
    # y = 2x: cov 4/3, var 2/3 and 8/3, gap 2 -> (8/3) / (10/3 + 4) = 4/11 (Pearson would say 1)
    assert dynamics.ccc(x, 2 * x) == pytest.approx(4 / 11)
    assert dynamics.ccc(np.array([1.0, np.nan, 3.0]), np.array([1.0, 5.0, 3.0])) == pytest.approx(1.0)


def test_bootstrap_difference_point_and_interval():
    a, b = np.arange(10.0), np.arange(10.0) + 2
    c = dynamics.bootstrap_difference(a, b, ("a", "b"), n_boot=2000)
    assert c.difference == pytest.approx(-2.0)
    assert c.low < -2.0 < c.high
    assert (c.n_a, c.n_b) == (10, 10)
    # far apart groups: the interval excludes 0
    far = dynamics.bootstrap_difference(a + 100, b, n_boot=500)
    assert far.low > 0


def test_bootstrap_refuses_a_group_with_one_row():
    with pytest.raises(InputError, match="group 'solo' has 1 row"):
        dynamics.bootstrap_difference(np.array([1.0]), np.arange(5.0), ("solo", "rest"))


def test_esteban_ray_by_hand():
    split = np.r_[-np.ones(5), np.ones(5)]
    # 10 bins: centres of the outer bins on 0..1 are 0.05 and 0.95 -> 2 * 0.5^2.6 * 0.5 * 0.9
    assert dynamics.esteban_ray(split) == pytest.approx(2 * 0.5**2.6 * 0.5 * 0.9)
    # 2 bins: centres 0.25, 0.75 -> 2 * 0.5^(1+alpha) * 0.5 * 0.5, with alpha = 1
    assert dynamics.esteban_ray(split, bins=2, alpha=1.0) == pytest.approx(2 * 0.25 * 0.5 * 0.5)
    assert dynamics.esteban_ray(np.full(7, 0.31)) == 0.0
    # three equal groups at 0, 0.5, 1 (bins=3 on -1..1 -> centres 1/6, 1/2, 5/6 on 0..1), alpha = 1:
    # sum_ij (1/3)^2 (1/3) |y_i - y_j| = (1/27) * 2 * (1/3 + 1/3 + 2/3)
    assert dynamics.esteban_ray(np.array([-1.0, 0.0, 1.0]), bins=3, alpha=1.0) == pytest.approx(2 * (4 / 3) / 27)


def test_bimodality_coefficient_by_hand():
    # two equal camps at -1 and 1, n = 10: skew 0, excess kurtosis (9/56)(11 * -2 + 6) = -18/7,
    # correction 3 * 81 / 56 -> BC = 1 / (-144/56 + 243/56) = 56/99
    assert dynamics.bimodality_coefficient(np.r_[-np.ones(5), np.ones(5)]) == pytest.approx(56 / 99)
    assert np.isnan(dynamics.bimodality_coefficient(np.ones(3)))


def test_bootstrap_of_a_large_group_is_bounded_and_matches_the_normal_interval():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.2, 1.0, 200_000), rng.normal(0.0, 2.0, 50_000)
    c = dynamics.bootstrap_difference(a, b, n_boot=1000, max_resample=5_000)
    half = 1.959964 * np.sqrt(a.var() / len(a) + b.var() / len(b))
    assert c.difference == pytest.approx(a.mean() - b.mean())
    assert (c.high - c.low) / 2 == pytest.approx(half, rel=0.1)
    assert c.low < c.difference < c.high
