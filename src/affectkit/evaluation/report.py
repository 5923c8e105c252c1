"""Leaderboards from ``results.json``: Markdown and self-contained HTML (each task's headline metric charted per
model with its interval, reliability diagrams and confusion matrices embedded), and the confusion-matrix plots
(matplotlib)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from affectkit.evaluation import charts

EMPTY = "—"


def fmt(value: float | None, digits: int = 3) -> str:
    return EMPTY if value is None else f"{value:.{digits}f}"


def fmt_ci(metric: dict[str, Any] | None, digits: int = 3) -> str:
    """``0.412 [0.401, 0.423]``: the value and its 95% bootstrap interval."""
    if not metric or metric.get("value") is None:
        return EMPTY
    ci = metric.get("ci")
    if not ci:
        return fmt(metric["value"], digits)
    return f"{fmt(metric['value'], digits)} [{fmt(ci[0], digits)}, {fmt(ci[1], digits)}]"


def _models(payload: dict[str, Any]) -> list[str]:
    return [m["name"] for m in payload["models"] if m.get("status") == "ok"]


def _result(payload: dict[str, Any], model: str, task: str) -> dict[str, Any] | None:
    for r in payload["results"]:
        if r["model"] == model and r["task"] == task:
            return r
    return None


def leaderboard_rows(payload: dict[str, Any]) -> list[list[str]]:
    """Header plus one row per task: task, type, headline metric, then each model's value [interval]."""
    models = _models(payload)
    rows = [["task", "type", "metric", *models]]
    for t in payload["tasks"]:
        cells = [t["name"], _kind(t), t["headline"]]
        for m in models:
            r = _result(payload, m, t["name"])
            cells.append(fmt_ci(r["headline"]) if r and r.get("status") == "ok" else EMPTY)
        rows.append(cells)
    return rows


def _kind(task: dict[str, Any]) -> str:
    return f"{task['type']}/{task['mode']}" if task.get("mode") else task["type"]


def _md_table(rows: list[list[str]]) -> str:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(esc[0])]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(lines)


def _metric_rows(payload: dict[str, Any], task: dict[str, Any]) -> list[list[str]]:
    results = [r for r in (_result(payload, m, task["name"]) for m in _models(payload)) if r and r["status"] == "ok"]
    names: list[str] = []
    for r in results:
        for k in r["metrics"]:
            if k not in names:
                names.append(k)
    rows = [["model", "n", *names]]
    for r in results:
        rows.append([r["model"], str(r["n_scored"]), *(fmt_ci(r["metrics"].get(k)) for k in names)])
    return rows


def _mapping_lines(r: dict[str, Any]) -> list[str]:
    out = []
    m = r.get("mapping")
    if m:
        line = f"labels mapped {' → '.join(m['route'])} ({'; '.join(m['citations'])})"
        if m["unmapped_model_labels"]:
            line += (f"; model labels with no counterpart: {', '.join(m['unmapped_model_labels'])} "
                     f"(top label of {m['rows_with_unmapped_top_label']} rows; mean probability dropped "
                     f"{fmt(m['mean_probability_dropped'])})")
        if m["unreachable_task_labels"]:
            line += (f"; task labels no model label reaches: {', '.join(m['unreachable_task_labels'])} "
                     f"({m.get('gold_rows_with_unreachable_label', 0)} gold rows)")
        out.append(line)
    return out + list(r.get("notes") or [])


def _gold_mapping_line(task: dict[str, Any]) -> str | None:
    g = task.get("gold_mapping")
    if not g:
        return None
    line = f"gold labels mapped {g['source']} → {g['target']} ({g['citation']})"
    if g["unmapped_dataset_labels"]:
        line += (f"; dataset labels with no counterpart: {', '.join(g['unmapped_dataset_labels'])} "
                 f"({g['rows_touched']} rows)")
    return line


def _per_label_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = [["label", "precision", "recall", "f1", "support", "predicted"]]
    for p in r["per_label"]:
        rows.append([p["label"], fmt(p["precision"]), fmt(p["recall"]), fmt(p["f1"]), str(p["support"]),
                     str(p["predicted"])])
    return rows


def _dataset_line(task: dict[str, Any]) -> str:
    d = task["dataset"]
    parts = [f"dataset `{d['loader']}` split `{d['split']}`"]
    if d.get("sample"):
        parts.append(f"random sample of {d['sample']} rows (seed {d['seed']})")
    if task.get("rows") is not None:
        parts.append(f"{task['rows']} rows")
    if task.get("labels"):
        parts.append(f"labels `{task['labels']}`" + (f" (via `{task['via']}`)" if task.get("via") else ""))
    return ", ".join(parts)


def write_markdown(payload: dict[str, Any], path: Path) -> None:
    """The leaderboard as Markdown: headline table, then per task its metrics, notes, per-label tables and
    confusion-matrix plots (linked)."""
    b = payload["bootstrap"]
    lines = ["# affectkit evaluation", "",
             f"affectkit {payload['affectkit_version']}, {payload['created']}. Values are followed by 95% percentile "
             f"bootstrap intervals ({b['resamples']} resamples, seed {b['seed']}); {EMPTY} = not applicable or "
             "skipped (reasons below).", "", "## Leaderboard", "", _md_table(leaderboard_rows(payload)), ""]
    skipped_models = [m for m in payload["models"] if m.get("status") != "ok"]
    for m in skipped_models:
        lines.append(f"- model `{m['name']}` skipped: {m['reason']}")
    if skipped_models:
        lines.append("")
    for task in payload["tasks"]:
        lines += [f"## {task['name']}", ""]
        if task.get("description"):
            lines += [task["description"], ""]
        lines += [_dataset_line(task) + ".", ""]
        if task.get("status") != "ok":
            lines += [f"Skipped: {task.get('reason')}", ""]
            continue
        g = _gold_mapping_line(task)
        if g:
            lines += [f"- {g}", ""]
        if len(_metric_rows(payload, task)) > 1:
            lines += [_md_table(_metric_rows(payload, task)), ""]
        for m in _models(payload):
            r = _result(payload, m, task["name"])
            if r is None:
                continue
            if r["status"] != "ok":
                lines += [f"- `{m}` skipped: {r['reason']}"]
                continue
            notes = _mapping_lines(r)
            if notes or r.get("per_label") or r.get("plot"):
                lines += ["", f"### {m}", ""]
                lines += [f"- {n}" for n in notes]
                if r.get("per_label"):
                    lines += ["", "<details><summary>per-label table</summary>", "",
                              _md_table(_per_label_rows(r)), "", "</details>"]
                if r.get("plot"):
                    lines += ["", f"![confusion matrix of {m} on {task['name']}]({r['plot']})"]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>affectkit evaluation</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
th{background:#f3f3f3}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.note{color:#555;font-size:.9rem}img{max-width:560px}details{margin:.5rem 0}svg.chart{display:block;margin:.5rem 0}
</style></head><body>
{% macro table(rows) %}<table>{% for row in rows %}{% set head = loop.first %}<tr>{% for c in row %}{#
#}{% if head %}<th>{{ c }}</th>{% else %}<td class="num">{{ c }}</td>{% endif %}{% endfor %}</tr>{% endfor %}{#
#}</table>{% endmacro %}
<h1>affectkit evaluation</h1>
<p>affectkit {{ p.affectkit_version }}, {{ p.created }}. Values are followed by 95% percentile bootstrap intervals
({{ p.bootstrap.resamples }} resamples, seed {{ p.bootstrap.seed }}); {{ empty }} = not applicable or skipped.</p>
<h2>Leaderboard</h2>
{{ table(board) }}
{% for m in skipped_models %}<p class="note">model <code>{{ m.name }}</code> skipped: {{ m.reason }}</p>{% endfor %}
{% for t in tasks %}
<h2 id="{{ t.task.name }}">{{ t.task.name }}</h2>
{% if t.task.description %}<p>{{ t.task.description }}</p>{% endif %}
<p class="note">{{ t.dataset_line }}</p>
{% if t.task.status != "ok" %}<p>Skipped: {{ t.task.reason }}</p>{% else %}
{% if t.gold_line %}<p class="note">{{ t.gold_line }}</p>{% endif %}
{% if t.metric_rows|length > 1 %}{{ table(t.metric_rows) }}{% endif %}
{{ t.chart }}
{% for r in t.results %}
{% if r.status != "ok" %}<p class="note"><code>{{ r.model }}</code> skipped: {{ r.reason }}</p>{% else %}
<h3>{{ r.model }}</h3>
{% for n in r.lines %}<p class="note">{{ n }}</p>{% endfor %}
{% if r.per_label_rows %}<details><summary>per-label table</summary>{{ table(r.per_label_rows) }}</details>{% endif %}
{{ r.reliability }}
{% if r.image %}<p><img alt="confusion matrix of {{ r.model }} on {{ t.task.name }}" {#
#}src="data:image/png;base64,{{ r.image }}"></p>{% endif %}
{% endif %}{% endfor %}{% endif %}
{% endfor %}
</body></html>
"""


def _headline_chart(payload: dict[str, Any], task: dict[str, Any]) -> str:
    """The task's headline metric for every model that ran it, with its interval (an inline SVG)."""
    from affectkit.evaluation.registry import higher_is_better

    points = []
    for m in _models(payload):
        r = _result(payload, m, task["name"])
        if r and r.get("status") == "ok" and r.get("headline"):
            points.append((m, r["headline"].get("value"), r["headline"].get("ci")))
    return charts.interval_chart(task["headline"], points, higher_is_better(task["headline"]))


def write_html(payload: dict[str, Any], path: Path) -> None:
    """The leaderboard as one self-contained HTML page (plots embedded as PNG data URIs)."""
    import jinja2
    from markupsafe import Markup

    base = path.parent
    tasks = []
    for task in payload["tasks"]:
        results = []
        for m in _models(payload):
            r = _result(payload, m, task["name"])
            if r is None:
                continue
            item = {"model": m, "status": r["status"], "reason": r.get("reason")}
            if r["status"] == "ok":
                item["lines"] = _mapping_lines(r)
                item["per_label_rows"] = _per_label_rows(r) if r.get("per_label") else None
                img = base / r["plot"] if r.get("plot") else None
                item["image"] = base64.b64encode(img.read_bytes()).decode() if img and img.exists() else None
                item["reliability"] = Markup(charts.reliability_chart(  # SVG built with every text escaped
                    f"{m} on {task['name']}", (r.get("details") or {}).get("reliability") or []))
            results.append(item)
        tasks.append({"task": task, "dataset_line": _dataset_line(task), "gold_line": _gold_mapping_line(task),
                      "metric_rows": _metric_rows(payload, task) if task.get("status") == "ok" else [],
                      "chart": Markup(_headline_chart(payload, task)), "results": results})
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    text = env.from_string(_HTML).render(p=payload, board=leaderboard_rows(payload), tasks=tasks, empty=EMPTY,
                                         skipped_models=[m for m in payload["models"] if m.get("status") != "ok"])
    path.write_text(text, encoding="utf-8")


def plot_confusion(confusion: dict[str, Any], path: Path, title: str) -> None:
    """A confusion matrix as a PNG: rows = gold, columns = predicted, colour = share of the gold row, cells
    annotated with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = confusion["labels"]
    cm = np.asarray(confusion["matrix"], dtype=np.float64)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(labels)
    size = max(4.0, 0.45 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(html.unescape(title), fontsize=10)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=6 if k > 12 else 8,
                            color="white" if share[i, j] > 0.5 else "black")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
