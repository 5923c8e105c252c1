"""What a new user expects of the command line (issue 19): --version, tiers by name, the Parrott tree, and help that
reads well at 80 columns."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer

import affectkit
from affectkit.cli import app, main
from affectkit.labels.tree import parrott_tree, parse_tier


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(capsys, "--version")
    assert rc == 0 and out.strip() == f"affectkit {affectkit.__version__}"


@pytest.mark.parametrize("tier, node", [("primary", "anger"), ("secondary", "anger.rage"), ("1", "anger"),
                                        ("tertiary", "anger.rage.fury")])
def test_normalize_takes_the_tier_by_name_or_number(capsys: pytest.CaptureFixture[str], tier: str, node: str) -> None:
    rc, out = _run(capsys, "labels", "normalize", "furious", "--tier", tier)
    assert rc == 0
    assert json.loads(out) == {"word": "furious", "node": node, "reason": None}


def test_unknown_tier_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(capsys, "labels", "normalize", "furious", "--tier", "quaternary")
    assert rc == 2 and "unknown tier 'quaternary'" in out
    with pytest.raises(ValueError):
        parse_tier(4)


def test_tree_view_shows_synonyms_and_relations(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(capsys, "labels", "tree", "anger", "--depth", "secondary")
    lines = out.splitlines()
    assert rc == 0
    assert lines[0] == "anger  (negative emotion)  | opposite of fear"
    assert "  envy  | composed of sadness + anger" in lines
    assert len(lines) == 1 + len(parrott_tree().descendants("anger", tier=2))
    rc, out = _run(capsys, "labels", "tree", "furious")  # a word finds its node
    assert rc == 0 and out.splitlines() == ["fury  (furious, infuriated, livid)"]
    rc, out = _run(capsys, "labels", "tree")
    assert rc == 0 and len([ln for ln in out.splitlines() if ln and not ln.startswith(" ")]) == 6 + 1
    assert "Plutchik 1980" in out


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    if hasattr(command, "commands"):  # a group (typer vendors its own copy of click's classes)
        for name, sub in command.commands.items():
            paths += _command_paths(sub, path + (name,))
    return paths


@pytest.mark.parametrize("path", _command_paths(typer.main.get_command(app)), ids=lambda p: " ".join(p) or "root")
def test_help_reads_well_at_80_columns(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                       path: tuple[str, ...]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rc, out = _run(capsys, *path, "--help")
    assert rc == 0 and out.startswith("Usage: affectkit")
    too_wide = [ln for ln in out.splitlines() if len(ln) > 80]
    assert not too_wide, too_wide
    assert "…" not in out
    assert not any(ln.rstrip().endswith("...") for ln in out.splitlines() if not ln.startswith("Usage:")), out
    assert not any(ch in out for ch in "╭│╰"), "help squeezed into a table"
