"""One self-contained HTML file: inline CSS and SVG, tables with their CSV as a ``data:`` download link, no
script and no request to anything outside the file."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;
color:#222}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:12px;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
th{background:#f4f4f4}td.t{text-align:left;max-width:640px}.note{color:#555}
.warn{background:#fff4d6;padding:.4rem .8rem;border-left:4px solid #e0a800}a.csv{font-size:12px}
figure{margin:.5rem 0;overflow-x:auto}svg{max-width:100%;height:auto}
nav a{margin-right:.8rem}.scroll{overflow-x:auto}.grid{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
"""


@dataclass
class Section:
    """A titled part of the report: a note, figures (inline SVG) and tables (each shown and downloadable)."""

    key: str
    title: str
    note: str = ""
    figures: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    max_rows: int = 40
    grid: bool = False  # figures two by two


def _csv_link(name: str, frame: pd.DataFrame) -> str:
    data = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    return (
        f'<a class="csv" download="{html.escape(name)}.csv" href="data:text/csv;base64,{data}">'
        f"download {html.escape(name)}.csv ({len(frame):,} rows)</a>"
    )


def _cell(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return "" if np.isnan(number) else f"{number:.3f}" if abs(number) < 1000 else f"{number:,.0f}"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return html.escape(str(value))


def table_html(name: str, frame: pd.DataFrame, max_rows: int = 40, max_cols: int = 16) -> str:
    """The first ``max_rows`` rows and ``max_cols`` columns as a table, and the whole frame as a CSV link."""
    shown = frame.iloc[:max_rows, :max_cols]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):  # the shown rows only (at most max_rows)
        cells = "".join(f'<td class="{"t" if isinstance(v, str) else "n"}">{_cell(v)}</td>' for v in row)
        body.append(f"<tr>{cells}</tr>")
    hidden = [f"{len(frame) - len(shown):,} more rows"] if len(frame) > len(shown) else []
    hidden += [f"{frame.shape[1] - shown.shape[1]} more columns"] if frame.shape[1] > shown.shape[1] else []
    more = f'<p class="note">{" and ".join(hidden)} in the CSV</p>' if hidden else ""
    if not len(shown):
        return f"{more}{_csv_link(name, frame)}"
    rows = "".join(body)
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        f"{more}{_csv_link(name, frame)}"
    )


def render(title: str, summary: str, sections: list[Section], warnings: list[str]) -> str:
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    warn = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in warnings)
    parts = []
    for s in sections:
        figures = "".join(f"<figure>{svg}</figure>" for svg in s.figures)
        figures = f'<div class="grid">{figures}</div>' if s.grid else figures
        tables = "".join(
            f"<h3>{html.escape(name)}</h3>{table_html(name, frame, s.max_rows)}" for name, frame in s.tables
        )
        note = f'<p class="note">{s.note}</p>' if s.note else ""
        parts.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>{note}{figures}{tables}</section>')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src '
        "'unsafe-inline'; img-src data:\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{summary}</p>{warn}<nav>{nav}</nav>{''.join(parts)}</body></html>"
    )


def screenshot(
    page_path: str | Path, png: str | Path, selector: str | None = None, width: int = 1200, height: int = 1400
) -> None:
    """A PNG of a report (its first ``height`` pixels, or the element ``selector``) in headless Chromium (the
    Debian ``chromium`` driven by Playwright: ``pip install playwright``, no browser download)."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        page.goto(Path(page_path).resolve().as_uri())
        if selector:
            page.locator(selector).screenshot(path=str(png))
        else:
            page.screenshot(path=str(png))
        browser.close()
