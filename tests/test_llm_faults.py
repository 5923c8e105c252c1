"""The LLM analyzer against a fault-injecting HTTP server: the common schema from a known reply (hand-computed),
retries, timeouts, dropped connections, malformed replies, structured-output negotiation, concurrency, the cache,
the circuit breaker, secrets, and the questions beyond rows (cause, explain, compare, judge)."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from llm_servers import FaultServer, _isolated_llm_env, fault_server, run_affectkit  # noqa: F401

import affectkit
from affectkit.llm.analyzer import LLMAnalyzer
from affectkit.runner import AnalyzeOptions, analyze_frame

FAST = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 1.0, "max_retries": 3, "disk_cache": False}


def make(server: FaultServer, **kw) -> LLMAnalyzer:
    return affectkit.load(f"llm:fake-model@{server.base_url}", cache=False, **{**FAST, **kw})


def test_reply_fills_the_common_schema(fault_server):
    llm = make(fault_server)
    p = llm.analyze("I love the gift you sent me", labels="ekman")
    assert p.error is None and p.model == "llm:fake-model"
    assert p.distribution["joy"] == pytest.approx(0.8) and p.distribution["surprise"] == pytest.approx(0.2)
    assert [e.label for e in p.emotions[:2]] == ["joy", "surprise"]
    assert p.labels == ["joy"]  # multi-label: scores 0.8 and 0.2 against 0.5
    # 1..9 ratings on affectkit's -1..1: (x - 1) / 8 * 2 - 1
    assert (p.valence, p.arousal, p.dominance) == pytest.approx((0.75, 0.5, 0.25))
    assert p.vad_scale == "-1..1" and p.intensity == pytest.approx(0.7)
    # the quote that is not in the text is dropped
    assert [(e.text, e.start, e.end, e.label) for e in p.evidence] == [("love", 2, 6, "joy")]
    assert p.evidence[0].weight == pytest.approx(0.8)
    assert p.cause == "the gift" and p.explanation.startswith("The writer says")
    assert p.extra["emotion_words"] == ["joy", "surprise"] and p.extra["unmapped_words"] == []
    usage = p.extra["usage"]
    assert usage == {"prompt_tokens": 11, "completion_tokens": 7, "seconds": usage["seconds"], "attempts": 1,
                     "cached": False}
    on_nine = llm.analyze("I love the gift you sent me", labels="ekman", vad_scale="1..9")
    assert on_nine.valence == pytest.approx(8.0)
    # another label set: the same words through the Parrott mapping
    g = llm.analyze("I love the gift you sent me", labels="goemotions")
    assert g.emotions[0].label == "joy" and g.distribution["surprise"] == pytest.approx(0.2)


def test_open_vocabulary_words_are_normalised_and_unmapped_ones_reported():
    reply = {"emotion_words": ["Furious", "zorbly", "hopeful"], "explanation": "x"}
    with FaultServer(reply) as server:
        p = make(server, mode="describe", outputs="explanation").analyze("You lied to me", labels="ekman")
    assert p.extra["emotion_words"] == ["Furious", "zorbly", "hopeful"]
    assert p.extra["unmapped_words"] == ["zorbly"]
    # rank weights 1, 1/2, 1/3: Furious -> anger (1), zorbly -> nothing, hopeful -> joy.optimism.hope -> joy (1/3)
    assert p.error is None and p.explanation == "x"
    assert p.distribution["anger"] == pytest.approx(0.75) and p.distribution["joy"] == pytest.approx(0.25)
    body = server.chat_requests()[-1]["body"]
    assert "labels" not in json.dumps(body["messages"])  # open vocabulary: no label list in the prompt


def test_all_words_unmapped_gives_a_row_error_not_a_guess():
    with FaultServer({"emotion_words": ["zorbly"]}) as server:
        p = make(server, mode="describe", outputs="").analyze("hmm", labels="ekman")
    assert p.error == "no emotion word of the reply maps onto ekman: ['zorbly']"
    assert p.extra["unmapped_words"] == ["zorbly"] and p.emotions == []


def test_faults_leave_a_complete_job_with_errors_on_the_affected_rows():
    texts = ["fine one", "FAULT[429*2] busy", "FAULT[500*1] oops", "FAULT[close*1] drop", "FAULT[hang*1] slow",
             "FAULT[fenced] fence", "FAULT[garbage] prose", "FAULT[badbody] broken", "FAULT[503] down",
             "FAULT[hang] stuck", None, "last fine one"]
    with FaultServer(hang_seconds=3.0) as server:
        llm = make(server, timeout=0.5, max_retries=2, concurrency=4, breaker=0)
        out = analyze_frame(pd.DataFrame({"text": texts, "id": range(len(texts))}), llm,
                            AnalyzeOptions(labels="ekman"))
        summary = llm.summary()
    assert list(out["id"]) == list(range(len(texts)))  # one row out per row in, in order
    err = {t: (None if pd.isna(e) else e) for t, e in zip(texts, out["error"])}
    for ok in ("fine one", "FAULT[429*2] busy", "FAULT[500*1] oops", "FAULT[close*1] drop", "FAULT[hang*1] slow",
               "FAULT[fenced] fence", "last fine one"):
        assert err[ok] is None, (ok, err[ok])
        assert out.loc[out["text"] == ok, "emotion_1"].item() == "joy"
    assert err["FAULT[garbage] prose"].startswith("invalid reply: reply is not a JSON object")
    assert err["FAULT[badbody] broken"].startswith("server sent a body that is not JSON")
    assert "gave up after 3 attempts" in err["FAULT[badbody] broken"]
    assert err["FAULT[503] down"].startswith("HTTP 503") and "gave up after 3 attempts" in err["FAULT[503] down"]
    assert err["FAULT[hang] stuck"].startswith("request timed out after 0.5s")
    assert err[None] == "missing text"  # pandas holds the missing text as NaN
    usage = dict(zip(texts, out["usage"]))
    assert usage["FAULT[429*2] busy"]["attempts"] == 3 and usage["FAULT[500*1] oops"]["attempts"] == 2
    assert usage["FAULT[close*1] drop"]["attempts"] == 2 and usage["FAULT[hang*1] slow"]["attempts"] == 2
    repairs = dict(zip(texts, out["repairs"]))
    assert repairs["FAULT[fenced] fence"] == ["repaired malformed JSON"] and repairs["fine one"] is None
    # retries: 2 + 1 + 1 + 1 for the recovering rows, 2 each for badbody, 503 and the endless hang
    assert summary["retries"] == 11 and summary["failed"] == 4 and summary["prompts"] == 11
    # replies that came: not those of badbody, 503 and the hang, which never got one (garbage did: prose)
    assert summary["replies"] == 8
    assert summary["prompt_tokens"] == 11 * 8 and summary["structured_output"] == "json_schema"


def test_load_never_hands_out_a_closed_analyzer(fault_server):
    spec = f"llm:fake-model@{fault_server.base_url}?disk_cache=false"
    with affectkit.load(spec) as first:
        assert first.analyze("I love the gift", labels="ekman").error is None
    second = affectkit.load(spec)
    assert second is not first and not second.closed
    assert second.analyze("I love the gift", labels="ekman").error is None  # not "client has been closed"
    assert affectkit.load(spec) is second  # still cached while open
    second.close()
    assert affectkit.load(spec) is not second


def test_concurrency_limit_is_respected():
    with FaultServer(delay=0.3) as server:
        llm = make(server, concurrency=3)
        preds = llm.analyze([f"text {i}" for i in range(9)], labels="ekman")
    assert all(p.error is None for p in preds)
    assert server.max_inflight == 3


def test_structured_output_negotiation_steps_down_to_what_the_server_takes():
    with FaultServer(reject_formats=("json_schema",)) as server:
        llm = make(server)
        assert llm.analyze(["a", "b"], labels="ekman")[1].error is None
        forms = [(r["body"].get("response_format") or {}).get("type") for r in server.chat_requests()]
    assert forms == ["json_schema", "json_object", "json_object"]
    assert llm.summary()["structured_output"] == "json_object"
    with FaultServer(reject_formats=("json_schema", "json_object")) as server:
        llm = make(server)
        assert llm.analyze(["a", "b"], labels="ekman")[1].error is None
        forms = [(r["body"].get("response_format") or {}).get("type") for r in server.chat_requests()]
    assert forms == ["json_schema", "json_object", None, None]
    with FaultServer(reject_formats=("json_schema",)) as server:  # told not to negotiate: the error is the row's
        p = make(server, structured="json_schema").analyze("a", labels="ekman")
    assert p.error.startswith("HTTP 400") and "not supported" in p.error


def test_schema_in_request_follows_label_set(fault_server):
    make(fault_server).analyze("x", labels="plutchik")
    body = fault_server.chat_requests()[-1]["body"]
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["emotions"]["items"]["properties"]["label"]["enum"] == list(
        affectkit.get_labelset("plutchik").labels)
    assert body["temperature"] == 0.0 and body["max_tokens"] == 256 and body["model"] == "fake-model"


def test_disk_cache_hits_and_keys_on_prompt_version(tmp_path):
    cache = tmp_path / "c"
    with FaultServer() as server:
        first = make(server, disk_cache=True, cache_dir=str(cache)).analyze(["a", "b"], labels="ekman")
        n = len(server.chat_requests())
        llm = make(server, disk_cache=True, cache_dir=str(cache))
        again = llm.analyze(["a", "b"], labels="ekman")
        assert len(server.chat_requests()) == n  # nothing sent
        assert [p.extra["usage"]["cached"] for p in again] == [True, True]
        assert [p.distribution for p in again] == [p.distribution for p in first]
        assert llm.summary()["cache_hits"] == 2 and llm.summary()["prompt_tokens"] == 0
        make(server, disk_cache=True, cache_dir=str(cache), max_tokens=100).analyze("a", labels="ekman")
        assert len(server.chat_requests()) == n + 1  # other options, other key
        from importlib import resources

        prompts = tmp_path / "prompts"
        prompts.mkdir()
        text = resources.files("affectkit.llm.prompts").joinpath("classify.yaml").read_text()
        (prompts / "classify.yaml").write_text(text.replace("version: 1", "version: 2"))
        bumped = make(server, disk_cache=True, cache_dir=str(cache), prompts_dir=str(prompts))
        assert bumped.info()["prompt"] == "classify@2+outputs@1"
        bumped.analyze("a", labels="ekman")
        assert len(server.chat_requests()) == n + 2  # a new prompt version is a new key


def test_errors_are_not_cached(tmp_path):
    with FaultServer() as server:
        llm = make(server, disk_cache=True, cache_dir=str(tmp_path / "c"))
        assert llm.analyze("FAULT[garbage] x", labels="ekman").error
        assert llm.analyze("FAULT[garbage] x", labels="ekman").error
        assert len(server.chat_requests()) == 2


def test_circuit_breaker_stops_waiting_on_a_dead_server():
    with FaultServer() as server:
        llm = make(server, breaker=2, max_retries=2, concurrency=1, max_backoff=0.05, timeout=60)
        preds = llm.analyze([f"FAULT[close] {i}" for i in range(8)], labels="ekman")
        sent = len(server.chat_requests())
    assert all(p.error for p in preds)
    assert preds[0].error.startswith("connection failed")
    assert preds[-1].error.startswith("skipped: the LLM server failed 2 requests in a row")
    assert sent < 8 * 3  # without the breaker: 8 rows x 3 attempts


def test_model_is_taken_from_the_server_when_it_serves_one(fault_server):
    llm = affectkit.load(f"llm:@{fault_server.base_url}", cache=False, **FAST)
    p = llm.analyze("x", labels="ekman")
    assert p.error is None and p.model == "llm:fake-model"
    assert fault_server.chat_requests()[0]["body"]["model"] == "fake-model"


def test_two_models_on_the_server_need_a_choice():
    with FaultServer(models=("a", "b")) as server:
        llm = affectkit.load(f"llm:@{server.base_url}", cache=False, **FAST)
        p = llm.analyze("x", labels="ekman")
    assert "the server offers 2: a, b" in p.error


def test_hybrid_puts_the_base_models_emotions_and_triggers_in_the_prompt(tmp_path):
    lexicon = tmp_path / "emolex.txt"
    lexicon.write_text("love\tjoy\t1\nlove\tpositive\t1\ngift\tsurprise\t1\nhate\tanger\t1\n")
    # the lexicon analyzer: joy 1, surprise 1, neutral 0.1 per other content word ("the"), so 0.45 / 0.45 / 0.09
    reply = {"primary_emotion": "surprise", "emotions": [{"label": "joy", "score": 0.9}, {"label": "surprise",
                                                                                         "score": 0.3}]}
    with FaultServer(reply) as server:
        llm = make(server, mode="hybrid", outputs="", base=f"lexicon:{lexicon}", base_top_k=2)
        p = llm.analyze("I love the gift", labels="ekman")
        body = server.chat_requests()[-1]["body"]
    user = body["messages"][-1]["content"]
    assert '- joy (probability 0.45; triggered by "love")' in user
    assert '- surprise (probability 0.45; triggered by "gift")' in user
    assert body["response_format"]["json_schema"]["schema"]["properties"]["primary_emotion"]["enum"] == ["joy",
                                                                                                       "surprise"]
    # scores joy 0.9, surprise 0.3 -> 0.75 / 0.25; the primary adds 1, halved: surprise 0.625, joy 0.375
    assert p.extra["primary_emotion"] == "surprise" and p.extra["base_emotions"] == ["joy", "surprise"]
    assert p.extra["emotion_words"] == ["surprise", "joy"]
    assert p.emotions[0].label == "surprise" and p.distribution["surprise"] == pytest.approx(0.625)
    assert p.distribution["joy"] == pytest.approx(0.375) and p.labels == ["joy", "surprise"]
    assert p.model == "llm-hybrid:fake-model"


def test_cause_explain_compare_and_judge():
    def reply(body):
        schema = body["response_format"]["json_schema"]["schema"]["properties"]
        if "cause" in schema:
            return {"cause": "my flight was cancelled"}
        if "explanation" in schema and "answer" not in schema:
            return {"explanation": "Cancelled flights are frustrating."}
        if "answer" in schema:
            text_b = body["messages"][-1]["content"].split("Text B: ")[1].split("\n")[0]
            return {"answer": "A" if "calm" in text_b else "B",
                    "explanation": "x"}
        return {"score": 2, "reason": "same"}

    with FaultServer(reply) as server:
        llm = make(server)
        causes = llm.cause(["Ugh, my flight was cancelled again", None], "anger")
        assert causes[0].value == "my flight was cancelled" and causes[0].error is None
        assert causes[1].error == "missing text" and causes[1].value is None
        sent = server.chat_requests()[-1]["body"]["messages"][-1]["content"]
        assert "Emotion: anger" in sent and "Ugh, my flight" in sent
        assert llm.explain("Ugh, my flight was cancelled again", "anger").value.startswith("Cancelled")
        # the server prefers whichever text is not "calm": A when B is calm
        loud, calm = "WE WON THE FINAL!!!", "a calm afternoon"
        assert llm.compare(loud, calm, "arousal").value == "A"
        assert llm.compare(calm, loud, "arousal").value == "B"
        assert llm.compare(loud, calm, "-arousal").value == "B"  # asks for less: the answer flips
        assert "expresses higher arousal" in server.chat_requests()[-1]["body"]["messages"][-1]["content"]
        both = llm.compare(loud, calm, "arousal", both_orders=True)
        assert both.value == "A" and both.usage["attempts"] == 2
        assert llm.compare(loud, calm, "anger").value == "A"
        assert "expresses more anger" in server.chat_requests()[-1]["body"]["messages"][-1]["content"]
        graded = llm.judge("Which emotion?", "anger", "fury")
        assert graded.value == 2 and graded.explanation == "same"


def test_compare_position_bias_shows_as_a_tie():
    with FaultServer({"answer": "A"}) as server:  # always the first text: pure position bias
        assert make(server).compare("x", "y", "valence", both_orders=True).value == "tie"


def test_secret_is_used_but_never_logged(tmp_path, caplog):
    key = "sk-affectkit-TOPSECRET-0123456789"
    data = tmp_path / "in.csv"
    pd.DataFrame({"text": ["FAULT[401echo] who am I", "a fine row"]}).to_csv(data, index=False)
    out = tmp_path / "out.jsonl"
    with FaultServer() as server:
        r = run_affectkit("analyze", str(data), "-o", str(out), "--labels", "ekman", "--model",
                          f"llm:fake-model@{server.base_url}?max_retries=0&disk_cache=false",
                          env={"AFFECTKIT_LLM_API_KEY": key})
        auth = {req["headers"].get("Authorization") for req in server.chat_requests()}
        assert r.returncode == 0, r.stderr
        assert auth == {f"Bearer {key}"}  # the key reached the server
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows[0]["error"].startswith("HTTP 401") and rows[1]["error"] is None
        written = out.read_text() + r.stderr + r.stdout
        written += "".join(p.read_text() for p in tmp_path.rglob("*")
                           if p.is_file() and p.suffix in (".json", ".jsonl"))
        assert "TOPSECRET" not in written and "0123456789" not in written
        with caplog.at_level(logging.DEBUG):
            llm = make(server, api_key=key, max_retries=1)
            p = llm.analyze("FAULT[401echo] again", labels="ekman")
            llm.analyze("FAULT[500*1] retry once", labels="ekman")
        assert "***" in p.error
        shown = caplog.text + repr(llm) + json.dumps(llm.info()) + json.dumps(llm.settings.public()) + p.to_json()
        assert "TOPSECRET" not in shown and "0123456789" not in shown


def test_cli_analyze_reports_llm_usage_in_the_summary(tmp_path):
    data = tmp_path / "in.txt"
    data.write_text("I love the gift\nFAULT[429*1] busy\n")
    out = tmp_path / "out.csv"
    with FaultServer() as server:
        r = run_affectkit("analyze", str(data), "-o", str(out), "--labels", "ekman", "--model",
                          f"llm:fake-model@{server.base_url}?backoff=0.01&disk_cache=false")
    assert r.returncode == 0, r.stderr
    frame = pd.read_csv(out)
    assert list(frame["emotion_1"]) == ["joy", "joy"] and frame["error"].isna().all()
    summary = r.stderr.split("llm:fake-model: ")[1]
    assert "replies=2" in summary and "prompt_tokens=22" in summary and "completion_tokens=14" in summary
    assert "retries=1" in summary and "structured_output=json_schema" in summary


# -- issue 18, second probe: deadlines, reply size, unrequested and out-of-range fields, the reply count ----------
@pytest.mark.parametrize("fault", ["drip", "driphead"])
def test_timeout_is_a_deadline_for_the_whole_request_not_per_read(fault):
    """Finding 12: a server dripping a byte every 0.2 s kept a timeout=1 request alive for the whole reply."""
    import time

    with FaultServer(drip_seconds=0.2) as server:
        llm = make(server, timeout=1.0, max_retries=1, breaker=0)
        t0 = time.monotonic()
        p = llm.analyze(f"FAULT[{fault}] slow", labels="ekman")
        took = time.monotonic() - t0
    assert p.error.startswith("request timed out after 1s") and "gave up after 2 attempts" in p.error
    assert took < 2 * 1.0 + 1.5, took  # two attempts of at most 1 s each, plus a short backoff
    assert p.extra["usage"]["attempts"] == 2


def test_a_huge_reply_is_not_read_past_the_cap_and_errors_quote_little():
    """Finding 13: an 80 MB reply was read whole and copied into the error cell."""
    with FaultServer(huge_bytes=5_000_000) as server:
        p = make(server).analyze("FAULT[huge] big", labels="ekman")
        assert p.error.startswith("the server's reply is over 1,000,000 bytes (max_reply_bytes)")
        assert len(p.error) <= 300 and p.extra["usage"]["attempts"] == 1  # not retried: it would come again
        # read in full (the cap raised), the reply breaks the schema: the message quotes at most 300 characters
        q = make(server, max_reply_bytes=10_000_000).analyze("FAULT[huge] big", labels="ekman")
    assert q.error.startswith("invalid reply:") and len(q.error) <= 300


def test_fields_not_asked_for_are_ignored_and_out_of_range_ones_dropped_with_a_note():
    """Finding 14: valence 23.5, arousal -2.5 and intensity 3.0 were used though not asked for and off scale."""
    reply = {"emotions": [{"label": "joy", "score": 0.8}], "valence": 23.5, "arousal": -2.5, "dominance": 5,
             "intensity": 3.0, "cause": "x", "evidence": [{"quote": "love", "emotion": "joy"}]}
    with FaultServer(reply) as server:
        bare = make(server, outputs="").analyze("I love it", labels="ekman")
        asked = make(server, outputs="vad,intensity").analyze("I love it", labels="ekman")
    assert bare.error is None and bare.emotions[0].label == "joy"
    assert (bare.valence, bare.arousal, bare.dominance, bare.intensity) == (None, None, None, None)
    assert bare.cause is None and bare.evidence == []
    # asked for: the in-range dominance is kept, the rest dropped with a note; the row itself is fine
    assert asked.error is None and asked.dominance == pytest.approx(0.0)
    assert (asked.valence, asked.arousal, asked.intensity) == (None, None, None)
    notes = " ".join(asked.extra["repairs"])
    assert "dropped valence=23.5" in notes and "dropped arousal=-2.5" in notes and "dropped intensity=3.0" in notes
    with FaultServer({**reply, "valence": True, "arousal": "high", "intensity": 0.5}) as server:
        typed = make(server, outputs="vad,intensity").analyze("I love it", labels="ekman")
    assert typed.error is None and typed.valence is None and typed.arousal is None
    assert typed.intensity == pytest.approx(0.5)


def test_summary_counts_only_replies_that_came():
    """Finding 21: every prompt was counted as a reply, answered or not."""
    with FaultServer() as server:
        llm = make(server, max_retries=1, breaker=0)
        llm.analyze(["fine", "FAULT[503] down", "FAULT[garbage] prose", None], labels="ekman")
        summary = llm.summary()
    assert summary["prompts"] == 3 and summary["replies"] == 2 and summary["failed"] == 2
