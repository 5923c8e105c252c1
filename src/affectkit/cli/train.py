from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from affectkit.cli.app import app, setup_logging

if TYPE_CHECKING:
    from affectkit.training.config import TrainConfig


@app.command()
def train(
    config: Path = typer.Option(..., "--config", "-c", exists=True, help="Training config (YAML); see configs/."),
    output: Path = typer.Option(..., "-o", "--output", help="Model folder to write."),
    base: Optional[str] = typer.Option(None, "--base", help="Override the config's base encoder (a Hugging Face "
                                       "folder, e.g. runs/default.hf-encoder for the fast model, or 'minilm')."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override the config's epochs."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Override the config's seed."),
    max_train_rows: Optional[int] = typer.Option(None, "--max-train-rows", help="Cap rows per task (quick runs)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: all)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Train a model (fine-tuning, heads only, or static embeddings + heads) and write a model folder with
    weights, thresholds, training.json and a model card. Needs the train extra. A config with ``modality: image``
    or ``audio`` fits a scene valence/arousal head or a speech prosody head on media features instead."""
    setup_logging(quiet, verbose=not quiet)
    from affectkit.training.config import TrainConfig
    from affectkit.training.trainer import train as run_train

    try:
        cfg = TrainConfig.from_yaml(config)
    except (ValueError, TypeError) as e:
        from affectkit.errors import InputError

        raise InputError(f"{config}: {e}") from None
    args = ["affectkit", "train", "--config", str(config), "-o", str(output)]
    for flag, value, field in (("--base", base, "base"), ("--epochs", epochs, "epochs"), ("--seed", seed, "seed"),
                               ("--max-train-rows", max_train_rows, "max_train_rows"),
                               ("--threads", threads, "threads")):
        if value is not None:
            setattr(cfg, field, value)
            args += [flag, str(value)]
    if cfg.modality != "text":
        _train_media(cfg, output, base, quiet, shlex.join(args))
        return
    from affectkit.training.quiet import third_party_quiet

    try:
        with third_party_quiet():
            path = run_train(cfg, output, progress=not quiet, command=shlex.join(args))
    except (ValueError, FileNotFoundError) as e:  # a config or data problem the user can fix
        from affectkit.errors import InputError

        raise InputError(str(e)) from e
    if not quiet:
        import json

        from affectkit.training.modelcard import score_lines

        record = json.loads((Path(path) / "training.json").read_text())
        typer.echo("\n".join([*score_lines(record), "", f"trained in {record['train_seconds']} s"]), err=True)
    typer.echo(f"wrote {path}")


def _train_media(cfg: "TrainConfig", output: Path, base: Optional[str], quiet: bool, command: str) -> None:
    """``modality: image`` / ``audio``: heads on a frozen media backbone (affectkit.training.media_heads)."""
    from affectkit.errors import InputError
    from affectkit.media.base import MediaError
    from affectkit.training.media_heads import train_media_heads

    if base is not None:
        raise InputError(f"--base applies to text models; a {cfg.modality} head uses the media backbone")
    try:
        run = train_media_heads(cfg, output, progress=not quiet, command=command)
    except (ValueError, FileNotFoundError, MediaError) as e:  # a config or data problem the user can fix
        raise InputError(str(e)) from e
    if not quiet:
        typer.echo("\n".join([*run.summary, "", f"trained in {run.record['train_seconds']} s"]), err=True)
    typer.echo(f"wrote {run.path}")
