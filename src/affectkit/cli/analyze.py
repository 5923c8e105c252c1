from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from affectkit.analyzers.base import DEFAULT_BATCH_SIZE
from affectkit.cli.app import app, setup_logging
from affectkit.cli.engine_options import (
    check_engine,
    cpus_per_worker_option,
    engine_option,
    ray_address_option,
    ray_runtime_env_option,
    workers_option,
)


# long: a typer command: most of its lines are its option declarations
@app.command()
def analyze(
    input: str = typer.Argument(
        ...,
        help=(
            "CSV, TSV, JSONL, Parquet or text file (one item per line); '-' reads stdin; a directory or a quoted glob"
            " of such files (one partition each). An image, audio or video file, or a folder or glob of them, is "
            "analyzed as media (docs/media.md)."
        ),
    ),
    output: Optional[str] = typer.Option(
        None,
        "-o",
        "--output",
        help=(
            "Output file (format from its extension), or a directory (ends with '/' or has no extension: one result "
            "file per input partition plus _manifest.json). Default: JSONL on stdout."
        ),
    ),
    model: str = typer.Option(
        "default", "--model", "-m", help="default, fast, a model folder, lexicon:PATH, hf:ID, llm:MODEL ..."
    ),
    text_col: str = typer.Option("text", "--text-col", "-t", help="Column holding the text."),
    path_col: Optional[str] = typer.Option(
        None,
        "--path-col",
        help="Column holding paths of image, audio or video files (the input table is then a list of media files).",
    ),
    segments: bool = typer.Option(
        False,
        "--segments",
        help="Media: one row per face or time window (with segment and parent columns) instead of one per file.",
    ),
    labels: Optional[str] = typer.Option(
        None, "--labels", "-l", help="Label set for the output (e.g. ekman, plutchik, parrott-2). Default: the model's."
    ),
    top_k: int = typer.Option(3, "--top-k", "-k", min=1, help="How many ranked emotions to write."),
    vad_scale: Optional[str] = typer.Option(
        None, "--vad-scale", help="Scale for valence/arousal/dominance: -1..1 (default), 1..5, 1..9, 0..1."
    ),
    fmt: Optional[str] = typer.Option(
        None, "--format", help="Input format when the extension does not say (csv, tsv, jsonl, parquet, txt)."
    ),
    output_format: Optional[str] = typer.Option(
        None, "--output-format", help="Output format when the extension does not say."
    ),
    distribution: bool = typer.Option(
        True, "--distribution/--no-distribution", help="Write p_<label> columns for the full distribution."
    ),
    prefix: str = typer.Option("", "--prefix", help="Prefix for output columns (avoids clashes with input columns)."),
    chunk_size: int = typer.Option(
        1024, "--chunk-size", min=1,
        help="Rows per chunk, the unit of progress and resume (fewer when they hold over 4 million characters).",
    ),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Texts per model call."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue an interrupted run of the same job."),
    max_chars: Optional[int] = typer.Option(
        None,
        "--max-chars",
        min=1,
        help=(
            "Texts longer than this many characters get a row error saying so instead of a prediction (never "
            "truncated). Default: no limit."
        ),
    ),
    csv_escape_formulas: bool = typer.Option(
        False,
        "--csv-escape-formulas",
        help=(
            "CSV/TSV output: prefix text cells that start with = + - @ (or a tab or CR) with a single quote, so a "
            "spreadsheet shows them instead of running them as formulas."
        ),
    ),
    at_least_one_label: bool = typer.Option(
        False,
        "--at-least-one-label",
        help=(
            "Give every text at least its most probable label in the labels column, for collections where every "
            "text expresses some emotion (emotion-tagged posts, event descriptions). Default: a text with no label "
            "over its threshold gets its top label only when its no-emotion probability is below the level "
            "calibrated for the label set (docs/cross-domain.md)."
        ),
    ),
    context: Optional[int] = typer.Option(
        None,
        "--context",
        min=1,
        help=(
            "Predict each utterance with its previous K turns of the same conversation as context (needs "
            "--conversation-col and --order-col; docs/context.md)."
        ),
    ),
    conversation_col: Optional[list[str]] = typer.Option(
        None,
        "--conversation-col",
        help="Column holding the conversation id (repeat for a key of several columns, e.g. season, episode, scene).",
    ),
    order_col: Optional[str] = typer.Option(
        None, "--order-col", help="Column giving the order of turns within a conversation (a number or a date/time)."
    ),
    speaker_col: Optional[str] = typer.Option(
        None, "--speaker-col", help="Column holding the speaker (for --same-speaker-weight / --other-speaker-weight)."
    ),
    context_method: str = typer.Option(
        "blend",
        "--context-method",
        help=(
            "blend: mix the utterance's prediction with its previous turns' (decayed); text: the model reads the "
            "previous turns with the utterance."
        ),
    ),
    context_weight: float = typer.Option(
        0.25, "--context-weight", min=0.0, max=1.0, help="blend: share of the previous turns in the mixed prediction."
    ),
    context_decay: float = typer.Option(
        0.5, "--context-decay", min=0.0, max=1.0, help="blend: weight factor per turn further back."
    ),
    same_speaker_weight: float = typer.Option(
        1.0, "--same-speaker-weight", min=0.0, help="blend: weight of a previous turn by the same speaker."
    ),
    other_speaker_weight: float = typer.Option(
        1.0, "--other-speaker-weight", min=0.0, help="blend: weight of a previous turn by another speaker."
    ),
    max_error_rate: Optional[float] = typer.Option(
        None,
        "--max-error-rate",
        min=0.0,
        max=1.0,
        help=(
            "Exit with status 3 when more than this share of rows (0..1) failed; the output is still written. Every "
            "row failing is always an error (status 1)."
        ),
    ),
    engine: str = engine_option(),
    ray_address: Optional[str] = ray_address_option(),
    workers: Optional[str] = workers_option(),
    cpus_per_worker: float = cpus_per_worker_option(),
    ray_runtime_env: Optional[str] = ray_runtime_env_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Analyze every text in INPUT: ranked emotions, distribution, multi-label decisions, VAD, evidence."""
    setup_logging(quiet)
    import affectkit
    from affectkit.labels import get_labelset
    from affectkit.runner import AnalyzeOptions, check_row_errors, run_analyze
    from affectkit.tabular import check_input
    from affectkit.vad import get_scale

    if labels:
        get_labelset(labels)  # fail early on an unknown label set
    if vad_scale:
        try:
            get_scale(vad_scale)
        except ValueError as e:
            from affectkit.errors import InputError

            raise InputError(str(e)) from None
    options = AnalyzeOptions(
        text_col=text_col,
        labels=labels,
        top_k=top_k,
        vad_scale=vad_scale,
        distribution=distribution,
        prefix=prefix,
        batch_size=batch_size,
        max_chars=max_chars,
        csv_escape_formulas=csv_escape_formulas,
        at_least_one_label=at_least_one_label,
    )
    if context is not None or conversation_col:
        from affectkit.context import ContextOptions

        if context is None:
            raise typer.BadParameter("--conversation-col needs --context K (how many previous turns to use)")
        from affectkit.errors import InputError

        try:
            options.context = ContextOptions(
                tuple(conversation_col or ()),
                order_col or "",
                context,
                speaker_col,
                context_method,
                context_weight,
                context_decay,
                same_speaker_weight,
                other_speaker_weight,
            )
        except InputError as e:
            raise typer.BadParameter(str(e)) from None
    from affectkit.tabular import check_output

    check_output(input, output)  # before anything is written
    partitioned: dict[str, Any] = dict(  # what a partitioned (Ray or local-pool) run takes, text or media
        engine=engine, address=ray_address, output_format=output_format, chunk_size=chunk_size, workers=workers,
        cpus_per_worker=cpus_per_worker, runtime_env=ray_runtime_env, resume=resume, quiet=quiet,
    )
    from affectkit.media.cli import media_input  # image, audio and video inputs go their own way

    media = media_input(input, path_col, fmt)
    if media is not None:
        check_engine(engine)
        if engine == "local":
            from affectkit.media.cli import run_media

            rows, errors, counts = run_media(
                media, output, model, options, path_col or "path", segments, output_format, quiet, chunk_size, resume
            )
        else:  # the same chunks on Ray workers (affectkit.distributed.media_job)
            from affectkit.distributed import run_distributed
            from affectkit.distributed.media_job import MediaRequest
            from affectkit.errors import InputError

            if output is None or output == "-":
                raise InputError(f"--engine {engine} writes image, audio and video results to a file: pass -o FILE")
            job = run_distributed(
                "analyze-media", input, output, model, MediaRequest(media, path_col or "path", segments, options),
                **partitioned,
            )
            rows, errors, counts = job.rows, job.errors, job.error_counts
        check_row_errors(rows, errors, max_error_rate, counts)
        return
    if segments:
        raise typer.BadParameter("--segments applies to image, audio and video inputs")
    from affectkit.distributed import needs_partitioned_run

    check_engine(engine)
    if needs_partitioned_run(input, output, engine):
        from affectkit.distributed import run_distributed

        done = run_distributed("analyze", input, output, model, options, fmt=fmt, **partitioned)
        check_row_errors(done.rows, done.errors, max_error_rate, done.error_counts)
        return
    check_input(input, fmt)  # the user's file before the (slower) model load
    analyzer = affectkit.load(model)
    report = run_analyze(
        input,
        output,
        analyzer,
        options,
        fmt=fmt,
        output_format=output_format,
        chunk_size=chunk_size,
        resume=resume,
        progress=not quiet,
    )
    if not quiet:
        where = f" -> {output}" if output else ""
        extra = (
            f", resumed after {report.resumed_chunks} finished chunk(s): {report.analysed:,} rows analysed by this run"
            if report.resumed_chunks
            else ""
        )
        print(
            f"analyzed {report.rows:,} rows in {report.seconds:.1f}s ({report.rows_per_second:,.0f} rows/s), "
            f"{report.errors:,} with errors{extra}{where}",
            file=sys.stderr,
        )
        for reason, count in sorted(report.error_counts.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {count:,} x {reason}", file=sys.stderr)
        stats = analyzer.summary()
        if stats:
            print(f"  {analyzer.name}: " + ", ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr)
    check_row_errors(report.rows, report.errors, max_error_rate, report.error_counts)
