"""Unit tests of the LLM analyzer's parts: settings, prompt templates, reply parsing and repair, words to labels,
and the arithmetic from a reply to the common schema (hand-computed values)."""

from __future__ import annotations

import json

import pytest
from llm_servers import _isolated_llm_env  # noqa: F401  (autouse)

from affectkit.labels import get_labelset
from affectkit.llm.parsing import ReplyError, extract_json, parse_reply
from affectkit.llm.settings import LLMConfigError, Secret, parse_spec, redact, redact_url, resolve_settings
from affectkit.llm.templates import load_template, relaxed_schema
from affectkit.llm.words import label_weights, locate

EKMAN = get_labelset("ekman")


# -- settings ------------------------------------------------------------------------------------------------------
def test_spec_parsing_model_url_and_options():
    s = parse_spec("qwen2.5:7b@http://localhost:11434/v1?mode=hybrid&max_tokens=99&outputs=vad,cause&disk_cache=false")
    assert s["model"] == "qwen2.5:7b"
    assert s["base_url"] == "http://localhost:11434/v1"
    assert s["mode"] == "hybrid" and s["max_tokens"] == 99 and s["outputs"] == ("vad", "cause")
    assert s["disk_cache"] is False
    assert parse_spec("") == {}
    assert parse_spec("@http://h:1/v1") == {"base_url": "http://h:1/v1"}


def test_settings_priority_kwargs_over_spec_over_env_over_file(tmp_path, monkeypatch):
    cfg = tmp_path / "llm.yaml"
    cfg.write_text("base_url: http://file/v1\nmodel: file-model\nmax_tokens: 11\ntimeout: 5\n"
                   "api_key_env: MY_KEY_VAR\n")
    monkeypatch.setenv("MY_KEY_VAR", "sk-from-file-var")
    monkeypatch.setenv("AFFECTKIT_LLM_CONFIG", str(cfg))
    s = resolve_settings()
    assert (s.base_url, s.model, s.max_tokens, s.timeout) == ("http://file/v1", "file-model", 11, 5.0)
    assert s.api_key.get() == "sk-from-file-var"
    monkeypatch.setenv("AFFECTKIT_LLM_MODEL", "env-model")
    monkeypatch.setenv("AFFECTKIT_LLM_MAX_TOKENS", "22")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-env")
    s = resolve_settings()
    assert (s.model, s.max_tokens, s.api_key.get()) == ("env-model", 22, "sk-openai-env")
    monkeypatch.setenv("AFFECTKIT_LLM_API_KEY", "sk-affectkit-env")
    s = resolve_settings("spec-model@http://spec/v1/?max_tokens=33")
    assert (s.model, s.base_url, s.max_tokens, s.api_key.get()) == ("spec-model", "http://spec/v1", 33,
                                                                    "sk-affectkit-env")
    s = resolve_settings("spec-model?max_tokens=33", max_tokens=44, mode="describe")
    assert (s.max_tokens, s.mode) == (44, "describe")


def test_settings_reject_bad_values():
    with pytest.raises(LLMConfigError, match="unknown LLM option 'colour'"):
        resolve_settings("m@http://x/v1?colour=red")
    with pytest.raises(LLMConfigError, match="not a valid int"):
        resolve_settings("m@http://x/v1?max_tokens=lots")
    with pytest.raises(LLMConfigError, match="unknown LLM mode"):
        resolve_settings("m@http://x/v1", mode="poetry")
    with pytest.raises(LLMConfigError, match="unknown LLM outputs"):
        resolve_settings("m@http://x/v1", outputs="vad,horoscope")
    with pytest.raises(LLMConfigError, match="config file not found"):
        resolve_settings(config="/nonexistent/llm.yaml")


def test_missing_server_is_a_clear_error():
    import affectkit

    with pytest.raises(affectkit.AffectkitError, match="no LLM server given"):
        affectkit.load("llm:some-model", cache=False)


def test_secrets_do_not_show():
    key = Secret("sk-live-1234567890abcdef")
    assert "1234567890" not in repr(key) and "1234567890" not in f"{key}"
    s = resolve_settings("m@http://user:pw@host:8000/v1", api_key="sk-live-1234567890abcdef")
    public = json.dumps(s.public())
    assert "1234567890" not in public and "pw" not in public and "***" in public
    assert redact_url("http://user:pw@host:8000/v1") == "http://***@host:8000/v1"
    msg = "bad key sk-live-1234567890abcdef, also Bearer abcdef123456 and sk-live-...cdef"
    out = redact(msg, key)
    assert "1234567890" not in out and "abcdef123456" not in out and "sk-live-" not in out


# -- templates -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["classify", "describe", "hybrid", "cause", "explain", "compare", "judge"])
def test_every_shipped_template_has_a_version_and_a_schema(name):
    t = load_template(name)
    assert t.version and t.schema["type"] == "object" and t.schema["required"]
    assert t.id.startswith(f"{name}@")


def test_render_fills_placeholders_and_requested_outputs():
    t = load_template("classify")
    r = t.render({"text": "I love it", "labels": list(EKMAN.labels), "label_list": ", ".join(EKMAN.labels),
                  "max_emotions": 2}, ("vad", "cause"))
    assert r.prompt_id == "classify@1+outputs@1"
    user = r.messages[1]["content"]
    assert '"""I love it"""' in user and "anger, disgust, fear" in user and "Self-Assessment Manikin" in user
    assert '"cause"' in user and '"explanation"' not in user and "$" not in user
    props = r.schema["properties"]
    assert set(r.schema["required"]) == {"emotions", "valence", "arousal", "dominance", "cause"}
    assert props["emotions"]["maxItems"] == 2
    assert props["emotions"]["items"]["properties"]["label"]["enum"][0] == "anger"
    assert "enum" not in json.dumps(relaxed_schema(r.schema))
    assert relaxed_schema(r.schema)["properties"]["valence"]["maximum"] == 9


def test_open_vocabulary_schema_has_no_label_enum():
    r = load_template("describe").render({"text": "x", "labels": None, "max_emotions": 3}, ("evidence",))
    ev = r.schema["properties"]["evidence"]["items"]["properties"]["emotion"]
    assert ev == {"type": "string"}


def test_prompts_dir_overrides_by_name(tmp_path):
    src = load_template("cause")
    (tmp_path / "cause.yaml").write_text(f"name: cause\nversion: 7\nsystem: s\nuser: 'T: $text / $emotion'\n"
                                         f"schema: {json.dumps(src.schema)}\n")
    t = load_template("cause", str(tmp_path))
    assert t.id == "cause@7"
    assert t.render({"text": "a", "emotion": "joy"}).messages[1]["content"] == "T: a / joy"
    assert load_template("compare", str(tmp_path)).id == "compare@1"  # not overridden: the shipped one


# -- parsing and repair --------------------------------------------------------------------------------------------
SCHEMA = {"type": "object", "required": ["emotions"],
          "properties": {"emotions": {"type": "array", "minItems": 1, "maxItems": 2,
                                      "items": {"type": "object", "required": ["label", "score"],
                                                "properties": {"label": {"type": "string"},
                                                               "score": {"type": "number", "minimum": 0,
                                                                         "maximum": 1}}}},
                         "valence": {"type": "number", "minimum": 1, "maximum": 9},
                         "cause": {"type": "string"}}}


def test_strict_json_needs_no_repair():
    r = parse_reply('{"emotions": [{"label": "joy", "score": 0.5}]}', SCHEMA)
    assert r.data == {"emotions": [{"label": "joy", "score": 0.5}]} and r.repairs == []


@pytest.mark.parametrize("text", [
    '```json\n{"emotions": [{"label": "joy", "score": 0.5},],}\n```',
    'Sure! Here is the answer: {"emotions": [{"label": "joy", "score": 0.5}]} Let me know.',
    "{'emotions': [{'label': 'joy', 'score': 0.5}]}",
    '<think>the user wants {json}</think>\n{"emotions": [{"label": "joy", "score": 0.5}]}',
    '{"emotions": [{"label": "joy", "score": 0.5}]',  # cut off
])
def test_malformed_replies_are_repaired(text):
    r = parse_reply(text, SCHEMA)
    assert r.data["emotions"] == [{"label": "joy", "score": 0.5}]
    assert r.repairs


@pytest.mark.parametrize("text, message", [
    ("I cannot answer that.", "not a JSON object"),
    ("", "empty reply"),
    ('{"valence": 3}', "'emotions' is a required property"),
    ('{"emotions": []}', "is invalid"),
    ('{"emotions": [{"label": "joy"}]}', "is invalid"),  # the only item is invalid, so nothing is left
])
def test_unrepairable_replies_fail_with_a_reason(text, message):
    with pytest.raises(ReplyError, match=message):
        parse_reply(text, SCHEMA)


def test_schema_repairs_clamp_truncate_convert_and_drop():
    text = json.dumps({"emotions": [{"label": "joy", "score": 8}, {"label": "fear", "score": "0.25"},
                                    {"label": "anger", "score": 0.1}],
                       "valence": 0, "cause": 42})
    r = parse_reply(text, SCHEMA)
    # a list item's score is clamped (its label is the answer); an optional rating out of its range is no rating
    assert r.data == {"emotions": [{"label": "joy", "score": 1}, {"label": "fear", "score": 0.25}]}
    assert any("clamped emotions/0/score=8 to 1" in x for x in r.repairs)
    assert any("dropped valence=0: out of range" in x for x in r.repairs)
    assert any("kept the first 2 items" in x for x in r.repairs)
    assert any("dropped invalid cause" in x for x in r.repairs)


def test_extract_keeps_the_first_object_of_several():
    value, _ = extract_json('{"a": 1} {"b": 2}')
    assert value == {"a": 1}


# -- words to labels and quotes to spans ---------------------------------------------------------------------------
def test_label_weights_by_name_synonym_neutral_and_unmapped():
    assert label_weights("Joy", EKMAN) == (("joy", 1.0),)
    assert label_weights("furious", EKMAN) == (("anger", 1.0),)  # Parrott: anger.rage.fury
    assert label_weights("annoyed", EKMAN) == (("anger", 1.0),)
    assert label_weights("happy", EKMAN) == (("joy", 1.0),)
    assert label_weights("neutral", EKMAN) == (("neutral", 1.0),)
    assert label_weights("none", get_labelset("plutchik")) == ()  # Plutchik has no neutral label
    assert label_weights("blorptastic", EKMAN) == ()
    goemo = dict(label_weights("irritated", get_labelset("goemotions")))
    assert goemo == {"annoyance": 1.0}


def test_locate_finds_quotes_case_and_spacing_insensitively():
    text = "Honestly, I LOVE this -- thank  you so much!"
    assert locate("love this", text) == (12, 21) and text[12:21] == "LOVE this"
    assert text[slice(*locate("thank you", text))] == "thank  you"
    assert locate("hate", text) is None
    assert locate("!!!", text) is None
    t2 = "sad, so sad"
    first = locate("sad", t2)
    assert locate("sad", t2, {first}) == (8, 11)
