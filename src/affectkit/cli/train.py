from __future__ import annotations

from pathlib import Path

import typer

from affectkit.cli.app import app, setup_logging


@app.command()
def train(
    config: Path = typer.Option(..., "--config", "-c", exists=True, help="Training config (YAML); see configs/."),
    output: Path = typer.Option(..., "-o", "--output", help="Model folder to write."),
    epochs: int = typer.Option(None, "--epochs", help="Override the config's epochs."),
    seed: int = typer.Option(None, "--seed", help="Override the config's seed."),
    max_train_rows: int = typer.Option(None, "--max-train-rows", help="Cap rows per task (quick runs)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Train a model (encoder fine-tuning or heads only) and write a model folder. Needs the train extra."""
    setup_logging(quiet, verbose=not quiet)
    from affectkit.training.config import TrainConfig
    from affectkit.training.trainer import train as run_train

    cfg = TrainConfig.from_yaml(config)
    if epochs is not None:
        cfg.epochs = epochs
    if seed is not None:
        cfg.seed = seed
    if max_train_rows is not None:
        cfg.max_train_rows = max_train_rows
    path = run_train(cfg, output, progress=not quiet)
    typer.echo(f"wrote {path}")
