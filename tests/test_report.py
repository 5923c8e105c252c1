"""affectkit report: aggregations against hand-computed values, LexRank on a hand-made graph, bad input, the
HTML in a real headless Chromium (no console error, no request outside the file), the CLI and the service
route."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import run_cli

from affectkit.errors import InputError
from affectkit.report import SECTIONS, ReportOptions, aggregate, build_report
from affectkit.report.conversations import analyse_conversations
from affectkit.report.lexrank import cosine_similarity, lexrank_scores, representative_texts

LABELS = ["joy", "anger", "neutral"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def analysed_frame() -> pd.DataFrame:
    """Eight analysed rows in two conversations of two speakers (turn order shuffled in the file)."""
    return pd.DataFrame(
        {
            "text": [
                "so happy today",
                "this is great fun",
                "I am furious",
                "fine, whatever",
                "what a joy",
                "lovely news",
                "I hate this",
                "ok",
            ],
            "emotion_1": ["joy", "joy", "anger", "neutral", "joy", "joy", "anger", "neutral"],
            "labels": ["joy", "joy;neutral", "anger", "neutral", "joy", "joy;anger", "anger", ""],
            "valence": [0.8, 0.6, -0.8, 0.0, 0.9, 0.7, -0.9, 0.0],
            "arousal": [0.5, 0.4, 0.8, -0.1, 0.6, 0.3, 0.7, -0.2],
            "p_joy": [0.8, 0.6, 0.1, 0.2, 0.9, 0.7, 0.0, 0.1],
            "p_anger": [0.1, 0.1, 0.8, 0.1, 0.0, 0.2, 0.9, 0.1],
            "p_neutral": [0.1, 0.3, 0.1, 0.7, 0.1, 0.1, 0.1, 0.8],
            "evidence": [
                "happy (joy); today (joy)",
                "great (joy); Fun (joy)",
                "furious (anger)",
                "fine (neutral)",
                "joy (joy)",
                "lovely (joy); news (joy)",
                "hate (anger)",
                "",
            ],
            "topic": ["a", "a", "a", "a", "b", "b", "b", "c"],
            "date": [
                "2024-01-01",
                "2024-01-01",
                "2024-01-02",
                "2024-01-02",
                "2024-01-02",
                "2024-01-03",
                "2024-01-03",
                "2024-01-03",
            ],
            "conv": ["c1", "c1", "c1", "c1", "c2", "c2", "c2", "c2"],
            "turn": [2, 1, 3, 4, 1, 2, 3, 4],
            "speaker": ["ann", "bob", "ann", "bob", "ann", "bob", "ann", "bob"],
            "gold": ["positive", "positive", "negative", "neutral", "positive", "positive", "negative", "neutral"],
            "error": [None] * 8,
        }
    )


@pytest.fixture()
def table() -> pa.Table:
    return pa.Table.from_pandas(analysed_frame(), preserve_index=False)


@pytest.fixture()
def analysed_csv(tmp_path) -> Path:
    path = tmp_path / "posts.affect.csv"
    analysed_frame().to_csv(path, index=False)
    return path


def test_wilson_interval_by_hand():
    low, high = aggregate.wilson(np.array([2]), 4)
    assert low[0] == pytest.approx(0.15003, abs=1e-4) and high[0] == pytest.approx(0.84997, abs=1e-4)


def test_distribution_shares_and_mean_probabilities(table):
    d = aggregate.distribution(table, LABELS).set_index("label")
    assert d.loc["joy", "top_rows"] == 4 and d.loc["joy", "top_share"] == 0.5
    assert d.loc["anger", "top_share"] == 0.25
    assert d.loc["joy", "mean_p"] == pytest.approx(3.4 / 8)
    # sd of p_neutral (ddof 1) over 8 rows -> half width 1.96 sd / sqrt(8)
    sd = np.std([0.1, 0.3, 0.1, 0.7, 0.1, 0.1, 0.1, 0.8], ddof=1)
    assert d.loc["neutral", "mean_p_high"] - d.loc["neutral", "mean_p"] == pytest.approx(1.959964 * sd / 8**0.5)


def test_by_group_means_and_the_one_row_group_warning(table):
    groups, warnings = aggregate.by_group(table, LABELS, "topic")
    g = groups.set_index("group")
    assert g.loc["a", "rows"] == 4 and g.loc["a", "joy"] == pytest.approx((0.8 + 0.6 + 0.1 + 0.2) / 4)
    assert np.isnan(g.loc["c", "joy_low"])
    assert warnings == ["1 group(s) of 'topic' have one row, so no interval: c"]


def test_cooccurrence_counts_by_hand(table):
    co = aggregate.cooccurrence(table, LABELS)
    assert co.loc["joy", "joy"] == 4 and co.loc["anger", "anger"] == 3 and co.loc["neutral", "neutral"] == 2
    assert co.loc["joy", "neutral"] == 1 and co.loc["joy", "anger"] == 1 and co.loc["anger", "neutral"] == 0
    assert (co.to_numpy() == co.to_numpy().T).all()


def test_evidence_words_counted_per_emotion(table):
    words = aggregate.evidence_words(table)
    joy = words[words["label"] == "joy"].set_index("word")["rows"].to_dict()
    assert joy == {"fun": 1, "great": 1, "happy": 1, "joy": 1, "lovely": 1, "news": 1, "today": 1}
    assert words[words["label"] == "anger"]["word"].tolist() == ["furious", "hate"]


def test_timeline_by_day(table):
    dates, warnings = aggregate.parse_dates(table, "date")
    line, freq = aggregate.timeline(table, ["joy"], dates, "D")
    assert freq == "D" and warnings == []
    assert line["rows"].tolist() == [2, 3, 3]
    assert line["valence"].tolist() == pytest.approx([0.7, (-0.8 + 0.0 + 0.9) / 3, (0.7 - 0.9 + 0.0) / 3])


def test_polarisation_per_group_by_hand():
    t = pa.table({"valence": [-1.0, -1.0, 1.0, 1.0, 0.05, 0.05, 0.05, 0.05], "g": list("aaaabbbb")})
    pol = aggregate.polarisation(t, "g").set_index("group")
    assert pol.loc["a", "esteban_ray"] == pytest.approx(2 * 0.5**2.6 * 0.5 * 0.9)
    assert pol.loc["b", "esteban_ray"] == 0.0
    # (all): shares 1/4, 1/2, 1/4 at centres 0.05, 0.55, 0.95 (alpha 1.6)
    s, y = np.array([0.25, 0.5, 0.25]), np.array([0.05, 0.55, 0.95])
    expected = sum(s[i] ** 2.6 * s[j] * abs(y[i] - y[j]) for i in range(3) for j in range(3))
    assert pol.loc["(all)", "esteban_ray"] == pytest.approx(expected)
    # group a, n = 4: skew 0, excess kurtosis (3/2)(5 * -2 + 6) = -6, correction 3 * 9 / 2 -> 1 / 7.5
    assert pol.loc["a", "bimodality"] == pytest.approx(1 / 7.5)
    assert np.isnan(pol.loc["b", "bimodality"])  # no variance


def test_lexrank_on_a_hand_made_graph():
    # a path a - b - c: b is the centre. With d = 0.15: p_b = 57/137, p_a = p_c = 40/137 (solved by hand)
    s = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    np.testing.assert_allclose(lexrank_scores(s), [40 / 137, 57 / 137, 40 / 137], atol=1e-9)
    # without jumps the walk's stationary distribution is proportional to the degrees 2, 3, 2
    np.testing.assert_allclose(lexrank_scores(s, damping=0.0), [2 / 7, 3 / 7, 2 / 7], atol=1e-9)
    np.testing.assert_allclose(cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]])), [[1.0, 2**-0.5], [2**-0.5, 1.0]])


def test_representative_texts_pick_the_central_one(table):
    # embeddings by hand: among the joy rows, "what a joy" lies between the others
    vectors = {
        "so happy today": [1.0, 0.0],
        "this is great fun": [0.0, 1.0],
        "what a joy": [1.0, 1.0],
        "lovely news": [1.0, 0.1],
    }
    reps = representative_texts(table, "text", ["joy"], lambda texts: [vectors[t] for t in texts], top=1)
    assert reps["text"].tolist() == ["what a joy"]


def test_conversations_transitions_inertia_and_ccc(table):
    found = analyse_conversations(table, "conv", "turn", "speaker", "gold", n_boot=200)
    # turns in order: c1 = joy(bob) joy(ann) anger(ann) neutral(bob); c2 = joy joy anger neutral
    t = found.transitions["all turns"]
    assert t.labels == ["joy", "anger", "neutral"]
    assert t.counts.tolist() == [[2, 2, 0], [0, 0, 2], [0, 0, 0]]
    ann = found.transitions["ann"]  # ann: c1 joy anger; c2 joy anger
    assert ann.counts.tolist() == [[0, 2, 0], [0, 0, 0], [0, 0, 0]]
    # ann's valence: c1 0.8 -0.8, c2 0.9 -0.9 -> centred products -0.64, -0.81 over squares 1.28 + 1.62
    inertia = found.inertia.set_index("speaker")["inertia"]
    assert inertia["ann"] == pytest.approx((-0.64 - 0.81) / (1.28 + 1.62))
    ccc = found.ccc.set_index("scope")
    assert 0.8 < ccc.loc["all turns", "ccc"] <= 1.0


def test_bad_input_messages(tmp_path, analysed_csv):
    with pytest.raises(InputError, match="without an order column.*--order-col"):
        build_report(analysed_csv, tmp_path / "r.html", ReportOptions(conversation_col="conv"))
    bad_dates = analysed_frame().assign(date="last tuesday")
    bad_dates.to_csv(tmp_path / "dates.csv", index=False)
    with pytest.raises(InputError, match="date column 'date' does not parse as dates.*'last tuesday'"):
        build_report(
            tmp_path / "dates.csv", tmp_path / "r.html", ReportOptions(date_col="date", sections=("timeline",))
        )
    analysed_frame().drop(columns=["valence", "p_joy", "p_anger", "p_neutral"]).to_csv(
        tmp_path / "part.csv", index=False
    )
    with pytest.raises(InputError, match=r"missing the analysis column\(s\) valence, p_<label>; analyse it first"):
        build_report(tmp_path / "part.csv", tmp_path / "r.html")
    pd.DataFrame({"text": ["a", "b"]}).to_csv(tmp_path / "raw.csv", index=False)
    with pytest.raises(
        InputError, match=r"emotion_1, valence, arousal, p_<label>; analyse it first: affectkit analyze"
    ):
        build_report(tmp_path / "raw.csv", tmp_path / "r.html", ReportOptions(analyze=False))
    with pytest.raises(InputError, match="column\\(s\\) 'region' not found"):
        build_report(analysed_csv, tmp_path / "r.html", ReportOptions(group_col="region"))


def test_cli_report_warns_about_a_one_row_group_and_fails_on_missing_columns(tmp_path, analysed_csv):
    out = tmp_path / "r.html"
    done = run_cli(
        "report",
        str(analysed_csv),
        "-o",
        str(out),
        "--group-col",
        "topic",
        "--no-text",
        "--sections",
        "distribution,groups,polarisation",
    )
    assert done.returncode == 0, done.stderr
    assert b"warning: 1 group(s) of 'topic' have one row" in done.stderr
    assert 'id="groups"' in out.read_text()
    pd.DataFrame({"id": [1]}).to_csv(tmp_path / "ids.csv", index=False)
    failed = run_cli("report", str(tmp_path / "ids.csv"), "-o", str(out))
    assert failed.returncode == 1 and b"missing the analysis column(s)" in failed.stderr


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not found (apt-get install chromium)")
def test_html_renders_offline_in_chromium(tmp_path, analysed_csv):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    out = tmp_path / "report.html"
    opts = ReportOptions(
        group_col="topic",
        date_col="date",
        conversation_col="conv",
        speaker_col="speaker",
        order_col="turn",
        gold_valence_col="gold",
        model="fast",
        lexrank_sample=5,
    )
    result = build_report(analysed_csv, out, opts)
    assert result.sections == [*SECTIONS, "trajectories"]  # every section, in order
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        requests, problems = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(out.as_uri())
        sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        figures = page.eval_on_selector_all("figure svg", "els => els.length")
        links = page.eval_on_selector_all("a[download]", "els => els.map(e => e.href.slice(0, 21))")
        browser.close()
    assert problems == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert sections == result.sections and figures >= 8
    assert links and all(h == "data:text/csv;base64," for h in links)


def test_service_report_route(analysed_csv):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from affectkit.serve import ServeSettings, create_app

    with TestClient(create_app(ServeSettings(models=["fast"])), base_url="http://127.0.0.1") as client:
        files = {"file": ("posts.affect.csv", analysed_csv.read_bytes(), "text/csv")}
        r = client.post("/v1/report", files=files, data={"group_col": "topic", "no_text": "true"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "Emotion report: posts.affect.csv" in r.text and 'id="groups"' in r.text
        assert 'id="representative"' not in r.text
        raw = client.post("/v1/report", files={"file": ("raw.csv", b"text\nso happy\nso sad\n", "text/csv")})
        assert raw.status_code == 200 and "were analysed here" in raw.text
        bad = client.post("/v1/report", files={"file": ("ids.csv", b"id\n1\n", "text/csv")})
        assert bad.status_code == 422 and "missing the analysis column(s)" in bad.json()["detail"]


def test_file_order_and_rows_with_an_analysis_error(tmp_path):
    frame = analysed_frame()
    frame.loc[7, "error"] = "empty text"
    path = tmp_path / "err.csv"
    frame.sort_values(["conv", "turn"]).to_csv(path, index=False)
    result = build_report(
        path, tmp_path / "r.html", ReportOptions(conversation_col="conv", order_col="_row", sections=("conversations",))
    )
    assert result.warnings == ["1 row(s) have an error from the analysis and are left out"]
    found = analyse_conversations(pa.Table.from_pandas(frame.sort_values(["conv", "turn"])), "conv", "_row")
    assert found.transitions["all turns"].counts.tolist() == [[2, 2, 0], [0, 0, 2], [0, 0, 0]]
