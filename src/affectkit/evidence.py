"""Evidence words: the words whose token vectors push a label's logit up the most.

For a linear head over mean pooling the logit of label ``c`` is ``sum_t (w_c . h_t) / T + b_c``, so each token's
share is exact (the decomposition of integrated-gradients style attributions for a linear model; Sundararajan
et al. 2017). Word pieces of one word add up; a word seen in two overlapping windows keeps its larger share.
:class:`EvidenceCandidates` keeps the strongest distinct words of a long text for every label while the text
streams past, so that evidence costs bounded memory however long the text is.
"""

from __future__ import annotations

import functools
import re

import numpy as np

_WORD = re.compile(r"\w", re.UNICODE)
# Function words and contraction pieces are never shown as evidence: in a contextual encoder every token carries
# some of the sentence, so "and" or "to" can score high without being why the text is emotional. Negations
# ("not", "never", "no") and intensifiers stay: they change an emotion.
FUNCTION_WORDS = frozenset("""
a an the and or but if then so as of at by for from in into on onto to with without about over under up down
out off than too very this that these those there here i me my mine myself we us our ours ourselves you your
yours yourself yourselves he him his himself she her hers herself it its itself they them their theirs
themselves what which who whom whose when where why how all any both each other some such own same just
is am are was were be been being have has had having do does did doing will would shall should can could may
might must s t d ll m re ve don didn doesn isn wasn aren weren haven hasn hadn won wouldn shouldn couldn
""".split())  # noqa: SIM905 - a block of words reads better than a list


@functools.lru_cache(maxsize=1 << 16)
def is_evidence_word(low: str) -> bool:
    """Whether a word, given in lower case, is a content word (not a function word, not only punctuation). Lower
    case keeps letters and digits what they are, so the lowered word alone decides; answers are cached."""
    return low not in FUNCTION_WORDS and (low.isalnum() or _WORD.search(low) is not None)


def word_sums(segment: np.ndarray, word: np.ndarray, spans: np.ndarray,
              contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add up the token contributions (``(tokens,)`` or ``(tokens, K)``) of each word of each segment (tokens in
    order, ``segment`` and ``word`` per token); return each word's first token, start and end character, sum."""
    starts = np.flatnonzero(np.r_[True, (segment[1:] != segment[:-1]) | (word[1:] != word[:-1])])
    ends = np.r_[starts[1:], len(segment)] - 1
    if contrib.ndim == 1:
        sums = np.add.reduceat(contrib, starts)
    else:  # reduceat walks a (tokens, K) array slowly along axis 0: add the n-th pieces of long words instead
        sums = contrib[starts]
        pieces = ends - starts + 1
        rows = np.flatnonzero(pieces > 1)
        nth = 1
        while len(rows):
            sums[rows] += contrib[starts[rows] + nth]
            nth += 1
            rows = rows[pieces[rows] > nth]
    return starts, spans[starts, 0], spans[ends, 1], sums


class EvidenceCandidates:
    """For every label, the ``keep`` strongest distinct content words of one text seen so far, each with its
    strongest occurrence ``(share, start, end)``; ties go to the later span, as in the batch computation.

    Keeping ``keep >= n`` per label is enough to give the exact best ``n`` words at the end: a word in the final
    best ``n`` is among the best ``keep`` of the part where its strongest occurrence was (any word that beat it
    there beats it overall). A part's occurrences are read strongest first until ``keep`` new distinct words are
    found, so a text that repeats one word costs a few sorted reads, not one per occurrence.
    """

    def __init__(self, text: str, n_labels: int, keep: int) -> None:
        self.text = text
        self.keep = max(1, keep)
        self.best: list[dict[str, tuple[float, int, int]]] = [{} for _ in range(n_labels)]

    def add(self, start: np.ndarray, end: np.ndarray, shares: np.ndarray) -> None:
        """Add word occurrences: character spans ``(w,)`` and their shares ``(w, n_labels)``."""
        for k, best in enumerate(self.best):
            col = shares[:, k]
            pos = np.flatnonzero(col > 0)
            width = 8 * self.keep
            while True:
                sel = pos if len(pos) <= width else pos[np.argpartition(-col[pos], width)[:width]]
                order = sel[np.lexsort((-end[sel], -start[sel], -col[sel]))]
                if self._take(best, order, col, start, end) or len(sel) == len(pos):
                    break
                width *= 8  # the strongest occurrences repeat a few words: read further
            if len(best) > 4 * self.keep:
                kept = sorted(best.items(), key=lambda kv: kv[1], reverse=True)[: self.keep]
                best.clear()
                best.update(kept)

    def _take(self, best: dict[str, tuple[float, int, int]], order: np.ndarray, col: np.ndarray,
              start: np.ndarray, end: np.ndarray) -> bool:
        """Merge occurrences in ``order`` until ``keep`` distinct content words were met; True if they were."""
        seen: set[str] = set()
        for j in order.tolist():
            a, z = int(start[j]), int(end[j])
            w = self.text[a:z]
            low = w.lower()
            if low in seen or not is_evidence_word(low):
                continue
            seen.add(low)
            entry = (float(col[j]), a, z)
            if low not in best or entry > best[low]:
                best[low] = entry
            if len(seen) == self.keep:
                return True
        return False

    def top(self, label: int, n: int, scale: float = 1.0) -> list[tuple[str, int, int, float]]:
        """The ``n`` strongest words for ``label``: ``(word, start, end, share * scale)``, strongest first."""
        ranked = sorted(self.best[label].values(), reverse=True)[:n]
        return [(self.text[a:z], a, z, c * scale) for c, a, z in ranked]
