"""The web page in a real headless Chromium (Debian `chromium`, driven by Playwright) against a real server.

Needs `apt-get install chromium` and `pip install playwright` (no `playwright install`: the Debian browser is
used). The screenshot is kept in tests/artifacts/serve_page.png.
"""

import json
import shutil
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

from serve_support import LiveServer, model_spec  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEXT = "I can't believe you did this for me, thank you so much! I am thrilled."

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not found (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    spec = model_spec(tmp_path_factory)
    with LiveServer("--model", spec, "--no-access-log", log=tmp_path_factory.mktemp("page") / "server.log") as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_paste_analyze_upload_download(server, browser, tmp_path):
    api = httpx.Client(base_url=server.url, timeout=60)
    expected = api.post("/v1/analyze", json={"texts": [TEXT], "top_k": 5}).json()["predictions"][0]

    context = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/")
    page.wait_for_selector("#model option", state="attached")

    # paste a text and analyze it
    page.fill("#text", TEXT)
    page.click("#analyze")
    page.wait_for_selector("#emotions li")
    shown = page.eval_on_selector_all("#emotions li", "els => els.map(e => [e.dataset.label, +e.dataset.score])")
    assert [label for label, _ in shown] == [e["label"] for e in expected["emotions"]]  # ranked as the API ranks
    assert [s for _, s in shown] == pytest.approx([e["score"] for e in expected["emotions"]])
    marks = page.eval_on_selector_all("#highlighted mark", "els => els.map(e => e.textContent)")
    assert marks and sorted(marks) == sorted(e["text"] for e in expected["evidence"])
    assert page.inner_text("#highlighted").replace("\n", "") .startswith("I can't believe")
    dot = page.query_selector("#circumplex circle.dot.selected")  # the VAD point on the circumplex
    assert float(dot.get_attribute("cx")) == pytest.approx(160 + 130 * expected["valence"], abs=0.01)
    assert float(dot.get_attribute("cy")) == pytest.approx(160 - 130 * expected["arousal"], abs=0.01)
    assert page.inner_text("#fact-valence") == f"{expected['valence']:.3f}"

    # upload a small CSV: one row per line, errors in their rows, a dot per analyzed row
    csv_path = tmp_path / "small.csv"
    csv_path.write_text("id,text\n1,I am furious at this delay\n2,What a lovely calm evening\n3,\n4,I miss her so much\n")
    page.set_input_files("#file", str(csv_path))
    page.click("#analyze-file")
    page.wait_for_selector("#rows tbody tr:nth-child(4)")
    rows = page.eval_on_selector_all("#rows tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [r[1] for r in rows] == ["I am furious at this delay", "What a lovely calm evening", "",
                                    "I miss her so much"]
    assert rows[2][6] == "empty text" and all(r[6] == "" for r in rows[:2] + rows[3:])
    assert len(page.query_selector_all("#circumplex circle.dot")) == 3
    page.click("#rows tbody tr:nth-child(4)")
    assert page.inner_text("#highlighted").startswith("I miss her so much")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "serve_page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")

    # download the results: CSV (what `affectkit analyze` writes for the file) and JSON
    with page.expect_download() as d:
        page.click("#download-csv")
    csv_text = Path(d.value.path()).read_text()
    assert d.value.suggested_filename == "affectkit-results.csv"
    assert csv_text.splitlines()[0].startswith("id,text,emotion_1,emotion_1_score") and len(csv_text.splitlines()) == 5
    with page.expect_download() as d:
        page.click("#download-json")
    results = json.loads(Path(d.value.path()).read_text())["results"]
    assert [r["text"] for r in results][3] == "I miss her so much" and results[2]["error"] == "empty text"

    # the corpus report of the same file, from the service's /v1/report, as one HTML download
    with page.expect_download() as d:
        page.click("#report-file")
    assert d.value.suggested_filename == "affectkit-report.html"
    html = Path(d.value.path()).read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html

    assert not problems, problems
    assert all(u.startswith(server.url) or u.startswith(("blob:", "data:")) for u in requests), requests
    context.close()


def test_the_page_asks_for_a_key_when_auth_is_on(browser, tmp_path, tmp_path_factory):
    from affectkit.serve import add_key

    spec = model_spec(tmp_path_factory)
    keys = tmp_path / "keys.txt"
    key = add_key(keys, "browser")
    with LiveServer("--model", spec, "--keys-file", str(keys), "--no-access-log", log=tmp_path / "s.log") as s:
        page = browser.new_page()
        page.goto(s.url + "/")
        page.wait_for_selector("#key-field:not([hidden])")
        assert "needs an API key" in page.inner_text("#status")
        page.fill("#text", "so happy")
        page.click("#analyze")
        page.wait_for_selector("#status.error")
        assert "missing API key" in page.inner_text("#status")
        page.fill("#api-key", key)
        page.dispatch_event("#api-key", "change")
        page.wait_for_selector("#model option", state="attached")
        page.click("#analyze")
        page.wait_for_selector("#emotions li")
        page.close()
