"""Parrott's three-tier emotion tree with a synonym vocabulary and relations (TONE).

Parrott (2001), *Emotions in Social Psychology*; Dhar et al., *TONE: A 3-Tiered ONtology for Emotion analysis*.
The tree and vocabulary are data (``data/parrott.yaml``); this module loads them and answers questions:
which node a free-text emotion word names, how to roll a node up to a tier, and which nodes lie beneath it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Iterable

import yaml

_DATA = "affectkit.labels.data"

# Words that qualify an emotion word without changing which emotion it names.
_FILLERS = {
    "a", "an", "the", "very", "so", "really", "quite", "somewhat", "slightly", "extremely", "deeply", "bit", "little",
    "feel", "feels", "feeling", "felt", "being", "sense", "of", "kind", "sort", "mild", "strong", "intense",
    "mostly", "some", "great", "lot", "i", "am", "is", "was", "and", "emotion", "emotions", "mood",
}
# Suffix rewrites tried in order when a word is not in the vocabulary (word forms: "annoyedly" -> "annoyed").
_SUFFIX_RULES: tuple[tuple[str, str], ...] = (
    ("ily", "y"), ("ly", ""), ("nesses", "ness"), ("ies", "y"), ("es", ""), ("s", ""),
    ("iness", "y"), ("ness", ""), ("edly", "ed"), ("ingly", "ing"), ("ied", "y"), ("ed", ""), ("ed", "e"),
    ("ing", ""), ("ing", "e"), ("ful", ""), ("ment", ""), ("ity", ""), ("ous", ""),
)


TIER_NAMES = ("primary", "secondary", "tertiary")


def parse_tier(value: str | int) -> int:
    """A tier given by number (1, 2, 3) or by Parrott's name for it (primary, secondary, tertiary)."""
    text = str(value).strip().lower()
    if text in TIER_NAMES:
        return TIER_NAMES.index(text) + 1
    if text in ("1", "2", "3"):
        return int(text)
    raise ValueError(f"unknown tier {value!r}: use primary, secondary, tertiary or 1, 2, 3")


@dataclass(frozen=True)
class EmotionNode:
    """One node of the tree: ``id`` is a dotted path such as ``"anger.irritation.annoyance"``."""

    id: str
    name: str
    tier: int
    parent: str | None
    synonyms: tuple[str, ...] = ()

    @property
    def primary(self) -> str:
        return self.id.split(".")[0]


@dataclass
class NormalizedWord:
    """The result of normalising a free-text emotion word: the node it names, or ``None`` with a reason."""

    word: str
    node: EmotionNode | None
    matched: str | None = None
    reason: str | None = None


@dataclass
class EmotionTree:
    nodes: dict[str, EmotionNode]
    vocabulary: dict[str, str]  # normalised word -> node id
    relations: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    relation_sources: dict[str, str] = field(default_factory=dict)
    source: str = ""

    # -- structure -------------------------------------------------------------------------------------------------
    def tier(self, tier: int) -> list[EmotionNode]:
        """All nodes at ``tier`` (1 = 6 primary, 2 = 25 secondary, 3 = 135 tertiary), in tree order."""
        return [n for n in self.nodes.values() if n.tier == tier]

    def node(self, node_id: str) -> EmotionNode:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"unknown Parrott node {node_id!r}") from None

    def ancestors(self, node_id: str) -> list[str]:
        """The node itself followed by its ancestors, deepest first."""
        parts = node_id.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    def roll_up(self, node_id: str, tier: int) -> str:
        """The ancestor of ``node_id`` at ``tier`` (or the node itself when it is already at or above it)."""
        parts = self.node(node_id).id.split(".")
        return ".".join(parts[: min(tier, len(parts))])

    def descendants(self, node_id: str, tier: int | None = None) -> list[str]:
        """Nodes under ``node_id`` (excluding itself), optionally only those at ``tier``."""
        prefix = node_id + "."
        return [n.id for n in self.nodes.values() if n.id.startswith(prefix) and (tier is None or n.tier == tier)]

    def roll_down(self, node_id: str, tier: int) -> list[str]:
        """The nodes at ``tier`` that lie under ``node_id`` (itself if it is at that tier)."""
        node = self.node(node_id)
        if node.tier >= tier:
            return [self.roll_up(node_id, tier)]
        return self.descendants(node_id, tier)

    def roll_up_scores(self, scores: dict[str, float], tier: int) -> dict[str, float]:
        """Sum scores held on nodes into their ancestors at ``tier`` (a distribution stays a distribution)."""
        out = {n.id: 0.0 for n in self.tier(tier)}
        for node_id, s in scores.items():
            out[self.roll_up(node_id, tier)] += float(s)
        return out

    def roll_down_scores(self, scores: dict[str, float], tier: int) -> dict[str, float]:
        """Spread each node's score evenly over its descendants at ``tier`` (mass is preserved)."""
        out = {n.id: 0.0 for n in self.tier(tier)}
        for node_id, s in scores.items():
            children = self.roll_down(node_id, tier)
            for c in children:
                out[c] += float(s) / len(children)
        return out

    # -- vocabulary ------------------------------------------------------------------------------------------------
    def normalize(self, word: str) -> NormalizedWord:
        """Map a free-text emotion word ("Annoyed!", "feeling hopeful", "joyfully") to a node, or say why not.

        Tries the exact phrase, the phrase without filler words, each remaining word, and simple word-form
        rewrites (suffixes). Words that name no emotion in the vocabulary return ``node=None`` with a reason.
        """
        raw = word
        if not isinstance(word, str) or not word.strip():
            return NormalizedWord(str(raw), None, reason="empty or not a string")
        text = re.sub(r"[^a-z\s'-]", " ", word.lower()).replace("'", "").strip()
        text = re.sub(r"\s+", " ", text)
        candidates: list[str] = [text]
        content = [t for t in text.replace("-", " ").split() if t not in _FILLERS]
        if content:
            candidates.append(" ".join(content))
            candidates.extend(content[::-1])  # the head word of an English phrase is usually last
        for cand in candidates:
            node_id = self.vocabulary.get(cand)
            if node_id:
                return NormalizedWord(raw, self.nodes[node_id], matched=cand)
        for cand in content[::-1]:
            for suffix, repl in _SUFFIX_RULES:
                if cand.endswith(suffix) and len(cand) - len(suffix) >= 3:
                    stem = cand[: len(cand) - len(suffix)] + repl
                    node_id = self.vocabulary.get(stem)
                    if node_id:
                        return NormalizedWord(raw, self.nodes[node_id], matched=stem)
        return NormalizedWord(raw, None, reason=f"{raw!r} is not in the emotion vocabulary")

    def normalize_many(self, words: Iterable[str], tier: int | None = None) -> tuple[list[str], list[str]]:
        """Normalise words to node ids (rolled up to ``tier`` if given); returns (node ids, unmapped words)."""
        mapped: list[str] = []
        unmapped: list[str] = []
        for w in words:
            r = self.normalize(w)
            if r.node is None:
                unmapped.append(str(w))
            else:
                mapped.append(self.roll_up(r.node.id, tier) if tier else r.node.id)
        return mapped, unmapped

    # -- relations -------------------------------------------------------------------------------------------------
    def opposite(self, word: str) -> list[str]:
        """Emotion words listed as opposite of ``word`` (Plutchik 1980)."""
        out = []
        for a, b in self.relations.get("opposite_of", []):
            if a == word:
                out.append(b)
            elif b == word:
                out.append(a)
        return out

    def components(self, word: str) -> tuple[str, ...] | None:
        """The primary emotions that compose ``word`` (a Plutchik dyad), if known."""
        for item in self.relations.get("composed_of", []):
            if item[0] == word:
                return tuple(item[1:])
        return None

    def leads_to(self, word: str) -> list[str]:
        return [b for a, b in self.relations.get("leads_to", []) if a == word]

    def relations_of(self, word: str) -> dict[str, list[str]]:
        """Every relation that names ``word``: its opposites, the primaries it is composed of, what it leads to."""
        found = {"opposite_of": self.opposite(word), "composed_of": list(self.components(word) or ()),
                 "leads_to": self.leads_to(word)}
        return {k: v for k, v in found.items() if v}

    def render(self, root: str | None = None, depth: int = 3, synonyms: bool = True) -> list[str]:
        """The tree (or the subtree under ``root``, a node id) as indented lines down to tier ``depth``: each node
        with its synonyms in brackets and its relations after a bar."""
        start = self.node(root).tier if root else 1
        lines = []
        for n in self.nodes.values():
            if n.tier > depth or (root and n.id != root and not n.id.startswith(root + ".")):
                continue
            line = "  " * (n.tier - start) + n.name
            if synonyms and n.synonyms:
                line += f"  ({', '.join(n.synonyms)})"
            rel = self.relations_of(n.name)
            if rel:
                line += "  | " + "; ".join(
                    f"{k.replace('_', ' ')} {(' + ' if k == 'composed_of' else ', ').join(v)}" for k, v in rel.items())
            lines.append(line)
        return lines


def _add_word(vocab: dict[str, str], word: str, node_id: str, tree_ids: set[str]) -> None:
    key = word.lower().strip()
    existing = vocab.get(key)
    # A word that names several nodes on one chain (e.g. "sadness" at every tier) keeps the deepest one;
    # a word claimed by two different branches is a data error.
    if existing and existing != node_id:
        if existing.startswith(node_id + ".") or node_id.startswith(existing + "."):
            node_id = max(existing, node_id, key=lambda n: n.count("."))
        else:
            raise ValueError(f"vocabulary word {key!r} names both {existing} and {node_id}")
    vocab[key] = node_id


@lru_cache(maxsize=1)
def parrott_tree() -> EmotionTree:
    """Load the shipped Parrott/TONE tree (cached)."""
    raw = yaml.safe_load(resources.files(_DATA).joinpath("parrott.yaml").read_text(encoding="utf-8"))
    nodes: dict[str, EmotionNode] = {}
    pending: list[tuple[str, str]] = []
    for p_name, p_body in raw["tree"].items():
        p_body = dict(p_body)
        nodes[p_name] = EmotionNode(p_name, p_name, 1, None, tuple(p_body.pop("synonyms", [])))
        for s_name, s_body in p_body.items():
            s_body = dict(s_body)
            s_id = f"{p_name}.{s_name}"
            nodes[s_id] = EmotionNode(s_id, s_name, 2, p_name, tuple(s_body.pop("synonyms", [])))
            for t_name, t_syn in s_body.items():
                t_id = f"{s_id}.{t_name}"
                nodes[t_id] = EmotionNode(t_id, t_name, 3, s_id, tuple(t_syn or []))
    ids = set(nodes)
    vocab: dict[str, str] = {}
    for n in nodes.values():
        pending.append((n.name, n.id))
        pending.extend((s, n.id) for s in n.synonyms)
    for word, node_id in pending:
        _add_word(vocab, word, node_id, ids)
    rel = raw.get("relations", {})
    relations: dict[str, list[tuple[str, ...]]] = {
        "opposite_of": [tuple(p) for p in rel.get("opposite_of", {}).get("pairs", [])],
        "composed_of": [(k, *v) for k, v in rel.get("composed_of", {}).get("items", {}).items()],
        "leads_to": [tuple(p) for p in rel.get("leads_to", {}).get("pairs", [])],
    }
    sources = {k: v.get("source", "") for k, v in rel.items()}
    return EmotionTree(nodes, vocab, relations, sources, raw.get("source", ""))
