"""Free-form words from an LLM onto affectkit's structures: emotion words onto a label set, quotes onto spans.

An emotion word goes onto a label set in this order: a label of the set with that name; the set's neutral label
for "neutral"/"none"; else the Parrott/TONE vocabulary (:meth:`affectkit.labels.EmotionTree.normalize`) names a
node, and the mapping from that node's Parrott tier to the label set (:func:`affectkit.labels.get_mapping`: the
nearest anchored ancestor, else the labels anchored beneath the nearest ancestor below the primary tier, so
"irritated" reaches GoEmotions ``annoyance``) says where it goes. A word that none of these reaches is unmapped
and reported, never guessed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from affectkit.labels import LabelSet, get_mapping, parrott_tree

NEUTRAL_WORDS = frozenset({"neutral", "neutrality", "none", "no emotion", "no emotions", "nothing", "n/a",
                           "emotionless", "indifferent", "indifference"})


@lru_cache(maxsize=8192)
def label_weights(word: str, labelset: LabelSet) -> tuple[tuple[str, float], ...]:
    """How an emotion word spreads over ``labelset`` (weights sum to 1), or ``()`` when it cannot be mapped."""
    key = " ".join(str(word).lower().replace("_", " ").split()).strip(" .,;:!?\"'")
    if not key:
        return ()
    by_lower = {lab.lower(): lab for lab in labelset.labels}
    if key in by_lower:
        return ((by_lower[key], 1.0),)
    if key in NEUTRAL_WORDS:
        return ((labelset.neutral, 1.0),) if labelset.neutral else ()
    tree = parrott_tree()
    found = tree.normalize(key)
    if found.node is None:
        return ()
    node = found.node
    targets = get_mapping(f"parrott-{node.tier}", labelset).targets_of(node.name)
    total = sum(targets.values())
    return tuple((lab, w / total) for lab, w in targets.items()) if total > 0 else ()


def parrott_node(word: str) -> str | None:
    """The Parrott node id a word names (``"anger.irritation.annoyance"``), or ``None``."""
    found = parrott_tree().normalize(str(word))
    return found.node.id if found.node is not None else None


def locate(quote: str, text: str, taken: set[tuple[int, int]] | None = None) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text`` as ``(start, end)``: case-insensitive, tolerant of differences in spacing
    and punctuation between words; the first occurrence not in ``taken``. ``None`` when it does not occur."""
    words = re.findall(r"\w+", quote)
    if not words:
        return None
    pattern = re.compile(r"\W+".join(re.escape(w) for w in words), re.IGNORECASE)
    for m in pattern.finditer(text):
        span = (m.start(), m.end())
        if taken is None or span not in taken:
            return span
    return None
