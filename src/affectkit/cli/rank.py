from __future__ import annotations

import sys
from typing import Optional

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


@app.command()
def rank(
    input: str = typer.Argument(..., help="CSV, TSV, JSONL, Parquet or text file (one item per line); '-' reads "
                                "stdin; a directory or a quoted glob of such files (one partition each, merged into "
                                "one ranking)."),
    by: str = typer.Option(..., "--by", "-b", help="What to rank by: an emotion of the label set (anger; "
                           "several joined by +, e.g. fear+nervousness), valence, arousal, dominance, intensity, "
                           "distress, positive-affect, calm, depression, or score:NAME (a trained ranking head). "
                           "Prefix with - for ascending order (-valence: most negative first)."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Output file (format from its extension); "
                                         "default: JSONL on stdout."),
    top: Optional[int] = typer.Option(None, "--top", "-k", help="Keep the top K rows."),
    share: Optional[float] = typer.Option(None, "--share", help="Keep the top share of the queue, e.g. 0.1 for the "
                                          "first 10%."),
    model: str = typer.Option("default", "--model", "-m", help="default, fast, a model folder, lexicon:PATH, hf:ID, "
                              "llm:MODEL ..."),
    text_col: str = typer.Option("text", "--text-col", "-t", help="Column holding the text."),
    labels: Optional[str] = typer.Option(None, "--labels", "-l", help="Label set the emotion names refer to "
                                         "(default: the model's)."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Input columns to keep in the output, "
                                          "comma-separated (default: all)."),
    prefix: str = typer.Option("", "--prefix", help="Prefix for the rank/score/error columns."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Input format when the extension does not say."),
    output_format: Optional[str] = typer.Option(None, "--output-format", help="Output format when the extension does "
                                                "not say."),
    chunk_size: int = typer.Option(
        1024, "--chunk-size", min=1,
        help="Rows scored per chunk, at most (fewer when they hold over 4 million characters).",
    ),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Texts per model call."),
    memory_rows: int = typer.Option(1_000_000, "--memory-rows", min=1, help="Selected rows held in memory before "
                                    "spilling to disk."),
    max_error_rate: Optional[float] = typer.Option(None, "--max-error-rate", min=0.0, max=1.0, help="Exit with "
                                                   "status 3 when more than this share of rows (0..1) could not be "
                                                   "scored; the ranking is still written. Every row failing is "
                                                   "always an error (status 1)."),
    engine: str = engine_option(),
    ray_address: Optional[str] = ray_address_option(),
    workers: Optional[str] = workers_option(),
    cpus_per_worker: float = cpus_per_worker_option(),
    ray_runtime_env: Optional[str] = ray_runtime_env_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Order the items of INPUT by an affect attribute and write them with their score and rank, highest
    first, optionally cut at the top K or a share of the queue. A directory or glob input (or --engine ray)
    scores each partition separately and merges them into one ranking (-o FILE)."""
    setup_logging(quiet)
    from affectkit.errors import InputError
    from affectkit.labels import get_labelset
    from affectkit.ranking import RankOptions, cut_size, load_for_ranking, run_rank
    from affectkit.runner import check_row_errors

    try:
        cut_size(1, top, share)
    except ValueError as e:
        raise InputError(str(e)) from None
    if labels:
        get_labelset(labels)
    from affectkit.distributed import needs_partitioned_run

    check_engine(engine)
    options = RankOptions(by, text_col=text_col, labels=labels, top=top, share=share,
                          columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else None,
                          prefix=prefix, batch_size=batch_size, memory_rows=memory_rows)
    if needs_partitioned_run(input, output, engine):
        from affectkit.distributed import run_distributed

        done = run_distributed("rank", input, output, model, options, engine=engine, address=ray_address, fmt=fmt,
                               output_format=output_format, chunk_size=chunk_size, workers=workers,
                               cpus_per_worker=cpus_per_worker, runtime_env=ray_runtime_env, quiet=quiet)
        check_row_errors(done.rows, done.errors, max_error_rate, done.error_counts)
        return
    analyzer = load_for_ranking(model)
    report = run_rank(input, output, analyzer, by, text_col=text_col, labels=labels, top=top, share=share,
                      columns=options.columns, prefix=prefix, fmt=fmt, output_format=output_format,
                      chunk_size=chunk_size, batch_size=batch_size, memory_rows=memory_rows, progress=not quiet)
    if not quiet:
        where = f" -> {output}" if output else ""
        print(f"ranked {report.rows:,} rows by {by} in {report.seconds:.1f}s ({report.rows_per_second:,.0f} rows/s); "
              f"wrote {report.written:,}{where}; {report.errors:,} rows with errors (ranked last)", file=sys.stderr)
    check_row_errors(report.rows, report.errors, max_error_rate)
