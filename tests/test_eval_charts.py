"""The leaderboard's charts (issue 19): headline metrics with their intervals, and reliability diagrams."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from affectkit.evaluation import charts
from affectkit.evaluation.metrics import expected_calibration_error, reliability_bins


def test_reliability_bins_by_hand() -> None:
    # 4 bins of width 0.25: 0.1 and 0.2 in bin 1 (one right), 0.9 and 1.0 in bin 4 (both right)
    bins = reliability_bins(np.array([0.1, 0.2, 0.9, 1.0]), np.array([1, 0, 1, 1]), n_bins=4)
    assert bins == [{"low": 0.0, "high": 0.25, "n": 2, "confidence": pytest.approx(0.15), "accuracy": 0.5},
                    {"low": 0.75, "high": 1.0, "n": 2, "confidence": pytest.approx(0.95), "accuracy": 1.0}]
    # ECE is the bins' |accuracy - confidence| weighted by their size: (2*0.35 + 2*0.05) / 4 = 0.2
    ece = sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / 4
    assert ece == pytest.approx(0.2) == pytest.approx(expected_calibration_error(
        np.array([0.1, 0.2, 0.9, 1.0]), np.array([1, 0, 1, 1]), n_bins=4))


def test_interval_chart_places_each_model_and_escapes_names() -> None:
    svg = charts.interval_chart("macro_f1", [("default", 0.5, [0.4, 0.6]), ("<b>x</b>", 0.3, None)])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "0.500 [0.400, 0.600]" in svg and "higher is better" in svg
    xs = [float(v) for v in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert xs[0] > xs[1]  # 0.5 is right of 0.3
    line = re.search(r'<line x1="([\d.]+)" x2="([\d.]+)"', svg)
    assert line and float(line.group(1)) < xs[0] < float(line.group(2))  # the interval spans the dot
    assert charts.interval_chart("ece", [("m", 0.1, None)], higher_is_better=False).count("lower is better") == 1
    assert charts.interval_chart("x", []) == ""


def test_reliability_chart_has_a_bar_per_bin() -> None:
    bins = reliability_bins(np.array([0.1, 0.2, 0.9, 1.0]), np.array([1, 0, 1, 1]), n_bins=4)
    svg = charts.reliability_chart("m on t", bins)
    assert svg.count("<title>") == 2 and "stroke-dasharray" in svg  # two bars and the diagonal
    assert charts.reliability_chart("m", []) == ""


def test_leaderboard_html_embeds_the_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("jinja2")
    from eval_support import EVAL_FIXTURES, FixedAnalyzer

    from affectkit.evaluation import EvalOptions, evaluate, select_tasks

    monkeypatch.setenv("AFFECTKIT_DATA", str(EVAL_FIXTURES))
    models = [FixedAnalyzer({}, labels="goemotions", name=name) for name in ("a", "b")]
    evaluate(models, select_tasks(["isear"]), tmp_path, EvalOptions(n_boot=20, progress=False))
    payload = json.loads((tmp_path / "results.json").read_text())
    assert all(r["details"]["reliability"] for r in payload["results"])  # single-label with ECE
    html = (tmp_path / "leaderboard.html").read_text()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3  # 1 interval chart + 2 diagrams
    assert "reliability diagram of a on isear" in html and "95% bootstrap interval" in html
