"""The evaluation job end to end: every public-format task on hand-written files, outputs, resume after an
interruption, and the shipped suite on the real datasets with the default model."""

from __future__ import annotations

import json
import zlib

import pytest
from eval_support import EVAL_FIXTURES, FixedAnalyzer

from affectkit.datasets import data_dir
from affectkit.evaluation import EvalOptions, ModelSpec, evaluate, select_tasks


def varied(text: str) -> dict:
    """Deterministic outputs that differ between texts (so correlations are defined)."""
    h = zlib.crc32(text.encode())
    x = [(h >> s) % 97 / 96 for s in (0, 7, 14, 21)]
    return {"vad": [2 * x[0] - 1, 2 * x[1] - 1, 2 * x[2] - 1], "intensity": x[3], "words": ["happy", "worried"],
            "cause": " ".join(text.split()[-4:])}


@pytest.fixture(scope="module")
def public_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("public")
    an = FixedAnalyzer({}, labels="goemotions", name="fixed", default=varied)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AFFECTKIT_DATA", str(EVAL_FIXTURES))
        run = evaluate([an], select_tasks(suites=["public"]), out, EvalOptions(n_boot=50, progress=False))
    return run, out


def test_public_suite_runs_end_to_end(public_run):
    run, out = public_run
    assert [r["reason"] for r in run.results if r["status"] != "ok"] == []
    payload = json.loads((out / "results.json").read_text())
    assert {r["task"] for r in payload["results"]} == {t.name for t in select_tasks(suites=["public"])}
    for r in payload["results"]:
        assert r["headline"]["metric"]
        lines = (out / r["predictions"]).read_text().splitlines()
        task = next(t for t in payload["tasks"] if t["name"] == r["task"])
        if r["type"] != "pairwise":
            assert len(lines) == task["rows"]
    md = (out / "leaderboard.md").read_text()
    html = (out / "leaderboard.html").read_text()
    for t in payload["tasks"]:
        assert f"## {t['name']}" in md and f'id="{t["name"]}"' in html
    assert "data:image/png;base64," in html  # the ISEAR confusion matrix, embedded
    assert (out / "plots" / "fixed__isear.png").stat().st_size > 1000


def test_cross_label_set_report_in_results(public_run):
    run, _ = public_run
    isear = next(r for r in run.results if r["task"] == "isear")
    # GoEmotions labels reach every ISEAR label through the published mapping (remorse -> guilt,
    # embarrassment -> shame); surprise and neutral have no ISEAR counterpart
    assert isear["mapping"]["route"] == ["goemotions", "isear"]
    assert isear["mapping"]["unreachable_task_labels"] == []
    assert "gold_rows_with_unreachable_label" not in isear["mapping"]  # reported only when some label is
    assert {"surprise", "neutral"} <= set(isear["mapping"]["unmapped_model_labels"])
    assert "admiration" not in isear["mapping"]["unmapped_model_labels"]


def test_interrupted_run_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTKIT_DATA", str(EVAL_FIXTURES))
    tasks = select_tasks(["eemo-ranking", "eemo-assessment", "emotion-cause"])
    opts = EvalOptions(n_boot=20, progress=False, chunk_size=2, batch_size=2)
    # eemo (4 rows = 2 chunks, shared by two tasks) then emotion-cause (3 rows = 2 chunks): 4 model calls
    first = FixedAnalyzer({}, labels="eemo", default=varied, fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        evaluate([first], tasks, tmp_path / "out", opts)
    second = FixedAnalyzer({}, labels="eemo", default=varied)
    resumed = evaluate([second], tasks, tmp_path / "out", opts)
    assert second.calls == 1  # only the last chunk was left
    again = FixedAnalyzer({}, labels="eemo", default=varied)
    evaluate([again], tasks, tmp_path / "out", opts)
    assert again.calls == 0  # everything cached
    fresh = evaluate([FixedAnalyzer({}, labels="eemo", default=varied)], tasks, tmp_path / "fresh", opts)
    assert [r["metrics"] for r in resumed.results] == [r["metrics"] for r in fresh.results]


def test_a_baseline_that_cannot_load_is_skipped_but_a_model_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTKIT_DATA", str(EVAL_FIXTURES))
    tasks = select_tasks(["emotion-cause"])
    an = FixedAnalyzer({}, labels="eemo", default=varied)
    run = evaluate([an, ModelSpec("baseline:text2emotion", baseline=True)], tasks, tmp_path,
                   EvalOptions(n_boot=0, progress=False))
    skipped = [m for m in run.models if m["status"] != "ok"]
    assert skipped[0]["name"] == "baseline:text2emotion" and "offline" in skipped[0]["reason"]
    from affectkit.errors import UnknownModelError

    with pytest.raises(UnknownModelError):
        evaluate(["baseline:text2emotion"], tasks, None, EvalOptions(n_boot=0, progress=False))


def test_vader_baseline_gives_valence():
    pytest.importorskip("vaderSentiment")
    import affectkit

    vader = affectkit.load("baseline:vader")
    pred = vader.analyze(["What a wonderful, happy day!", "This is terrible and sad."])
    assert pred[0].valence > 0.5 and pred[1].valence < -0.5 and pred[0].vad_scale == "-1..1"


needs_data = pytest.mark.skipif(not (data_dir() / "INDEX.md").exists(), reason="shared datasets not found")


@needs_data
def test_shipped_suite_with_the_default_model(tmp_path):
    from affectkit.analyzers import shipped_models

    if "default" not in shipped_models():
        pytest.skip("no default model in src/affectkit/pretrained")
    tasks = select_tasks(suites=["shipped"])
    run = evaluate(["default", ModelSpec("baseline:vader", baseline=True)], tasks, tmp_path,
                   EvalOptions(n_boot=20, progress=False, limit=40))
    default = {r["task"]: r for r in run.results if r["model"] == "default"}
    assert {t: r["status"] for t, r in default.items()} == {t.name: "ok" for t in tasks}
    for r in default.values():
        assert r["headline"]["value"] is not None and r["headline"]["ci"] is not None
    vader = {r["task"]: r for r in run.results if r["model"] == "baseline:vader"}
    if vader:
        assert vader["emobank-valence"]["status"] == "ok" and vader["goemotions"]["status"] == "skipped"


def test_slugs_of_specs_that_differ_in_their_tail_differ():
    from affectkit.evaluation.runner import slug

    base = "llm:smollm2-135m@http://127.0.0.1:18080/v1?outputs=vad&max_tokens=96&concurrency=2&timeout=300"
    assert slug(base) != slug(base + "&mode=hybrid")
    assert slug("a b") != slug("a_b") and slug("default") == "default"
    assert all(len(slug(x)) <= 80 for x in (base, base + "&mode=hybrid", "x" * 500))


def test_ei_reg_scores_own_emotion_without_mystery_rows(tmp_path):
    """An EI-reg test-gold file in the official format: placeholder ("mystery") rows are not scored, each tweet is
    scored once on its own emotion's probability, and the figure is Pearson r per emotion, averaged."""
    head = "ID\tTweet\tAffect Dimension\tIntensity Score"
    files = {"anger": [head, "2018-En-1\tanger one\tanger\t0.2", "2018-En-mystery-1\tThis man feels angry.\tanger\t0.9",
                       "2018-En-2\tanger two\tanger\t0.5", "2018-En-3\tanger three\tanger\t0.8"],
             "joy": [head, "2018-En-4\tjoy one\tjoy\t0.1", "2018-En-5\tjoy two\tjoy\t0.4",
                     "2018-En-mystery-2\tThis woman feels happy.\tjoy\t0.0", "2018-En-6\tjoy three\tjoy\t0.7"]}
    for emotion, lines in files.items():
        (tmp_path / f"2018-EI-reg-En-{emotion}-test-gold.txt").write_text("".join(line + "\n" for line in lines))
    task = tmp_path / "ei.yaml"
    task.write_text("task: ei\ndescription: EI-reg by hand.\ntype: assessment\n"
                    "dataset: {loader: semeval2018-ei-reg, split: test, path: \"2018-EI-reg-En-*-test-gold.txt\"}\n"
                    "labels: semeval-ec\ntarget: intensity\nattribute: \"@emotion\"\nmetrics: [pearson]\n"
                    "options: {group_by: emotion}\n")
    ec = ["anger", "anticipation", "disgust", "fear", "joy", "love", "optimism", "pessimism", "sadness", "surprise",
          "trust"]
    p_own = {"anger one": 0.1, "anger two": 0.3, "anger three": 0.5, "joy one": 0.2, "joy two": 0.6, "joy three": 0.4,
             "This man feels angry.": 0.0, "This woman feels happy.": 1.0}

    def own(text: str) -> dict:
        dist = [0.0] * len(ec)
        dist[ec.index("anger" if "anger" in text or "angry" in text else "joy")] = p_own[text]
        dist[ec.index("trust")] += 1 - p_own[text]
        return {"dist": dist}

    an = FixedAnalyzer({}, labels="semeval-ec", default=own)
    run = evaluate([an], select_tasks([str(task)]), tmp_path / "out", EvalOptions(n_boot=0, progress=False))
    (result,) = run.results
    assert result["n"] == 6 and run.tasks[0]["rows"] == 6
    # anger r = 1, joy r = 0.5 (see test_eval_scoring): the mean is 0.75
    assert result["metrics"]["anger.pearson"]["value"] == pytest.approx(1.0)
    assert result["headline"]["value"] == pytest.approx(0.75)
    rows = [json.loads(line) for line in (tmp_path / "out" / result["predictions"]).read_text().splitlines()]
    assert [(r["id"], r["emotion"], r["intensity"]["gold"], r["intensity"]["pred"]) for r in rows] == [
        ("2018-En-1", "anger", 0.2, 0.1), ("2018-En-2", "anger", 0.5, 0.3), ("2018-En-3", "anger", 0.8, 0.5),
        ("2018-En-4", "joy", 0.1, 0.2), ("2018-En-5", "joy", 0.4, 0.6), ("2018-En-6", "joy", 0.7, 0.4)]
    assert all(set(r) == {"row", "id", "text", "emotion", "intensity", "error"} for r in rows)
