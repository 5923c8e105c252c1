"""``affectkit report INPUT -o report.html``: a corpus report as one self-contained HTML file."""

from __future__ import annotations

import typer

from affectkit.cli.app import app, setup_logging


# long: a typer command: most of its lines are its option declarations
@app.command()
def report(
    input: str = typer.Argument(
        ...,
        help="An analysed file (what 'affectkit analyze' writes: CSV, TSV, JSONL or Parquet), "
        "or a raw one with a text column, analysed on the fly.",
    ),
    output: str = typer.Option("report.html", "-o", "--output", help="The HTML file to write."),
    group_col: str | None = typer.Option(
        None,
        "--group-col",
        "-g",
        help="A column to compare groups (or topics) by: distribution per group and polarisation per group.",
    ),
    date_col: str | None = typer.Option(None, "--date-col", "-d", help="A date column (ISO 8601) for the timeline."),
    freq: str = typer.Option(
        "auto", "--freq", help="Timeline period: a pandas offset alias (h, D, W, MS, QS, YS) or auto."
    ),
    conversation_col: str | None = typer.Option(
        None, "--conversation-col", help="A conversation id column: transition matrices, inertia, trajectories."
    ),
    speaker_col: str | None = typer.Option(
        None, "--speaker-col", help="A speaker column: per-speaker transitions, inertia and comparisons."
    ),
    order_col: str | None = typer.Option(
        None,
        "--order-col",
        help="The turn order within a conversation (a number or a timestamp); _row takes the file order.",
    ),
    gold_valence_col: str | None = typer.Option(
        None,
        "--gold-valence-col",
        help="A per-turn gold valence (numbers, or positive/neutral/negative): CCC of predicted valence against it.",
    ),
    text_col: str = typer.Option(
        "text", "--text-col", "-t", help="The text column (representative texts; analysing a raw file)."
    ),
    model: str = typer.Option(
        "default",
        "--model",
        "-m",
        help="The model whose encoder embeds texts for LexRank, and that analyses a raw file.",
    ),
    sections: str | None = typer.Option(
        None,
        "--sections",
        help="Comma-separated sections to include (default: all the columns allow): distribution, groups, "
        "timeline, cooccurrence, circumplex, evidence, representative, polarisation, conversations.",
    ),
    no_text: bool = typer.Option(
        False, "--no-text", help="Leave out the sections that quote the input (evidence words, representative texts)."
    ),
    analyze: bool | None = typer.Option(
        None,
        "--analyze/--no-analyze",
        help="Analyse a file without analysis columns on the fly (default) or refuse it.",
    ),
    lexrank_sample: int = typer.Option(
        32, "--lexrank-sample", min=2, help="Texts sampled per emotion for LexRank (bounds the embedding work)."
    ),
    title: str | None = typer.Option(None, "--title", help="The report's title."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Write a report of INPUT: the emotion distribution with intervals, by group, over time, label
    co-occurrence, valence-arousal density, evidence words, representative texts (LexRank), polarisation and,
    for conversations, transition matrices, inertia and trajectories. The HTML opens offline; every table has a
    CSV download."""
    setup_logging(quiet)
    from affectkit.cli.console import say
    from affectkit.errors import InputError
    from affectkit.report import SECTIONS, TEXT_SECTIONS, ReportOptions, build_report

    chosen = tuple(s.strip() for s in sections.split(",") if s.strip()) if sections else SECTIONS
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise InputError(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if no_text:
        chosen = tuple(s for s in chosen if s not in TEXT_SECTIONS)
    opts = ReportOptions(
        text_col=text_col,
        group_col=group_col,
        date_col=date_col,
        freq=freq,
        conversation_col=conversation_col,
        speaker_col=speaker_col,
        order_col=order_col,
        gold_valence_col=gold_valence_col,
        sections=chosen,
        model=model,
        analyze=analyze,
        lexrank_sample=lexrank_sample,
        title=title,
    )
    result = build_report(input, output, opts)
    for warning in result.warnings:
        say(f"warning: {warning}")
    if not quiet:
        say(f"report of {result.rows:,} rows ({', '.join(result.sections)}) in {result.seconds:.1f}s -> {output}")
