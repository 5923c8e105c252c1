"""The report's aggregations, over whole columns with pyarrow.compute and numpy (no Python loop over rows):
the results are small pandas frames, one per table of the report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from affectkit.dynamics import ESTEBAN_RAY_ALPHA
from affectkit.errors import InputError

Z95 = 1.959963984540054


def _floats(table: pa.Table, col: str) -> np.ndarray:
    return np.asarray(pc.cast(table[col], pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def _codes(column: pa.ChunkedArray, names: list[str]) -> np.ndarray:
    """Index of each cell in ``names`` (-1 for a null or a value not listed)."""
    found = pc.index_in(pc.cast(column, pa.string()), value_set=pa.array(names, pa.string()))
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def encode(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes of a column's values as text (-1 for null) and the distinct values they index."""
    encoded = pc.dictionary_encode(pc.cast(column, pa.string())).combine_chunks()
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, [str(v) for v in encoded.dictionary.to_pylist()]


def wilson(successes: np.ndarray, n: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion (Wilson 1927), 95 %."""
    n_arr = np.asarray(n, dtype=float)
    p = np.divide(successes, n_arr, out=np.zeros_like(np.asarray(successes, dtype=float)), where=n_arr > 0)
    denominator = 1 + Z95**2 / n_arr
    centre = (p + Z95**2 / (2 * n_arr)) / denominator
    half = Z95 * np.sqrt(p * (1 - p) / n_arr + Z95**2 / (4 * n_arr**2)) / denominator
    return centre - half, centre + half


def distribution(table: pa.Table, labels: list[str]) -> pd.DataFrame:
    """Per label: the share of rows whose top emotion it is (Wilson 95 % interval) and the mean probability
    (normal 95 % interval)."""
    n = table.num_rows
    top = np.bincount(_codes(table["emotion_1"], labels) + 1, minlength=len(labels) + 1)[1:]
    low, high = wilson(top, n)
    rows = {"label": labels, "top_rows": top, "top_share": top / max(n, 1), "top_low": low, "top_high": high}
    means = np.array([pc.mean(table[f"p_{x}"]).as_py() or 0.0 for x in labels])
    sds = np.array([pc.stddev(table[f"p_{x}"], ddof=1).as_py() or 0.0 for x in labels])
    half = Z95 * sds / np.sqrt(max(n, 1))
    rows.update(mean_p=means, mean_p_low=means - half, mean_p_high=means + half)
    return pd.DataFrame(rows).sort_values("top_share", ascending=False, kind="stable").reset_index(drop=True)


def by_group(
    table: pa.Table, labels: list[str], group_col: str, max_groups: int = 30
) -> tuple[pd.DataFrame, list[str]]:
    """Mean probability of each label per group (normal 95 % interval), the largest ``max_groups`` groups. A
    group with one row gets no interval and is named in the returned warnings."""
    aggs = [(f"p_{x}", "mean") for x in labels] + [(f"p_{x}", "stddev", pc.VarianceOptions(ddof=1)) for x in labels]
    grouped = table.group_by(group_col).aggregate([*aggs, ([], "count_all")]).to_pandas()
    grouped = grouped.rename(columns={"count_all": "rows", group_col: "group"})
    grouped = grouped.sort_values("rows", ascending=False, kind="stable").head(max_groups).reset_index(drop=True)
    warnings = []
    single = grouped.loc[grouped["rows"] < 2, "group"].astype(str).tolist()
    if single:
        warnings.append(
            f"{len(single)} group(s) of {group_col!r} have one row, so no interval: "
            f"{', '.join(single[:5])}{' ...' if len(single) > 5 else ''}"
        )
    out = pd.DataFrame({"group": grouped["group"].astype(str), "rows": grouped["rows"]})
    half = {x: Z95 * grouped[f"p_{x}_stddev"] / np.sqrt(grouped["rows"]) for x in labels}
    means = {x: grouped[f"p_{x}_mean"] for x in labels}
    lows = {f"{x}_low": means[x] - half[x] for x in labels}
    highs = {f"{x}_high": means[x] + half[x] for x in labels}
    return pd.concat([out, pd.DataFrame(means), pd.DataFrame(lows), pd.DataFrame(highs)], axis=1), warnings


@dataclass
class Dates:
    """A date column as codes into its distinct values, and those values parsed (NaT where they do not parse)."""

    codes: np.ndarray
    values: pd.Series


def parse_dates(table: pa.Table, date_col: str) -> tuple[Dates, list[str]]:
    """The date column, parsed once per distinct value; an error when no cell parses, a warning naming the
    cells that do not."""
    codes, distinct = encode(table[date_col])
    parsed = pd.to_datetime(pd.Series(distinct, dtype=object), errors="coerce", utc=True, format="mixed")
    parsed = parsed.dt.tz_localize(None)
    if parsed.notna().sum() == 0:
        examples = ", ".join(repr(v) for v in distinct[:3])
        raise InputError(
            f"date column {date_col!r} does not parse as dates (for example {examples or 'all empty'}); "
            "give ISO 8601 dates such as 2024-03-01 or 2024-03-01T12:00:00"
        )
    warnings = []
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        rows = int(np.isin(codes, bad).sum())
        examples = ", ".join(repr(distinct[i]) for i in bad[:3])
        warnings.append(
            f"{rows:,} cell(s) of {date_col!r} do not parse as dates and are left out of the "
            f"timeline (for example {examples})"
        )
    return Dates(codes, parsed), warnings


def timeline(table: pa.Table, chosen: list[str], dates: Dates, freq: str = "auto") -> tuple[pd.DataFrame, str]:
    """Mean valence, arousal and the ``chosen`` labels' mean probability per period (``freq``: a pandas offset
    alias such as D, W, MS; ``auto`` picks one from the span: hours, days, weeks, months or years). Sums are
    taken per distinct date first (bincount), then resampled."""
    if freq == "auto":
        days = (dates.values.max() - dates.values.min()).days
        freq = "h" if days < 3 else "D" if days < 60 else "W" if days < 400 else "MS" if days < 1800 else "YS"
    keep = dates.codes >= 0
    codes, n = dates.codes[keep], len(dates.values)
    columns = {"valence": "valence", "arousal": "arousal", **{x: f"p_{x}" for x in chosen}}
    sums = pd.DataFrame({"date": dates.values, "rows": np.bincount(codes, minlength=n)})
    for name, col in columns.items():  # one column at a time: a million floats each
        values = _floats(table, col)[keep]
        ok = np.isfinite(values)
        sums[name] = np.bincount(codes[ok], weights=values[ok], minlength=n)
        sums[f"{name}_n"] = np.bincount(codes[ok], minlength=n)
    per = sums.dropna(subset=["date"]).groupby(pd.Grouper(key="date", freq=freq)).sum()
    out = pd.DataFrame({"rows": per["rows"]})
    for name in columns:
        out[name] = per[name] / per[f"{name}_n"].where(per[f"{name}_n"] > 0)
    return out[out["rows"] > 0].reset_index(), freq


def cooccurrence(table: pa.Table, labels: list[str], col: str = "labels") -> pd.DataFrame:
    """How many rows carry both labels i and j in their multi-label decision (``labels``, ``;``-separated).
    Each row's set is packed into a bit mask, so the work is over distinct sets, not rows."""
    if len(labels) > 62:
        raise InputError(f"a co-occurrence table supports up to 62 labels, not {len(labels)}")
    parts = pc.split_pattern(pc.fill_null(pc.cast(table[col], pa.string()), ""), ";")
    flat = pc.list_flatten(parts)
    rows = np.asarray(pc.list_parent_indices(parts).to_numpy(zero_copy_only=False), dtype=np.int64)
    codes = _codes(pc.utf8_trim_whitespace(flat), labels)
    keep = codes >= 0
    masks = np.zeros(table.num_rows, dtype=np.uint64)
    np.bitwise_or.at(masks, rows[keep], np.left_shift(np.uint64(1), codes[keep].astype(np.uint64)))
    distinct, counts = np.unique(masks, return_counts=True)
    bits = ((distinct[:, None] >> np.arange(len(labels), dtype=np.uint64)[None, :]) & np.uint64(1)).astype(float)
    matrix = (bits * counts[:, None]).T @ bits
    return pd.DataFrame(matrix.astype(np.int64), index=labels, columns=labels)


def vad_density(table: pa.Table, bins: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 2-D histogram of (valence, arousal) on [-1, 1]^2: counts, valence edges, arousal edges."""
    v, a = _floats(table, "valence"), _floats(table, "arousal")
    keep = np.isfinite(v) & np.isfinite(a)
    counts, ve, ae = np.histogram2d(v[keep], a[keep], bins=bins, range=[[-1, 1], [-1, 1]])
    return counts, ve, ae


def centroids(table: pa.Table) -> pd.DataFrame:
    """Mean valence and arousal of the rows of each top emotion."""
    grouped = table.group_by("emotion_1").aggregate([("valence", "mean"), ("arousal", "mean"), ([], "count_all")])
    return grouped.to_pandas().rename(
        columns={"valence_mean": "valence", "arousal_mean": "arousal", "count_all": "rows"}
    )


def evidence_words(table: pa.Table, per_label: int = 10, col: str = "evidence") -> pd.DataFrame:
    """The most frequent evidence words of each emotion, from cells such as ``"word (label); word (label)"``:
    the items are counted as they are (Arrow group-by), and only the distinct items are parsed."""
    parts = pc.list_flatten(pc.split_pattern(pc.fill_null(pc.cast(table[col], pa.string()), ""), "; "))
    counted = pa.table({"item": parts}).group_by("item").aggregate([([], "count_all")]).to_pandas()
    found = counted["item"].str.extract(r"^(?P<word>.+) \((?P<label>[^()]+)\)$")
    words = pd.DataFrame({"label": found["label"], "word": found["word"].str.lower(), "rows": counted["count_all"]})
    words = words.dropna().groupby(["label", "word"], as_index=False)["rows"].sum()
    words = words.sort_values(["label", "rows", "word"], ascending=[True, False, True])
    return words.groupby("label", sort=True).head(per_label).reset_index(drop=True)


def polarisation(
    table: pa.Table, group_col: str | None, bins: int = 10, alpha: float = ESTEBAN_RAY_ALPHA, max_groups: int = 30
) -> pd.DataFrame:
    """Per group (and overall): the Esteban-Ray polarisation of valence and Sarle's bimodality coefficient
    (the formulas of :func:`affectkit.dynamics.esteban_ray` and
    :func:`~affectkit.dynamics.bimodality_coefficient`), computed for every group at once from per-group
    histograms and moments."""
    v = _floats(table, "valence")
    if group_col:
        codes, groups = encode(table[group_col])
        names = ["(all)", *groups]
        codes = np.concatenate([np.zeros(len(v), dtype=np.int64), codes + 1])  # null groups (code -1) -> (all)
        v = np.concatenate([v, np.where(codes[len(v) :] > 0, v, np.nan)])
    else:
        names, codes = ["(all)"], np.zeros(len(v), dtype=np.int64)
    keep = np.isfinite(v)
    v, codes = v[keep], codes[keep]
    g = len(names)
    binned = np.clip(((np.clip(v, -1, 1) + 1) / 2 * bins).astype(np.int64), 0, bins - 1)
    hist = np.bincount(codes * bins + binned, minlength=g * bins).reshape(g, bins).astype(float)
    n = hist.sum(axis=1)
    shares = hist / np.maximum(n, 1)[:, None]
    centres = (np.arange(bins) + 0.5) / bins
    distance = np.abs(centres[:, None] - centres[None, :])
    er = np.einsum("gi,gj,ij->g", shares ** (1 + alpha), shares, distance)
    mean = np.bincount(codes, weights=v, minlength=g) / np.maximum(n, 1)
    d = v - mean[codes]
    m2, m3, m4 = (np.bincount(codes, weights=d**k, minlength=g) / np.maximum(n, 1) for k in (2, 3, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
        kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * (m4 / m2**2 - 3) + 6)
        bc = (skew**2 + 1) / (kurt + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    bc[(n < 4) | (m2 == 0)] = np.nan
    out = pd.DataFrame(
        {"group": names, "rows": n.astype(np.int64), "mean_valence": mean, "esteban_ray": er, "bimodality": bc}
    )
    top = out.iloc[1:].sort_values("rows", ascending=False, kind="stable").head(max_groups)
    return pd.concat([out.iloc[:1], top]).reset_index(drop=True)
