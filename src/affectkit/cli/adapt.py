from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional

import typer

from affectkit.cli.app import app, setup_logging


@app.command()
def adapt(
    data: Path = typer.Argument(..., exists=True, help="Labelled rows: CSV, TSV, JSONL or Parquet."),
    output: Path = typer.Option(..., "-o", "--output", help="Model folder to write (a copy of --model plus a head)."),
    model: str = typer.Option("default", "--model", "-m", help="The model to adapt: default, fast or a folder."),
    text_col: str = typer.Option("text", "--text-col", help="Column holding the text."),
    label_col: str = typer.Option("label", "--label-col", help="Column holding the label(s)."),
    sep: str = typer.Option(",", "--sep", help="Separator between several labels in one cell."),
    labelset: Optional[str] = typer.Option(None, "--labelset", help="Name of the label set (a registered one, "
                                           "e.g. ekman, or a new name; default: the file name)."),
    dev_fraction: float = typer.Option(0.2, "--dev-fraction", min=0.0, max=0.5,
                                       help="Share of the rows held out to calibrate temperature and thresholds."),
    no_prior: bool = typer.Option(False, "--no-prior", help="Train on your rows only, without the shipped "
                                  "datasets mapped onto your labels."),
    no_label_names: bool = typer.Option(False, "--no-label-names", help="Do not read your labels' names (the "
                                        "model's label prototypes): for labels that are codes, not words."),
    seed: int = typer.Option(13, "--seed"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Adapt a model to your own labels in minutes on CPU: a native head over your label set, fit on your rows
    (with the shipped datasets mapped onto your labels as a prior) and calibrated on a held-out share of them.
    The encoder is unchanged. Needs the train extra (scipy)."""
    setup_logging(quiet)
    from affectkit.errors import InputError
    from affectkit.training.adapt import adapt as run_adapt
    from affectkit.training.config import TaskSpec
    from affectkit.training.data import load_task_splits

    spec = TaskSpec(type="categories", dataset=str(data), labelset=labelset or data.stem,
                    columns={"text": text_col, "labels": label_col, "sep": sep})
    try:
        ds = load_task_splits(spec)["train"]
    except (ValueError, KeyError) as e:
        raise InputError(f"{data}: {e}") from None
    assert ds is not None
    if len(ds) < 10:
        raise InputError(f"{data}: {len(ds)} labelled rows; adapt needs at least 10")
    command = shlex.join(["affectkit", "adapt", str(data), "-o", str(output), "--model", model]
                         + (["--no-label-names"] if no_label_names else []))
    path = run_adapt(model if not Path(model).is_dir() else Path(model), ds, output, labelset,
                     with_shipped=not no_prior, dev_fraction=dev_fraction, seed=seed, command=command,
                     label_names=not no_label_names)
    typer.echo(f"wrote {path}")
