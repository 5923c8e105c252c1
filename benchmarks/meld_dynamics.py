"""Emotion transitions and inertia of MELD's main speakers, from the gold labels and from the default model's
predictions, and CCC of predicted valence against MELD's per-utterance sentiment (eval-only data; nothing of
MELD's text is written, only aggregates).

    python benchmarks/meld_dynamics.py                                   # prints the Markdown tables
    python benchmarks/meld_dynamics.py --write docs/meld-dynamics.md --screenshot docs/images/meld_report.png

The prediction is per utterance (no dialogue context), with the Ekman-7 head (MELD's label set). Gold valence is
the sentiment as +1 / 0 / -1. A speaker's transitions and inertia are over that speaker's consecutive turns in a
dialogue (turn order: Utterance_ID).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from affectkit import dynamics

LABELS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
SENTIMENT = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


def load(split: str) -> pd.DataFrame:
    from affectkit.datasets import data_dir

    frame = pd.read_csv(data_dir() / "meld" / "MELD" / f"{split}_sent_emo.csv")
    frame = frame.sort_values(["Dialogue_ID", "Utterance_ID"], kind="stable").reset_index(drop=True)
    frame["gold_valence"] = frame["Sentiment"].map(SENTIMENT)
    return frame


def predict(frame: pd.DataFrame) -> pd.DataFrame:
    import affectkit

    texts = pd.DataFrame({"text": frame["Utterance"].astype(str)})
    out = affectkit.analyze(texts, model="default", labels="ekman", text_col="text")
    return out.drop(columns=["text", "evidence"])  # no MELD text leaves this function


def matrix_table(t: dynamics.Transitions) -> str:
    head = "| from \\ to | " + " | ".join(t.labels) + " | turns |\n|---|" + "---|" * (len(t.labels) + 1) + "\n"
    rows = [
        f"| {name} | " + " | ".join(f"{p:.2f}" for p in t.matrix[i]) + f" | {int(t.counts[i].sum()):,} |"
        for i, name in enumerate(t.labels)
    ]
    return head + "\n".join(rows) + "\n"


def speaker_rows(frame: pd.DataFrame, pred: pd.DataFrame, speakers: list[str]) -> tuple[str, dict]:
    conv = frame["Dialogue_ID"].to_numpy()
    gold_v, pred_v = frame["gold_valence"].to_numpy(), pred["valence"].to_numpy()
    lines = [
        (
            "| speaker | turns | inertia (gold sentiment) | inertia (predicted valence) | P(same emotion next "
            "own turn), gold | same, predicted | gold vs predicted matrix, mean abs. diff. | CCC valence |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    matrices = {}
    for name in ["(all turns)", *speakers]:
        mine = np.ones(len(frame), bool) if name == "(all turns)" else (frame["Speaker"] == name).to_numpy()
        gold_t = dynamics.transition_matrix(frame["Emotion"].to_numpy()[mine], conv[mine], LABELS)
        pred_t = dynamics.transition_matrix(pred["emotion_1"].to_numpy()[mine], conv[mine], LABELS)
        matrices[name] = (gold_t, pred_t)
        same_g = np.trace(gold_t.counts) / max(gold_t.counts.sum(), 1)
        same_p = np.trace(pred_t.counts) / max(pred_t.counts.sum(), 1)
        lines.append(
            f"| {name} | {int(mine.sum()):,} | {dynamics.inertia(gold_v[mine], conv[mine]):.3f} | "
            f"{dynamics.inertia(pred_v[mine], conv[mine]):.3f} | {same_g:.3f} | {same_p:.3f} | "
            f"{np.abs(gold_t.matrix - pred_t.matrix).mean():.3f} | "
            f"{dynamics.ccc(pred_v[mine], gold_v[mine]):.3f} |"
        )
    return "\n".join(lines) + "\n", matrices


def comparison_rows(frame: pd.DataFrame, pred: pd.DataFrame, speakers: list[str]) -> str:
    lines = [
        "| speaker | mean valence - others, gold (95 % bootstrap CI) | predicted (95 % bootstrap CI) |",
        "|---|---|---|",
    ]
    for name in speakers:
        mine = (frame["Speaker"] == name).to_numpy()
        cells = []
        for values in (frame["gold_valence"].to_numpy(), pred["valence"].to_numpy()):
            c = dynamics.bootstrap_difference(values[mine], values[~mine], (name, "others"), n_boot=2000)
            cells.append(f"{c.difference:+.3f} [{c.low:+.3f}, {c.high:+.3f}]")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def per_dialogue_ccc(frame: pd.DataFrame, pred: pd.DataFrame) -> tuple[float, int]:
    values = []
    for idx in frame.groupby("Dialogue_ID").indices.values():
        g, p = frame["gold_valence"].to_numpy()[idx], pred["valence"].to_numpy()[idx]
        if len(idx) >= 3 and g.std() > 0 and p.std() > 0:
            values.append(dynamics.ccc(p, g))
    return float(np.mean(values)), len(values)


def html_report(frame: pd.DataFrame, pred: pd.DataFrame, screenshot: Path) -> None:
    """The report of ``affectkit report`` without its text sections, and a screenshot of its transitions."""
    from affectkit.report import SECTIONS, TEXT_SECTIONS, ReportOptions, build_report

    folder = Path(tempfile.mkdtemp(prefix="meld-report-"))
    table = pd.concat([frame[["Dialogue_ID", "Utterance_ID", "Speaker", "Sentiment"]], pred], axis=1)
    table.to_parquet(folder / "meld_test.affect.parquet", index=False)
    opts = ReportOptions(
        conversation_col="Dialogue_ID",
        order_col="Utterance_ID",
        speaker_col="Speaker",
        gold_valence_col="Sentiment",
        sections=tuple(s for s in SECTIONS if s not in TEXT_SECTIONS),
        title="MELD test: emotion transitions (predicted, default model, no context)",
    )
    build_report(folder / "meld_test.affect.parquet", folder / "report.html", opts)
    from affectkit.report.page import screenshot as take

    take(folder / "report.html", screenshot, "#conversations .grid")
    print(f"report (not committed: it is the full report): {folder / 'report.html'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    parser.add_argument("--speakers", type=int, default=6)
    parser.add_argument("--write", type=Path, help="write the Markdown here")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the report's transition matrices")
    args = parser.parse_args()
    frame = load(args.split)
    pred = predict(frame)
    speakers = frame["Speaker"].value_counts().head(args.speakers).index.tolist()
    table, matrices = speaker_rows(frame, pred, speakers)
    mean_ccc, n_dialogues = per_dialogue_ccc(frame, pred)
    accuracy = float((pred["emotion_1"].to_numpy() == frame["Emotion"].to_numpy()).mean())
    overall = dynamics.ccc(pred["valence"].to_numpy(), frame["gold_valence"].to_numpy())
    summary = (
        f"MELD {args.split}: {len(frame):,} utterances, {frame['Dialogue_ID'].nunique():,} dialogues; "
        f"predicted top emotion = gold on {accuracy:.3f} of utterances (no context). CCC of predicted valence "
        f"against gold sentiment: {overall:.3f} over all utterances, {mean_ccc:.3f} averaged over the "
        f"{n_dialogues} dialogues with at least 3 utterances that vary in both.\n"
    )
    text = [summary, table, comparison_rows(frame, pred, speakers)]
    for name, (gold_t, pred_t) in matrices.items():
        text.append(
            f"<details><summary>{name}: transition matrices</summary>\n\nGold:\n\n{matrix_table(gold_t)}\n"
            f"Predicted:\n\n{matrix_table(pred_t)}\nStationary distribution (gold / predicted): "
            + ", ".join(f"{x} {g:.2f} / {p:.2f}" for x, g, p in zip(LABELS, gold_t.stationary, pred_t.stationary))
            + "\n\n</details>\n"
        )
    header = (
        "# MELD: emotion transitions and inertia of the main speakers\n\n"
        "Written by `python benchmarks/meld_dynamics.py --write docs/meld-dynamics.md --screenshot "
        "docs/images/meld_report.png` (MELD, Poria et al. 2019, GPL-3.0, eval-only: only aggregates are "
        "here). Gold: MELD's emotion and sentiment (+1 / 0 / -1) per utterance. Predicted: the default "
        "model's Ekman-7 head, one utterance at a time. Inertia is the lag-1 autocorrelation of valence "
        "over a speaker's consecutive turns in a dialogue (Kuppens et al. 2010); CCC is Lin's concordance "
        "(1989).\n\n![MELD transition matrices in affectkit report](images/meld_report.png)\n\n"
    )
    markdown = header + "\n".join(text)
    print(markdown)
    if args.write:
        args.write.write_text(markdown, encoding="utf-8")
    if args.screenshot:
        html_report(frame, pred, args.screenshot)


if __name__ == "__main__":
    main()
