"""The public-format loaders on small hand-written files in each format (tests/fixtures/eval)."""

from __future__ import annotations

import numpy as np
import pytest

from affectkit.datasets import EmotionDataset, LabelNormaliser, load_dataset, parse_numpy_strings
from affectkit.errors import InputError
from affectkit.labels import get_labelset
from eval_support import EVAL_FIXTURES as F


def test_semeval2018_ec():
    ds = load_dataset("semeval2018-ec", "test", path=F / "semeval2018/2018-E-c-En-test-gold.txt")
    assert len(ds) == 4 and ds.labelset.name == "semeval-ec"
    assert ds.texts[1].startswith('"The bus')  # a stray quote does not merge lines
    names = ds.labelset.labels
    assert [names[j] for j in np.flatnonzero(ds.categories[0])] == ["anticipation", "joy", "optimism"]
    assert ds.categories[3].sum() == 0
    assert ds.meta["id"][2] == "2018-En-f003"


def test_semeval2018_ei_reg_several_files_by_glob():
    ds = load_dataset("semeval2018-ei-reg", "test", path=str(F / "semeval2018/2018-EI-reg-En-*-test-gold.txt"))
    assert len(ds) == 6
    assert ds.meta["emotion"] == ["anger"] * 3 + ["joy"] * 3
    assert ds.intensity.tolist() == pytest.approx([0.891, 0.344, 0.625, 0.938, 0.219, 0.766])


def test_semeval2018_ordinal_classes():
    oc = load_dataset("semeval2018-ei-oc", "test", path=F / "semeval2018/2018-EI-oc-En-anger-test-gold.txt")
    assert oc.meta["class"] == [3, 1, 0]
    assert oc.intensity.tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    voc = load_dataset("semeval2018-v-oc", "test", path=F / "semeval2018/2018-Valence-oc-En-test-gold.txt")
    assert voc.meta["class"] == [3, -1, -3, 0]
    assert voc.vad_scale == "-1..1"
    assert voc.vad[:, 0].tolist() == pytest.approx([1.0, -1 / 3, -1.0, 0.0])
    assert np.isnan(voc.vad[:, 1]).all()
    vreg = load_dataset("semeval2018-v-reg", "test", path=F / "semeval2018/2018-Valence-reg-En-test-gold.txt")
    assert vreg.vad_scale == "0..1" and vreg.vad[:, 0].tolist() == pytest.approx([0.904, 0.313, 0.047, 0.5])


def test_wassa2017_headerless():
    ds = load_dataset("wassa2017", "test", path=sorted(str(p) for p in (F / "wassa2017").glob("*.txt")))
    assert len(ds) == 6 and ds.texts[0] == "I am so mad right now I could scream"
    assert set(ds.meta["emotion"]) == {"anger", "joy"}


def test_isear_pipe_export_and_two_columns():
    ds = load_dataset("isear", "all", path=F / "isear/isear.csv")
    assert len(ds) == 7 and ds.labelset.name == "isear"
    assert [ds.labelset.labels[j] for j in ds.categories.argmax(axis=1)] == list(ds.labelset.labels)
    assert "á" not in ds.texts[1] and "behind me in the dark" in ds.texts[1]
    two = load_dataset("isear", "all", path=F / "isear/isear_two_columns.csv")
    assert [two.labelset.labels[j] for j in two.categories.argmax(axis=1)] == ["joy", "anger", "guilt"]
    assert two.texts[0] == "When I passed my driving test, first try."


def test_xed_with_neutral_file():
    ds = load_dataset("xed", "all", path=F / "xed/en-annotated.tsv", neutral_path=F / "xed/neu_en.txt")
    assert len(ds) == 5 and ds.labelset.name == "plutchik"
    names = ds.labelset.labels
    assert [names[j] for j in np.flatnonzero(ds.categories[0])] == ["surprise", "anger"]
    assert [names[j] for j in np.flatnonzero(ds.categories[1])] == ["disgust", "anger"]
    assert ds.categories[3:].sum() == 0 and ds.texts[4] == "The car is parked outside."


def test_semeval2007_affective_text():
    ds = load_dataset("semeval2007", "test", path=F / "semeval2007/affectivetext_test.xml")
    assert ds.texts[2] == "Scientists find strange glowing fish & squid"
    assert ds.category_kind == "scores" and ds.labelset.name == "ekman-6"
    assert ds.categories[0].tolist() == pytest.approx([0.10, 0.05, 0.75, 0.0, 0.60, 0.20])
    assert ds.vad[:, 0].tolist() == pytest.approx([-0.7, 0.8, 0.25])
    # a headline has an emotion at >= 50 of 100 (the task's coarse-grained rule)
    assert ds.label_sets()[0].tolist() == [False, False, True, False, True, False]
    assert ds.gold_rankings(3)[0] == ["fear", "sadness", "surprise"]


def test_eemo_bench_style_file():
    ds = load_dataset("eemo", "test", path=F / "eemo/eemo.jsonl")
    assert ds.labelset.name == "eemo" and ds.vad_scale == "1..9"
    assert ds.rankings[1] == ["fear", "sadness", "surprise"]
    assert ds.options[0] == ["joy", "fear", "anger", "sadness"]
    assert ds.vad[0].tolist() == [8.0, 6.0, 6.5]
    # graded weights 3, 2, 1 for the ranked labels: the single label is the first, all three count as present
    assert ds.labelset.labels[ds.single_labels()[2]] == "disgust"
    assert ds.label_sets()[0].sum() == 3


def test_table_with_column_mapping():
    ds = load_dataset("table", "test", path=F / "table/ratings.csv", labelset="ekman",
                      columns={"text": "sentence", "labels": "emotions", "valence": "v", "arousal": "a",
                               "dominance": "d", "cause": "why"})
    names = ds.labelset.labels
    assert [names[j] for j in np.flatnonzero(ds.categories[0])] == ["joy", "surprise"]
    assert [names[j] for j in np.flatnonzero(ds.categories[1])] == ["anger", "sadness"]  # a JSON list cell
    assert ds.vad[2].tolist() == [0.0, -0.6, 0.0] and ds.vad_scale == "-1..1"
    assert ds.causes == ["sunny morning", None, None]
    causes = load_dataset("table", "test", path=F / "emotion-cause/test.jsonl", columns={"cause": "cause"})
    assert causes.causes[1] == "the new docs" and causes.categories is None


def test_table_errors_are_clear():
    with pytest.raises(InputError, match="column 'nope'"):
        load_dataset("table", "test", path=F / "table/ratings.csv", labelset="ekman", columns={"text": "nope"})
    with pytest.raises(InputError, match="name the label set"):
        load_dataset("table", "test", path=F / "table/ratings.csv", columns={"text": "sentence", "labels": "emotions"})
    with pytest.raises(InputError, match="unknown label 'joy;surprise'|unknown label"):
        load_dataset("table", "test", path=F / "table/ratings.csv", labelset="ekman", label_sep="|",
                     columns={"text": "sentence", "labels": "emotions"})
    with pytest.raises(InputError, match="not found"):
        load_dataset("semeval2018-ec", "test", path=F / "missing.txt")
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("nope", "test")


def test_label_normaliser_spellings():
    norm = LabelNormaliser(get_labelset("armanemo"), {"ANGRY": "anger", "HAPPY": "happiness"}, source="x")
    assert norm(" ANGRY ") == 0 and norm("Happy") == 2 and norm("fear") == 1
    emory = LabelNormaliser(get_labelset("emorynlp"))
    assert emory("Joyful") == get_labelset("emorynlp").index("joyful")
    with pytest.raises(InputError, match="unknown label 'bored'"):
        norm("bored")


def test_numpy_printed_strings():
    cell = "['Say , Jim , how about it ? '\n \" Don't you think so ? \" ' Fine . ']"
    assert parse_numpy_strings(cell) == ["Say , Jim , how about it ? ", " Don't you think so ? ", " Fine . "]


def test_gold_interpretations():
    ls = get_labelset("crema-d")
    votes = np.array([[0, 0, 0, 1, 10, 0], [0, 0, 0, 3, 3, 0], [4, 0, 0, 0, 0, 3]], dtype=float)
    ds = EmotionDataset("v", "all", ["a", "b", "c"], ls, votes, category_kind="votes")
    assert ds.single_labels("plurality").tolist() == [4, -1, 0]  # row 1 is a tie
    assert ds.single_labels("majority").tolist() == [4, -1, 0]  # 4 of 7 is a majority
    # soft labels binarised at y_c > 1/K = 1/6: row 0 happy 1/11 is off, neutral on
    assert ds.label_sets().tolist()[0] == [False, False, False, False, True, False]
    assert ds.label_sets().tolist()[2] == [True, False, False, False, False, True]
    mapped, m = ds.with_labelset("ekman")
    assert m is not None and mapped.labelset.name == "ekman"
    assert mapped.categories[0, mapped.labelset.index("joy")] == 1.0  # happy -> joy keeps its vote
