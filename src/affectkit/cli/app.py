from __future__ import annotations

import logging

import typer

app = typer.Typer(
    name="affectkit",
    help="Emotion analysis: ranked emotions, calibrated distributions, VAD and evidence, for files of any size.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def setup_logging(quiet: bool = False, verbose: bool = False) -> None:
    level = logging.WARNING if not verbose else logging.INFO
    if quiet:
        level = logging.ERROR
    from affectkit.cli.console import ProgressSafeHandler

    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", handlers=[ProgressSafeHandler()])
