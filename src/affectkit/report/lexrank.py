"""Representative texts by continuous LexRank (Erkan & Radev 2004, "LexRank: graph-based lexical centrality as
salience in text summarization", JAIR 22): the stationary distribution of a random walk on the
cosine-similarity graph of the texts' sentence embeddings, with a uniform jump of probability ``damping``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DAMPING = 0.15  # Erkan & Radev's d: the probability of jumping to a random node


def lexrank_scores(
    similarity: np.ndarray, damping: float = DAMPING, tol: float = 1e-10, max_iter: int = 1000
) -> np.ndarray:
    """Continuous LexRank: ``p = d/N + (1 - d) M^T p`` by power iteration, where M is the similarity matrix
    (negative cosines set to 0) with each row divided by its sum. Returns p (sums to 1)."""
    s = np.clip(np.asarray(similarity, dtype=float), 0.0, None)
    n = s.shape[0]
    if n == 0:
        return np.zeros(0)
    rows = s.sum(axis=1, keepdims=True)
    m = np.divide(s, rows, out=np.full_like(s, 1.0 / n), where=rows > 0)
    p = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        nxt = damping / n + (1 - damping) * (m.T @ p)
        if np.abs(nxt - p).sum() < tol:
            p = nxt
            break
        p = nxt
    return np.asarray(p / p.sum())


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return np.asarray(unit @ unit.T)


def sample_per_label(table: pa.Table, text_col: str, labels: list[str], per_label: int, seed: int = 0) -> pd.DataFrame:
    """At most ``per_label`` random rows (with a text and no error) for each top emotion, in file order."""
    from affectkit.report.aggregate import encode

    codes, names = encode(table["emotion_1"])
    ok = pc.and_(
        pc.is_valid(table[text_col]),
        pc.greater(pc.utf8_length(pc.fill_null(pc.cast(table[text_col], pa.string()), "")), 0),
    )
    if "error" in table.column_names:
        ok = pc.and_(ok, pc.or_kleene(pc.is_null(table["error"]), pc.equal(pc.cast(table["error"], pa.string()), "")))
    chosen = set(labels)
    wanted = np.array([n in chosen for n in names], dtype=bool)  # one entry per distinct emotion
    mask = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), dtype=bool) & (codes >= 0)
    mask[mask] = wanted[codes[mask]]
    rows = np.flatnonzero(mask)
    order = np.random.default_rng(seed).permutation(len(rows))  # a random sample: the first per_label of each
    frame = pd.DataFrame({"row": rows[order], "code": codes[rows][order]})
    picked = frame.groupby("code", sort=False).head(per_label).sort_values("row")
    picked = picked.assign(label=[names[c] for c in picked["code"]])
    texts = table[text_col].take(pa.array(picked["row"].to_numpy())).to_pylist()
    return pd.DataFrame({"row": picked["row"].to_numpy(), "label": picked["label"].to_numpy(), "text": texts})


def representative_texts(
    table: pa.Table,
    text_col: str,
    labels: list[str],
    embed: Any,
    per_label: int = 40,
    top: int = 3,
    max_chars: int = 300,
) -> pd.DataFrame:
    """For each emotion, the ``top`` most central of a bounded random sample of its texts by continuous
    LexRank over ``embed(texts)`` (one vector per text: the shipped model's encoder)."""
    sample = sample_per_label(table, text_col, labels, per_label)
    if sample.empty:
        return pd.DataFrame(columns=["label", "rank", "lexrank", "row", "text"])
    vectors = np.asarray(embed([t[:2000] for t in sample["text"]]), dtype=float)
    out = []
    for label, idx in sample.groupby("label").indices.items():
        scores = lexrank_scores(cosine_similarity(vectors[idx]))
        best = np.argsort(-scores, kind="stable")[:top]
        for rank, j in enumerate(best, 1):
            text = str(sample["text"].iloc[idx[j]])
            out.append(
                {
                    "label": label,
                    "rank": rank,
                    "lexrank": float(scores[j]) * len(idx),
                    "row": int(sample["row"].iloc[idx[j]]),
                    "text": text if len(text) <= max_chars else text[:max_chars] + "...",
                }
            )
    return pd.DataFrame(out)
