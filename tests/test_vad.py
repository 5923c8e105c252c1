import math

import numpy as np
import pytest

from affectkit.vad import (
    VAD,
    convert,
    convert_sd,
    distribution_to_vad,
    gaussian_mixture_posterior,
    get_scale,
    load_anchors,
    vad_to_distribution,
)


@pytest.mark.parametrize("x,src,dst,expected", [
    (3, "1..5", "-1..1", 0.0), (5, "1..5", "-1..1", 1.0), (1, "1..5", "1..9", 1.0), (9, "1-9", "1..5", 5.0),
    (0.0, "-1..1", "1..9", 5.0), (0.5, "0..1", "-1..1", 0.0), (2, "emobank", "sam", 3.0), (-0.5, "-1..1", "1..5", 2.0),
])
def test_convert_hand_values(x, src, dst, expected):
    assert convert(x, src, dst) == pytest.approx(expected)


def test_convert_sd_scales_without_offset():
    assert convert_sd(0.5, "1..5", "-1..1") == pytest.approx(0.25)
    assert convert_sd(1.0, "1..9", "1..5") == pytest.approx(0.5)


def test_unknown_scale():
    with pytest.raises(ValueError, match="unknown VAD scale"):
        get_scale("0..100")


def test_vad_point_conversion_keeps_missing_dominance():
    v = VAD(0.5, -0.5, None).to("1..5")
    assert (v.valence, v.arousal, v.dominance, v.scale) == (4.0, 2.0, None, "1..5")


def test_gaussian_mixture_posterior_hand_computed():
    # 1-D, two components N(0,1) and N(2,1), equal priors, at x = 1: equidistant -> 0.5 / 0.5
    p = gaussian_mixture_posterior(np.array([[1.0]]), np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]]),
                                   np.array([0.5, 0.5]))
    assert p[0] == pytest.approx([0.5, 0.5])
    # at x = 0: ratio = exp(-0/2) / exp(-4/2) = e^2 -> p0 = e^2 / (1 + e^2)
    p = gaussian_mixture_posterior(np.array([[0.0]]), np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]]),
                                   np.array([0.5, 0.5]))
    assert p[0, 0] == pytest.approx(math.exp(2) / (1 + math.exp(2)))
    # unequal sd and priors, 2-D diagonal: compute by hand
    x = np.array([[0.5, 0.0]])
    mu = np.array([[0.0, 0.0], [1.0, 0.0]])
    sd = np.array([[1.0, 1.0], [0.5, 2.0]])
    pri = np.array([0.25, 0.75])

    def pdf(x, m, s):
        return np.prod(np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)))

    a, b = pri[0] * pdf(x[0], mu[0], sd[0]), pri[1] * pdf(x[0], mu[1], sd[1])
    assert gaussian_mixture_posterior(x, mu, sd, pri)[0] == pytest.approx([a / (a + b), b / (a + b)])


def test_posterior_is_stable_far_from_every_anchor():
    p = gaussian_mixture_posterior(np.array([[1e4, -1e4]]), np.array([[0.0, 0.0], [1.0, 1.0]]),
                                   np.ones((2, 2)) * 0.1, np.array([0.5, 0.5]))
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)


def test_russell_mehrabian_table_values():
    t = load_anchors("russell_mehrabian_1977")
    ls = t.labelset
    assert t.means[ls.index("joy")] == pytest.approx([0.81, 0.51])
    assert t.sds[ls.index("fear")] == pytest.approx([0.20, 0.32])
    assert t.scale == "-1..1" and t.dims == ("valence", "arousal")


def test_vad_to_distribution_on_ekman():
    probs, ls = vad_to_distribution([[0.81, 0.51, 0.0]], labels="ekman")
    assert ls.name == "ekman" and probs.sum() == pytest.approx(1.0)
    assert ls.labels[int(probs.argmax())] == "joy"
    probs, _ = vad_to_distribution([[1.0, 4.0, 3.0]], scale="1..5", labels="ekman")  # = (-1, 0.5) on -1..1
    assert ls.labels[int(probs.argmax())] in ("anger", "fear", "disgust")


def test_distribution_to_vad_is_the_mixture_mean_and_spread():
    ls = load_anchors().labelset
    p = np.zeros(len(ls))
    p[ls.index("joy")], p[ls.index("sadness")] = 0.5, 0.5
    mean, sd = distribution_to_vad(p[None], ls)
    # E = 0.5 * (0.81, 0.51) + 0.5 * (-0.63, -0.27)
    assert mean[0] == pytest.approx([0.09, 0.12])
    # Var = sum p (sd^2 + mu^2) - E^2
    var_v = 0.5 * (0.21**2 + 0.81**2) + 0.5 * (0.23**2 + 0.63**2) - 0.09**2
    assert sd[0, 0] == pytest.approx(math.sqrt(var_v))
    mean_15, _ = distribution_to_vad(p[None], ls, scale="1..5")
    assert mean_15[0, 0] == pytest.approx(convert(0.09, "-1..1", "1..5"))


def test_distribution_to_vad_through_a_mapping():
    ek = np.zeros(7)
    ek[get_labelset_index("ekman", "joy")] = 1.0
    mean, _ = distribution_to_vad(ek[None], "ekman")
    assert mean[0] == pytest.approx([0.81, 0.51])


def get_labelset_index(name, label):
    from affectkit.labels import get_labelset

    return get_labelset(name).index(label)
