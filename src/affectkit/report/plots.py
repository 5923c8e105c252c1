"""The report's figures: matplotlib (Agg backend) drawn to inline SVG, so the HTML needs nothing from outside."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from affectkit.dynamics import Transitions


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        from affectkit.errors import AffectkitError

        raise AffectkitError("affectkit report draws with matplotlib: pip install 'affectkit[report]'") from None

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "affectkit",
        }
    )
    return plt


def to_svg(fig) -> str:
    """The figure as an ``<svg>`` element (no XML header), then closed."""
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def distribution_bars(dist: pd.DataFrame) -> str:
    plt = _pyplot()
    d = dist.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.22 * len(d))))
    err = np.vstack([d["top_share"] - d["top_low"], d["top_high"] - d["top_share"]])
    err = np.clip(np.nan_to_num(err.astype(float)), 0.0, None)  # rounding can put a bound a hair past the share
    ax.barh(d["label"], d["top_share"], xerr=err, color="#4c78a8", ecolor="#333", capsize=2)
    ax.set_xlabel("share of rows with this top emotion (95 % Wilson interval)")
    return to_svg(fig)


def heatmap(
    matrix: np.ndarray,
    rows: list[str],
    cols: list[str],
    label: str,
    fmt: str = "{:.2f}",
    cmap: str = "viridis",
    log: bool = False,
) -> str:
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    m = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.32 * len(cols) + 2), max(2.5, 0.3 * len(rows) + 1)))
    norm = LogNorm(vmin=1, vmax=max(2.0, float(np.nanmax(m)))) if log else None
    image = ax.imshow(np.where(m > 0, m, np.nan) if log else m, cmap=cmap, aspect="auto", norm=norm)
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    if m.size <= 150:
        for (i, j), value in np.ndenumerate(m):
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, label=label)
    return to_svg(fig)


def transition_heatmap(t: Transitions, title: str) -> str:
    """P(next | current) between the states of ``t``, titled (e.g. with the speaker)."""
    plt = _pyplot()
    k = len(t.labels)
    fig, ax = plt.subplots(figsize=(0.45 * k + 2.2, 0.4 * k + 1.2))
    image = ax.imshow(t.matrix, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(k), t.labels, rotation=60, ha="right")
    ax.set_yticks(range(k), t.labels)
    ax.set_xlabel("next turn")
    ax.set_ylabel("current turn")
    ax.set_title(f"{title} ({int(t.counts.sum()):,} transitions)", fontsize=9, loc="left")
    for (i, j), value in np.ndenumerate(t.matrix):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5, color="black" if value > 0.6 else "white")
    fig.colorbar(image, ax=ax, label="P(next | current)")
    return to_svg(fig)


def timeline_lines(frame: pd.DataFrame, labels: list[str]) -> str:
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    top.plot(frame["date"], frame["valence"], label="valence", color="#4c78a8")
    top.plot(frame["date"], frame["arousal"], label="arousal", color="#e45756")
    top.axhline(0, color="#999", lw=0.6)
    top.set_ylabel("mean (-1..1)")
    top.legend(loc="upper left", frameon=False)
    for x in labels:
        bottom.plot(frame["date"], frame[x], label=x)
    bottom.set_ylabel("mean probability")
    bottom.legend(loc="upper left", frameon=False, ncol=3)
    fig.autofmt_xdate()
    return to_svg(fig)


def circumplex(counts: np.ndarray, centres: pd.DataFrame) -> str:
    """VAD density on the valence-arousal plane (Russell 1980's circumplex), with each emotion's centroid."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(6, 6))
    shown = np.where(counts.T > 0, counts.T, np.nan)
    image = ax.imshow(
        shown,
        origin="lower",
        extent=(-1, 1, -1, 1),
        cmap="magma_r",
        norm=LogNorm(vmin=1, vmax=max(2.0, float(counts.max()))),
    )
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="#666", lw=0.8))
    ax.axhline(0, color="#999", lw=0.6)
    ax.axvline(0, color="#999", lw=0.6)
    big = centres.sort_values("rows", ascending=False).head(15)
    ax.scatter(big["valence"], big["arousal"], s=12, color="#1f77b4")
    for _, r in big.iterrows():
        ax.annotate(
            str(r["emotion_1"]), (r["valence"], r["arousal"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    fig.colorbar(image, ax=ax, label="rows", shrink=0.8)
    return to_svg(fig)


def trajectories(curves: dict[str, pd.DataFrame]) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(len(curves), 1, figsize=(8, 2.2 * len(curves)), squeeze=False, layout="constrained")
    for ax, (name, frame) in zip(axes[:, 0], curves.items()):
        ax.plot(frame["turn"], frame["valence"], color="#4c78a8", alpha=0.35, lw=0.8)
        ax.plot(frame["turn"], frame["valence_smoothed"], color="#4c78a8", label="valence (smoothed)")
        ax.plot(frame["turn"], frame["arousal_smoothed"], color="#e45756", label="arousal (smoothed)")
        for turn in frame.loc[frame["change_point"], "turn"]:
            ax.axvline(turn - 0.5, color="#333", ls="--", lw=0.8)
        ax.set_title(f"conversation {name}", fontsize=9, loc="left")
        ax.set_ylim(-1, 1)
    axes[0, 0].legend(loc="upper right", frameon=False, ncol=2)
    axes[-1, 0].set_xlabel("turn (dashed: change points of valence)")
    return to_svg(fig)
