import numpy as np
import pytest

import affectkit

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import make_tiny_bert  # noqa: E402


@pytest.fixture(scope="module")
def ekman_classifier(tmp_path_factory):
    names = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]  # a different order than ours
    return make_tiny_bert(tmp_path_factory.mktemp("hf-ekman"), num_labels=7, id2label=dict(enumerate(names)))


def test_labels_are_matched_to_a_known_set_and_reordered(ekman_classifier):
    a = affectkit.load(f"hf:{ekman_classifier}", cache=False)
    assert a.labelset.name == "ekman"
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ekman_classifier)
    model = AutoModelForSequenceClassification.from_pretrained(ekman_classifier).eval()
    with torch.no_grad():
        logits = model(**tok(["i am happy"], return_tensors="pt")).logits[0].numpy()
    probs = np.exp(logits) / np.exp(logits).sum()
    p = a.analyze("i am happy", top_k=7)
    assert p.distribution["joy"] == pytest.approx(float(probs[3]), abs=1e-5)
    assert p.distribution["neutral"] == pytest.approx(float(probs[4]), abs=1e-5)


def test_long_text_is_windowed(ekman_classifier):
    a = affectkit.load(f"hf:{ekman_classifier}", cache=False)
    p = a.analyze(" ".join(["happy sad"] * 40))  # 80 tokens, model_max_length 16
    assert p.n_segments > 1 and abs(sum(p.distribution.values()) - 1) < 1e-6


def test_unknown_label_names_are_anchored_on_the_tree(tmp_path):
    names = ["furious", "cheerful", "worried", "no emotion"]
    path = make_tiny_bert(tmp_path / "m", num_labels=4, id2label=dict(enumerate(names)),
                          problem_type="multi_label_classification")
    a = affectkit.load(f"hf:{path}", cache=False)
    assert a.labelset.name.startswith("hf:") and a.labelset.neutral == "no emotion"
    p = a.analyze("i hate this", labels="ekman", top_k=7)
    assert p.labelset == "ekman" and set(p.distribution) == set(affectkit.get_labelset("ekman").labels)
    assert p.distribution["disgust"] == 0 and p.distribution["surprise"] == 0  # nothing maps there
    assert p.distribution["anger"] > 0 and p.distribution["joy"] > 0 and p.distribution["fear"] > 0
