"""What encoders hand to the heads and the evidence step: pooled vectors per window with their owner text, and
optionally token spans and per-token vectors; plus the windowing and per-text summing that the batch and
streaming paths share."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np


@dataclass
class EncodedBatch:
    """Encoder output for ``n`` texts split into ``m >= n`` segments.

    ``pooled`` is ``(m, H)``; ``owner[i]`` is the text a segment belongs to; ``n_tokens`` its token count.
    With ``with_tokens``, the tokens of all segments in order (special tokens excluded), ``token_counts[i]`` of
    them in segment ``i``: ``token_states`` ``(T, H)``, ``offsets`` ``(T, 2)`` their character spans in the
    original text, ``word_ids`` ``(T,)`` the pre-tokenized word each belongs to. A static encoder gives
    ``token_ids`` into ``token_table`` instead of ``token_states`` (a token's state is its table row), which spares
    copying a vector per token. An encoder given a ``token_basis`` ``(K, H)`` may keep each token's state projected
    onto it, ``(T, K)``, instead of the state (``token_basis`` is then set): K numbers a token instead of H.
    """

    pooled: np.ndarray
    owner: np.ndarray
    n_tokens: np.ndarray
    token_counts: np.ndarray | None = None
    token_states: np.ndarray | None = None
    offsets: np.ndarray | None = None
    word_ids: np.ndarray | None = None
    token_ids: np.ndarray | None = None
    token_table: np.ndarray | None = None
    token_basis: np.ndarray | None = None

    @property
    def has_tokens(self) -> bool:
        return self.token_counts is not None and (
            self.token_states is not None or (self.token_ids is not None and self.token_table is not None))

    def segment_states(self, i: int) -> np.ndarray:
        """The token states ``(t_i, H)`` of segment ``i``."""
        counts = self.token_lengths()
        start = int(counts[:i].sum())
        if self.token_states is not None:
            return self.token_states[start : start + counts[i]]
        assert self.token_ids is not None and self.token_table is not None
        return self.token_table[self.token_ids[start : start + counts[i]]]

    def token_lengths(self) -> np.ndarray:
        """Tokens per segment (those with states: special tokens excluded)."""
        assert self.token_counts is not None
        return self.token_counts

    def project_tokens(self, matrix: np.ndarray) -> np.ndarray:
        """Every token's state times ``matrix.T``, the tokens of all segments in order: ``(tokens, K)``."""
        if self.token_basis is not None:
            assert self.token_states is not None and matrix is self.token_basis, "states kept in another basis"
            return self.token_states
        if self.token_states is not None:
            return self.token_states @ matrix.T
        assert self.token_ids is not None and self.token_table is not None
        vocab, where = np.unique(self.token_ids, return_inverse=True)
        return (self.token_table[vocab] @ matrix.T)[where]  # each distinct token once

    def project_tokens_onto(self, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Each token's state times its own row of ``matrix`` (``rows[t]`` for token ``t``): ``(tokens,)``."""
        if self.token_basis is not None:
            return self.project_tokens(matrix)[np.arange(len(rows)), rows]
        if self.token_states is not None:
            return np.einsum("th,th->t", self.token_states, matrix[rows])
        assert self.token_ids is not None and self.token_table is not None
        vocab, where = np.unique(self.token_ids, return_inverse=True)
        return (self.token_table[vocab] @ matrix.T)[where, rows]


def windows(n: int, body: int, stride: int):
    """Token ranges ``(start, end)`` that split ``n`` tokens into windows of ``body`` tokens overlapping by
    ``stride``; every token is in at least one window."""
    if n <= body:
        yield 0, n
        return
    step = max(1, body - stride)
    start = 0
    while True:
        yield start, min(start + body, n)
        if start + body >= n:
            return
        start += step


def token_spans(encs: list) -> np.ndarray:
    """The character spans ``(tokens, 2)`` of tokenizer encodings, all in one array (twice as fast as building
    it from the tuples)."""
    flat = chain.from_iterable(chain.from_iterable(e.offsets for e in encs))
    return np.fromiter(flat, dtype=np.int64).reshape(-1, 2)


def sum_per_text(table: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Row ``i``: the sum of ``table[ids[j]]`` over text ``i``'s ``counts[i]`` consecutive token ids.

    One gather and sum per text: about 8x faster than ``np.add.reduceat`` over the gathered rows, which walks a
    (tokens, dim) array slowly along axis 0 (1,024 short texts, 256 dimensions: 3.7 against 31 ms)."""
    out = np.zeros((len(counts), table.shape[1]), dtype=np.float32)
    ends = np.cumsum(counts).tolist()
    for i, (start, end) in enumerate(zip([0, *ends[:-1]], ends)):
        if end > start:
            out[i] = table[ids[start:end]].sum(axis=0)
    return out
