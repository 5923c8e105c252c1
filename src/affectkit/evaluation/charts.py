"""Inline SVG charts for the HTML leaderboard: each task's headline metric per model with its 95% bootstrap
interval, and reliability diagrams (Guo et al. 2017) for the tasks scored with ECE. Plain SVG text: no plotting
library, nothing loaded from elsewhere, readable without JavaScript."""

from __future__ import annotations

import math
from html import escape
from typing import Any

_WIDTH, _ROW, _LEFT, _RIGHT = 560, 22, 170, 150


def _scale(low: float, high: float) -> tuple[float, float]:
    """An axis range holding ``low``..``high`` with a margin; [0, 1] when the values are shares that spread wide."""
    if low >= 0 and high <= 1 and high - low > 0.5:
        return 0.0, 1.0
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 0.01)
    return low - pad, high + pad


def interval_chart(metric: str, points: list[tuple[str, float, list[float] | None]],
                   higher_is_better: bool = True) -> str:
    """A dot per model at its value, with a bar over its interval: ``points`` are ``(model, value, [lo, hi])``."""
    points = [(m, v, ci) for m, v, ci in points if v is not None and math.isfinite(v)]
    if not points:
        return ""
    ends = [x for _, v, ci in points for x in ([v, *ci] if ci else [v]) if x is not None and math.isfinite(x)]
    lo, hi = _scale(min(ends), max(ends))
    span = hi - lo or 1.0
    plot_w = _WIDTH - _LEFT - _RIGHT

    def x(value: float) -> float:
        return _LEFT + (value - lo) / span * plot_w

    height = _ROW * len(points) + 34
    direction = "higher is better" if higher_is_better else "lower is better"
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{_WIDTH}" height="{height}" '
              f'role="img" aria-label="{escape(metric)} per model with 95% intervals">'),
             (f'<text x="{_LEFT}" y="12" font-size="11" fill="#555">{escape(metric)} ({direction}), '
              '95% bootstrap interval</text>')]
    for i, (model, value, ci) in enumerate(points):
        y = 26 + i * _ROW + _ROW / 2
        parts.append(f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                     f'{escape(model[:28])}</text>')
        if ci and ci[0] is not None and ci[1] is not None:
            parts.append(f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[1]):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                         'stroke="#4a7fb5" stroke-width="3"/>')
        label = f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci[:2] else "")
        parts += [f'<circle cx="{x(value):.1f}" cy="{y:.1f}" r="4.5" fill="#1f4e79"/>',
                  f'<text x="{_WIDTH - _RIGHT + 8}" y="{y + 4:.1f}" font-size="11">{label}</text>']
    axis_y = height - 6
    parts += [f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{axis_y - 6}" y2="{axis_y - 6}" stroke="#999"/>',
              f'<text x="{_LEFT}" y="{axis_y + 4}" font-size="10" fill="#555">{lo:.2f}</text>',
              (f'<text x="{_LEFT + plot_w}" y="{axis_y + 4}" font-size="10" fill="#555" text-anchor="end">'
               f'{hi:.2f}</text>'), "</svg>"]
    return "".join(parts)


def reliability_chart(title: str, bins: list[dict[str, Any]], size: int = 220) -> str:
    """Accuracy against confidence per bin (bars, over the bin's width) and the diagonal of perfect
    calibration; a bar's shade says how many predictions it holds."""
    if not bins:
        return ""
    pad = 30
    side = size - 2 * pad
    most = max(b["n"] for b in bins)

    def px(v: float) -> float:
        return pad + v * side

    def py(v: float) -> float:
        return pad + (1 - v) * side

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{size}" height="{size}" role="img" '
              f'aria-label="reliability diagram of {escape(title)}">'),
             f'<text x="{pad}" y="14" font-size="11" fill="#555">{escape(title[:40])}</text>',
             f'<rect x="{pad}" y="{pad}" width="{side}" height="{side}" fill="none" stroke="#999"/>']
    for b in bins:
        shade = 0.25 + 0.75 * b["n"] / most
        parts.append(f'<rect x="{px(b["low"]):.1f}" y="{py(b["accuracy"]):.1f}" '
                     f'width="{(b["high"] - b["low"]) * side:.1f}" height="{b["accuracy"] * side:.1f}" '
                     f'fill="#4a7fb5" fill-opacity="{shade:.2f}" stroke="#1f4e79" stroke-width="0.5">'
                     f'<title>confidence {b["confidence"]:.3f}, accuracy {b["accuracy"]:.3f}, n {b["n"]}</title>'
                     "</rect>")
    parts += [f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#c0392b" stroke-dasharray="4 3"/>',
              f'<text x="{size / 2}" y="{size - 6}" font-size="10" text-anchor="middle" fill="#555">confidence</text>',
              (f'<text x="10" y="{size / 2}" font-size="10" text-anchor="middle" fill="#555" '
               f'transform="rotate(-90 10 {size / 2})">accuracy</text>'), "</svg>"]
    return "".join(parts)
