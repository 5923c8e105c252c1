"""Label sets: named, ordered lists of emotion labels, kept as data in ``data/labelsets.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from affectkit.errors import UnknownLabelSetError
from affectkit.labels.tree import parrott_tree


@dataclass(frozen=True)
class LabelSet:
    """An ordered list of labels; the order is the column order of every score vector over this set.

    ``anchors`` ties each label to a node of Parrott's tree (``None`` = no emotion), which lets affectkit
    derive mappings between label sets that have no published one.
    """

    name: str
    labels: tuple[str, ...]
    neutral: str | None = None
    description: str = ""
    source: str = ""
    aliases: tuple[str, ...] = ()
    anchors: dict[str, str | None] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"label set {self.name!r} has duplicate labels")

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        return iter(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    @property
    def _index(self) -> dict[str, int]:
        return _index_of(self.labels)

    def index(self, label: str) -> int:
        """Column index of ``label``; raises a ``KeyError`` that lists the valid labels."""
        try:
            return self._index[label]
        except KeyError:
            raise KeyError(f"{label!r} is not a label of {self.name!r}; labels are: {', '.join(self.labels)}") from None

    @property
    def emotion_labels(self) -> tuple[str, ...]:
        """The labels other than the neutral one."""
        return tuple(lab for lab in self.labels if lab != self.neutral)

    def to_dict(self) -> dict:
        return {"name": self.name, "labels": list(self.labels), "neutral": self.neutral,
                "description": self.description, "source": self.source, "aliases": list(self.aliases)}


@lru_cache(maxsize=256)
def _index_of(labels: tuple[str, ...]) -> dict[str, int]:
    return {lab: i for i, lab in enumerate(labels)}


@lru_cache(maxsize=1)
def _registry() -> dict[str, LabelSet]:
    raw = yaml.safe_load(resources.files("affectkit.labels.data").joinpath("labelsets.yaml").read_text("utf-8"))
    tree = parrott_tree()
    sets: dict[str, LabelSet] = {}
    for name, spec in raw.items():
        if "tier" in spec:  # the Parrott tiers are generated from the tree
            continue
        labels = tuple(spec["labels"])
        anchors = dict(spec.get("parrott", {}))
        missing = set(labels) - set(anchors)
        if missing:
            raise ValueError(f"label set {name!r}: no Parrott anchor for {sorted(missing)}")
        for lab, node in anchors.items():
            if node is not None:
                tree.node(node)  # validates the anchor
        sets[name] = LabelSet(name, labels, spec.get("neutral"), spec.get("description", ""), spec.get("source", ""),
                              tuple(spec.get("aliases", [])), anchors)
    titles = {1: "primary", 2: "secondary", 3: "tertiary"}
    for tier in (1, 2, 3):
        nodes = tree.tier(tier)
        name = f"parrott-{tier}"
        aliases = (f"parrott-{titles[tier]}", f"tone-{tier}") + (("parrott",) if tier == 1 else ())
        sets[name] = LabelSet(name, tuple(n.name for n in nodes), None,
                              f"Parrott's {len(nodes)} {titles[tier]} emotions (TONE tier {tier}).", tree.source,
                              aliases, {n.name: n.id for n in nodes})
    return sets


@lru_cache(maxsize=1)
def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for ls in _registry().values():
        for key in (ls.name, *ls.aliases):
            table[key.lower()] = ls.name
    return table


def get_labelset(name: "str | LabelSet") -> LabelSet:
    """Look up a label set by name or alias (case-insensitive), e.g. ``"ekman"``, ``"GoEmotions-28"``."""
    if isinstance(name, LabelSet):
        return name
    key = str(name).strip().lower()
    table = _alias_table()
    if key not in table:
        raise UnknownLabelSetError(
            f"unknown label set {name!r}; known label sets: {', '.join(sorted(_registry()))}")
    return _registry()[table[key]]


def list_labelsets() -> list[LabelSet]:
    """Every shipped label set, in file order."""
    return list(_registry().values())


NEUTRAL_NAMES = frozenset({"neutral", "no emotion", "none", "other", "others", "noemotion", "nocode"})


def labelset_from_names(names: list[str], name: str, description: str = "",
                        source: str = "") -> tuple[LabelSet, list[int]]:
    """A label set for free label names (a classifier's outputs, a user's data) and the column order that maps
    the names onto it: a registered label set when the names are exactly its labels, else a new set whose labels
    are anchored on Parrott's tree through the emotion vocabulary (so that mappings to every other set can be
    derived); a name such as "neutral", "none" or "other" becomes its neutral label."""
    lowered = [n.strip().lower() for n in names]
    candidates = [ls for ls in list_labelsets() if set(lowered) <= set(ls.labels) and len(ls) == len(lowered)]
    if candidates:
        ls = candidates[0]
        return ls, [lowered.index(lab) for lab in ls.labels]
    tree = parrott_tree()
    anchors: dict[str, str | None] = {}
    neutral = None
    for n in lowered:
        if n in NEUTRAL_NAMES:
            anchors[n], neutral = None, n
        else:
            r = tree.normalize(n)
            anchors[n] = r.node.id if r.node else None
    return LabelSet(name, tuple(lowered), neutral, description, source, (), anchors), list(range(len(lowered)))
