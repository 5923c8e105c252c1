"""The public-format loaders on small hand-written files in each format (tests/fixtures/eval)."""

from __future__ import annotations

import numpy as np
import pytest
from eval_support import EVAL_FIXTURES as F

from affectkit.datasets import EmotionDataset, LabelNormaliser, load_dataset, parse_numpy_strings
from affectkit.errors import InputError
from affectkit.labels import get_labelset


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


# -- one hand-made file per public template, written here in the official format -------------------------------
EC_HEAD = "ID\tTweet\tanger\tanticipation\tdisgust\tfear\tjoy\tlove\toptimism\tpessimism\tsadness\tsurprise\ttrust"


def write(path, lines: list[str], encoding: str = "utf-8", newline: str = "\n"):
    """A file of ``lines`` (each ended by ``newline``), as the official releases ship them."""
    path.write_bytes("".join(line + newline for line in lines).encode(encoding))
    return path


def names_of(ds: EmotionDataset) -> list[list[str]]:
    return [[ds.labelset.labels[j] for j in np.flatnonzero(row)] for row in ds.categories]


def test_semeval2018_ec_official_file_drops_mystery_rows(tmp_path, caplog):
    f = write(tmp_path / "2018-E-c-En-test-gold.txt", [
        EC_HEAD,
        "2018-En-00001\t@user refs blew it AGAIN tonight #furious\t1\t0\t1\t0\t0\t0\t0\t0\t0\t0\t0",
        "2018-En-mystery-00001\tThe situation makes my sister feel angry.\t" + "\t".join(["NONE"] * 11),
        "2018-En-00002\tcounting down the days till xmas \U0001f384 #excited\t0\t1\t0\t0\t1\t1\t1\t0\t0\t0\t0",
        "2018-EN-MYSTERY-00002\tI made this boy feel happy.\t" + "\t".join(["0"] * 11),
        '2018-En-00003\t"meh. another monday\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0',
    ])
    with caplog.at_level("INFO", logger="affectkit.datasets"):
        ds = load_dataset("semeval2018-ec", "test", path=f)
    assert len(ds) == 3 and ds.categories.shape == (3, 11)
    assert ds.meta["id"] == ["2018-En-00001", "2018-En-00002", "2018-En-00003"]
    assert ds.texts == ["@user refs blew it AGAIN tonight #furious",
                        "counting down the days till xmas \U0001f384 #excited", '"meh. another monday']
    assert names_of(ds) == [["anger", "disgust"], ["anticipation", "joy", "love", "optimism"], []]
    assert "dropped 2 placeholder ('mystery') rows" in caplog.text


def test_semeval2018_ei_reg_official_files_drop_mystery_rows(tmp_path, caplog):
    head = "ID\tTweet\tAffect Dimension\tIntensity Score"
    write(tmp_path / "2018-EI-reg-En-anger-test-gold.txt", [
        head,
        "2018-En-01001\tWho parks across two spaces?! #rage\tanger\t0.734",
        "2018-En-mystery-01001\tThe conversation with my mom was irritating.\tanger\t0.500",
        "2018-En-01002\tslightly annoyed the wifi is down\tanger\t0.266",
    ])
    write(tmp_path / "2018-EI-reg-En-fear-test-gold.txt", [
        head,
        "2018-En-02001\tthunder at 3am and I am alone #scared\tfear\t0.812",
        "2018-En-mystery-02001\tThis man feels terrified.\tfear\t0.500",
        "2018-En-mystery-02002\tI made my girlfriend feel anxious.\tfear\t0.500",
    ])
    with caplog.at_level("INFO", logger="affectkit.datasets"):
        ds = load_dataset("semeval2018-ei-reg", "test", path=str(tmp_path / "2018-EI-reg-En-*-test-gold.txt"))
    assert len(ds) == 3
    assert ds.meta["id"] == ["2018-En-01001", "2018-En-01002", "2018-En-02001"]
    assert ds.texts == ["Who parks across two spaces?! #rage", "slightly annoyed the wifi is down",
                        "thunder at 3am and I am alone #scared"]
    assert ds.meta["emotion"] == ["anger", "anger", "fear"]
    assert ds.intensity.tolist() == pytest.approx([0.734, 0.266, 0.812])
    assert "semeval2018-ei-reg: dropped 3 placeholder ('mystery') rows" in caplog.text


def test_semeval2018_ei_oc_official_file_drops_mystery_rows(tmp_path):
    f = write(tmp_path / "2018-EI-oc-En-sadness-test-gold.txt", [
        "ID\tTweet\tAffect Dimension\tIntensity Class",
        "2018-En-03001\tmissing my grandad so much today\tsadness\t3: high amount of sadness can be inferred",
        "2018-En-mystery-03001\tMy uncle feels sad.\tsadness\t2: moderate amount of sadness can be inferred",
        "2018-En-03002\tugh rain again\tsadness\t1: low amount of sadness can be inferred",
        "2018-En-03003\tlunch was ok\tsadness\t0: no sadness can be inferred",
    ])
    ds = load_dataset("semeval2018-ei-oc", "test", path=f)
    assert len(ds) == 3 and ds.texts == ["missing my grandad so much today", "ugh rain again", "lunch was ok"]
    assert ds.meta["id"] == ["2018-En-03001", "2018-En-03002", "2018-En-03003"]
    assert ds.meta["emotion"] == ["sadness"] * 3 and ds.meta["class"] == [3, 1, 0]
    assert ds.intensity.tolist() == pytest.approx([1.0, 1 / 3, 0.0])


def test_semeval2018_v_reg_official_file_drops_mystery_rows(tmp_path):
    f = write(tmp_path / "2018-Valence-reg-En-test-gold.txt", [
        "ID\tTweet\tAffect Dimension\tIntensity Score",
        "2018-En-04001\tbest concert of my life!!! \U0001f60d\tvalence\t0.917",
        "2018-En-mystery-04001\tThe situation makes her feel glad.\tvalence\t0.500",
        "2018-En-04002\tI can't do this anymore\tvalence\t0.094",
    ])
    ds = load_dataset("semeval2018-v-reg", "test", path=f)
    assert len(ds) == 2 and ds.texts == ["best concert of my life!!! \U0001f60d", "I can't do this anymore"]
    assert ds.meta["id"] == ["2018-En-04001", "2018-En-04002"] and ds.meta["emotion"] == ["valence"] * 2
    assert ds.vad_scale == "0..1" and ds.vad[:, 0].tolist() == pytest.approx([0.917, 0.094])
    assert np.isnan(ds.vad[:, 1:]).all() and ds.intensity is None


def test_semeval2018_v_oc_official_file_drops_mystery_rows(tmp_path):
    f = write(tmp_path / "2018-Valence-oc-En-test-gold.txt", [
        "ID\tTweet\tAffect Dimension\tIntensity Class",
        "2018-En-05001\tgot the job!!!\tvalence\t3: very positive emotional state can be inferred",
        "2018-En-05002\ttraffic. again.\tvalence\t-1: slightly negative emotional state can be inferred",
        ("2018-En-Mystery-05001\tThis girl feels miserable.\tvalence\t-2: moderately negative emotional state "
         "can be inferred"),
        "2018-En-05003\tit is tuesday\tvalence\t0: neutral or mixed emotional state can be inferred",
    ])
    ds = load_dataset("semeval2018-v-oc", "test", path=f)
    assert len(ds) == 3 and ds.texts == ["got the job!!!", "traffic. again.", "it is tuesday"]
    assert ds.meta["id"] == ["2018-En-05001", "2018-En-05002", "2018-En-05003"]
    assert ds.meta["class"] == [3, -1, 0] and ds.vad_scale == "-1..1"
    assert ds.vad[:, 0].tolist() == pytest.approx([1.0, -1 / 3, 0.0])


def test_wassa2017_official_files(tmp_path):
    write(tmp_path / "anger-ratings-0to1.test.gold.txt", [
        "10941\t@user you had ONE job \U0001f621 #fuming\tanger\t0.688",
        '10942\t"customer service" my foot\tanger\t0.458',
    ])
    write(tmp_path / "sadness-ratings-0to1.test.gold.txt", [
        "40861\tlast day of summer \U0001f622\tsadness\t0.396",
    ])
    ds = load_dataset("wassa2017", "test", path=str(tmp_path / "*-ratings-0to1.test.gold.txt"))
    assert len(ds) == 3
    assert ds.texts == ["@user you had ONE job \U0001f621 #fuming", '"customer service" my foot',
                        "last day of summer \U0001f622"]
    assert ds.meta["id"] == ["10941", "10942", "40861"]
    assert ds.meta["emotion"] == ["anger", "anger", "sadness"]
    assert ds.intensity.tolist() == pytest.approx([0.688, 0.458, 0.396])


ISEAR_HEAD = ("ID|CITY|COUN|SUBJ|SEX|AGE|RELI|PRAC|FOCC|MOCC|FIEL|EMOT|WHEN|LONG|INTS|ERGO|TROPHO|TEMPER|EXPRES|MOVE|"
              "EXP1|EXP2|EXP10|PARAL|CON|EXPC|PLEA|PLAN|FAIR|CAUS|COPING|MORL|SELF|RELA|VERBAL|NEUTRO|Field1|Field3|"
              "Field2|MYKEY|SIT|STATE|")


def isear_line(emot: int, name: str, key: str, sit: str) -> str:
    """One record of the ISEAR export: 36 codes, the emotion name, two codes, MYKEY, SIT, STATE, closing ``|``."""
    codes = ["99001"] + ["1"] * 10 + [str(emot)] + ["2"] * 24
    return "|".join(codes + [name, "2", "3", key, sit, "1"]) + "|"


ISEAR_ROWS = [
    (1, "joy", "0990011", "When I got my exam results | all passed."),
    (3, "anger", "0990012", '"Fine," he said, and slammed the door | on my hand.'),
    (4, "sadness", "0990013", "When my grandmother died after a long á illness.  "),
    (7, "guilt", "0990014", "I forgot my friend's birthday á |and| never called."),
]
ISEAR_TEXTS = ["When I got my exam results | all passed.", '"Fine," he said, and slammed the door | on my hand.',
               "When my grandmother died after a long illness.", "I forgot my friend's birthday |and| never called."]


def test_isear_export_keeps_texts_with_a_pipe(tmp_path):
    f = write(tmp_path / "isear.csv", [ISEAR_HEAD] + [isear_line(*r) for r in ISEAR_ROWS], newline="\r\n")
    ds = load_dataset("isear", "all", path=f)
    assert len(ds) == 4 and ds.texts == ISEAR_TEXTS
    assert names_of(ds) == [["joy"], ["anger"], ["sadness"], ["guilt"]]
    # the same file in Latin-1 (not UTF-8) reads the same
    latin = write(tmp_path / "isear_latin1.csv", [ISEAR_HEAD] + [isear_line(*r) for r in ISEAR_ROWS], "latin-1")
    assert load_dataset("isear", "all", path=latin).texts == ISEAR_TEXTS
    bad = write(tmp_path / "short.csv", [ISEAR_HEAD, "99001|1|1|joy"])
    with pytest.raises(InputError, match=r"short.csv:2: expected 42 \|-separated fields"):
        load_dataset("isear", "all", path=bad)


def test_xed_official_files(tmp_path):
    ann = write(tmp_path / "en-annotated.tsv", [
        "Get out of my house , [PERSON] !\t1, 3",
        "Oh my God , you came back !\t5, 7, 8",
        "I don't trust him ... not one bit .\t4",
    ])
    neu = write(tmp_path / "neu_en.txt", ["9\tPass the salt .", "9\tWhere's the car ?"])
    ds = load_dataset("xed", "all", path=ann, neutral_path=neu)
    assert len(ds) == 5
    assert ds.texts == ["Get out of my house , [PERSON] !", "Oh my God , you came back !",
                        "I don't trust him ... not one bit .", "Pass the salt .", "Where's the car ?"]
    assert [set(n) for n in names_of(ds)] == [{"anger", "disgust"}, {"joy", "surprise", "trust"}, {"fear"}, set(),
                                              set()]


def test_semeval2007_official_files(tmp_path):
    write(tmp_path / "affectivetext_trial.xml", [
        '<corpus task="affective text">',
        '<instance id="1">Quake rattles coastal towns, dozens hurt</instance>',
        '<instance id="2">Rescued puppy &amp; kitten become best friends</instance>',
        "</corpus>",
    ])
    write(tmp_path / "affectivetext_trial.emotions.gold", ["1 12 0 71 0 45 38", "2 0 0 0 83 4 27"])
    write(tmp_path / "affectivetext_trial.valence.gold", ["1 -64", "2 77"])
    ds = load_dataset("semeval2007", "trial", path=tmp_path / "affectivetext_trial.xml")
    assert len(ds) == 2 and ds.meta["id"] == ["1", "2"]
    assert ds.texts == ["Quake rattles coastal towns, dozens hurt", "Rescued puppy & kitten become best friends"]
    assert ds.categories[0].tolist() == pytest.approx([0.12, 0.0, 0.71, 0.0, 0.45, 0.38])
    assert ds.categories[1].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.83, 0.04, 0.27])
    assert ds.label_sets().tolist() == [[False, False, True, False, False, False],
                                        [False, False, False, True, False, False]]
    assert ds.vad[:, 0].tolist() == pytest.approx([-0.64, 0.77])
