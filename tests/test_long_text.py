"""Long texts are read in parts (affectkit.modules.streaming): the parts give what the whole text gives."""

import numpy as np
import pytest
from tiny_models import WORDS, make_static_model

from affectkit.evidence import EvidenceCandidates, word_sums
from affectkit.model import AffectModel
from affectkit.modules.streaming import RunningAggregate, stream_windows, text_pieces, token_pieces


def long_text(n_words: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    words = [w for w in WORDS] + [".", "!", ","]
    return " ".join(rng.choice(words, size=n_words).tolist()).replace(" .", ".")


def test_text_pieces_cover_the_text_and_cut_after_whitespace():
    text = "one two\nthree four\tfive"
    pieces = list(text_pieces(text, size=9))
    assert "".join(p for _, p in pieces) == text
    assert [p for _, p in pieces] == ["one two\n", "three ", "four\tfive"]
    assert [start for start, _ in pieces] == [0, 8, 14]
    assert all(p[-1] in " \n\t" for _, p in pieces[:-1])
    assert list(text_pieces("abcdefghij", size=4)) == [(0, "abcd"), (4, "efgh"), (8, "ij")]  # no space: cut at size


def test_running_aggregate_equals_the_batch_aggregation_by_hand():
    # three segments with 2, 1 and 1 tokens, added as two parts
    agg = RunningAggregate()
    agg.add(np.array([2, 1]), {"dist": np.array([[0.5, 0.5], [1.0, 0.0]])},
            {"scores": np.array([[0.1, 0.9], [0.4, 0.2]])})
    agg.add(np.array([1]), {"dist": np.array([[0.0, 1.0]])}, {"scores": np.array([[0.3, 0.3]])})
    # token-weighted mean: (2*[.5,.5] + [1,0] + [0,1]) / 4 = [.5, .5]; maximum: [.4, .9]
    assert np.allclose(agg.mean("dist"), [[0.5, 0.5]])
    assert np.allclose(agg.max("scores"), [[0.4, 0.9]])
    assert agg.segments == 3 and agg.weight == 4


def test_evidence_candidates_keep_the_best_distinct_content_words():
    text = "joy the joy fear hope"  # spans: joy 0-3, the 4-7, joy 8-11, fear 12-16, hope 17-21
    start, end = np.array([0, 4, 8, 12, 17]), np.array([3, 7, 11, 16, 21])
    shares = np.array([[0.5], [0.9], [0.5], [0.2], [-0.1]])  # "the" is a function word, "hope" is negative
    cands = EvidenceCandidates(text, n_labels=1, keep=2)
    cands.add(start[:2], end[:2], shares[:2])  # the text arrives in two parts
    cands.add(start[2:], end[2:], shares[2:])
    # the tie between the two "joy" goes to the later span, as in the batch computation
    assert cands.top(0, 3) == [("joy", 8, 11, 0.5), ("fear", 12, 16, 0.2)]
    assert cands.top(0, 1, scale=2.0) == [("joy", 8, 11, 1.0)]


def test_word_sums_add_the_pieces_of_a_word():
    segment = np.array([0, 0, 0, 1])
    word = np.array([0, 0, 1, 1])  # segment 0: word 0 has two pieces; segment 1 starts a new word
    spans = np.array([[0, 3], [3, 5], [6, 8], [9, 12]])
    contrib = np.array([[1.0, 0.0], [2.0, 1.0], [4.0, 4.0], [8.0, 2.0]])
    starts, a, z, sums = word_sums(segment, word, spans, contrib)
    assert starts.tolist() == [0, 2, 3] and a.tolist() == [0, 6, 9] and z.tolist() == [5, 8, 12]
    assert sums.tolist() == [[3.0, 1.0], [4.0, 4.0], [8.0, 2.0]]
    assert word_sums(segment, word, spans, contrib[:, 0])[3].tolist() == [3.0, 4.0, 8.0]


@pytest.fixture(scope="module")
def static_model(tmp_path_factory):
    return AffectModel.load(make_static_model(tmp_path_factory.mktemp("static")))


def test_token_pieces_give_the_tokens_of_the_whole_text(static_model):
    tok = static_model.encoder.tokenizer
    text = long_text(300)
    whole = tok.encode(text, add_special_tokens=False)
    parts = list(token_pieces(tok, text, with_spans=True, piece_chars=50))
    assert len(parts) > 10
    assert np.concatenate([p[0] for p in parts]).tolist() == whole.ids
    assert np.concatenate([p[1] for p in parts]).tolist() == [list(o) for o in whole.offsets]
    words = np.concatenate([p[2] for p in parts])
    assert (np.diff(words) >= 0).all() and len(np.unique(words)) == len(set(whole.word_ids))


def compare_stream_with_batch(model: AffectModel, texts: list[str]) -> None:
    """Predict with every text in one batch, then with the long ones read in parts: the same predictions."""
    model.stream_chars = 10**9
    batch = model.analyze_batch(texts)
    model.stream_chars = 200
    try:
        streamed = model.analyze_batch(texts)
    finally:
        model.stream_chars = 20_000
    assert np.allclose(batch.dist, streamed.dist, atol=1e-6)
    assert np.allclose(batch.scores, streamed.scores, atol=1e-6)
    assert np.allclose(batch.vad, streamed.vad, atol=1e-6)
    assert batch.n_segments.tolist() == streamed.n_segments.tolist()
    words = [[(e.text, e.start, e.end, e.label) for e in ev] for ev in batch.evidence]
    assert words == [[(e.text, e.start, e.end, e.label) for e in ev] for ev in streamed.evidence]
    assert any(words)
    for ev_b, ev_s in zip(batch.evidence, streamed.evidence):
        assert [e.weight for e in ev_b] == pytest.approx([e.weight for e in ev_s], abs=2e-4)


def test_static_model_streams_long_texts_with_the_batch_results(static_model, monkeypatch):
    from affectkit.modules import streaming

    monkeypatch.setattr(streaming, "PIECE_CHARS", 64)
    monkeypatch.setattr(streaming, "STATIC_TOKENS_PER_PART", 40)
    texts = ["i am happy today", long_text(400, seed=1), "so sad", long_text(250, seed=2)]
    compare_stream_with_batch(static_model, texts)


def test_onnx_model_streams_the_same_windows(tmp_path_factory, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_models import make_onnx_model

    from affectkit.modules import streaming

    model = AffectModel.load(make_onnx_model(tmp_path_factory.mktemp("onnx")))
    text = long_text(300, seed=3)
    whole = model.encoder.encode([text], with_tokens=True)
    parts = list(stream_windows(model.encoder, text, True, piece_chars=40, windows_per_part=7))
    assert len(parts) > 3
    assert np.concatenate([p.n_tokens for p in parts]).tolist() == whole.n_tokens.tolist()
    assert np.allclose(np.concatenate([p.pooled for p in parts]), whole.pooled, atol=1e-5)
    assert np.concatenate([p.offsets for p in parts]).tolist() == whole.offsets.tolist()
    monkeypatch.setattr(streaming, "PIECE_CHARS", 40)
    monkeypatch.setattr(streaming, "WINDOWS_PER_PART", 7)
    compare_stream_with_batch(model, ["i am happy", text, long_text(120, seed=4)])
