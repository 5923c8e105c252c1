"""Label a built-in dataset's texts with a trained teacher's valence, arousal and dominance (distillation targets).

    python scripts/teacher_labels.py runs/vad-teacher goemotions train runs/distill/goemotions-train-teacher-vad.csv

Writes one row per text, in the dataset's order: ``text, valence, arousal, dominance`` on the teacher's VAD head
scale (EmoBank's 1..5). A training config reads the file as an auxiliary VAD task
(configs/experiments/default-v5-distill.yaml).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

import affectkit
from affectkit.datasets import load_dataset
from affectkit.vad import CANONICAL, convert


def main(teacher: str, dataset: str, split: str, output: str) -> None:
    model = affectkit.load(teacher, evidence=False)
    if model.vad_head is None:
        raise SystemExit(f"{teacher} has no VAD head")
    texts = load_dataset(dataset, split).texts
    t0 = time.time()
    vad = convert(model.vad_head(model.embed(texts)), CANONICAL, model.vad_head.scale)
    seconds = time.time() - t0
    frame = pd.DataFrame({"text": texts, "valence": vad[:, 0], "arousal": vad[:, 1], "dominance": vad[:, 2]})
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    print(f"{len(texts)} texts labelled in {seconds:.0f} s ({len(texts) / seconds:.0f} texts/s) -> {output}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
