from __future__ import annotations

import json
from typing import Optional

import typer

from affectkit.cli.app import app

labels_app = typer.Typer(help="Label sets, mappings between them, and the Parrott emotion tree.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")


@labels_app.command("list")
def labels_list() -> None:
    """List the label sets."""
    from affectkit.labels import list_labelsets

    for ls in list_labelsets():
        print(f"{ls.name:22s} {len(ls):4d}  {ls.description}")


@labels_app.command("show")
def labels_show(name: str) -> None:
    """Show one label set's labels and source."""
    from affectkit.labels import get_labelset

    print(json.dumps(get_labelset(name).to_dict(), indent=2))


@labels_app.command("map")
def labels_map(source: str, target: str) -> None:
    """Show the mapping from SOURCE to TARGET label set: its citation, the weights, how much of each source
    label's probability mass carries over (the rest becomes the no-emotion mass), and target labels that no
    source label reaches (a model predicts those through a head of its own, if it has one)."""
    from affectkit.labels import get_mapping

    m = get_mapping(source, target)
    print(json.dumps({"source": m.source.name, "target": m.target.name, "citation": m.citation,
                      "derived": m.derived, "unmapped": m.unmapped, "unreached": m.unreached,
                      "mass_carried": m.mass_carried(), "map": m.as_dict()}, indent=2))


@labels_app.command("normalize")
def labels_normalize(words: list[str], tier: Optional[int] = typer.Option(None, min=1, max=3)) -> None:
    """Normalise free-text emotion words to nodes of Parrott's tree (optionally rolled up to a tier)."""
    from affectkit.labels import parrott_tree

    tree = parrott_tree()
    for w in words:
        r = tree.normalize(w)
        node = None if r.node is None else (tree.roll_up(r.node.id, tier) if tier else r.node.id)
        print(json.dumps({"word": w, "node": node, "reason": r.reason}))


@app.command()
def models() -> None:
    """List the shipped models and the other model specs affectkit understands."""
    from affectkit.analyzers import shipped_models

    for name in shipped_models():
        print(name)
    print("(also: a model folder, lexicon:PATH[,PATH], hf:ID_OR_PATH, llm:MODEL)")
