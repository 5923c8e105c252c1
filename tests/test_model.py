import numpy as np
import pytest
from tiny_models import make_onnx_model, make_static_model

from affectkit.model import AffectModel
from affectkit.modules.heads import softmax


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    """A tiny BERT exported to ONNX: building it needs torch and transformers (the train extra); the static-model
    tests below need neither, and run without them."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return AffectModel.load(make_onnx_model(tmp_path_factory.mktemp("onnx")))


@pytest.fixture(scope="module")
def static_model(tmp_path_factory):
    return AffectModel.load(make_static_model(tmp_path_factory.mktemp("static")))


def test_short_text_is_one_segment_and_distributions_sum_to_one(onnx_model):
    b = onnx_model.analyze_batch(["i am happy today", "this is terrible news"])
    assert b.n_segments.tolist() == [1, 1]
    assert np.allclose(b.dist.sum(axis=1), 1.0)
    assert b.vad.shape == (2, 3) and np.all(np.abs(b.vad) <= 1)


def test_long_text_is_segmented_and_aggregated_not_truncated(onnx_model):
    words = "happy sad angry calm great terrible love hate fear joy".split()
    text = " ".join(words * 3)  # 30 tokens, max_length 12 -> windows of 10 tokens, stride 4
    enc = onnx_model.encoder.encode([text])
    assert len(enc.owner) == 5  # windows start at 0, 6, 12, 18, 24: every token is covered
    b = onnx_model.analyze_batch([text])
    assert b.n_segments[0] == 5
    head = onnx_model.category_heads["ekman"]
    seg_dist, seg_scores = head(enc.pooled)
    w = enc.n_tokens / enc.n_tokens.sum()
    assert np.allclose(b.dist[0], (seg_dist * w[:, None]).sum(axis=0))  # token-weighted mean
    assert np.allclose(b.scores[0], seg_scores.max(axis=0))  # an emotion anywhere is in the text


def test_evidence_is_an_exact_decomposition_for_static_embeddings(static_model):
    text = "i love this great day"
    enc = static_model.encoder.encode([text], with_tokens=True)
    head = static_model.category_heads["ekman"]
    states = enc.segment_states(0)
    for label in range(len(head.labelset)):
        contributions = head.token_contributions(states, label)
        assert contributions.sum() == pytest.approx(float(enc.pooled[0] @ head.w_dist[label]), rel=1e-4)
    ev = static_model.analyze(text).evidence
    assert ev and all(text[e.start:e.end] == e.text for e in ev)


def test_temperature_scales_the_distribution(static_model):
    head = static_model.category_heads["ekman"]
    pooled = static_model.embed(["happy day"])
    logits = pooled @ head.w_dist.T + head.b_dist
    old = head.temperature
    try:
        head.temperature = 2.0
        assert np.allclose(head(pooled)[0], softmax(logits / 2.0), atol=1e-6)
    finally:
        head.temperature = old


def test_save_and_load_round_trip(onnx_model, tmp_path):
    onnx_model.save(tmp_path / "copy")
    again = AffectModel.load(tmp_path / "copy")
    texts = ["you are great", "i hate this"]
    assert np.allclose(onnx_model.predict_proba(texts), again.predict_proba(texts), atol=1e-6)


def test_mapped_label_sets_and_sklearn_api(static_model):
    texts = ["happy", "terrible", ""]
    probs = static_model.predict_proba(texts, labels="goemotions-sentiment")
    assert probs.shape == (3, 4) and np.allclose(probs[:2].sum(axis=1), 1) and np.isnan(probs[2]).all()
    top = static_model.predict(texts)
    assert top[2] is None and top[0] in static_model.labelset.labels
    assert len(static_model.predict_labels(texts)) == 3
    assert static_model.predict_vad(texts, scale="1..9").shape == (3, 3)
    preds = list(static_model.pipe(iter(texts * 5), batch_size=4))
    assert len(preds) == 15 and preds[2].error == "empty text"


def test_a_failing_item_does_not_sink_its_batch(static_model, monkeypatch):
    real = static_model.predict_batch

    def flaky(items, labels=None):
        if "boom" in items:
            raise RuntimeError("model exploded")
        return real(items, labels)

    monkeypatch.setattr(static_model, "predict_batch", flaky)
    b = static_model.analyze_batch(["happy", "boom", "sad"])
    assert b.errors == [None, "RuntimeError: model exploded", None]
    assert not np.isnan(b.dist[0]).any() and np.isnan(b.dist[1]).all()


def test_a_text_scores_the_same_alone_or_among_others(onnx_model):
    texts = ["i am happy today", "this is terrible terrible news and i hate it", "calm", "the day"]
    together = onnx_model.analyze_batch(texts)
    for i, t in enumerate(texts):
        alone = onnx_model.analyze_batch([t])
        # identical up to float32 rounding in the head's matrix product (dynamic int8 batching moved scores by 1e-2)
        assert np.allclose(alone.dist[0], together.dist[i], rtol=0, atol=1e-6)
        assert np.allclose(alone.vad[0], together.vad[i], rtol=0, atol=1e-6)


def test_windows_are_batched_by_length_with_bounded_padding():
    from affectkit.modules.encoders import OnnxTransformerEncoder

    enc = OnnxTransformerEncoder.__new__(OnnxTransformerEncoder)  # only the batching rule, no session
    seqs = [[1] * n for n in (30, 10, 11, 10, 30)]  # sorted: 10 (1), 10 (3), 11 (2), 30 (0), 30 (4)
    enc.batch_size, enc.threads, enc.MIN_BATCH_TOKENS, enc.MAX_PADDING = 16, 1, 0, 0.15
    # adding 11 to [10, 10]: 33 positions, 2 padding (6%); adding 30 to [10, 10, 11]: 120 positions, 59 padding
    assert enc._batches(seqs) == [[1, 3, 2], [0, 4]]
    enc.batch_size = 2
    assert enc._batches(seqs) == [[1, 3], [2], [0, 4]]
    enc.batch_size, enc.MIN_BATCH_TOKENS = 16, 32  # a batch of 31 tokens still takes the next window
    assert enc._batches(seqs) == [[1, 3, 2, 0], [4]]
    enc.threads = 2  # 5 windows, 2 threads: batches of at most 3
    assert enc._batches(seqs) == [[1, 3, 2], [0, 4]]


def test_static_pooling_sums_each_texts_token_vectors():
    from affectkit.modules.tokens import sum_per_text

    table = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]], dtype=np.float32)
    # text 0: tokens 0, 2; text 1: no tokens; text 2: tokens 1, 1, 2
    out = sum_per_text(table, np.array([0, 2, 1, 1, 2]), np.array([2, 0, 3]))
    assert out.tolist() == [[4.0, 3.0], [0.0, 0.0], [3.0, 7.0]]


def test_predict_batch_takes_a_label_set_by_name() -> None:
    import affectkit
    from affectkit.labels import get_labelset

    model = affectkit.load("fast")
    by_name = model.predict_batch(["what a lovely day"], "plutchik")
    by_object = model.predict_batch(["what a lovely day"], get_labelset("plutchik"))
    assert by_name.labelset.name == "plutchik"
    assert np.array_equal(by_name.dist, by_object.dist)
