"""The conversation part of a report: transitions between the top emotions of consecutive turns, their
stationary distribution, inertia of valence per speaker, speaker comparisons with bootstrap intervals,
trajectories with change points, and CCC against a per-turn gold trajectory (all from
:mod:`affectkit.dynamics`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from affectkit import dynamics
from affectkit.errors import InputError

FILE_ORDER = "_row"  # --order-col value meaning "the order of the rows in the file"
GOLD_WORDS = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


@dataclass
class ConversationFindings:
    transitions: dict[str, dynamics.Transitions]
    inertia: pd.DataFrame
    comparisons: pd.DataFrame
    trajectories: dict[str, pd.DataFrame]
    ccc: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


def _order_values(table: pa.Table, order_col: str | None, conversation_col: str) -> np.ndarray:
    if order_col is None:
        raise InputError(
            f"conversation column {conversation_col!r} given without an order column: pass "
            f"--order-col (a turn number or a timestamp), or --order-col {FILE_ORDER} to take the rows in file order"
        )
    if order_col == FILE_ORDER:
        return np.arange(table.num_rows, dtype=float)
    raw = table[order_col].to_pandas()
    numbers = pd.to_numeric(raw, errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(dtype=float)
    stamps = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    if stamps.notna().all():
        return stamps.astype("int64").to_numpy(dtype=float)
    bad = raw[numbers.isna() & stamps.isna()].astype(str).unique()[:3]
    raise InputError(
        f"order column {order_col!r} has cells that are neither numbers nor timestamps (for "
        f"example {', '.join(map(repr, bad))})"
    )


def gold_trajectory(table: pa.Table, col: str) -> np.ndarray:
    """A per-turn gold valence: numbers as they are, or sentiment words (positive / neutral / negative ->
    1/0/-1)."""
    raw = table[col].to_pandas()
    numbers = pd.to_numeric(raw, errors="coerce")
    if numbers.notna().sum() == 0:
        numbers = raw.astype(str).str.strip().str.lower().map(GOLD_WORDS)
    if numbers.notna().sum() == 0:
        raise InputError(f"gold column {col!r} holds neither numbers nor positive/neutral/negative")
    return numbers.to_numpy(dtype=float)


def analyse_conversations(
    table: pa.Table,
    conversation_col: str,
    order_col: str | None,
    speaker_col: str | None = None,
    gold_col: str | None = None,
    top_speakers: int = 6,
    n_trajectories: int = 3,
    n_boot: int = 1000,
    max_states: int = 8,
) -> ConversationFindings:
    """Everything of :class:`ConversationFindings`; emotions past the ``max_states`` most frequent become one
    state, ``other``, so the matrices stay readable and their rows are estimated from enough turns."""
    from affectkit.report.aggregate import encode

    order = _order_values(table, order_col, conversation_col)
    conv_codes, conv_names = encode(table[conversation_col])
    idx = dynamics.order_sequences(conv_codes, order)
    idx = idx[conv_codes[idx] >= 0]  # rows without a conversation id take no part
    warnings = (
        []
        if len(idx) == len(order)
        else [f"{len(order) - len(idx):,} row(s) have no {conversation_col!r} and are left out of the conversations"]
    )
    conv_codes = conv_codes[idx]
    emotion_codes, emotion_names = encode(table["emotion_1"])
    valence = np.asarray(pc.cast(table["valence"], pa.float64()).to_numpy(zero_copy_only=False))[idx]
    arousal = np.asarray(pc.cast(table["arousal"], pa.float64()).to_numpy(zero_copy_only=False))[idx]
    states, labels = _states(emotion_codes[idx], emotion_names, max_states)
    transitions = {"all turns": dynamics.transition_matrix(states, conv_codes, labels)}
    inertia_rows = [{"speaker": "(all turns)", "turns": len(valence), "inertia": dynamics.inertia(valence, conv_codes)}]
    comparisons = []
    if speaker_col:
        speaker, speaker_names = encode(table[speaker_col])
        speaker = speaker[idx]
        turns = np.bincount(speaker[speaker >= 0], minlength=len(speaker_names))
        for code in np.argsort(-turns, kind="stable")[:top_speakers]:
            name, mine = speaker_names[code], speaker == code
            # a speaker's own turns in each conversation, in order: the conversation codes are already sorted
            transitions[name] = dynamics.transition_matrix(states[mine], conv_codes[mine], labels)
            inertia_rows.append(
                {
                    "speaker": name,
                    "turns": int(turns[code]),
                    "inertia": dynamics.inertia(valence[mine], conv_codes[mine]),
                }
            )
            try:
                c = dynamics.bootstrap_difference(valence[mine], valence[~mine], (name, "others"), n_boot=n_boot)
                comparisons.append(vars(c))
            except InputError as e:
                warnings.append(f"no comparison for speaker {name!r}: {e}")
    trajectories = _trajectories(conv_names, conv_codes, valence, arousal, n_trajectories)
    findings = ConversationFindings(
        transitions, pd.DataFrame(inertia_rows), pd.DataFrame(comparisons), trajectories, warnings=warnings
    )
    if gold_col:
        findings.ccc = _ccc_table(gold_trajectory(table, gold_col)[idx], valence, conv_codes)
    return findings


def _states(codes: np.ndarray, names: list[str], max_states: int) -> tuple[np.ndarray, list[str]]:
    """Codes of the ``max_states`` most frequent emotions (most frequent first), the rest as one ``other``."""
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    top = np.argsort(-counts, kind="stable")[:max_states]
    top = top[counts[top] > 0]
    lookup = np.full(len(names) + 1, -1, dtype=np.int64)  # the last slot maps code -1 (no emotion) to -1
    labels = [names[i] for i in top]
    if (counts > 0).sum() > len(top):
        lookup[: len(names)] = len(top)
        labels.append("other")
    lookup[top] = np.arange(len(top))
    return lookup[codes], labels


def _trajectories(
    conv: list[str], codes: np.ndarray, valence: np.ndarray, arousal: np.ndarray, n: int
) -> dict[str, pd.DataFrame]:
    """The ``n`` longest conversations: valence and arousal per turn, smoothed, and change points of valence."""
    sizes = np.bincount(codes)
    out = {}
    for code in np.argsort(-sizes, kind="stable")[:n]:
        if sizes[code] < 2:
            break
        mine = codes == code
        v, a = valence[mine], arousal[mine]
        one = np.zeros(len(v), dtype=np.int64)
        frame = pd.DataFrame(
            {
                "turn": np.arange(1, len(v) + 1),
                "valence": v,
                "arousal": a,
                "valence_smoothed": dynamics.smooth(v, one),
                "arousal_smoothed": dynamics.smooth(a, one),
            }
        )
        frame["change_point"] = frame.index.isin(dynamics.change_points(v))
        out[conv[code]] = frame
    return out


def _ccc_table(gold: np.ndarray, predicted: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """CCC of predicted valence against the gold trajectory: pooled over all turns, and the mean over
    conversations with at least 3 turns that vary in both (a CCC needs variance)."""
    frame = pd.DataFrame({"c": codes, "p": predicted, "g": gold}).dropna()
    per = frame.groupby("c").filter(lambda d: len(d) >= 3 and d["p"].std() > 0 and d["g"].std() > 0)
    values = per.groupby("c").apply(lambda d: dynamics.ccc(d["p"].to_numpy(), d["g"].to_numpy()), include_groups=False)
    return pd.DataFrame(
        [
            {
                "scope": "all turns",
                "turns": len(frame),
                "conversations": frame["c"].nunique(),
                "ccc": dynamics.ccc(frame["p"].to_numpy(), frame["g"].to_numpy()),
            },
            {
                "scope": "mean per conversation",
                "turns": len(per),
                "conversations": len(values),
                "ccc": float(values.mean()) if len(values) else float("nan"),
            },
        ]
    )
