"""Emotion label sets, mappings between them, and Parrott's tree (TONE)."""

from affectkit.labels.labelset import LabelSet, get_labelset, labelset_from_names, list_labelsets
from affectkit.labels.mapping import LabelMapping, get_mapping
from affectkit.labels.tree import EmotionNode, EmotionTree, NormalizedWord, parrott_tree

__all__ = ["LabelSet", "get_labelset", "labelset_from_names", "list_labelsets", "LabelMapping", "get_mapping",
           "EmotionNode", "EmotionTree", "NormalizedWord", "parrott_tree", "normalize_emotion"]


def normalize_emotion(word: str) -> NormalizedWord:
    """Normalise a free-text emotion word to a node of Parrott's tree (see :meth:`EmotionTree.normalize`)."""
    return parrott_tree().normalize(word)
