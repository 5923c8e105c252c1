"""``affectkit report``: a corpus-level report of an analysed (or raw) table as one self-contained HTML file.

>>> from affectkit.report import ReportOptions, build_report
>>> build_report("posts.affect.csv", "report.html", ReportOptions(group_col="topic"))   # doctest: +SKIP
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affectkit.errors import AffectkitError
from affectkit.report import aggregate, plots
from affectkit.report.load import ReportInput, load_input
from affectkit.report.page import Section, render

SECTIONS = (
    "distribution",
    "groups",
    "timeline",
    "cooccurrence",
    "circumplex",
    "evidence",
    "representative",
    "polarisation",
    "conversations",
)
TEXT_SECTIONS = ("evidence", "representative")  # the sections that quote words or texts of the input


@dataclass
class ReportOptions:
    text_col: str = "text"
    group_col: str | None = None
    date_col: str | None = None
    freq: str = "auto"
    conversation_col: str | None = None
    speaker_col: str | None = None
    order_col: str | None = None
    gold_valence_col: str | None = None
    sections: tuple[str, ...] = SECTIONS
    model: Any = "default"  # a name, or an analyzer already loaded (the service's)
    analyze: bool | None = None
    max_raw_rows: int | None = None  # a raw file with more rows is refused (the service's limit)
    lexrank_sample: int = 32
    title: str | None = None


@dataclass
class ReportResult:
    output: str
    rows: int
    seconds: float
    sections: list[str]
    warnings: list[str] = field(default_factory=list)


def _wanted(opts: ReportOptions) -> list[str]:
    from affectkit.report.conversations import FILE_ORDER

    cols = [
        opts.group_col,
        opts.date_col,
        opts.conversation_col,
        opts.speaker_col,
        opts.gold_valence_col,
        None if opts.order_col == FILE_ORDER else opts.order_col,
    ]
    return [c for c in dict.fromkeys(cols) if c]


def build_sections(
    data: ReportInput, opts: ReportOptions, embed: Callable[[list[str]], Any] | None = None
) -> tuple[list[Section], list[str]]:
    """Every section the options and the columns allow, and the warnings met on the way."""
    table, labels, warnings = data.table, data.labels, list(data.warnings)
    if "error" in table.column_names:
        import pyarrow.compute as pc

        ok = pc.or_kleene(pc.is_null(table["error"]), pc.equal(pc.cast(table["error"], "string"), ""))
        errors = table.num_rows - int(pc.sum(pc.cast(pc.fill_null(ok, True), "int64")).as_py() or 0)
        if errors:
            warnings.append(f"{errors:,} row(s) have an error from the analysis and are left out")
            table = table.filter(pc.fill_null(ok, True))
    dist = aggregate.distribution(table, labels)  # most frequent first: the order of the labels shown below
    out = _overview_sections(table, labels, dist, opts, warnings)
    out += _text_and_conversation_sections(table, data.text_col, dist, opts, warnings, embed)
    return out, warnings


def _overview_sections(
    table: Any, labels: list[str], dist: pd.DataFrame, opts: ReportOptions, warnings: list[str]
) -> list[Section]:
    """Distribution, groups, timeline, co-occurrence and the circumplex (those the options and columns allow)."""
    wanted, out = set(opts.sections), []
    if "distribution" in wanted:
        out.append(
            Section(
                "distribution",
                "Emotion distribution",
                f"Over {table.num_rows:,} rows: the share "
                "of rows whose top emotion is each label (95 % Wilson interval) and the mean "
                "probability (95 % normal interval).",
                [plots.distribution_bars(dist)],
                [("distribution", dist)],
            )
        )
    if "groups" in wanted and opts.group_col:
        groups, notes = aggregate.by_group(table, labels, opts.group_col)
        warnings += notes
        top = dist["label"].head(12).tolist()
        fig = plots.heatmap(groups[top].to_numpy(), groups["group"].tolist(), top, "mean probability")
        out.append(
            Section(
                "groups",
                f"By {opts.group_col}",
                "Mean probability of each label per group "
                "(largest groups); the CSV has the 95 % intervals (`_low`, `_high`).",
                [fig],
                [(f"by_{opts.group_col}", groups)],
                max_rows=15,
            )
        )
    if "timeline" in wanted and opts.date_col:
        dates, notes = aggregate.parse_dates(table, opts.date_col)
        warnings += notes
        top = dist["label"].head(6).tolist()
        line, freq = aggregate.timeline(table, top, dates, opts.freq)
        out.append(
            Section(
                "timeline",
                f"Over time ({opts.date_col})",
                f"Means per period (resampled to <code>{html.escape(freq)}</code>).",
                [plots.timeline_lines(line, top)],
                [("timeline", line)],
                max_rows=15,
            )
        )
    if "cooccurrence" in wanted and "labels" in table.column_names:
        co = aggregate.cooccurrence(table, labels)
        shown = [x for x in labels if co.loc[x, x] > 0]
        co = co.loc[shown, shown]
        out.append(
            Section(
                "cooccurrence",
                "Label co-occurrence",
                "Rows whose multi-label decision holds "
                "both labels (diagonal: rows holding the label), log colour scale.",
                [plots.heatmap(co.to_numpy(), shown, shown, "rows", "{:.0f}", log=True)],
                [("cooccurrence", co.reset_index(names="label"))],
                max_rows=0,
            )
        )
    if "circumplex" in wanted:
        counts, _, _ = aggregate.vad_density(table)
        centres = aggregate.centroids(table)
        out.append(
            Section(
                "circumplex",
                "Valence and arousal",
                "Density of rows on the valence-arousal "
                "plane (the circumplex of Russell 1980), with each top emotion's mean.",
                [plots.circumplex(counts, centres)],
                [("centroids", centres)],
                max_rows=0,
            )
        )
    return out


def _text_and_conversation_sections(
    table: Any,
    text_col: str | None,
    dist: pd.DataFrame,
    opts: ReportOptions,
    warnings: list[str],
    embed: Callable[[list[str]], Any] | None,
) -> list[Section]:
    """Evidence words, representative texts, polarisation and the conversation sections."""
    wanted, out = set(opts.sections), []
    if "evidence" in wanted and "evidence" in table.column_names:
        words = aggregate.evidence_words(table)
        summary = words.groupby("label", sort=True).agg(words=("word", lambda w: ", ".join(w))).reset_index()
        out.append(
            Section(
                "evidence",
                "Top evidence words per emotion",
                "The words that pushed each emotion up most often (the <code>evidence</code> column).",
                [],
                [("evidence_words", summary), ("evidence_word_counts", words)],
                max_rows=30,
            )
        )
    if "representative" in wanted and text_col and embed is not None:
        from affectkit.report.lexrank import representative_texts

        shown_labels = dist.query("top_rows >= 3")["label"].tolist()
        try:
            reps = representative_texts(table, text_col, shown_labels, embed, opts.lexrank_sample)
        except AffectkitError as e:  # a model without an encoder (lexicon, LLM): the rest of the report stands
            warnings.append(f"no representative texts: {e}")
            reps = None
        if reps is not None:
            out.append(
                Section(
                    "representative",
                    "Representative texts",
                    "The most central texts of a random "
                    f"sample of up to {opts.lexrank_sample} per top emotion, by continuous LexRank "
                    "(Erkan &amp; Radev 2004) over the model encoder's sentence embeddings; "
                    "<code>lexrank</code> is the score times the sample size (1 = average centrality).",
                    [],
                    [("representative", reps)],
                    max_rows=90,
                )
            )
    if "polarisation" in wanted:
        pol = aggregate.polarisation(table, opts.group_col)
        out.append(
            Section(
                "polarisation", "Polarisation of valence", POLARISATION_NOTE, [], [("polarisation", pol)], max_rows=31
            )
        )
    if "conversations" in wanted and opts.conversation_col:
        out += _conversation_sections(table, opts, warnings)
    return out


POLARISATION_NOTE = (
    "<code>esteban_ray</code>: the polarisation index of Esteban &amp; Ray (1994, Econometrica 62:819), "
    "P = &Sigma;<sub>i</sub>&Sigma;<sub>j</sub> &pi;<sub>i</sub><sup>1+&alpha;</sup>&pi;<sub>j</sub>"
    "|y<sub>i</sub>&minus;y<sub>j</sub>| over 10 equal valence bins (y: bin centres on 0..1, &alpha; = 1.6); "
    "0 when everyone is in one bin, 0.148 at most (half at each end). <code>bimodality</code>: Sarle's "
    "bimodality coefficient with the sample-size correction (Pfister et al. 2013); above 0.555 (a uniform "
    "distribution) suggests two camps."
)


def _conversation_sections(table: Any, opts: ReportOptions, warnings: list[str]) -> list[Section]:
    from affectkit.report.conversations import analyse_conversations

    found = analyse_conversations(
        table, str(opts.conversation_col), opts.order_col, opts.speaker_col, opts.gold_valence_col
    )
    warnings += found.warnings
    figures = [plots.transition_heatmap(t, name) for name, t in list(found.transitions.items())[:4]]
    tables = [("inertia", found.inertia)]
    if not found.comparisons.empty:
        tables.append(("speaker_valence_vs_others", found.comparisons))
    for name, t in found.transitions.items():
        stationary = pd.DataFrame({"label": t.labels, "stationary": t.stationary, "turns_from": t.counts.sum(axis=1)})
        matrix = pd.DataFrame(np.round(t.matrix, 4), columns=t.labels).assign(**{"from": t.labels})
        tables += [(f"transitions_{name}", matrix[["from", *t.labels]]), (f"stationary_{name}", stationary)]
    if found.ccc is not None:
        tables.insert(1, ("ccc_valence", found.ccc))
    note = (
        "Transition matrices between the top emotions of consecutive turns (per speaker: that speaker's "
        "consecutive turns in a conversation), their stationary distribution, emotional inertia (lag-1 "
        "autocorrelation of valence within each sequence, Kuppens et al. 2010), the difference in mean "
        "valence between each main speaker and the others (95 % bootstrap interval), the longest "
        "conversations' trajectories (exponential smoothing, change points by PELT, Killick et al. "
        "2012), and, with a gold column, Lin's concordance (CCC) of predicted valence against it."
    )
    out = [Section("conversations", "Conversations", note, figures, tables, max_rows=12, grid=True)]
    if found.trajectories:
        out.append(
            Section(
                "trajectories",
                "Trajectories",
                "The longest conversations: valence per turn "
                "(faint), smoothed valence and arousal, and change points of valence.",
                [plots.trajectories(found.trajectories)],
                [(f"trajectory_{k}", v) for k, v in found.trajectories.items()],
                max_rows=0,
            )
        )
    return out


def build_report(
    path: str | Path,
    output: str | Path,
    opts: ReportOptions | None = None,
    embed: Callable[[list[str]], Any] | None = None,
) -> ReportResult:
    """Read ``path``, build every section the options allow and write one HTML file to ``output``. ``embed``
    maps texts to vectors for LexRank; by default the encoder of ``opts.model``."""
    opts = opts or ReportOptions()
    start = time.perf_counter()
    if opts.conversation_col and not opts.order_col:
        from affectkit.errors import InputError
        from affectkit.report.conversations import FILE_ORDER

        raise InputError(
            f"conversation column {opts.conversation_col!r} given without an order column: pass "
            f"--order-col (a turn number or a timestamp), or --order-col {FILE_ORDER} to take "
            "the rows in file order"
        )
    data = load_input(path, _wanted(opts), opts.text_col, opts.analyze, opts.model, max_raw_rows=opts.max_raw_rows)
    if embed is None and "representative" in opts.sections and data.text_col:
        embed = _lazy_encoder(opts.model, cached=data.analysed_here)  # a raw file's model is loaded already
    sections, warnings = build_sections(data, opts, embed)
    title = opts.title or f"Emotion report: {Path(path).name}"
    summary = (
        f"{data.table.num_rows:,} rows, {len(data.labels)} labels; generated by affectkit "
        f"report in {time.perf_counter() - start:.1f} s."
    )
    Path(output).write_text(render(title, summary, sections, warnings), encoding="utf-8")
    return ReportResult(
        str(output), data.table.num_rows, time.perf_counter() - start, [s.key for s in sections], warnings
    )


def _lazy_encoder(model: Any, cached: bool = False) -> Callable[[list[str]], Any]:
    """``embed`` of ``model`` (a name: loaded for the call and let go after it, so its memory is not held
    while the rest of the report is built; or an analyzer already loaded)."""

    def embed(texts: list[str]) -> Any:
        import affectkit
        from affectkit.errors import AffectkitError

        analyzer = affectkit.load(model, cache=cached) if isinstance(model, str) else model
        if not hasattr(analyzer, "embed"):
            raise AffectkitError(
                f"model {model!r} has no encoder for representative texts; pass --model "
                "default or leave the section out (--no-text)"
            )
        return analyzer.embed(texts)

    return embed


__all__ = ["SECTIONS", "TEXT_SECTIONS", "ReportOptions", "ReportResult", "build_report", "build_sections"]
