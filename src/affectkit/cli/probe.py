from __future__ import annotations

from pathlib import Path

import typer

from affectkit.cli.app import app, setup_logging


@app.command("probe")
def probe_command(
    model: str = typer.Option(..., "--model", "-m", help="hf:PATH_OR_ID (local files only, no remote code), "
                              "minilm, onnx:FOLDER, or a model with an ONNX transformer encoder (default)."),
    task: list[str] = typer.Option(..., "--task", "-t", help="Eval task name or task file (repeatable): "  # noqa: B008
                                   "perception (single/multi-label) or assessment tasks."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for probe.md, probe.csv, results.json, "  # noqa: B008
                                "the plots and the resumable state cache."),
    pooling: str = typer.Option("mean", "--pooling", help="Token pooling per layer: mean, last or cls."),
    train_rows: int | None = typer.Option(4000, "--train-rows", min=1, help="Seeded sample of train rows "
                                             "to fit on (see --all-rows)."),
    dev_rows: int | None = typer.Option(1000, "--dev-rows", min=1, help="Dev rows (penalty selection)."),
    test_rows: int | None = typer.Option(2000, "--test-rows", min=1, help="Test rows (scoring)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Use every row of every split."),
    controls: bool = typer.Option(True, "--controls/--no-controls", help="Shuffled-label control and "
                                  "bag-of-words baseline."),
    random_init: bool = typer.Option(False, "--random-init", help="Also probe a randomly initialised copy "
                                     "of the architecture (hf: models; doubles the extraction time)."),
    gguf_file: str | None = typer.Option(None, "--gguf-file", help="With hf:FOLDER, read the weights from "
                                            "this GGUF file in FOLDER (dequantised by transformers)."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples for the test CIs."),
    seed: int = typer.Option(0, "--seed"),
    chunk_size: int = typer.Option(256, "--chunk-size", min=1, help="Texts per cached chunk."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Texts per model call."),
    max_length: int = typer.Option(128, "--max-length", min=8, help="Tokens per text (longer texts are cut)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse cached states of an earlier run."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Probe every layer of a language model for emotion: extract each layer's pooled hidden states (cached on
    disk in chunks, resumable), fit a linear probe per layer on the task's train split (logistic for
    categories, ridge for VAD), choose its penalty on dev and score it on test with bootstrap intervals; with
    controls. Needs the train extra (torch, transformers, onnx, scipy) and matplotlib."""
    setup_logging(quiet)
    from affectkit.cli.console import say
    from affectkit.evaluation.task import select_tasks
    from affectkit.probe.extract import POOLINGS
    from affectkit.probe.report import markdown_table
    from affectkit.probe.run import ProbeOptions, run_probe

    if pooling not in POOLINGS:
        raise typer.BadParameter(f"one of {', '.join(POOLINGS)}; got {pooling!r}", param_hint="--pooling")
    limits = {} if all_rows else {"train": train_rows, "dev": dev_rows, "test": test_rows}
    opts = ProbeOptions(pooling=pooling, limits=limits, seed=seed, n_boot=bootstrap, chunk_size=chunk_size,
                        batch_size=batch_size, max_length=max_length, shuffled_control=controls, bow=controls,
                        random_init=random_init, resume=resume, gguf_file=gguf_file, log=None if quiet else say)
    tasks = select_tasks(list(task))
    rows = run_probe(model, tasks, output, opts)
    if not quiet:
        for t in tasks:
            name = next(r.model for r in rows if r.task == t.name and r.variant == "probe")
            typer.echo(f"\n{t.name} ({name})\n{markdown_table(rows, t.name, name)}")
        typer.echo(f"\nwrote {output / 'probe.md'}, {output / 'probe.csv'}, {output / 'results.json'} and plots")
