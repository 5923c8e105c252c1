from __future__ import annotations

import logging
from typing import Any

import typer
from typer.core import TyperGroup


class WrappingGroup(TyperGroup):
    """A command group whose command list shows each command's whole first sentence, wrapped to the terminal,
    where click would cut it off with '...' at the column width."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:  # typer's vendored click classes
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=WrappingGroup,
    name="affectkit",
    help="Emotion analysis: ranked emotions, calibrated distributions, VAD and evidence, for files of any size.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: wraps every text to the terminal (80 columns read well) instead of squeezing option help
    # into a narrow table column, and never cuts a word off with an ellipsis
    rich_markup_mode=None,
)


def setup_logging(quiet: bool = False, verbose: bool = False) -> None:
    level = logging.WARNING if not verbose else logging.INFO
    if quiet:
        level = logging.ERROR
    from affectkit.cli.console import ProgressSafeHandler

    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", handlers=[ProgressSafeHandler()])


def _print_version(value: bool) -> None:
    if value:
        import affectkit

        print(f"affectkit {affectkit.__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
) -> None:
    """Emotion analysis: ranked emotions, calibrated distributions, VAD and evidence, for files of any size."""
