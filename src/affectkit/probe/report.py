"""Tables and plots of probe scores against layer."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from affectkit.probe.results import LayerScore, atomic_write, results_payload


def _ci(r: LayerScore) -> str:
    if math.isnan(r.ci_low):
        return f"{r.score:.3f}"
    return f"{r.score:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"


def best_layer(rows: Sequence[LayerScore], model: str, variant: str = "probe") -> LayerScore | None:
    """The layer with the highest test score (first one on ties)."""
    mine = [r for r in rows if r.model == model and r.variant == variant]
    return max(mine, key=lambda r: (r.score, -r.layer)) if mine else None


def markdown_table(rows: Sequence[LayerScore], task: str, model: str) -> str:
    """One task and model: per layer the probe's test score [95% bootstrap CI], the shuffled-label control,
    selectivity (probe - control) and the random-init copy where they were run; then the bag-of-words line."""
    mine = [r for r in rows if r.task == task]
    by = {(r.model, r.variant, r.layer): r for r in mine}
    layers = sorted({r.layer for r in mine if r.model == model and r.variant == "probe"})
    random_name = next((r.model for r in mine if r.variant == "random-init"), None)
    has_control = any(r.variant == "control" and r.model == model for r in mine)
    metric = next((r.metric for r in mine), "")
    head = ["layer", f"probe {metric} [95% CI]"] + (["shuffled control", "selectivity"] if has_control else [])
    head += ["random init [95% CI]"] if random_name else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for layer in layers:
        probe = by[(model, "probe", layer)]
        cells = [str(layer), _ci(probe)]
        control = by.get((model, "control", layer))
        if has_control:
            cells += [f"{control.score:.3f}", f"{probe.score - control.score:+.3f}"] if control else ["", ""]
        if random_name:
            rand = by.get((random_name, "random-init", layer))
            cells.append(_ci(rand) if rand else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    bow = next((r for r in mine if r.variant == "bow"), None)
    if bow:
        lines.append(f"bag-of-words baseline ({metric}, same rows): {_ci(bow)};")
    best = best_layer(mine, model)
    if best:
        lines.append(f"best layer: {best.layer} of {layers[-1]} ({_ci(best)})")
    return "\n".join(lines)


def write_reports(rows: Sequence[LayerScore], output: Path, meta: dict[str, Any]) -> None:
    """``results.json`` (every row and the options), ``probe.csv`` and ``probe.md`` (one table per task)."""
    atomic_write(output / "results.json", results_payload(list(rows), meta))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[f.name for f in fields(LayerScore)])
    writer.writeheader()
    for r in rows:
        writer.writerow(asdict(r))
    atomic_write(output / "probe.csv", buf.getvalue())
    parts = [f"# probe: {meta.get('model')}\n"]
    for task in dict.fromkeys(r.task for r in rows):
        model = next(r.model for r in rows if r.task == task and r.variant == "probe")
        parts.append(f"## {task}\n\n{markdown_table(rows, task, model)}\n")
    atomic_write(output / "probe.md", "\n".join(parts))


def plot_curves(curves: Sequence[tuple[str, Sequence[LayerScore], str]], path: Path, title: str, metric: str,
                baseline: LayerScore | None = None, relative: bool = False) -> None:
    """Score against layer, one line per ``(label, rows, line style)`` with its bootstrap band; ``relative``
    puts layers on 0..1 of the model's depth (models of different depths on one axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, series, style in curves:
        series = sorted(series, key=lambda r: r.layer)
        if not series:
            continue
        depth = max(series[-1].layer, 1)
        x = [r.layer / depth if relative else r.layer for r in series]
        line, = ax.plot(x, [r.score for r in series], style, label=label, marker="o", markersize=3)
        if not any(math.isnan(r.ci_low) for r in series):
            ax.fill_between(x, [r.ci_low for r in series], [r.ci_high for r in series], alpha=0.15,
                            color=line.get_color())
    if baseline is not None:
        ax.axhline(baseline.score, color="grey", linestyle=":", label=f"bag of words ({baseline.score:.3f})")
    ax.set_xlabel("layer / depth (0 = embeddings, 1 = last layer)" if relative else "layer (0 = embeddings)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def plot_task(rows: Sequence[LayerScore], path: Path) -> None:
    """One task's plot: the probe, its shuffled control and the random-init copy against layer, and the
    bag-of-words line."""
    if not rows:
        return
    curves = []
    for variant, style in (("probe", "-"), ("control", "--"), ("random-init", "-.")):
        for model in dict.fromkeys(r.model for r in rows if r.variant == variant):
            label = model if variant != "control" else f"{model}, shuffled labels"
            curves.append((label, [r for r in rows if r.model == model and r.variant == variant], style))
    bow = next((r for r in rows if r.variant == "bow"), None)
    plot_curves(curves, path, f"linear probe per layer: {rows[0].task}", rows[0].metric, bow)
