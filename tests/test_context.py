"""Conversation context (affectkit.context): previous turns, weights, the blend formula against hand-computed
values, streaming across chunks, bad input, and the eval task option."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import requires_data, run_cli

from affectkit.context import (
    ContextCarry,
    ContextOptions,
    blend,
    context_texts,
    context_weights,
    previous_turns,
    sortable_orders,
    turns_of,
)
from affectkit.errors import InputError
from affectkit.evaluation.predict import predict_dataset
from affectkit.labels import get_labelset
from affectkit.schema import BatchPrediction

OPTS = ContextOptions(("dlg",), "turn", 2, "who")
ROWS = pd.DataFrame({
    "text": ["I got the job!", "That is wonderful news", "I cannot believe it", "My dog died", "What happened?",
             "", "Hello", "so sad"],
    "dlg": ["a", "a", "a", "b", "b", "b", None, "b"],
    "turn": ["1", "2", "3", "2", "1", "3", "1", "4"],
    "who": ["x", "y", "x", "x", "y", "x", "z", "y"],
})


@pytest.fixture(scope="module")
def fast():
    import affectkit

    return affectkit.load("fast", evidence=False)


def test_previous_turns_sorted_by_order_nearest_first_skipping_unusable_rows():
    conv = [("a",), ("b",), ("a",), ("a",), None, ("a",)]
    order = np.array([3.0, 1.0, 1.0, 2.0, 1.0, 2.0])  # rows 3 and 5 tie on 2: input order breaks the tie
    usable = np.array([True, True, True, True, True, False])
    prev = previous_turns(conv, order, 2, usable)
    # a: row 2 (1) < row 3 (2) < row 5 (2, unusable) < row 0 (3)
    assert prev.tolist() == [[3, 2], [-1, -1], [-1, -1], [2, -1], [-1, -1], [3, 2]]


def test_context_weights_decay_and_speaker():
    prev = np.array([[1, 0, -1], [-1, -1, -1], [1, 0, -1]])
    speakers = ["x", "y", "x"]
    ctx = ContextOptions(("c",), "o", 3, "s", decay=0.5, same_speaker=2.0, other_speaker=1.0)
    w = context_weights(prev, speakers, ctx)
    # rows 0 and 2 (speaker x): 1 back is row 1 (y, other) -> 1 * 1; 2 back is row 0 (x, same) -> 0.5 * 2
    assert w.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    blind = context_weights(prev, speakers, replace(ctx, speaker_col=None))
    assert blind.tolist() == [[1.0, 0.5, 0.0], [0.0, 0.0, 0.0], [1.0, 0.5, 0.0]]


def test_blend_matches_hand_computed_values():
    ls = get_labelset("ekman")
    dist = np.zeros((3, len(ls)))
    dist[0, 0], dist[1, 1] = 1.0, 1.0
    dist[2, 0] = dist[2, 1] = 0.5
    vad = np.array([[0.2, 0.0, 0.0], [-0.4, 0.2, 0.0], [0.0, np.nan, 0.0]])
    batch = BatchPrediction(ls, dist, vad=vad, intensity=np.array([0.9, 0.3, 0.6]))
    prev = np.array([[1, 2], [2, -1], [-1, -1]])  # row 0's previous turns: row 1, then row 2
    w = context_weights(prev, [None] * 3, ContextOptions(("c",), "o", 2, decay=0.5))
    out = blend(batch, prev, w, 0.25)
    # row 0: mean of context = (1 * [0, 1] + 0.5 * [.5, .5]) / 1.5 = [1/6, 5/6]; 0.75 * [1, 0] + 0.25 * mean
    assert out.dist[0, :2] == pytest.approx([0.75 + 0.25 / 6, 0.25 * 5 / 6])
    assert out.dist[0].sum() == pytest.approx(1.0)
    # row 1: its only context is row 2: 0.75 * [0, 1] + 0.25 * [.5, .5]
    assert out.dist[1, :2] == pytest.approx([0.125, 0.875])
    assert np.array_equal(out.dist[2], dist[2])  # a first turn keeps its own prediction
    assert out.intensity[0] == pytest.approx(0.75 * 0.9 + 0.25 * (0.3 + 0.5 * 0.6) / 1.5)
    # row 1's only context (row 2) has an unknown arousal: row 1 keeps its own VAD
    assert np.allclose(out.vad[1], vad[1])
    assert np.array_equal(batch.dist[0], dist[0])  # the input batch is not changed


def test_failed_turn_is_no_context():
    ls = get_labelset("ekman")
    dist = np.full((2, len(ls)), np.nan)
    dist[1] = np.eye(len(ls))[2]
    out = blend(BatchPrediction(ls, dist), np.array([[-1], [0]]), np.array([[0.0], [1.0]]), 0.5)
    assert np.array_equal(out.dist[1], dist[1]) and np.isnan(out.dist[0]).all()


def test_sortable_orders():
    assert sortable_orders(["2", 10, " 3 ", None, ""], "t").tolist()[:3] == [2.0, 10.0, 3.0]
    assert np.isnan(sortable_orders([None, ""], "t")).all()
    times = sortable_orders(["2024-01-01 10:00", "2024-01-01 09:30"], "t")
    assert times[1] < times[0]
    with pytest.raises(InputError, match="cannot be sorted: 'x1'"):
        sortable_orders(["1", "x1"], "t")


def test_context_texts_oldest_first():
    texts = ["a", "b", None, "c"]
    prev = np.array([[-1, -1], [0, -1], [1, 0], [2, 1]])
    assert context_texts(texts, prev, " | ") == ["a", "a | b", None, "b | c"]


def test_options_validation():
    with pytest.raises(InputError, match="order column"):
        ContextOptions(("dlg",), "", 2)
    with pytest.raises(InputError, match="at least 1"):
        ContextOptions(("dlg",), "t", 0)
    with pytest.raises(InputError, match="method"):
        ContextOptions(("dlg",), "t", 1, method="attention")
    with pytest.raises(InputError, match="unknown context key"):
        ContextOptions.from_mapping({"conversation": "d", "order": "t", "k": 1, "window": 3})
    with pytest.raises(InputError, match=r"context column\(s\) \['who'\] not found"):
        turns_of(ROWS.drop(columns="who"), OPTS)


def _analyze(frame: pd.DataFrame, analyzer, tmp: Path, chunk_size: int, ctx=OPTS) -> pd.DataFrame:
    from affectkit.runner import AnalyzeOptions, run_analyze

    src = tmp / f"in_{chunk_size}.csv"
    frame.to_csv(src, index=False)
    out = tmp / f"out_{chunk_size}.csv"
    run_analyze(src, out, analyzer, AnalyzeOptions(context=ctx), chunk_size=chunk_size, progress=False)
    return pd.read_csv(out, keep_default_na=False)


def test_streaming_chunks_give_the_same_rows_as_one_chunk(fast, tmp_path):
    whole = _analyze(ROWS, fast, tmp_path, 100)
    small = _analyze(ROWS, fast, tmp_path, 3)  # b's turns 2, 1 share a chunk: any order within a chunk
    pd.testing.assert_frame_equal(whole, small)
    assert whole["text"].tolist() == ROWS["text"].tolist()  # rows one for one, in input order
    assert whole["error"].tolist()[5:7] == ["empty text", "missing conversation id (--conversation-col dlg)"]
    alone = fast.analyze_batch(ROWS["text"].tolist())
    # a first turn is its own prediction; a later one is not
    assert float(whole.loc[0, "p_neutral"]) == pytest.approx(alone.dist[0, alone.labelset.index("neutral")], abs=1e-6)
    assert float(whole.loc[3, "p_neutral"]) != pytest.approx(alone.dist[3, alone.labelset.index("neutral")], abs=1e-4)


class _StopAt:
    """Delegates to an analyzer; ``analyze_batch`` raises KeyboardInterrupt on call ``stop_at`` (a Ctrl-C)."""

    def __init__(self, inner, stop_at: int) -> None:
        self.inner, self.stop_at, self.calls = inner, stop_at, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def analyze_batch(self, items, labels=None):
        self.calls += 1
        if self.calls >= self.stop_at:
            raise KeyboardInterrupt
        return self.inner.analyze_batch(items, labels)


def test_resumed_run_rebuilds_the_carried_turns(fast, tmp_path):
    from affectkit.runner import AnalyzeOptions, run_analyze

    whole = _analyze(ROWS, fast, tmp_path, 100)
    src, out = tmp_path / "r.csv", tmp_path / "r_out.csv"
    ROWS.to_csv(src, index=False)
    with pytest.raises(KeyboardInterrupt):
        run_analyze(src, out, _StopAt(fast, 2), AnalyzeOptions(context=OPTS), chunk_size=3, progress=False)
    report = run_analyze(src, out, fast, AnalyzeOptions(context=OPTS), chunk_size=3, progress=False)
    assert report.resumed_chunks == 1
    pd.testing.assert_frame_equal(pd.read_csv(out, keep_default_na=False), whole)


def test_text_method_reads_previous_turns(fast, tmp_path):
    out = _analyze(ROWS, fast, tmp_path, 3, replace(OPTS, method="text", k=1))
    joined = fast.analyze_batch(["What happened? | My dog died"])
    assert float(out.loc[3, "p_neutral"]) == pytest.approx(joined.dist[0, joined.labelset.index("neutral")], abs=1e-6)


def test_conversation_split_across_chunks_or_going_back_is_an_error(fast, tmp_path):
    split = pd.DataFrame({"text": ["a b", "c d", "e f"], "dlg": ["x", "y", "x"], "turn": [1, 1, 2]})
    with pytest.raises(InputError, match="conversation 'x' continues at row 3"):
        _analyze(split, fast, tmp_path, 1, ContextOptions(("dlg",), "turn", 1))
    back = pd.DataFrame({"text": ["a b", "c d"], "dlg": ["x", "x"], "turn": [2, 1]})
    with pytest.raises(InputError, match="row 2 comes before turns already in an earlier chunk"):
        _analyze(back, fast, tmp_path, 1, ContextOptions(("dlg",), "turn", 1))
    assert len(_analyze(back, fast, tmp_path, 2, ContextOptions(("dlg",), "turn", 1))) == 2  # one chunk: fine


def test_carry_keeps_only_k_turns_of_open_conversations():
    carry = ContextCarry(ContextOptions(("dlg",), "turn", 1))
    carry.observe(pd.DataFrame({"text": ["a", "b", "c"], "dlg": ["x", "x", "y"], "turn": [1, 2, 1]}))
    assert sorted(carry.tails) == [("x",), ("y",)] and carry.tails[("x",)]["text"].tolist() == ["b"]
    carry.observe(pd.DataFrame({"text": ["d"], "dlg": ["y"], "turn": [2]}))
    assert list(carry.tails) == [("y",)] and carry.closed == {("x",)}


def test_cli_usage_errors(tmp_path):
    src = tmp_path / "c.csv"
    ROWS.to_csv(src, index=False)
    r = run_cli("analyze", str(src), "-m", "fast", "-q", "--context", "2", "--conversation-col", "dlg")
    assert r.returncode == 2 and b"order column" in r.stderr
    r = run_cli("analyze", str(src), "-m", "fast", "-q", "--conversation-col", "dlg", "--order-col", "turn")
    assert r.returncode == 2 and b"--context K" in r.stderr


def test_task_context_option_is_validated_and_keys_predictions():
    from affectkit.evaluation.task import parse_task

    base = {"task": "t", "type": "perception", "labels": "ekman", "dataset": {"loader": "meld"}}
    plain = parse_task(base)
    ctx = parse_task({**base, "context": {"conversation": "dialogue_id", "order": "utterance_id", "k": 2}})
    assert ctx.context_options() == ContextOptions(("dialogue_id",), "utterance_id", 2)
    assert plain.context_options() is None and plain.prediction_key() != ctx.prediction_key()
    with pytest.raises(InputError, match="order column"):
        parse_task({**base, "context": {"conversation": "dialogue_id", "k": 2}})


def test_predict_dataset_is_the_blend_of_raw_predictions(fast):
    from affectkit.datasets import EmotionDataset
    from affectkit.evaluation.predict import plan_labels, records_from_batch

    ls = get_labelset("ekman")
    ds = EmotionDataset("toy", "test", ["I am happy", "this is awful", "why?"], ls, np.eye(len(ls))[:3].astype(bool),
                        meta={"d": ["1", "1", "1"], "u": ["0", "1", "2"]})
    ctx = ContextOptions(("d",), "u", 2)
    plan = plan_labels(fast, "ekman")
    raw = fast.analyze_batch(ds.texts, plan.source)
    prev = np.array([[-1, -1], [0, -1], [1, 0]])
    expected = records_from_batch(blend(raw, prev, context_weights(prev, [None] * 3, ctx), 0.25), plan)
    got = predict_dataset(fast, ds, plan, ctx, 8)
    assert np.allclose([r["dist"] for r in got], [r["dist"] for r in expected], atol=1e-6)
    with pytest.raises(InputError, match="has no"):
        predict_dataset(fast, ds, plan, ContextOptions(("scene",), "u", 1), 8)


@requires_data
def test_shipped_context_tasks_load_with_their_columns():
    from affectkit.evaluation.task import load_task, task_data

    for name in ("meld-context", "emorynlp-context"):
        task = load_task(name)
        ctx = task.context_options()
        ds = task_data(task).dataset
        turns = turns_of(pd.DataFrame({c: ds.meta[c] for c in ctx.columns}), ctx)
        assert not any(turns.errors)
