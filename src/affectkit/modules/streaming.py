"""Reading one long text in parts of bounded size, so that its cost is linear in its length and its memory does
not grow with it.

The text is tokenised in pieces cut after a space, tab or newline (BERT-style normalisation and pre-tokenisation
work character by character and split words at whitespace, so the pieces give the tokens the whole text gives),
the tokens stream into the same windows :func:`affectkit.modules.tokens.windows` makes for the whole text, and
the windows are encoded a few dozen at a time. The model aggregates the parts with :class:`RunningAggregate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from affectkit.modules.encoders import OnnxTransformerEncoder, StaticEmbeddingEncoder
    from affectkit.modules.tokens import EncodedBatch

PIECE_CHARS = 32 * 1024  # characters tokenised per piece
PIECES_PER_CALL = 8  # pieces per tokenizer call (the tokenizer runs a call's pieces in parallel)
WINDOWS_PER_PART = 64  # transformer windows encoded per part: ~8k tokens, ~13 MB of token states
STATIC_TOKENS_PER_PART = 64 * 1024  # static-embedding tokens per part (evidence only; pooling is a running sum)

Tokens = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]  # ids, character spans (n, 2), word ids


def text_pieces(text: str, size: int | None = None) -> Iterator[tuple[int, str]]:
    """``(start, piece)`` covering ``text`` in order, each piece at most ``size`` characters and cut just after a
    space, tab or newline where there is one (a piece with none is cut at ``size``; default PIECE_CHARS)."""
    size = size or PIECE_CHARS
    start, n = 0, len(text)
    while start < n:
        end = min(start + size, n)
        if end < n:
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end), text.rfind("\t", start, end))
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end


def token_pieces(tokenizer: Tokenizer, text: str, with_spans: bool, piece_chars: int | None = None,
                 ) -> Iterator[Tokens]:
    """The tokens of ``text`` (no special tokens), a piece at a time: ids, and with ``with_spans`` their
    character spans in ``text`` and word ids that are distinct across pieces."""
    from affectkit.modules.tokens import token_spans

    word_base = 0
    pieces = text_pieces(text, piece_chars)
    fast = getattr(tokenizer, "encode_batch_fast", None) if not with_spans else None
    while group := list(islice(pieces, PIECES_PER_CALL)):  # a few pieces at a time: no copy of the whole text
        encs = (fast or tokenizer.encode_batch)([p for _, p in group], add_special_tokens=False)
        for (start, _), enc in zip(group, encs):
            ids = np.asarray(enc.ids, dtype=np.int64)
            if not with_spans:
                yield ids, None, None
                continue
            spans = token_spans([enc]) + start
            words = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
            words[words >= 0] += word_base
            if len(words):
                word_base = int(words.max()) + 1
            yield ids, spans, words


def _cat(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return None if a is None or b is None else np.concatenate([a, b])


def stream_windows(encoder: OnnxTransformerEncoder, text: str, with_tokens: bool,
                   piece_chars: int | None = None, windows_per_part: int | None = None,
                   token_basis: np.ndarray | None = None) -> Iterator[EncodedBatch]:
    """The windows of ``text`` that :meth:`OnnxTransformerEncoder.encode` makes (the same token ranges), encoded
    ``windows_per_part`` at a time; every part's segments belong to text 0."""
    from affectkit.modules.tokens import windows

    windows_per_part = windows_per_part or WINDOWS_PER_PART
    body = encoder.max_length - 2
    step = max(1, body - encoder.stride)
    ids: np.ndarray = np.zeros(0, dtype=np.int64)
    spans: np.ndarray | None = np.zeros((0, 2), dtype=np.int64) if with_tokens else None
    words: np.ndarray | None = np.zeros(0, dtype=np.int64) if with_tokens else None
    pending: list[Tokens] = []
    for more_ids, more_spans, more_words in token_pieces(encoder.tokenizer, text, with_tokens, piece_chars):
        ids, spans, words = np.concatenate([ids, more_ids]), _cat(spans, more_spans), _cat(words, more_words)
        start = 0
        while len(ids) - start > body:  # a window that is not the text's last: the same one the whole text has
            pending.append(_slice(ids, spans, words, start, start + body))
            start += step
            if len(pending) == windows_per_part:
                yield encoder.encode_windows(pending, with_tokens, token_basis)
                pending = []
        ids, spans, words = _slice(ids, spans, words, start, len(ids))
    pending.extend(_slice(ids, spans, words, a, b) for a, b in windows(len(ids), body, encoder.stride))
    yield encoder.encode_windows(pending, with_tokens, token_basis)


def _slice(ids: np.ndarray, spans: np.ndarray | None, words: np.ndarray | None, a: int, b: int) -> Tokens:
    return ids[a:b], None if spans is None else spans[a:b], None if words is None else words[a:b]


def stream_static(encoder: StaticEmbeddingEncoder, text: str, with_tokens: bool,
                  piece_chars: int | None = None, tokens_per_part: int | None = None,
                  ) -> Iterator[EncodedBatch]:
    """A static-embedding text in parts: with ``with_tokens``, parts with no segment that carry about
    ``tokens_per_part`` tokens each (for evidence), then one part with the text's pooled vector, the mean of all
    its kept tokens' vectors as :meth:`StaticEmbeddingEncoder.encode` computes it (summed part by part)."""
    from affectkit.modules.tokens import EncodedBatch, sum_per_text

    tokens_per_part = tokens_per_part or STATIC_TOKENS_PER_PART
    total = np.zeros((1, encoder.dim), dtype=np.float32)
    count = 0
    held: list[Tokens] = []
    for ids, spans, words in token_pieces(encoder.tokenizer, text, with_tokens, piece_chars):
        keep = encoder.keep[ids]
        ids = ids[keep]
        total += sum_per_text(encoder.embeddings, ids, np.array([len(ids)]))
        count += len(ids)
        if with_tokens:
            assert spans is not None and words is not None
            held.append((ids, spans[keep], words[keep]))
            if sum(len(h[0]) for h in held) >= tokens_per_part:
                yield _static_tokens(encoder, held)
                held = []
    if held:
        yield _static_tokens(encoder, held)
    pooled = total / np.float32(max(count, 1))
    if encoder.normalize:
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    yield EncodedBatch(pooled, np.zeros(1, dtype=np.int64), np.array([max(count, 1)], dtype=np.int64))


def _static_tokens(encoder: StaticEmbeddingEncoder, held: list[Tokens]) -> EncodedBatch:
    from affectkit.modules.tokens import EncodedBatch

    empty = np.zeros(0, dtype=np.int64)
    ids = np.concatenate([h[0] for h in held])
    return EncodedBatch(np.zeros((0, encoder.dim), dtype=np.float32), empty, empty,
                        token_counts=np.array([len(ids)]), token_ids=ids, token_table=encoder.embeddings,
                        offsets=np.concatenate([h[1] for h in held if h[1] is not None]),
                        word_ids=np.concatenate([h[2] for h in held if h[2] is not None]))


class RunningAggregate:
    """Token-weighted means and maxima over the segments of one text, added a part at a time: the same values
    as averaging (or taking the maximum over) all segments at once, in memory that does not grow with them."""

    def __init__(self) -> None:
        self.sums: dict[str, np.ndarray] = {}
        self.maxima: dict[str, np.ndarray] = {}
        self.weight = 0.0
        self.segments = 0

    def add(self, weights: np.ndarray, means: dict[str, np.ndarray], maxima: dict[str, np.ndarray]) -> None:
        """Add segments with ``weights`` ``(m,)``, their values to average (each ``(m, d)``) and to maximise."""
        w = np.asarray(weights, dtype=np.float64)
        self.weight += float(w.sum())
        self.segments += len(w)
        for name, values in means.items():
            part = (values * w[:, None]).sum(axis=0)
            self.sums[name] = self.sums[name] + part if name in self.sums else part
        for name, values in maxima.items():
            top = values.max(axis=0).astype(np.float64)
            self.maxima[name] = np.maximum(self.maxima[name], top) if name in self.maxima else top

    def mean(self, name: str) -> np.ndarray:
        """The weighted mean of ``name`` as a ``(1, d)`` row."""
        return (self.sums[name] / max(self.weight, 1e-12))[None, :]

    def max(self, name: str) -> np.ndarray:
        return self.maxima[name][None, :]
