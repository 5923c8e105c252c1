import json

import numpy as np
import pytest
from conftest import requires_data, shared_data

from affectkit.errors import UnknownLabelSetError
from affectkit.labels import get_labelset, get_mapping, list_labelsets, parrott_tree


@pytest.mark.parametrize("name,size", [
    ("goemotions", 28), ("ekman", 7), ("plutchik", 8), ("semeval-ec", 11), ("leia", 5), ("armanemo", 7),
    ("eemo", 7), ("mikels", 8), ("emorynlp", 7), ("parrott-1", 6), ("parrott-2", 25), ("parrott-3", 135),
])
def test_label_set_sizes(name, size):
    assert len(get_labelset(name)) == size


def test_aliases_and_case():
    assert get_labelset("GoEmotions-28").name == "goemotions"
    assert get_labelset("MELD").name == "ekman"
    assert get_labelset("parrott").name == "parrott-1"


def test_unknown_label_set_lists_known_ones():
    with pytest.raises(UnknownLabelSetError) as e:
        get_labelset("nope")
    assert "known label sets" in str(e.value) and "goemotions" in str(e.value)


def test_every_label_has_a_valid_anchor():
    tree = parrott_tree()
    for ls in list_labelsets():
        assert set(ls.anchors) == set(ls.labels)
        for node in ls.anchors.values():
            if node is not None:
                tree.node(node)


def test_parrott_tree_shape_and_primary_children():
    tree = parrott_tree()
    assert [n.name for n in tree.tier(1)] == ["love", "joy", "surprise", "anger", "sadness", "fear"]
    children = {p.name: [n.name for n in tree.tier(2) if n.parent == p.id] for p in tree.tier(1)}
    assert children["love"] == ["affection", "lust", "longing"]
    assert children["joy"] == ["cheerfulness", "zest", "contentment", "pride", "optimism", "enthrallment", "relief"]
    assert children["anger"] == ["irritation", "exasperation", "rage", "disgust", "envy", "torment"]
    assert children["sadness"] == ["suffering", "sadness", "disappointment", "shame", "neglect", "sympathy"]
    assert children["fear"] == ["horror", "nervousness"]
    assert len({n.name for n in tree.tier(3)}) == 135  # tertiary names are unique


@pytest.mark.parametrize("word,node", [
    ("annoyed", "anger.irritation.annoyance"),
    ("Feeling very HOPEFUL!", "joy.optimism.hope"),
    ("joyfully", "joy.cheerfulness.joy"),
    ("worriedly", "fear.nervousness.worry"),
    ("heartbroken", "sadness.sadness.grief"),
    ("grateful", "joy.contentment"),
    ("pissed off", "anger.rage.anger"),
    ("terrified", "fear.horror.terror"),
    ("sadness", "sadness.sadness.sadness"),
])
def test_normalize_words(word, node):
    assert parrott_tree().normalize(word).node.id == node


@pytest.mark.parametrize("word", ["bored", "table", "", "   ", None])
def test_normalize_says_why_not(word):
    r = parrott_tree().normalize(word)
    assert r.node is None and r.reason


def test_roll_up_and_down():
    tree = parrott_tree()
    assert tree.roll_up("anger.irritation.annoyance", 1) == "anger"
    assert tree.roll_up("anger.irritation.annoyance", 2) == "anger.irritation"
    assert tree.roll_up("anger", 3) == "anger"
    assert tree.roll_down("fear", 2) == ["fear.horror", "fear.nervousness"]
    assert len(tree.roll_down("fear", 3)) == 17  # 9 under horror + 8 under nervousness
    up = tree.roll_up_scores({"joy.zest.excitement": 0.5, "joy.pride": 0.2, "fear.horror.panic": 0.3}, 1)
    assert up["joy"] == pytest.approx(0.7) and up["fear"] == pytest.approx(0.3) and sum(up.values()) == pytest.approx(1)
    down = tree.roll_down_scores({"fear": 1.0}, 2)
    assert down["fear.horror"] == pytest.approx(0.5) and down["fear.nervousness"] == pytest.approx(0.5)


def test_relations():
    tree = parrott_tree()
    assert tree.opposite("joy") == ["sadness"] and tree.opposite("anticipation") == ["surprise"]
    assert tree.components("love") == ("joy", "trust")
    assert tree.leads_to("frustration") == ["anger", "hostility"]
    words = {w for pair in tree.relations["opposite_of"] + tree.relations["leads_to"] for w in pair}
    words |= {w for item in tree.relations["composed_of"] for w in item}
    for w in words:  # every word in a relation resolves to a node
        assert tree.normalize(w).node is not None, w


def test_goemotions_to_ekman_is_the_published_grouping():
    m = get_mapping("goemotions", "ekman")
    assert not m.derived and "Demszky" in m.citation
    assert m.map_label("annoyance") == ["anger"] and m.map_label("nervousness") == ["fear"]
    assert m.map_label("curiosity") == ["surprise"] and m.map_label("neutral") == ["neutral"]
    assert m.unmapped == []
    assert np.allclose(m.matrix.sum(axis=1), 1.0)


@requires_data
def test_goemotions_ekman_mapping_matches_the_released_file():
    published = json.loads((shared_data() / "goemotions" / "ekman_mapping.json").read_text())
    m = get_mapping("goemotions", "ekman")
    for ekman, sources in published.items():
        for s in sources:
            assert m.map_label(s) == [ekman]


def test_map_distribution_hand_computed():
    m = get_mapping("semeval-ec", "plutchik")  # love = joy + trust (Plutchik dyad), split 0.5 / 0.5
    src = get_labelset("semeval-ec")
    p = np.zeros(len(src))
    p[src.index("love")] = 0.6
    p[src.index("anger")] = 0.4
    out, mass = m.map_distribution(p[None])
    tgt = m.target
    assert mass[0] == pytest.approx(1.0)
    assert out[0, tgt.index("joy")] == pytest.approx(0.3)
    assert out[0, tgt.index("trust")] == pytest.approx(0.3)
    assert out[0, tgt.index("anger")] == pytest.approx(0.4)


def test_map_distribution_renormalises_unmapped_mass():
    m = get_mapping("goemotions", "plutchik")  # neutral has no Plutchik counterpart
    assert set(m.unmapped) == {"neutral"}
    src = get_labelset("goemotions")
    p = np.zeros(len(src))
    p[src.index("neutral")], p[src.index("anger")], p[src.index("joy")] = 0.5, 0.3, 0.2
    out, mass = m.map_distribution(p[None])
    assert mass[0] == pytest.approx(0.5)
    assert out[0, m.target.index("anger")] == pytest.approx(0.6)
    assert out[0, m.target.index("joy")] == pytest.approx(0.4)
    all_unmapped = np.zeros(len(src))
    all_unmapped[src.index("neutral")] = 1
    out, mass = m.map_distribution(all_unmapped[None])
    assert mass[0] == 0 and np.allclose(out, 1 / 8)


def test_map_scores_takes_the_largest_feeding_score_and_indicators_any():
    m = get_mapping("goemotions", "ekman")
    src = get_labelset("goemotions")
    s = np.zeros(len(src))
    s[src.index("annoyance")], s[src.index("anger")], s[src.index("fear")] = 0.7, 0.2, 0.4
    out = m.map_scores(s[None])[0]
    assert out[m.target.index("anger")] == pytest.approx(0.7) and out[m.target.index("fear")] == pytest.approx(0.4)
    y = np.zeros((1, len(src)), dtype=bool)
    y[0, src.index("grief")] = True
    assert m.map_indicators(y)[0].tolist() == [lab == "sadness" for lab in m.target.labels]


def test_derived_mappings_use_names_then_the_tree():
    m = get_mapping("goemotions", "leia")
    assert m.derived
    assert m.map_label("curiosity") == ["happiness"]  # joy.optimism.eagerness -> joy
    assert m.map_label("annoyance") == ["anger"]  # anger.irritation.annoyance -> anger
    assert m.map_label("admiration") == ["affection"]  # love.affection.adoration -> love
    published = get_mapping("goemotions", "plutchik")  # Plutchik's dyads, weights shared
    assert not published.derived and published.targets_of("love") == {"joy": 0.5, "trust": 0.5}
    m2 = get_mapping("goemotions", "eemo")  # composed through the published Ekman grouping
    assert "Demszky" in m2.citation and m2.map_label("gratitude") == ["joy"]
    m3 = get_mapping("goemotions", "parrott-1")
    assert m3.map_label("annoyance") == ["anger"] and m3.map_label("desire") == ["love"]
    assert m3.unmapped == ["neutral"]


def test_every_pair_of_label_sets_has_a_mapping_with_valid_rows():
    sets = [ls.name for ls in list_labelsets()]
    for a in sets:
        for b in sets:
            m = get_mapping(a, b)
            rows = m.matrix.sum(axis=1)
            assert np.all((np.isclose(rows, 1.0)) | (rows == 0)), (a, b)


def test_derived_mapping_reaches_the_nearest_relative_below_the_primary_tier():
    from affectkit.labels import LabelSet

    words = LabelSet("words", ("irritation", "rage", "desire"), anchors={
        "irritation": "anger.irritation.irritation", "rage": "anger.rage.rage", "desire": "love.lust.desire"})
    to_go = get_mapping(words, "goemotions")
    assert to_go.map_label("irritation") == ["annoyance"]  # sibling under anger.irritation
    # Parrott's tertiary tier is finer than any source: 10% of a label's mass goes to the unreached labels under
    # its primary, so that every label is reachable
    to_tier3 = get_mapping("goemotions", "parrott-3")
    assert to_tier3.unreached == [] and to_tier3.targets_of("annoyance")["annoyance"] == pytest.approx(0.9)
    assert to_go.map_label("rage") == ["anger"]  # GoEmotions anger sits at anger.rage.anger
    assert get_mapping(words, "plutchik").unmapped == ["desire"]  # no cousins across a primary emotion
