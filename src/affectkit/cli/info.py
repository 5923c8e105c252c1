from __future__ import annotations

import json

import typer

from affectkit.cli.app import WrappingGroup, app

labels_app = typer.Typer(help="Label sets, mappings between them, and the Parrott emotion tree.", no_args_is_help=True,
                         cls=WrappingGroup)
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


def _tier_option(value: str | None) -> int | None:
    from affectkit.labels.tree import parse_tier

    if value is None:
        return None
    try:
        return parse_tier(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


_TIER_HELP = "primary, secondary or tertiary (or 1, 2, 3)"


@labels_app.command("normalize")
def labels_normalize(
    words: list[str],
    tier: str | None = typer.Option(None, help=f"Roll the node up to this tier: {_TIER_HELP}.",
                                       callback=_tier_option),
) -> None:
    """Normalise free-text emotion words to nodes of Parrott's tree (optionally rolled up to a tier)."""
    from affectkit.labels import parrott_tree

    tree = parrott_tree()
    level = tier if isinstance(tier, int) else None
    for w in words:
        r = tree.normalize(w)
        node = None if r.node is None else (tree.roll_up(r.node.id, level) if level else r.node.id)
        print(json.dumps({"word": w, "node": node, "reason": r.reason}))


@labels_app.command("tree")
def labels_tree(
    node: str | None = typer.Argument(None, help="Show only the subtree under this node: a node id such as "
                                         "anger.rage, or any emotion word (furious)."),
    depth: str | None = typer.Option("tertiary", help=f"The deepest tier shown: {_TIER_HELP}.",
                                        callback=_tier_option),
    synonyms: bool = typer.Option(True, help="Show each node's synonyms in brackets."),
) -> None:
    """Show Parrott's emotion tree (6 primary, 25 secondary, 135 tertiary nodes) with each node's synonyms and
    its relations (opposite of, composed of, leads to; Plutchik 1980)."""
    from affectkit.labels import parrott_tree

    tree = parrott_tree()
    root = None
    if node:
        found = tree.nodes.get(node) or tree.normalize(node).node
        if found is None:
            raise typer.BadParameter(f"{node!r} is neither a node id nor an emotion word of the tree",
                                     param_hint="NODE")
        root = found.id
    for line in tree.render(root, depth=depth if isinstance(depth, int) else 3, synonyms=synonyms):
        print(line)
    if root is None:
        print("\nrelations (sources):")
        for kind, source in tree.relation_sources.items():
            print(f"  {kind.replace('_', ' ')}: {source}")


@app.command()
def models() -> None:
    """List the shipped models and the other model specs affectkit understands."""
    from affectkit.analyzers import shipped_models

    for name in shipped_models():
        print(name)
    print("(also: a model folder, lexicon:PATH[,PATH], hf:ID_OR_PATH, llm:MODEL)")
