import numpy as np
import pytest

import affectkit
from affectkit.analyzers.lexicon import LexiconAnalyzer, read_lexicon
from affectkit.errors import InputError
from affectkit.vad import convert


def test_read_emolex_word_level(fixtures):
    lex = read_lexicon(fixtures / "emolex_wordlevel.txt")
    assert lex.emotions["hate"] == {"anger", "disgust", "fear", "sadness"}
    assert "abandon" in lex.emotions and "anger" not in lex.emotions["abandon"]
    assert lex.polarity["happy"] == 1 and lex.polarity["terrible"] == -1


def test_read_emolex_wide_nrc_vad_and_warriner(fixtures):
    assert read_lexicon(fixtures / "emolex_wide.tsv").emotions["happy"] == {"anticipation", "joy", "trust"}
    vad = read_lexicon(fixtures / "nrc_vad.tsv")
    assert vad.vad["calm"] == (0.83, 0.08, 0.56) and vad.vad_scale == "0..1"
    w = read_lexicon(fixtures / "warriner.csv")
    assert w.vad["happy"] == (8.5, 6.0, 7.0) and w.vad_scale == "1..9"


def test_unreadable_lexicon(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("just some words\nand more\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        read_lexicon(p)
    with pytest.raises(InputError, match="not found"):
        read_lexicon(tmp_path / "missing.txt")


def test_counts_negation_and_evidence(fixtures):
    a = LexiconAnalyzer([fixtures / "emolex_wordlevel.txt", fixtures / "nrc_vad.tsv"])
    p = a.analyze("I hate this terrible day", top_k=9)
    # hate: anger disgust fear sadness; terrible: fear sadness; "I", "this", "day": 3 x 0.1 neutral
    total = 6 + 0.3
    assert p.distribution["fear"] == pytest.approx(2 / total) and p.distribution["anger"] == pytest.approx(1 / total)
    assert p.distribution["neutral"] == pytest.approx(0.3 / total)
    assert {e.text for e in p.evidence} == {"hate", "terrible"}
    assert p.valence == pytest.approx(convert((0.01 + 0.04) / 2, "0..1", "-1..1"))
    neg = a.analyze("I am not happy", top_k=9)
    assert neg.distribution["joy"] == 0  # a negated emotion word adds nothing
    # negated valence is reflected about the midpoint and halved: 0.5 - 0.5 * (1.0 - 0.5) = 0.25 on 0..1
    assert neg.valence == pytest.approx(convert(0.25, "0..1", "-1..1"))
    # negation stops at punctuation
    assert a.analyze("not now. happy", top_k=9).distribution["joy"] > 0


def test_word_forms_and_no_hits(fixtures):
    a = LexiconAnalyzer([fixtures / "emolex_wordlevel.txt"])
    assert a.analyze("she hated it").distribution["anger"] > 0  # hated -> hate
    p = a.analyze("the cat sat")
    assert p.top == "neutral" and p.intensity == 0 and p.labels == ["neutral"]
    assert p.valence is None  # no VAD lexicon and no polar word


def test_emolex_polarity_gives_valence_without_a_vad_lexicon(fixtures):
    a = LexiconAnalyzer([fixtures / "emolex_wordlevel.txt"])
    assert a.analyze("happy love").valence == pytest.approx(1.0)
    assert a.analyze("terrible").polarity == "negative"


def test_load_by_spec_and_map_to_ekman(fixtures):
    a = affectkit.load(f"lexicon:{fixtures / 'emolex_wordlevel.txt'}")
    p = a.analyze("I hate this", labels="ekman", top_k=7)
    assert p.labelset == "ekman" and abs(sum(p.distribution.values()) - 1) < 1e-9
    assert {"anger", "disgust", "fear", "sadness"} <= set(p.labels)
    assert np.isclose(p.distribution["anger"], p.distribution["disgust"])
