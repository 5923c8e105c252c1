"""Conversation context: predict each utterance with the previous ``k`` turns of its conversation.

Two model-agnostic methods, for any analyzer that answers a text with a distribution:

``blend`` (the default)
    The utterance's own prediction mixed with the decayed mean of the predictions of its previous turns,

        p~_t = (1 - beta) p_t + beta * sum_j w_j p_(t-j) / sum_j w_j,   w_j = decay^(j-1) * s_j,   j = 1..k,

    where ``s_j`` is ``same_speaker`` or ``other_speaker`` by who spoke turn ``t - j`` (speaker-aware weights,
    as in DialogueRNN's separate party states: Majumder et al., AAAI 2019). The same convex mix is applied to
    the per-label scores, the no-emotion mass, VAD and intensity, so every output stays on its scale; the
    evidence stays the utterance's own. A turn whose prediction failed is no context; a first turn keeps p_t.
    The raw predictions are mixed, never the mixed ones, so nothing drifts along a long conversation.
``text``
    The model reads the previous turns and the utterance as one text, oldest first, joined by ``separator``
    (past turns concatenated before the utterance, as in EmoBERTa: Kim and Vossen 2021, arXiv:2108.12009).

The defaults (``beta = 0.25``, ``decay = 0.5``, speaker-blind) were fixed a priori, before any measurement;
MELD and EmoryNLP are evaluation-only data and were used for nothing but ``benchmarks/dialogue_context.py``.

Streaming (``affectkit analyze``): each chunk is analysed with the last ``k`` turns of each of its
conversations carried over from the chunk before (:class:`ContextCarry`), so memory is one chunk plus ``k``
turns per conversation of the last chunk plus the ids of the conversations already closed. That needs the rows of a
conversation to be contiguous in the file and its turns to come in order across a chunk boundary (within a
chunk any order is fine); otherwise the job stops and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from affectkit.errors import InputError

if TYPE_CHECKING:
    from affectkit.analyzers.base import Analyzer
    from affectkit.schema import BatchPrediction

METHODS = ("blend", "text")


@dataclass(frozen=True)
class ContextOptions:
    """Which columns make a conversation and how its previous ``k`` turns are used (see the module docstring)."""

    conversation_cols: tuple[str, ...]
    order_col: str
    k: int
    speaker_col: str | None = None
    method: str = "blend"
    beta: float = 0.25
    decay: float = 0.5
    same_speaker: float = 1.0
    other_speaker: float = 1.0
    separator: str = " | "

    def __post_init__(self) -> None:
        if not self.conversation_cols:
            raise InputError("context needs a conversation column (--conversation-col)")
        if not self.order_col:
            raise InputError("a conversation needs an order column (--order-col: turn number, utterance id or "
                             "time) so that its previous turns are known")
        if int(self.k) < 1:
            raise InputError(f"--context must be at least 1 previous turn; got {self.k}")
        if self.method not in METHODS:
            raise InputError(f"context method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if not 0.0 <= self.beta <= 1.0 or not 0.0 < self.decay <= 1.0:
            raise InputError("context weight must be in 0..1 and decay in (0, 1]")
        if min(self.same_speaker, self.other_speaker) < 0 or self.same_speaker + self.other_speaker == 0:
            raise InputError("speaker weights must be >= 0 and not both 0")

    @property
    def columns(self) -> list[str]:
        return [*self.conversation_cols, self.order_col] + ([self.speaker_col] if self.speaker_col else [])

    @classmethod
    def from_mapping(cls, spec: dict[str, Any], where: str = "context") -> ContextOptions:
        """From a task file's ``context:`` mapping (``conversation`` may be a column or a list of columns)."""
        known = {"conversation", "order", "speaker", "k", "method", "beta", "decay", "same_speaker",
                 "other_speaker", "separator"}
        bad = sorted(set(spec) - known)
        if bad:
            raise InputError(f"{where}: unknown context key(s) {bad}; keys are {', '.join(sorted(known))}")
        conv = spec.get("conversation")
        convs = tuple(str(c) for c in (conv if isinstance(conv, list) else [conv] if conv else []))
        extra = {key: spec[key] for key in ("method", "beta", "decay", "same_speaker", "other_speaker", "separator")
                 if key in spec}
        return cls(convs, str(spec.get("order") or ""), int(spec.get("k", 0)),
                   str(spec["speaker"]) if spec.get("speaker") else None, **extra)


# -- turn keys and previous turns -----------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str)
                                                                                 and not value.strip())


def sortable_orders(values: Sequence[Any], column: str) -> np.ndarray:
    """The order column as float numbers (numbers, or dates and times as seconds since 1970); NaN where missing.
    Raises :class:`InputError` for values that are neither (plain strings would sort "10" before "9")."""
    s = pd.Series(list(values), dtype=object)
    present = ~s.map(_missing)
    out = np.full(len(s), np.nan)
    if not present.any():
        return out
    vals = s[present]
    nums = pd.to_numeric(vals.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
    if not nums.isna().any():
        out[present.to_numpy()] = nums.to_numpy(dtype=float)
        return out
    try:
        times = pd.to_datetime(vals.astype(str), format="mixed", utc=True)
    except (ValueError, TypeError):
        bad = vals[nums.isna()].iloc[0]
        raise InputError(f"order column {column!r} cannot be sorted: {bad!r} is neither a number nor a date/time "
                         "(use a turn number, an utterance id or a timestamp)") from None
    out[present.to_numpy()] = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    return out


@dataclass
class Turns:
    """Per row: the conversation key, the order value and the speaker, and the rows that cannot be placed."""

    conversation: list[tuple[str, ...] | None]
    order: np.ndarray
    speaker: list[str | None]
    errors: list[str | None]


def turns_of(frame: pd.DataFrame, options: ContextOptions) -> Turns:
    """Read the conversation, order and speaker columns of ``frame``. A missing column is a job error; a row
    without a conversation id or order value gets a row error (it is neither predicted nor context)."""
    missing = [c for c in options.columns if c not in frame.columns]
    if missing:
        raise InputError(f"context column(s) {missing} not found; columns are: "
                         f"{', '.join(map(repr, frame.columns))}")
    n = len(frame)
    cols = [frame[c].tolist() for c in options.conversation_cols]
    conv: list[tuple[str, ...] | None] = []
    errors: list[str | None] = [None] * n
    for i in range(n):
        parts = [col[i] for col in cols]
        if any(_missing(p) for p in parts):
            conv.append(None)
            errors[i] = f"missing conversation id (--conversation-col {', '.join(options.conversation_cols)})"
        else:
            conv.append(tuple(str(p).strip() for p in parts))
    order = sortable_orders(frame[options.order_col].tolist(), options.order_col)
    for j in np.flatnonzero(np.isnan(order)).tolist():
        errors[j] = errors[j] or f"missing order value (--order-col {options.order_col})"
    speakers = frame[options.speaker_col].tolist() if options.speaker_col else [None] * n
    speaker = [None if _missing(s) else str(s).strip() for s in speakers]
    return Turns(conv, order, speaker, errors)


def previous_turns(conversation: Sequence[tuple[str, ...] | None], order: np.ndarray, k: int,
                   usable: np.ndarray | None = None) -> np.ndarray:
    """``(n, k)`` row positions of each row's previous ``k`` turns, nearest first (-1: none): the usable rows of
    the same conversation with a smaller order value, or an equal one earlier in the input (stable)."""
    n = len(conversation)
    prev = np.full((n, k), -1, dtype=np.int64)
    usable = np.ones(n, dtype=bool) if usable is None else usable
    codes: dict[tuple[str, ...], int] = {}
    code = np.array([-1 if c is None else codes.setdefault(c, len(codes)) for c in conversation], dtype=np.int64)
    rows = np.flatnonzero((code >= 0) & ~np.isnan(order))
    rows = rows[np.lexsort((rows, order[rows], code[rows]))]
    for a, b in _runs(code[rows]):
        group = rows[a:b]
        ctx = group[usable[group]]
        # for each row: how many usable rows of its conversation come before it in the sorted order
        before = np.cumsum(usable[group]) - usable[group]
        for j in range(1, k + 1):
            has = before - j >= 0
            prev[group[has], j - 1] = ctx[before[has] - j]
    return prev


def _runs(codes: np.ndarray) -> list[tuple[int, int]]:
    if len(codes) == 0:
        return []
    cuts = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], cuts])
    return list(zip(starts.tolist(), np.concatenate([cuts, [len(codes)]]).tolist()))


# -- the two methods ------------------------------------------------------------------------------------------------
def context_weights(prev: np.ndarray, speaker: Sequence[str | None], options: ContextOptions) -> np.ndarray:
    """``(n, k)`` weights ``decay^(j-1) * s_j`` of the previous turns (0 where there is none); ``s_j`` is
    ``same_speaker`` when turn ``t - j`` has the speaker of turn ``t`` (both known), else ``other_speaker``."""
    k = prev.shape[1]
    w = np.tile(options.decay ** np.arange(k, dtype=float), (len(prev), 1))
    if options.speaker_col:
        spk = np.array([s if s is not None else "\0none" for s in speaker] + ["\0pad"], dtype=object)
        same = (spk[prev] == spk[:-1, None]) & (spk[:-1, None] != "\0none")
        w *= np.where(same, options.same_speaker, options.other_speaker)
    return np.where(prev >= 0, w, 0.0)


def _mix(values: np.ndarray, prev: np.ndarray, weights: np.ndarray, beta: float) -> np.ndarray:
    """Row-wise ``(1 - beta) v_t + beta * sum_j w_j v_(t-j) / sum_j w_j`` over rows whose value is known."""
    vals = values.reshape(len(values), -1)
    known = ~np.isnan(vals).any(axis=1)
    pad = np.vstack([vals, np.full((1, vals.shape[1]), np.nan)])
    ctx = pad[np.where(prev >= 0, prev, len(vals))]  # (n, k, d)
    w = np.where(known[np.where(prev >= 0, prev, 0)] & (prev >= 0), weights, 0.0)
    total = w.sum(axis=1)
    mean = np.einsum("nk,nkd->nd", w, np.nan_to_num(ctx)) / np.where(total > 0, total, 1.0)[:, None]
    mixed = np.where(((total > 0) & known)[:, None], (1 - beta) * vals + beta * mean, vals)
    return mixed.reshape(values.shape)


def blend(batch: BatchPrediction, prev: np.ndarray, weights: np.ndarray, beta: float) -> BatchPrediction:
    """The ``blend`` method on a batch whose rows are the turns ``prev`` points into (see the module docstring)."""
    out = batch.take(slice(None))
    out.dist = _mix(batch.dist, prev, weights, beta)
    for name in ("scores", "vad", "intensity", "none"):
        value = getattr(batch, name)
        if value is not None:
            setattr(out, name, _mix(np.asarray(value, dtype=float), prev, weights, beta))
    return out


def context_texts(texts: Sequence[Any], prev: np.ndarray, separator: str) -> list[Any]:
    """The ``text`` method's input: the previous turns, oldest first, then the utterance (non-strings unchanged)."""
    out: list[Any] = []
    for i, text in enumerate(texts):
        before = [texts[j] for j in prev[i][::-1] if j >= 0 and isinstance(texts[j], str)]
        out.append(separator.join([*before, text]) if isinstance(text, str) and before else text)
    return out


# -- streaming ------------------------------------------------------------------------------------------------------
@dataclass
class ContextCarry:
    """The last ``k`` turns of each conversation of the previous chunk (their rows of the input, and the
    largest order value seen), and the conversations already closed (see the module docstring)."""

    options: ContextOptions
    text_col: str = "text"
    tails: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    last_order: dict[tuple[str, ...], float] = field(default_factory=dict)
    closed: set[tuple[str, ...]] = field(default_factory=set)
    rows_seen: int = 0

    def prefix(self, turns: Turns) -> pd.DataFrame:
        """The carried rows of the conversations in this chunk; checks contiguity and order across chunks."""
        parts = []
        for i, conv in enumerate(turns.conversation):
            if conv is None or turns.errors[i] is not None:
                continue
            where = f"row {self.rows_seen + i + 1:,}"
            if conv in self.closed:
                raise InputError(f"conversation {'/'.join(conv)!r} continues at {where} after other conversations "
                                 "in an earlier chunk: sort the input by conversation (then order), or raise "
                                 "--chunk-size above the number of rows")
            if conv in self.last_order and turns.order[i] < self.last_order[conv]:
                raise InputError(f"conversation {'/'.join(conv)!r}: {where} comes before turns already in an "
                                 f"earlier chunk ({self.options.order_col} goes back): sort the input by "
                                 "conversation and order, or raise --chunk-size above the number of rows")
        for conv in dict.fromkeys(c for c in turns.conversation if c is not None):
            if conv in self.tails:
                parts.append(self.tails[conv])
        cols = self._kept_columns()
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in cols}, dtype=object)

    def _kept_columns(self) -> list[str]:
        return list(dict.fromkeys([*self.options.columns, self.text_col]))

    def observe(self, frame: pd.DataFrame, read_errors: Sequence[str | None] | None = None,
                ) -> tuple[pd.DataFrame, Turns, list[str | None], np.ndarray, int]:
        """Take in one chunk: returns the chunk behind its carried prefix, their turns, row errors (read errors,
        then missing ids), which rows can be context, and the prefix length; the state moves on to the chunk."""
        own = turns_of(frame, self.options)
        read_errors = list(read_errors) if read_errors is not None else [None] * len(frame)
        head = self.prefix(own)
        n_head = len(head)
        if n_head:
            both = pd.concat([head, frame[self._kept_columns()]], ignore_index=True)
            turns = turns_of(both, self.options)
        else:
            both, turns = frame.reset_index(drop=True), own
        errors = [None] * n_head + [r or t for r, t in zip(read_errors, own.errors)]
        texts = both[self.text_col].tolist() if self.text_col in both.columns else [None] * len(both)
        usable = np.array([e is None and isinstance(t, str) and bool(t.strip()) for e, t in zip(errors, texts)],
                          dtype=bool)
        self.update(both, turns, usable)
        self.rows_seen += len(frame)
        return both, turns, errors, usable, n_head

    def update(self, frame: pd.DataFrame, turns: Turns, usable: np.ndarray) -> None:
        """Remember the last ``k`` usable turns of each conversation of ``frame`` (the chunk with its carried
        prefix); conversations of the previous chunk that this one lacks are closed."""
        chunk_convs = {c for c in turns.conversation if c is not None}
        for conv in list(self.tails) + list(self.last_order):
            if conv not in chunk_convs:
                self.closed.add(conv)
                self.tails.pop(conv, None)
                self.last_order.pop(conv, None)
        rows = np.flatnonzero(usable)
        by_conv: dict[tuple[str, ...], list[int]] = {}
        for i in rows[np.lexsort((rows, turns.order[rows]))]:
            by_conv.setdefault(turns.conversation[i], []).append(int(i))  # type: ignore[arg-type]
        kept = self._kept_columns()
        for conv, idx in by_conv.items():
            self.tails[conv] = frame.iloc[idx[-self.options.k:]][kept].reset_index(drop=True)
            self.last_order[conv] = float(turns.order[idx[-1]])


def predict_in_context(frame: pd.DataFrame, analyzer: Analyzer, options: Any, read_errors: Sequence[str | None],
                       carry: ContextCarry | None, predict_frame: Callable[..., BatchPrediction]) -> BatchPrediction:
    """``predict_frame`` (:func:`affectkit.runner.predict_frame`, passed in so that this module does not import the
    runner) with each row's previous turns as context (``options.context``): one prediction per row of ``frame``,
    in order. With ``carry`` the turns of the chunk before are used and the state is updated for the next chunk."""
    ctx: ContextOptions = options.context
    carry = carry or ContextCarry(ctx, options.text_col)
    plain = replace(options, context=None)
    if len(frame) == 0 or options.text_col not in frame.columns:
        return predict_frame(frame, analyzer, plain, read_errors)  # no rows; or it says which columns there are
    both, turns, errors, usable, n_head = carry.observe(frame, read_errors)
    texts = both[options.text_col].tolist()
    prev = previous_turns(turns.conversation, turns.order, ctx.k, usable)
    if ctx.method == "text":
        rows = frame.copy()
        rows[options.text_col] = context_texts(texts, prev, ctx.separator)[n_head:]
        out = predict_frame(rows, analyzer, plain, errors[n_head:])
    else:
        raw = predict_frame(both, analyzer, plain, errors)
        out = blend(raw, prev, context_weights(prev, turns.speaker, ctx), ctx.beta).take(slice(n_head, None))
    return out
