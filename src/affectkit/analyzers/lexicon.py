"""Lexicon analyzer: emotion and VAD scores from word lists the user supplies.

Formats read (detected from the file):
- NRC Emotion Lexicon (EmoLex; Mohammad and Turney 2013), word-level: ``word<TAB>emotion<TAB>0|1`` lines, or the
  wide form with one column per emotion;
- NRC VAD Lexicon (Mohammad 2018): ``word<TAB>valence<TAB>arousal<TAB>dominance`` (0..1, or -1..1 in v2);
- Warriner et al. (2013) norms CSV: ``Word, V.Mean.Sum, A.Mean.Sum, D.Mean.Sum`` (1..9).

Negation (our choice, after the window rules common in VADER and Taboada et al. 2011): a negator ("not",
"never", "n't", ...) negates up to the next three words, stopping at punctuation. A negated emotion word adds
nothing to its emotion; a negated word's valence is reflected about the scale midpoint and halved
(v' = mid - 0.5 (v - mid)). Text without emotion words puts its mass on ``neutral``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.errors import InputError
from affectkit.labels import LabelSet, get_labelset
from affectkit.schema import BatchPrediction, Evidence
from affectkit.vad import CANONICAL, convert

NEGATORS = frozenset("not no never none nobody nothing neither nor nowhere cannot without hardly barely "
                     "isnt arent wasnt werent dont doesnt didnt cant couldnt wont wouldnt shouldnt aint".split())
NEGATION_WINDOW = 3
NEUTRAL_WEIGHT_PER_WORD = 0.1  # mass a non-emotion content word gives to "neutral" (our choice)
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[.,;:!?]")
_SUFFIXES = ("'s", "s", "es", "ed", "ing", "ly")


@dataclass
class Lexicon:
    emotions: dict[str, set[str]]  # word -> emotions
    vad: dict[str, tuple[float, float, float]]  # word -> (v, a, d) on vad_scale
    vad_scale: str = "0..1"
    polarity: dict[str, int] | None = None  # word -> +1 / -1 (EmoLex positive / negative)


def read_lexicon(path: str | Path, scale: str | None = None) -> Lexicon:
    """Read one lexicon file in any supported format (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"lexicon file not found: {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    first = text.splitlines()[0] if text else ""
    delim = "\t" if "\t" in first else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delim))
    if not rows:
        raise InputError(f"lexicon file {path} is empty")
    head = [h.strip().lower() for h in rows[0]]
    emolabels = set(get_labelset("nrc-emolex").emotion_labels) | {"positive", "negative"}
    # Warriner norms
    if "v.mean.sum" in head:
        iw, iv = head.index("word"), head.index("v.mean.sum")
        ia, id_ = head.index("a.mean.sum"), head.index("d.mean.sum")
        vad = {r[iw].strip().lower(): (float(r[iv]), float(r[ia]), float(r[id_])) for r in rows[1:] if len(r) > id_}
        return Lexicon({}, vad, scale or "1..9")
    # NRC VAD (header word/term, valence, arousal, dominance)
    if len(head) >= 4 and head[1].startswith("valence") and head[2].startswith("arousal"):
        vad = {r[0].strip().lower(): (float(r[1]), float(r[2]), float(r[3])) for r in rows[1:] if len(r) >= 4}
        lo = min(min(v) for v in vad.values()) if vad else 0.0
        return Lexicon({}, vad, scale or ("-1..1" if lo < 0 else "0..1"))
    # EmoLex wide: word column then emotion columns
    if len(head) > 3 and len(set(head[1:]) & emolabels) >= 3:
        cols = [(i, h) for i, h in enumerate(head) if h in emolabels]
        emo: dict[str, set[str]] = {}
        pol: dict[str, int] = {}
        for r in rows[1:]:
            w = r[0].strip().lower()
            for i, h in cols:
                if i < len(r) and r[i].strip() in ("1", "1.0"):
                    _add_emolex(emo, pol, w, h)
        return Lexicon(emo, {}, "0..1", pol)
    # EmoLex word-level: word, emotion, flag (no header)
    if all(len(r) == 3 for r in rows[:50] if r):
        emo, pol = {}, {}
        for r in rows:
            if len(r) != 3 or r[2].strip() not in ("0", "1"):
                continue
            w, h = r[0].strip().lower(), r[1].strip().lower()
            if h not in emolabels:
                raise InputError(f"{path}: unknown EmoLex category {h!r}; expected {sorted(emolabels)}")
            if r[2].strip() == "1":
                _add_emolex(emo, pol, w, h)
        return Lexicon(emo, {}, "0..1", pol)
    raise InputError(f"cannot tell the format of lexicon {path}: expected NRC EmoLex, NRC VAD or Warriner norms")


def _add_emolex(emo: dict[str, set[str]], pol: dict[str, int], word: str, label: str) -> None:
    if label in ("positive", "negative"):
        pol[word] = 1 if label == "positive" else -1
    else:
        emo.setdefault(word, set()).add(label)


def merge_lexicons(parts: list[Lexicon]) -> Lexicon:
    emo: dict[str, set[str]] = {}
    vad: dict[str, tuple[float, float, float]] = {}
    pol: dict[str, int] = {}
    scale = "0..1"
    for p in parts:
        for w, e in p.emotions.items():
            emo.setdefault(w, set()).update(e)
        if p.vad:
            if vad and p.vad_scale != scale:
                raise InputError("two VAD lexicons on different scales; pass one")
            vad.update(p.vad)
            scale = p.vad_scale
        pol.update(p.polarity or {})
    return Lexicon(emo, vad, scale, pol or None)


class LexiconAnalyzer(Analyzer):
    """Counts lexicon emotion words (with negation) into a distribution over ``nrc-emolex``; averages VAD."""

    def __init__(self, paths: list[str | Path] | Lexicon, name: str = "lexicon") -> None:
        self.lexicon = paths if isinstance(paths, Lexicon) else merge_lexicons([read_lexicon(p) for p in paths])
        if not self.lexicon.emotions and not self.lexicon.vad:
            raise InputError("the lexicon has neither emotion words nor VAD scores")
        self.name = name
        self.labelset: LabelSet = get_labelset("nrc-emolex")
        self._emo_index = {lab: i for i, lab in enumerate(self.labelset.labels)}

    def _lookup(self, table: dict[str, Any], word: str) -> tuple[str, Any] | None:
        if word in table:
            return word, table[word]
        for suf in _SUFFIXES:  # simple word forms: "hated" -> "hate", "tears" -> "tear"
            if word.endswith(suf) and len(word) - len(suf) >= 3:
                for stem in (word[: -len(suf)], word[: -len(suf)] + "e"):
                    if stem in table:
                        return stem, table[stem]
        return None

    def _analyze_one(self, text: str) -> tuple[np.ndarray, np.ndarray, list[Evidence], float | None]:
        k = len(self.labelset)
        counts = np.zeros(k)
        neutral = self._emo_index["neutral"]
        vad_sum, vad_n = np.zeros(3), 0
        pol_sum, pol_n = 0.0, 0
        evidence: list[Evidence] = []
        negate = 0
        lex = self.lexicon
        mid = (convert(0.0, "-1..1", lex.vad_scale) if lex.vad else 0.0)
        for m in _TOKEN.finditer(text):
            tok = m.group(0)
            if tok in ".,;:!?":
                negate = 0
                continue
            w = tok.lower().replace("'", "")
            if w in NEGATORS or tok.lower().endswith("n't"):
                negate = NEGATION_WINDOW
                continue
            negated = negate > 0
            negate = max(0, negate - 1)
            hit = False
            emo = self._lookup(lex.emotions, w) if lex.emotions else None
            if emo is not None and not negated:
                for lab in emo[1]:
                    counts[self._emo_index[lab]] += 1
                    evidence.append(Evidence(tok, m.start(), m.end(), lab, 1.0))
                hit = True
            if lex.vad:
                v = self._lookup(lex.vad, w)
                if v is not None:
                    val, aro, dom = v[1]
                    if negated:
                        val = mid - 0.5 * (val - mid)
                    vad_sum += (val, aro, dom)
                    vad_n += 1
            if lex.polarity:
                p = self._lookup(lex.polarity, w)
                if p is not None:
                    pol_sum += -0.5 * p[1] if negated else p[1]
                    pol_n += 1
            if not hit:
                counts[neutral] += NEUTRAL_WEIGHT_PER_WORD
        if counts.sum() == 0:
            counts[neutral] = 1.0
        vad = np.full(3, np.nan)
        if vad_n:
            vad = convert(vad_sum / vad_n, lex.vad_scale, CANONICAL)
        elif pol_n:
            vad[0] = pol_sum / pol_n  # EmoLex positive/negative words give a valence on -1..1
        return counts, vad, evidence, None

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        n, k = len(items), len(self.labelset)
        counts = np.zeros((n, k))
        vad = np.full((n, 3), np.nan)
        evidence: list[list[Evidence]] = []
        for i, text in enumerate(items):
            c, v, ev, _ = self._analyze_one(text)
            counts[i], vad[i] = c, v
            evidence.append(ev)
        dist = counts / counts.sum(axis=1, keepdims=True)
        emotion_counts = counts.copy()
        emotion_counts[:, self._emo_index["neutral"]] = 0
        scores = 1.0 - np.exp(-emotion_counts)  # one emotion word -> 0.63: "on" at threshold 0.5
        scores[:, self._emo_index["neutral"]] = (emotion_counts.sum(axis=1) == 0).astype(float)
        intensity = 1.0 - dist[:, self._emo_index["neutral"]]
        has_vad = bool(self.lexicon.vad) or bool(self.lexicon.polarity)
        return BatchPrediction(self.labelset, dist, scores, np.full(k, 0.5), vad if has_vad else None,
                               CANONICAL.name, intensity, evidence, model=self.name)
