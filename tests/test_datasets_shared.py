"""The loaders of the shared datasets reproduce the row and label counts their SOURCE.md files state."""

from __future__ import annotations

import numpy as np
import pytest

from affectkit.datasets import data_dir, load_dataset

pytestmark = pytest.mark.skipif(not (data_dir() / "INDEX.md").exists(),
                                reason="shared datasets not found (set AFFECTKIT_DATA or place shared/data beside the repo)")


def _counts(ds) -> dict[str, int]:
    return {lab: int(c) for lab, c in zip(ds.labelset.labels, ds.categories.sum(axis=0))}


def test_meld_counts_and_crlf():
    ds = load_dataset("meld", "train")
    assert len(ds) == 9989
    assert _counts(ds) == {"anger": 1109, "disgust": 271, "fear": 268, "joy": 1743, "sadness": 683,
                           "surprise": 1205, "neutral": 4710}
    assert not any(t.endswith("\r") for t in ds.texts) and not any(s.endswith("\r") for s in ds.meta["sentiment"])
    assert [len(load_dataset("meld", s)) for s in ("dev", "test")] == [1109, 2610]
    assert len(load_dataset("meld", "test", dyadic=True)) == 3400


def test_emorynlp_counts_and_spellings():
    ds = load_dataset("emorynlp", "train")
    assert len(ds) == 7551
    assert _counts(ds) == {"neutral": 2485, "joyful": 1677, "peaceful": 638, "powerful": 551, "scared": 941,
                           "mad": 785, "sad": 474}
    assert [len(load_dataset("emorynlp", s)) for s in ("dev", "test")] == [954, 984]


def test_armanemo_quote_none():
    train = load_dataset("armanemo", "train")
    assert len(train) == 6157  # a quote-aware parser merges lines and finds 6,125
    assert _counts(train) == {"anger": 926, "fear": 759, "happiness": 626, "hatred": 516, "sadness": 903,
                              "wonder": 741, "other": 1686}
    test = load_dataset("armanemo", "test")
    assert len(test) == 1151 and _counts(test)["happiness"] == 275


def test_dailydialog_zip_of_numpy_arrays():
    ds = load_dataset("dailydialog", "train")
    assert len(ds) == 87170 and max(ds.meta["dialogue_id"]) == 11117
    assert _counts(ds) == {"no emotion": 72143, "anger": 827, "disgust": 303, "fear": 146, "happiness": 11182,
                           "sadness": 969, "surprise": 1600}
    with pytest.raises(Exception, match="only the official train split"):
        load_dataset("dailydialog", "test")


def test_crema_d_vote_tables_are_soft_labels():
    ds = load_dataset("crema_d", "all", modality="voice")
    assert len(ds) == 7442 and ds.category_kind == "votes"
    assert ds.categories.sum(axis=1).min() >= 1
    assert set(ds.texts) <= {"It's eleven o'clock.", "That is exactly what happened.", "I'm on my way to the meeting.",
                             "I wonder what this is about.", "The airplane is almost full.",
                             "Maybe tomorrow it will be cold.", "I would like a new alarm clock.",
                             "I think I have a doctor's appointment.", "Don't forget a jacket.",
                             "I think I've seen this before.", "The surface is slick.",
                             "We'll stop in a couple of minutes."}
    assert ds.meta["intended"].count("neutral") == 1087
    assert len(load_dataset("crema_d", "all", modality="face")) == 7442


def test_warriner_word_norms():
    ds = load_dataset("warriner", "test")
    assert len(ds) == 1032 and ds.vad_scale == "1..9"
    assert np.nanmin(ds.vad) >= 1 and np.nanmax(ds.vad) <= 9
    assert len(load_dataset("warriner", "all")) == 13915


def test_goemotions_and_emobank_unchanged():
    g = load_dataset("goemotions", "test")
    assert len(g) == 5427 and g.categories.shape == (5427, 28)
    e = load_dataset("emobank", "test")
    assert len(e) == 1000 and e.vad_scale == "1..5"
