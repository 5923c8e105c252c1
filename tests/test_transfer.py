"""Label-set transfer: soft targets, dataset weights, the linear fits, the none output and the fallback rule,
each against values worked out by hand; `affectkit adapt` end to end; the new shared-data loaders."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import requires_data, run_cli

from affectkit.datasets import EmotionDataset
from affectkit.labels import LabelSet, get_labelset, get_mapping
from affectkit.modules.heads import CategoryHead
from affectkit.schema import BatchPrediction
from affectkit.training.transfer import (
    PROMPTS,
    LabelPrototypes,
    LinearFit,
    TransferData,
    dataset_weights,
    fit_linear,
    fit_transfer_head,
    fold_prototypes,
    label_prompts,
    label_prototypes,
    predict_transfer,
    source_distribution,
    transfer_targets,
)


def _ds(labelset: str, y, kind: str = "multi-hot", meta: dict | None = None) -> EmotionDataset:
    y = np.asarray(y, dtype=np.float64)
    return EmotionDataset("toy", "train", [f"t{i}" for i in range(len(y))], get_labelset(labelset), y,
                          category_kind=kind, meta=meta or {})


def test_source_distribution_multi_hot_neutral_and_empty_rows():
    # smile: happy, angry, sad, surprise, disgust, nocode (neutral)
    ds = _ds("smile", [[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]])
    p, presence, none = source_distribution(ds)
    np.testing.assert_allclose(p[0], [0.5, 0, 0.5, 0, 0, 0])
    np.testing.assert_allclose(p[1], 0)  # nocode moves to none
    np.testing.assert_allclose(none, [0, 1, 1])
    np.testing.assert_allclose(presence[0], [1, 0, 1, 0, 0, 0])


def test_source_distribution_votes_keep_the_annotators_who_chose_nothing():
    # premo: joy, love, anger, sadness, fear, positive surprise, negative surprise; 3 annotators
    ds = _ds("premo", [[2, 0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0]], "votes", {"annotators": [3, 3]})
    p, presence, none = source_distribution(ds)
    np.testing.assert_allclose(p[0, [0, 2]], [2 / 3, 1 / 3])
    np.testing.assert_allclose(p[1, 0], 1 / 3)
    np.testing.assert_allclose(none, [0, 2 / 3])
    np.testing.assert_allclose(presence[1, 0], 1 / 3)


def test_transfer_targets_send_unmatched_mass_to_none_or_neutral():
    # brighter (anger fear joy sadness surprise) -> isear (joy fear anger sadness disgust shame guilt): surprise has
    # no ISEAR counterpart, so a fear+surprise row keeps half its mass on fear and half on the none output
    ds = _ds("brighter", [[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]])
    t = transfer_targets(ds, get_labelset("isear"))
    assert t.dist.shape == (2, 8)  # 7 labels + none
    np.testing.assert_allclose(t.dist[0], [0, 0.5, 0, 0, 0, 0, 0, 0.5])
    np.testing.assert_allclose(t.dist[1], [0, 0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_allclose(t.multi[0], [0, 1, 0, 0, 0, 0, 0])
    # onto a set with a neutral label (Ekman), the same mass lands on neutral, and an all-empty row is neutral
    e = transfer_targets(ds, get_labelset("ekman"))
    ekman = get_labelset("ekman")
    assert e.dist.shape == (2, 7)
    assert e.dist[0, ekman.index("fear")] == pytest.approx(0.5)
    assert e.dist[0, ekman.index("surprise")] == pytest.approx(0.5)
    assert e.multi[1, ekman.index("neutral")] == 1 and e.multi[0, ekman.index("neutral")] == 0


def test_labels_a_dataset_cannot_express_are_left_out_of_its_emotional_rows():
    # brighter (anger fear joy sadness surprise) reaches ISEAR's joy, fear, anger and sadness; it has no label for
    # disgust, shame or guilt. Its fear row says nothing about those three; its empty row rules out all seven.
    ds = _ds("brighter", [[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]])
    t = transfer_targets(ds, get_labelset("isear"))
    assert t.said[0].tolist() == [True, True, True, True, False, False, False]
    assert t.said[1].all()
    # a dataset in the target's own set speaks about every label
    assert transfer_targets(_ds("brighter", [[1, 0, 0, 0, 0]]), get_labelset("brighter")).said.all()
    # onto a set with a neutral label, neutral is always spoken about
    ekman = get_labelset("ekman")
    e = transfer_targets(_ds("smile", [[1, 0, 0, 0, 0, 0]]), ekman)  # smile has no fear
    assert e.said[0, ekman.index("neutral")] and not e.said[0, ekman.index("fear")]


def test_masked_outputs_get_no_loss_and_stay_at_zero():
    # three outputs; output 2 is masked on every row: its weights get no gradient, so they stay at their start (0),
    # and the softmax over outputs 0 and 1 is fit as if output 2 did not exist (the same fit as a 2-output model)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    y = np.eye(3)[(x[:, 0] > 0).astype(int)]
    mask = np.ones((30, 3), bool)
    mask[:, 2] = False
    fit = fit_linear(x, y, np.ones(30), 0.1, "softmax", mask=mask)
    np.testing.assert_array_equal(fit.w[2], 0.0)
    assert fit.b[2] == 0.0
    two = fit_linear(x, y[:, :2], np.ones(30), 0.1, "softmax")
    np.testing.assert_allclose(fit.w[:2], two.w, atol=1e-4)
    sig = fit_linear(x, y, np.ones(30), 0.1, "sigmoid", mask=mask)
    np.testing.assert_array_equal(sig.w[2], 0.0)
    # unmasked, the same all-zero column is pushed down
    assert fit_linear(x, y, np.ones(30), 0.1, "sigmoid").b[2] < -1


def test_soft_published_mapping_shares_mass():
    # GoEmotions love = joy + trust (Plutchik's dyad): half to each
    ls = get_labelset("goemotions")
    y = np.zeros((1, len(ls)))
    y[0, ls.index("love")] = 1
    t = transfer_targets(_ds("goemotions", y), get_labelset("plutchik"))
    pl = get_labelset("plutchik")
    assert t.dist[0, pl.index("joy")] == pytest.approx(0.5) and t.dist[0, pl.index("trust")] == pytest.approx(0.5)
    assert get_mapping("goemotions", "isear").targets_of("remorse") == {"guilt": 1.0}


def test_dataset_weights_by_hand():
    # sizes 10 and 90, balance 1: raw row weights 1/10 and 1/90, mean over rows (1 + 1) / 100 = 0.02
    np.testing.assert_allclose(dataset_weights([10, 90], 1.0), [5.0, 1 / 90 / 0.02])
    assert dataset_weights([], 1.0) == [] and dataset_weights([0, 0], 1.0) == [0.0, 0.0]  # no rows: no weights
    np.testing.assert_allclose(dataset_weights([10, 90], 0.0), [1.0, 1.0])


def test_linear_fit_gradient_matches_finite_differences_and_separates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    labels = (x[:, 0] > 0).astype(int)
    y = np.eye(2)[labels]
    fit = fit_linear(x, y, np.ones(40), 1e-3, "softmax")
    pred = (x @ fit.w.T + fit.b).argmax(axis=1)
    assert (pred == labels).mean() == 1.0
    fit2 = fit_linear(x, y[:, 1:], np.ones(40), 1e-3, "sigmoid")
    assert ((x @ fit2.w.T + fit2.b)[:, 0] > 0).astype(int).tolist() == labels.tolist()


def test_category_head_none_output_is_reported_beside_the_labels():
    ls = get_labelset("leia")  # 5 labels, no neutral
    k = len(ls)
    w = np.zeros((k + 1, 2))
    b = np.zeros(k + 1)
    b[-1] = np.log(k)  # none gets k times the mass of each label: half of all
    head = CategoryHead(ls, np.zeros((k, 2)), np.zeros(k), w, b)
    dist, scores, none = head.forward(np.zeros((1, 2)))
    np.testing.assert_allclose(dist, np.full((1, k), 0.5 / k))  # the labels share what none leaves
    np.testing.assert_allclose(none, [0.5])
    assert head.has_none


def test_fallback_rule_by_hand():
    ls = get_labelset("plutchik")
    dist = np.full((3, 8), 1 / 16)
    dist[:, 2] = 1 - 7 / 16  # fear is the most probable label everywhere
    scores = np.full((3, 8), 0.1)
    scores[2, 0] = 0.9  # row 2 decides joy by its threshold
    none = np.array([0.2, 0.8, 0.2])
    bp = BatchPrediction(ls, dist, scores, np.full(8, 0.5), none=none, fallback_below=0.5)
    d = bp.decisions()
    assert d[0].tolist() == [i == 2 for i in range(8)]  # nothing over threshold, none 0.2 < 0.5: falls back
    assert not d[1].any()  # none 0.8: stays empty
    assert d[2].tolist() == [i == 0 for i in range(8)]  # a label over its threshold: no fallback
    assert not BatchPrediction(ls, dist, scores, np.full(8, 0.5), none=none).decisions()[0].any()


def _toy_domains() -> list[TransferData]:
    """Two domains over BRIGHTER's labels: a (300 train, 100 dev rows) and b (60 / 40, shifted)."""
    rng = np.random.default_rng(1)

    def domain(n: int, shift: float):
        x = rng.normal(size=(n, 4)) + shift
        y = np.zeros((n, 5))  # brighter labels: anger fear joy sadness surprise
        y[x[:, 0] > shift, 2] = 1  # joy when feature 0 is high
        y[x[:, 1] > shift + 1, 1] = 1  # fear when feature 1 is high
        return _ds("brighter", y), x

    (a, xa), (a_dev, xa_dev) = domain(300, 0.0), domain(100, 0.0)
    (b, xb), (b_dev, xb_dev) = domain(60, 0.5), domain(40, 0.5)
    return [TransferData("a", a, xa, a_dev, xa_dev), TransferData("b", b, xb, b_dev, xb_dev)]


def test_fit_transfer_head_on_toy_domains_is_calibrated_and_exports():
    data = _toy_domains()
    a_dev, xa_dev = data[0].dev, data[0].x_dev
    head = fit_transfer_head("ekman", data)
    assert head.record["datasets"]["b"]["row_weight"] > head.record["datasets"]["a"]["row_weight"]
    dist, scores, none = predict_transfer(head, xa_dev)
    ekman = get_labelset("ekman")
    gold_joy = a_dev.categories[:, 2] > 0
    assert (dist[:, ekman.index("joy")][gold_joy].mean() > dist[:, ekman.index("joy")][~gold_joy].mean())
    cat = head.to_category_head()
    d2, s2, _ = cat.forward(xa_dev)
    np.testing.assert_allclose(d2, dist, atol=1e-5)  # standardisation folded into the weights
    np.testing.assert_allclose(s2, scores, atol=1e-5)


def test_prior_power_divides_the_mix_prior_out_of_the_bias():
    """Logit adjustment (Menon et al. 2021): b' = b - a T log(pi), pi the head's mean output on the dev rows with
    every dataset weighing alike; the weights and the temperature do not change."""
    data = _toy_domains()
    plain = fit_transfer_head("ekman", data)
    k = plain.dist.b.shape[0]

    def mean_output(head):  # dataset a and dataset b weigh alike (each the mean over its own dev rows)
        means = []
        for d in data:
            z = (((d.x_dev - head.mean) / head.sd) @ head.dist.w.T + head.dist.b) / head.temperature
            e = np.exp(z - z.max(axis=1, keepdims=True))
            means.append((e / e.sum(axis=1, keepdims=True)).mean(axis=0))
        return (means[0] + means[1]) / 2

    prior = mean_output(plain)
    for a in (0.5, 1.0):
        adjusted = fit_transfer_head("ekman", data, prior_power=a)
        np.testing.assert_allclose(adjusted.dist.w, plain.dist.w)
        assert adjusted.temperature == plain.temperature
        np.testing.assert_allclose(adjusted.dist.b, plain.dist.b - a * plain.temperature * np.log(prior), rtol=1e-5)
        assert adjusted.record["prior_power"] == a
    # with a = 1 the mean output on the same rows moves toward uniform
    uniform = np.full(k, 1 / k)
    adjusted = fit_transfer_head("ekman", data, prior_power=1.0)
    assert np.abs(mean_output(adjusted) - uniform).sum() < np.abs(prior - uniform).sum()


def test_labels_map_reports_mass_and_unreached():
    m = get_mapping("goemotions", "isear")
    carried = m.mass_carried()
    assert carried["surprise"] == 0 and carried["remorse"] == 1 and carried["disapproval"] == 1
    assert m.unreached == []
    out = run_cli("labels", "map", "goemotions", "isear")
    assert out.returncode == 0
    doc = json.loads(out.stdout)
    assert doc["mass_carried"]["neutral"] == 0 and doc["unreached"] == []


def test_every_shipped_labelset_is_reachable_from_the_default_model():
    import affectkit
    from affectkit.labels import list_labelsets

    model = affectkit.load("default")
    for ls in list_labelsets():
        if ls.name == "goemotions-sentiment":
            continue  # polarity, not emotions: reached through the published sentiment grouping
        head = model.head_for(ls)
        if head.labelset == ls:
            continue
        m = get_mapping(head.labelset, ls)
        assert m.unreached == [], (ls.name, m.unreached)


def test_transfer_settings_are_those_a_folder_recorded(tmp_path):
    from affectkit.training.adapt import transfer_setting

    assert transfer_setting(tmp_path, "l2") == 0.1  # no training.json
    (tmp_path / "training.json").write_text(json.dumps({"transfer_heads": {"plutchik": {"l2": 0.003}}}))
    assert transfer_setting(tmp_path, "l2") == 0.003
    assert transfer_setting(tmp_path, "prior_power", 0.0) == 0.0  # heads fit before the setting existed
    (tmp_path / "training.json").write_text(json.dumps({"transfer_heads": {"plutchik": {"prior_power": 0.5}}}))
    assert transfer_setting(tmp_path, "prior_power", 0.0) == 0.5
    one = {"prior_power": 0.0, "datasets": {"goemotions": {}}}  # multilingual's GoEmotions-only head comes first
    pooled = {"prior_power": 1.0, "datasets": {"goemotions": {}, "smile": {}}}
    (tmp_path / "training.json").write_text(json.dumps({"transfer_heads": {"goemotions": one, "plutchik": pooled}}))
    assert transfer_setting(tmp_path, "prior_power", 0.0) == 1.0
    (tmp_path / "training.json").write_text(json.dumps({"config": {}}))
    assert transfer_setting(tmp_path, "l2", default=0.5) == 0.5


@pytest.mark.parametrize("base_model", ["fast", "default"])
def test_adapt_cli_writes_a_native_head(tmp_path, base_model):
    rows = []
    for i in range(30):
        rows.append({"text": f"I feel so guilty that I forgot to call my mother again, day {i}", "label": "guilt"})
        rows.append({"text": f"What a wonderful surprise party, I loved it, number {i}", "label": "joy"})
        rows.append({"text": f"The meeting moved to room {i} at noon", "label": "none"})
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "adapted"
    r = run_cli("adapt", str(path), "-o", str(out), "--model", base_model, "--no-prior", "-q")
    assert r.returncode == 0, r.stderr.decode()
    cfg = json.loads((out / "affectkit_model.json").read_text())
    assert cfg["primary_labelset"] == "mine" and "heads/mine" in cfg["heads"]
    record = json.loads((out / "training.json").read_text())["adapted_heads"]["mine"]
    assert record["user_rows"] == 90 and record["user_dev"] == 18
    base = json.loads((out / "training.json").read_text())["transfer_heads"]
    assert record["l2"] == next(iter(base.values()))["l2"]  # the base model's own transfer-head penalty
    # and its label prototypes' scale (default reads its label names, fast does not)
    assert record.get("prototype_scale", 0.0) == next(iter(base.values())).get("prototype_scale", 0.0)
    assert (record.get("prototype_scale", 0.0) > 0) == (base_model == "default")
    if base_model == "default":  # labels that are codes: the names can be left unread
        r = run_cli("adapt", str(path), "-o", str(tmp_path / "codes"), "--model", "default", "--no-prior",
                    "--no-label-names", "-q")
        assert r.returncode == 0, r.stderr.decode()
        codes = json.loads((tmp_path / "codes" / "training.json").read_text())["adapted_heads"]["mine"]
        assert "prototype_scale" not in codes and "--no-label-names" in codes["command"]
    import affectkit

    model = affectkit.load(str(out))
    preds = model.analyze(["I am so guilty, I forgot her birthday", "The bus leaves at nine"])
    assert preds[0].top == "guilt"
    assert set(preds[0].distribution) == {"guilt", "joy", "none"}


@requires_data
def test_new_shared_loaders_and_their_fixed_split():
    from affectkit.datasets import hash_split, load_dataset

    for name, labels in (("brighter", 5), ("gne", 15), ("premo", 7), ("smile", 6)):
        parts = {s: load_dataset(name, s) for s in ("train", "dev", "test")}
        assert all(len(d) for d in parts.values())
        assert all(d.categories.shape[1] == labels for d in parts.values())
        if name != "brighter":
            assert set(parts["train"].texts).isdisjoint(parts["test"].texts)
            assert all(hash_split(t) == "test" for t in parts["test"].texts[:50])
    assert load_dataset("premo", "test").category_kind == "votes"


def test_always_labelled_gives_every_row_but_a_failed_or_empty_one_its_top_label():
    ls = get_labelset("plutchik")
    dist = np.full((4, 8), 1 / 16)
    dist[:, 2] = 1 - 7 / 16  # fear is the most probable label
    dist[2] = np.nan  # a failed row
    dist[3] = 0.0  # no emotion at all: no top label to give
    none = np.array([0.2, 0.8, np.nan, 1.0])
    bp = BatchPrediction(ls, dist, np.full((4, 8), 0.1), np.full(8, 0.5), none=none, fallback_below=0.5)
    assert bp.decisions().any(axis=1).tolist() == [True, False, False, False]  # none 0.8: the calibrated rule
    d = bp.always_labelled().decisions()
    assert d[1].tolist() == [i == 2 for i in range(8)] and d[0].tolist() == d[1].tolist()
    assert not d[2:].any()
    assert bp.fallback_below == 0.5  # a copy: the batch itself keeps its rule
    no_scores = BatchPrediction(ls, dist[:2] * np.array([[1.0], [0.1]]))  # row 1 below 1/K everywhere
    assert no_scores.decisions().any(axis=1).tolist() == [True, False]
    assert no_scores.always_labelled().decisions().any(axis=1).tolist() == [True, True]


def test_label_prompts_name_each_label_and_the_neutral_one_as_neutral():
    meld = get_labelset("meld")
    prompts = label_prompts(meld)
    assert prompts[meld.index(meld.neutral)] == "This text expresses neutral."
    assert prompts[meld.index("joy")] == "This text expresses joy."
    assert all("_" not in p for p in label_prompts(get_labelset("gne")))


def test_label_prototypes_average_the_unit_vectors_of_each_template():
    """Two templates, a made-up encoder: joy's vectors (3, 4) and (0, 2) have unit vectors (0.6, 0.8) and (0, 1),
    so its prototype is their mean (0.3, 0.9); one template gives its unit vector."""
    vectors = {"A joy": [3.0, 4.0], "B joy": [0.0, 2.0], "A sad": [1.0, 0.0], "B sad": [0.0, 5.0]}

    def embed(texts):
        return np.array([vectors[t] for t in texts])

    ls = LabelSet("toy", ("joy", "sad"))
    protos = label_prototypes(embed, ls, ("A {}", "B {}"))
    np.testing.assert_allclose(protos.vectors, [[0.3, 0.9], [0.5, 0.5]])
    assert protos.prompts == ("A {}", "B {}")
    np.testing.assert_allclose(label_prototypes(embed, ls, ("A {}",)).vectors, [[0.6, 0.8], [1.0, 0.0]])


def test_transfer_prompts_are_the_folders_and_read_earlier_single_template_records(tmp_path):
    from affectkit.training.adapt import transfer_prompts

    assert transfer_prompts(tmp_path) == PROMPTS  # no record: the default templates
    record = {"transfer_heads": {"plutchik": {"prototype_prompts": ["I feel {}.", "{}"]}}}
    (tmp_path / "training.json").write_text(json.dumps(record))
    assert transfer_prompts(tmp_path) == ("I feel {}.", "{}")
    (tmp_path / "training.json").write_text(json.dumps({"transfer_heads": {"plutchik": {"prototype_prompt": "{}"}}}))
    assert transfer_prompts(tmp_path) == ("{}",)


def test_fold_prototypes_by_hand():
    """scale * x . p_hat / norm added to each label's logit (the mean prototype to none), in standardised
    coordinates: for x = (3, 5), mean (1, 1), sd (2, 1), norm 2, scale 4 the logits are 2 * (3, 5, 4)."""
    fit = LinearFit(np.zeros((3, 2)), np.zeros(3))  # two labels and none
    fold_prototypes(fit, np.array([[2.0, 0.0], [0.0, 1.0]]), 4.0, np.array([1.0, 1.0]), np.array([2.0, 1.0]), 2.0)
    np.testing.assert_allclose(fit.w, [[4, 0], [0, 2], [2, 1]])
    np.testing.assert_allclose(fit.b, [2, 2, 2])
    xs = (np.array([3.0, 5.0]) - 1.0) / np.array([2.0, 1.0])
    np.testing.assert_allclose(fit.w @ xs + fit.b, [6, 10, 8])


def test_prototypes_move_predictions_toward_the_label_they_resemble_and_identical_ones_change_nothing():
    data = _toy_domains()
    plain = fit_transfer_head("brighter", data, prior_power=0.5)
    k = len(get_labelset("brighter"))
    same = fit_transfer_head("brighter", data, prior_power=0.5, prototypes=LabelPrototypes(np.ones((k, 4)), ("{}",)),
                             prototype_scale=5.0)
    x = data[0].x_dev
    np.testing.assert_allclose(predict_transfer(same, x)[0], predict_transfer(plain, x)[0], atol=1e-6)
    assert same.record["prototype_scale"] == 5.0 and "prototype_scale" not in plain.record
    assert same.record["prototype_prompts"] == ["{}"]
    toward_anger = np.zeros((k, 4))
    toward_anger[:, 3] = 1.0
    toward_anger[0, 3] = -1.0  # anger's prompt points the other way on feature 3, unlike the others
    toward_anger[0, 2] = 1.0
    moved = fit_transfer_head("brighter", data, prior_power=0.5, prototypes=LabelPrototypes(toward_anger, ("{}",)),
                              prototype_scale=5.0)
    xa = x.copy()
    xa[:, 3] = -5.0  # texts far along anger's direction
    assert predict_transfer(moved, xa)[0][:, 0].mean() > predict_transfer(plain, xa)[0][:, 0].mean()
    with pytest.raises(ValueError, match="prototypes"):
        fit_transfer_head("brighter", data, prototype_scale=1.0)


def test_none_shift_by_hand():
    """Two outputs with equal logits: none's probability is sigmoid(shift), so 0.5 needs 0 and e / (1 + e) needs 1."""
    from affectkit.training.transfer import none_shift

    logits, w = np.zeros((3, 2)), np.ones(3)
    assert none_shift(logits, 1.0, 0.5, w) == pytest.approx(0.0, abs=1e-9)
    assert none_shift(logits, 1.0, np.e / (1 + np.e), w) == pytest.approx(1.0, abs=1e-9)
    assert none_shift(logits * 0 + [[2.0, 0.0]], 2.0, 0.5, w) == pytest.approx(1.0, abs=1e-9)  # (0 - 2) / 2 made up
